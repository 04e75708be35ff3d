#!/usr/bin/env python3
"""Fixtures of Phi-3 (tests/fixtures/fam-phi3-*): q/k/v fused as qkv_proj ([Q; K; V] rows),
gate and up fused as gate_up_proj ([gate; up] rows), partial rotary (partial_rotary_factor
0.5 and 0.75 rotate the first dimensions of each head), longrope (per-pair short and long
factors, in rope_parameters and as the earlier rope_scaling type su), grouped-query
attention, a sliding window on every layer; Phi3Model and Phi3ForCausalLM (model. prefix, tied and untied lm_head),
F32/F16/BF16, sharded. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_phi3.py
"""
import os
import sys

import torch
from transformers import Phi3Config, Phi3ForCausalLM, Phi3ForSequenceClassification, Phi3Model

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, intermediate_size=40, max_position_embeddings=64,
             original_max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
             eos_token_id=2)

fg.make("fam-phi3-f32", Phi3Model, Phi3Config(**SMALL), seed=51, qk_std=0.35,
        note="Phi3Model F32, GQA 2, full rotary")
fg.make("fam-phi3-lm-bf16-partial", Phi3ForCausalLM,
        Phi3Config(**dict(SMALL, num_hidden_layers=3),
                   rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                    "partial_rotary_factor": 0.5},
                   tie_word_embeddings=False),
        dtype=torch.bfloat16, seed=52, qk_std=0.35,
        note="Phi3ForCausalLM BF16, untied, partial_rotary_factor 0.5 (4 of 8 dimensions)")
fg.make("fam-phi3-lm-f16-sw5", Phi3ForCausalLM,
        Phi3Config(**dict(SMALL, num_attention_heads=2, num_key_value_heads=2),
                   rope_parameters={"rope_type": "default", "rope_theta": 500.0,
                                    "partial_rotary_factor": 0.75},
                   sliding_window=5, tie_word_embeddings=True),
        dtype=torch.float16, seed=53, qk_std=0.35, shard="20KB",
        note="Phi3ForCausalLM F16 sharded, tied, head_dim 16, partial_rotary_factor 0.75 "
             "(12 of 16), sliding window 5")
# *ForSequenceClassification: the model. prefix beside score.weight
fg.make("fam-phi3-seqcls-f16", Phi3ForSequenceClassification,
        Phi3Config(**dict(SMALL, vocab_size=64, intermediate_size=16), num_labels=2),
        dtype=torch.float16, seed=54, qk_std=0.35, avoid_ids=(0,),
        note="Phi3ForSequenceClassification F16")
# longrope (Phi-3-mini-128k, Phi-3.5, Phi-4-mini): per-pair short factors up to
# original_max_position_embeddings (8 here) tokens, long factors beyond (the 13-token
# sentence), cos/sin scaled by sqrt(1 + ln(64 / 8) / ln(8)); with partial rotary 0.5
fg.make("fam-phi3-lm-f32-longrope", Phi3ForCausalLM,
        Phi3Config(**dict(SMALL, original_max_position_embeddings=8, vocab_size=64,
                          intermediate_size=16),
                   rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0,
                                    "partial_rotary_factor": 0.5,
                                    "short_factor": [1.0, 1.5],
                                    "long_factor": [2.0, 7.5]},
                   tie_word_embeddings=False),
        seed=55, qk_std=0.35,
        note="Phi3ForCausalLM F32, longrope over 2 rotated pairs (partial 0.5), original "
             "context 8: short factors for 1 and 6 tokens, long for 13")
fg.make("fam-phi3-lm-bf16-su", Phi3ForCausalLM,
        Phi3Config(**dict(SMALL, original_max_position_embeddings=16, vocab_size=64,
                          intermediate_size=16),
                   rope_scaling={"type": "su", "short_factor": [1.0, 1.1, 1.3, 2.0],
                                 "long_factor": [1.0, 3.0, 9.0, 30.0]},
                   rope_theta=300.0, tie_word_embeddings=True),
        dtype=torch.bfloat16, seed=56, qk_std=0.35,
        note="Phi3ForCausalLM BF16, tied, rope_scaling type su (longrope) over 4 pairs, "
             "original context 16: short factors only")
