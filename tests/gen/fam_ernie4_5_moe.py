#!/usr/bin/env python3
"""Fixtures of ERNIE 4.5 MoE (tests/fixtures/fam-ernie4-5-moe-*): ERNIE 4.5's layer
(interleaved rotary pairs, use_bias on every projection but the experts') with a mixture on
the layers moe_layer_interval / start / end say: experts chosen by the router's softmax +
e_score_correction_bias (moe_statics, drawn here so it changes the choice), weighted by the
softmax renormalised, plus the shared experts; Ernie4_5_MoeModel and Ernie4_5_MoeForCausalLM
(model. prefix, tied as by default and untied), F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_ernie4_5_moe.py
"""
import os
import sys

import torch
from transformers import Ernie4_5_MoeConfig, Ernie4_5_MoeForCausalLM, Ernie4_5_MoeModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

EAGER = {"experts_implementation": "eager"}  # the experts in float64 too


def choice_bias(seed):
    """moe_statics.e_score_correction_bias: famgen draws parameters from N(0, 0.1); the
    softmax's values are small, so draw it N(0, 0.1) again per layer, here, for the record."""
    def post(path):
        import glob
        from safetensors.torch import load_file, save_file
        g = torch.Generator().manual_seed(seed)
        for f in sorted(glob.glob(os.path.join(path, "*.safetensors"))):
            sd = load_file(f)
            for k in sorted(sd):
                if k.endswith("e_score_correction_bias"):
                    sd[k] = (0.1 * torch.randn(sd[k].shape, generator=g)).to(sd[k].dtype)
            save_file(sd, f, metadata={"format": "pt"})
    return post


SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
             intermediate_size=40, moe_intermediate_size=12, max_position_embeddings=64,
             pad_token_id=0, bos_token_id=1, eos_token_id=2, moe_num_experts=6, moe_k=2)

fg.make("fam-ernie4-5-moe-lm-f32", Ernie4_5_MoeForCausalLM,
        Ernie4_5_MoeConfig(**SMALL, num_key_value_heads=2, moe_num_shared_experts=1),
        seed=771, qk_std=0.35, gain=1.0, load_kw=EAGER, post=choice_bias(7711),
        note="Ernie4_5_MoeForCausalLM F32, tied, GQA 2, layer 0 dense, 6 experts top 2, a "
             "shared expert, interleaved rotary")
fg.make("fam-ernie4-5-moe-lm-bf16-untied", Ernie4_5_MoeForCausalLM,
        Ernie4_5_MoeConfig(**SMALL, num_key_value_heads=1, moe_num_shared_experts=2,
                           use_bias=True, tie_word_embeddings=False, moe_layer_start_index=0,
                           moe_layer_interval=2,
                           rope_parameters={"rope_type": "linear", "factor": 2.0,
                                            "rope_theta": 1000.0}),
        dtype=torch.bfloat16, seed=772, qk_std=0.35, gain=1.0, load_kw=EAGER,
        post=choice_bias(7721),
        note="Ernie4_5_MoeForCausalLM BF16, untied, MQA, use_bias, mixture on layer 1 only "
             "(interval 2), 2 shared experts, linear rope 2")
fg.make("fam-ernie4-5-moe-model-f16", Ernie4_5_MoeModel,
        Ernie4_5_MoeConfig(**SMALL, num_key_value_heads=4, moe_num_shared_experts=0,
                           moe_layer_end_index=1),
        dtype=torch.float16, seed=773, qk_std=0.35, gain=1.0, load_kw=EAGER,
        post=choice_bias(7731),
        note="Ernie4_5_MoeModel F16, mixture on layer 1 only (end index 1), no shared expert")
