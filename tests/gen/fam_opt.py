#!/usr/bin/env python3
"""Fixtures of the OPT family in tests/fixtures/fam-opt-*: learned positions offset by 2,
ReLU, pre-LN (do_layer_norm_before true) and post-LN without a final norm (as OPT-350m),
word_embed_proj_dim smaller than hidden_size (project_in / project_out), enable_bias false,
OPTForCausalLM (model.decoder. prefix, tied and untied lm_head), OPTModel (decoder.
prefix) and OPTForSequenceClassification (score head ignored), F32/F16/BF16. transformers scales q before the product; mhaviz scales the scores
(the goldens' tolerance decides). See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_opt.py
"""
import os
import sys

import torch
from transformers import OPTConfig, OPTForCausalLM, OPTForSequenceClassification, OPTModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             ffn_dim=48, max_position_embeddings=40, pad_token_id=1, bos_token_id=2,
             eos_token_id=2, dropout=0.0)

fg.make("fam-opt-f32", OPTForCausalLM, OPTConfig(**SMALL), seed=51, qk_std=0.3,
        note="OPTForCausalLM, pre-LN, tied lm_head", avoid_ids=(1,))
fg.make("fam-opt-350m-bf16", OPTForCausalLM,
        OPTConfig(**dict(SMALL, num_hidden_layers=3), do_layer_norm_before=False,
                  word_embed_proj_dim=24, tie_word_embeddings=False),
        dtype=torch.bfloat16, seed=52, qk_std=0.3, avoid_ids=(1,),
        note="OPTForCausalLM as OPT-350m: post-LN, no final norm, word_embed_proj_dim 24 "
             "(project_in/out), untied lm_head, BF16")
fg.make("fam-opt-model-f16", OPTModel,
        OPTConfig(**SMALL, word_embed_proj_dim=40, enable_bias=False, activation_function="gelu"),
        dtype=torch.float16, seed=53, qk_std=0.3, avoid_ids=(1,),
        note="OPTModel, pre-LN, word_embed_proj_dim 40 > hidden, no biases, gelu, F16")
fg.make("fam-opt-seqcls-f32", OPTForSequenceClassification,
        OPTConfig(**dict(SMALL, num_hidden_layers=1), num_labels=3), seed=54, qk_std=0.3,
        avoid_ids=(1,), note="OPTForSequenceClassification (model.decoder. prefix, score head)")
