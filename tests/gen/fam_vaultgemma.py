#!/usr/bin/env python3
"""Fixtures of VaultGemma (tests/fixtures/fam-vaultgemma-*): Gemma 2's layer without the norms
of the sublayer outputs: (1 + w) RMSNorms before attention and the MLP, embeddings times
sqrt(hidden), GeGLU, query_pre_attn_scalar, attention and final soft-capping, sliding layers
(by default every other one, or as layer_types says); VaultGemmaModel and
VaultGemmaForCausalLM (model. prefix, tied as by default and untied), F32/F16/BF16. See
famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_vaultgemma.py
"""
import os
import sys

import torch
from transformers import VaultGemmaConfig, VaultGemmaForCausalLM, VaultGemmaModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
             intermediate_size=40, max_position_embeddings=64, head_dim=8,
             pad_token_id=0, eos_token_id=1, bos_token_id=2)

fg.make("fam-vaultgemma-lm-f32", VaultGemmaForCausalLM,
        VaultGemmaConfig(**SMALL, num_key_value_heads=2, sliding_window=3,
                         query_pre_attn_scalar=16, attn_logit_softcapping=5.0,
                         final_logit_softcapping=3.0),
        seed=671, qk_std=0.35,
        note="VaultGemmaForCausalLM F32, tied, GQA 2, window 3 on layers 0 and 2 (default "
             "layer_types), query_pre_attn_scalar 16, soft-capping 5 (scores) and 3 (logits)")
fg.make("fam-vaultgemma-lm-bf16-untied", VaultGemmaForCausalLM,
        VaultGemmaConfig(**SMALL, num_key_value_heads=1, sliding_window=4,
                         tie_word_embeddings=False, attention_bias=True,
                         layer_types=["full_attention", "sliding_attention", "full_attention"],
                         attn_logit_softcapping=None, final_logit_softcapping=None,
                         rope_parameters={"rope_type": "linear", "factor": 2.0,
                                          "rope_theta": 1000.0}),
        dtype=torch.bfloat16, seed=672, qk_std=0.35,
        note="VaultGemmaForCausalLM BF16, untied, MQA, attention_bias, layer_types full / "
             "sliding / full with window 4, no soft-capping, linear rope scaling 2")
fg.make("fam-vaultgemma-model-f16", VaultGemmaModel,
        VaultGemmaConfig(**dict(SMALL, num_hidden_layers=2), num_key_value_heads=4,
                         sliding_window=2),
        dtype=torch.float16, seed=673, qk_std=0.35,
        note="VaultGemmaModel F16, 4 key/value heads, window 2 on layer 0")
