#!/usr/bin/env python3
"""Train the bundled demo model (samples/model) on CPU.

    nice -n 10 python3 samples/zh-demo/train.py [--steps 3600] [--out samples/model]

The bundled model was made in three runs, each starting from the last
(samples/model/README.md gives the commands; train.log holds their logs).

Needs: torch, transformers, safetensors (PyPI), and the Debian packages
manpages-zh (real prose) and python3-jieba (noun list), see corpus.py.

A small BERT (hidden 128, 4 layers, 4 heads, FFN 512, 128 positions) trained
with masked-language modelling on real prose (Debian's Chinese man pages; half
of each batch, --prose-share) and generated pronoun sentences, in which the masked verb after 它/他/她
depends on the noun the pronoun refers back to. The pronoun sentences vary what
surrounds the noun and the pronoun (other verbs, arbitrary characters in the
verb slot, adjectives, clauses cut from the prose, made-up nouns:
corpus.make_train_example), so that the noun is found by its place in the
sentence rather than by being the one unusual word.

A second objective makes resolving the pronoun pay off at the pronoun itself:
a training-only linear layer (RefHead, not saved) reads the last hidden state
at the pronoun and must name the antecedent's first and last character, and
those of the agent (the person who acts on it, the last name before the
pronoun). Nothing constrains attention: the encoder is free to carry both to
the pronoun however it can. Without the agent objective the antecedent was
carried by most of the 16 heads; with it, a first run of 1500 steps left it to
two heads of layer 0, and the later runs at lower learning rates kept it there
(a first run of 3600 steps at the full rate spread it over most heads again by
step 1000).

The run is bounded by steps (--steps), not by time, so that its result does not
depend on the machine's load: data, initialisation and the order of everything
are seeded, and training runs on one thread.

The vocabulary is the subset of bert-base-chinese's vocab.txt (Apache-2.0,
../shared/data/bert-base-chinese/vocab.txt) that the corpus and
samples/*.txt use, in bert-base-chinese's order, re-numbered from 0.

It reports masked-token accuracy on held-out sentences (held-out nouns, held-out
templates, held-out prose), for the seed sentence the attention mass of the
best head from 它 to 苹果 (and how many heads give 苹果 at least half), for that
head the mean attention from the pronoun to its antecedent on sentences kept
out of training (held-out nouns, templates, verbs, and opening clauses that move
both to other positions: corpus.py), and what zeroing that head costs the
masked predictions; it writes them to OUT/training.json.
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
        self.variety = corpus.TrainVariety(prose)
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
        d = corpus.make_train_example(self.rng, self.nouns, self.variety)
        text, ipr, iverb = d["text"], d["pronoun"], d["verb"]
        ids = self.ids(text)
        r = self.rng.random()
        if d["verb_kind"] == "class":  # the verb tells the noun's class: worth predicting
            pos = {iverb + 1} if r < 0.6 else {ipr + 1} if r < 0.85 else set()
        else:
            pos = {ipr + 1} if r < 0.5 else set()
        for i in range(1, len(text) + 1):
            if self.rng.random() < 0.08:
                pos.add(i)
        if not pos:
            pos.add(ipr + 1)
        # the reference objective: at the pronoun, name the antecedent's first and last
        # character (token positions: +1 for [CLS])
        ref = (ipr + 1, ids[d["noun"] + 1], ids[d["noun"] + d["noun_len"]],
               ids[d["agent"] + 1], ids[d["agent"] + 2])
        return ids, sorted(pos), ref

    def batch(self, n, prose_share=0.5):
        k = n - int(round(n * prose_share))
        ex = [self.pronoun_example() for _ in range(k)]
        ex += [self.prose_example(self.rng.choice(self.prose)) for _ in range(n - k)]
        refs = [(b, e[2]) for b, e in enumerate(ex) if len(e) == 3]
        return collate([e[:2] for e in ex], self.mask, self.pad), refs


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


class RefHead(torch.nn.Module):
    """Training-only: from the last hidden state at a pronoun, logits over the vocabulary
    for the antecedent's first and last character, and for the agent's (the person acting
    on it). Not saved: the saved model is a plain BertForMaskedLM; only what the encoder
    learned to carry to the pronoun stays."""

    def __init__(self, hidden, vocab):
        super().__init__()
        self.out = torch.nn.ModuleList(torch.nn.Linear(hidden, vocab) for _ in range(4))

    def forward(self, h):
        return [o(h) for o in self.out]


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
    n = 0
    for layer, a in enumerate(out.attentions):
        for h in range(a.shape[1]):
            s = float(a[0, h, i_from, to].sum())
            n += s >= 0.5
            if s > best[0]:  # ties: the lower layer and head, as mhaviz rank orders them
                best = (s, layer, h)
    return best + (n,)


def zero_head(model, L, H):
    """Removes head L:H (its output before the output projection set to 0, as mhaviz ablate
    --mode zero does); returns the hook handle (.remove() to put it back)."""
    d = model.config.hidden_size // model.config.num_attention_heads

    def pre(_mod, args):
        x = args[0].clone()
        x[..., H * d:(H + 1) * d] = 0
        return (x,) + args[1:]
    return model.bert.encoder.layer[L].attention.output.dense.register_forward_pre_hook(pre)


@torch.no_grad()
def ablation(model, b, evals, L, H):
    """Masked-token accuracy with and without head L:H, and on the seed sentence the
    probability of 它 where it is masked."""
    ids = b.ids(SEED_SENTENCE)
    ipr = SEED_SENTENCE.index("它") + 1
    seed = [(ids, [ipr])]

    def p_it():
        model.eval()
        inp, att, rows, cols, _ = collate(seed, b.mask, b.pad)
        p = torch.softmax(mlm_logits(model, inp, att, rows, cols), -1)[0, ids[ipr]]
        model.train()
        return round(float(p), 4)
    keys = ("verb, held-out nouns", "pronoun, held-out nouns", "verb, held-out templates")
    out = {"seed sentence, p(它) at the masked 它": {"before": p_it()}}
    for k in keys:
        out[k] = {"before": round(accuracy(model, evals[k], b.mask, b.pad), 4)}
    hook = zero_head(model, L, H)
    out["seed sentence, p(它) at the masked 它"]["after"] = p_it()
    for k in keys:
        out[k]["after"] = round(accuracy(model, evals[k], b.mask, b.pad), 4)
    hook.remove()
    return out


def heldout_sets(train_nouns, held_nouns):
    """Sentences none of which was trained on: (name, templates, nouns, prefixes), 300 each."""
    T, HT, HV = corpus.TRAIN_TEMPLATES, corpus.HELDOUT_TEMPLATES, corpus.HELDOUT_VERB_TEMPLATES
    return [
        ("held-out nouns", T, held_nouns, ()),
        ("held-out templates", HT, train_nouns, ()),
        ("held-out verbs (拿走, 收起来, 擦干净, 洗干净)", HV, train_nouns, ()),
        ("held-out positions (held-out opening clauses)", T, train_nouns,
         corpus.HELDOUT_PREFIXES),
        ("all held out at once (nouns, verbs, positions)", HV, held_nouns,
         corpus.HELDOUT_PREFIXES),
    ]


@torch.no_grad()
def heldout_attention(model, b, train_nouns, held_nouns, L, H, n=300):
    """Mean attention mass from the pronoun to the antecedent's tokens, for head L:H and
    for the best head of each set; 它 sentences and all pronouns separately."""
    model.eval()
    out = {}
    for k, (name, tpls, nouns, prefixes) in enumerate(heldout_sets(train_nouns, held_nouns)):
        rng = random.Random(100 + k)
        ex = [corpus.make_example(rng, tpls, nouns, prefixes, 1.0 if prefixes else 0.0)
              for _ in range(n)]
        sums = torch.zeros(4, 4)
        sums_it = torch.zeros(4, 4)
        n_it = 0
        for d in ex:
            ids = torch.tensor([b.ids(d["text"])])
            att = model.bert(input_ids=ids, output_attentions=True).attentions
            a = torch.stack([x[0] for x in att])  # (layers, heads, T, T)
            m = a[:, :, d["pronoun"] + 1, d["noun"] + 1:d["noun"] + 1 + d["noun_len"]].sum(-1)
            sums += m
            if d["text"][d["pronoun"]] == "它":
                sums_it += m
                n_it += 1
        mean, mean_it = sums / n, sums_it / max(n_it, 1)
        bi = int(mean_it.argmax())
        out[name] = {"sentences": n, "it_sentences": n_it,
                     "head_mass_it": round(float(mean_it[L, H]), 4),
                     "head_mass_all_pronouns": round(float(mean[L, H]), 4),
                     "best_head_it": [bi // 4, bi % 4, round(float(mean_it.view(-1)[bi]), 4)],
                     "heads_at_least_0.3": int((mean_it >= 0.3).sum())}
    model.train()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3600,
                    help="training steps (the run is bounded by steps, not time, so that its "
                    "result does not depend on the machine's load)")
    ap.add_argument("--out", default=os.path.join(REPO, "samples", "model"))
    ap.add_argument("--bert-vocab",
                    default=os.path.join(REPO, "../shared/data/bert-base-chinese/vocab.txt"))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--ref-weight", type=float, default=0.5,
                    help="weight of the antecedent-naming objective at the pronoun (0: off)")
    ap.add_argument("--prose-share", type=float, default=0.5,
                    help="share of each batch that is prose (the rest: pronoun sentences)")
    ap.add_argument("--agent-weight", type=float, default=0.5,
                    help="weight of the agent-naming objective at the pronoun (0: off)")
    ap.add_argument("--init", metavar="DIR",
                    help="start from this saved model (a previous stage) instead of random "
                    "weights; its vocabulary must be the one this corpus gives")
    ap.add_argument("--seed", type=int, default=SEED,
                    help="seed of the initialisation and of the training stream (the held-out "
                    "sets and splits do not depend on it)")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

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
    if args.init:
        with open(os.path.join(args.init, "vocab.txt"), encoding="utf-8") as f:
            if [ln.rstrip("\n") for ln in f] != vocab:
                raise SystemExit("%s: vocabulary differs from this corpus's" % args.init)
        model = BertForMaskedLM.from_pretrained(args.init, attn_implementation="eager")
    ref_head = RefHead(cfg.hidden_size, len(vocab))
    opt = torch.optim.AdamW(list(model.parameters()) + list(ref_head.parameters()), lr=args.lr,
                            weight_decay=0.01)

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

    warm = 150
    t0 = time.time()
    step = 0
    ema = None
    while step < args.steps:
        el = time.time() - t0
        frac = step / args.steps
        lr = args.lr * min(1.0, (step + 1) / warm) * (0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        (inp, att, rows, cols, tgt), refs = b.batch(args.batch, args.prose_share)
        h = model.bert(input_ids=inp, attention_mask=att).last_hidden_state
        loss = torch.nn.functional.cross_entropy(model.cls(h[rows, cols]), tgt)
        if refs and (args.ref_weight > 0 or args.agent_weight > 0):
            rb = torch.tensor([r[0] for r in refs])
            rp = torch.tensor([r[1][0] for r in refs])
            logits = ref_head(h[rb, rp])
            ce = [torch.nn.functional.cross_entropy(z, torch.tensor([r[1][k + 1] for r in refs]))
                  for k, z in enumerate(logits)]
            loss = loss + args.ref_weight * 0.5 * (ce[0] + ce[1]) + \
                args.agent_weight * 0.5 * (ce[2] + ce[3])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        lv = loss.item()
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        if step % 100 == 0:
            s, L, H, n_heads = seed_attention(model, b)
            print("step %d  %.0fs  loss %.3f  lr %.2e  它->苹果 best %.2f (%d:%d), %d heads >= 0.5"
                  % (step, el, ema, lr, s, L, H, n_heads), flush=True)
        if step % 500 == 0:
            print("  held out:", json.dumps(heldout_attention(model, b, train_nouns, held_nouns,
                                                              L, H, 60), ensure_ascii=False),
                  flush=True)
            for k in ("verb, held-out nouns", "pronoun, held-out nouns"):
                print("  %s: %.3f" % (k, accuracy(model, evals[k], b.mask, b.pad)), flush=True)

    results = {k: round(accuracy(model, v, b.mask, b.pad), 4) for k, v in evals.items()}
    s, L, H, n_heads = seed_attention(model, b)
    held = heldout_attention(model, b, train_nouns, held_nouns, L, H)
    ablated = ablation(model, b, evals, L, H)
    info = {"init": args.init and os.path.basename(os.path.normpath(args.init)),
            "seed": args.seed, "lr": args.lr, "steps": step, "minutes": round((time.time() - t0) / 60, 1), "batch": args.batch,
            "final_loss_ema": round(ema, 4), "vocab_size": len(vocab),
            "masked_token_accuracy": results,
            "seed_sentence": SEED_SENTENCE,
            "best_head_it_to_apple": {"layer": L, "head": H, "mass": round(s, 4),
                                      "heads_at_least_half": n_heads},
            "that_head_pronoun_to_antecedent_held_out": held,
            "that_head_zeroed": ablated}
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
