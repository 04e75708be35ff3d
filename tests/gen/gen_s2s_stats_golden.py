#!/usr/bin/env python3
"""Golden of `mhaviz stats --pairs --stack enc|dec|cross` on an encoder-decoder: the
per-head statistics of every stack, computed here from transformers' eager attentions
(encoder_attentions, decoder_attentions, cross_attentions) of the T5 fixture
tests/fixtures/s2s-t5-tok-f16 on the text pairs of tests/fixtures/s2s-stats.txt.

Inputs as `run --pairs` feeds them: the source as tokenizer.json encodes it, the decoder's
input its start token (pad, 0) then the target's encoding (teacher forcing).

The statistics, as man/mhaviz.1 defines them (each a mean over the query rows of a
sentence, then over the sentences that have it):
  entropy   -sum_j w log2 w
  distance  square maps: sum_j w |i - j|; cross maps (T target rows x S source columns):
            sum_j w |j - d_i| with d_i = (i + 1/2) S / T - 1/2 (the rectangle's diagonal)
  first     w[i][0]
  sep       sum of w[i][j] over separators: keys j > 0 that the tokenizer added as special
            tokens (T5's </s>); for the decoder the target's, one position later
  prev, next, self   w[i][i-1] (i >= 1), w[i][i+1] (i <= n-2), w[i][i]; none for cross maps

The golden holds the float64 run's means and, per statistic, the tolerance: 1e-5 or 1.25x
the largest difference between the fp32 and the float64 runs' means. Nothing here is
computed by mhaviz.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_s2s_stats_golden.py
writes tests/fixtures/s2s-stats.txt and tests/fixtures/goldens/stats-s2s-t5.json.
"""
import json
import math
import os

import torch
from tokenizers import Tokenizer
from transformers import T5ForConditionalGeneration

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(os.path.dirname(HERE), "fixtures")
MODEL = os.path.join(FIX, "s2s-t5-tok-f16")
PAIRS = [("The cat sat on the mat.", "Die Katze sass auf der Matte."),
         ("Hello world", "Hallo Welt"),
         ("a", "Ein langer Satz, viel laenger als seine Quelle."),
         ("A long source sentence with many words in it.", "kurz")]
NAMES = ["entropy", "distance", "first", "sep", "prev", "next", "self"]


def head_stats(w, sep, cross):
    """w: (rows, cols) float64 tensor; sep: (cols,) bools. Returns {name: mean or None}."""
    rows, cols = w.shape
    sums = dict.fromkeys(NAMES, 0.0)
    n_prev = n_next = 0
    for i in range(rows):
        r = w[i].tolist()
        sums["entropy"] -= sum(p * math.log2(p) for p in r if p > 0)
        d = (i + 0.5) * cols / rows - 0.5 if cross else i
        sums["distance"] += sum(p * abs(j - d) for j, p in enumerate(r))
        sums["first"] += r[0]
        sums["sep"] += sum(p for j, p in enumerate(r) if sep[j])
        if not cross:
            sums["self"] += r[i]
            if i >= 1:
                sums["prev"] += r[i - 1]
                n_prev += 1
            if i + 1 < cols:
                sums["next"] += r[i + 1]
                n_next += 1
    out = {}
    for k in NAMES:
        n = n_prev if k == "prev" else n_next if k == "next" else rows
        if cross and k in ("prev", "next", "self"):
            n = 0
        if k == "sep" and not any(sep):
            n = 0
        out[k] = sums[k] / n if n else None
    return out


def corpus_stats(model, tk, start):
    model_stats = {}
    for src, tgt in PAIRS:
        es, et = tk.encode(src), tk.encode(tgt)
        x = torch.tensor([es.ids])
        y = torch.tensor([[start] + et.ids])
        with torch.no_grad():
            out = model(input_ids=x, attention_mask=torch.ones_like(x), decoder_input_ids=y,
                        use_cache=False, output_attentions=True)
        ssep = [j > 0 and m == 1 for j, m in enumerate(es.special_tokens_mask)]
        tsep = [False] + [m == 1 for m in et.special_tokens_mask]
        for stack, key, sep in (("encoder", "encoder_attentions", ssep),
                                ("decoder", "decoder_attentions", tsep),
                                ("cross", "cross_attentions", ssep)):
            for layer, att in enumerate(getattr(out, key)):
                for head in range(att.shape[1]):
                    st = head_stats(att[0, head].double(), sep, stack == "cross")
                    acc = model_stats.setdefault((stack, layer, head), {k: [] for k in NAMES})
                    for k, v in st.items():
                        if v is not None:
                            acc[k].append(v)
    return {key: {k: (sum(v) / len(v) if v else None) for k, v in acc.items()}
            for key, acc in model_stats.items()}


def main():
    tk = Tokenizer.from_file(os.path.join(MODEL, "tokenizer.json"))
    r32 = T5ForConditionalGeneration.from_pretrained(MODEL, dtype=torch.float32,
                                                     attn_implementation="eager").eval()
    r64 = T5ForConditionalGeneration.from_pretrained(MODEL, dtype=torch.float64,
                                                     attn_implementation="eager").eval()
    start = r32.generation_config.decoder_start_token_id  # T5: its pad token
    if start is None:
        start = r32.config.pad_token_id
    s32, s64 = corpus_stats(r32, tk, start), corpus_stats(r64, tk, start)
    tol = {}
    for k in NAMES:
        worst = max((abs(s32[h][k] - s64[h][k]) for h in s64 if s64[h][k] is not None),
                    default=0.0)
        tol[k] = max(1e-5, 1.25 * worst)
    heads = [{"stack": s, "layer": l, "head": h, **s64[(s, l, h)]} for (s, l, h) in sorted(s64)]
    with open(os.path.join(FIX, "s2s-stats.txt"), "w", encoding="utf-8") as f:
        for a, b in PAIRS:
            f.write(f"{a}\t{b}\n")
    with open(os.path.join(FIX, "goldens", "stats-s2s-t5.json"), "w", encoding="utf-8") as f:
        json.dump({"model": "s2s-t5-tok-f16", "corpus": "s2s-stats.txt", "tolerance": tol,
                   "heads": heads}, f, indent=0)
        f.write("\n")
    print("tolerances:", ", ".join("%s %.2g" % kv for kv in tol.items()))


if __name__ == "__main__":
    main()
