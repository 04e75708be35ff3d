#!/usr/bin/env python3
"""Golden of the value-norm weightings (Kobayashi et al. 2020, "Attention is Not Only a
Weight"), written from the paper's equations with transformers' own modules:

    norm:     ||alpha_ij v_j||          = alpha_ij ||v_j||
    norm-out: ||alpha_ij v_j W_O^h||    = alpha_ij ||v_j W_O^h||

v_j is head h's value vector of token j (its key/value head under GQA) and W_O^h the rows
of the output projection's input that head h feeds. Computed in float64 from the layer
inputs transformers passes to each attention module (forward pre-hooks), for BERT (PyTorch
Linear), GPT-2 (Conv1D, the transposed layout) and a grouped-query LLaMA fixture.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_vnorm_golden.py
writes tests/fixtures/goldens/vnorm.json. Nothing here is computed by mhaviz.
"""
import json
import os

import torch
from transformers import AutoModel

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(os.path.dirname(HERE), "fixtures")

CASES = [("bert-f32", [2, 30, 41, 52, 77, 3]), ("dec-gpt2-f32", [5, 17, 250, 3, 99, 42, 7]),
         ("dec-llama-f16-gqa4-llama3", [1, 203, 207, 261, 178, 195])]


def value_and_wo(model, kind, mod, x):
    """(heads, n, d) value vectors and (heads, d, hidden) W_O slices of one layer."""
    if kind == "bert":
        sa = mod.self if hasattr(mod, "self") else mod
        v = x @ sa.value.weight.T + sa.value.bias
        nh = sa.num_attention_heads if hasattr(sa, "num_attention_heads") else model.config.num_attention_heads
        d = v.shape[-1] // nh
        wo = model_wo[id(mod)]
        vh = v.view(-1, nh, d).transpose(0, 1)
        return vh, wo.T.reshape(nh, d, -1), 1
    if kind == "gpt2":
        H = x.shape[-1]
        nh = model.config.n_head
        d = H // nh
        y = x @ mod.c_attn.weight + mod.c_attn.bias
        v = y[:, 2 * H:]
        vh = v.view(-1, nh, d).transpose(0, 1)
        return vh, mod.c_proj.weight.reshape(nh, d, -1), 1
    # llama
    cfg = model.config
    nh, nkv = cfg.num_attention_heads, cfg.num_key_value_heads
    d = getattr(cfg, "head_dim", None) or cfg.hidden_size // nh
    v = x @ mod.v_proj.weight.T
    vh = v.view(-1, nkv, d).transpose(0, 1)
    return vh, mod.o_proj.weight.T.reshape(nh, d, -1), nh // nkv


out = {"note": __doc__.strip().split("\n\n")[0], "cases": []}
for name, ids in CASES:
    path = os.path.join(FIX, name)
    model = AutoModel.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    kind = "bert" if "bert" in name else "gpt2" if "gpt2" in name else "llama"
    inputs = {}
    model_wo = {}
    if kind == "bert":
        attns = [l.attention for l in model.encoder.layer]
        for a in attns:
            model_wo[id(a.self)] = a.output.dense.weight
        mods = [a.self for a in attns]
    elif kind == "gpt2":
        mods = [b.attn for b in model.h]
    else:
        mods = [l.self_attn for l in model.layers]
    hooks = [m.register_forward_pre_hook(
        (lambda i: lambda mod, args, kwargs: inputs.__setitem__(i, (args[0] if args else kwargs["hidden_states"])[0]))(i),
        with_kwargs=True) for i, m in enumerate(mods)]
    x = torch.tensor([ids])
    with torch.no_grad():
        o = model(input_ids=x, attention_mask=torch.ones_like(x), output_attentions=True)
    for h in hooks:
        h.remove()
    norm, norm_out = [], []
    for l, m in enumerate(mods):
        a = o.attentions[l][0]  # (heads, n, n)
        with torch.no_grad():
            vh, wo, group = value_and_wo(model, kind, m, inputs[l])
            heads = a.shape[0]
            vn = torch.stack([vh[h // group].norm(dim=-1) for h in range(heads)])  # (heads, n)
            vo = torch.stack([(vh[h // group] @ wo[h]).norm(dim=-1) for h in range(heads)])
        norm.append((a * vn[:, None, :]).tolist())
        norm_out.append((a * vo[:, None, :]).tolist())
    out["cases"].append({"fixture": name, "token_ids": ids, "norm": norm, "norm_out": norm_out})
    print(name, "layers", len(mods))
with open(os.path.join(FIX, "goldens", "vnorm.json"), "w") as f:
    json.dump(out, f)
    f.write("\n")
