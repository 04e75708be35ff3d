#!/usr/bin/env python3
"""Fixtures of DeBERTa v1 (model_type "deberta", tests/fixtures/fam-debertav1-*): the fused
in_proj with q_bias / v_bias, c2p / p2c subsets (list and the old "c2p|p2c" string), the
relative table clamped at max_relative_positions, absolute positions and token types,
embed_proj, the legacy and the new masked-LM heads (their prefix "deberta."), and the scale
sqrt(d * (1 + len(pos_att_type))) that transformers applies even without relative attention
(also for v2: fam-deberta-v2-norel). See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_deberta_v1.py
"""
import os
import sys

import torch
from transformers import (DebertaConfig, DebertaForMaskedLM, DebertaModel, DebertaV2Config,
                          DebertaV2Model)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=64, hidden_act="gelu")
LENS = [1, 6, 13, 30]  # 30 tokens pass a table of 2 x 6 (clamped ends)

# microsoft/deberta-base's layout: relative attention both ways from the "c2p|p2c" string,
# the full table (max_relative_positions -1: 2 x 32), no absolute positions
fg.make("fam-debertav1", DebertaModel,
        DebertaConfig(**{**SMALL, "max_position_embeddings": 32}, relative_attention=True, pos_att_type="c2p|p2c",
                      max_relative_positions=-1, position_biased_input=False,
                      type_vocab_size=0),
        seed=41, qk_std=0.3, lengths=LENS, note="v1 base layout: c2p|p2c, full table")
# p2c only, a table of 2 x 6 (clamped beyond), absolute positions, token types (pairs),
# the legacy MLM head (cls.predictions.*), F16
fg.make("fam-debertav1-mlm-f16", DebertaForMaskedLM,
        DebertaConfig(**SMALL, relative_attention=True, pos_att_type=["p2c"],
                      max_relative_positions=6, position_biased_input=True, type_vocab_size=2,
                      hidden_dropout_prob=0.0),
        dtype=torch.float16, seed=42, qk_std=0.3, lengths=LENS, pairs=True,
        note="v1: p2c only, span 6, absolute positions, token types, legacy MLM head, F16")
# c2p only, embeddings of 24 projected to 32, BF16 (transformers' new MLM head cannot run
# with embedding_size != hidden_size: it multiplies by the 24-wide word embeddings)
fg.make("fam-debertav1-c2p-proj-bf16", DebertaModel,
        DebertaConfig(**SMALL, relative_attention=True, pos_att_type=["c2p"],
                      max_relative_positions=32, position_biased_input=True, embedding_size=24),
        dtype=torch.bfloat16, seed=43, qk_std=0.3, lengths=LENS,
        note="v1: c2p only, span 32, embed_proj 24 -> 32, BF16")
# no relative attention, yet pos_att_type still divides the scores by sqrt(3 d); the new
# MLM head (lm_predictions.*)
fg.make("fam-debertav1-norel-mlm", DebertaForMaskedLM,
        DebertaConfig(**{**SMALL, "hidden_act": "gelu_new"}, relative_attention=False,
                      pos_att_type="p2c|c2p", position_biased_input=True, legacy=False),
        seed=44, qk_std=0.3, lengths=LENS,
        note="v1: no relative attention, scale sqrt(3 d), new MLM head")
fg.make("fam-deberta-v2-norel", DebertaV2Model,
        DebertaV2Config(**SMALL, relative_attention=False, pos_att_type=["c2p"],
                        position_biased_input=True),
        seed=45, qk_std=0.3, lengths=LENS, note="v2: no relative attention, scale sqrt(2 d)")
