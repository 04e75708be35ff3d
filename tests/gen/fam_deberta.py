#!/usr/bin/env python3
"""Fixtures of DeBERTa v2/v3 (tests/fixtures/fam-deberta-*): disentangled attention with
log position buckets, shared and separate position projections, c2p/p2c subsets, the
relative-embedding LayerNorm, embed_proj. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_deberta.py
"""
import os
import sys

import torch
from transformers import DebertaV2Config, DebertaV2ForMaskedLM, DebertaV2Model

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=64, hidden_act="gelu")
LENS = [1, 6, 13, 30]  # 30 tokens reach the log buckets and the clamped table ends

# DeBERTa-v3 style: log buckets (8: exact below 4), shared keys, LayerNorm'd relative table
fg.make("fam-deberta-v3", DebertaV2Model,
        DebertaV2Config(**SMALL, relative_attention=True, pos_att_type=["p2c", "c2p"],
                        position_buckets=8, max_relative_positions=-1, norm_rel_ebd="layer_norm",
                        share_att_key=True, position_biased_input=False, type_vocab_size=0),
        seed=31, qk_std=0.3, lengths=LENS, note="v3: buckets 8, shared keys, rel LayerNorm")
# DeBERTa-v2 style: no buckets, a table of 2 x 6 clamped, separate pos_key/pos_query
# projections, the old "c2p|p2c" string, absolute positions too, token types
fg.make("fam-deberta-v2-mlm-f16", DebertaV2ForMaskedLM,
        DebertaV2Config(**SMALL, relative_attention=True, pos_att_type="c2p|p2c",
                        max_relative_positions=6, share_att_key=False,
                        position_biased_input=True, type_vocab_size=2),
        dtype=torch.float16, seed=32, qk_std=0.3, lengths=LENS,
        note="v2: no buckets, span 6, own position projections, absolute positions, F16")
# c2p only, embeddings of 24 projected to 32, BF16
fg.make("fam-deberta-c2p-proj-bf16", DebertaV2Model,
        DebertaV2Config(**SMALL, relative_attention=True, pos_att_type=["c2p"],
                        position_buckets=16, max_relative_positions=32, share_att_key=False,
                        position_biased_input=False, embedding_size=24),
        dtype=torch.bfloat16, seed=33, qk_std=0.3, lengths=LENS,
        note="c2p only, buckets 16 of max 32, embed_proj 24 -> 32, BF16")
