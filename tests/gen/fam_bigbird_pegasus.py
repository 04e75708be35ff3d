#!/usr/bin/env python3
"""Fixtures of BigBird-Pegasus (tests/fixtures/s2s-bigbird-pegasus-*): Pegasus's pre-LN layers
with learned positions (row 0 on), the final norms named layernorm_embedding, scale_embedding,
and BigBird's block-sparse attention in the encoder (attention_type block_sparse), which
transformers runs as original_full on sources of at most (5 + 2 num_random_blocks) block_size
tokens and block-sparse above, padding the source to whole blocks (the encoder maps' padded
rows and columns left out: the real rows give the padding exactly 0). See s2sgen.py.

  s2s-bigbird-pegasus-f32      BigBirdPegasusForConditionalGeneration, block_size 2,
                               1 random block (full up to 14 source tokens): sources of 6
                               (full), 15 (padded to 16) and 22 tokens; use_bias false (the
                               default: no biases in any attention); tied LM head, a nonzero
                               final_logits_bias; greedy generation from sources of 9, 17, 20
  s2s-bigbird-pegasus-bias-bf16 BigBirdPegasusForConditionalGeneration, block_size 3,
                               2 random blocks (full up to 27), use_bias true, ReLU, 3 decoder
                               layers, untied LM head, BF16: sources of 28, 31 and 36
  s2s-bigbird-pegasus-model-f16 BigBirdPegasusModel (no LM head), block_size 1, 2 random
                               blocks (full up to 9), no scale_embedding, F16: sources of 9, 10
                               and 17

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_bigbird_pegasus.py
"""
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import (BigBirdPegasusConfig, BigBirdPegasusForConditionalGeneration,
                          BigBirdPegasusModel)
from transformers.utils import logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s2sgen as sg  # noqa: E402

logging.set_verbosity_error()  # the switch to original_full and the padding are expected


def fresh_encoder(model):
    """The encoder as a fresh model on every source: transformers' switch to original_full
    on a short source stays for the sources after it, so the type its forward would pick
    for the source's length is set before it (the recorders are on the attention modules
    around the swapped ones: they keep recording, once per layer)."""
    enc = model.get_encoder()
    c = model.config
    forward = enc.forward

    def fresh(*a, input_ids=None, **kw):
        full = input_ids.shape[1] <= (5 + 2 * c.num_random_blocks) * c.block_size
        want = "original_full" if full else c.attention_type
        enc.set_attention_type(want)
        return forward(*a, input_ids=input_ids, **kw)

    enc.forward = fresh


def logits_bias(path):
    """A nonzero final_logits_bias (a buffer transformers initialises to zeros)."""
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    g = torch.Generator().manual_seed(8)
    b = sd["final_logits_bias"]
    sd["final_logits_bias"] = (torch.randn(b.shape, generator=g) * 0.5).to(b.dtype)
    save_file(sd, f, metadata={"format": "pt"})


SMALL = dict(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
             decoder_attention_heads=4, encoder_ffn_dim=48, decoder_ffn_dim=48,
             max_position_embeddings=48, vocab_size=90, pad_token_id=0, eos_token_id=1,
             decoder_start_token_id=0, attention_type="block_sparse")

sg.make("s2s-bigbird-pegasus-f32", BigBirdPegasusForConditionalGeneration,
        BigBirdPegasusConfig(**SMALL, block_size=2, num_random_blocks=1),
        seed=131, qk_std=0.35, post=logits_bias, prepare=fresh_encoder, padded=True,
        shapes=[(6, 4), (15, 5), (22, 9)], gen_lengths=[9, 17, 20],
        note="BigBirdPegasusForConditionalGeneration, block_sparse encoder (block_size 2, 1 "
             "random block: full up to 14), use_bias false, tied LM head, final_logits_bias")
sg.make("s2s-bigbird-pegasus-bias-bf16", BigBirdPegasusForConditionalGeneration,
        BigBirdPegasusConfig(**dict(SMALL, decoder_layers=3), block_size=3, num_random_blocks=2,
                             use_bias=True, activation_function="relu",
                             tie_word_embeddings=False),
        seed=132, qk_std=0.35, dtype=torch.bfloat16, prepare=fresh_encoder, padded=True,
        shapes=[(28, 3), (31, 6), (36, 4)], gen_lengths=[29, 33],
        note="BigBirdPegasusForConditionalGeneration, block_sparse encoder (block_size 3, 2 "
             "random blocks: full up to 27), use_bias true, ReLU, 3 decoder layers, untied, "
             "BF16")
sg.make("s2s-bigbird-pegasus-model-f16", BigBirdPegasusModel,
        BigBirdPegasusConfig(**SMALL, block_size=1, num_random_blocks=2, scale_embedding=False),
        seed=133, qk_std=0.35, dtype=torch.float16, prepare=fresh_encoder, padded=True,
        shapes=[(9, 2), (10, 5), (17, 7)],
        note="BigBirdPegasusModel, block_sparse encoder (block_size 1, 2 random blocks: full "
             "up to 9), no scale_embedding, F16")
