#!/usr/bin/env python3
"""Goldens of Longformer's global attention (tests/fixtures/goldens/global-*.json), checked by
tests/test_global.c: transformers' LongformerModel / LongformerForMaskedLM and LED run with a
global_attention_mask, every head's full (seq, seq) map as mhaviz writes it.

transformers returns two tensors per layer: `attentions` (heads, seq, x + attention_window + 1),
a query's weights to the x global tokens (in position order) and then to its band (column
x + c is key i + c - attention_window / 2), with the global tokens' own rows zero; and
`global_attentions` (heads, padded seq, x), column k the row of the k-th global token over
every key. The goldens assemble each map from both: a non-global row gets its global columns
at the global tokens' positions and its band where its keys are (a band column on a global
key, or past the ends, must be 0, which is checked), a global row is its global_attentions
column (its padding keys must be 0); every row must sum to 1. Zeros stay where a token does
not attend.

The checkpoints are the family fixtures of tests/gen/fam_longformer.py and fam_led.py (read,
never rewritten: attention_window 4, [4, 8] and 8; F32, F16, BF16; LongformerModel, *ForMaskedLM,
*ForSequenceClassification's encoder; LEDForConditionalGeneration, LEDModel) and one made here,
global-longformer-3l-f32: LongformerForMaskedLM of three layers with windows [8, 4, 8].
Sentences of 13 and 17 tokens are padded by transformers to a multiple of the largest window.
Global tokens: the first only, several (the last among them), every token, none (an all-zero
mask: the maps without global attention), one past the first window.

As famgen.py: the goldens are the float64 run of the fp32-loaded weights, the tolerance 1e-5
or 1.25x transformers' own fp32 error against it; logits of the last position for the
masked-LM fixtures and LEDForConditionalGeneration; and for it, the tokens of greedy
generate() with a global_attention_mask (the smallest margin between the best and
second-best logit on the way beside them). Nothing here is computed by mhaviz.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/global_longformer.py
"""
import json
import os
import random
import sys

import torch
from transformers import (GenerationConfig, LEDForConditionalGeneration, LEDModel, LongformerConfig,
                          LongformerForMaskedLM, LongformerForSequenceClassification,
                          LongformerModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

# (tokens, global positions): None is every token
GEN_NEW = 8
CASES = [(1, [0]), (6, [0]), (13, [0]), (13, [0, 5, 6, 12]), (9, None), (11, []), (17, [7])]


def full_maps(local, glob, n, positions):
    """One layer's local (heads, n, x + 2w + 1) and global (heads, padded, x) attentions ->
    (heads, n, n)."""
    heads, rows, width = local.shape
    x = len(positions)
    w = (width - x - 1) // 2
    out = torch.zeros(heads, n, n, dtype=local.dtype)
    is_global = set(positions)
    for i in range(n):
        if i in is_global:
            assert (local[:, i] == 0).all(), "a global token's local row is not 0"
            k = positions.index(i)
            out[:, i] = glob[:, :n, k]
            assert (glob[:, n:, k] == 0).all(), "a global row weighs a padding key"
            continue
        for k, j in enumerate(positions):
            out[:, i, j] = local[:, i, k]
        for c in range(2 * w + 1):
            j = i + c - w
            if 0 <= j < n and j not in is_global:
                out[:, i, j] = local[:, i, x + c]
            else:
                assert (local[:, i, x + c] == 0).all(), "a band column off the keys is not 0"
    assert ((out.sum(-1) - 1).abs() < 1e-4).all(), "a row does not sum to 1"
    return out


def stack(local, glob, n, positions):
    if not positions:
        assert glob is None
        return torch.stack([full_maps(a[0], None, n, []) for a in local])
    return torch.stack([full_maps(a[0], g[0], n, positions) for a, g in zip(local, glob)])


def mask_of(n, positions):
    m = torch.zeros(1, n, dtype=torch.long)
    for p in positions:
        m[0, p] = 1
    return m


def run_encoder(model, ids, positions):
    x = torch.tensor([ids], dtype=torch.long)
    with torch.no_grad():
        out = model(input_ids=x, attention_mask=torch.ones_like(x), output_attentions=True,
                    global_attention_mask=mask_of(len(ids), positions))
    att = stack(out.attentions, out.global_attentions, len(ids), positions)
    # the masked-LM head's logits (a classifier's are not checked)
    logits = out.logits[0, -1] if isinstance(model, LongformerForMaskedLM) else None
    return [att], logits


def run_led(model, ids, positions, tgt):
    x = torch.tensor([ids], dtype=torch.long)
    y = torch.tensor([tgt], dtype=torch.long)
    with torch.no_grad():
        out = model(input_ids=x, attention_mask=torch.ones_like(x), decoder_input_ids=y,
                    use_cache=False, output_attentions=True,
                    global_attention_mask=mask_of(len(ids), positions))
    enc = stack(out.encoder_attentions, out.encoder_global_attentions, len(ids), positions)
    stacks = [enc] + [torch.stack([a[0] for a in getattr(out, k)])
                      for k in ("decoder_attentions", "cross_attentions")]
    logits = out.logits[0, -1] if getattr(out, "logits", None) is not None else None
    return stacks, logits


def greedy(model, src, positions, n):
    """generate() with the global_attention_mask (as LED's summarisation example passes it),
    plain greedy as s2sgen's: the tokens (up to the end token) and the smallest margin
    between the best and second-best logit on the way."""
    cfg = model.config
    gc = GenerationConfig(do_sample=False, num_beams=1, max_new_tokens=n,
                          decoder_start_token_id=cfg.decoder_start_token_id,
                          eos_token_id=cfg.eos_token_id, pad_token_id=cfg.pad_token_id,
                          use_cache=False)
    model.generation_config = gc
    for key in ("forced_eos_token_id", "forced_bos_token_id"):
        setattr(model.config, key, None)
    x = torch.tensor([src], dtype=torch.long)
    with torch.no_grad():
        out = model.generate(input_ids=x, attention_mask=torch.ones_like(x),
                             global_attention_mask=mask_of(len(src), positions),
                             generation_config=gc, output_scores=True,
                             return_dict_in_generate=True)
    ids = out.sequences[0].tolist()
    margin = min((s[0].topk(2).values[0] - s[0].topk(2).values[1]).item() for s in out.scores)
    if cfg.eos_token_id in ids[1:]:
        ids = ids[:ids.index(cfg.eos_token_id, 1) + 1]
    return ids, margin


def golden(name, fixture, cls, seed, note, avoid=(1,), make=None, led=False):
    path = os.path.join(fg.FIXTURES, fixture)
    if make:
        make(path)
    ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    r64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    cfg = ref.config
    r = random.Random(seed)
    ok = [i for i in range(cfg.vocab_size) if i not in set(avoid)]
    items, worst = [], 0.0
    for n, positions in CASES:
        positions = list(range(n)) if positions is None else positions
        ids = [r.choice(ok) for _ in range(n)]
        tgt = [cfg.decoder_start_token_id] + [r.choice(ok) for _ in range(3)] if led else None
        run = (lambda mdl: run_led(mdl, ids, positions, tgt)) if led else \
            (lambda mdl: run_encoder(mdl, ids, positions))
        s32, l32 = run(ref)
        s64, _ = run(r64)
        for a, b in zip(s32, s64):
            worst = max(worst, (a.double() - b).abs().max().item())
        items.append((ids, positions, tgt, s64, l32))
    gens = []  # LED's generate() with global tokens, sources whose greedy choices are clear
    for k, positions in enumerate([[0], [0, 3], [0], [2, 5]] if hasattr(ref, "lm_head") and led
                                  else []):
        while True:
            src = [r.choice(ok) for _ in range(6 + 3 * k)]
            ids, margin = greedy(ref, src, positions, GEN_NEW)
            if margin > 0.02:
                break
        gens.append((src, positions, ids, margin))
    tol = max(1e-5, 1.25 * worst)
    parts = ['{"fixture": %s,' % json.dumps(fixture), ' "source": %s,' % json.dumps(fg.SOURCE),
             ' "class": %s,' % json.dumps(cls.__name__), ' "note": %s,' % json.dumps(note),
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol, ' "sentences": [']
    sents = []
    for ids, positions, tgt, stacks, logits in items:
        s = '  {"token_ids": %s,\n   "global": %s' % (json.dumps(ids), json.dumps(positions))
        if led:
            s += ',\n   "tgt_ids": %s' % json.dumps(tgt)
            for key, att in zip(("encoder", "decoder", "cross"), stacks):
                s += ',\n   "%s": %s' % (key, fg._dump(att.tolist(), 4))
        else:
            s += ',\n   "attentions": %s' % fg._dump(stacks[0].tolist(), 4)
        if logits is not None:
            s += ',\n   "logits_last": %s' % fg._dump(logits.float().tolist(), 1)
        sents.append(s + "}")
    parts.append(",\n".join(sents))
    if gens:
        parts.append(" ],")
        parts.append(' "generate": [%s]}' % ",\n  ".join(
            '{"src_ids": %s, "global": %s, "max_new": %d, "ids": %s, "min_margin": %.3g}' %
            (json.dumps(src), json.dumps(p), GEN_NEW, json.dumps(i), mg)
            for src, p, i, mg in gens))
    else:
        parts.append(" ]}")
    gpath = os.path.join(fg.GOLDENS, name + ".json")
    with open(gpath, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")
    json.load(open(gpath))
    print("%s: %s on %s, fp32 vs fp64 %.2g, tolerance %.2g%s" % (
        name, cls.__name__, fixture, worst, tol,
        ", generation margins " + ", ".join("%.2g" % g[3] for g in gens) if gens else ""))


def make_3l(path):
    """LongformerForMaskedLM, three layers, windows [8, 4, 8] (each divides the padding's 8)."""
    fg.reset_dir(path)
    config = LongformerConfig(vocab_size=120, hidden_size=32, num_hidden_layers=3,
                              num_attention_heads=4, intermediate_size=48,
                              max_position_embeddings=40, hidden_act="gelu",
                              attention_window=[8, 4, 8])
    torch.manual_seed(561)
    model = fg.randomize(LongformerForMaskedLM(config), 561, 0.35).eval()
    model.save_pretrained(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)


golden("global-longformer-f32", "fam-longformer-f32", LongformerModel, 601,
       "LongformerModel, attention_window 4, F32")
golden("global-longformer-mlm-f16", "fam-longformer-mlm-f16", LongformerForMaskedLM, 602,
       "LongformerForMaskedLM, windows 4 and 8, F16, logits")
golden("global-longformer-cls-bf16", "fam-longformer-cls-bf16",
       LongformerForSequenceClassification, 603,
       "LongformerForSequenceClassification's encoder, window 8, pad_token_id 3, BF16",
       avoid=(3,))
golden("global-longformer-3l-f32", "global-longformer-3l-f32", LongformerForMaskedLM, 604,
       "LongformerForMaskedLM, three layers, windows 8, 4 and 8, F32, logits", make=make_3l)
golden("global-led-f32", "s2s-led-f32", LEDForConditionalGeneration, 605,
       "LEDForConditionalGeneration, encoder windows 4 and 8, F32, logits", led=True)
golden("global-led-model-f16", "s2s-led-model-f16", LEDModel, 606,
       "LEDModel, window 4, F16", led=True)
