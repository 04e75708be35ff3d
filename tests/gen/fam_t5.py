#!/usr/bin/env python3
"""Fixtures of the T5 family (tests/fixtures/s2s-t5-*, s2s-mt5-*, s2s-umt5-*): relative
position buckets (few buckets and a short max_distance, so the logarithmic buckets are
reached), ReLU and gated-GELU feed-forward layers, inner dimension (heads x d_kv) unlike
d_model, more decoder than encoder layers, tied and untied LM heads, a T5Model without one,
F32/F16/BF16. See s2sgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_t5.py
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import (MT5Config, MT5ForConditionalGeneration, T5Config,
                          T5ForConditionalGeneration, T5Model, UMT5Config,
                          UMT5ForConditionalGeneration)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s2sgen as sg  # noqa: E402

SMALL = dict(vocab_size=96, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_heads=4,
             relative_attention_num_buckets=8, relative_attention_max_distance=12)

sg.make("s2s-t5-f32", T5ForConditionalGeneration,
        T5Config(**SMALL, num_decoder_layers=3, feed_forward_proj="relu"), seed=31, qk_std=0.35,
        note="T5ForConditionalGeneration, ReLU, tied LM head (d_model**-0.5), 2 encoder and "
             "3 decoder layers")


def untie(path):
    """An untied LM head as T5 v1.1 checkpoints have it: lm_head.weight stored, config
    tie_word_embeddings false."""
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    g = torch.Generator().manual_seed(5)
    sd["lm_head.weight"] = (torch.randn(sd["shared.weight"].shape, generator=g) * 0.2).to(
        sd["shared.weight"].dtype)
    save_file(sd, f, metadata={"format": "pt"})
    c = os.path.join(path, "config.json")
    cj = json.load(open(c))
    cj["tie_word_embeddings"] = False
    json.dump(cj, open(c, "w"), indent=2)


def no_scale(model):
    # transformers 5 reads tie_word_embeddings false back as scale_decoder_outputs True;
    # T5 v1.1 (untied) does not rescale, as transformers 4 and the T5 code had it
    model.config.scale_decoder_outputs = False


sg.make("s2s-t5-gated-untied-bf16", T5ForConditionalGeneration,
        T5Config(**dict(SMALL, d_kv=6), feed_forward_proj="gated-gelu"), seed=32,
        qk_std=0.35, dtype=torch.bfloat16, post=untie, prepare=no_scale,
        note="T5 v1.1 layout: gated-GELU, inner dim 24 != d_model 32, untied lm_head.weight "
             "(no rescale), BF16")
sg.make("s2s-t5model-f16", T5Model, T5Config(**SMALL, feed_forward_proj="relu"), seed=33,
        qk_std=0.35, dtype=torch.float16, note="T5Model (no LM head), F16")
sg.make("s2s-mt5-f32", MT5ForConditionalGeneration,
        MT5Config(**dict(SMALL, num_heads=2, d_kv=12), num_decoder_layers=1), seed=34,
        qk_std=0.35, note="MT5ForConditionalGeneration, gated-GELU, 2 heads of 12, 1 decoder "
                          "layer, LM head tied (mT5 never rescales)")
sg.make("s2s-umt5-bf16", UMT5ForConditionalGeneration, UMT5Config(**SMALL), seed=35,
        qk_std=0.35, dtype=torch.bfloat16,
        note="UMT5ForConditionalGeneration: a relative bias in every layer, BF16")

# with the repository's T5 tokenizer fixture (600 pieces), for the CLI tests (text pairs)
sg.make("s2s-t5-tok-f16", T5ForConditionalGeneration,
        T5Config(**dict(SMALL, vocab_size=600), feed_forward_proj="gated-gelu"), seed=36,
        qk_std=0.35, dtype=torch.float16,
        tokenizer=os.path.join(sg.fg.FIXTURES, "tok-t5", "tokenizer.json"),
        texts=[("The cat sat on the mat.", "Die Katze sass auf der Matte."),
               ("Hello world", "Hallo Welt")],
        note="T5 v1.1 layout with tests/fixtures/tok-t5/tokenizer.json, F16 (CLI tests)")
