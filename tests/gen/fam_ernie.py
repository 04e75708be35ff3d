#!/usr/bin/env python3
"""Fixtures of ERNIE (tests/fixtures/fam-ernie-*): BERT's layers with, when use_task_id, a
task type embedding (task_type_vocab_size rows) added after the position embedding; every
token has task 0 (transformers' default when task_type_ids is not given). ErnieModel and
ErnieForMaskedLM (ernie. prefix, cls.predictions head tied or not), F32/F16/BF16, sentence
pairs (token types 0 then 1). See famgen.py.

  fam-ernie-f32            ErnieModel, ERNIE 1.0 (no task embedding), pairs
  fam-ernie-task-mlm-f16   ErnieForMaskedLM, use_task_id (3 task types), tied head, F16, logits
  fam-ernie-task-bf16      ErnieModel, use_task_id with 5 task types, ReLU, pairs, BF16
  fam-ernie-mlm-untied-f32 ErnieForMaskedLM, untied decoder, use_task_id, logits
  fam-ernie-tok            ErnieModel, use_task_id, with bert-f32's vocab.txt (BertTokenizer);
                           goldens/pairs-ernie.json: transformers' tokenizer(first, second) of
                           tests/fixtures/pairs-bert.txt and the eager attentions for it (as
                           gen_pairs_golden.py does for bert-f32), checked by tests/cli/pairs.sh

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_ernie.py
"""
import json
import os
import shutil
import sys

import torch
from transformers import AutoTokenizer, ErnieConfig, ErnieForMaskedLM, ErnieModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
import gen_pairs_golden as pg  # noqa: E402

SMALL = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=40, hidden_act="gelu")

fg.make("fam-ernie-f32", ErnieModel, ErnieConfig(**SMALL, type_vocab_size=2), seed=111,
        qk_std=0.35, pairs=True, note="ErnieModel (ERNIE 1.0: no task type embedding), pairs")
fg.make("fam-ernie-task-mlm-f16", ErnieForMaskedLM,
        ErnieConfig(**SMALL, use_task_id=True, task_type_vocab_size=3), dtype=torch.float16,
        seed=112, qk_std=0.35, logits=True,
        note="ErnieForMaskedLM (ernie. prefix), use_task_id, tied decoder, F16")
fg.make("fam-ernie-task-bf16", ErnieModel,
        ErnieConfig(**dict(SMALL, hidden_act="relu"), type_vocab_size=4, use_task_id=True,
                    task_type_vocab_size=5),
        dtype=torch.bfloat16, seed=113, qk_std=0.35, pairs=True,
        note="ErnieModel, use_task_id with 5 task types, 4 token types, ReLU, pairs, BF16")
fg.make("fam-ernie-mlm-untied-f32", ErnieForMaskedLM,
        ErnieConfig(**SMALL, use_task_id=True, tie_word_embeddings=False), seed=114,
        qk_std=0.35, logits=True,
        note="ErnieForMaskedLM, use_task_id, untied decoder (cls.predictions.decoder.weight)")


def add_vocab(path):
    for f in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(os.path.join(pg.MODEL, f), os.path.join(path, f))


def pairs_golden():
    """pairs-bert.txt through the ERNIE fixture's BertTokenizer and model."""
    name = "fam-ernie-tok"
    vocab = sum(1 for _ in open(os.path.join(pg.MODEL, "vocab.txt"), encoding="utf-8"))
    fg.make(name, ErnieModel, ErnieConfig(**dict(SMALL, vocab_size=vocab), use_task_id=True),
            seed=115, qk_std=0.35, pairs=True, post=add_vocab,
            note="ErnieModel, use_task_id, with a BertTokenizer vocab.txt")
    path = os.path.join(fg.FIXTURES, name)
    tok = AutoTokenizer.from_pretrained(path)
    assert type(tok).__name__.startswith("BertTokenizer"), type(tok).__name__
    model = ErnieModel.from_pretrained(path, attn_implementation="eager").eval()
    cases = []
    for first, second in pg.PAIRS:
        enc = tok(first, second, return_tensors="pt")
        a32 = pg.attentions(model, enc, torch.float32)
        a64 = pg.attentions(model, enc, torch.float64)
        err = max(float((x - y).abs().max()) for x, y in zip(a32, a64))
        cases.append({"first": first, "second": second,
                      "ids": enc["input_ids"][0].tolist(),
                      "type_ids": enc["token_type_ids"][0].tolist(),
                      "tolerance": max(1e-5, 1.25 * err),
                      "attentions": [[[[round(v, 9) for v in row] for row in head]
                                      for head in layer.tolist()] for layer in a64]})
    with open(os.path.join(fg.GOLDENS, "pairs-ernie.json"), "w") as f:
        json.dump({"model": name, "source": fg.SOURCE, "cases": cases}, f)
    print("pairs-ernie: %d cases" % len(cases))


pairs_golden()
