#!/usr/bin/env python3
"""EsmTokenizer fixtures and goldens (tests/test_tok_esm.c):

  tests/fixtures/tok-esm/      the ESM vocabulary saved by EsmTokenizer.save_pretrained
                               (vocab.txt, tokenizer_config.json with added_tokens_decoder)
  tests/fixtures/tok-esm-hub/  the layout of the hub's ESM-2 directories: vocab.txt ending in a
                               newline, tokenizer_config.json naming only the class,
                               special_tokens_map.json
  tests/fuzz/corpus/esm/       seeds of tests/fuzz/fuzz_esm.c
  tests/fixtures/tok-esm-odd/  a vocabulary with entries that overlap (AB, ABCD, BC, CDE,
                               BCDEF, LL, LLL, <x>, <xy, "XY Z", <LA>, <LAVA, 300 W) and non-ASCII ones, written
                               with CRLF, a vertical tab and U+2028 between lines and
                               whitespace around entries (load_vocab_file's splitlines and
                               strip), to exercise transformers' Trie.split quirks

and tests/fixtures/tok-goldens-esm*.json: AutoTokenizer's input_ids and tokens for handpicked
and seeded random sentences (masks, unknown letters, lowercase, every kind of Python
whitespace, partial special tokens, the empty string), and pairs. EsmTokenizer returns no
token_type_ids (not in its model_input_names) and ESM reads none: the pairs' are 0.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_tok_esm.py
"""
import json
import os
import random
import shutil

from transformers import AutoTokenizer, EsmTokenizer
from transformers.models.esm.configuration_esm import get_default_vocab_list

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(os.path.dirname(HERE), "fixtures")
VOCAB = list(get_default_vocab_list())
ODD = VOCAB + ["AB", "ABCD", "BC", "CDE", "BCDEF", "LL", "LLL", "<x>", "<xy", "XY Z", "é", "🙂",
               "タン", "<mask>x", "<LA>", "<LAVA", "W" * 300]

HAND = ["MKTAYIAKQR", "MKT<mask>AYI", "<mask>", "<mask><mask>MK", "mkta", "mKtA", "M K T",
        "", " ", "\t\n", "MJK", "MJJK<mask><mask>", "<cls>MK<eos>", "M\tK\u00a0A\u2003L",
        "<<mask>>", "<mas", "mask", "<mask", "mask>", "M.-X", "M<null_1>K", "ÄM", "M\u200bK",
        "M\x1cK\x1dA\x1eL\x1fV", "M\x85K\u2028A\u2029L\u3000V\u202fE", "<unk>", "<pad>MK<pad>",
        "BUZOX", "  MK  ", "MK\n", "😀MK😀", "<x>", "<xy>", "ABCDE", "ABCDEF", "BCDEFG",
        "LLLL", "LLLLL", "XY Z", "XY  Z", "AB CDE", "ABC", "タンパク", "é", "e\u0301",
        "<mask>xM", "<mask>x", "A<mask>xB", "<<x>>", "<xy<x>", "AAAAAAAAAAAAAAAAAAAAAAAA",
        "<LA>", "<LAX", "M<LA>K", "<L<LA>", "<LAV", "<LAVA", "<LAVAL", "<<LA>", "<LA<LAVA",
        "W" * 300, "W" * 301, "M" + "W" * 300 + " K"]

PIECES = (list("LAGVSERTIDPKQNFYMHWCXBUZO.-") * 3 + list("Jjmkaé😀<>_1") +
          ["<mask>", "<pad>", "<cls>", "<eos>", "<unk>", "<null_1>", "<mas", "mask", "<x>",
           "<xy", "AB", "CDE", "XY Z", "BCDEF", "タン", "<LA", "<LAV", ">"] +
          [" ", " ", "\t", "\n", "\u00a0", "\u2003", "\x1c", "\x1f", "\x85", "\u3000",
           "\u200b", "\r\n"])


def sentences(seed, count):
    r = random.Random(seed)
    out = list(HAND)
    for _ in range(count):
        out.append("".join(r.choice(PIECES) for _ in range(r.randint(0, 25))))
    return out


def pairs():
    return [("MKT", "AYI"), ("M<mask>K", ""), ("", "AL"), ("mk", "QR<eos>"),
            ("A B", " C\tD ")]


SEEDS = {"esm": 5, "esm-hub": 6, "esm-odd": 7}


def golden(name, d):
    tok = AutoTokenizer.from_pretrained(d)
    assert type(tok).__name__ == "EsmTokenizer", type(tok)
    cases = []
    for s in sentences(SEEDS[name], 300):
        ids = tok(s)["input_ids"]
        cases.append({"sentence": s, "ids": ids, "tokens": tok.convert_ids_to_tokens(ids)})
    pair_cases = []
    for a, b in pairs():
        ids = tok(a, b)["input_ids"]
        pair_cases.append({"first": a, "second": b, "ids": ids, "type_ids": [0] * len(ids)})
    with open(os.path.join(FIX, "tok-goldens-%s.json" % name), "w", encoding="utf-8") as f:
        f.write('{"source": "transformers EsmTokenizer (AutoTokenizer.from_pretrained)",\n')
        f.write(' "cases": [\n  ' + ",\n  ".join(json.dumps(c, ensure_ascii=False)
                                                for c in cases) + "],\n")
        f.write(' "pairs": [\n  ' + ",\n  ".join(json.dumps(c, ensure_ascii=False)
                                                for c in pair_cases) + "]}\n")
    print("%s: %d sentences, %d pairs" % (name, len(cases), len(pair_cases)))


def fresh(name):
    d = os.path.join(FIX, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    return d


def seeds():
    """tests/fuzz/corpus/esm/: each fixture's vocab.txt with a few sentences (fuzz_esm.c:
    u32 little-endian length of vocab.txt, vocab.txt, text)."""
    d = os.path.normpath(os.path.join(FIX, "..", "fuzz", "corpus", "esm"))
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    texts = ["MKTAYIAKQR", "MK<mask>A  <LAVA<LA>x", "mk\u2028\x1c<xy<x>XY Z", ""]
    for sub in ("tok-esm", "tok-esm-odd"):
        vocab = open(os.path.join(FIX, sub, "vocab.txt"), "rb").read()
        for i, t in enumerate(texts):
            with open(os.path.join(d, "%s-%d" % (sub, i)), "wb") as f:
                f.write(len(vocab).to_bytes(4, "little") + vocab + t.encode("utf-8"))


def main():
    d = fresh("tok-esm")
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(VOCAB))
    EsmTokenizer(os.path.join(d, "vocab.txt")).save_pretrained(d)
    golden("esm", d)

    d = fresh("tok-esm-hub")
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(VOCAB) + "\n")
    with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"model_max_length": 1000000000000000019884624838656,
                   "tokenizer_class": "EsmTokenizer"}, f)
    with open(os.path.join(d, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump({"cls_token": "<cls>", "eos_token": "<eos>", "mask_token": "<mask>",
                   "pad_token": "<pad>", "unk_token": "<unk>"}, f)
    golden("esm-hub", d)

    d = fresh("tok-esm-odd")
    seps = ["\r\n", "\n", "\x0b", "\u2028", "\r"]
    text = ""
    for i, t in enumerate(ODD):
        pad = [" ", "\t", "\u3000", ""][i % 4]
        text += pad + t + pad[::-1] + seps[i % len(seps)]
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(text)
    with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizer_class": "EsmTokenizer"}, f)
    assert EsmTokenizer(os.path.join(d, "vocab.txt")).all_tokens == ODD
    golden("esm-odd", d)
    seeds()
    for sub in ("tok-esm", "tok-esm-hub", "tok-esm-odd"):
        for f in os.listdir(os.path.join(FIX, sub)):
            os.chmod(os.path.join(FIX, sub, f), 0o644)


main()
