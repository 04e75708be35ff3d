#!/usr/bin/env python3
"""Fixtures of the BLOOM family in tests/fixtures/fam-bloom-*: ALiBi slopes for 4 heads (a
power of two) and for 6 and 3 (the extra slopes), the LayerNorm after the embeddings, the
fused query_key_value per head, apply_residual_connection_post_layernorm, BloomForCausalLM
(transformer. prefix, tied lm_head) and BloomModel, F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_bloom.py
"""
import os
import sys

import torch
from transformers import BloomConfig, BloomForCausalLM, BloomModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, n_layer=2, n_head=4)

fg.make("fam-bloom-f32", BloomForCausalLM, BloomConfig(**SMALL), seed=91, qk_std=0.3,
        note="BloomForCausalLM, 4 heads, tied lm_head")
fg.make("fam-bloom-6h-bf16", BloomModel, BloomConfig(**dict(SMALL, hidden_size=48, n_head=6)),
        dtype=torch.bfloat16, seed=92, qk_std=0.3,
        note="BloomModel, 6 heads (slopes of 4 and 2 extra), BF16")
fg.make("fam-bloom-postln-f16", BloomForCausalLM,
        BloomConfig(**dict(SMALL, hidden_size=24, n_head=3, n_layer=3),
                    apply_residual_connection_post_layernorm=True),
        dtype=torch.float16, seed=93, qk_std=0.3,
        note="BloomForCausalLM, 3 heads, apply_residual_connection_post_layernorm, F16")
