#!/usr/bin/env python3
"""Fixtures of Seed-OSS (tests/fixtures/fam-seed-oss-*): Llama's layer with q/k/v biases by
default (attention_bias true) and the output projection's own flag (attention_out_bias),
head_dim apart from hidden / heads, mlp_bias; SeedOssModel and SeedOssForCausalLM (model.
prefix, untied and tied), F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_seed_oss.py
"""
import os
import sys

import torch
from transformers import SeedOssConfig, SeedOssForCausalLM, SeedOssModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=40, max_position_embeddings=64, pad_token_id=1, bos_token_id=0,
             eos_token_id=2)

fg.make("fam-seed-oss-lm-f32", SeedOssForCausalLM,
        SeedOssConfig(**SMALL, num_key_value_heads=2, head_dim=12),
        seed=691, qk_std=0.35,
        note="SeedOssForCausalLM F32, untied, GQA 2, head_dim 12, q/k/v biases (the default), "
             "no o_proj bias")
fg.make("fam-seed-oss-lm-bf16-tied", SeedOssForCausalLM,
        SeedOssConfig(**SMALL, num_key_value_heads=1, head_dim=8, tie_word_embeddings=True,
                      attention_bias=False, attention_out_bias=True, mlp_bias=True,
                      rope_parameters={"rope_type": "linear", "factor": 2.0,
                                       "rope_theta": 1000.0}),
        dtype=torch.bfloat16, seed=692, qk_std=0.35,
        note="SeedOssForCausalLM BF16, tied, MQA, o_proj bias only, mlp_bias, linear rope 2")
fg.make("fam-seed-oss-model-f16", SeedOssModel,
        SeedOssConfig(**SMALL, num_key_value_heads=4, head_dim=8, attention_out_bias=True),
        dtype=torch.float16, seed=693, qk_std=0.35,
        note="SeedOssModel F16, q/k/v and o biases")
