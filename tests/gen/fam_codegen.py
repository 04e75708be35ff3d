#!/usr/bin/env python3
"""Fixtures of CodeGen (tests/fixtures/fam-codegen-*): the fused qkv_proj in four blocks of
[q, v, k] rows (mp_num), with heads inside a block (8 heads) and across two blocks (2 heads),
rotary positions on the first rotary_dim dimensions of each head on interleaved pairs (and on
whole heads), one LayerNorm read by attention and MLP in parallel, the LM head's bias;
CodeGenForCausalLM (transformer. prefix, untied as by default, and tied) and CodeGenModel,
F32/F16/BF16, one sharded. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_codegen.py
"""
import os
import sys

import torch
from transformers import CodeGenConfig, CodeGenForCausalLM, CodeGenModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, n_embd=32, n_layer=2, n_head=8, n_positions=64, n_inner=48,
             bos_token_id=1, eos_token_id=2)

fg.make("fam-codegen-f32", CodeGenForCausalLM,
        CodeGenConfig(**SMALL, rotary_dim=2),
        seed=261, qk_std=0.35,
        note="CodeGenForCausalLM F32, untied, 8 heads of 4 (two per qkv block), rotary_dim 2")
fg.make("fam-codegen-lm-bf16-tied", CodeGenForCausalLM,
        CodeGenConfig(**dict(SMALL, n_layer=3, n_head=2), rotary_dim=8,
                      tie_word_embeddings=True),
        dtype=torch.bfloat16, seed=262, qk_std=0.35, shard="20KB",
        note="CodeGenForCausalLM BF16 sharded, tied, 2 heads of 16 (each across two qkv "
             "blocks), rotary_dim 8")
fg.make("fam-codegen-model-f16", CodeGenModel,
        CodeGenConfig(**dict(SMALL, n_head=4), rotary_dim=8, activation_function="gelu"),
        dtype=torch.float16, seed=263, qk_std=0.35,
        note="CodeGenModel F16, 4 heads of 8 (one per qkv block), whole heads rotated, exact gelu")
