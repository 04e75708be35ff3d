#!/usr/bin/env python3
"""Write a bert-base-chinese-shaped random checkpoint for bench/bench_run.sh.

    python3 bench/gen_bert_base.py OUT_DIR [--dtype F32|BF16] [--vocab FILE]

12 layers, hidden 768, 12 heads, FFN 3072, vocab 21128, 512 positions, in the Hugging Face
BertModel layout (config.json, model.safetensors, vocab.txt, tokenizer_config.json). Weights
are seeded random N(0, 0.02) like BERT's initializer, LayerNorm gains 1 and biases 0; the
safetensors file is written directly (header + raw little-endian bytes), so only numpy is
needed. vocab.txt is copied from --vocab (default: the real bert-base-chinese vocabulary
in ../shared/data/bert-base-chinese/). Deterministic; overwrites its outputs.
"""

import argparse
import json
import os
import shutil
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
H, L, NH, I, V, P = 768, 12, 12, 3072, 21128, 512
CONFIG = {
    "architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
    "hidden_size": H, "num_hidden_layers": L, "num_attention_heads": NH,
    "intermediate_size": I, "vocab_size": V, "max_position_embeddings": P,
    "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
}


def tensors():
    """(name, shape, kind) of BertModel's weights."""
    e = "embeddings."
    out = [(e + "word_embeddings.weight", (V, H), "mat"),
           (e + "position_embeddings.weight", (P, H), "mat"),
           (e + "token_type_embeddings.weight", (2, H), "mat"),
           (e + "LayerNorm.weight", (H,), "one"), (e + "LayerNorm.bias", (H,), "zero")]
    for l in range(L):
        p = "encoder.layer.%d." % l
        for m in ("query", "key", "value"):
            out += [(p + "attention.self.%s.weight" % m, (H, H), "mat"),
                    (p + "attention.self.%s.bias" % m, (H,), "zero")]
        out += [(p + "attention.output.dense.weight", (H, H), "mat"),
                (p + "attention.output.dense.bias", (H,), "zero"),
                (p + "attention.output.LayerNorm.weight", (H,), "one"),
                (p + "attention.output.LayerNorm.bias", (H,), "zero"),
                (p + "intermediate.dense.weight", (I, H), "mat"),
                (p + "intermediate.dense.bias", (I,), "zero"),
                (p + "output.dense.weight", (H, I), "mat"),
                (p + "output.dense.bias", (H,), "zero"),
                (p + "output.LayerNorm.weight", (H,), "one"),
                (p + "output.LayerNorm.bias", (H,), "zero")]
    return out


def to_bf16(x):
    """fp32 -> bf16 bits, round to nearest even."""
    u = x.view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--dtype", default="F32", choices=["F32", "BF16"])
    ap.add_argument("--vocab", default=os.path.join(
        HERE, "..", "..", "shared", "data", "bert-base-chinese", "vocab.txt"))
    a = ap.parse_args()
    esz = 4 if a.dtype == "F32" else 2
    os.makedirs(a.out, exist_ok=True)
    ts = tensors()
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _ in ts:
        nb = esz * int(np.prod(shape))
        header[name] = {"dtype": a.dtype, "shape": list(shape), "data_offsets": [off, off + nb]}
        off += nb
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    rng = np.random.default_rng(20240611)
    path = os.path.join(a.out, "model.safetensors")
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, shape, kind in ts:
            if kind == "mat":
                x = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
            else:
                x = np.full(shape, 1.0 if kind == "one" else 0.0, dtype=np.float32)
            f.write(x.tobytes() if esz == 4 else to_bf16(x).tobytes())
    os.rename(path + ".tmp", path)
    cfg = dict(CONFIG, torch_dtype="float32" if esz == 4 else "bfloat16")
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    shutil.copyfile(a.vocab, os.path.join(a.out, "vocab.txt"))
    with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": False}, f)
    print("wrote %s (%s, %.1f MB)" % (a.out, a.dtype, os.path.getsize(path) / 1e6))


if __name__ == "__main__":
    main()
