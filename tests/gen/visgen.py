"""The generator of the vision fixtures (famgen.py's, for images): a tiny random checkpoint
saved by transformers, random images of given sizes as pixel values, and the attention of
every head from transformers' eager attention in float64 (tolerance 1e-5, or 1.25x fp32's
own error vs float64). Used by fam_vision.py and fam_vision2.py; fixture names given on the
command line select which are made."""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402


def run(model, px, **kw):
    with torch.no_grad():
        out = model(pixel_values=px.to(model.dtype), output_attentions=True, **kw)
    return torch.stack([a[0] for a in out.attentions])


def run_pool(model, px, **kw):
    """The attention of SigLIP's pooling head (its probe over the post-LayerNorm tokens), per
    head: (heads, tokens). transformers does not return it; its nn.MultiheadAttention does."""
    with torch.no_grad():
        out = model(pixel_values=px.to(model.dtype), **kw)
        head = getattr(model, "vision_model", model).head
        probe = head.probe.repeat(out.last_hidden_state.shape[0], 1, 1)
        _, w = head.attention(probe, out.last_hidden_state, out.last_hidden_state,
                              need_weights=True, average_attn_weights=False)
    return w[0, :, 0, :]


ONLY = sys.argv[1:]


def make(name, cls, config, seed, note, dtype=torch.float32, post=None, pool=False,
         sizes=None, ask=False, tweak=None):
    """sizes: the images' (height, width) in pixels (default: two at the model's
    image_size); ask: run with interpolate_pos_encoding=True (written as
    "interpolate_pos": true); post(path): rewrites the saved checkpoint (checked to load to
    the same attentions); tweak(model): changes the random weights before saving."""
    if ONLY and name not in ONLY:
        return
    path = os.path.join(fg.FIXTURES, name)
    fg.reset_dir(path)
    torch.manual_seed(seed)
    model = fg.randomize(cls(config), seed, 0.35).eval()
    if tweak:
        with torch.no_grad():
            tweak(model)
    model = model.to(dtype)
    model.save_pretrained(path)
    ref64 = None
    if post:
        before = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
        post(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)
    ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    r64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    g = torch.Generator().manual_seed(seed + 1)
    vc = getattr(config, "vision_config", config)
    S, C = vc.image_size, vc.num_channels
    items, worst = [], 0.0
    kw = {"interpolate_pos_encoding": True} if ask else {}
    for h, w in sizes or [(S, S)] * 2:
        px = torch.randn((1, C, h, w), generator=g)
        a32, a64 = run(ref, px, **kw), run(r64, px.double(), **kw)
        if post:
            assert (run(before, px.double()) - a64).abs().max().item() < 1e-12, "hub names load differently"
        worst = max(worst, (a32.double() - a64).abs().max().item())
        p64 = None
        if pool:
            p64 = run_pool(r64, px.double(), **kw)
            worst = max(worst, (run_pool(ref, px, **kw).double() - p64).abs().max().item())
        items.append((px[0], a64, p64))
    tol = max(1e-5, 1.25 * worst)
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(fg.SOURCE),
             ' "class": %s,' % json.dumps(cls.__name__), ' "note": %s,' % json.dumps(note),
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol]
    if ask:
        parts.append(' "interpolate_pos": true,')
    parts += [' "sentences": [']
    sents = []
    for px, att, p64 in items:
        extra = ""
        if p64 is not None:
            extra = ',\n   "pool_attentions": %s' % fg._dump(p64.tolist(), 2)
        sents.append('  {"pixels": %s,\n   "attentions": %s%s}' % (fg._dump(px.tolist(), 3),
                                                               fg._dump(att.tolist(), 4), extra))
    parts.append(",\n".join(sents))
    parts.append(" ]}")
    with open(os.path.join(fg.GOLDENS, name + ".json"), "w") as f:
        f.write("\n".join(parts) + "\n")
    print("%s: %s, fp32 vs fp64 %.2g, tolerance %.2g" % (name, cls.__name__, worst, tol))
