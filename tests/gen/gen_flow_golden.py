#!/usr/bin/env python3
"""Make tests/fixtures/goldens/flow.json: attention flow (Abnar & Zuidema 2020) computed with
networkx's maximum flow, never with mhaviz, for tests/test_rollout.c.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 /work/venv/bin/python tests/gen/gen_flow_golden.py

(needs numpy, networkx, and for the bert-f32 case torch + transformers.)

The flow, as `mhaviz run --aggregate flow` documents it (lib/analysis/flow.h), following the
paper's own code (compute_flows in samiraabnar/attention_flow):
  A_l = 0.5 * mean_heads(attention_l) + 0.5 * I, rows renormalised to sum 1;
  the graph has a node (m, x) per depth m = 0..L and token x, and an edge (m+1, x) -> (m, y)
  of capacity A_m[x][y];
  flow_l[i][j] = max flow from (l+1, i) to (0, j) (Edmonds-Karp, as the paper's code), each
  row divided by its sum.
Cases: small random attentions (stored in the golden as float32 values, so that the C test
feeds mhv_aggregate exactly what the flows were computed from; one of them causal and one
with near one-hot heads, where flow and rollout differ most), and sentence 0 of the bert-f32
golden with the attentions of Hugging Face transformers. The random cases are also solved
with exact rational capacities (fractions.Fraction) as a check on networkx's floating point.
"""

import json
import os
import sys
from fractions import Fraction

import networkx as nx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
OUT = os.path.join(FIXTURES, "goldens", "flow.json")


def mixed(att):
    """att: (layers, heads, n, n) -> A: (layers, n, n) float64, residual mixed in."""
    m = att.astype(np.float64).mean(axis=1)
    n = m.shape[-1]
    a = 0.5 * m + 0.5 * np.eye(n)
    return a / a.sum(axis=-1, keepdims=True)


def graph(a, exact=False):
    layers, n, _ = a.shape
    g = nx.DiGraph()
    for m in range(layers):
        for x in range(n):
            for y in range(n):
                c = Fraction(float(a[m, x, y])) if exact else float(a[m, x, y])
                g.add_edge((m + 1, x), (m, y), capacity=c)
    return g


def flow(a, exact=False):
    layers, n, _ = a.shape
    g = graph(a, exact)
    out = np.zeros((layers, n, n))
    for l in range(layers):
        for i in range(n):
            row = [nx.maximum_flow_value(g, (l + 1, i), (0, j),
                                         flow_func=nx.algorithms.flow.edmonds_karp)
                   for j in range(n)]
            total = sum(row)
            out[l, i] = [float(v / total) for v in row]
    return out


def random_attention(rng, layers, heads, n, scale, causal=False):
    logits = rng.normal(size=(layers, heads, n, n)) * scale
    if causal:
        logits = logits + np.triu(np.full((n, n), -np.inf), k=1)
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    return p.astype(np.float32)


def rounded(x):
    return np.round(np.asarray(x, dtype=np.float64), 12).tolist()


def main():
    rng = np.random.default_rng(20)
    cases = []
    specs = [("random", 3, 2, 5, 1.5, False), ("causal", 4, 3, 6, 1.5, True),
             ("peaked", 2, 1, 4, 8.0, False), ("one-token", 2, 2, 1, 1.0, False)]
    for name, layers, heads, n, scale, causal in specs:
        att = random_attention(rng, layers, heads, n, scale, causal)
        a = mixed(att)
        f = flow(a)
        fx = flow(a, exact=True)
        worst = float(np.abs(f - fx).max())
        assert worst < 1e-12, (name, worst)
        cases.append({"name": name, "layers": layers, "heads": heads, "n": n,
                      "attention": [[[[float(v) for v in row] for row in h] for h in l]
                                    for l in att],
                      "flow": rounded(f)})
        print("%s: %d layers, %d heads, %d tokens; float vs exact %.2g" %
              (name, layers, heads, n, worst))
    out = {"source": "networkx %s maximum_flow_value (edmonds_karp); tests/gen/gen_flow_golden.py"
           % nx.__version__, "cases": cases}
    try:
        sys.path.insert(0, HERE)
        import bertgen as bg
        with open(os.path.join(bg.FIXTURES, "goldens", "bert-f32.json"), encoding="utf-8") as f:
            s = json.load(f)["sentences"][0]
        model, _ = bg.load_bert(os.path.join(bg.FIXTURES, "bert-f32"))
        att = bg.attentions(model, s["token_ids"]).double().numpy()
        out["bert-f32"] = {"text": s["text"], "token_ids": s["token_ids"],
                           "flow": rounded(flow(mixed(att)))}
        print("bert-f32: %d tokens" % len(s["token_ids"]))
    except ImportError as e:
        sys.exit("gen_flow_golden: %s (the bert-f32 case needs torch and transformers)" % e)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print("%s: %d bytes" % (OUT, os.path.getsize(OUT)))


if __name__ == "__main__":
    main()
