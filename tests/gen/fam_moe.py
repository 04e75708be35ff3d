#!/usr/bin/env python3
"""Fixtures of the mixture-of-experts decoders (tests/fixtures/fam-{mixtral,qwen2-moe,
qwen3-moe}-*): the router's softmax in fp32, its top k experts (renormalised for Mixtral and
with norm_topk_prob), each expert a SwiGLU, Qwen2-MoE's shared expert gated by a sigmoid,
dense layers by mlp_only_layers and decoder_sparse_step, the attention of the dense models
(Qwen3-MoE's q/k norms, Qwen2-MoE's q/k/v biases and sliding layers); *Model and *ForCausalLM
(model. prefix, tied and untied lm_head), F32/F16/BF16, sharded. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_moe.py
"""
import os
import sys

import torch
from transformers import (MixtralConfig, MixtralForCausalLM, MixtralForSequenceClassification,
                          MixtralModel, Qwen2MoeConfig,
                          Qwen2MoeForCausalLM, Qwen2MoeModel, Qwen3MoeConfig,
                          Qwen3MoeForCausalLM, Qwen3MoeModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

# the reference runs use transformers' loop over experts, not its grouped matmuls
EAGER = {"experts_implementation": "eager"}
SMALL = dict(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=64)

fg.make("fam-mixtral-f32", MixtralModel,
        MixtralConfig(**SMALL, intermediate_size=16, num_local_experts=4, num_experts_per_tok=2),
        load_kw=EAGER, seed=81, qk_std=0.35, note="MixtralModel F32, 4 experts, top 2 renormalised")
fg.make("fam-mixtral-lm-bf16-sw5", MixtralForCausalLM,
        MixtralConfig(**dict(SMALL, num_hidden_layers=3), intermediate_size=16,
                      num_local_experts=5, num_experts_per_tok=3, sliding_window=5,
                      tie_word_embeddings=False),
        dtype=torch.bfloat16, load_kw=EAGER, seed=82, qk_std=0.35,
        note="MixtralForCausalLM BF16, untied, 5 experts, top 3, sliding window 5")

fg.make("fam-qwen2-moe-f32", Qwen2MoeModel,
        Qwen2MoeConfig(**SMALL, intermediate_size=24, moe_intermediate_size=16,
                       shared_expert_intermediate_size=20, num_experts=4,
                       num_experts_per_tok=2),
        load_kw=EAGER, seed=83, qk_std=0.35,
        note="Qwen2MoeModel F32, 4 experts top 2 (not renormalised), shared expert 20, q/k/v "
             "biases")
fg.make("fam-qwen2-moe-lm-f16-dense", Qwen2MoeForCausalLM,
        Qwen2MoeConfig(**dict(SMALL, num_hidden_layers=3), intermediate_size=24,
                       moe_intermediate_size=16, shared_expert_intermediate_size=12,
                       num_experts=4, num_experts_per_tok=2, norm_topk_prob=True,
                       mlp_only_layers=[0], use_sliding_window=True, sliding_window=4,
                       max_window_layers=3, qkv_bias=False, tie_word_embeddings=True),
        dtype=torch.float16, load_kw=EAGER, seed=84, qk_std=0.35, shard="30KB",
        note="Qwen2MoeForCausalLM F16 sharded, tied, layer 0 dense (mlp_only_layers), top 2 "
             "renormalised, no q/k/v bias, sliding window 4 on layers 0 and 2")

fg.make("fam-qwen3-moe-f32", Qwen3MoeModel,
        Qwen3MoeConfig(**SMALL, head_dim=16, intermediate_size=24, moe_intermediate_size=16,
                       num_experts=4, num_experts_per_tok=2, norm_topk_prob=True),
        load_kw=EAGER, seed=85, qk_std=0.35,
        note="Qwen3MoeModel F32, head_dim 16, 4 experts top 2 renormalised")
fg.make("fam-qwen3-moe-lm-bf16-step2", Qwen3MoeForCausalLM,
        Qwen3MoeConfig(**dict(SMALL, num_hidden_layers=3), head_dim=8, intermediate_size=24,
                       moe_intermediate_size=16, num_experts=6, num_experts_per_tok=2,
                       decoder_sparse_step=2, tie_word_embeddings=False),
        dtype=torch.bfloat16, load_kw=EAGER, seed=86, qk_std=0.35,
        note="Qwen3MoeForCausalLM BF16, untied, head_dim 8, decoder_sparse_step 2 (layer 1 "
             "mixture, 0 and 2 dense), top 2 of 6 not renormalised")
# *ForSequenceClassification: the model. prefix beside score.weight
fg.make("fam-mixtral-seqcls-f16", MixtralForSequenceClassification,
        MixtralConfig(**dict(SMALL, vocab_size=64), intermediate_size=8, num_local_experts=3,
                      num_experts_per_tok=2, num_labels=2, pad_token_id=0),
        dtype=torch.float16, load_kw=EAGER, seed=87, qk_std=0.35, avoid_ids=(0,),
        note="MixtralForSequenceClassification F16")
# the remaining dtypes of the Qwen mixtures
fg.make("fam-qwen2-moe-lm-bf16", Qwen2MoeForCausalLM,
        Qwen2MoeConfig(**dict(SMALL, vocab_size=64), intermediate_size=16,
                       moe_intermediate_size=8, shared_expert_intermediate_size=8,
                       num_experts=3, num_experts_per_tok=2, tie_word_embeddings=False),
        dtype=torch.bfloat16, load_kw=EAGER, seed=89, qk_std=0.35,
        note="Qwen2MoeForCausalLM BF16, untied, 3 experts top 2, shared expert 8")
fg.make("fam-qwen3-moe-lm-f16", Qwen3MoeForCausalLM,
        Qwen3MoeConfig(**dict(SMALL, vocab_size=64), head_dim=8, intermediate_size=16,
                       moe_intermediate_size=8, num_experts=3, num_experts_per_tok=2,
                       norm_topk_prob=True, tie_word_embeddings=True),
        dtype=torch.float16, load_kw=EAGER, seed=90, qk_std=0.35,
        note="Qwen3MoeForCausalLM F16, tied, 3 experts top 2 renormalised")
