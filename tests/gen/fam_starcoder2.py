#!/usr/bin/env python3
"""Fixtures of the StarCoder2 family in tests/fixtures/fam-starcoder2-*: grouped-query
attention with rotary positions, LayerNorm with biases, the c_fc/c_proj MLP with
gelu_pytorch_tanh, use_bias on and off, sliding_window (shorter than the longest sentence)
and none, Starcoder2ForCausalLM (model. prefix, tied and untied) and Starcoder2Model,
F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_starcoder2.py
"""
import os
import sys

import torch
from transformers import Starcoder2Config, Starcoder2ForCausalLM, Starcoder2Model

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, intermediate_size=48, max_position_embeddings=48,
             bos_token_id=0, eos_token_id=0)

fg.make("fam-starcoder2-sw5-f32", Starcoder2ForCausalLM,
        Starcoder2Config(**SMALL, sliding_window=5, tie_word_embeddings=False), seed=71,
        qk_std=0.3,
        note="Starcoder2ForCausalLM, 4 query heads over 2 key/value heads, sliding_window 5, "
             "biases, untied lm_head")
fg.make("fam-starcoder2-nobias-bf16", Starcoder2ForCausalLM,
        Starcoder2Config(**dict(SMALL, num_hidden_layers=3), use_bias=False,
                         rope_parameters={"rope_type": "default", "rope_theta": 1000.0}),
        dtype=torch.bfloat16, seed=72, qk_std=0.3,
        note="Starcoder2ForCausalLM, use_bias false, no window, rope_theta 1000, tied, BF16")
fg.make("fam-starcoder2-model-f16", Starcoder2Model,
        Starcoder2Config(**dict(SMALL, num_key_value_heads=1), sliding_window=8),
        dtype=torch.float16, seed=73, qk_std=0.3,
        note="Starcoder2Model, one key/value head, sliding_window 8, F16")
