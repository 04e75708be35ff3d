#!/usr/bin/env python3
"""Fixtures of XGLM (tests/fixtures/fam-xglm-*): token embeddings times sqrt(d_model)
(scale_embedding on and off), tensor2tensor's sinusoidal positions from row 2 with the row of
pad_token_id zero (pad_token_id 5 zeroes position 3; null zeroes none), an odd d_model (the
zero column), sentences longer than max_position_embeddings (transformers extends the table), pre-LayerNorm layers with biases, gelu and relu, the final LayerNorm;
XGLMModel and XGLMForCausalLM (model. prefix, tied by default and untied), F32/F16/BF16.
See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_xglm.py
"""
import os
import sys

import torch
from transformers import XGLMConfig, XGLMForCausalLM, XGLMModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

_run = fg.run


def run_f64_default(model, ids, extra=None):
    """XGLMAttention clamps the scores with torch.full((), finfo(dtype).min), a tensor of
    the default dtype: the float64 reference runs with float64 as the default."""
    saved = torch.get_default_dtype()
    if model.dtype == torch.float64:
        torch.set_default_dtype(torch.float64)
    try:
        return _run(model, ids, extra)
    finally:
        torch.set_default_dtype(saved)


fg.run = run_f64_default

SMALL = dict(vocab_size=128, d_model=32, num_layers=2, attention_heads=4, ffn_dim=48,
             max_position_embeddings=64)

fg.make("fam-xglm-f32", XGLMModel, XGLMConfig(**SMALL), seed=151, qk_std=0.35,
        note="XGLMModel F32, scale_embedding, pad_token_id 1 (no position row zeroed)")
fg.make("fam-xglm-lm-bf16-untied", XGLMForCausalLM,
        XGLMConfig(**dict(SMALL, num_layers=3), scale_embedding=False,
                   activation_function="relu", pad_token_id=5, tie_word_embeddings=False),
        dtype=torch.bfloat16, seed=152, qk_std=0.35,
        note="XGLMForCausalLM BF16, untied, scale_embedding false, relu, pad_token_id 5 "
             "(position 3's row zero)")
fg.make("fam-xglm-lm-f16-odd", XGLMForCausalLM,
        XGLMConfig(**dict(SMALL, d_model=33, attention_heads=3, max_position_embeddings=8),
                   pad_token_id=None),
        dtype=torch.float16, seed=153, qk_std=0.35, shard="20KB",
        note="XGLMForCausalLM F16 sharded, tied, d_model 33 (3 heads of 11, zero last "
             "position column), pad_token_id null, max_position_embeddings 8 (the table "
             "extended for 13 tokens)")
