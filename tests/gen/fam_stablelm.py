#!/usr/bin/env python3
"""Fixtures of StableLM (tests/fixtures/fam-stablelm-*): LayerNorms with biases, rotary
positions on the first partial_rotary_factor of each head (0.5; the default 0.25; in
rope_parameters and in the older top-level spelling of StableLM 2's config.json), linear and
yarn rope scaling, use_qkv_bias, qk_layernorm (a LayerNorm of each query and key head with its own
weights), use_parallel_residual on and off, grouped-query heads; StableLmForCausalLM (model.
prefix, tied and untied lm_head), StableLmModel and StableLmForSequenceClassification,
F32/F16/BF16, one sharded. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_stablelm.py
"""
import json
import os
import sys

import torch
from transformers import (StableLmConfig, StableLmForCausalLM, StableLmForSequenceClassification,
                          StableLmModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=64)


def top_level_rope(path):
    """config.json as StableLM 2 writes it: partial_rotary_factor and rope_theta at the top."""
    p = os.path.join(path, "config.json")
    cfg = json.load(open(p))
    rp = cfg.pop("rope_parameters")
    cfg["partial_rotary_factor"] = rp["partial_rotary_factor"]
    cfg["rope_theta"] = rp["rope_theta"]
    cfg["rope_scaling"] = None
    json.dump(cfg, open(p, "w"), indent=2, sort_keys=True)


fg.make("fam-stablelm-f32", StableLmForCausalLM,
        StableLmConfig(**SMALL, num_key_value_heads=2, use_qkv_bias=True, qk_layernorm=True,
                       partial_rotary_factor=0.5, tie_word_embeddings=False),
        seed=111, qk_std=0.3,
        note="StableLmForCausalLM, sequential residual, partial_rotary_factor 0.5, "
             "4 query heads over 2 key/value heads, use_qkv_bias, qk_layernorm, untied")
fg.make("fam-stablelm-parallel-bf16", StableLmForCausalLM,
        StableLmConfig(**dict(SMALL, num_hidden_layers=3, num_attention_heads=2),
                       num_key_value_heads=2, use_parallel_residual=True,
                       tie_word_embeddings=True,
                       rope_parameters={"rope_type": "linear", "factor": 2.0,
                                        "rope_theta": 500.0, "partial_rotary_factor": 0.25}),
        dtype=torch.bfloat16, seed=112, qk_std=0.3,
        note="StableLmForCausalLM BF16, use_parallel_residual, 2 heads of 16 with the default "
             "partial_rotary_factor 0.25, linear rope scaling 2 over theta 500, tied")
fg.make("fam-stablelm-model-f16", StableLmModel,
        StableLmConfig(**SMALL, num_key_value_heads=1, qk_layernorm=True,
                       use_parallel_residual=True, partial_rotary_factor=0.5,
                       rope_theta=1000.0, hidden_act="gelu"),
        dtype=torch.float16, seed=113, qk_std=0.3, post=top_level_rope, shard="20KB",
        note="StableLmModel F16 sharded, use_parallel_residual with qk_layernorm, one key/value head, "
             "partial_rotary_factor 0.5 and rope_theta 1000 at the top level, exact gelu gate")
# *ForSequenceClassification: the model. prefix beside score.weight
fg.make("fam-stablelm-seqcls-f32", StableLmForSequenceClassification,
        StableLmConfig(**dict(SMALL, vocab_size=64, intermediate_size=16), num_key_value_heads=4,
                       num_labels=3, pad_token_id=1),
        seed=114, qk_std=0.3, avoid_ids=(1,),
        note="StableLmForSequenceClassification F32")
# YaRN over a partial rotary: frequencies over the rotated dimensions alone
fg.make("fam-stablelm-yarn-f32", StableLmForCausalLM,
        StableLmConfig(**dict(SMALL, num_attention_heads=2), num_key_value_heads=2,
                       rope_parameters={"rope_type": "yarn", "rope_theta": 100.0, "factor": 4.0,
                                        "original_max_position_embeddings": 16,
                                        "partial_rotary_factor": 0.5}),
        seed=115, qk_std=0.3,
        note="StableLmForCausalLM F32, 2 heads of 16 with partial_rotary_factor 0.5, yarn "
             "factor 4 over 16 original positions, rope_theta 100")
