#!/usr/bin/env python3
"""Fixtures of Longformer (tests/fixtures/fam-longformer-*): RoBERTa's layers and positions
with sliding-window attention, each query seeing the keys within attention_window / 2 on
either side, and no global attention (LongformerModel's and LongformerForMaskedLM's default:
no global_attention_mask). See famgen.py.

transformers returns a layer's attentions banded, (heads, seq, attention_window + 1), the
weight of query i to key i + c - attention_window / 2 at column c; the goldens hold them as
mhaviz does, the full (seq, seq) rows with zeros outside the band: exactly those
probabilities, each where its key is. A band column past the sentence's ends must be 0 (it
is masked), which is checked here before it is dropped.

  fam-longformer-f32        LongformerModel, attention_window 4 (2 each side), pairs
  fam-longformer-mlm-f16    LongformerForMaskedLM (longformer. prefix, lm_head), windows
                            [4, 8] by layer, F16, logits
  fam-longformer-cls-bf16   LongformerForSequenceClassification run with an all-zero
                            global_attention_mask (no global [CLS]), window 8, BF16, sharded
(transformers pads a sentence to a multiple of the largest window, so windows by layer must
divide it: [4, 6] fails in transformers itself.)

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_longformer.py
"""
import os
import sys

import torch
from transformers import (LongformerConfig, LongformerForMaskedLM,
                          LongformerForSequenceClassification, LongformerModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402


def full_rows(band, n):
    """(heads, n, 2w+1) banded probabilities -> (heads, n, n)"""
    heads, rows, width = band.shape
    w = (width - 1) // 2
    out = torch.zeros(heads, n, n, dtype=band.dtype)
    for i in range(n):
        for c in range(width):
            j = i + c - w
            if 0 <= j < n:
                out[:, i, j] = band[:, i, c]
            else:
                assert (band[:, i, c] == 0).all(), "a band column past the ends is not 0"
    return out


def run(model, ids, extra=None):
    x = torch.tensor([ids], dtype=torch.long)
    kw = dict(extra or {})
    with torch.no_grad():
        # an explicit all-zero global_attention_mask: no global token, also in the heads that
        # would otherwise make one ([CLS] for sequence classification)
        out = model(input_ids=x, attention_mask=torch.ones_like(x), output_attentions=True,
                    global_attention_mask=torch.zeros_like(x), **kw)
    assert getattr(out, "global_attentions", None) is None
    att = torch.stack([full_rows(a[0], len(ids)) for a in out.attentions])
    logits = out.logits[0, -1] if getattr(out, "logits", None) is not None else None
    return att, logits


fg.run = run


SMALL = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=40, hidden_act="gelu")

fg.make("fam-longformer-f32", LongformerModel, LongformerConfig(**SMALL, attention_window=4),
        seed=551, qk_std=0.35, pairs=True, avoid_ids=(1,),
        note="LongformerModel, attention_window 4, no global attention, pairs")
fg.make("fam-longformer-mlm-f16", LongformerForMaskedLM,
        LongformerConfig(**SMALL, attention_window=[4, 8]), dtype=torch.float16, seed=552,
        qk_std=0.35, logits=True, avoid_ids=(1,),
        note="LongformerForMaskedLM (longformer. prefix, lm_head), windows 4 and 8, F16")
fg.make("fam-longformer-cls-bf16", LongformerForSequenceClassification,
        LongformerConfig(**SMALL, attention_window=8, pad_token_id=3), dtype=torch.bfloat16,
        seed=553, qk_std=0.35, avoid_ids=(3,), shard="20KB",
        note="LongformerForSequenceClassification, all-zero global_attention_mask, window 8, "
             "pad_token_id 3, BF16, sharded")
