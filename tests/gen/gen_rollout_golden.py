#!/usr/bin/env python3
"""Make tests/fixtures/goldens/rollout-bert-f32.json: per-layer head means and attention
rollout (Abnar & Zuidema 2020) of tests/fixtures/bert-f32, computed with numpy in float64
from the attention probabilities of Hugging Face transformers, never from mhaviz.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 python3 tests/gen/gen_rollout_golden.py

Rollout, as `mhaviz run --aggregate rollout` documents it: per layer
A~_l = 0.5 * mean_heads(A_l) + 0.5 * I, rows renormalised to sum 1;
R_0 = A~_0, R_l = A~_l @ R_{l-1}. Entry l covers layers 0..l.
The token ids are those of the bert-f32 golden (made by HF's tokenizer).
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bertgen as bg  # noqa: E402

FIXTURE = "bert-f32"
SENTENCES = [0, 3, 8]  # short, mixed Latin/digits, the longest


def rollout(att):
    """att: (layers, heads, n, n) float64 -> (means, rollouts), each (layers, n, n)."""
    means = att.mean(axis=1)
    n = att.shape[-1]
    rolls = []
    r = None
    for m in means:
        a = 0.5 * m + 0.5 * np.eye(n)
        a = a / a.sum(axis=-1, keepdims=True)
        r = a if r is None else a @ r
        rolls.append(r)
    return means, np.stack(rolls)


def main():
    d = os.path.join(bg.FIXTURES, FIXTURE)
    with open(os.path.join(bg.FIXTURES, "goldens", FIXTURE + ".json"), encoding="utf-8") as f:
        src = json.load(f)
    model, _ = bg.load_bert(d)
    out = {"fixture": FIXTURE,
           "source": "numpy float64 over transformers attentions; tests/gen/gen_rollout_golden.py",
           "sentences": []}
    for i in SENTENCES:
        s = src["sentences"][i]
        att = bg.attentions(model, s["token_ids"]).double().numpy()
        means, rolls = rollout(att)
        out["sentences"].append({"text": s["text"], "token_ids": s["token_ids"],
                                 "mean": np.round(means, 9).tolist(),
                                 "rollout": np.round(rolls, 9).tolist()})
    path = os.path.join(bg.FIXTURES, "goldens", "rollout-%s.json" % FIXTURE)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print("%s: %d sentences, %d bytes" % (path, len(SENTENCES), os.path.getsize(path)))


if __name__ == "__main__":
    main()
