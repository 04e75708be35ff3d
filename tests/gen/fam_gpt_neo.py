#!/usr/bin/env python3
"""Fixtures of the GPT-Neo family (the TinyStories models) in tests/fixtures/fam-gpt-neo-*:
unscaled scores, global and local layers as attention_types lists them (windows shorter than
the longest sentence), learned positions, GPTNeoForCausalLM (transformer. prefix, tied and
untied lm_head) and GPTNeoModel, F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_gpt_neo.py
"""
import os
import sys

import torch
from transformers import GPTNeoConfig, GPTNeoForCausalLM, GPTNeoModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_heads=4, max_position_embeddings=48)

fg.make("fam-gpt-neo-f32", GPTNeoForCausalLM,
        GPTNeoConfig(**SMALL, num_layers=2, attention_types=[[["global", "local"], 1]],
                     window_size=4),
        seed=101, qk_std=0.15,
        note="GPTNeoForCausalLM, a global then a local layer (window 4), tied lm_head")
fg.make("fam-gpt-neo-bf16", GPTNeoModel,
        GPTNeoConfig(**SMALL, num_layers=3, intermediate_size=40, window_size=5,
                     attention_types=[[["local"], 1], [["global", "local"], 1]]),
        dtype=torch.bfloat16, seed=102, qk_std=0.15,
        note="GPTNeoModel, local, global, local layers (window 5), intermediate_size 40, BF16")
fg.make("fam-gpt-neo-untied-f16", GPTNeoForCausalLM,
        GPTNeoConfig(**SMALL, num_layers=2, attention_types=[[["global"], 2]],
                     tie_word_embeddings=False, activation_function="gelu"),
        dtype=torch.float16, seed=103, qk_std=0.15,
        note="GPTNeoForCausalLM, global layers only, untied lm_head, exact gelu, F16")
