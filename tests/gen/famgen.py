"""Shared machinery of the model-family fixture scripts (tests/gen/fam_*.py).

Each script builds small random checkpoints of one family with Hugging Face
transformers (its config class, `from_config`, `save_pretrained`) into
tests/fixtures/fam-<name>/ and writes the per-head attention transformers
computes for them (eager attention, output_attentions=True, ids in, fp32) to
tests/fixtures/goldens/fam-<name>.json, with the logits of the last position
when the model has an LM head. tests/test_families.c runs every fam-* golden.

The golden attentions are transformers' float64 run of the fp32-loaded weights
(the exact values, to fp32 precision), and the tolerance written beside them is
1e-5, or 1.25x the error of transformers' own fp32 run against them where fp32
itself errs more (the house rule). Logits are fp32's. Nothing here is computed
by mhaviz.
Deterministic (fixed seeds); overwrites its outputs.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_<family>.py
"""

import json
import math
import os
import random
import re
import shutil

import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(REPO, "tests", "fixtures")
GOLDENS = os.path.join(FIXTURES, "goldens")
SOURCE = "transformers %s torch %s" % (transformers.__version__, torch.__version__.split("+")[0])

# lengths of the id sequences: a lone token, a short one, one longer than the
# small sliding windows the fixtures use
LENGTHS = [1, 6, 13]

QK = re.compile(r"(q_proj|k_proj|query|key|q_lin|k_lin|query_key_value|qkv_proj|Wqkv|c_attn|"
                r"\.q\.|\.k\.|in_proj|query_proj|key_proj)")
NORM = re.compile(r"(norm|ln_|LayerNorm|layer_norm|layernorm)", re.I)


def randomize(model, seed, qk_std, gain=0.5, emb_std=1.0):
    """Draw every parameter anew: norm weights in [0.6, 1.4], norm biases in
    [-0.2, 0.2], other biases N(0, 0.1), q/k matrices N(0, qk_std) so attention
    is far from uniform, embeddings N(0, emb_std), other matrices
    N(0, gain/sqrt(fan_in)). A loader that drops, swaps or transposes any
    tensor changes the result."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            shape = p.shape
            if NORM.search(name) and name.endswith("weight"):
                v = 0.6 + 0.8 * torch.rand(shape, generator=g)
            elif NORM.search(name) and name.endswith("bias"):
                v = (torch.rand(shape, generator=g) - 0.5) * 0.4
            elif name.endswith("bias"):
                v = torch.randn(shape, generator=g) * 0.1
            elif "embed" in name or name.endswith(("wte.weight", "wpe.weight")):
                v = torch.randn(shape, generator=g) * emb_std
            elif QK.search(name) and len(shape) == 2:
                v = torch.randn(shape, generator=g) * qk_std
            elif len(shape) >= 2:
                fan_in = shape[-1]
                v = torch.randn(shape, generator=g) * (gain / math.sqrt(fan_in))
            else:
                v = torch.randn(shape, generator=g) * 0.1
            p.copy_(v)
    return model


def id_lists(vocab, seed, avoid=()):
    r = random.Random(seed)
    ok = [i for i in range(vocab) if i not in set(avoid)]
    return [[r.choice(ok) for _ in range(n)] for n in LENGTHS]


def run(model, ids, extra=None, padded=False):
    """(layers, heads, n, n) attention and the last position's logits (or None).
    padded: the model returns maps over its input padded at the end (BigBird's block-sparse
    attention pads to whole blocks); the real tokens' rows must give the padding exactly 0,
    and the (n, n) corner is kept."""
    x = torch.tensor([ids], dtype=torch.long)
    kw = dict(extra or {})
    with torch.no_grad():
        out = model(input_ids=x, attention_mask=torch.ones_like(x), output_attentions=True, **kw)
    att = torch.stack([a[0] for a in out.attentions])
    n = len(ids)
    if padded and att.shape[-1] > n:
        assert att[..., :n, n:].abs().max().item() == 0.0, "padding attended"
        att = att[..., :n, :n]
    assert not padded or att.shape[-2:] == (n, n), "maps %s for %d tokens" % (att.shape, n)
    logits = out.logits[0, -1] if getattr(out, "logits", None) is not None else None
    return att, logits


def _dump(x, depth):
    """JSON with one innermost list per line (diffable, compact enough)."""
    if depth == 0 or not isinstance(x, list):
        return json.dumps(x)
    if depth == 1:
        return "[" + ", ".join("%.10g" % v for v in x) + "]"
    inner = [_dump(v, depth - 1) for v in x]
    return "[" + (",\n" if depth <= 2 else ",\n").join(inner) + "]"


def reset_dir(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def make(name, cls, config, seed, qk_std, note, dtype=torch.float32, shard=None, post=None,
         gain=0.5, avoid_ids=(), vocab_for_ids=None, lengths=None, pairs=False, load_kw=None,
         logits=None, ids=None, padded=False):
    """pairs: sentences are pairs, the second half of each with token type 1 (as a BERT
    tokenizer's pair template gives), written as "token_type_ids"."""
    """Builds fixture tests/fixtures/<name> and its golden; returns the tolerance."""
    path = os.path.join(FIXTURES, name)
    reset_dir(path)
    torch.manual_seed(seed)
    model = randomize(cls(config), seed, qk_std, gain=gain).eval().to(dtype)
    kw = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(path, **kw)
    if post:
        post(path)
    for f in os.listdir(path):  # save_pretrained writes 0600
        os.chmod(os.path.join(path, f), 0o644)
    # goldens from what is on disk, in fp32 and (for the tolerance) float64
    # load_kw: more from_pretrained arguments (experts_implementation)
    lk = dict(load_kw or {})
    ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager", **lk).eval()
    r64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager", **lk).eval()
    global LENGTHS
    saved = LENGTHS
    if lengths:
        LENGTHS = lengths
    lists = id_lists(vocab_for_ids or config.vocab_size, seed + 1, avoid_ids)
    LENGTHS = saved
    if ids:  # the caller's sentences (ESM: masks and pads where they matter)
        lists = ids
    items, worst = [], 0.0
    for ids in lists:
        extra = None
        if pairs:
            types = [0] * ((len(ids) + 1) // 2) + [1] * (len(ids) // 2)
            extra = {"token_type_ids": torch.tensor([types], dtype=torch.long)}
        a32, l32 = run(ref, ids, extra, padded)
        a64, _ = run(r64, ids, extra, padded)
        if not (cls.__name__.endswith("ForCausalLM") if logits is None else logits):
            l32 = None  # logits are checked for causal LMs (logits=True: for cls too)
        worst = max(worst, (a32.double() - a64).abs().max().item())
        items.append((ids, a64, l32, extra["token_type_ids"][0].tolist() if extra else None))
    tol = max(1e-5, 1.25 * worst)
    peak = items[-1][1].max(dim=-1).values.mean().item()
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(SOURCE),
             ' "class": %s,' % json.dumps(cls.__name__), ' "note": %s,' % json.dumps(note),
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol,
             ' "mean_row_max": %.3f,' % peak, ' "sentences": [']
    sents = []
    for ids, att, logits, types in items:
        s = '  {"token_ids": %s,\n' % json.dumps(ids)
        if types is not None:
            s += '   "token_type_ids": %s,\n' % json.dumps(types)
        s += '   "attentions": %s' % _dump(att.tolist(), 4)
        if logits is not None:
            s += ',\n   "logits_last": %s' % _dump(logits.float().tolist(), 1)
        sents.append(s + "}")
    parts.append(",\n".join(sents))
    parts.append(" ]}")
    gpath = os.path.join(GOLDENS, name + ".json")
    with open(gpath, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")
    back = json.load(open(gpath))
    for (ids, att, _, _), s in zip(items, back["sentences"]):
        assert s["token_ids"] == ids
        assert (torch.tensor(s["attentions"], dtype=torch.float64) - att).abs().max().item() < 1e-8
    print("%s: %s, fp32 vs fp64 %.2g, tolerance %.2g, mean row max %.2f" %
          (name, cls.__name__, worst, tol, peak))
    return tol


# Dual image-text models (tests/gen/fam_clip_text.py, fam_chinese_clip.py): a golden of
# the text tower of a whole checkpoint.
def text_tower_golden(name):
    """Marks golden `name` as the text tower of a whole checkpoint."""
    path = os.path.join(GOLDENS, name + ".json")
    text = open(path, encoding="utf-8").read()
    head = '{"fixture": "%s",' % name
    assert text.startswith(head)
    open(path, "w", encoding="utf-8").write(head + '\n "tower": "text",' + text[len(head):])


class TextOf:
    """A whole model whose forward is its text tower's (what mhaviz shows of it)."""

    def forward(self, input_ids=None, attention_mask=None, output_attentions=False, **kw):
        return self.text_model(input_ids=input_ids, attention_mask=attention_mask,
                               output_attentions=output_attentions)
