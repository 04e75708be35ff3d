#!/usr/bin/env python3
"""Fixtures of Ministral and Ministral 3 (tests/fixtures/fam-ministral-*,
fam-ministral3-*): Mistral's layer without biases; Ministral slides its window on the layers
layer_types names (by default every layer when sliding_window is set), Ministral 3 on every
layer when sliding_window is set (default none), its rope by default YaRN, its queries past
original_max_position_embeddings scaled by llama_4_scaling_beta (transformers fails without
them); *Model and *ForCausalLM (model. prefix, untied and tied),
F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_ministral.py
"""
import os
import sys

import torch
from transformers import (Ministral3Config, Ministral3ForCausalLM, Ministral3Model,
                          MinistralConfig, MinistralForCausalLM, MinistralModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
             intermediate_size=40, max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
             eos_token_id=2)
# MinistralAttention fails without head_dim (None ** -0.5): every Ministral config gives it
M1 = dict(SMALL, head_dim=8)

fg.make("fam-ministral-f32", MinistralModel,
        MinistralConfig(**M1, num_key_value_heads=2, sliding_window=3),
        seed=681, qk_std=0.35,
        note="MinistralModel F32, GQA 2, window 3 on every layer (default layer_types)")
fg.make("fam-ministral-lm-bf16", MinistralForCausalLM,
        MinistralConfig(**dict(M1, head_dim=12), num_key_value_heads=1, sliding_window=4,
                        layer_types=["sliding_attention", "full_attention",
                                     "sliding_attention"],
                        rope_parameters={"rope_type": "llama3", "factor": 8.0,
                                         "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                         "original_max_position_embeddings": 16,
                                         "rope_theta": 5000.0}),
        dtype=torch.bfloat16, seed=682, qk_std=0.35,
        note="MinistralForCausalLM BF16, untied, MQA, head_dim 12, layer_types sliding / full "
             "/ sliding with window 4, llama3 rope scaling")
fg.make("fam-ministral-lm-f16-tied", MinistralForCausalLM,
        MinistralConfig(**dict(M1, num_hidden_layers=2), num_key_value_heads=4,
                        sliding_window=2, tie_word_embeddings=True,
                        layer_types=["full_attention", "full_attention"]),
        dtype=torch.float16, seed=683, qk_std=0.35,
        note="MinistralForCausalLM F16, tied, layer_types full / full (window 2 unused)")

YARN = {"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 16.0,
        "original_max_position_embeddings": 16, "beta_fast": 32.0, "beta_slow": 1.0,
        "mscale_all_dim": 1.0, "mscale": 1.0, "llama_4_scaling_beta": 0.1}
fg.make("fam-ministral3-lm-f32", Ministral3ForCausalLM,
        Ministral3Config(**SMALL, num_key_value_heads=2, head_dim=8, rope_parameters=YARN),
        seed=684, qk_std=0.35,
        note="Ministral3ForCausalLM F32, untied, GQA 2, YaRN 16 over 16 positions (mscale 1 "
             "and 1), llama_4_scaling_beta 0.1 (no sentence reaches 16 tokens), no window")
fg.make("fam-ministral3-lm-bf16-tied", Ministral3ForCausalLM,
        Ministral3Config(**SMALL, num_key_value_heads=1, head_dim=8, sliding_window=4,
                         tie_word_embeddings=True,
                         rope_parameters=dict(YARN, mscale=2.0, factor=4.0)),
        dtype=torch.bfloat16, seed=685, qk_std=0.35,
        note="Ministral3ForCausalLM BF16, tied, MQA, window 4 on every layer, YaRN 4 with "
             "mscale 2 over mscale_all_dim 1")
fg.make("fam-ministral3-model-f16", Ministral3Model,
        Ministral3Config(**dict(SMALL, num_hidden_layers=2), num_key_value_heads=4,
                         head_dim=8, rope_parameters={
                             "rope_type": "default", "rope_theta": 300.0,
                             "llama_4_scaling_beta": 0.5,
                             "original_max_position_embeddings": 4}),
        dtype=torch.float16, seed=686, qk_std=0.35,
        note="Ministral3Model F16, default rope theta 300, llama_4_scaling_beta 0.5 over 4 "
             "positions: queries from position 4 on scaled")
