#!/usr/bin/env python3
"""Fixtures of Persimmon (tests/fixtures/fam-persimmon-*): the fused query_key_value ([q, k, v]
per head, with biases), qk_layernorm (one LayerNorm of every query and key head) and none,
the first partial_rotary_factor of each head rotated (the default 0.5, another, whole heads),
relu2 MLP (and another activation), linear rope scaling; PersimmonForCausalLM (model. prefix,
untied as by default, and tied) and PersimmonModel, F32/F16/BF16, one sharded. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_persimmon.py
"""
import os
import sys

import torch
from transformers import PersimmonConfig, PersimmonForCausalLM, PersimmonModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=64, bos_token_id=1, eos_token_id=2)

fg.make("fam-persimmon-f32", PersimmonForCausalLM,
        PersimmonConfig(**SMALL),
        seed=271, qk_std=0.35,
        note="PersimmonForCausalLM F32, untied, qk_layernorm (the default), relu2, half of "
             "each head rotated (the default)")
fg.make("fam-persimmon-lm-bf16-tied", PersimmonForCausalLM,
        PersimmonConfig(**dict(SMALL, num_hidden_layers=3), qk_layernorm=False,
                        tie_word_embeddings=True,
                        rope_parameters={"rope_type": "linear", "factor": 2.0,
                                         "rope_theta": 25000.0, "partial_rotary_factor": 1.0}),
        dtype=torch.bfloat16, seed=272, qk_std=0.35, shard="30KB",
        note="PersimmonForCausalLM BF16 sharded, tied, no qk_layernorm, whole heads rotated, "
             "linear rope scaling 2, theta 25000")
fg.make("fam-persimmon-model-f16", PersimmonModel,
        PersimmonConfig(**SMALL, hidden_act="gelu",
                        rope_parameters={"rope_type": "default", "rope_theta": 500.0,
                                         "partial_rotary_factor": 0.25}),
        dtype=torch.float16, seed=273, qk_std=0.35,
        note="PersimmonModel F16, exact gelu MLP, 2 of 8 dimensions rotated, theta 500")
