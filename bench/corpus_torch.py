#!/usr/bin/env python3
"""The PyTorch side of bench/bench_corpus.sh: corpus throughput of a BERT-base-shaped
encoder run in batches, as a PyTorch user computes attention statistics over a corpus.

    python3 bench/corpus_torch.py gen OUT.txt [--sentences 1000] [--vocab VOCAB]
    python3 bench/corpus_torch.py run IDS.txt [--threads 1,2] [--batch 32] [--reps 2]

gen writes the corpus: sentences of 6..62 Chinese characters drawn from the vocabulary's
single-character CJK tokens (8..64 tokens with [CLS] and [SEP] under bert-base-chinese's
WordPiece), seeded, so every run measures the same file.

run reads one line of token ids per sentence (`mhaviz tokenize`'s second column), then per
batch of --batch sentences in file order: pads them to the batch's longest, runs
transformers' BertModel (random weights, eager attention, output_attentions=True), and does
on the returned attentions what `mhaviz stats` does: per head and sentence the mean over
its query rows of the entropy (bits), the mean distance |i-j|, the mass on the first token,
on [SEP] (its last token), on the previous, next and own token, summed over the corpus
(float32, vectorised, padding masked). Prints `RESULT threads=T sentences_per_s=X` (best of
--reps passes over the whole corpus after a warm-up batch) and the CPU time of that
pass (user + system, all threads). Exits 3 without torch or transformers.
"""
import argparse
import random
import sys
import time


def gen(args):
    vocab = [line.rstrip("\n") for line in open(args.vocab, encoding="utf-8")]
    cjk = [t for t in vocab if len(t) == 1 and "\u4e00" <= t <= "\u9fff"]
    r = random.Random(20261207)
    with open(args.out, "w", encoding="utf-8") as f:
        for _ in range(args.sentences):
            f.write("".join(r.choice(cjk) for _ in range(r.randint(6, 62))) + "\n")


def stats_of(torch, attentions, lens):
    """(layers, heads, 7) sums over the batch of each sentence's per-head means."""
    B, n = attentions[0].shape[0], attentions[0].shape[-1]
    pos = torch.arange(n)
    valid = pos[None, :] < lens[:, None]                           # (B, n)
    rowm = valid[:, None, :, None].float()                         # (B, 1, n, 1) query rows
    dist = (pos[:, None] - pos[None, :]).abs().float()             # (n, n)
    sep = (pos[None, :] == (lens - 1)[:, None]).float()            # (B, n) the [SEP] key
    eye = torch.eye(n)
    prev, nxt = torch.diag(torch.ones(n - 1), -1), torch.diag(torch.ones(n - 1), 1)
    cnt = lens.float()[:, None]                                    # rows per sentence
    out = []
    for p in attentions:                                           # (B, H, n, n)
        plog = torch.where(p > 0, p * torch.log2(p.clamp_min(1e-45)), torch.zeros(()))
        per_row = torch.stack([
            -plog.sum(-1), (p * dist).sum(-1), p[..., 0],
            (p * sep[:, None, None, :]).sum(-1), (p * prev).sum(-1), (p * nxt).sum(-1),
            (p * eye).sum(-1)], -1)                                # (B, H, n, 7)
        s = (per_row * rowm).sum(2)                                # (B, H, 7)
        div = torch.stack([cnt, cnt, cnt, cnt, cnt - 1, cnt - 1, cnt], -1)  # (B, 1, 7)
        out.append((s / div).sum(0))
    return torch.stack(out)


def run(args):
    try:
        import torch
        import transformers
        from transformers import BertConfig, BertModel
    except Exception as e:  # noqa: BLE001 - any import failure means "not available"
        print(f"torch/transformers not importable from {sys.executable}: {e}")
        sys.exit(3)
    sents = [[int(t) for t in line.split()] for line in open(args.ids) if line.strip()]
    cfg = BertConfig(vocab_size=21128, hidden_size=768, num_hidden_layers=12,
                     num_attention_heads=12, intermediate_size=3072,
                     max_position_embeddings=512)
    cfg._attn_implementation = "eager"  # the probabilities materialised, as returned
    torch.manual_seed(0)
    model = BertModel(cfg, add_pooling_layer=False).eval()
    print(f"torch {torch.__version__}, transformers {transformers.__version__} BertModel "
          f"(eager), batch {args.batch} padded in file order, {len(sents)} sentences")
    sys.stdout.flush()
    batches = []
    for b in range(0, len(sents), args.batch):
        chunk = sents[b:b + args.batch]
        n = max(len(s) for s in chunk)
        ids = torch.zeros(len(chunk), n, dtype=torch.long)
        for i, s in enumerate(chunk):
            ids[i, :len(s)] = torch.tensor(s)
        lens = torch.tensor([len(s) for s in chunk])
        batches.append((ids, (torch.arange(n)[None, :] < lens[:, None]).long(), lens))

    def one(batch):
        ids, mask, lens = batch
        out = model(input_ids=ids, attention_mask=mask, output_attentions=True)
        return stats_of(torch, out.attentions, lens)

    for t in [int(x) for x in args.threads.split(",")]:
        torch.set_num_threads(t)
        best, cpu = float("inf"), float("inf")
        with torch.inference_mode():
            one(batches[0])  # warm-up
            for _ in range(args.reps):
                t0, c0 = time.perf_counter(), time.process_time()
                total = sum(one(b) for b in batches)
                best = min(best, time.perf_counter() - t0)
                cpu = min(cpu, time.process_time() - c0)
        assert total.shape == (12, 12, 7)
        print(f"RESULT threads={t} sentences_per_s={len(sents) / best:.2f} cpu_s={cpu:.2f}")
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("out")
    g.add_argument("--sentences", type=int, default=1000)
    g.add_argument("--vocab", required=True)
    r = sub.add_parser("run")
    r.add_argument("ids")
    r.add_argument("--threads", default="1,2")
    r.add_argument("--batch", type=int, default=32)
    r.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    gen(args) if args.cmd == "gen" else run(args)


if __name__ == "__main__":
    main()
