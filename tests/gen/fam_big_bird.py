#!/usr/bin/env python3
"""Fixtures of BigBird (tests/fixtures/fam-big-bird-*): BERT's layers under bert., full
attention: attention_type original_full, or block_sparse on sentences of at most
(5 + 2 num_random_blocks) block_size tokens, which transformers' BigBirdModel runs as
original_full (it says so and switches); rescale_embeddings. See famgen.py.

  fam-big-bird-f32          BigBirdModel, original_full, pairs
  fam-big-bird-mlm-f16      BigBirdForMaskedLM (bert. prefix, cls.predictions), block_sparse
                            with block_size 4 and 1 random block (original_full up to 28
                            tokens), rescale_embeddings, F16, logits
  fam-big-bird-cls-bf16     BigBirdForSequenceClassification, original_full, gelu, BF16,
                            sharded

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_big_bird.py
"""
import json
import os
import sys

import torch
from transformers import (BigBirdConfig, BigBirdForMaskedLM, BigBirdForSequenceClassification,
                          BigBirdModel)
from transformers.utils import logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

logging.set_verbosity_error()  # block_sparse's switch to original_full is expected here


class BigBirdForMaskedLMSwitched(BigBirdForMaskedLM):
    """BigBirdForMaskedLM switched to original_full on loading, as BigBirdModel.forward
    switches a block_sparse model on a sentence this short: the same computation, but
    transformers 5.25 then records no attentions (output_attentions gives an empty tuple:
    its recorders miss the attention modules swapped in during the forward), so the switch
    is made before the forward here"""

    @classmethod
    def from_pretrained(cls, *a, **kw):
        model = super().from_pretrained(*a, **kw)
        model.bert.set_attention_type("original_full")
        return model


def own_architecture(path):
    f = os.path.join(path, "config.json")
    c = json.load(open(f))
    assert c["attention_type"] == "block_sparse"
    c["architectures"] = ["BigBirdForMaskedLM"]
    json.dump(c, open(f, "w"), indent=2, sort_keys=True)

SMALL = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=40)

fg.make("fam-big-bird-f32", BigBirdModel, BigBirdConfig(**SMALL, attention_type="original_full"),
        seed=571, qk_std=0.35, pairs=True, note="BigBirdModel, original_full, pairs")
fg.make("fam-big-bird-mlm-f16", BigBirdForMaskedLMSwitched,
        BigBirdConfig(**SMALL, attention_type="block_sparse", block_size=4, num_random_blocks=1,
                      rescale_embeddings=True),
        dtype=torch.float16, seed=572, qk_std=0.35, logits=True, post=own_architecture,
        note="BigBirdForMaskedLM, block_sparse run as original_full (<= 28 tokens), "
             "rescale_embeddings, F16")
fg.make("fam-big-bird-cls-bf16", BigBirdForSequenceClassification,
        BigBirdConfig(**SMALL, attention_type="original_full", hidden_act="gelu",
                      type_vocab_size=3),
        dtype=torch.bfloat16, seed=573, qk_std=0.35, shard="20KB",
        note="BigBirdForSequenceClassification, original_full, gelu, BF16, sharded")
