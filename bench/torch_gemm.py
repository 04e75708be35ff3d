"""The PyTorch column of `make bench`'s GEMM table: y = x W^T (torch.nn.functional.linear,
no bias) on one thread, for each shape given, timed as the C bench times its kernels (the
calling thread's CPU time, best of --reps after a warm-up).

--shapes "M,K,N,DT;..." with DT F32 (fp32 operands) or BF16 (both operands bfloat16: what
torch does with BF16 weights; mhaviz instead keeps x in fp32 and widens the weights).
Prints `GEMM M K N DT ms=X` per shape; exits 3 when torch is missing."""
import argparse
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", required=True)
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("torch not importable", file=sys.stderr)
        return 3
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    for shape in args.shapes.split(";"):
        m, k, n, dt = shape.split(",")
        m, k, n = int(m), int(k), int(n)
        dtype = torch.bfloat16 if dt == "BF16" else torch.float32
        x = torch.randn(m, k, generator=g).to(dtype)
        w = (torch.randn(n, k, generator=g) * 0.05).to(dtype)
        best = float("inf")
        with torch.inference_mode():
            for r in range(args.reps + 1):
                t = time.thread_time()
                torch.nn.functional.linear(x, w)
                t = time.thread_time() - t
                if r > 0:
                    best = min(best, t)
        print(f"GEMM {m} {k} {n} {dt} ms={best * 1e3:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
