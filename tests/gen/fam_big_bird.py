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


class Fresh:
    """A block_sparse BigBird as a fresh model on every sentence: transformers' switch to
    original_full on a short sentence stays for the sentences after it, and the maps of a
    forward that switches are not recorded (see BigBirdForMaskedLMSwitched). So the type the
    forward would pick for the sentence's length is set before it: the same computation,
    with its maps (the recorders, installed once on the attention modules of the time, are
    installed again on the new ones)."""

    def forward(self, *a, input_ids=None, **kw):
        c = self.config
        base = self.bert if hasattr(self, "bert") else self
        full = input_ids.shape[1] <= (5 + 2 * c.num_random_blocks) * c.block_size
        want = "original_full" if full else c.attention_type
        if base.attention_type != want:
            base.set_attention_type(want)
            for mod in self.modules():
                if getattr(mod, "_output_capturing_hooks_installed", False):
                    mod._output_capturing_hooks_installed = False
        return super().forward(*a, input_ids=input_ids, **kw)


class BigBirdModelFresh(Fresh, BigBirdModel):
    pass


class BigBirdForMaskedLMFresh(Fresh, BigBirdForMaskedLM):
    pass


def architecture(name):
    def post(path):
        f = os.path.join(path, "config.json")
        c = json.load(open(f))
        assert c["attention_type"] == "block_sparse"
        c["architectures"] = [name]
        json.dump(c, open(f, "w"), indent=2, sort_keys=True)
    return post


# Block-sparse attention: sentences longer than (5 + 2 num_random_blocks) block_size tokens,
# padded by transformers to whole blocks where the length is not a multiple of block_size
# (the maps' padded rows and columns left out: the real rows give the padding exactly 0).
# The short sentence first: still block-sparse on the next ones (Fresh).
SPARSE = dict(SMALL, max_position_embeddings=56, attention_type="block_sparse")
fg.make("fam-big-bird-sparse-f32", BigBirdModelFresh,
        BigBirdConfig(**SPARSE, block_size=2, num_random_blocks=1),
        seed=574, qk_std=0.35, lengths=[6, 15, 22], post=architecture("BigBirdModel"),
        padded=True,
        note="BigBirdModel, block_sparse, block_size 2, 1 random block (full up to 14 "
             "tokens): 6 full, 15 padded to 16, 22 sparse")
fg.make("fam-big-bird-sparse-mlm-bf16", BigBirdForMaskedLMFresh,
        BigBirdConfig(**SPARSE, block_size=3, num_random_blocks=2, use_bias=False),
        dtype=torch.bfloat16, seed=575, qk_std=0.35, lengths=[28, 31, 36], logits=True,
        post=architecture("BigBirdForMaskedLM"), padded=True,
        note="BigBirdForMaskedLM, block_sparse, block_size 3, 2 random blocks (full up to "
             "27), use_bias false, BF16, logits: 28 padded to 30, 31 to 33, 36")
fg.make("fam-big-bird-sparse-f16", BigBirdModelFresh,
        BigBirdConfig(**SPARSE, block_size=4, num_random_blocks=3, rescale_embeddings=True),
        dtype=torch.float16, seed=576, qk_std=0.35, lengths=[45, 50, 56], padded=True,
        post=architecture("BigBirdModel"),
        note="BigBirdModel, block_sparse, block_size 4, 3 random blocks (full up to 44), "
             "rescale_embeddings, F16: 45 padded to 48, 50 to 52, 56")
fg.make("fam-big-bird-sparse-b1-f32", BigBirdForMaskedLMFresh,
        BigBirdConfig(**dict(SPARSE, num_hidden_layers=3), block_size=1, num_random_blocks=2,
                      use_bias=False),
        seed=577, qk_std=0.35, lengths=[9, 10, 17], logits=True, padded=True,
        post=architecture("BigBirdForMaskedLM"),
        note="BigBirdForMaskedLM, block_sparse, block_size 1, 2 random blocks (full up to 9), "
             "use_bias false, 3 layers, logits: 9 full, 10 and 17 sparse")
