#!/usr/bin/env python3
"""Write a Qwen2-7B-shaped random BF16 checkpoint (~15 GB, 4 shards) for bench/bench_7b.sh.

    python3 bench/gen_qwen2_7b.py OUT_DIR [--layers N] [--shape 7b|0.5b]

Same config.json, tensor names, shapes, dtype and sharding (model-0000k-of-00004
.safetensors + model.safetensors.index.json) as Qwen/Qwen2-7B, with seeded random
weights: q/k N(0, 0.05) so attention is not uniform, other matrices
N(0, 1/sqrt(fan_in)), norms near 1, biases N(0, 0.02). The safetensors files are
written directly (header + raw little-endian bytes), one chunk at a time, so
memory stays ~1 GB. Needs numpy only. --layers N makes a shallower model with
the same layer shapes (for a quick run). --shape 0.5b writes Qwen2-0.5B's shapes instead
(tied embeddings, 0.99 GB) for bench/bench_long.sh.
"""

import argparse
import json
import os
import struct

import numpy as np

CONFIG = {
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu",
    "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
    "num_attention_heads": 28, "num_key_value_heads": 4, "max_position_embeddings": 131072,
    "max_window_layers": 28, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
    "sliding_window": 131072, "use_sliding_window": False, "tie_word_embeddings": False,
    "torch_dtype": "bfloat16", "vocab_size": 152064, "bos_token_id": 151643,
    "eos_token_id": 151643,
}
# Qwen/Qwen2-0.5B's config.json
CONFIG_05B = dict(CONFIG, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                  num_attention_heads=14, num_key_value_heads=2, max_window_layers=24,
                  tie_word_embeddings=True, vocab_size=151936)
CHUNK = 1 << 25  # elements converted per step
POOL = 1 << 26   # N(0,1) values reused, at a random offset per chunk


def tensors(cfg):
    """(name, shape, kind) in Qwen2-7B's order."""
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    D = H // cfg["num_attention_heads"]
    KV = cfg["num_key_value_heads"] * D
    out = [("model.embed_tokens.weight", (V, H), "emb")]
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        out += [(p + "input_layernorm.weight", (H,), "norm"),
                (p + "mlp.down_proj.weight", (H, I), "mat"),
                (p + "mlp.gate_proj.weight", (I, H), "mat"),
                (p + "mlp.up_proj.weight", (I, H), "mat"),
                (p + "post_attention_layernorm.weight", (H,), "norm"),
                (p + "self_attn.k_proj.bias", (KV,), "bias"),
                (p + "self_attn.k_proj.weight", (KV, H), "qk"),
                (p + "self_attn.o_proj.weight", (H, H), "mat"),
                (p + "self_attn.q_proj.bias", (H,), "bias"),
                (p + "self_attn.q_proj.weight", (H, H), "qk"),
                (p + "self_attn.v_proj.bias", (KV,), "bias"),
                (p + "self_attn.v_proj.weight", (KV, H), "mat")]
    out += [("model.norm.weight", (H,), "norm")]
    if not cfg["tie_word_embeddings"]:
        out += [("lm_head.weight", (V, H), "mat")]
    return out


def to_bf16(x):
    """fp32 -> bf16 bits, round to nearest even."""
    u = x.view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def write_tensor(f, shape, kind, pool, rng):
    n = int(np.prod(shape))
    std = {"emb": 1.0, "qk": 0.05, "bias": 0.02, "norm": 0.1,
           "mat": 1.0 / np.sqrt(shape[-1])}[kind]
    done = 0
    while done < n:
        m = min(CHUNK, n - done)
        off = int(rng.integers(0, POOL - m + 1))
        x = pool[off:off + m] * np.float32(std)
        if kind == "norm":
            x += np.float32(1.0)
        f.write(to_bf16(x).tobytes())
        done += m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=None, help="default: the shape's own")
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--shape", choices=("7b", "0.5b"), default="7b")
    a = ap.parse_args()
    base = CONFIG if a.shape == "7b" else CONFIG_05B
    layers = a.layers or base["num_hidden_layers"]
    cfg = dict(base, num_hidden_layers=layers, max_window_layers=layers)
    os.makedirs(a.out, exist_ok=True)
    ts = tensors(cfg)
    total = sum(2 * int(np.prod(s)) for _, s, _ in ts)
    # consecutive tensors into shards of about total/shards bytes
    shards, cur, size = [], [], 0
    for t in ts:
        cur.append(t)
        size += 2 * int(np.prod(t[1]))
        if size >= total / a.shards and len(shards) < a.shards - 1:
            shards.append(cur)
            cur, size = [], 0
    if cur:
        shards.append(cur)
    rng = np.random.default_rng(20240601)
    pool = rng.standard_normal(POOL, dtype=np.float32)
    weight_map = {}
    for k, group in enumerate(shards):
        fname = "model-%05d-of-%05d.safetensors" % (k + 1, len(shards))
        header, off = {"__metadata__": {"format": "pt"}}, 0
        for name, shape, _ in group:
            nb = 2 * int(np.prod(shape))
            header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + nb]}
            off += nb
            weight_map[name] = fname
        h = json.dumps(header, separators=(",", ":")).encode()
        h += b" " * (-len(h) % 8)
        path = os.path.join(a.out, fname)
        with open(path + ".tmp", "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for name, shape, kind in group:
                write_tensor(f, shape, kind, pool, rng)
        os.rename(path + ".tmp", path)
        print("wrote %s (%.2f GB)" % (path, os.path.getsize(path) / 1e9), flush=True)
    with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    print("total %.2f GB, %d layers" % (total / 1e9, layers))


if __name__ == "__main__":
    main()
