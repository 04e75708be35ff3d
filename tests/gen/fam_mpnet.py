#!/usr/bin/env python3
"""MPNet fixtures (tests/fixtures/fam-mpnet-*, tok-mpnet) and their goldens, all made here.

Tokenizer: a WordPiece vocabulary of gen_tok_families.py's corpus (wordpiece_vocab), laid
out as MPNet's vocab.txt is (<s> <pad> </s> <unk> [UNK], the pieces, <mask> last), and
turned into tokenizer.json by transformers (AutoTokenizer with tokenizer_class
MPNetTokenizer, do_lower_case, then save_pretrained): BertNormalizer, BertPreTokenizer,
WordPiece, RobertaProcessing (<s> A </s>, pairs <s> A </s> </s> B </s>), <mask> taking the
space before it. tests/fixtures/tok-goldens-mpnet.json: ids, pieces and character offsets of
transformers' tokenizer on gen_tok_families.py's sentences and pairs (the same ids as calling
the tokenizer, asserted).

Models (famgen.py: random weights, eager attention in float64 as the golden):
  fam-mpnet-f32          MPNetModel; sentences up to 37 tokens, so the relative bias reaches
                         its logarithmic buckets
  fam-mpnet-mlm-f16      MPNetForMaskedLM in F16 (mpnet. prefix, tied decoder, logits of the
                         last position) over the tokenizer's vocabulary, with its tokenizer:
                         goldens/mpnet-text.json has text -> transformers' ids -> attentions
  fam-mpnet-buckets48-bf16  relative_attention_num_buckets 48: transformers still buckets
                         into 32 (MPNetEncoder.compute_position_bias's default)
goldens/relbucket-mpnet.json: MPNetEncoder.relative_position_bucket of every relative position
from -300 to 300 (the 32 buckets, max distance 128, float32 logarithm).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_mpnet.py
"""
import json
import os
from collections import Counter
import shutil
import sys
import tempfile

import torch
from tokenizers import normalizers, pre_tokenizers
from transformers import AutoTokenizer, MPNetConfig, MPNetForMaskedLM, MPNetModel
from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
import gen_tok_families as gtf  # noqa: E402

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
             max_position_embeddings=40, hidden_act="gelu")
TEXTS = ["Hello world", "The quick brown fox jumps over the lazy dog.",
         "naïve café résumé, 1,000,000 <mask> tokens!", "我们 model <mask>", "a",
         "I'M SHOUTING, DON'T YOU'LL WE'VE"]
MASKED = "the quick brown <mask> jumps over the lazy dog"


def wordpiece_vocab(specials):
    """A WordPiece vocabulary of gen_tok_families.py's corpus as BERT's normalizer (lowercase)
    and pre-tokenizer cut it: every character, alone and as ##char, the 160 commonest words
    and the 60 commonest word endings of 2-4 characters (counts, then text: deterministic,
    which tokenizers' trainer is not from run to run)."""
    norm = normalizers.BertNormalizer(lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    words = Counter()
    for line in gtf.corpus():
        words.update(w for w, _ in pre.pre_tokenize_str(norm.normalize_str(line)))
    chars = sorted({c for w in words for c in w})
    inner = sorted({c for w in words for c in w[1:]})
    ends = Counter()
    for w, k in words.items():
        for n in (2, 3, 4):
            if len(w) > n:
                ends[w[-n:]] += k
    top = lambda c, k: [x for x, _ in sorted(c.items(), key=lambda e: (-e[1], e[0]))[:k]]
    pieces = list(specials)
    for p in chars + ["##" + c for c in inner] + [w for w in top(words, 160) if len(w) > 1] + \
            ["##" + e for e in top(ends, 60)]:
        if p not in pieces:
            pieces.append(p)
    return pieces


def make_tokenizer(work):
    """transformers' MPNetTokenizer over that vocabulary, saved."""
    pieces = wordpiece_vocab(["<s>", "<pad>", "</s>", "<unk>", "[UNK]"])
    src = os.path.join(work, "src")
    os.makedirs(src)
    with open(os.path.join(src, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(pieces + ["<mask>"]) + "\n")
    with open(os.path.join(src, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "MPNetTokenizer", "do_lower_case": True}, f)
    tok = AutoTokenizer.from_pretrained(src)
    out = os.path.join(work, "saved")
    tok.save_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert type(tok.backend_tokenizer.post_processor).__name__ == "RobertaProcessing"
    return tok, out


def copy_tokenizer(saved, dest):
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(saved, f), os.path.join(dest, f))
        os.chmod(os.path.join(dest, f), 0o644)


def tokenizer_goldens(tok, saved):
    d = os.path.join(fg.FIXTURES, "tok-mpnet")
    fg.reset_dir(d)
    copy_tokenizer(saved, d)
    bt = tok.backend_tokenizer
    ss = gtf.sentences() + TEXTS + ["<mask> <s> x </s> [UNK] <pad>", "x<mask>y  <mask>"]
    cases = [gtf.enc_dict(bt, bt.encode(s), s) for s in ss]
    for c in cases:  # calling the tokenizer gives the same ids
        assert tok(c["sentence"])["input_ids"] == c["ids"], c["sentence"]
    prs = []
    for a, b in gtf.pairs():
        e = bt.encode(a, b)
        assert tok(a, b)["input_ids"] == e.ids
        prs.append({"first": a, "second": b, "ids": e.ids, "type_ids": e.type_ids})
    with open(os.path.join(fg.FIXTURES, "tok-goldens-mpnet.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "tests/gen/fam_mpnet.py",
                   "transformers": "AutoTokenizer (MPNetTokenizer) on tests/fixtures/tok-mpnet",
                   "offsets": "characters of the sentence, [start, end); [0, 0] for "
                              "post-processor specials",
                   "tokens": "get_vocab(with_added_tokens=True) of each id",
                   "cases": cases, "pairs": prs}, f, ensure_ascii=False, indent=0)
    print("tok-mpnet: %d sentences, %d pairs" % (len(cases), len(prs)))


def text_golden(name, tok):
    """goldens/mpnet-text.json: TEXTS through transformers' tokenizer and model (float64 run
    of the fixture's weights, eager attention), in test_forward.c's format."""
    path = os.path.join(fg.FIXTURES, name)
    r64 = MPNetForMaskedLM.from_pretrained(path, dtype=torch.float64,
                                           attn_implementation="eager").eval()
    r32 = MPNetForMaskedLM.from_pretrained(path, dtype=torch.float32,
                                           attn_implementation="eager").eval()
    sents, worst = [], 0.0
    for text in TEXTS:
        enc = tok(text, return_tensors="pt")
        with torch.no_grad():
            a64 = torch.stack(r64(**enc, output_attentions=True).attentions)[:, 0]
            a32 = torch.stack(r32(**enc, output_attentions=True).attentions)[:, 0]
        worst = max(worst, (a32.double() - a64).abs().max().item())
        ids = enc["input_ids"][0].tolist()
        sents.append('  {"text": %s,\n   "token_ids": %s,\n   "tokens": %s,\n   "attentions": %s}'
                     % (json.dumps(text, ensure_ascii=False), json.dumps(ids),
                        json.dumps(tok.convert_ids_to_tokens(ids), ensure_ascii=False),
                        fg._dump(a64.tolist(), 4)))
    assert worst < 1e-5 / 1.25, worst  # test_forward.c's fixed tolerance holds
    # the masked-LM head through `mhaviz ablate`: the token predicted at the mask, and its
    # probability (fp32 run)
    enc = tok(MASKED, return_tensors="pt")
    at = enc["input_ids"][0].tolist().index(tok.mask_token_id)
    with torch.no_grad():
        p = torch.softmax(r32(**enc).logits[0, at], dim=-1)
    top = int(p.argmax())
    probe = {"text": MASKED, "index": at, "token": tok.convert_ids_to_tokens(top),
             "probability": float(p[top])}
    with open(os.path.join(fg.GOLDENS, "mpnet-text.json"), "w", encoding="utf-8") as f:
        f.write('{"fixture": %s,\n "source": %s,\n "fp32_vs_fp64": %.3g,\n "mask_probe": %s,\n'
                ' "sentences": [\n%s\n ]}\n'
                % (json.dumps(name), json.dumps(fg.SOURCE), worst, json.dumps(probe),
                   ",\n".join(sents)))
    print("mpnet-text: %d sentences, fp32 vs fp64 %.2g" % (len(TEXTS), worst))


def bucket_golden():
    rel = torch.arange(-300, 301)
    b = MPNetEncoder.relative_position_bucket(rel)
    with open(os.path.join(fg.GOLDENS, "relbucket-mpnet.json"), "w") as f:
        json.dump({"generator": "tests/gen/fam_mpnet.py",
                   "function": "MPNetEncoder.relative_position_bucket (num_buckets 32, "
                               "max_distance 128), relative position = key - query",
                   "relative_position": rel.tolist(), "bucket": b.tolist()}, f)


def main():
    work = tempfile.mkdtemp(prefix="mpnet.")
    tok, saved = make_tokenizer(work)
    tokenizer_goldens(tok, saved)
    fg.make("fam-mpnet-f32", MPNetModel, MPNetConfig(vocab_size=120, **SMALL), seed=61,
            qk_std=0.35, avoid_ids=(1,), lengths=[1, 6, 13, 37],
            note="MPNetModel: relative bias of the 32 buckets, positions from 2")
    fg.make("fam-mpnet-mlm-f16", MPNetForMaskedLM, MPNetConfig(vocab_size=len(tok), **SMALL),
            dtype=torch.float16, seed=62, qk_std=0.35, avoid_ids=(1,), logits=True,
            post=lambda p: copy_tokenizer(saved, p),
            note="MPNetForMaskedLM (mpnet. prefix, tied decoder), F16, with its tokenizer")
    text_golden("fam-mpnet-mlm-f16", tok)
    fg.make("fam-mpnet-buckets48-bf16", MPNetModel,
            MPNetConfig(vocab_size=120, relative_attention_num_buckets=48, **SMALL),
            dtype=torch.bfloat16, seed=63, qk_std=0.35, avoid_ids=(1,), lengths=[1, 6, 30],
            note="MPNetModel with a 48-row relative table (transformers reads 32 of them), BF16")
    bucket_golden()
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
