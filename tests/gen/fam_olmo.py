#!/usr/bin/env python3
"""Fixtures of OLMo v1 (tests/fixtures/fam-olmo-*): LayerNorms without parameters (eps 1e-5),
clip_qkv (small enough that the clamp changes many query, key and value entries) and none,
attention_bias, grouped-query and multi-query heads, a head_dim given apart from hidden / heads,
linear rope scaling; OlmoForCausalLM (model. prefix, tied and untied lm_head), OlmoModel and
OlmoForSequenceClassification, F32/F16/BF16, one sharded. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_olmo.py
"""
import os
import sys

import torch
from transformers import OlmoConfig, OlmoForCausalLM, OlmoForSequenceClassification, OlmoModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=64, pad_token_id=1,
             eos_token_id=2)

fg.make("fam-olmo-clip-f32", OlmoForCausalLM,
        OlmoConfig(**SMALL, num_key_value_heads=2, attention_bias=True, clip_qkv=0.8,
                   tie_word_embeddings=False),
        seed=101, qk_std=0.3,
        note="OlmoForCausalLM, clip_qkv 0.8, 4 query heads over 2 key/value heads, "
             "attention_bias, untied lm_head")
fg.make("fam-olmo-lm-bf16-tied", OlmoForCausalLM,
        OlmoConfig(**dict(SMALL, num_hidden_layers=3), num_key_value_heads=1,
                   tie_word_embeddings=True,
                   rope_parameters={"rope_type": "linear", "factor": 2.0,
                                    "rope_theta": 10000.0}),
        dtype=torch.bfloat16, seed=102, qk_std=0.3, shard="20KB",
        note="OlmoForCausalLM BF16 sharded, no clip_qkv, one key/value head, tied, linear rope "
             "scaling 2")
fg.make("fam-olmo-model-f16", OlmoModel,
        OlmoConfig(**SMALL, head_dim=12, clip_qkv=1.5, hidden_act="gelu"),
        dtype=torch.float16, seed=103, qk_std=0.3,
        note="OlmoModel F16, head_dim 12 (4 x 12 > hidden 32), clip_qkv 1.5, exact gelu gate")
# *ForSequenceClassification: the model. prefix beside score.weight
fg.make("fam-olmo-seqcls-bf16", OlmoForSequenceClassification,
        OlmoConfig(**dict(SMALL, vocab_size=64, intermediate_size=16), num_labels=3),
        dtype=torch.bfloat16, seed=104, qk_std=0.3, avoid_ids=(1,),
        note="OlmoForSequenceClassification BF16")
