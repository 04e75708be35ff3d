#!/usr/bin/env python3
"""Fixtures of PLBart (tests/fixtures/s2s-plbart-*): PLBartForConditionalGeneration and
PLBartModel: BART's post-LN layers, learned positions offset by 2, layernorm_embedding,
scale_embedding (its default), tied LM head with a nonzero final_logits_bias, F32/BF16. No
tokenizer: transformers 5.25's PLBartTokenizer is a Python SentencePiece class without a
tokenizer.json, so these run on ids. See s2sgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_plbart.py
"""
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import PLBartConfig, PLBartForConditionalGeneration, PLBartModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s2sgen as sg  # noqa: E402

SMALL = dict(vocab_size=86, d_model=32, encoder_layers=2, decoder_layers=3,
             encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48,
             decoder_ffn_dim=40, max_position_embeddings=24, pad_token_id=1, bos_token_id=0,
             eos_token_id=2, decoder_start_token_id=2)


def logits_bias(path):
    """A nonzero final_logits_bias (a buffer transformers initialises to zeros)."""
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    g = torch.Generator().manual_seed(9)
    b = sd["final_logits_bias"]
    sd["final_logits_bias"] = (torch.randn(b.shape, generator=g) * 0.5).to(b.dtype)
    save_file(sd, f, metadata={"format": "pt"})


sg.make("s2s-plbart-f32", PLBartForConditionalGeneration, PLBartConfig(**SMALL), seed=81,
        qk_std=0.35, post=logits_bias, avoid_ids=(1,),
        note="PLBartForConditionalGeneration: post-LN, positions offset 2, scale_embedding, "
             "tied LM head, final_logits_bias")
sg.make("s2s-plbart-model-bf16", PLBartModel,
        PLBartConfig(**dict(SMALL), scale_embedding=False, activation_function="relu"),
        seed=82, qk_std=0.35, dtype=torch.bfloat16, avoid_ids=(1,),
        note="PLBartModel (no LM head), no embedding scale, ReLU, BF16")
