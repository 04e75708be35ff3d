#!/usr/bin/env python3
"""Fixtures of Granite MoE and Granite MoE shared (tests/fixtures/fam-granitemoe-*,
fam-granitemoeshared-*): Granite's multipliers (embedding, attention, residual, logits) over
a mixture of SwiGLU experts in every layer (the top-k router logits softmaxed among
themselves; the experts fused per layer as input_linear / output_linear), GraniteMoeShared's
ungated shared_mlp beside them; *Model and *ForCausalLM (model. prefix, untied as by default
and tied), F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_granitemoe.py
"""
import os
import sys

import torch
from transformers import (GraniteMoeConfig, GraniteMoeForCausalLM, GraniteMoeModel,
                          GraniteMoeSharedConfig, GraniteMoeSharedForCausalLM,
                          GraniteMoeSharedModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=16, max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
             eos_token_id=2, num_local_experts=4, num_experts_per_tok=2)
EAGER = {"experts_implementation": "eager"}  # the experts in float64 too
MULT = dict(embedding_multiplier=3.0, attention_multiplier=0.2, residual_multiplier=0.5,
            logits_scaling=2.5)

fg.make("fam-granitemoe-lm-f32", GraniteMoeForCausalLM,
        GraniteMoeConfig(**SMALL, **MULT, num_key_value_heads=2),
        seed=741, qk_std=0.35, gain=1.0, load_kw=EAGER,
        note="GraniteMoeForCausalLM F32, untied, GQA 2, 4 experts top 2, multipliers 3 / 0.2 / "
             "0.5 / 2.5")
fg.make("fam-granitemoe-lm-bf16-tied", GraniteMoeForCausalLM,
        GraniteMoeConfig(**dict(SMALL, num_local_experts=3, num_experts_per_tok=1),
                         num_key_value_heads=1, tie_word_embeddings=True, attention_bias=True,
                         rope_parameters={"rope_type": "linear", "factor": 2.0,
                                          "rope_theta": 1000.0}),
        dtype=torch.bfloat16, seed=742, qk_std=0.35, gain=1.0, load_kw=EAGER,
        note="GraniteMoeForCausalLM BF16, tied, MQA, attention_bias, 3 experts top 1, linear "
             "rope 2, multipliers 1")
fg.make("fam-granitemoe-model-f16", GraniteMoeModel,
        GraniteMoeConfig(**SMALL, **MULT, num_key_value_heads=4),
        dtype=torch.float16, seed=743, qk_std=0.35, gain=1.0, load_kw=EAGER, note="GraniteMoeModel F16")
fg.make("fam-granitemoeshared-lm-f32", GraniteMoeSharedForCausalLM,
        GraniteMoeSharedConfig(**SMALL, **MULT, num_key_value_heads=2,
                               shared_intermediate_size=24),
        seed=744, qk_std=0.35, gain=1.0, load_kw=EAGER,
        note="GraniteMoeSharedForCausalLM F32, untied, GQA 2, 4 experts top 2 and a shared "
             "expert of 24")
fg.make("fam-granitemoeshared-lm-bf16-tied", GraniteMoeSharedForCausalLM,
        GraniteMoeSharedConfig(**SMALL, num_key_value_heads=1, tie_word_embeddings=True,
                               shared_intermediate_size=8),
        dtype=torch.bfloat16, seed=747, qk_std=0.35, gain=1.0, load_kw=EAGER,
        note="GraniteMoeSharedForCausalLM BF16, tied, MQA, shared expert of 8")
fg.make("fam-granitemoeshared-model-f16", GraniteMoeSharedModel,
        GraniteMoeSharedConfig(**SMALL, **MULT, num_key_value_heads=4),
        dtype=torch.float16, seed=746, qk_std=0.35, gain=1.0, load_kw=EAGER,
        note="GraniteMoeSharedModel F16, shared_intermediate_size 0 (no shared expert)")
