#!/usr/bin/env python3
"""Fixtures of the BERT family's other model_types (tests/fixtures/fam-*): RoBERTa,
XLM-RoBERTa, CamemBERT (positions from pad_token_id + 1) and ELECTRA (factorised
embeddings with a projection), in F32/F16/BF16, base models and *ForMaskedLM /
*ForPreTraining layouts. See famgen.py; BERT itself: gen_bert_fixtures.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_bert.py
"""
import os
import sys

import torch
from transformers import (CamembertConfig, CamembertModel, ElectraConfig, ElectraForPreTraining,
                          ElectraModel, RobertaConfig, RobertaForMaskedLM, RobertaModel,
                          XLMRobertaConfig, XLMRobertaModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=40, hidden_act="gelu")

# RoBERTa-style: positions start at pad_token_id + 1; ids avoid the pad token
fg.make("fam-roberta-f32", RobertaModel, RobertaConfig(**SMALL, type_vocab_size=1, pad_token_id=1),
        seed=11, qk_std=0.35, note="RobertaModel, pad_token_id 1", avoid_ids=(1,))
fg.make("fam-roberta-mlm-f16", RobertaForMaskedLM,
        RobertaConfig(**SMALL, type_vocab_size=1, pad_token_id=1), dtype=torch.float16, seed=12,
        qk_std=0.35, note="RobertaForMaskedLM (roberta. prefix), F16", avoid_ids=(1,))
fg.make("fam-xlm-roberta-bf16", XLMRobertaModel,
        XLMRobertaConfig(**SMALL, type_vocab_size=1, pad_token_id=1), dtype=torch.bfloat16,
        seed=13, qk_std=0.35, note="XLMRobertaModel, BF16", avoid_ids=(1,))
fg.make("fam-camembert-pad5", CamembertModel,
        CamembertConfig(**SMALL, type_vocab_size=1, pad_token_id=5, bos_token_id=6,
                        eos_token_id=7), seed=14, qk_std=0.35,
        note="CamembertModel with pad_token_id 5 (positions from 6)", avoid_ids=(5,))
# ELECTRA: embeddings of 24 projected to hidden 32; the discriminator's electra. prefix
fg.make("fam-electra-proj", ElectraModel,
        ElectraConfig(**SMALL, embedding_size=24, type_vocab_size=2), seed=15, qk_std=0.35,
        note="ElectraModel, embedding_size 24 < hidden 32 (embeddings_project)")
fg.make("fam-electra-disc", ElectraForPreTraining,
        ElectraConfig(**SMALL, embedding_size=32, type_vocab_size=2), seed=16, qk_std=0.35,
        note="ElectraForPreTraining (electra. prefix), embedding_size == hidden")
# sentence pairs: the second half of each sentence with token type 1
from transformers import BertConfig, BertModel  # noqa: E402
fg.make("fam-bert-pair", BertModel, BertConfig(**SMALL, type_vocab_size=2), seed=17,
        qk_std=0.35, pairs=True, note="BertModel on sentence pairs (token types 0 then 1)")
fg.make("fam-albert-pair", __import__("transformers").AlbertModel,
        __import__("transformers").AlbertConfig(**SMALL, embedding_size=16, type_vocab_size=2),
        seed=18, qk_std=0.35, pairs=True, note="AlbertModel on sentence pairs")
