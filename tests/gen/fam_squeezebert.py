#!/usr/bin/env python3
"""Fixtures of SqueezeBERT (tests/fixtures/fam-squeezebert-*): BERT's post-norm layers made of
1x1 convolutions with groups. See famgen.py.

transformers' output_attentions gives SqueezeBERT's scores before the softmax
(attention_score); the goldens hold the probabilities the model uses instead, the output of
each layer's attention.softmax module, captured by a forward hook (the softmax of those very
scores, checked here against them).

famgen's draw takes a weight's last dimension as its fan-in, which for a (out, in / groups, 1)
convolution is 1: they are drawn again here, q and k N(0, qk_std), the others
N(0, gain / sqrt(in / groups)).

  fam-squeezebert-f32       SqueezeBertModel, the default groups (4, 4, 4, 1, 4, 4), pairs
  fam-squeezebert-mlm-f16   SqueezeBertForMaskedLM (transformer. prefix, cls.predictions),
                            groups 2, 1, 4, 2, 2, 4, tied, F16, logits
  fam-squeezebert-cls-bf16  SqueezeBertForSequenceClassification, groups all 1, BF16, sharded

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_squeezebert.py
"""
import math
import os
import sys

import torch
from transformers import (SqueezeBertConfig, SqueezeBertForMaskedLM,
                          SqueezeBertForSequenceClassification, SqueezeBertModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

_draw = fg.randomize


def randomize(model, seed, qk_std, gain=0.5, emb_std=1.0):
    _draw(model, seed, qk_std, gain=gain, emb_std=emb_std)
    g = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if p.dim() == 3 and name.endswith("weight"):
                std = qk_std if (".query." in name or ".key." in name) else \
                    gain / math.sqrt(p.shape[1])
                p.copy_(torch.randn(p.shape, generator=g) * std)
    return model


fg.randomize = randomize


def run(model, ids, extra=None):
    """every layer's softmax output (the probabilities), checked against the scores
    transformers returns"""
    x = torch.tensor([ids], dtype=torch.long)
    probs = []
    hooks = [mod.register_forward_hook(lambda m, i, o: probs.append(o.detach()))
             for name, mod in model.named_modules() if name.endswith("attention.softmax")]
    kw = dict(extra or {})
    with torch.no_grad():
        out = model(input_ids=x, attention_mask=torch.ones_like(x), output_attentions=True, **kw)
    for h in hooks:
        h.remove()
    assert len(probs) == len(out.attentions)
    for p, s in zip(probs, out.attentions):
        assert (p - torch.softmax(s, dim=-1)).abs().max().item() == 0
    att = torch.stack([p[0] for p in probs])
    logits = out.logits[0, -1] if getattr(out, "logits", None) is not None else None
    return att, logits


fg.run = run

SMALL = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=40, hidden_act="gelu",
             embedding_size=32)

fg.make("fam-squeezebert-f32", SqueezeBertModel, SqueezeBertConfig(**SMALL), seed=561,
        qk_std=0.8, pairs=True, note="SqueezeBertModel, groups 4, 4, 4, 1, 4, 4, pairs")
fg.make("fam-squeezebert-mlm-f16", SqueezeBertForMaskedLM,
        SqueezeBertConfig(**SMALL, q_groups=2, k_groups=1, v_groups=4, post_attention_groups=2,
                          intermediate_groups=2, output_groups=4),
        dtype=torch.float16, seed=562, qk_std=0.35, logits=True,
        note="SqueezeBertForMaskedLM (transformer. prefix), groups 2, 1, 4, 2, 2, 4, F16")
fg.make("fam-squeezebert-cls-bf16", SqueezeBertForSequenceClassification,
        SqueezeBertConfig(**dict(SMALL, hidden_act="relu"), q_groups=1, k_groups=1,
                          v_groups=1, post_attention_groups=1, intermediate_groups=1,
                          output_groups=1, type_vocab_size=3),
        dtype=torch.bfloat16, seed=563, qk_std=0.35, pairs=True, shard="20KB",
        note="SqueezeBertForSequenceClassification, groups all 1, ReLU, BF16, sharded, pairs")
