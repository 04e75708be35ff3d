#!/usr/bin/env python3
"""Fixtures of Marian (tests/fixtures/s2s-marian-*): sinusoidal positions, scale_embedding,
shared or separate source and target vocabularies (share_encoder_decoder_embeddings,
decoder_vocab_size), swish, MarianMTModel and MarianModel. See s2sgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_marian.py
"""
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import MarianConfig, MarianModel, MarianMTModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s2sgen as sg  # noqa: E402

SMALL = dict(vocab_size=80, d_model=32, encoder_layers=2, decoder_layers=2,
             encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48,
             decoder_ffn_dim=48, max_position_embeddings=32, pad_token_id=79,
             decoder_start_token_id=79, eos_token_id=0, scale_embedding=True,
             activation_function="swish")


def logits_bias(path):
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    g = torch.Generator().manual_seed(9)
    b = sd["final_logits_bias"]
    sd["final_logits_bias"] = (torch.randn(b.shape, generator=g) * 0.5).to(b.dtype)
    save_file(sd, f, metadata={"format": "pt"})


sg.make("s2s-marian-f32", MarianMTModel, MarianConfig(**SMALL), seed=51, qk_std=0.35,
        post=logits_bias, avoid_ids=(79,),
        note="MarianMTModel: sinusoidal positions, scale_embedding, swish, shared vocabulary, "
             "final_logits_bias")
sg.make("s2s-marian-separate-f32", MarianMTModel,
        MarianConfig(**dict(SMALL, pad_token_id=69, decoder_start_token_id=69),
                     share_encoder_decoder_embeddings=False, decoder_vocab_size=70),
        seed=52, qk_std=0.35, post=logits_bias, avoid_ids=(69,), dec_vocab=70,
        note="MarianMTModel with separate vocabularies: 80 source, 70 target tokens")
sg.make("s2s-marian-model-bf16", MarianModel, MarianConfig(**SMALL), seed=53, qk_std=0.35,
        dtype=torch.bfloat16, avoid_ids=(79,), note="MarianModel (no LM head), BF16")
