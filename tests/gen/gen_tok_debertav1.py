#!/usr/bin/env python3
"""Tokenizer fixtures of DeBERTa v1 (DebertaTokenizer: GPT-2's byte-level BPE, BERT's special
tokens, "[CLS] $A [SEP]"), made here, and their goldens from transformers' own tokenizer.

A byte-level BPE trained with `tokenizers` (gen_tok_families.py's corpus; [UNK] [CLS] [SEP]
[PAD] [MASK] first, as microsoft/deberta-base numbers them) becomes transformers'
DebertaTokenizer, saved two ways:
  tests/fixtures/tok-debertav1/        save_pretrained: tokenizer.json + tokenizer_config.json
  tests/fixtures/tok-debertav1-files/  the hub's layout: vocab.json + merges.txt, a
                                       tokenizer_config.json naming no class and config.json
                                       with model_type "deberta" (AutoTokenizer's choice)
  tests/fixtures/tok-debertav1-aps/    the files with add_prefix_space true
Goldens tests/fixtures/tok-goldens-debertav1[-files|-aps].json: AutoTokenizer.from_pretrained
on each directory (its backend tokenizer for tokens and offsets; the transformers call checked
to give the same ids): ids, tokens, offsets of every sentence, ids and type ids of pairs.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/gen_tok_debertav1.py
"""
import json
import os
import shutil
import sys

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, DebertaTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_tok_families as g  # noqa: E402

SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
EXTRA = ["[MASK] is [CLS] or [SEP]", "a [MASK]b [PAD][UNK]", "  [SEP]  x", "Hello world"]


def train():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(g.corpus(), trainers.BpeTrainer(
        vocab_size=700, special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    m = json.loads(tok.to_str())["model"]
    merges = [tuple(x) if isinstance(x, list) else tuple(x.split(" ")) for x in m["merges"]]
    return m["vocab"], merges


def fresh(name):
    d = os.path.join(g.FIX, f"tok-{name}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def goldens(name, d):
    at = AutoTokenizer.from_pretrained(d)
    assert type(at).__name__ == "DebertaTokenizer", type(at)
    tok = at.backend_tokenizer
    ss = g.sentences() + EXTRA
    cases = [g.enc_dict(tok, tok.encode(s), s) for s in ss]
    for c in cases:  # the transformers call gives the same ids
        assert at(c["sentence"])["input_ids"] == c["ids"], c["sentence"]
    prs = []
    for a, b in g.pairs():
        e = tok.encode(a, b)
        assert at(a, b)["input_ids"] == e.ids
        prs.append({"first": a, "second": b, "ids": e.ids, "type_ids": e.type_ids})
    with open(os.path.join(g.FIX, f"tok-goldens-{name}.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "tests/gen/gen_tok_debertav1.py",
                   "transformers": f"AutoTokenizer.from_pretrained on tests/fixtures/tok-{name}",
                   "offsets": "characters of the sentence, [start, end); [0, 0] for specials",
                   "tokens": "get_vocab(with_added_tokens=True) of each id",
                   "cases": cases, "pairs": prs}, f, ensure_ascii=False, indent=0)
    print(f"tok-{name}: {len(cases)} sentences, {len(prs)} pairs")


def main():
    os.environ["HF_HUB_OFFLINE"] = "1"
    vocab, merges = train()
    d = fresh("debertav1")
    DebertaTokenizer(vocab=vocab, merges=merges).save_pretrained(d)
    goldens("debertav1", d)
    for name, cfg in (("debertav1-files", {"do_lower_case": False, "vocab_type": "gpt2"}),
                      ("debertav1-aps", {"add_prefix_space": True})):
        d = fresh(name)
        with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False)
        with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump(cfg, f)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"model_type": "deberta"}, f)
        goldens(name, d)


if __name__ == "__main__":
    main()
