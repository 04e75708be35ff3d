#!/usr/bin/env python3
"""Fixtures of the GPT-NeoX family (Pythia) in tests/fixtures/fam-gpt-neox-*: parallel and
sequential residuals, partial rotary (rotary_pct 0.25, 0.5, 1), rotary_emb_base, the fused
query_key_value laid out per head, LayerNorm with biases, GPTNeoXForCausalLM (gpt_neox.
prefix, untied embed_out or tied), GPTNeoXForSequenceClassification and GPTNeoXModel,
F32/F16/BF16, a sharded checkpoint and a config.json in the older spelling of the Pythia files
(rotary_pct, rotary_emb_base). See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_gpt_neox.py
"""
import json
import os
import sys

import torch
from transformers import (GPTNeoXConfig, GPTNeoXForCausalLM, GPTNeoXForSequenceClassification,
                          GPTNeoXModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=48, hidden_act="gelu")


def pythia_spelling(path):
    """config.json as the Pythia checkpoints write it: rotary_pct and rotary_emb_base at the
    top level, no rope_parameters."""
    p = os.path.join(path, "config.json")
    cfg = json.load(open(p))
    rp = cfg.pop("rope_parameters")
    cfg["rotary_pct"] = rp["partial_rotary_factor"]
    cfg["rotary_emb_base"] = rp["rope_theta"]
    json.dump(cfg, open(p, "w"), indent=2, sort_keys=True)


fg.make("fam-gpt-neox-f32", GPTNeoXForCausalLM,
        GPTNeoXConfig(**SMALL, rotary_pct=0.25, use_parallel_residual=True), seed=31, qk_std=0.3,
        note="GPTNeoXForCausalLM, parallel residual, rotary_pct 0.25, untied embed_out")
fg.make("fam-gpt-neox-seq-bf16", GPTNeoXModel,
        GPTNeoXConfig(**SMALL, rotary_pct=1.0, rotary_emb_base=500, use_parallel_residual=False),
        dtype=torch.bfloat16, seed=32, qk_std=0.3,
        note="GPTNeoXModel, sequential residual, rotary_pct 1, rotary_emb_base 500, BF16")
fg.make("fam-gpt-neox-pythia-f16", GPTNeoXForCausalLM,
        GPTNeoXConfig(**dict(SMALL, num_hidden_layers=3), rotary_pct=0.5, rotary_emb_base=20000,
                      tie_word_embeddings=True, attention_bias=False),
        dtype=torch.float16, seed=33, qk_std=0.3, shard="12KB", post=pythia_spelling,
        note="GPTNeoXForCausalLM, tied, no attention biases, rotary_pct 0.5 and rotary_emb_base "
             "20000 in the Pythia config spelling, F16, sharded")
fg.make("fam-gpt-neox-seqcls-f32", GPTNeoXForSequenceClassification,
        GPTNeoXConfig(**dict(SMALL, num_hidden_layers=1), rotary_pct=0.5, num_labels=2),
        seed=34, qk_std=0.3, note="GPTNeoXForSequenceClassification (gpt_neox. prefix, score head)")
