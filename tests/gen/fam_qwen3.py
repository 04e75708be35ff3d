#!/usr/bin/env python3
"""Fixtures of Qwen3 (tests/fixtures/fam-qwen3-*): RMSNorm of each query and key head
(q_norm / k_norm) before the rotation, head_dim given apart from hidden / heads, grouped-query
attention, the sliding window of the layers >= max_window_layers, attention_bias; Qwen3Model
and Qwen3ForCausalLM (model. prefix, tied and untied lm_head), F32/F16/BF16, sharded. See
famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_qwen3.py
"""
import os
import sys

import torch
from transformers import Qwen3Config, Qwen3ForCausalLM, Qwen3ForSequenceClassification, Qwen3Model

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

# head_dim 16 with 4 heads: the projections are 64 wide over a hidden size of 32
SMALL = dict(vocab_size=160, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, head_dim=16, intermediate_size=48,
             max_position_embeddings=64, rms_norm_eps=1e-6)

fg.make("fam-qwen3-f32", Qwen3Model, Qwen3Config(**SMALL, rope_theta=10000.0), seed=31,
        qk_std=0.35, note="Qwen3Model F32, GQA 2, head_dim 16 (4 x 16 > hidden 32)")
fg.make("fam-qwen3-lm-bf16-sw5", Qwen3ForCausalLM,
        Qwen3Config(**dict(SMALL, num_hidden_layers=3), use_sliding_window=True,
                    sliding_window=5, max_window_layers=1, attention_bias=True,
                    tie_word_embeddings=False, rope_theta=1000000.0),
        dtype=torch.bfloat16, seed=32, qk_std=0.35,
        note="Qwen3ForCausalLM BF16, untied, attention_bias, sliding window 5 on layers >= 1")
fg.make("fam-qwen3-lm-f16-tied", Qwen3ForCausalLM,
        Qwen3Config(**dict(SMALL, num_key_value_heads=1, head_dim=8), tie_word_embeddings=True),
        dtype=torch.float16, seed=33, qk_std=0.35, shard="20KB",
        note="Qwen3ForCausalLM F16 sharded, tied embeddings, MQA, head_dim 8")
# *ForSequenceClassification: the model. prefix beside score.weight
fg.make("fam-qwen3-seqcls-f32", Qwen3ForSequenceClassification,
        Qwen3Config(**dict(SMALL, vocab_size=64, intermediate_size=16), num_labels=3,
                    pad_token_id=0),
        seed=34, qk_std=0.35, avoid_ids=(0,), note="Qwen3ForSequenceClassification F32")
# dynamic NTK rope: the default frequencies for every sentence within max_position_embeddings
fg.make("fam-qwen3-lm-f32-dynamic", Qwen3ForCausalLM,
        Qwen3Config(**dict(SMALL, vocab_size=64, intermediate_size=16, max_position_embeddings=16),
                    rope_parameters={"rope_type": "dynamic", "factor": 3.0,
                                     "rope_theta": 10000.0},
                    tie_word_embeddings=False),
        seed=35, qk_std=0.35,
        note="Qwen3ForCausalLM F32, rope dynamic factor 3, max_position_embeddings 16")
