#!/usr/bin/env python3
"""Fixtures of OLMo 2 (tests/fixtures/fam-olmo2-*): RMSNorm over the whole query and key
projections (q_norm / k_norm), norms of the attention and FFN outputs before the residual
adds (post_attention_layernorm, post_feedforward_layernorm) and none of their inputs,
grouped-query attention, attention_bias; Olmo2Model and Olmo2ForCausalLM (model. prefix, tied
and untied lm_head), F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_olmo2.py
"""
import os
import sys

import torch
from transformers import (Olmo2Config, Olmo2ForCausalLM, Olmo2ForSequenceClassification,
                          Olmo2Model)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=40, max_position_embeddings=64, pad_token_id=1,
             eos_token_id=2)

fg.make("fam-olmo2-f32", Olmo2Model, Olmo2Config(**SMALL), seed=61, qk_std=0.35,
        note="Olmo2Model F32, 4 heads")
fg.make("fam-olmo2-lm-bf16-gqa", Olmo2ForCausalLM,
        Olmo2Config(**dict(SMALL, num_hidden_layers=3), num_key_value_heads=2,
                    attention_bias=True, tie_word_embeddings=False),
        dtype=torch.bfloat16, seed=62, qk_std=0.35,
        note="Olmo2ForCausalLM BF16, untied, GQA 2, attention_bias")
fg.make("fam-olmo2-lm-f16-tied", Olmo2ForCausalLM,
        Olmo2Config(**SMALL, num_key_value_heads=1, tie_word_embeddings=True,
                    rope_parameters={"rope_type": "linear", "factor": 2.0,
                                     "rope_theta": 10000.0}),
        dtype=torch.float16, seed=63, qk_std=0.35, shard="20KB",
        note="Olmo2ForCausalLM F16 sharded, tied, MQA, linear rope scaling 2")
# *ForSequenceClassification: the model. prefix beside score.weight
fg.make("fam-olmo2-seqcls-bf16", Olmo2ForSequenceClassification,
        Olmo2Config(**dict(SMALL, vocab_size=64, intermediate_size=16), num_labels=3),
        dtype=torch.bfloat16, seed=64, qk_std=0.35, avoid_ids=(1,),
        note="Olmo2ForSequenceClassification BF16")
