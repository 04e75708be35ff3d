#!/usr/bin/env python3
"""Fixtures of MVP (tests/fixtures/s2s-mvp-*): MvpForConditionalGeneration and MvpModel
without prompts (use_prompt false: BART's post-LN layers, learned positions offset by 2,
layernorm_embedding, query scaled before its product with the keys), tied LM head with a
nonzero final_logits_bias, scale_embedding, F32/F16. See s2sgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_mvp.py
"""
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import MvpConfig, MvpForConditionalGeneration, MvpModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s2sgen as sg  # noqa: E402

SMALL = dict(vocab_size=88, d_model=32, encoder_layers=2, decoder_layers=3,
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


sg.make("s2s-mvp-f32", MvpForConditionalGeneration, MvpConfig(**SMALL), seed=61, qk_std=0.35,
        post=logits_bias, avoid_ids=(1,),
        note="MvpForConditionalGeneration without prompts: post-LN, positions offset 2, tied "
             "LM head, final_logits_bias, decoder ffn 40 != encoder 48")
sg.make("s2s-mvp-model-f16", MvpModel, MvpConfig(**SMALL, scale_embedding=True), seed=62,
        qk_std=0.35, dtype=torch.float16, avoid_ids=(1,),
        note="MvpModel (no LM head), scale_embedding, F16")
