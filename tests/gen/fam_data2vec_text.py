#!/usr/bin/env python3
"""Fixtures of data2vec-text (tests/fixtures/fam-data2vec-text-*): RoBERTa's layers and
positions (from pad_token_id + 1), the data2vec_text. prefix of the *For* heads, the
RobertaLMHead-shaped lm_head. See famgen.py.

  fam-data2vec-text-f32       Data2VecTextModel, pairs (token types 0 then 1)
  fam-data2vec-text-mlm-f16   Data2VecTextForMaskedLM, tied decoder, F16, logits
  fam-data2vec-text-cls-bf16  Data2VecTextForSequenceClassification, pad_token_id 3, BF16,
                              sharded
  fam-data2vec-text-mlm-untied Data2VecTextForMaskedLM, untied decoder, ReLU, logits

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_data2vec_text.py
"""
import os
import sys

import torch
from transformers import (Data2VecTextConfig, Data2VecTextForMaskedLM,
                          Data2VecTextForSequenceClassification, Data2VecTextModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=40, hidden_act="gelu")

fg.make("fam-data2vec-text-f32", Data2VecTextModel, Data2VecTextConfig(**SMALL), seed=501,
        qk_std=0.35, pairs=True, avoid_ids=(1,),
        note="Data2VecTextModel, pad_token_id 1, pairs (token types 0 then 1)")
fg.make("fam-data2vec-text-mlm-f16", Data2VecTextForMaskedLM, Data2VecTextConfig(**SMALL),
        dtype=torch.float16, seed=502, qk_std=0.35, logits=True, avoid_ids=(1,),
        note="Data2VecTextForMaskedLM (data2vec_text. prefix, lm_head), tied, F16")
fg.make("fam-data2vec-text-cls-bf16", Data2VecTextForSequenceClassification,
        Data2VecTextConfig(**SMALL, pad_token_id=3, type_vocab_size=1), dtype=torch.bfloat16,
        seed=503, qk_std=0.35, avoid_ids=(3,), shard="20KB",
        note="Data2VecTextForSequenceClassification, pad_token_id 3, one token type, BF16, "
             "sharded")
fg.make("fam-data2vec-text-mlm-untied", Data2VecTextForMaskedLM,
        Data2VecTextConfig(**dict(SMALL, hidden_act="relu"), tie_word_embeddings=False),
        seed=504, qk_std=0.35, logits=True, avoid_ids=(1,),
        note="Data2VecTextForMaskedLM, untied decoder, ReLU layers (the head's gelu)")
