#!/usr/bin/env python3
"""Fixtures of Arcee (AFM, tests/fixtures/fam-arcee-*): Llama's attention with a plain MLP,
down(relu2(up(x))) (no gate), mlp_bias; ArceeModel and ArceeForCausalLM (model. prefix,
untied as by default and tied), F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_arcee.py
"""
import os
import sys

import torch
from transformers import ArceeConfig, ArceeForCausalLM, ArceeModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
             eos_token_id=2)

fg.make("fam-arcee-lm-f32", ArceeForCausalLM,
        ArceeConfig(**SMALL, num_key_value_heads=2),
        seed=701, qk_std=0.35, note="ArceeForCausalLM F32, untied, GQA 2, relu2 MLP")
fg.make("fam-arcee-lm-bf16-tied", ArceeForCausalLM,
        ArceeConfig(**SMALL, num_key_value_heads=1, tie_word_embeddings=True, mlp_bias=True,
                    attention_bias=True,
                    rope_parameters={"rope_type": "yarn", "factor": 4.0,
                                     "original_max_position_embeddings": 16,
                                     "rope_theta": 10000.0}),
        dtype=torch.bfloat16, seed=702, qk_std=0.35,
        note="ArceeForCausalLM BF16, tied, MQA, attention and MLP biases, YaRN 4")
fg.make("fam-arcee-model-f16", ArceeModel,
        ArceeConfig(**SMALL, num_key_value_heads=4, head_dim=12),
        dtype=torch.float16, seed=703, qk_std=0.35, note="ArceeModel F16, head_dim 12")
