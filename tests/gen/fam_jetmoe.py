#!/usr/bin/env python3
"""Fixtures of JetMoE (tests/fixtures/fam-jetmoe-*): the mixture of attention experts (each
token's queries from its routed experts, num_experts_per_tok x num_key_value_heads heads over
the shared keys and values, outputs weighted in expert order plus a bias) and the mixture of
MLP experts (top k logits softmaxed among themselves, input_linear's two halves, a bias), the
layers' RMSNorms at eps 1e-6 and the final one at rms_norm_eps, linear rope scaling;
JetMoeForCausalLM (model. prefix, tied as by default, and untied) and JetMoeModel,
F32/F16/BF16, one sharded. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_jetmoe.py
"""
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import JetMoeConfig, JetMoeForCausalLM, JetMoeModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

def sharpen(path):
    """famgen draws q/k matrices by their usual names; JetMoE's queries come from the
    attention experts' input_linear and its keys from kv_proj's first half: scale those by 4
    (about famgen's qk_std) so that attention is far from uniform."""
    for f in sorted(os.listdir(path)):
        if not f.endswith(".safetensors"):
            continue
        t = load_file(os.path.join(path, f))
        for name, w in t.items():
            if name.endswith("self_attention.experts.input_linear.weight"):
                t[name] = (w.float() * 4).to(w.dtype)
            elif name.endswith("self_attention.kv_proj.weight"):
                k = w.shape[0] // 2
                t[name] = torch.cat([(w[:k].float() * 4).to(w.dtype), w[k:]])
        save_file(t, os.path.join(path, f), metadata={"format": "pt"})


SMALL = dict(vocab_size=96, hidden_size=32, num_hidden_layers=2, intermediate_size=16,
             max_position_embeddings=64, bos_token_id=1, eos_token_id=2)

fg.make("fam-jetmoe-f32", JetMoeForCausalLM,
        JetMoeConfig(**SMALL, num_key_value_heads=2, kv_channels=8, num_local_experts=4,
                     num_experts_per_tok=2, rms_norm_eps=1e-3, tie_word_embeddings=False),
        seed=281, qk_std=0.35, post=sharpen,
        note="JetMoeForCausalLM F32, untied, 2 key/value heads of 8, 4 experts top 2 (4 "
             "attention heads), final norm eps 1e-3 (the layers' 1e-6)")
fg.make("fam-jetmoe-lm-bf16-tied", JetMoeForCausalLM,
        JetMoeConfig(**dict(SMALL, num_hidden_layers=3), num_key_value_heads=1, kv_channels=16,
                     num_local_experts=5, num_experts_per_tok=3,
                     rope_parameters={"rope_type": "linear", "factor": 2.0,
                                      "rope_theta": 10000.0}),
        dtype=torch.bfloat16, seed=282, qk_std=0.35, shard="30KB", post=sharpen,
        note="JetMoeForCausalLM BF16 sharded, tied (the default), one key/value head of 16, 5 "
             "experts top 3, linear rope scaling 2")
fg.make("fam-jetmoe-model-f16", JetMoeModel,
        JetMoeConfig(**SMALL, num_key_value_heads=4, kv_channels=4, num_local_experts=3,
                     num_experts_per_tok=1, activation_function="gelu"),
        dtype=torch.float16, seed=283, qk_std=0.35, post=sharpen,
        note="JetMoeModel F16, 4 key/value heads of 4, 3 experts top 1, exact gelu")
