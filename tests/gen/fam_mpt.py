#!/usr/bin/env python3
"""Fixtures of MPT (tests/fixtures/fam-mpt-*): MPT's ALiBi (the slopes of alibi_bias_max 8,
which MptModel always uses; the reordered slopes of a head count that is not a power of two), the fused Wqkv, clip_qkv,
softmax_scale, LayerNorms without bias (layer_norm_epsilon), no biases, the 4 x d_model GELU
MLP; MptModel and MptForCausalLM (transformer. prefix, tied by default and untied),
F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_mpt.py
"""
import os
import sys

import torch
from transformers import MptConfig, MptForCausalLM, MptModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, d_model=32, n_heads=4, n_layers=2, max_seq_len=64)

fg.make("fam-mpt-f32", MptModel, MptConfig(**SMALL), seed=161, qk_std=0.35,
        note="MptModel F32, 4 heads, alibi_bias_max 8")
fg.make("fam-mpt-lm-bf16-clip", MptForCausalLM,
        MptConfig(**dict(SMALL, d_model=48, n_heads=6, n_layers=3), layer_norm_epsilon=1e-4,
                  tie_word_embeddings=False,
                  attn_config={"clip_qkv": 0.6}),
        dtype=torch.bfloat16, seed=162, qk_std=0.35,
        note="MptForCausalLM BF16, untied, 6 heads (reordered slopes of 8), clip_qkv 0.6, "
             "layer_norm_epsilon 1e-4")
fg.make("fam-mpt-lm-f16-scale", MptForCausalLM,
        MptConfig(**dict(SMALL, d_model=36, n_heads=3),
                  attn_config={"softmax_scale": 0.2, "attn_impl": "torch"}),
        dtype=torch.float16, seed=163, qk_std=0.35, shard="20KB",
        note="MptForCausalLM F16 sharded, tied, 3 heads (slopes of 4), softmax_scale 0.2")
