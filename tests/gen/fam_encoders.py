#!/usr/bin/env python3
"""Fixtures of the encoder families with their own layouts (tests/fixtures/fam-*):
DistilBERT and ALBERT (factorised embeddings, layer groups shared by several layers).
See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_encoders.py
"""
import os
import sys

import torch
from transformers import (AlbertConfig, AlbertForMaskedLM, AlbertModel, DistilBertConfig,
                          DistilBertForMaskedLM, DistilBertModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

fg.make("fam-distilbert-f32", DistilBertModel,
        DistilBertConfig(vocab_size=120, dim=32, n_layers=2, n_heads=4, hidden_dim=48,
                         max_position_embeddings=40), seed=21, qk_std=0.35,
        note="DistilBertModel")
fg.make("fam-distilbert-mlm-bf16", DistilBertForMaskedLM,
        DistilBertConfig(vocab_size=120, dim=32, n_layers=3, n_heads=2, hidden_dim=40,
                         max_position_embeddings=40, activation="relu"), dtype=torch.bfloat16,
        seed=22, qk_std=0.35, note="DistilBertForMaskedLM (distilbert. prefix), ReLU, BF16")
ALBERT = dict(vocab_size=120, embedding_size=16, hidden_size=32, num_attention_heads=4,
              intermediate_size=48, max_position_embeddings=40)
fg.make("fam-albert-shared", AlbertModel, AlbertConfig(**ALBERT, num_hidden_layers=3),
        seed=23, qk_std=0.35, note="AlbertModel: one group shared by 3 layers, gelu_new")
fg.make("fam-albert-groups-f16", AlbertForMaskedLM,
        AlbertConfig(**ALBERT, num_hidden_layers=4, num_hidden_groups=2, hidden_act="gelu"),
        dtype=torch.float16, seed=24, qk_std=0.35,
        note="AlbertForMaskedLM (albert. prefix): 4 layers over 2 groups, F16")
