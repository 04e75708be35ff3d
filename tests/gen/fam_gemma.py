#!/usr/bin/env python3
"""Fixtures of the Gemma family (tests/fixtures/fam-gemma*-*): Gemma (RMSNorm with 1 + weight,
embeddings scaled by sqrt(hidden), GeGLU with tanh GELU, head_dim apart from hidden / heads,
tied LM head), Gemma 2 (attention and final logit soft capping, alternating sliding window,
pre- and post-norms, query_pre_attn_scalar) and Gemma 3 text (q/k RMSNorm with 1 + weight,
local and global rotary bases, five sliding layers of six, linear rope scaling on the global
layers), the language model of Gemma 3 with vision (Gemma3ForConditionalGeneration,
logits checked too); base models and *ForCausalLM (model. prefix, tied and untied), F32/F16/BF16, sharded.
See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_gemma.py
"""
import os
import sys

import torch
from transformers import (Gemma2Config, Gemma2ForCausalLM, Gemma2ForSequenceClassification,
                          Gemma3Config, Gemma3ForConditionalGeneration, SiglipVisionConfig,
                          Gemma2Model, Gemma3ForCausalLM, Gemma3TextConfig,
                          Gemma3TextForSequenceClassification, Gemma3TextModel, GemmaConfig,
                          GemmaForCausalLM, GemmaModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

# head_dim 16 with 4 heads: the projections are 64 wide over a hidden size of 32
SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, head_dim=16, intermediate_size=40,
             max_position_embeddings=64, pad_token_id=0, eos_token_id=1, bos_token_id=2)

# Gemma: norm weights are offsets from 1 (HF initialises them to 0); famgen draws them in
# [0.6, 1.4], so the scales are 1.6-2.4, which the golden checks as well as any.
fg.make("fam-gemma-f32", GemmaModel, GemmaConfig(**SMALL), seed=71, qk_std=0.3,
        note="GemmaModel F32, GQA 2, head_dim 16")
fg.make("fam-gemma-lm-bf16-untied", GemmaForCausalLM,
        GemmaConfig(**dict(SMALL, num_hidden_layers=3, num_key_value_heads=1),
                    tie_word_embeddings=False, hidden_act="gelu", rope_theta=500.0),
        dtype=torch.bfloat16, seed=72, qk_std=0.3,
        note="GemmaForCausalLM BF16, untied, MQA, hidden_act gelu (the tanh form), theta 500")

fg.make("fam-gemma-lm-f16-sharded", GemmaForCausalLM,
        GemmaConfig(**dict(SMALL, vocab_size=64, intermediate_size=16)), dtype=torch.float16,
        seed=70, qk_std=0.3, shard="20KB", note="GemmaForCausalLM F16 sharded, tied")

G2 = dict(SMALL, num_hidden_layers=3, sliding_window=4, query_pre_attn_scalar=24)
fg.make("fam-gemma2-f32", Gemma2Model, Gemma2Config(**G2), seed=73, qk_std=0.3,
        note="Gemma2Model F32, soft caps 50/30, sliding window 4 on layers 0 and 2, "
             "query_pre_attn_scalar 24")
fg.make("fam-gemma2-lm-f16-cap", Gemma2ForCausalLM,
        Gemma2Config(**G2, attn_logit_softcapping=2.0, final_logit_softcapping=1.5,
                     tie_word_embeddings=True),
        dtype=torch.float16, seed=74, qk_std=0.5, shard="20KB",
        note="Gemma2ForCausalLM F16 sharded, tied, attention soft cap 2 and logit cap 1.5 "
             "(both bite), sliding window 4")
fg.make("fam-gemma2-lm-bf16-nocap", Gemma2ForCausalLM,
        Gemma2Config(**dict(G2, num_hidden_layers=2), attn_logit_softcapping=None,
                     final_logit_softcapping=None, tie_word_embeddings=False,
                     layer_types=["full_attention", "sliding_attention"]),
        dtype=torch.bfloat16, seed=75, qk_std=0.3,
        note="Gemma2ForCausalLM BF16, untied, no soft capping, layer_types full then sliding")

G3 = dict(SMALL, num_hidden_layers=3, sliding_window=5, query_pre_attn_scalar=16)
fg.make("fam-gemma3-f32", Gemma3TextModel,
        Gemma3TextConfig(**G3, sliding_window_pattern=3,
                         rope_parameters={"full_attention": {"rope_type": "default",
                                                             "rope_theta": 1000000.0},
                                          "sliding_attention": {"rope_type": "default",
                                                                "rope_theta": 100.0}}),
        seed=76, qk_std=0.3,
        note="Gemma3TextModel F32, layers sliding, sliding, full (pattern 3), window 5, "
             "local base 100, global 1e6")
fg.make("fam-gemma3-lm-bf16-linear", Gemma3ForCausalLM,
        Gemma3TextConfig(**dict(G3, num_hidden_layers=2, num_key_value_heads=1),
                         layer_types=["sliding_attention", "full_attention"],
                         rope_parameters={"full_attention": {"rope_type": "linear",
                                                             "factor": 8.0,
                                                             "rope_theta": 10000.0},
                                          "sliding_attention": {"rope_type": "default",
                                                                "rope_theta": 50.0}},
                         final_logit_softcapping=2.0,
                         tie_word_embeddings=False),
        dtype=torch.bfloat16, seed=77, qk_std=0.3,
        note="Gemma3ForCausalLM BF16, untied, MQA, linear rope x8 on the global layer, local "
             "base 50, final logit soft cap 2")
fg.make("fam-gemma3-lm-f16-tied", Gemma3ForCausalLM,
        Gemma3TextConfig(**dict(G3, num_hidden_layers=2), tie_word_embeddings=True,
                         attention_bias=True),
        dtype=torch.float16, seed=78, qk_std=0.3, shard="20KB",
        note="Gemma3ForCausalLM F16 sharded, tied, attention_bias, default pattern (both "
             "layers sliding), default bases")
# *ForSequenceClassification: the model. prefix beside score.weight
fg.make("fam-gemma2-seqcls-f32", Gemma2ForSequenceClassification,
        Gemma2Config(**dict(G2, vocab_size=64, intermediate_size=16, num_hidden_layers=2),
                     num_labels=3),
        seed=79, qk_std=0.3, avoid_ids=(0,), note="Gemma2ForSequenceClassification F32")
fg.make("fam-gemma3-seqcls-bf16", Gemma3TextForSequenceClassification,
        Gemma3TextConfig(**dict(G3, vocab_size=64, intermediate_size=16, num_hidden_layers=2),
                         num_labels=2),
        dtype=torch.bfloat16, seed=80, qk_std=0.3, avoid_ids=(0,),
        note="Gemma3TextForSequenceClassification BF16")
# EmbeddingGemma's form: bidirectional attention, sliding layers two-sided with
# sliding_window // 2 + 1 (6 -> 4)
fg.make("fam-gemma3-bidir-f32", Gemma3TextModel,
        Gemma3TextConfig(**dict(G3, vocab_size=64, intermediate_size=16, sliding_window=6),
                         use_bidirectional_attention=True,
                         layer_types=["sliding_attention", "full_attention", "sliding_attention"]),
        seed=89, qk_std=0.3,
        note="Gemma3TextModel F32, use_bidirectional_attention: full layers see every token, "
             "sliding ones 3 each way")
# Gemma 3 with vision (model_type gemma3): the text model of Gemma3ForConditionalGeneration,
# its text_config, weights under language_model.model.; ids 125-127 are the image tokens
G3MM_TEXT = dict(G3, vocab_size=128, num_hidden_layers=2)
G3MM_VISION = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                   num_attention_heads=2, image_size=28, patch_size=14)
fg.make("fam-gemma3-mm-bf16", Gemma3ForConditionalGeneration,
        Gemma3Config(text_config=Gemma3TextConfig(**G3MM_TEXT).to_dict(),
                     vision_config=SiglipVisionConfig(**G3MM_VISION).to_dict(),
                     mm_tokens_per_image=4, boi_token_index=125, eoi_token_index=126,
                     image_token_index=127),
        dtype=torch.bfloat16, seed=88, qk_std=0.3, avoid_ids=(125, 126, 127), vocab_for_ids=128, logits=True,
        note="Gemma3ForConditionalGeneration BF16 (a tiny SigLIP tower, unused by text), tied, "
             "its language model on ids alone")
