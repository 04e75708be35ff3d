#!/usr/bin/env python3
"""Fixtures of FSMT (tests/fixtures/s2s-fsmt-*): FSMTForConditionalGeneration and FSMTModel,
fairseq's WMT19 translation models: source and target vocabularies of different sizes, post-LN
layers, fairseq's sinusoidal positions from pad_token_id + 1 (an odd d_model: a zero column),
scale_embedding, the decoder's own output_projection (untied, and tied), F32/F16/BF16. See
s2sgen.py. transformers' FSMT decoder is causal only without a cache: the goldens run with
use_cache=False, as s2sgen does. The float64 reference needs one change to transformers'
causal mask (below).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_fsmt.py
"""
import os
import sys

import torch
from transformers import FSMTConfig, FSMTForConditionalGeneration, FSMTModel
from transformers.models.fsmt import modeling_fsmt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s2sgen as sg  # noqa: E402

# transformers fills the causal mask through fp32 whatever the dtype, which overflows for
# the float64 reference run: the mask's own dtype's lowest value instead (the masked weights
# are 0 either way; the fp32 run is unchanged)
modeling_fsmt.fill_with_neg_inf = lambda t: t.fill_(torch.finfo(t.dtype).min)

SMALL = dict(langs=["en", "de"], src_vocab_size=84, tgt_vocab_size=70, d_model=32,
             encoder_layers=2, decoder_layers=3, encoder_attention_heads=4,
             decoder_attention_heads=4, encoder_ffn_dim=48, decoder_ffn_dim=40,
             max_position_embeddings=24, pad_token_id=1, bos_token_id=0, eos_token_id=2,
             decoder_start_token_id=2)

sg.make("s2s-fsmt-f32", FSMTForConditionalGeneration, FSMTConfig(**SMALL), seed=74,
        qk_std=0.3, avoid_ids=(1,), dec_vocab=70,
        note="FSMTForConditionalGeneration: src vocab 84, tgt vocab 70, post-LN, sinusoidal "
             "positions from pad + 1, scale_embedding, ReLU, untied output_projection")
sg.make("s2s-fsmt-tied-bf16", FSMTForConditionalGeneration,
        FSMTConfig(**dict(SMALL, tgt_vocab_size=84), tie_word_embeddings=True,
                   activation_function="gelu", scale_embedding=False),
        seed=72, qk_std=0.35, dtype=torch.bfloat16, avoid_ids=(1,),
        note="FSMTForConditionalGeneration: output_projection tied to the decoder's embedding, "
             "GELU, no embedding scale, BF16")
sg.make("s2s-fsmt-model-f16", FSMTModel, FSMTConfig(**dict(SMALL, d_model=36, encoder_attention_heads=4,
                                                           decoder_attention_heads=4)),
        seed=73, qk_std=0.35, dtype=torch.float16, avoid_ids=(1,), dec_vocab=70,
        note="FSMTModel, F16, d_model 36")
