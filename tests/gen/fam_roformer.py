#!/usr/bin/env python3
"""Fixtures of RoFormer (tests/fixtures/fam-roformer-*): BERT's post-norm layers with rotary
positions on the queries and keys (pairs 2i, 2i+1), the angles of transformers' sinusoidal
table encoder.embed_positions.weight, which save_pretrained writes into the checkpoint (in
its dtype); famgen's random draw leaves that table as transformers makes it. See famgen.py.

  fam-roformer-f32           RoFormerModel, pairs (token types 0 then 1)
  fam-roformer-mlm-f16       RoFormerForMaskedLM (roformer. prefix, cls.predictions), tied,
                             F16 (the table rounded to F16 as the file holds it), logits
  fam-roformer-cls-bf16      RoFormerForSequenceClassification, BF16, sharded, pairs
  fam-roformer-notable-proj  RoFormerModel, embedding_size 24 < hidden 32
                             (embeddings_project), the table removed from the file:
                             transformers computes it on loading (create_weight), as must we
  fam-roformer-mlm-untied    RoFormerForMaskedLM, untied decoder, ReLU, logits
  fam-roformer-rotv-bf16     RoFormerForMaskedLM, rotary_value (the values turn too), BF16,
                             logits

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_roformer.py
"""
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import (RoFormerConfig, RoFormerForMaskedLM,
                          RoFormerForSequenceClassification, RoFormerModel)
from transformers.models.roformer.modeling_roformer import RoFormerSinusoidalPositionalEmbedding

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

_draw = fg.randomize


def randomize(model, *a, **kw):
    """famgen's draw, then the sinusoidal table put back as transformers creates it"""
    _draw(model, *a, **kw)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, RoFormerSinusoidalPositionalEmbedding):
                mod.weight.copy_(mod.create_weight())
    return model


fg.randomize = randomize


def drop_table(path):
    f = os.path.join(path, "model.safetensors")
    t = load_file(f)
    del t["encoder.embed_positions.weight"]
    save_file(t, f, metadata={"format": "pt"})


SMALL = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=40, hidden_act="gelu")

fg.make("fam-roformer-f32", RoFormerModel, RoFormerConfig(**SMALL), seed=531, qk_std=0.35,
        pairs=True, note="RoFormerModel, pairs")
fg.make("fam-roformer-mlm-f16", RoFormerForMaskedLM, RoFormerConfig(**SMALL),
        dtype=torch.float16, seed=532, qk_std=0.35, logits=True,
        note="RoFormerForMaskedLM (roformer. prefix, cls.predictions), tied, F16")
fg.make("fam-roformer-cls-bf16", RoFormerForSequenceClassification,
        RoFormerConfig(**SMALL, type_vocab_size=3), dtype=torch.bfloat16, seed=533,
        qk_std=0.35, pairs=True, shard="20KB",
        note="RoFormerForSequenceClassification, 3 token types, BF16, sharded, pairs")
fg.make("fam-roformer-notable-proj", RoFormerModel,
        RoFormerConfig(**dict(SMALL, num_attention_heads=2), embedding_size=24), seed=534,
        qk_std=0.35, post=drop_table,
        note="RoFormerModel, embedding_size 24 (embeddings_project), head size 16, no "
             "encoder.embed_positions.weight in the file (transformers computes it)")
fg.make("fam-roformer-mlm-untied", RoFormerForMaskedLM,
        RoFormerConfig(**dict(SMALL, hidden_act="relu"), tie_word_embeddings=False),
        seed=535, qk_std=0.35, logits=True,
        note="RoFormerForMaskedLM, untied decoder, ReLU")
fg.make("fam-roformer-rotv-bf16", RoFormerForMaskedLM, RoFormerConfig(**SMALL, rotary_value=True),
        dtype=torch.bfloat16, seed=536, qk_std=0.35, logits=True,
        note="RoFormerForMaskedLM, rotary_value, BF16")
