#!/usr/bin/env python3
"""Fixtures of the GPT-J family in tests/fixtures/fam-gptj-*: parallel attention and MLP on
one ln_1, rotary_dim smaller than and equal to the head size (GPT-J's interleaved pairs),
no q/k/v/out biases, an LM head with a bias (untied, and tied to wte with its own bias),
GPTJForCausalLM (transformer. prefix) and GPTJModel, F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_gptj.py
"""
import os
import sys

import torch
from transformers import GPTJConfig, GPTJForCausalLM, GPTJModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, n_embd=32, n_layer=2, n_head=4, n_positions=48)

fg.make("fam-gptj-f32", GPTJForCausalLM, GPTJConfig(**SMALL, rotary_dim=4), seed=41,
        qk_std=0.3, note="GPTJForCausalLM, rotary_dim 4 of head 8, untied lm_head with bias")
fg.make("fam-gptj-tied-bf16", GPTJForCausalLM,
        GPTJConfig(**SMALL, rotary_dim=8, tie_word_embeddings=True, activation_function="gelu"),
        dtype=torch.bfloat16, seed=42, qk_std=0.3,
        note="GPTJForCausalLM, rotary_dim 8 (whole head), lm_head tied to wte with its own "
             "bias, exact gelu, BF16")
fg.make("fam-gptj-model-f16", GPTJModel, GPTJConfig(**dict(SMALL, n_layer=3), rotary_dim=6,
                                                    n_inner=40),
        dtype=torch.float16, seed=43, qk_std=0.3,
        note="GPTJModel, rotary_dim 6 of head 8, n_inner 40, F16")
