"""The PyTorch reference for `make bench`: a BERT-base-shaped BertModel (random weights,
vocab 21128, fp32, eager attention, output_attentions=True) timed at the given sequence
lengths and thread counts. Prints what it runs on, then one `RESULT seq=N threads=T ms=X`
line per measurement (best of --reps, after a warm-up run). Exits 3 when torch or
transformers is missing."""
import argparse
import re
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seqs", default="16,32,128,512")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    try:
        import torch
        from transformers import BertConfig, BertModel
    except Exception as e:  # noqa: BLE001 - any import failure means "not available"
        print(f"torch/transformers not importable from {sys.executable}: {e}")
        sys.exit(3)

    import transformers

    cfg = BertConfig(vocab_size=21128, hidden_size=768, num_hidden_layers=12,
                     num_attention_heads=12, intermediate_size=3072,
                     max_position_embeddings=512)
    # eager: the attention probabilities are materialised, as output_attentions needs
    cfg._attn_implementation = "eager"
    torch.manual_seed(0)
    model = BertModel(cfg, add_pooling_layer=False).eval()
    show = torch.__config__.show()
    blas = [ln.strip() for ln in show.splitlines()
            if re.search(r"MKL|oneDNN|OpenMP|OpenBLAS", ln) and "Build settings" not in ln]
    blas += re.findall(r"(?:BLAS_INFO|LAPACK_INFO|USE_MKL|USE_OPENMP)=[^,]*", show)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"python {sys.executable}")
    for ln in blas:
        print(ln)
    print(f"attention implementation: {model.config._attn_implementation}")
    sys.stdout.flush()
    for t in [int(x) for x in args.threads.split(",")]:
        torch.set_num_threads(t)
        for n in [int(x) for x in args.seqs.split(",")]:
            ids = torch.randint(100, 20000, (1, n))
            best = float("inf")
            with torch.inference_mode():
                for r in range(args.reps + 1):
                    t0 = time.perf_counter()
                    out = model(input_ids=ids, output_attentions=True)
                    dt = time.perf_counter() - t0
                    assert len(out.attentions) == 12
                    if r > 0:
                        best = min(best, dt)
            print(f"RESULT seq={n} threads={t} ms={best * 1e3:.2f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
