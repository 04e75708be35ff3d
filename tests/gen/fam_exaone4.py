#!/usr/bin/env python3
"""Fixtures of EXAONE 4.0 (tests/fixtures/fam-exaone4-*): RMSNorms of the sublayer outputs
only, an RMSNorm of each query and key head, sliding layers (by sliding_window_pattern and by
layer_types) with rotary positions and full layers without, and every layer rotated when
sliding_window is null; grouped-query heads, a head_dim apart from hidden / heads, linear rope
scaling; Exaone4ForCausalLM (model. prefix, untied as by default, and tied) and Exaone4Model,
F32/F16/BF16, one sharded. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_exaone4.py
"""
import os
import sys

import torch
from transformers import Exaone4Config, Exaone4ForCausalLM, Exaone4Model

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
             eos_token_id=2)

fg.make("fam-exaone4-f32", Exaone4ForCausalLM,
        Exaone4Config(**SMALL, num_key_value_heads=2, sliding_window=4),
        seed=241, qk_std=0.35,
        note="Exaone4ForCausalLM F32, untied, sliding window 4 with rotary positions on layers "
             "0-2 (sliding_window_pattern 4), layer 3 full without positions, 4 query heads over "
             "2 key/value heads")
fg.make("fam-exaone4-lm-bf16-tied", Exaone4ForCausalLM,
        Exaone4Config(**SMALL, num_key_value_heads=1, sliding_window=3, tie_word_embeddings=True,
                      layer_types=["full_attention", "sliding_attention", "sliding_attention",
                                   "full_attention"],
                      rope_parameters={"rope_type": "linear", "factor": 2.0,
                                       "rope_theta": 1000.0}),
        dtype=torch.bfloat16, seed=242, qk_std=0.35, shard="30KB",
        note="Exaone4ForCausalLM BF16 sharded, tied, one key/value head, layer_types full / "
             "sliding / sliding / full, window 3, linear rope scaling 2")
fg.make("fam-exaone4-model-f16", Exaone4Model,
        Exaone4Config(**dict(SMALL, num_hidden_layers=2), num_key_value_heads=4, head_dim=12,
                      sliding_window=None, layer_types=["full_attention", "full_attention"]),
        dtype=torch.float16, seed=243, qk_std=0.35,
        note="Exaone4Model F16, head_dim 12, sliding_window null: every layer full and rotated")
