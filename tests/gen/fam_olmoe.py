#!/usr/bin/env python3
"""Fixtures of OLMoE (tests/fixtures/fam-olmoe-*): an RMSNorm over the whole query and key
projections, clip_qkv after it (small enough to clamp many entries) and none, a mixture of
SwiGLU experts in every layer (the router's softmax, top k, norm_topk_prob or not),
attention_bias, grouped-query and multi-query heads, linear rope scaling; OlmoeForCausalLM
(model. prefix, untied as by default, and tied) and OlmoeModel, F32/F16/BF16, one sharded.
See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_olmoe.py
"""
import os
import sys

import torch
from transformers import OlmoeConfig, OlmoeForCausalLM, OlmoeModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

# the reference runs use transformers' loop over experts, not its grouped matmuls
EAGER = {"experts_implementation": "eager"}
SMALL = dict(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=16, max_position_embeddings=64, pad_token_id=1, eos_token_id=2)

fg.make("fam-olmoe-f32", OlmoeForCausalLM,
        OlmoeConfig(**SMALL, num_key_value_heads=2, num_experts=4, num_experts_per_tok=2,
                    clip_qkv=1.2, attention_bias=True),
        load_kw=EAGER, seed=201, qk_std=0.35,
        note="OlmoeForCausalLM F32, untied (the default), 4 query heads over 2 key/value heads, "
             "4 experts top 2 (not renormalised), clip_qkv 1.2 after the q/k norms, "
             "attention_bias")
fg.make("fam-olmoe-lm-bf16-tied", OlmoeForCausalLM,
        OlmoeConfig(**dict(SMALL, num_hidden_layers=3), num_key_value_heads=1, num_experts=5,
                    num_experts_per_tok=3, norm_topk_prob=True, tie_word_embeddings=True,
                    rope_parameters={"rope_type": "linear", "factor": 2.0,
                                     "rope_theta": 10000.0}),
        dtype=torch.bfloat16, load_kw=EAGER, seed=202, qk_std=0.35, shard="30KB",
        note="OlmoeForCausalLM BF16 sharded, tied, one key/value head, 5 experts top 3 "
             "renormalised, linear rope scaling 2, no clip")
fg.make("fam-olmoe-model-f16", OlmoeModel,
        OlmoeConfig(**SMALL, num_experts=3, num_experts_per_tok=1, clip_qkv=0.9,
                    hidden_act="gelu"),
        dtype=torch.float16, load_kw=EAGER, seed=203, qk_std=0.35,
        note="OlmoeModel F16, 3 experts top 1, clip_qkv 0.9, exact gelu gate")
