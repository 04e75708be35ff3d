#!/usr/bin/env python3
"""Fixtures of Megatron-BERT (tests/fixtures/fam-megatron-bert-*): pre-norm layers
(attention.ln before attention, ln before the feed-forward), embeddings without a
LayerNorm, the encoder's final ln (read by the masked-LM head), BERT's positions and
cls.predictions head under the bert. prefix. See famgen.py.

  fam-megatron-bert-f32        MegatronBertModel, pairs
  fam-megatron-bert-mlm-f16    MegatronBertForMaskedLM, tied, F16, logits
  fam-megatron-bert-cls-bf16   MegatronBertForSequenceClassification, BF16, sharded, pairs
  fam-megatron-bert-pre-untied MegatronBertForPreTraining, untied decoder, gelu_new

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_megatron_bert.py
"""
import os
import re
import sys

import torch
from transformers import (MegatronBertConfig, MegatronBertForMaskedLM,
                          MegatronBertForPreTraining, MegatronBertForSequenceClassification,
                          MegatronBertModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

# Megatron's norms are named "ln" (attention.ln, layer ln, encoder.ln): draw them as norms
fg.NORM = re.compile(fg.NORM.pattern + r"|\.ln\.", re.I)

SMALL = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=40, hidden_act="gelu")

fg.make("fam-megatron-bert-f32", MegatronBertModel, MegatronBertConfig(**SMALL), seed=521,
        qk_std=0.35, pairs=True, note="MegatronBertModel, pairs")
fg.make("fam-megatron-bert-mlm-f16", MegatronBertForMaskedLM, MegatronBertConfig(**SMALL),
        dtype=torch.float16, seed=522, qk_std=0.35, logits=True,
        note="MegatronBertForMaskedLM (bert. prefix, cls.predictions), tied, F16")
fg.make("fam-megatron-bert-cls-bf16", MegatronBertForSequenceClassification,
        MegatronBertConfig(**SMALL, type_vocab_size=3), dtype=torch.bfloat16, seed=523,
        qk_std=0.35, pairs=True, shard="20KB",
        note="MegatronBertForSequenceClassification, 3 token types, BF16, sharded, pairs")
fg.make("fam-megatron-bert-pre-untied", MegatronBertForPreTraining,
        MegatronBertConfig(**dict(SMALL, hidden_act="gelu_new"), tie_word_embeddings=False),
        seed=524, qk_std=0.35,
        note="MegatronBertForPreTraining (bert. prefix, cls.predictions untied), gelu_new")
