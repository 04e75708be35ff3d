#!/usr/bin/env python3
"""Golden of head ablation (mhaviz ablate): the logits of masked-LM and causal-LM models with
chosen heads' outputs removed, computed by transformers in float64.

transformers 5 has no head_mask, so a head is removed as TransformerLens does it: a forward
pre-hook on the attention output projection (BERT attention.output.dense, RoBERTa the same,
GPT-2 attn.c_proj, LLaMA self_attn.o_proj) replaces the head's slice of its input (the
head's softmax(q k^T) v, d columns) by zeros ("zero") or by a given vector ("mean": the
head's output averaged over every token of every sentence of the case, collected by the
same hook on an unablated pass). The golden holds, per case, the sentences' ids, the mean
vectors, and for each ablation the log-softmax of the logits at every position.

Fixtures: bert-mlm-old (BertForMaskedLM with a stored decoder and old gamma/beta names),
abl-roberta-mlm (RobertaForMaskedLM, tied decoder, made here with famgen's randomize),
dec-gpt2-f32 (Conv1D) and dec-llama-f16-gqa4-llama3 (grouped-query attention, F16).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_ablation_golden.py
writes tests/fixtures/abl-roberta-mlm/ and tests/fixtures/goldens/ablation.json. Nothing
here is computed by mhaviz.
"""
import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, RobertaConfig, \
    RobertaForMaskedLM

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import famgen  # noqa: E402

FIX = os.path.join(os.path.dirname(HERE), "fixtures")


def make_roberta():
    path = os.path.join(FIX, "abl-roberta-mlm")
    famgen.reset_dir(path)
    cfg = RobertaConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=64,
                        max_position_embeddings=40, type_vocab_size=1, pad_token_id=1,
                        hidden_act="gelu_new", tie_word_embeddings=True)
    torch.manual_seed(5)
    m = RobertaForMaskedLM(cfg).eval()
    famgen.randomize(m, 5, 0.6)
    m.tie_weights()
    m.save_pretrained(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)


# (fixture, loader, sentences of ids, ablations: (name, mode, [[layer, head], ...]))
CASES = [
    ("bert-mlm-old", "mlm", [[2, 30, 4, 52, 77, 3], [2, 11, 12, 4, 3], [2, 100, 4, 3]],
     [("L1H2", "zero", [[1, 2]]), ("L0all", "zero", [[0, 0], [0, 1], [0, 2], [0, 3]]),
      ("L2H0+L0H3-mean", "mean", [[2, 0], [0, 3]])]),
    ("abl-roberta-mlm", "mlm", [[0, 30, 4, 52, 77, 2], [0, 11, 12, 4, 2]],
     [("L1H1", "zero", [[1, 1]]), ("L0H0-mean", "mean", [[0, 0]]),
      ("all-mean", "mean", [[l, h] for l in range(2) for h in range(4)])]),
    ("dec-gpt2-f32", "clm", [[5, 17, 250, 3, 99, 42, 7], [8, 9, 10]],
     [("L0H1", "zero", [[0, 1]]), ("L1H0-mean", "mean", [[1, 0], [1, 1]])]),
    ("dec-llama-f16-gqa4-llama3", "clm", [[1, 203, 207, 261, 178, 195], [1, 5, 6]],
     [("L0H2", "zero", [[0, 2]]), ("L1-mean", "mean", [[1, 0], [1, 3]])]),
]


def out_projs(model):
    """[(module, heads, head_dim)] of the attention output projections, layer order."""
    cfg = model.config
    nh = cfg.num_attention_heads
    d = getattr(cfg, "head_dim", None) or cfg.hidden_size // nh
    base = getattr(model, model.base_model_prefix)
    if hasattr(base, "encoder"):
        return [(l.attention.output.dense, nh, d) for l in base.encoder.layer]
    if hasattr(base, "h"):
        return [(b.attn.c_proj, nh, d) for b in base.h]
    return [(l.self_attn.o_proj, nh, d) for l in base.layers]


def run(model, sentences, off=None, mean=None, collect=None):
    """log_softmax(logits) per sentence with heads off replaced (mean or zeros); collect:
    sums[l][h] += the head's output rows, and the row count."""
    hooks = []
    for l, (mod, nh, d) in enumerate(out_projs(model)):
        def pre(m, args, l=l, nh=nh, d=d):
            x = args[0].clone()  # (1, n, nh*d)
            if collect is not None:
                for h in range(nh):
                    collect["sum"][l][h] += x[0, :, h * d:(h + 1) * d].sum(0)
                if l == 0:
                    collect["rows"] += x.shape[1]
            for (ll, h) in (off or []):
                if ll == l:
                    x[0, :, h * d:(h + 1) * d] = mean[l][h] if mean is not None else 0.0
            return (x,) + tuple(args[1:])
        hooks.append(mod.register_forward_pre_hook(pre))
    out = []
    with torch.no_grad():
        for ids in sentences:
            t = torch.tensor([ids])
            lg = model(input_ids=t, attention_mask=torch.ones_like(t)).logits[0]
            out.append(torch.log_softmax(lg, -1).tolist())
    for h in hooks:
        h.remove()
    return out


def round9(x):
    """9 significant digits: beyond what an fp32 computation can match anyway."""
    if isinstance(x, float):
        return float("%.9g" % x)
    if isinstance(x, list):
        return [round9(v) for v in x]
    if isinstance(x, dict):
        return {k: round9(v) for k, v in x.items()}
    return x


def main():
    make_roberta()
    golden = {"note": __doc__.strip().split("\n\n")[0], "cases": []}
    for name, kind, sentences, ablations in CASES:
        path = os.path.join(FIX, name)
        cls = AutoModelForMaskedLM if kind == "mlm" else AutoModelForCausalLM
        model = cls.from_pretrained(path, dtype=torch.float64,
                                    attn_implementation="eager").eval()
        projs = out_projs(model)
        L, nh, d = len(projs), projs[0][1], projs[0][2]
        col = {"sum": [[torch.zeros(d, dtype=torch.float64) for _ in range(nh)]
                       for _ in range(L)], "rows": 0}
        base = run(model, sentences, collect=col)
        mean = [[s / col["rows"] for s in row] for row in col["sum"]]
        case = {"fixture": name, "kind": kind, "sentences": sentences,
                "mean": [[m.tolist() for m in row] for row in mean],
                "ablations": [{"name": "none", "mode": "zero", "heads": [],
                               "logprobs": base}]}
        for aname, mode, heads in ablations:
            lp = run(model, sentences, off=heads, mean=mean if mode == "mean" else None)
            case["ablations"].append({"name": aname, "mode": mode, "heads": heads,
                                      "logprobs": lp})
        golden["cases"].append(case)
        print(name, "layers", L, "heads", nh)
    with open(os.path.join(FIX, "goldens", "ablation.json"), "w") as f:
        json.dump(round9(golden), f)
        f.write("\n")


if __name__ == "__main__":
    main()
