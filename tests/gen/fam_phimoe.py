#!/usr/bin/env python3
"""Fixtures of Phi-3.5-MoE (tests/fixtures/fam-phimoe-*): the sparsemixer router in eval mode
(router_jitter_noise the default 0.01 and larger ones, so that several experts share a token's
softmax), LayerNorms with bias, Mixtral's SwiGLU experts, longrope (short factors, cos and sin
times short_mscale, then long_mscale once the sentence passes original_max_position_embeddings)
and default rotary positions, attention_bias, lm_head_bias, a sliding window, grouped-query
heads; PhimoeForCausalLM (model. prefix, untied as by default, and tied) and PhimoeModel,
F32/F16/BF16, one sharded. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_phimoe.py
"""
import os
import sys

import torch
from transformers import PhimoeConfig, PhimoeForCausalLM, PhimoeModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

# the reference runs use transformers' loop over experts, not its grouped matmuls
EAGER = {"experts_implementation": "eager"}
SMALL = dict(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=16, max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
             eos_token_id=2)
LONGROPE = {"rope_type": "longrope", "rope_theta": 10000.0,
            "short_factor": [1.0, 1.1, 1.3, 1.7], "long_factor": [1.0, 2.0, 4.0, 9.0],
            "short_mscale": 1.2, "long_mscale": 0.9, "original_max_position_embeddings": 8}

fg.make("fam-phimoe-f32", PhimoeForCausalLM,
        PhimoeConfig(**SMALL, num_key_value_heads=2, num_local_experts=4,
                     router_jitter_noise=0.4, attention_bias=True, lm_head_bias=True,
                     rope_parameters=LONGROPE),
        load_kw=EAGER, seed=251, qk_std=0.35,
        note="PhimoeForCausalLM F32, untied, lm_head_bias, attention_bias, 4 experts with "
             "router_jitter_noise 0.4, longrope over 8 original positions (short_mscale 1.2 up "
             "to 8 tokens, long_mscale 0.9 beyond)")
fg.make("fam-phimoe-lm-bf16-tied", PhimoeForCausalLM,
        PhimoeConfig(**dict(SMALL, num_hidden_layers=3), num_key_value_heads=1,
                     num_local_experts=5, tie_word_embeddings=True, sliding_window=5),
        dtype=torch.bfloat16, load_kw=EAGER, seed=252, qk_std=0.35, shard="30KB",
        note="PhimoeForCausalLM BF16 sharded, tied, one key/value head, 5 experts with "
             "router_jitter_noise 0.01 (the default), sliding window 5, rope_theta 1e6 (the "
             "default)")
fg.make("fam-phimoe-model-f16", PhimoeModel,
        PhimoeConfig(**SMALL, num_key_value_heads=4, num_local_experts=3,
                     router_jitter_noise=1.5, head_dim=12, hidden_act="gelu"),
        dtype=torch.float16, load_kw=EAGER, seed=253, qk_std=0.35,
        note="PhimoeModel F16, head_dim 12, 3 experts with router_jitter_noise 1.5, exact gelu "
             "gate")
