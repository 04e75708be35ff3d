#!/usr/bin/env python3
"""Fixtures of the GPTBigCode family (StarCoder, SantaCoder) in tests/fixtures/fam-gpt-bigcode-*:
multi_query ([Q; K; V] rows of c_attn, one key/value head) and per-head [q, k, v] rows,
scale_attn_weights true and false, learned positions, GPTBigCodeForCausalLM (transformer.
prefix, tied and untied lm_head) and GPTBigCodeModel, F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_gpt_bigcode.py
"""
import os
import sys

import torch
from transformers import GPTBigCodeConfig, GPTBigCodeForCausalLM, GPTBigCodeModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, n_embd=32, n_layer=2, n_head=4, n_positions=48)

fg.make("fam-gpt-bigcode-mq-f32", GPTBigCodeForCausalLM,
        GPTBigCodeConfig(**SMALL, multi_query=True), seed=111, qk_std=0.3,
        note="GPTBigCodeForCausalLM, multi_query (one key/value head), tied lm_head")
fg.make("fam-gpt-bigcode-mha-bf16", GPTBigCodeModel,
        GPTBigCodeConfig(**dict(SMALL, n_layer=3), multi_query=False, n_inner=40),
        dtype=torch.bfloat16, seed=112, qk_std=0.3,
        note="GPTBigCodeModel, per-head [q, k, v] rows, n_inner 40, BF16")
fg.make("fam-gpt-bigcode-noscale-f16", GPTBigCodeForCausalLM,
        GPTBigCodeConfig(**SMALL, multi_query=True, scale_attn_weights=False,
                         tie_word_embeddings=False),
        dtype=torch.float16, seed=113, qk_std=0.15,
        note="GPTBigCodeForCausalLM, multi_query, scale_attn_weights false, untied, F16")
