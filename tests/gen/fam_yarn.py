#!/usr/bin/env python3
"""YaRN rope scaling (rope_type "yarn") on Llama and Qwen2 (tests/fixtures/fam-yarn-*):
factor, original_max_position_embeddings, beta_fast / beta_slow (given and default),
truncate (default true, and false), attention_factor given, and left to transformers
(from factor alone, or from mscale / mscale_all_dim), factor null (the ratio of the
contexts); sentences of 1, 13 and 40 tokens against original contexts of 8-16 so the
interpolated pairs turn far. Also tests/fixtures/goldens/yarn-inv-freq.json: the
inverse frequencies and attention scaling transformers computes for more parameter
sets (checked bit for bit by tests/test_rope.c). See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_yarn.py
"""
import json
import math
import os
import struct
import sys

import torch
from transformers import (LlamaConfig, LlamaForCausalLM, LlamaModel, Qwen2Config,
                          Qwen2ForCausalLM, Qwen2Model)
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

LENGTHS = [1, 13, 40]
SMALL = dict(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
             num_key_value_heads=1, intermediate_size=40, max_position_embeddings=64,
             pad_token_id=0, bos_token_id=1, eos_token_id=2)


def yarn(theta, **kw):
    return dict({"rope_type": "yarn", "rope_theta": theta}, **kw)


# head_dim 16: 8 rotated pairs; rope_theta small so the correction range falls inside them
fg.make("fam-yarn-llama-lm-f32", LlamaForCausalLM,
        LlamaConfig(**SMALL, rope_parameters=yarn(
            100.0, factor=4.0, original_max_position_embeddings=16), tie_word_embeddings=False),
        seed=301, qk_std=0.35, lengths=LENGTHS,
        note="LlamaForCausalLM F32, yarn factor 4 over 16 original positions, default betas, "
             "truncate, attention factor from factor (0.1 ln 4 + 1)")
fg.make("fam-yarn-llama-mscale-f16", LlamaModel,
        LlamaConfig(**SMALL, rope_parameters=yarn(
            50.0, factor=8.0, original_max_position_embeddings=8, mscale=1.3,
            mscale_all_dim=0.6, truncate=False)),
        dtype=torch.float16, seed=302, qk_std=0.35, lengths=LENGTHS,
        note="LlamaModel F16, yarn factor 8 over 8, mscale 1.3 / mscale_all_dim 0.6, "
             "truncate false (a fractional ramp)")
fg.make("fam-yarn-qwen2-lm-bf16-attn", Qwen2ForCausalLM,
        Qwen2Config(**dict(SMALL, num_attention_heads=4, num_key_value_heads=2),
                    rope_parameters=yarn(30.0, factor=3.0, original_max_position_embeddings=12,
                                         attention_factor=0.85, beta_fast=8, beta_slow=0.5),
                    tie_word_embeddings=True),
        dtype=torch.bfloat16, seed=303, qk_std=0.35, lengths=LENGTHS,
        note="Qwen2ForCausalLM BF16 tied, head_dim 8, yarn factor 3 over 12, attention_factor "
             "0.85 given, beta_fast 8, beta_slow 0.5")
fg.make("fam-yarn-qwen2-f32-null", Qwen2Model,
        Qwen2Config(**SMALL, rope_parameters=yarn(
            80.0, factor=None, original_max_position_embeddings=16, beta_fast=16,
            truncate=False)),
        seed=304, qk_std=0.35, lengths=LENGTHS,
        note="Qwen2Model F32, yarn factor null (64 / 16), beta_fast 16, truncate false")


# inverse frequencies and attention scaling, for head sizes and settings beyond the fixtures
def f32hex(v):
    return "%08x" % struct.unpack("<I", struct.pack("<f", v))[0]


CASES = [
    (64, 10000.0, 4096, dict(factor=32.0, original_max_position_embeddings=4096 // 32 * 4,
                             beta_fast=32.0, beta_slow=1.0, truncate=False)),
    (64, 150000.0, 131072, dict(factor=32.0, original_max_position_embeddings=4096,
                                beta_fast=32.0, beta_slow=1.0, truncate=False)),
    (128, 1000000.0, 131072, dict(factor=4.0, original_max_position_embeddings=32768)),
    (128, 10000.0, 65536, dict(factor=16.0, original_max_position_embeddings=4096, mscale=0.707,
                               mscale_all_dim=0.707, beta_fast=32, beta_slow=1)),
    (96, 500000.0, 65536, dict(factor=2.5, original_max_position_embeddings=8192,
                               attention_factor=1.0, beta_fast=24, beta_slow=2)),
    (16, 100.0, 64, dict(factor=4.0, original_max_position_embeddings=16)),
    (16, 50.0, 64, dict(factor=8.0, original_max_position_embeddings=8, mscale=1.3,
                        mscale_all_dim=0.6, truncate=False)),
    (8, 30.0, 64, dict(factor=3.0, original_max_position_embeddings=12, attention_factor=0.85,
                       beta_fast=8, beta_slow=0.5)),
    (16, 80.0, 64, dict(factor=None, original_max_position_embeddings=16, beta_fast=16,
                        truncate=False)),
    (64, 10000.0, 4096, dict(factor=0.5, original_max_position_embeddings=4096)),
    (32, 10000.0, 4096, dict(factor=1.7, original_max_position_embeddings=2048, beta_fast=3,
                             beta_slow=3, truncate=False)),
]
out = []
for dim, theta, max_pos, params in CASES:
    cfg = LlamaConfig(hidden_size=dim * 2, num_attention_heads=2, head_dim=dim,
                      max_position_embeddings=max_pos,
                      rope_parameters=yarn(theta, **params))
    inv, att = ROPE_INIT_FUNCTIONS["yarn"](cfg, "cpu")
    assert inv.dtype == torch.float32
    # theta ** (2j / dim) as torch computes it: its vectorised pow (SLEEF, up to 1 ulp off)
    # on whole blocks of SIMD registers, the correctly rounded one on the rest; the pairs
    # where it differs from the correctly rounded power are listed (mhaviz rounds there
    # too: its inv_freq may differ from transformers' there by an ulp or two)
    e = torch.arange(0, dim, 2).to(dtype=torch.float) / dim
    torch_pow = theta ** e
    exact = torch.tensor([float(torch.tensor(math.pow(theta, x)).float()) for x in e.tolist()])
    off = (torch_pow != exact).nonzero().flatten().tolist()
    out.append({"head_dim": dim, "max_position_embeddings": max_pos,
                "rope_parameters": yarn(theta, **params),
                "attention_scaling": float(att), "torch_pow_inexact_pairs": off,
                "inv_freq_f32_hex": [f32hex(v) for v in inv.tolist()]})
path = os.path.join(fg.GOLDENS, "yarn-inv-freq.json")
with open(path, "w", encoding="utf-8") as f:
    f.write('{"source": %s,\n "cases": [\n' % json.dumps(fg.SOURCE))
    f.write(",\n".join("  " + json.dumps(c) for c in out))
    f.write("\n ]}\n")
print("%s: %d cases" % (path, len(out)))
