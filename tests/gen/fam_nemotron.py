#!/usr/bin/env python3
"""Fixtures of Nemotron (tests/fixtures/fam-nemotron-*): LayerNorm1P (gain 1 + weight, with
bias), relu2 MLP (and another activation), the first partial_rotary_factor of each head rotated
(the default 0.5, another, whole heads), attention_bias and mlp_bias, grouped-query heads, a
head_dim apart from hidden / heads, linear rope scaling; NemotronForCausalLM (model. prefix,
untied as by default, and tied) and NemotronModel, F32/F16/BF16, one sharded. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_nemotron.py
"""
import os
import sys

import torch
from transformers import NemotronConfig, NemotronForCausalLM, NemotronModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
             eos_token_id=2)

fg.make("fam-nemotron-f32", NemotronForCausalLM,
        NemotronConfig(**SMALL, num_key_value_heads=2, attention_bias=True, mlp_bias=True),
        seed=221, qk_std=0.2,
        note="NemotronForCausalLM F32, untied, relu2, attention and MLP biases, 4 query heads "
             "over 2 key/value heads, half of each head rotated (the default)")
fg.make("fam-nemotron-lm-bf16-tied", NemotronForCausalLM,
        NemotronConfig(**dict(SMALL, num_hidden_layers=3), num_key_value_heads=1,
                       tie_word_embeddings=True,
                       rope_parameters={"rope_type": "linear", "factor": 2.0,
                                        "rope_theta": 10000.0, "partial_rotary_factor": 1.0}),
        dtype=torch.bfloat16, seed=222, qk_std=0.2, shard="30KB",
        note="NemotronForCausalLM BF16 sharded, tied, one key/value head, whole heads rotated, "
             "linear rope scaling 2, no biases")
fg.make("fam-nemotron-model-f16", NemotronModel,
        NemotronConfig(**SMALL, num_key_value_heads=4, head_dim=12, hidden_act="silu",
                       rope_parameters={"rope_type": "default", "rope_theta": 500.0,
                                        "partial_rotary_factor": 0.34}),
        dtype=torch.float16, seed=223, qk_std=0.2,
        note="NemotronModel F16, head_dim 12 (4 x 12 > hidden 32), silu MLP, 4 of 12 "
             "dimensions rotated, theta 500")
