#!/usr/bin/env python3
"""Fixtures of Granite (tests/fixtures/fam-granite-*): Llama's layers with GraniteConfig's
four multipliers (the token embeddings times embedding_multiplier, the scores times
attention_multiplier instead of 1/sqrt(head_dim), each sublayer's output times
residual_multiplier before its residual add, the logits divided by logits_scaling),
attention_bias and mlp_bias, grouped-query heads, a head_dim wider than hidden / heads, linear
rope scaling; GraniteForCausalLM (model. prefix, tied and untied lm_head) and GraniteModel,
F32/F16/BF16, one sharded. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_granite.py
"""
import os
import sys

import torch
from transformers import GraniteConfig, GraniteForCausalLM, GraniteModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=64, pad_token_id=0)

fg.make("fam-granite-f32", GraniteForCausalLM,
        GraniteConfig(**SMALL, num_key_value_heads=2, attention_bias=True, mlp_bias=True,
                      embedding_multiplier=6.0, attention_multiplier=0.2,
                      residual_multiplier=0.3, logits_scaling=2.5, tie_word_embeddings=False),
        seed=91, qk_std=0.3,
        note="GraniteForCausalLM, 4 query heads over 2 key/value heads, embedding_multiplier 6, "
             "attention_multiplier 0.2, residual_multiplier 0.3, logits_scaling 2.5, "
             "attention_bias, mlp_bias, untied lm_head")
fg.make("fam-granite-lm-bf16-tied", GraniteForCausalLM,
        GraniteConfig(**dict(SMALL, num_hidden_layers=3), head_dim=12, num_key_value_heads=1,
                      embedding_multiplier=3.0, attention_multiplier=0.125,
                      residual_multiplier=0.5, logits_scaling=4.0, tie_word_embeddings=True,
                      hidden_act="gelu",
                      rope_parameters={"rope_type": "linear", "factor": 2.0,
                                       "rope_theta": 1000.0}),
        dtype=torch.bfloat16, seed=92, qk_std=0.3,
        note="GraniteForCausalLM BF16, head_dim 12 (4 x 12 > hidden 32), one key/value head, "
             "tied, exact gelu gate, linear rope scaling 2 over theta 1000, multipliers "
             "3 / 0.125 / 0.5 / logits_scaling 4")
fg.make("fam-granite-model-f16", GraniteModel,
        GraniteConfig(**SMALL, attention_multiplier=0.5, residual_multiplier=0.7),
        dtype=torch.float16, seed=93, qk_std=0.3, shard="20KB",
        note="GraniteModel F16 sharded, attention_multiplier 0.5, residual_multiplier 0.7, the other "
             "multipliers at their default 1")
