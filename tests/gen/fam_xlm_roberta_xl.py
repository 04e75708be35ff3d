#!/usr/bin/env python3
"""Fixtures of XLM-RoBERTa-XL (tests/fixtures/fam-xlm-roberta-xl-*): pre-norm layers
(self_attn_layer_norm before attention, LayerNorm before the feed-forward), embeddings
without a LayerNorm, the encoder's final LayerNorm (read by the masked-LM head), RoBERTa's
positions from pad_token_id + 1. See famgen.py.

  fam-xlm-roberta-xl-f32       XLMRobertaXLModel, two token types, pairs
  fam-xlm-roberta-xl-mlm-bf16  XLMRobertaXLForMaskedLM, tied, BF16, sharded, logits
  fam-xlm-roberta-xl-cls-f16   XLMRobertaXLForSequenceClassification, F16, default eps
  fam-xlm-roberta-xl-mlm-untied XLMRobertaXLForMaskedLM, untied, pad_token_id 4, logits

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_xlm_roberta_xl.py
"""
import os
import sys

import torch
from transformers import (XLMRobertaXLConfig, XLMRobertaXLForMaskedLM,
                          XLMRobertaXLForSequenceClassification, XLMRobertaXLModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=40, hidden_act="gelu")

fg.make("fam-xlm-roberta-xl-f32", XLMRobertaXLModel, XLMRobertaXLConfig(**SMALL, type_vocab_size=2),
        seed=511, qk_std=0.35, pairs=True, avoid_ids=(1,),
        note="XLMRobertaXLModel, two token types, pairs")
fg.make("fam-xlm-roberta-xl-mlm-bf16", XLMRobertaXLForMaskedLM, XLMRobertaXLConfig(**SMALL),
        dtype=torch.bfloat16, seed=512, qk_std=0.35, logits=True, avoid_ids=(1,), shard="20KB",
        note="XLMRobertaXLForMaskedLM (roberta. prefix, lm_head), tied, BF16, sharded")
fg.make("fam-xlm-roberta-xl-cls-f16", XLMRobertaXLForSequenceClassification,
        XLMRobertaXLConfig(**SMALL), dtype=torch.float16, seed=513, qk_std=0.35,
        avoid_ids=(1,), note="XLMRobertaXLForSequenceClassification, F16")
fg.make("fam-xlm-roberta-xl-mlm-untied", XLMRobertaXLForMaskedLM,
        XLMRobertaXLConfig(**dict(SMALL, hidden_act="relu"), tie_word_embeddings=False,
                           pad_token_id=4, layer_norm_eps=1e-6),
        seed=514, qk_std=0.35, logits=True, avoid_ids=(4,),
        note="XLMRobertaXLForMaskedLM, untied, pad_token_id 4, ReLU, eps 1e-6")
