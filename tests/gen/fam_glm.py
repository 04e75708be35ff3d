#!/usr/bin/env python3
"""Fixtures of GLM-4 (glm), GLM-4-0414 (glm4) and Helium (tests/fixtures/fam-{glm,glm4,helium}-*):
rotary positions on interleaved pairs, over the first partial_rotary_factor of each head (GLM's
default 0.5, a given one, whole heads) or whole heads (Helium), q/k/v biases and none, GLM's
fused gate_up_proj, GLM-4-0414's norms of the sublayer outputs, Helium's MLP biases,
grouped-query heads, a head_dim apart from hidden / heads (GLM), linear and yarn rope scaling;
*ForCausalLM (model. prefix, untied as by default, and tied) and *Model, F32/F16/BF16, one
sharded. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_glm.py
"""
import os
import sys

import torch
from transformers import (Glm4Config, Glm4ForCausalLM, Glm4Model, GlmConfig, GlmForCausalLM,
                          GlmModel, HeliumConfig, HeliumForCausalLM, HeliumModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=64, pad_token_id=0, eos_token_id=2)

fg.make("fam-glm-f32", GlmForCausalLM,
        GlmConfig(**SMALL, num_key_value_heads=2, head_dim=8),
        seed=211, qk_std=0.35,
        note="GlmForCausalLM F32, untied, 4 query heads over 2 key/value heads, q/k/v biases "
             "(the default), the first half of each head rotated on interleaved pairs")
fg.make("fam-glm-model-bf16-rot", GlmModel,
        GlmConfig(**SMALL, num_key_value_heads=1, head_dim=12, attention_bias=False,
                  rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 1000.0,
                                   "partial_rotary_factor": 0.34}),
        dtype=torch.bfloat16, seed=212, qk_std=0.35,
        note="GlmModel BF16, head_dim 12 (4 x 12 > hidden 32), one key/value head, no biases, "
             "partial_rotary_factor 0.34 (4 of 12 dimensions), linear rope scaling 2, theta "
             "1000")
fg.make("fam-glm4-f32", Glm4ForCausalLM,
        Glm4Config(**SMALL, num_key_value_heads=2, head_dim=8),
        seed=213, qk_std=0.35,
        note="Glm4ForCausalLM F32, untied, post-sublayer norms, q/k/v biases, 4 query heads over "
             "2 key/value heads, half of each head rotated")
fg.make("fam-glm4-lm-f16-tied", Glm4ForCausalLM,
        Glm4Config(**dict(SMALL, num_hidden_layers=3), num_key_value_heads=4, head_dim=8,
                   tie_word_embeddings=True,
                   rope_parameters={"rope_type": "yarn", "factor": 4.0, "rope_theta": 100.0,
                                    "original_max_position_embeddings": 16,
                                    "partial_rotary_factor": 1.0}),
        dtype=torch.float16, seed=214, qk_std=0.35, shard="30KB",
        note="Glm4ForCausalLM F16 sharded, tied, whole heads rotated (partial_rotary_factor 1), "
             "yarn factor 4 over 16 positions")
fg.make("fam-glm4-model-bf16", Glm4Model,
        Glm4Config(**SMALL, num_key_value_heads=2, head_dim=16, hidden_act="gelu"),
        dtype=torch.bfloat16, seed=215, qk_std=0.35,
        note="Glm4Model BF16, head_dim 16, exact gelu gate")
fg.make("fam-helium-f32", HeliumForCausalLM,
        HeliumConfig(**SMALL, num_key_value_heads=2, head_dim=8, attention_bias=True,
                     mlp_bias=True),
        seed=216, qk_std=0.35,
        note="HeliumForCausalLM F32, untied, q/k/v and MLP biases, 4 query heads over 2 "
             "key/value heads, whole heads rotated on interleaved pairs, rope_theta 100000 "
             "(the default)")
fg.make("fam-helium-model-f16", HeliumModel,
        HeliumConfig(**SMALL, num_key_value_heads=4, head_dim=8,
                     rope_parameters={"rope_type": "linear", "factor": 3.0,
                                      "rope_theta": 500.0}),
        dtype=torch.float16, seed=217, qk_std=0.35,
        note="HeliumModel F16, no biases, linear rope scaling 3, theta 500")
