#!/usr/bin/env python3
"""Fixtures of GPT-OSS (tests/fixtures/fam-gpt-oss-*): learned attention sinks per head
(drawn large so the kept rows sum well below 1), sliding and full layers (the default
alternation and a given layer_types), YaRN rotary positions (GptOssConfig's default and a
given set), the mixture of experts (biased router, top-k softmax, interleaved gate_up,
clamped SwiGLU: swiglu_limit small enough that the clamps bite, another alpha),
attention_bias false, head_dim other than hidden / heads; GptOssModel and
GptOssForCausalLM (tied and untied), F32 and BF16 as save_pretrained writes them from a
from_config model. Goldens from eager attention and the eager experts. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_gpt_oss.py
"""
import os
import sys

import torch
from transformers import GptOssConfig, GptOssForCausalLM, GptOssModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

EAGER = {"experts_implementation": "eager"}
_randomize = fg.randomize


def randomize(model, seed, qk_std, **kw):
    """famgen's draw, then sink logits N(0.5, 1.5): transformers' own init (std 0.02) would
    leave them near 0, where a wrong sink treatment shows little."""
    _randomize(model, seed, qk_std, **kw)
    g = torch.Generator().manual_seed(seed + 7)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("sinks"):
                p.copy_(0.5 + 1.5 * torch.randn(p.shape, generator=g))
    return model


fg.randomize = randomize

SMALL = dict(vocab_size=64, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
             num_key_value_heads=2, head_dim=8, intermediate_size=12, num_local_experts=4,
             num_experts_per_tok=2, max_position_embeddings=64, sliding_window=4,
             pad_token_id=0, bos_token_id=1, eos_token_id=2)

fg.make("fam-gpt-oss-lm-f32", GptOssForCausalLM, GptOssConfig(**SMALL),
        seed=401, qk_std=0.35, load_kw=EAGER,
        note="GptOssForCausalLM F32 untied, sinks, layers sliding (window 4) / full / sliding, "
             "default yarn (factor 32 over 4096, theta 150000), 4 experts top 2")
fg.make("fam-gpt-oss-bf16-clamp", GptOssModel,
        GptOssConfig(**dict(SMALL, num_hidden_layers=2, num_local_experts=3,
                            num_experts_per_tok=3),
                     layer_types=["full_attention", "sliding_attention"], swiglu_limit=0.25,
                     swiglu_alpha=2.5,
                     rope_parameters={"rope_type": "yarn", "rope_theta": 100.0, "factor": 4.0,
                                      "original_max_position_embeddings": 8,
                                      "attention_factor": 0.9}),
        dtype=torch.bfloat16, seed=402, qk_std=0.35, load_kw=EAGER, lengths=[1, 6, 20],
        note="GptOssModel BF16, layer_types full / sliding, swiglu_limit 0.25 and alpha 2.5 "
             "(gate and up clamped), 3 experts all chosen, yarn factor 4 over 8 with "
             "attention_factor 0.9")
fg.make("fam-gpt-oss-lm-bf16-tied", GptOssForCausalLM,
        GptOssConfig(**dict(SMALL, num_hidden_layers=2, head_dim=12, num_attention_heads=2,
                            num_key_value_heads=1, num_experts_per_tok=1),
                     attention_bias=False, tie_word_embeddings=True),
        dtype=torch.bfloat16, seed=403, qk_std=0.35, load_kw=EAGER,
        note="GptOssForCausalLM BF16 tied, attention_bias false, head_dim 12 (hidden 32, 2 "
             "heads, 1 kv head), top 1 of 4 experts")
