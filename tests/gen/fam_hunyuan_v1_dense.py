#!/usr/bin/env python3
"""Fixtures of HunYuan dense (tests/fixtures/fam-hunyuan-*): Llama's layer with an RMSNorm of
each query and key head after the rotation (query_layernorm, key_layernorm), attention_bias,
and the "dynamic" rope with alpha (fixed NTK-alpha frequencies: base theta *
alpha^(d / (d - 2))); HunYuanDenseV1Model and HunYuanDenseV1ForCausalLM (model. prefix,
untied as by default and tied), F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_hunyuan_v1_dense.py
"""
import os
import sys

import torch
from transformers import (HunYuanDenseV1Config, HunYuanDenseV1ForCausalLM,
                          HunYuanDenseV1Model)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=40, max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
             eos_token_id=2)

fg.make("fam-hunyuan-lm-f32", HunYuanDenseV1ForCausalLM,
        HunYuanDenseV1Config(**SMALL, num_key_value_heads=2, head_dim=8,
                             rope_parameters={"rope_type": "dynamic", "alpha": 50.0,
                                              "factor": 1.0, "rope_theta": 10000.0}),
        seed=721, qk_std=0.35,
        note="HunYuanDenseV1ForCausalLM F32, untied, GQA 2, q/k head norms after the rotation, "
             "dynamic rope with alpha 50 (NTK-alpha)")
fg.make("fam-hunyuan-lm-bf16-tied", HunYuanDenseV1ForCausalLM,
        HunYuanDenseV1Config(**SMALL, num_key_value_heads=1, head_dim=8,
                             tie_word_embeddings=True, attention_bias=True),
        dtype=torch.bfloat16, seed=722, qk_std=0.35,
        note="HunYuanDenseV1ForCausalLM BF16, tied, MQA, attention_bias, default rope")
fg.make("fam-hunyuan-model-f16", HunYuanDenseV1Model,
        HunYuanDenseV1Config(**SMALL, num_key_value_heads=4, head_dim=8,
                             rope_parameters={"rope_type": "linear", "factor": 2.0,
                                              "rope_theta": 500.0}),
        dtype=torch.float16, seed=723, qk_std=0.35,
        note="HunYuanDenseV1Model F16, linear rope scaling 2")
