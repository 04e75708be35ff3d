#!/usr/bin/env python3
"""Fixtures of OLMo 3 (tests/fixtures/fam-olmo3-*): OLMo 2's layer (RMSNorm over the whole
query and key projections, norms of the sublayer outputs only) with sliding-window layers
(by default all but every fourth, or as layer_types says) and a rotary table per layer type
(rope_parameters' full_attention and sliding_attention entries: other thetas, YaRN on the
full layers); Olmo3Model and Olmo3ForCausalLM (model. prefix, untied and tied), F32/F16/BF16,
one sharded. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_olmo3.py
"""
import os
import sys

import torch
from transformers import Olmo3Config, Olmo3ForCausalLM, Olmo3Model

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
             intermediate_size=40, max_position_embeddings=64, pad_token_id=1,
             eos_token_id=2)

fg.make("fam-olmo3-f32", Olmo3Model, Olmo3Config(**SMALL, sliding_window=3),
        seed=661, qk_std=0.35,
        note="Olmo3Model F32, 4 heads, window 3 on layers 0-2 (the default layer_types), "
             "layer 3 full, theta 500000 on both")
fg.make("fam-olmo3-lm-bf16-gqa", Olmo3ForCausalLM,
        Olmo3Config(**SMALL, num_key_value_heads=2, attention_bias=True,
                    tie_word_embeddings=False, sliding_window=4,
                    layer_types=["full_attention", "sliding_attention", "full_attention",
                                 "sliding_attention"],
                    rope_parameters={
                        "full_attention": {"rope_type": "yarn", "factor": 4.0,
                                           "original_max_position_embeddings": 16,
                                           "rope_theta": 10000.0},
                        "sliding_attention": {"rope_type": "default", "rope_theta": 50.0}}),
        dtype=torch.bfloat16, seed=662, qk_std=0.35,
        note="Olmo3ForCausalLM BF16, untied, GQA 2, attention_bias, layer_types full / sliding "
             "/ full / sliding, window 4, YaRN 4 (theta 1e4) on the full layers, theta 50 on "
             "the sliding ones")
fg.make("fam-olmo3-lm-f16-tied", Olmo3ForCausalLM,
        Olmo3Config(**dict(SMALL, num_hidden_layers=2), num_key_value_heads=1,
                    tie_word_embeddings=True, sliding_window=2,
                    rope_parameters={
                        "full_attention": {"rope_type": "linear", "factor": 2.0,
                                           "rope_theta": 1000.0},
                        "sliding_attention": {"rope_type": "default", "rope_theta": 300.0}}),
        dtype=torch.float16, seed=663, qk_std=0.35, shard="20KB",
        note="Olmo3ForCausalLM F16 sharded, tied, MQA, window 2 on layer 0, layer 1 full with "
             "linear rope scaling 2")


def old_rope_format(path):
    """An earlier file's rope fields: rope_theta and rope_scaling at the top level, which
    Olmo3Config gives the full layers only (the sliding ones keep default_theta 500000)."""
    import json
    p = os.path.join(path, "config.json")
    with open(p) as f:
        cfg = json.load(f)
    del cfg["rope_parameters"]
    cfg["rope_theta"] = 1000.0
    cfg["rope_scaling"] = {"rope_type": "linear", "factor": 2.0}
    with open(p, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)


fg.make("fam-olmo3-oldrope-f32", Olmo3Model, Olmo3Config(**SMALL, sliding_window=3),
        seed=664, qk_std=0.35, post=old_rope_format,
        note="Olmo3Model F32, top-level rope_theta 1000 and linear rope_scaling 2: the full "
             "layer's; the sliding layers keep theta 500000")
