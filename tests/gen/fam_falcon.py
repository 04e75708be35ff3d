#!/usr/bin/env python3
"""Fixtures of the Falcon family in tests/fixtures/fam-falcon-*: the three layouts of the fused
query_key_value (new_decoder_architecture's groups per key/value head, multi_query's [Q; K; V]
rows, [q, k, v] per head), parallel attention with ln_attn/ln_mlp or one input_layernorm,
sequential layers, biases on and off, rope_theta, ALiBi (Falcon-RW; 20 heads, so slopes
that bfloat16 rounds, and the extra slopes), FalconForCausalLM (transformer. prefix,
tied and untied lm_head) and FalconModel, F32/F16/BF16. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_falcon.py
"""
import os
import sys

import torch
from transformers import FalconConfig, FalconForCausalLM, FalconModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             max_position_embeddings=48, ffn_hidden_size=48, bos_token_id=11, eos_token_id=11)

fg.make("fam-falcon-newarch-f32", FalconForCausalLM,
        FalconConfig(**SMALL, new_decoder_architecture=True, num_kv_heads=2,
                     tie_word_embeddings=False),
        seed=61, qk_std=0.3,
        note="FalconForCausalLM, new_decoder_architecture (4 query heads over 2 key/value "
             "heads, grouped fused QKV), ln_attn/ln_mlp, untied lm_head")
fg.make("fam-falcon-mq-bf16", FalconModel,
        FalconConfig(**SMALL, multi_query=True, parallel_attn=True), dtype=torch.bfloat16,
        seed=62, qk_std=0.3,
        note="FalconModel, multi_query ([Q; K; V] rows, one key/value head), parallel "
             "attention on one input_layernorm, BF16")
fg.make("fam-falcon-seq-f16", FalconForCausalLM,
        FalconConfig(**dict(SMALL, num_hidden_layers=3), multi_query=False, parallel_attn=False,
                     bias=True, rope_parameters={"rope_type": "default", "rope_theta": 500.0}),
        dtype=torch.float16, seed=63, qk_std=0.3,
        note="FalconForCausalLM, [q, k, v] per head, sequential layers, biases, rope_theta "
             "500, tied lm_head, F16")
fg.make("fam-falcon-ln1-f32", FalconModel,
        FalconConfig(**SMALL, new_decoder_architecture=True, num_kv_heads=1,
                     num_ln_in_parallel_attn=1, bias=True, activation="relu"),
        seed=64, qk_std=0.3,
        note="FalconModel, new_decoder_architecture with one key/value head and one "
             "input_layernorm (num_ln_in_parallel_attn 1), biases, relu")
fg.make("fam-falcon-rw-bf16", FalconForCausalLM,
        FalconConfig(**dict(SMALL, hidden_size=80, num_attention_heads=20, ffn_hidden_size=32),
                     alibi=True,
                     multi_query=False, parallel_attn=False, bias=True),
        dtype=torch.bfloat16, seed=65, qk_std=0.3,
        note="FalconForCausalLM as Falcon-RW: ALiBi (20 heads of 4), [q, k, v] per head, sequential "
             "layers, biases, tied lm_head, BF16")
