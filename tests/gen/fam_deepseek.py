#!/usr/bin/env python3
"""Fixtures of DeepSeek-V2 and DeepSeek-V3 (tests/fixtures/fam-deepseek-v2-*,
fam-deepseek-v3-*): multi-head latent attention (queries through q_a_proj, its RMSNorm and
q_b_proj, or q_proj alone; keys and values from kv_a_proj_with_mqa's latent through its
RMSNorm and kv_b_proj, the rotated part of the keys shared by the heads; V2's complex
rotation, V3's interleaved or rotate-half rotation; YaRN with mscale and mscale_all_dim, its
score scale), v_head_dim apart from the heads' width; V2's softmax routing (greedy and
group_limited_greedy, routed_scaling_factor, mlp_bias), V3's sigmoid routing with
e_score_correction_bias; dense layers first, shared experts; *Model and *ForCausalLM
(model. prefix, untied as by default and tied), F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_deepseek.py
"""
import os
import sys

import torch
from transformers import (DeepseekV2Config, DeepseekV2ForCausalLM, DeepseekV2Model,
                          DeepseekV3Config, DeepseekV3ForCausalLM, DeepseekV3Model)

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


MLA = dict(kv_lora_rank=12, q_lora_rank=10, qk_nope_head_dim=6, qk_rope_head_dim=4,
           v_head_dim=5)
SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
             intermediate_size=40, moe_intermediate_size=12, max_position_embeddings=64,
             pad_token_id=0, bos_token_id=1, eos_token_id=2, **MLA)
YARN = {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
        "original_max_position_embeddings": 16, "beta_fast": 32.0, "beta_slow": 1.0,
        "mscale": 0.8, "mscale_all_dim": 0.7}

fg.make("fam-deepseek-v3-lm-f32", DeepseekV3ForCausalLM,
        DeepseekV3Config(**SMALL, num_key_value_heads=4, n_routed_experts=8,
                         num_experts_per_tok=3, n_shared_experts=1, n_group=4, topk_group=2,
                         routed_scaling_factor=2.5, first_k_dense_replace=1,
                         rope_parameters=YARN),
        seed=781, qk_std=0.35, gain=1.0, load_kw=EAGER, post=choice_bias(7811),
        note="DeepseekV3ForCausalLM F32, untied, q/kv LoRA, interleaved rotation, YaRN 4 with "
             "mscale 0.8 / mscale_all_dim 0.7, layer 0 dense, 8 experts in 4 groups top 3")
fg.make("fam-deepseek-v3-lm-bf16-tied", DeepseekV3ForCausalLM,
        DeepseekV3Config(**dict(SMALL, q_lora_rank=None, num_hidden_layers=2),
                         num_key_value_heads=4, n_routed_experts=4, num_experts_per_tok=2,
                         n_group=2, topk_group=1, first_k_dense_replace=0,
                         norm_topk_prob=False, rope_interleave=False, attention_bias=True,
                         tie_word_embeddings=True,
                         rope_parameters={"rope_type": "default", "rope_theta": 500.0}),
        dtype=torch.bfloat16, seed=782, qk_std=0.35, gain=1.0, load_kw=EAGER,
        post=choice_bias(7821),
        note="DeepseekV3ForCausalLM BF16, tied, q_proj (no q LoRA), rotate-half rotation, "
             "attention_bias, every layer a mixture, not renormalised")
fg.make("fam-deepseek-v3-model-f16", DeepseekV3Model,
        DeepseekV3Config(**dict(SMALL, v_head_dim=10), num_key_value_heads=4,
                         n_routed_experts=4, num_experts_per_tok=2, n_group=1, topk_group=1,
                         first_k_dense_replace=2),
        dtype=torch.float16, seed=783, qk_std=0.35, gain=1.0, load_kw=EAGER,
        post=choice_bias(7831),
        note="DeepseekV3Model F16, v_head_dim 10 (the heads' width), layers 0-1 dense")

fg.make("fam-deepseek-v2-lm-f32", DeepseekV2ForCausalLM,
        DeepseekV2Config(**SMALL, n_routed_experts=6, num_experts_per_tok=2, n_shared_experts=1,
                         first_k_dense_replace=1, routed_scaling_factor=1.5,
                         rope_parameters=YARN),
        seed=791, qk_std=0.35, gain=1.0, load_kw=EAGER,
        note="DeepseekV2ForCausalLM F32, untied, q/kv LoRA, complex rotation, YaRN 4 (mscale "
             "0.8 / 0.7), layer 0 dense, 6 experts greedy top 2, scaling 1.5")
fg.make("fam-deepseek-v2-lm-bf16-tied", DeepseekV2ForCausalLM,
        DeepseekV2Config(**dict(SMALL, q_lora_rank=None), n_routed_experts=6,
                         num_experts_per_tok=2, n_shared_experts=2,
                         topk_method="group_limited_greedy", n_group=3, topk_group=1, mlp_bias=True, attention_bias=True,
                         tie_word_embeddings=True,
                         rope_parameters={"rope_type": "linear", "factor": 2.0,
                                          "rope_theta": 1000.0}),
        dtype=torch.bfloat16, seed=792, qk_std=0.35, gain=1.0, load_kw=EAGER,
        note="DeepseekV2ForCausalLM BF16, tied, q_proj, group_limited_greedy (3 groups, top "
             "1), 2 shared experts, mlp_bias and attention_bias, linear rope 2")
fg.make("fam-deepseek-v2-model-f16", DeepseekV2Model,
        DeepseekV2Config(**SMALL, n_routed_experts=4, num_experts_per_tok=1),
        dtype=torch.float16, seed=793, qk_std=0.35, gain=1.0, load_kw=EAGER,
        note="DeepseekV2Model F16, 4 experts top 1, 2 shared experts (the default)")
