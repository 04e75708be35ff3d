#!/usr/bin/env python3
"""Fixtures of Cohere Command-R (tests/fixtures/fam-cohere-*): attention and MLP in parallel on
one LayerNorm without bias, rotary positions on interleaved pairs (CohereConfig's default theta
500000 when config.json gives none, a given one, linear and yarn scaling), use_qk_norm (a LayerNorm of
each query and key head with its own weights), attention_bias, grouped- and multi-query heads,
a head_dim given apart from hidden / heads, the logits times logit_scale (the default 0.0625
and another); CohereForCausalLM (model. prefix, tied as by default, and untied) and
CohereModel, F32/F16/BF16, one sharded; and Cohere 2 (fam-cohere2-*): sliding layers with
rotary positions and full layers without, by layer_types and by sliding_window_pattern.
See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_cohere.py
"""
import json
import os
import sys

import torch
from transformers import (Cohere2Config, Cohere2ForCausalLM, Cohere2Model, CohereConfig,
                          CohereForCausalLM, CohereModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
             eos_token_id=2)


def no_rope_settings(path):
    """config.json without rope_theta or rope_parameters: CohereConfig's default theta."""
    p = os.path.join(path, "config.json")
    cfg = json.load(open(p))
    cfg.pop("rope_parameters", None)
    cfg.pop("rope_theta", None)
    json.dump(cfg, open(p, "w"), indent=2, sort_keys=True)


fg.make("fam-cohere-f32", CohereForCausalLM,
        CohereConfig(**SMALL, num_key_value_heads=2, use_qk_norm=True, attention_bias=True,
                     logit_scale=0.25, tie_word_embeddings=False,
                     rope_parameters={"rope_type": "default", "rope_theta": 1000.0}),
        seed=121, qk_std=0.3,
        note="CohereForCausalLM, use_qk_norm, attention_bias, 4 query heads over 2 key/value "
             "heads, rope_theta 1000, logit_scale 0.25, untied lm_head")
fg.make("fam-cohere-lm-bf16-tied", CohereForCausalLM,
        CohereConfig(**dict(SMALL, num_hidden_layers=3), num_key_value_heads=1),
        dtype=torch.bfloat16, seed=122, qk_std=0.3, post=no_rope_settings, shard="20KB",
        note="CohereForCausalLM BF16 sharded, tied (the default), one key/value head, no rope settings "
             "in config.json (theta 500000), logit_scale 0.0625 (the default)")
fg.make("fam-cohere-model-f16", CohereModel,
        CohereConfig(**SMALL, head_dim=12, use_qk_norm=True, hidden_act="gelu",
                     rope_parameters={"rope_type": "linear", "factor": 2.0,
                                      "rope_theta": 10000.0}),
        dtype=torch.float16, seed=123, qk_std=0.3,
        note="CohereModel F16, head_dim 12 (4 x 12 > hidden 32), use_qk_norm, exact gelu gate, "
             "linear rope scaling 2")
# YaRN on interleaved pairs: cos and sin times the attention factor
fg.make("fam-cohere-yarn-f32", CohereModel,
        CohereConfig(**SMALL, num_key_value_heads=2,
                     rope_parameters={"rope_type": "yarn", "rope_theta": 100.0, "factor": 4.0,
                                      "original_max_position_embeddings": 16}),
        seed=124, qk_std=0.3,
        note="CohereModel F32, yarn factor 4 over 16 original positions, rope_theta 100")

# Cohere 2 (Command R7B): sliding layers with rotary positions, full layers without any
SMALL2 = dict(SMALL, num_hidden_layers=4)
fg.make("fam-cohere2-f32", Cohere2ForCausalLM,
        Cohere2Config(**SMALL2, num_key_value_heads=2, sliding_window=4, attention_bias=True,
                      logit_scale=0.5, tie_word_embeddings=False),
        seed=231, qk_std=0.3,
        note="Cohere2ForCausalLM F32, untied, sliding window 4 on layers 0-2 (rotary), layer 3 "
             "full without positions, attention_bias, logit_scale 0.5, theta 10000 (the "
             "default)")
fg.make("fam-cohere2-lm-bf16-tied", Cohere2ForCausalLM,
        Cohere2Config(**SMALL2, num_key_value_heads=1, sliding_window=3,
                      layer_types=["full_attention", "sliding_attention", "full_attention",
                                   "sliding_attention"],
                      rope_parameters={"rope_type": "linear", "factor": 2.0,
                                       "rope_theta": 1000.0}),
        dtype=torch.bfloat16, seed=232, qk_std=0.3, shard="20KB",
        note="Cohere2ForCausalLM BF16 sharded, tied (the default), one key/value head, "
             "layer_types full/sliding alternating, window 3, linear rope scaling 2")
fg.make("fam-cohere2-model-f16", Cohere2Model,
        Cohere2Config(**SMALL, head_dim=12, sliding_window=5, sliding_window_pattern=2),
        dtype=torch.float16, seed=233, qk_std=0.3,
        note="Cohere2Model F16, head_dim 12, sliding_window_pattern 2 (layer 0 sliding with "
             "window 5, layer 1 full)")
