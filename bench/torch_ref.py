"""The PyTorch reference for `make bench`: a BERT-base-shaped encoder (random weights,
vocab 21128, fp32, eager attention with the probabilities materialised, as
output_attentions=True needs) timed at the given sequence lengths and thread counts.

--impl transformers: transformers' BertModel (what users run; the headline row).
--impl plain: the same computation written with torch.nn.functional, for a torch without a
  matching transformers (Debian's python3-torch 1.13 is too old for current transformers).
--impl auto: transformers when importable, else plain.

Prints what it runs on (versions, the BLAS library actually loaded and, for OpenBLAS, the
kernel core it picked), then one `RESULT seq=N threads=T ms=X` line per measurement (best of
--reps, after a warm-up run). Exits 3 when torch (or, for --impl transformers,
transformers) is missing."""
import argparse
import ctypes
import math
import re
import sys
import time


def loaded_blas():
    """The BLAS/LAPACK/MKL/OpenBLAS shared objects mapped into this process, with OpenBLAS's
    own description of itself when it is one of them."""
    try:
        maps = open("/proc/self/maps").read()
    except OSError:
        return ["(no /proc/self/maps)"]
    libs = sorted(set(re.findall(r"(/\S*(?:blas|mkl|lapack|dnnl)\S*\.so[.\d]*)", maps)))
    # CUDA's cuBLAS (the wheel maps it, the CPU run never calls it) and numpy's own OpenBLAS
    # are not what torch computes with
    libs = [lib for lib in libs if "/nvidia/" not in lib and "numpy.libs" not in lib]
    out = []
    for lib in libs:
        desc = lib
        try:
            h = ctypes.CDLL(lib)
            core, cfg = h.openblas_get_corename, h.openblas_get_config
            core.restype = cfg.restype = ctypes.c_char_p
            desc += f" (OpenBLAS core {core().decode()}: {cfg().decode()})"
        except (OSError, AttributeError):
            pass
        out.append(desc)
    return out or ["none mapped: linked statically into libtorch (see BLAS_INFO)"]


class PlainBert:
    """BertModel's encoder in torch.nn.functional: embeddings + LayerNorm, then per layer
    self-attention (softmax probabilities kept), output projection, residual + LayerNorm,
    GELU (erf) FFN, residual + LayerNorm."""

    def __init__(self, torch, layers=12, hidden=768, heads=12, inter=3072, vocab=21128,
                 positions=512):
        g = torch.Generator().manual_seed(0)

        def w(*shape):
            return torch.randn(*shape, generator=g) * 0.02

        self.t, self.heads = torch, heads
        self.word, self.pos, self.typ = w(vocab, hidden), w(positions, hidden), w(2, hidden)
        self.ln = (torch.ones(hidden), torch.zeros(hidden))
        self.layers = []
        for _ in range(layers):
            self.layers.append({
                "q": (w(hidden, hidden), w(hidden)), "k": (w(hidden, hidden), w(hidden)),
                "v": (w(hidden, hidden), w(hidden)), "o": (w(hidden, hidden), w(hidden)),
                "ln1": (torch.ones(hidden), torch.zeros(hidden)),
                "up": (w(inter, hidden), w(inter)), "down": (w(hidden, inter), w(hidden)),
                "ln2": (torch.ones(hidden), torch.zeros(hidden)),
            })

    def __call__(self, input_ids, output_attentions=True):
        t, F = self.t, self.t.nn.functional
        n = input_ids.shape[1]
        hdim = self.word.shape[1]
        x = self.word[input_ids[0]] + self.pos[:n] + self.typ[0]
        x = F.layer_norm(x, (hdim,), *self.ln, eps=1e-12)
        d = hdim // self.heads
        attentions = []
        for ly in self.layers:
            q = F.linear(x, *ly["q"]).view(n, self.heads, d).transpose(0, 1)
            k = F.linear(x, *ly["k"]).view(n, self.heads, d).transpose(0, 1)
            v = F.linear(x, *ly["v"]).view(n, self.heads, d).transpose(0, 1)
            probs = t.softmax(q @ k.transpose(1, 2) / math.sqrt(d), dim=-1)
            attentions.append(probs)
            ctx = (probs @ v).transpose(0, 1).reshape(n, hdim)
            x = F.layer_norm(x + F.linear(ctx, *ly["o"]), (hdim,), *ly["ln1"], eps=1e-12)
            h = F.gelu(F.linear(x, *ly["up"]))
            x = F.layer_norm(x + F.linear(h, *ly["down"]), (hdim,), *ly["ln2"], eps=1e-12)

        class Out:
            pass

        out = Out()
        out.last_hidden_state, out.attentions = x, tuple(attentions)
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seqs", default="16,32,128,512")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--impl", choices=["auto", "transformers", "plain"], default="auto")
    args = ap.parse_args()
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure means "not available"
        print(f"torch not importable from {sys.executable}: {e}")
        sys.exit(3)
    impl = args.impl
    transformers = None
    if impl in ("auto", "transformers"):
        try:
            import transformers
            from transformers import BertConfig, BertModel
            impl = "transformers"
        except Exception as e:  # noqa: BLE001
            if impl == "transformers":
                print(f"transformers not importable from {sys.executable}: {e}")
                sys.exit(3)
            impl = "plain"

    if impl == "transformers":
        cfg = BertConfig(vocab_size=21128, hidden_size=768, num_hidden_layers=12,
                         num_attention_heads=12, intermediate_size=3072,
                         max_position_embeddings=512)
        # eager: the attention probabilities are materialised, as output_attentions needs
        cfg._attn_implementation = "eager"
        torch.manual_seed(0)
        model = BertModel(cfg, add_pooling_layer=False).eval()
        what = (f"transformers {transformers.__version__} BertModel, attention "
                f"{model.config._attn_implementation}")
    else:
        model = PlainBert(torch)
        what = "BERT written in torch.nn.functional (no transformers), eager softmax"
    show = torch.__config__.show()
    cap = re.findall(r"CPU capability usage: (\S+)", show)
    print(f"torch {torch.__version__} ({what}), python {sys.executable}"
          + (f", CPU capability {cap[0]}" if cap else ""))
    for lib in loaded_blas():
        print(f"BLAS loaded: {lib}")
    print(" ".join(re.findall(r"(?:BLAS_INFO|USE_MKL|USE_OPENMP)=[^,]*", show)))
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
