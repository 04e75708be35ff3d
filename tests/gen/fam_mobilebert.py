#!/usr/bin/env python3
"""Fixtures of MobileBERT (tests/fixtures/fam-mobilebert-*): bottlenecks into and out of a
narrow inner width, trigram embeddings through embedding_transformation, stacked
feed-forward networks, NoNorm or LayerNorm. See famgen.py (its draw, then the embedding
transformation drawn as any other linear layer: famgen draws names with "embed" as
embeddings, N(0, 1)).

  fam-mobilebert-f32        MobileBertModel: trigram, key_query_shared_bottleneck, NoNorm,
                            2 feed-forward networks, pairs
  fam-mobilebert-mlm-f16    MobileBertForMaskedLM (mobilebert. prefix): use_bottleneck_attention,
                            LayerNorm, 3 feed-forward networks, gelu, F16, logits (its head:
                            the decoder over the first embedding_size features, the dense
                            matrix over the rest)
  fam-mobilebert-cls-bf16   MobileBertForSequenceClassification: no bottleneck, no trigram,
                            embedding_size 16 < hidden 32 (transformation), 1 network, BF16,
                            sharded, pairs
  fam-mobilebert-mlm-untied MobileBertForMaskedLM, untied decoder (and its bias), logits
  fam-mobilebert-plain      MobileBertModel: bottleneck of the hidden width with neither
                            attention input (q, k, v from the layer's input), embedding_size ==
                            hidden without trigram (no transformation)

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_mobilebert.py
"""
import math
import os
import sys

import torch
from transformers import (MobileBertConfig, MobileBertForMaskedLM,
                          MobileBertForSequenceClassification, MobileBertModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

_draw = fg.randomize


def randomize(model, seed, qk_std, gain=0.5, emb_std=1.0):
    _draw(model, seed, qk_std, gain=gain, emb_std=emb_std)
    g = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embedding_transformation.weight" in name:
                p.copy_(torch.randn(p.shape, generator=g) * (gain / math.sqrt(p.shape[-1])))
    return model


fg.randomize = randomize

SMALL = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=24, max_position_embeddings=40, embedding_size=16,
             intra_bottleneck_size=16)

fg.make("fam-mobilebert-f32", MobileBertModel,
        MobileBertConfig(**SMALL, num_feedforward_networks=2), seed=541, qk_std=0.7,
        pairs=True, note="MobileBertModel: trigram, shared q/k bottleneck, NoNorm, 2 FFNs, pairs")
fg.make("fam-mobilebert-mlm-f16", MobileBertForMaskedLM,
        MobileBertConfig(**SMALL, num_feedforward_networks=3, use_bottleneck_attention=True,
                         normalization_type="layer_norm", hidden_act="gelu"),
        dtype=torch.float16, seed=542, qk_std=0.7, logits=True,
        note="MobileBertForMaskedLM: use_bottleneck_attention, LayerNorm, 3 FFNs, gelu, F16")
fg.make("fam-mobilebert-cls-bf16", MobileBertForSequenceClassification,
        MobileBertConfig(**SMALL, num_feedforward_networks=1, use_bottleneck=False,
                         trigram_input=False, type_vocab_size=3),
        dtype=torch.bfloat16, seed=543, qk_std=0.35, pairs=True, shard="20KB",
        note="MobileBertForSequenceClassification: no bottleneck, no trigram, embedding 16 -> "
             "32, 1 FFN, BF16, sharded, pairs")
fg.make("fam-mobilebert-plain", MobileBertModel,
        MobileBertConfig(**dict(SMALL, embedding_size=32, intra_bottleneck_size=32),
                         key_query_shared_bottleneck=False, trigram_input=False,
                         num_feedforward_networks=2, normalization_type="layer_norm",
                         layer_norm_eps=1e-6),
        seed=544, qk_std=0.35,
        note="MobileBertModel: bottleneck 32 == hidden, q/k/v from the layer input, no "
             "transformation, LayerNorm eps 1e-6")
fg.make("fam-mobilebert-mlm-untied", MobileBertForMaskedLM,
        MobileBertConfig(**SMALL, num_feedforward_networks=2, tie_word_embeddings=False),
        seed=545, qk_std=0.7, logits=True,
        note="MobileBertForMaskedLM, untied decoder and bias, NoNorm, trigram, logits")
