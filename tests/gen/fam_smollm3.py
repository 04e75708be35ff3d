#!/usr/bin/env python3
"""Fixtures of SmolLM3 (tests/fixtures/fam-smollm3-*): the Llama decoder with the rotation
skipped on the layers no_rope_layers marks (by default every no_rope_layer_interval-th),
the sliding window on the layers layer_types names (by default, with use_sliding_window, the
layers without rotary), grouped-query attention, attention_bias and mlp_bias; SmolLM3Model and
SmolLM3ForCausalLM (model. prefix, tied by default and untied), F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_smollm3.py
"""
import os
import sys

import torch
from transformers import SmolLM3Config, SmolLM3ForCausalLM, SmolLM3Model

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
             num_key_value_heads=2, intermediate_size=48, max_position_embeddings=64,
             pad_token_id=1, bos_token_id=0, eos_token_id=2)

fg.make("fam-smollm3-f32", SmolLM3Model,
        SmolLM3Config(**SMALL, no_rope_layer_interval=2), seed=141, qk_std=0.35,
        note="SmolLM3Model F32, GQA 2, no_rope_layer_interval 2 (layer 1 without rotary)")
fg.make("fam-smollm3-lm-bf16-sw5", SmolLM3ForCausalLM,
        SmolLM3Config(**SMALL, no_rope_layers=[1, 0, 0], use_sliding_window=True,
                      sliding_window=5, attention_bias=True, mlp_bias=True,
                      tie_word_embeddings=False,
                      rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
        dtype=torch.bfloat16, seed=142, qk_std=0.35,
        note="SmolLM3ForCausalLM BF16, untied, no_rope_layers [1, 0, 0], sliding window 5 on "
             "the layers without rotary (default layer_types), attention_bias, mlp_bias")
fg.make("fam-smollm3-lm-f16-types", SmolLM3ForCausalLM,
        SmolLM3Config(**dict(SMALL, num_key_value_heads=1), use_sliding_window=True,
                      sliding_window=4,
                      layer_types=["sliding_attention", "full_attention", "sliding_attention"],
                      no_rope_layer_interval=3),
        dtype=torch.float16, seed=143, qk_std=0.35, shard="20KB",
        note="SmolLM3ForCausalLM F16 sharded, tied (the default), MQA, layer_types slide "
             "layers 0 and 2 (window 4), layer 2 without rotary, default rope_theta 2e6")
