#!/usr/bin/env python3
"""Fixtures of ModernBERT (tests/fixtures/fam-modernbert-*): global and local layers (a
two-sided window shorter than the longer sentences), two rotary bases, GeGLU, LayerNorms
with and without biases. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_modernbert.py
"""
import os
import sys

import torch
from transformers import ModernBertConfig, ModernBertForMaskedLM, ModernBertModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=120, hidden_size=32, num_attention_heads=4, intermediate_size=40,
             max_position_embeddings=64, pad_token_id=0, bos_token_id=1, eos_token_id=2,
             cls_token_id=1, sep_token_id=2)
LENS = [1, 6, 13, 30]

# local_attention 8: local layers see |i - j| <= 4; every 3rd layer global
fg.make("fam-modernbert-f32", ModernBertModel,
        ModernBertConfig(**SMALL, num_hidden_layers=3, local_attention=8,
                         global_attn_every_n_layers=3, hidden_activation="gelu"),
        seed=41, qk_std=0.35, lengths=LENS,
        note="layers global, local, local; window +-4; rope bases 160000 / 10000")
fg.make("fam-modernbert-mlm-bias-bf16", ModernBertForMaskedLM,
        ModernBertConfig(**SMALL, num_hidden_layers=4, local_attention=6,
                         global_attn_every_n_layers=2, norm_bias=True, attention_bias=True,
                         mlp_bias=True, hidden_activation="gelu_pytorch_tanh"),
        dtype=torch.bfloat16, seed=42, qk_std=0.35, lengths=LENS,
        note="ModernBertForMaskedLM (model. prefix), biases everywhere, every 2nd layer global")
