#!/usr/bin/env python3
"""Train the bundled demo model (samples/model) on CPU.

    nice -n 10 /root/venv/bin/python samples/zh-demo/train.py [--minutes 25] [--out samples/model]

Needs: torch, transformers, safetensors (PyPI), and the Debian packages
manpages-zh (real prose) and python3-jieba (noun list), see corpus.py.

A small BERT (hidden 128, 4 layers, 4 heads, FFN 512, 128 positions) trained
with masked-language modelling on half real prose (Debian's Chinese man pages)
and half generated pronoun sentences, in which the masked verb after 它/他/她
depends on the noun the pronoun refers back to. The run is bounded by wall
clock (--minutes), the only source of non-determinism between machines: the
data and initialisation are seeded, but how many steps fit differs.

The vocabulary is the subset of bert-base-chinese's vocab.txt (Apache-2.0,
../shared/data/bert-base-chinese/vocab.txt) that the corpus and
samples/*.txt use, in bert-base-chinese's order, re-numbered from 0.

It reports masked-token accuracy on held-out sentences (held-out nouns, held-out
templates, held-out prose) and, for the seed sentence, the attention mass of
the best head from 它 to 苹果, and writes them to OUT/training.json.
"""

import argparse
import json
import math
import os
import random
import sys
import time

import torch
from transformers import BertConfig, BertForMaskedLM

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import corpus  # noqa: E402

SEED = 7
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SEED_SENTENCE = "苹果从树上掉下来，小明把它捡起来了。"


def sample_texts():
    out = []
    for name in ("sentence.txt", "sentences.txt"):
        with open(os.path.join(REPO, "samples", name), encoding="utf-8") as f:
            out += [ln.strip() for ln in f if ln.strip()]
    return out


def build_vocab(bert_vocab, prose, extra):
    with open(bert_vocab, encoding="utf-8") as f:
        full = [ln.rstrip("\n") for ln in f]
    known = set(full)
    chars = set(corpus.all_synthetic_chars())
    for t in extra:
        chars.update(t)
    missing = sorted(c for c in chars if c not in known)
    if missing:
        raise SystemExit("characters not in bert-base-chinese's vocab: %s" % "".join(missing))
    prose = [s for s in prose if all(c in known for c in s)]
    for s in prose:
        chars.update(s)
    vocab = [t for t in full if t in SPECIALS or (len(t) == 1 and t in chars)]
    assert all(s in vocab for s in SPECIALS)
    return vocab, prose


class Batcher:
    """Makes (input ids, masked positions, target ids) batches; half prose, half pronoun
    sentences."""

    def __init__(self, vocab, prose, nouns, templates, rng):
        self.idx = {t: i for i, t in enumerate(vocab)}
        self.prose, self.nouns, self.templates, self.rng = prose, nouns, templates, rng
        self.cls, self.sep, self.mask, self.pad = (self.idx[t] for t in
                                                   ("[CLS]", "[SEP]", "[MASK]", "[PAD]"))

    def ids(self, text):
        return [self.cls] + [self.idx[c] for c in text] + [self.sep]

    def prose_example(self, text):
        ids = self.ids(text)
        n = len(text)
        k = max(1, int(round(0.15 * n)))
        pos = sorted(self.rng.sample(range(1, n + 1), k))
        return ids, pos

    def pronoun_example(self):
        text, ipr, iverb, _ = corpus.make_sentence(self.rng, self.templates, self.nouns)
        ids = self.ids(text)
        r = self.rng.random()
        pos = {iverb + 1} if r < 0.6 else {ipr + 1} if r < 0.85 else set()
        for i in range(1, len(text) + 1):
            if self.rng.random() < 0.08:
                pos.add(i)
        if not pos:
            pos.add(iverb + 1)
        return ids, sorted(pos)

    def batch(self, n):
        ex = [self.pronoun_example() for _ in range(n // 2)]
        ex += [self.prose_example(self.rng.choice(self.prose)) for _ in range(n - n // 2)]
        return collate(ex, self.mask, self.pad)


def collate(examples, mask_id, pad_id):
    T = max(len(ids) for ids, _ in examples)
    inp = torch.full((len(examples), T), pad_id, dtype=torch.long)
    att = torch.zeros((len(examples), T), dtype=torch.long)
    rows, cols, tgt = [], [], []
    for b, (ids, pos) in enumerate(examples):
        inp[b, :len(ids)] = torch.tensor(ids)
        att[b, :len(ids)] = 1
        for p in pos:
            rows.append(b)
            cols.append(p)
            tgt.append(ids[p])
            inp[b, p] = mask_id
    return inp, att, torch.tensor(rows), torch.tensor(cols), torch.tensor(tgt)


def mlm_logits(model, inp, att, rows, cols):
    # the vocabulary projection only where a token is masked: most of the compute otherwise
    h = model.bert(input_ids=inp, attention_mask=att).last_hidden_state
    return model.cls(h[rows, cols])


@torch.no_grad()
def accuracy(model, examples, mask_id, pad_id, bs=128):
    model.eval()
    ok = tot = 0
    for i in range(0, len(examples), bs):
        inp, att, rows, cols, tgt = collate(examples[i:i + bs], mask_id, pad_id)
        pred = mlm_logits(model, inp, att, rows, cols).argmax(-1)
        ok += int((pred == tgt).sum())
        tot += len(tgt)
    model.train()
    return ok / max(tot, 1)


def pronoun_eval_set(b, templates, nouns, which, n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        text, ipr, iverb, _ = corpus.make_sentence(rng, templates, nouns)
        out.append((b.ids(text), [(iverb if which == "verb" else ipr) + 1]))
    return out


@torch.no_grad()
def seed_attention(model, b):
    """Best head's attention mass from 它 to 苹果 (both tokens) in the seed sentence."""
    model.eval()
    ids = torch.tensor([b.ids(SEED_SENTENCE)])
    out = model.bert(input_ids=ids, output_attentions=True)
    model.train()
    i_from = SEED_SENTENCE.index("它") + 1
    to = [SEED_SENTENCE.index("苹果") + 1, SEED_SENTENCE.index("苹果") + 2]
    best = (0.0, -1, -1)
    for layer, a in enumerate(out.attentions):
        for h in range(a.shape[1]):
            s = float(a[0, h, i_from, to].sum())
            best = max(best, (s, layer, h))
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=25.0)
    ap.add_argument("--out", default=os.path.join(REPO, "samples", "model"))
    ap.add_argument("--bert-vocab",
                    default=os.path.join(REPO, "../shared/data/bert-base-chinese/vocab.txt"))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    rng = random.Random(SEED)

    corpus.check_nouns()
    prose = corpus.man_sentences()
    vocab, prose = build_vocab(args.bert_vocab, prose, sample_texts() + [SEED_SENTENCE])
    prng = random.Random(SEED)
    prng.shuffle(prose)
    n_held = max(200, len(prose) // 20)
    prose_held, prose_train = prose[:n_held], prose[n_held:]
    train_nouns, held_nouns = corpus.split_nouns()
    print("vocab %d, prose %d train / %d held out" % (len(vocab), len(prose_train), n_held),
          flush=True)

    b = Batcher(vocab, prose_train, train_nouns, corpus.TRAIN_TEMPLATES, rng)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=128, num_hidden_layers=4,
                     num_attention_heads=4, intermediate_size=512, max_position_embeddings=128,
                     type_vocab_size=2, hidden_act="gelu", hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0, pad_token_id=0,
                     attn_implementation="eager")
    model = BertForMaskedLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)

    # held-out sets (fixed seeds, independent of the training stream)
    evals = {
        "verb, held-out nouns": pronoun_eval_set(b, corpus.TRAIN_TEMPLATES, held_nouns,
                                                 "verb", 600, 11),
        "verb, held-out templates": pronoun_eval_set(b, corpus.HELDOUT_TEMPLATES, train_nouns,
                                                     "verb", 600, 12),
        "verb, held-out nouns and templates": pronoun_eval_set(
            b, corpus.HELDOUT_TEMPLATES, held_nouns, "verb", 600, 13),
        "pronoun, held-out nouns": pronoun_eval_set(b, corpus.TRAIN_TEMPLATES, held_nouns,
                                                    "pronoun", 600, 14),
        "pronoun, held-out templates": pronoun_eval_set(b, corpus.HELDOUT_TEMPLATES,
                                                        train_nouns, "pronoun", 600, 15),
    }
    erng = random.Random(16)
    pb = Batcher(vocab, prose_held, train_nouns, corpus.TRAIN_TEMPLATES, erng)
    evals["prose, held-out sentences (15% masked)"] = [pb.prose_example(s) for s in prose_held]

    budget = args.minutes * 60.0
    warm = 150
    t0 = time.time()
    step = 0
    ema = None
    while True:
        el = time.time() - t0
        if el >= budget:
            break
        frac = el / budget
        lr = args.lr * min(1.0, (step + 1) / warm) * (0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        inp, att, rows, cols, tgt = b.batch(args.batch)
        loss = torch.nn.functional.cross_entropy(mlm_logits(model, inp, att, rows, cols), tgt)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        lv = loss.item()
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        if step % 100 == 0:
            s, L, H = seed_attention(model, b)
            print("step %d  %.0fs  loss %.3f  lr %.2e  它->苹果 best %.2f (%d:%d)"
                  % (step, el, ema, lr, s, L, H), flush=True)
        if step % 500 == 0:
            for k in ("verb, held-out nouns", "pronoun, held-out nouns"):
                print("  %s: %.3f" % (k, accuracy(model, evals[k], b.mask, b.pad)), flush=True)

    results = {k: round(accuracy(model, v, b.mask, b.pad), 4) for k, v in evals.items()}
    s, L, H = seed_attention(model, b)
    info = {"steps": step, "minutes": round((time.time() - t0) / 60, 1), "batch": args.batch,
            "final_loss_ema": round(ema, 4), "vocab_size": len(vocab),
            "masked_token_accuracy": results,
            "seed_sentence": SEED_SENTENCE,
            "best_head_it_to_apple": {"layer": L, "head": H, "mass": round(s, 4)}}
    print(json.dumps(info, ensure_ascii=False, indent=1))

    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out)
    with open(os.path.join(args.out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in vocab))
    with open(os.path.join(args.out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"do_lower_case": False}, f)
        f.write("\n")
    with open(os.path.join(args.out, "training.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, ensure_ascii=False, indent=1)
        f.write("\n")
    verify(args.out, b)


def verify(out, b):
    """The saved directory tokenizes like our char-level ids under HF's BertTokenizer and
    reloads to the same weights."""
    from transformers import BertTokenizer
    tok = BertTokenizer.from_pretrained(out)
    for t in sample_texts() + [SEED_SENTENCE] + [s for s in b.prose[:200]]:
        assert tok(t)["input_ids"] == b.ids(t), t
        assert tok.unk_token_id not in tok(t)["input_ids"], t
    m = BertForMaskedLM.from_pretrained(out)
    print("saved to %s (%d bytes)" % (out, sum(os.path.getsize(os.path.join(out, f))
                                             for f in os.listdir(out))))
    del m


if __name__ == "__main__":
    main()
