#!/usr/bin/env python3
"""Swin fixtures (tests/fixtures/swin-*) and their goldens (tests/fixtures/goldens/swin-*.json,
read by tests/test_swin.c): tiny random SwinModel / SwinForImageClassification checkpoints
made with transformers (SwinConfig, from_config, save_pretrained), a ViTImageProcessor's
preprocessor_config.json, random images as pixel values, and every head of every layer.

transformers' output_attentions gives a Swin layer's maps per window: (windows, heads,
w*w, w*w), over the grid padded to whole windows and rolled by the layer's shift. The golden
holds what mhaviz writes instead: per head one (N, N) map over the stage's grid of N tokens
(row by row, the image's own order), each query's row holding its window's weights on the
real keys and zeros elsewhere (padding keys left out). The maps are assembled here from
transformers' windows with transformers' own window_partition and torch.roll, applied to a
grid of token numbers. float64 values, tolerance 1e-5 or 1.25x fp32's own error (famgen's
rule); logits of the classifier (fp32) for *ForImageClassification.

End to end (tests/cli/swin.sh): PNG files made here (tests/fixtures/images/swin) through the
fixtures' own image processors (Pillow backend, as mhaviz follows) and models, their maps as
above: tests/fixtures/goldens/e2e-swin.json.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_swin.py [FIXTURE ...]
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file
from transformers import (AutoImageProcessor, DonutSwinConfig, DonutSwinForImageClassification,
                          DonutSwinModel, SwinConfig, SwinForImageClassification,
                          SwinModel, Swinv2Config, Swinv2ForImageClassification, Swinv2Model,
                          ViTImageProcessor)
from transformers.image_utils import load_image
from transformers.models.swin.modeling_swin import window_partition

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

ONLY = sys.argv[1:]

# transformers 5's names -> the hub checkpoints' (microsoft/swin-*), which it renames on load
HUB = [("attention.q_proj", "attention.self.query"), ("attention.k_proj", "attention.self.key"),
       ("attention.v_proj", "attention.self.value"),
       ("attention.relative_position_bias.relative_position_bias_table",
        "attention.self.relative_position_bias_table"),
       ("attention.o_proj", "attention.output.dense"), ("mlp.fc1", "intermediate.dense"),
       ("mlp.fc2", "output.dense")]


def to_hub(path):
    f = os.path.join(path, "model.safetensors")
    t = load_file(f)
    out = {}
    for k, v in t.items():
        for a, b in HUB:
            k = k.replace(a, b)
        out[k] = v
    save_file(out, f, metadata={"format": "pt"})


def layers_of(model):
    base = model
    for name in ("swin", "swinv2", "donut"):
        base = getattr(model, name, base)
    return [blk for stage in base.encoder.layers for blk in stage.blocks]


def grids(config, h, w):
    """Each stage's (rows, cols): the image padded to whole patches, then halved (rounded
    up) by each patch merging."""
    P = config.patch_size
    r, c = -(-h // P), -(-w // P)
    out = []
    for _ in config.depths:
        out.append((r, c))
        r, c = (r + 1) // 2, (c + 1) // 2
    return out


def full_maps(att, rows, cols, window, shift):
    """(heads, N, N) from one layer's (windows, heads, T, T), as swin.c documents them."""
    N = rows * cols
    ids = torch.arange(N, dtype=torch.float64).view(1, rows, cols, 1)
    pr, pc = (window - cols % window) % window, (window - rows % window) % window
    ids = F.pad(ids, (0, 0, 0, pr, 0, pc), value=-1.0)  # as SwinLayer.maybe_pad, -1 marking it
    if shift > 0:
        ids = torch.roll(ids, shifts=(-shift, -shift), dims=(1, 2))
    win = window_partition(ids, window).view(-1, window * window).long()  # (windows, T)
    heads = att.shape[1]
    out = torch.zeros(heads, N, N, dtype=torch.float64)
    assert win.shape[0] == att.shape[0]
    for k in range(win.shape[0]):
        idx = win[k]
        real = (idx >= 0).nonzero().flatten()
        q = idx[real]
        for h in range(heads):
            out[h][q.unsqueeze(1), q.unsqueeze(0)] = att[k, h][real][:, real].double()
    return out


def run(model, px):
    # transformers 5.25's output_attentions holds the last layer of each stage only: every
    # layer's windows are taken from its SwinAttention's output (the same eager softmax)
    caught = []
    hooks = [getattr(blk.attention, "self", blk.attention).register_forward_hook(
        lambda mod, a, out: caught.append(out[1])) for blk in layers_of(model)]
    with torch.no_grad():
        out = model(pixel_values=px.to(model.dtype), output_attentions=True)
    for hk in hooks:
        hk.remove()
    ends = [sum(model.config.depths[:s + 1]) - 1 for s in range(len(model.config.depths))]
    assert len(caught) == len(layers_of(model))
    assert all(torch.equal(caught[e], a) for e, a in zip(ends, out.attentions))
    config = model.config
    g = grids(config, px.shape[2], px.shape[3])
    maps, shape = [], []
    stage_of = [s for s, d in enumerate(config.depths) for _ in range(d)]
    for att, blk, s in zip(caught, layers_of(model), stage_of):
        r, c = g[s]
        maps.append(full_maps(att, r, c, blk.window_size, blk.shift_size))
        shape.append([r, c])
    logits = out.logits[0] if getattr(out, "logits", None) is not None else None
    return maps, shape, logits


def untyped_processor(path, size):
    """A preprocessor_config.json naming no class: AutoImageProcessor takes config.json's
    model_type's (swin: ViTImageProcessor)."""
    with open(os.path.join(path, "preprocessor_config.json"), "w") as f:
        json.dump({"do_resize": True, "size": {"height": size, "width": size}, "resample": 2,
                   "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
                   "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}, f, indent=1)
        f.write("\n")


def make(name, cls, config, seed, note, sizes, dtype=torch.float32, post=None, proc=None,
         tweak=None):
    if ONLY and name not in ONLY:
        return
    path = os.path.join(fg.FIXTURES, name)
    fg.reset_dir(path)
    torch.manual_seed(seed)
    model = fg.randomize(cls(config), seed, 0.35).eval()
    with torch.no_grad():  # bias tables of std ~1, so that they shape the attention
        for n, p in model.named_parameters():
            if n.endswith("relative_position_bias_table"):
                p.mul_(4.0)
            if n.endswith("logit_scale"):  # V2: scales of 2 to 12 (its init: 10)
                p.copy_(torch.log(torch.linspace(2.0, 12.0, p.numel())).view_as(p))
            if "continuous_position_bias_mlp" in n:  # V2: a bias that varies by distance
                p.mul_(3.0)
        if tweak:
            tweak(model)
    model = model.to(dtype)
    model.save_pretrained(path)
    before = None
    if post:
        before = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
        post(path)
    if proc:
        proc(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)
    gen = torch.Generator().manual_seed(seed + 1)
    items, worst = [], 0.0
    for h, w in sizes:
        # a fresh model for each image: SwinLayer keeps the window and shift it set for the
        # last image's grid (set_shift_and_window_size), which would carry over
        ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
        r64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
        px = torch.randn((1, config.num_channels, h, w), generator=gen)
        m32, shape, logits = run(ref, px)
        m64, _, _ = run(r64, px.double())
        if before is not None:
            b64, _, _ = run(before, px.double())
            assert max((a - b).abs().max().item() for a, b in zip(b64, m64)) < 1e-12, \
                "hub names load differently"
        worst = max(worst, max((a.double() - b).abs().max().item() for a, b in zip(m32, m64)))
        items.append((px[0], m64, shape, logits))
    tol = max(1e-5, 1.25 * worst)
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(fg.SOURCE),
             ' "class": %s,' % json.dumps(cls.__name__), ' "note": %s,' % json.dumps(note),
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol, ' "images": [']
    imgs = []
    for px, maps, shape, logits in items:
        extra = ""
        if logits is not None:
            extra = ',\n   "logits": %s' % fg._dump(logits.tolist(), 1)
        layers = ",\n".join(fg._dump(m.tolist(), 3) for m in maps)
        imgs.append('  {"pixels": %s,\n   "grids": %s,\n   "layers": [%s]%s}' %
                    (fg._dump(px.tolist(), 3), json.dumps(shape), layers, extra))
    parts.append(",\n".join(imgs))
    parts.append(" ]}")
    with open(os.path.join(fg.GOLDENS, name + ".json"), "w") as f:
        f.write("\n".join(parts) + "\n")
    print("%s: %s, fp32 vs fp64 %.2g, tolerance %.2g" % (name, cls.__name__, worst, tol))


def processor(size):
    return ViTImageProcessor(size={"height": size, "width": size}, resample=3,
                             image_mean=[0.485, 0.456, 0.406],
                             image_std=[0.229, 0.224, 0.225]).save_pretrained


# 8x8 patches and 4x4 after merging, windows of 2 (shifted by 1 in odd layers); and a
# 34x27 image: 9x7 patches (the last ones padded), windows padded to 10x8, merging padded
# to 10x8, then 5x4 (windows padded to 6x4)
make("swin-f32", SwinModel,
     SwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[2, 2], num_heads=[2, 4],
                window_size=2, mlp_ratio=2.0), 91,
     "SwinModel, 2 stages of 2 layers, windows of 2 (odd layers shifted by 1); 32x32 pixels "
     "and 34x27 (patches, windows and the merging padded)",
     sizes=[(32, 32), (34, 27)], proc=processor(32))
# windows of 3: 6x6 then 3x3 (one window, no shift: transformers' set_shift_and_window_size);
# 28x21: 7x6 patches, windows padded to 9x6, merging to 8x6, then 4x3 (one 3-wide window...)
make("swin-cls-f16", SwinForImageClassification,
     SwinConfig(image_size=24, patch_size=4, embed_dim=12, depths=[2, 2], num_heads=[2, 3],
                window_size=3, num_labels=3, qkv_bias=False, hidden_act="gelu_new",
                layer_norm_eps=1e-6), 92,
     "SwinForImageClassification (swin. prefix, 3 labels), F16, qkv_bias false, gelu_new, "
     "eps 1e-6, windows of 3; 24x24 and 28x21 pixels", dtype=torch.float16,
     sizes=[(24, 24), (28, 21)], proc=processor(24))
make("swin-hub-3stage-bf16", SwinForImageClassification,
     SwinConfig(image_size=32, patch_size=4, embed_dim=8, depths=[2, 1, 2],
                num_heads=[1, 2, 4], window_size=2, num_labels=4), 93,
     "SwinForImageClassification under the hub's names (attention.self.query ...), BF16, "
     "3 stages (depths 2, 1, 2), windows of 2; 32x32 and 40x24 pixels",
     dtype=torch.bfloat16, sizes=[(32, 32), (40, 24)], post=to_hub,
     proc=lambda path: untyped_processor(path, 40))

# Swin V2: cosine attention, the continuous position bias, post-norms; windows by the
# config's grid (32 / 4 = 8, then 4: windows of 2, shifted by 1)
make("swinv2-f32", Swinv2Model,
     Swinv2Config(image_size=32, patch_size=4, embed_dim=16, depths=[2, 2], num_heads=[2, 4],
                  window_size=2, mlp_ratio=2.0), 94,
     "Swinv2Model, 2 stages of 2 layers, windows of 2 (odd layers shifted by 1); 32x32 and "
     "34x27 pixels (patches, windows and merging padded)",
     sizes=[(32, 32), (34, 27)], proc=processor(32))
# windows of 3 by the config's 6x6 and 3x3 grids (the second stage unshifted), pretrained
# windows 4 and 2 scaling the bias's coordinates; images of other grids keep those windows:
# 20x36 (5x9 patches, then 3x5) and 12x12 (3x3, then 2x2 in one padded 3x3 window)
make("swinv2-cls-pretrained-bf16", Swinv2ForImageClassification,
     Swinv2Config(image_size=24, patch_size=4, embed_dim=12, depths=[2, 2], num_heads=[2, 3],
                  window_size=3, num_labels=3, pretrained_window_sizes=[4, 2], qkv_bias=False,
                  hidden_act="gelu_new", layer_norm_eps=1e-6), 95,
     "Swinv2ForImageClassification (swinv2. prefix, 3 labels), BF16, pretrained windows 4 "
     "and 2, qkv_bias false, gelu_new, eps 1e-6, windows of 3; 24x24, 20x36 and 12x12 pixels",
     dtype=torch.bfloat16, sizes=[(24, 24), (20, 36), (12, 12)], proc=processor(24))



def past_clamp(model):
    """Each layer's second head's logit scale at log 150: transformers clamps it to log 100."""
    for n, p in model.named_parameters():
        if n.endswith("logit_scale"):
            p[1] = math.log(150.0)


make("swinv2-clamp-f32", Swinv2Model,
     Swinv2Config(image_size=16, patch_size=4, embed_dim=8, depths=[2], num_heads=[2],
                  window_size=2), 96,
     "Swinv2Model, one stage, each layer's second head's logit scale past the clamp (log 150: "
     "scaled by 100); 16x16 and 12x20 pixels", sizes=[(16, 16), (12, 20)], tweak=past_clamp)

# DonutSwin (Donut's encoder): Swin without the final LayerNorm, the hub's names
make("donut-swin-f32", DonutSwinModel,
     DonutSwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[2, 2], num_heads=[2, 4],
                     window_size=2, mlp_ratio=2.0), 97,
     "DonutSwinModel, 2 stages of 2 layers, windows of 2; 32x32 and 34x27 pixels",
     sizes=[(32, 32), (34, 27)])
make("donut-swin-cls-f16", DonutSwinForImageClassification,
     DonutSwinConfig(image_size=24, patch_size=4, embed_dim=12, depths=[2, 2], num_heads=[2, 3],
                     window_size=3, num_labels=3, qkv_bias=False), 98,
     "DonutSwinForImageClassification (donut. prefix, 3 labels: the mean of the last stage's "
     "tokens without a final norm), F16, qkv_bias false, windows of 3; 24x24 and 28x21 pixels",
     dtype=torch.float16, sizes=[(24, 24), (28, 21)])


def picture(name, w, h):
    """A smooth colour picture with a sharp disc, saved as a PNG under images/swin."""
    d = os.path.join(fg.FIXTURES, "images", "swin")
    os.makedirs(d, exist_ok=True)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 127 + 120 * np.sin(x / 4.0) * np.cos(y / 6.0)
    g = 255 * (x + y) / (w + h)
    b = np.where((x - w / 3) ** 2 + (y - h / 2) ** 2 < (min(w, h) / 4) ** 2, 230, 30)
    Image.fromarray(np.stack([r, g, b], -1).clip(0, 255).astype(np.uint8)).save(os.path.join(d, name))
    return os.path.join("images", "swin", name)


def e2e(cases):
    """cases: (case, fixture, class, image, processor keyword arguments)."""
    res = []
    for case, fixture, cls, image, kw in cases:
        d = os.path.join(fg.FIXTURES, fixture)
        proc = AutoImageProcessor.from_pretrained(d, backend="pil")
        px = proc(images=load_image(os.path.join(fg.FIXTURES, image)), return_tensors="pt",
                  **kw)["pixel_values"]
        r32 = cls.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
        r64 = cls.from_pretrained(d, dtype=torch.float64, attn_implementation="eager").eval()
        m32, shape, logits = run(r32, px)
        m64, _, _ = run(r64, px.double())
        worst = max((a.double() - b).abs().max().item() for a, b in zip(m32, m64))
        res.append({"case": case, "fixture": fixture, "image": image,
                    "processor": type(proc).__name__, "pixels_hw": list(px.shape[2:]),
                    "tolerance": float("%.3g" % max(1e-5, 1.25 * worst)), "grids": shape,
                    "layers": [[[[float("%.10g" % v) for v in row] for row in hd] for hd in m]
                               for m in (t.tolist() for t in m64)]})
        print(case, type(proc).__name__, tuple(px.shape), shape)
    with open(os.path.join(fg.GOLDENS, "e2e-swin.json"), "w") as f:
        json.dump({"source": fg.SOURCE, "cases": res}, f)
        f.write("\n")


if not ONLY:
    wide = picture("wide-45x29.png", 45, 29)
    e2e([("resized", "swin-f32", SwinModel, wide, {}),
         ("no-resize", "swin-cls-f16", SwinForImageClassification, wide,
          {"do_resize": False}),
         ("by-model-type", "swin-hub-3stage-bf16", SwinForImageClassification, wide, {}),
         ("v2-no-resize", "swinv2-cls-pretrained-bf16", Swinv2ForImageClassification, wide,
          {"do_resize": False})])
