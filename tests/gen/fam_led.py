#!/usr/bin/env python3
"""Fixtures of LED (tests/fixtures/s2s-led-*): LEDForConditionalGeneration and LEDModel:
BART's post-LN layers and layernorm_embedding, learned positions from row 0 with the
encoder's and the decoder's own table sizes (max_encoder_position_embeddings,
max_decoder_position_embeddings), the encoder's self-attention Longformer's sliding window
(attention_window per layer, 4 and 8 here, or one for all; the sources of 13 tokens are
padded by transformers to a multiple of the largest window, their pads masked), no global
attention (transformers' default: no global_attention_mask), tied LM head with a nonzero
final_logits_bias, F32/F16. See s2sgen.py.

transformers returns the encoder's attentions banded, (heads, seq, attention_window + 1), the
weight of query i to key i + c - attention_window / 2 in column c: the goldens hold them as
mhaviz does, the full (seq, seq) rows with zeros outside the band (a band column past the
sentence's ends must be 0).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_led.py
"""
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import LEDConfig, LEDForConditionalGeneration, LEDModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s2sgen as sg  # noqa: E402

SMALL = dict(vocab_size=92, d_model=32, encoder_layers=2, decoder_layers=3,
             encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48,
             decoder_ffn_dim=40, max_encoder_position_embeddings=40,
             max_decoder_position_embeddings=20, pad_token_id=1, bos_token_id=0,
             eos_token_id=2, decoder_start_token_id=2, attention_window=[4, 8])


def full_rows(band, n):
    """(heads, n, 2w+1) banded probabilities -> (heads, n, n)"""
    heads, rows, width = band.shape
    w = (width - 1) // 2
    out = torch.zeros(heads, n, n, dtype=band.dtype)
    for i in range(n):
        for c in range(width):
            j = i + c - w
            if 0 <= j < n:
                out[:, i, j] = band[:, i, c]
            else:
                assert (band[:, i, c] == 0).all(), "a band column past the ends is not 0"
    return out


def run(model, src, tgt):
    x = torch.tensor([src], dtype=torch.long)
    y = torch.tensor([tgt], dtype=torch.long)
    with torch.no_grad():
        out = model(input_ids=x, attention_mask=torch.ones_like(x), decoder_input_ids=y,
                    use_cache=False, output_attentions=True)
    assert getattr(out, "encoder_global_attentions", None) is None
    enc = torch.stack([full_rows(a[0], len(src)) for a in out.encoder_attentions])
    stacks = [enc] + [torch.stack([a[0] for a in getattr(out, k)])
                      for k in ("decoder_attentions", "cross_attentions")]
    logits = out.logits[0, -1] if getattr(out, "logits", None) is not None else None
    return stacks, logits


def logits_bias(path):
    """A nonzero final_logits_bias (a buffer transformers initialises to zeros)."""
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    g = torch.Generator().manual_seed(11)
    b = sd["final_logits_bias"]
    sd["final_logits_bias"] = (torch.randn(b.shape, generator=g) * 0.5).to(b.dtype)
    save_file(sd, f, metadata={"format": "pt"})


sg._run = run  # the encoder's banded maps as full rows
sg.make("s2s-led-f32", LEDForConditionalGeneration, LEDConfig(**SMALL), seed=91, qk_std=0.35,
        post=logits_bias, avoid_ids=(1,),
        note="LEDForConditionalGeneration: encoder windows 4 and 8 (sources padded to 8), no "
             "global attention, post-LN, positions from row 0 (encoder 40, decoder 20 rows), "
             "tied LM head, final_logits_bias")
sg.make("s2s-led-model-f16", LEDModel, LEDConfig(**dict(SMALL, attention_window=4)), seed=92,
        qk_std=0.35, dtype=torch.float16, avoid_ids=(1,),
        note="LEDModel (no LM head), one window 4 for both encoder layers, F16")
