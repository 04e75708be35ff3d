#!/usr/bin/env python3
"""Fixtures of ERNIE 4.5 (tests/fixtures/fam-ernie4-5-*): Llama's layer with interleaved
rotary pairs (2i, 2i+1), use_bias on every projection (attention and MLP), head_dim 128 by
default, tied embeddings by default; Ernie4_5Model and Ernie4_5ForCausalLM (model. prefix,
tied and untied), F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_ernie4_5.py
"""
import os
import sys

import torch
from transformers import Ernie4_5Config, Ernie4_5ForCausalLM, Ernie4_5Model

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=40, max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
             eos_token_id=2)

fg.make("fam-ernie4-5-lm-f32", Ernie4_5ForCausalLM,
        Ernie4_5Config(**SMALL, num_key_value_heads=2, head_dim=8),
        seed=711, qk_std=0.35, note="Ernie4_5ForCausalLM F32, tied, GQA 2, interleaved rotary")
fg.make("fam-ernie4-5-lm-bf16-untied", Ernie4_5ForCausalLM,
        Ernie4_5Config(**SMALL, num_key_value_heads=1, head_dim=12, tie_word_embeddings=False,
                       use_bias=True,
                       rope_parameters={"rope_type": "linear", "factor": 2.0,
                                        "rope_theta": 1000.0}),
        dtype=torch.bfloat16, seed=712, qk_std=0.35,
        note="Ernie4_5ForCausalLM BF16, untied, MQA, head_dim 12, use_bias, linear rope 2")
fg.make("fam-ernie4-5-model-f16", Ernie4_5Model,
        Ernie4_5Config(**SMALL, num_key_value_heads=4, head_dim=8),
        dtype=torch.float16, seed=713, qk_std=0.35, note="Ernie4_5Model F16")
