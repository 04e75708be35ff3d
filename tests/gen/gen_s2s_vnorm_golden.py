#!/usr/bin/env python3
"""Golden of the value-norm weightings (Kobayashi et al. 2020) on encoder-decoder models:
the encoder's, the decoder's and the cross-attention's heads, written from the paper's
equations with transformers' own modules, as gen_vnorm_golden.py does for the others:

    norm:     ||alpha_ij v_j||          = alpha_ij ||v_j||
    norm-out: ||alpha_ij v_j W_O^h||    = alpha_ij ||v_j W_O^h||

alpha: transformers' eager encoder_attentions, decoder_attentions and cross_attentions.
v_j: head h's value vector of key j, computed here from the input transformers hands to
each attention's value projection (a forward pre-hook on it) and that projection's weight
and bias: for the cross-attention the input is the encoder's output, so v_j is the SOURCE
token j's value vector through the cross-attention's own value projection, and W_O^h the
columns of the cross-attention's output projection that head h feeds.

Everything in float64 (the checkpoints' weights converted); "tolerance" is 1e-5 or 1.25x
the error of the same computation in transformers' float32 (the house rule), measured as
|x - golden| / (1 + |golden|) like tests/test_vnorm_seq2seq.c, over the case's pair and the
pairs of the fixture's attention golden (goldens/<fixture>.json), as that golden measures
its own tolerance over its sentences.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_s2s_vnorm_golden.py
writes tests/fixtures/goldens/vnorm-s2s.json. Nothing here is computed by mhaviz.
"""
import json
import os

import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(os.path.dirname(HERE), "fixtures")

# fixture, source ids, decoder input ids (its start token first)
CASES = [
    ("s2s-t5-f32", [5, 17, 60, 3, 44, 9], [0, 12, 7, 33, 21]),           # ReLU, tied
    ("s2s-t5-gated-untied-bf16", [8, 2, 71, 30, 15], [0, 40, 41, 6]),   # inner dim 24 != 32
    ("s2s-umt5-bf16", [11, 4, 90, 23, 56, 7, 1], [0, 19, 3, 88]),        # bias per layer
    ("s2s-bart-f32", [0, 14, 52, 9, 77, 2], [2, 0, 31, 8, 60]),          # post-LN, biases
    ("s2s-mbart-bf16", [14, 52, 9, 77, 2, 5], [2, 31, 8, 60, 12]),       # pre-LN
    ("s2s-marian-f32", [14, 52, 9, 77, 0], [5, 31, 8, 60, 12, 3]),      # sinusoidal
    ("s2s-nllb-f32", [5, 140, 33, 290, 2], [2, 77, 301, 12]),            # M2M100 / NLLB
    ("s2s-pegasus-untied-bf16", [14, 52, 9, 77, 1], [0, 31, 8, 60, 12]),  # Pegasus, untied
    ("s2s-blenderbot-small-f16", [14, 52, 9, 77, 2], [0, 31, 8, 60]),     # decoder norm first
]


def attention_modules(model):
    """(stack, layer, attention module, value projection, output projection) of every
    attention of the model, in the order of transformers' outputs."""
    out = []
    if hasattr(model, "encoder") and hasattr(model.encoder, "block"):  # T5, UMT5
        for i, b in enumerate(model.encoder.block):
            a = b.layer[0].SelfAttention
            out.append(("encoder", i, a, a.v, a.o))
        for i, b in enumerate(model.decoder.block):
            a = b.layer[0].SelfAttention
            out.append(("decoder", i, a, a.v, a.o))
            x = b.layer[1].EncDecAttention
            out.append(("cross", i, x, x.v, x.o))
        return out
    base = model.model if hasattr(model, "model") else model  # the BART family
    for i, l in enumerate(base.encoder.layers):
        out.append(("encoder", i, l.self_attn, l.self_attn.v_proj, l.self_attn.out_proj))
    for i, l in enumerate(base.decoder.layers):
        out.append(("decoder", i, l.self_attn, l.self_attn.v_proj, l.self_attn.out_proj))
        out.append(("cross", i, l.encoder_attn, l.encoder_attn.v_proj, l.encoder_attn.out_proj))
    return out


def weighted(cls, path, dtype, src, tgt):
    """{"norm": {stack: [layer][head][i][j]}, "norm_out": ...} of one run."""
    model = cls.from_pretrained(path, dtype=dtype, attn_implementation="eager").eval()
    mods = attention_modules(model)
    heads = model.config.num_heads if hasattr(model.config, "num_heads") else \
        model.config.encoder_attention_heads
    inputs = {}
    hooks = [v.register_forward_pre_hook(
        (lambda key: lambda mod, args: inputs.__setitem__(key, args[0][0]))((st, i)))
        for st, i, _, v, _ in mods]
    x = torch.tensor([src])
    y = torch.tensor([tgt])
    with torch.no_grad():
        o = model(input_ids=x, attention_mask=torch.ones_like(x), decoder_input_ids=y,
                  use_cache=False, output_attentions=True)
    for h in hooks:
        h.remove()
    att = {"encoder": o.encoder_attentions, "decoder": o.decoder_attentions,
           "cross": o.cross_attentions}
    res = {"norm": {"encoder": [], "decoder": [], "cross": []},
           "norm_out": {"encoder": [], "decoder": [], "cross": []}}
    for st, i, _, vp, op in mods:
        a = att[st][i][0]  # (heads, rows, keys)
        with torch.no_grad():
            xin = inputs[(st, i)]  # (keys, hidden): the value projection's input
            v = xin @ vp.weight.T + (vp.bias if vp.bias is not None else 0)
            d = v.shape[-1] // heads
            vh = v.view(-1, heads, d).transpose(0, 1)          # (heads, keys, d)
            wo = op.weight.T.reshape(heads, d, -1)             # (heads, d, hidden)
            vn = vh.norm(dim=-1)                               # (heads, keys)
            vo = torch.stack([(vh[h] @ wo[h]).norm(dim=-1) for h in range(heads)])
        res["norm"][st].append(a * vn[:, None, :])
        res["norm_out"][st].append(a * vo[:, None, :])
    return res


def worst_error(r32, r64):
    w = 0.0
    for kind in r64:
        for st in r64[kind]:
            for a, b in zip(r32[kind][st], r64[kind][st]):
                e = ((a.double() - b).abs() / (1 + b.abs())).max().item()
                w = max(w, e)
    return w


out = {"note": __doc__.strip().split("\n\n")[0], "cases": []}
for name, src, tgt in CASES:
    path = os.path.join(FIX, name)
    golden = json.load(open(os.path.join(FIX, "goldens", name + ".json")))
    cls = getattr(transformers, golden["class"])
    r64 = weighted(cls, path, torch.float64, src, tgt)
    err = worst_error(weighted(cls, path, torch.float32, src, tgt), r64)
    for s in golden["sentences"]:
        err = max(err, worst_error(weighted(cls, path, torch.float32, s["src_ids"], s["tgt_ids"]),
                                   weighted(cls, path, torch.float64, s["src_ids"], s["tgt_ids"])))
    tol = max(1e-5, 1.25 * err)
    case = {"fixture": name, "src_ids": src, "tgt_ids": tgt, "tolerance": float("%.3g" % tol)}
    for kind in ("norm", "norm_out"):
        case[kind] = {st: [[[[round(float(v), 12) for v in row] for row in h] for h in layer]
                           for layer in r64[kind][st]] for st in r64[kind]}
    out["cases"].append(case)
    print(name, "tolerance %.3g" % tol)
with open(os.path.join(FIX, "goldens", "vnorm-s2s.json"), "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
