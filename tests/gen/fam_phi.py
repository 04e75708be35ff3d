#!/usr/bin/env python3
"""Fixtures of the Phi family (Phi-1, 1.5, 2) in tests/fixtures/fam-phi-*: parallel attention
and MLP on one input_layernorm, partial rotary (partial_rotary_factor 0.5 and 0.4, in
rope_parameters and in Phi-2's top-level spelling), biases everywhere, an LM head with a bias
(untied, and tied with its own bias), grouped-query heads, qk_layernorm, PhiForCausalLM (model. prefix)
and PhiModel, F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_phi.py
"""
import json
import os
import sys

import torch
from transformers import PhiConfig, PhiForCausalLM, PhiModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=48)


def phi2_spelling(path):
    """config.json as Phi-2 writes it: partial_rotary_factor and rope_theta at the top."""
    p = os.path.join(path, "config.json")
    cfg = json.load(open(p))
    rp = cfg.pop("rope_parameters")
    cfg["partial_rotary_factor"] = rp["partial_rotary_factor"]
    cfg["rope_theta"] = rp["rope_theta"]
    cfg["rope_scaling"] = None
    json.dump(cfg, open(p, "w"), indent=2, sort_keys=True)


fg.make("fam-phi-f32", PhiForCausalLM, PhiConfig(**SMALL), seed=81, qk_std=0.3,
        note="PhiForCausalLM, partial_rotary_factor 0.5 (default), untied lm_head with bias")
fg.make("fam-phi2-bf16", PhiForCausalLM,
        PhiConfig(**dict(SMALL, hidden_size=40, num_hidden_layers=3), partial_rotary_factor=0.4,
                  tie_word_embeddings=True, hidden_act="gelu"),
        dtype=torch.bfloat16, seed=82, qk_std=0.3, post=phi2_spelling,
        note="PhiForCausalLM, head 10 with partial_rotary_factor 0.4 in Phi-2's top-level "
             "spelling, lm_head tied with its own bias, exact gelu, BF16")
fg.make("fam-phi-model-gqa-f16", PhiModel,
        PhiConfig(**SMALL, num_key_value_heads=2, qk_layernorm=True,
                  rope_parameters={"rope_type": "default", "rope_theta": 500.0,
                                   "partial_rotary_factor": 1.0}),
        dtype=torch.float16, seed=83, qk_std=0.3,
        note="PhiModel, 4 query heads over 2 key/value heads, qk_layernorm, whole-head rotary, "
             "rope_theta 500, F16")
