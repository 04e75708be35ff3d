#!/usr/bin/env python3
"""Fixtures of BART and mBART (tests/fixtures/s2s-bart-*, s2s-mbart-*): learned positions
offset by 2, layernorm_embedding, post-LN (BART) and pre-LN with final layer norms (mBART),
scale_embedding, encoder and decoder sizes that differ, *ForConditionalGeneration (tied LM
head, final_logits_bias) and *Model, F32/F16/BF16. See s2sgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_bart.py
"""
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import (BartConfig, BartForConditionalGeneration, BartModel, MBartConfig,
                          MBartForConditionalGeneration)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s2sgen as sg  # noqa: E402

SMALL = dict(vocab_size=90, d_model=32, encoder_layers=2, decoder_layers=3,
             encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48,
             decoder_ffn_dim=40, max_position_embeddings=24, pad_token_id=1, bos_token_id=0,
             eos_token_id=2, decoder_start_token_id=2)


def logits_bias(path):
    """A nonzero final_logits_bias (a buffer transformers initialises to zeros)."""
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    g = torch.Generator().manual_seed(7)
    b = sd["final_logits_bias"]
    sd["final_logits_bias"] = (torch.randn(b.shape, generator=g) * 0.5).to(b.dtype)
    save_file(sd, f, metadata={"format": "pt"})


sg.make("s2s-bart-f32", BartForConditionalGeneration, BartConfig(**SMALL), seed=41,
        qk_std=0.35, post=logits_bias, avoid_ids=(1,),
        note="BartForConditionalGeneration: post-LN, positions offset 2, tied LM head, "
             "final_logits_bias, decoder ffn 40 != encoder 48")
sg.make("s2s-bart-model-f16", BartModel, BartConfig(**SMALL, scale_embedding=True), seed=42,
        qk_std=0.35, dtype=torch.float16, avoid_ids=(1,),
        note="BartModel (no LM head), scale_embedding, F16")
sg.make("s2s-mbart-bf16", MBartForConditionalGeneration,
        MBartConfig(**dict(SMALL, decoder_layers=2), scale_embedding=True,
                    activation_function="relu"),
        seed=43, qk_std=0.35, dtype=torch.bfloat16, post=logits_bias, avoid_ids=(1,),
        note="MBartForConditionalGeneration: pre-LN, final encoder/decoder layer_norm, "
             "scale_embedding, ReLU, BF16")
