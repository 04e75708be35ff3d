#!/usr/bin/env python3
"""Tokenizer goldens of the encoder-decoder fixtures that carry a tokenizer.json made by
transformers from another format: tests/fixtures/s2s-pegasus-f32 (PegasusTokenizer converted
from a SentencePiece unigram model: Precompiled charsmap then runs of spaces collapsed by a
regex Replace, Metaspace, "$A </s>") and tests/fixtures/s2s-blenderbot-f32
(BlenderbotTokenizer: byte-level BPE with a prefix space). Writes
tests/fixtures/tok-goldens-<name>.json in gen_tok_families.py's format: HF `tokenizers` on its
>= 100 varied sentences (ids, vocabulary pieces, character offsets) and tokenizer.encode(a, b)
pairs. Checked by tests/test_tok_s2s.c. Run after fam_pegasus.py / fam_blenderbot.py.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/gen_tok_s2s_goldens.py
"""
import json
import os
import sys

import tokenizers
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_tok_families as tf  # noqa: E402

FIXTURES = {"pegasus": "s2s-pegasus-f32", "blenderbot": "s2s-blenderbot-f32"}


def main():
    for name, fixture in FIXTURES.items():
        path = os.path.join(tf.FIX, fixture, "tokenizer.json")
        tok = Tokenizer.from_file(path)
        cases = [tf.enc_dict(tok, tok.encode(s), s) for s in tf.sentences()]
        pairs = []
        for a, b in tf.pairs():
            e = tok.encode(a, b)
            pairs.append({"first": a, "second": b, "ids": e.ids, "type_ids": e.type_ids})
        doc = {"generator": "tests/gen/gen_tok_s2s_goldens.py",
               "tokenizers_version": tokenizers.__version__,
               "tokenizer": f"tests/fixtures/{fixture}/tokenizer.json",
               "offsets": "characters of the sentence, [start, end); [0, 0] for "
                          "post-processor specials",
               "tokens": "the vocabulary piece of each id (get_vocab(with_added_tokens=True))",
               "cases": cases, "pairs": pairs}
        with open(os.path.join(tf.FIX, f"tok-goldens-{name}.json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=0)
        print(f"tok-goldens-{name}: {len(cases)} sentences, {len(pairs)} pairs")


if __name__ == "__main__":
    main()
