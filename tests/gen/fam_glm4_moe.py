#!/usr/bin/env python3
"""Fixtures of GLM-4-MoE and dots.llm1 (tests/fixtures/fam-glm4-moe-*, fam-dots1-*):
DeepSeek-V3's mixture (sigmoid scores, experts chosen by score + e_score_correction_bias
within the best topk_group of n_group groups, weights renormalised or not, times
routed_scaling_factor, ungated shared experts) after first_k_dense_replace dense layers;
GLM-4-MoE's partial rotary (0.5 by default), use_qk_norm and q/k/v biases; dots1's Qwen3
attention (q/k head norms, o_proj bias with attention_bias) and sliding layers from
max_window_layers; *Model and *ForCausalLM (model. prefix, untied as by default and tied),
F32/F16/BF16. The correction biases are drawn so they change the choice. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_glm4_moe.py
"""
import os
import sys

import torch
from transformers import (Dots1Config, Dots1ForCausalLM, Dots1Model, Glm4MoeConfig,
                          Glm4MoeForCausalLM, Glm4MoeModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

EAGER = {"experts_implementation": "eager"}  # the experts in float64 too


def choice_bias(seed):
    """e_score_correction_bias is a buffer famgen leaves at zero: draw it, N(0, 0.3)."""
    def post(path):
        import glob
        from safetensors.torch import load_file, save_file
        g = torch.Generator().manual_seed(seed)
        for f in sorted(glob.glob(os.path.join(path, "*.safetensors"))):
            sd = load_file(f)
            for k in sorted(sd):
                if k.endswith("e_score_correction_bias"):
                    sd[k] = (0.3 * torch.randn(sd[k].shape, generator=g)).to(sd[k].dtype)
            save_file(sd, f, metadata={"format": "pt"})
    return post
SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
             intermediate_size=40, moe_intermediate_size=12, max_position_embeddings=64,
             pad_token_id=0, bos_token_id=1, eos_token_id=2)

fg.make("fam-glm4-moe-lm-f32", Glm4MoeForCausalLM,
        Glm4MoeConfig(**SMALL, num_key_value_heads=2, n_routed_experts=8,
                      num_experts_per_tok=3, n_shared_experts=1, n_group=4, topk_group=2,
                      routed_scaling_factor=2.5, first_k_dense_replace=1, use_qk_norm=True,
                      attention_bias=True),
        seed=751, qk_std=0.35, gain=1.0, load_kw=EAGER,
        post=choice_bias(7511),
        note="Glm4MoeForCausalLM F32, untied, GQA 2, layer 0 dense, 8 experts in 4 groups "
             "(top 2 groups) top 3 renormalised, scaling 2.5, a shared expert, q/k head norms, "
             "q/k/v biases, half of each head rotated")
fg.make("fam-glm4-moe-lm-bf16-tied", Glm4MoeForCausalLM,
        Glm4MoeConfig(**SMALL, num_key_value_heads=1, n_routed_experts=4,
                      num_experts_per_tok=2, n_shared_experts=2, norm_topk_prob=False,
                      first_k_dense_replace=0, tie_word_embeddings=True,
                      rope_parameters={"rope_type": "default", "rope_theta": 1000.0,
                                       "partial_rotary_factor": 1.0}),
        dtype=torch.bfloat16, seed=752, qk_std=0.35, gain=1.0, load_kw=EAGER,
        post=choice_bias(7521),
        note="Glm4MoeForCausalLM BF16, tied, MQA, every layer a mixture of 4 top 2 not "
             "renormalised, 2 shared experts, whole heads rotated (theta 1000)")
fg.make("fam-glm4-moe-model-f16", Glm4MoeModel,
        Glm4MoeConfig(**SMALL, num_key_value_heads=4, head_dim=12, n_routed_experts=4,
                      num_experts_per_tok=2, first_k_dense_replace=2),
        dtype=torch.float16, seed=753, qk_std=0.35, gain=1.0, load_kw=EAGER,
        post=choice_bias(7531),
        note="Glm4MoeModel F16, head_dim 12 (6 rotated), layers 0-1 dense")

D1 = dict(n_routed_experts=6, num_experts_per_tok=2, n_shared_experts=1)
fg.make("fam-dots1-lm-f32", Dots1ForCausalLM,
        Dots1Config(**SMALL, **D1, num_key_value_heads=2, first_k_dense_replace=1,
                    n_group=3, topk_group=2, routed_scaling_factor=1.5, norm_topk_prob=True,
                    sliding_window=3, max_window_layers=1),
        seed=761, qk_std=0.35, gain=1.0, load_kw=EAGER,
        post=choice_bias(7611),
        note="Dots1ForCausalLM F32, untied, GQA 2, layer 0 dense, 6 experts in 3 groups (top "
             "2) top 2 renormalised, scaling 1.5, window 3 from layer 1")
fg.make("fam-dots1-lm-bf16-tied", Dots1ForCausalLM,
        Dots1Config(**SMALL, **D1, num_key_value_heads=1, tie_word_embeddings=True,
                    attention_bias=True, sliding_window=None),
        dtype=torch.bfloat16, seed=762, qk_std=0.35, gain=1.0, load_kw=EAGER,
        post=choice_bias(7621),
        note="Dots1ForCausalLM BF16, tied, MQA, attention_bias (o_proj too), every layer a "
             "mixture, no window")
fg.make("fam-dots1-model-f16", Dots1Model,
        Dots1Config(**SMALL, **D1, num_key_value_heads=4, head_dim=12, sliding_window=4,
                    layer_types=["sliding_attention", "full_attention", "sliding_attention"]),
        dtype=torch.float16, seed=763, qk_std=0.35, gain=1.0, load_kw=EAGER,
        post=choice_bias(7631),
        note="Dots1Model F16, head_dim 12, layer_types sliding / full / sliding with window 4")
