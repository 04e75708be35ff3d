#!/usr/bin/env python3
"""Fixtures of SigLIP 2's vision tower (tests/fixtures/fam-siglip2-*): tiny random
Siglip2VisionModel checkpoints (and a whole Siglip2Model: vision_config, vision_model.) from
transformers, run as its NaFlex processor feeds it: an image of rows x cols whole patches,
cut into patches flattened (row, column, channel), padded with zero patches to the
processor's max_num_patches, the padding masked (pixel_attention_mask), the position table
resized to the image's grid (spatial_shapes). Random images of several grids; every head's
attention over the image's own patches (the rows and columns of the padding left out: a
masked key takes weight 0, so the kept rows are the image's attention exactly), float64,
tolerance as famgen's; pool_attentions: the pooling head's probe over the image's patches.
Then the end-to-end golden tests/fixtures/goldens/vision-e2e-siglip2.json: a PNG and a JPEG
through Siglip2ImageProcessor (Pillow backend, written by its save_pretrained), its
pixel_values given back as the (channels, height, width) image they cut.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_siglip2.py [FIXTURE ...]
"""
import json
import os
import sys

import torch
from transformers import (AutoImageProcessor, Siglip2Config, Siglip2ImageProcessorPil,
                          Siglip2Model, Siglip2VisionConfig, Siglip2VisionModel)
from transformers.image_utils import load_image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
import vis5gen  # noqa: E402

ONLY = sys.argv[1:]
SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, patch_size=4,
             num_channels=3)


class Siglip2Vision(Siglip2Model):
    """The whole Siglip2Model, its forward being the vision tower's (what mhaviz shows)."""

    def forward(self, pixel_values=None, pixel_attention_mask=None, spatial_shapes=None,
                output_attentions=False, **kw):
        return self.vision_model(pixel_values=pixel_values,
                                 pixel_attention_mask=pixel_attention_mask,
                                 spatial_shapes=spatial_shapes,
                                 output_attentions=output_attentions)


def patches(img, P, max_len):
    """img (C, H, W) -> (1, max_len, P*P*C) patches as the processor cuts them, the mask,
    the spatial shape."""
    C, H, W = img.shape
    r, c = H // P, W // P
    x = img.reshape(C, r, P, c, P).permute(1, 3, 2, 4, 0).reshape(r * c, -1)
    out = torch.zeros(max_len, x.shape[1], dtype=img.dtype)
    out[:r * c] = x
    mask = torch.zeros(max_len, dtype=torch.int32)
    mask[:r * c] = 1
    return out[None], mask[None], torch.tensor([[r, c]])


def unpatch(px, shape, P, C):
    """The inverse of patches: (1, max_len, P*P*C) -> (C, H, W) of the spatial shape."""
    r, c = shape
    x = px[0, :r * c].reshape(r, c, P, P, C).permute(4, 0, 2, 1, 3)
    return x.reshape(C, r * P, c * P)


def run(model, px, mask, shapes, pool):
    n = int(shapes[0, 0] * shapes[0, 1])
    vm = getattr(model, "vision_model", model)
    with torch.no_grad():
        out = vm(pixel_values=px.to(model.dtype), pixel_attention_mask=mask, spatial_shapes=shapes,
                 output_attentions=True)
        att = torch.stack([a[0] for a in out.attentions])[:, :, :n, :n]
        pw = None
        if pool:
            x = out.last_hidden_state
            head = vm.head
            _, w = head.attention(head.probe.repeat(x.shape[0], 1, 1), x, x,
                                  key_padding_mask=~mask.bool(), need_weights=True,
                                  average_attn_weights=False)
            pw = w[0, :, 0, :n]
    return att, pw


def make(name, cls, config, seed, note, grids, max_len, dtype=torch.float32, pool=True):
    if ONLY and name not in ONLY:
        return
    path = os.path.join(fg.FIXTURES, name)
    fg.reset_dir(path)
    torch.manual_seed(seed)
    model = fg.randomize(cls(config), seed, 0.35).eval().to(dtype)
    model.save_pretrained(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)
    ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    r64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    vc = getattr(config, "vision_config", config)
    P, C = vc.patch_size, vc.num_channels
    g = torch.Generator().manual_seed(seed + 1)
    items, worst = [], 0.0
    for r, c in grids:
        img = torch.randn((C, r * P, c * P), generator=g)
        px, mask, shapes = patches(img, P, max_len)
        a32, p32 = run(ref, px, mask, shapes, pool)
        a64, p64 = run(r64, px.double(), mask, shapes, pool)
        worst = max(worst, (a32.double() - a64).abs().max().item())
        if pool:
            worst = max(worst, (p32.double() - p64).abs().max().item())
        items.append((img, a64, p64))
    tol = max(1e-5, 1.25 * worst)
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(fg.SOURCE),
             ' "class": %s,' % json.dumps(cls.__name__), ' "note": %s,' % json.dumps(note),
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol, ' "sentences": [']
    sents = []
    for img, att, p64 in items:
        extra = ',\n   "pool_attentions": %s' % fg._dump(p64.tolist(), 2) if p64 is not None else ""
        sents.append('  {"pixels": %s,\n   "attentions": %s%s}' % (fg._dump(img.tolist(), 3),
                                                               fg._dump(att.tolist(), 4), extra))
    parts.append(",\n".join(sents))
    parts.append(" ]}")
    with open(os.path.join(fg.GOLDENS, name + ".json"), "w") as f:
        f.write("\n".join(parts) + "\n")
    print("%s: %s, fp32 vs fp64 %.2g, tolerance %.2g" % (name, cls.__name__, worst, tol))


# 16 positions (a 4x4 table) resized to each image's grid: enlarged, shrunk, one row or column
make("fam-siglip2-f32", Siglip2VisionModel,
     Siglip2VisionConfig(**SMALL, intermediate_size=48, num_patches=16), 121,
     "Siglip2VisionModel: a 4x4 position table resized (bilinear, antialiased) to grids 4x4, "
     "3x7, 6x2 and 1x9 of 24 padded patches; pool_attentions: its pooling head",
     grids=[(4, 4), (3, 7), (6, 2), (1, 9)], max_len=24)
make("fam-siglip2-nohead-bf16", Siglip2VisionModel,
     Siglip2VisionConfig(**SMALL, intermediate_size=40, num_patches=25, vision_use_head=False,
                         hidden_act="gelu", layer_norm_eps=1e-5), 122,
     "Siglip2VisionModel, BF16: a 5x5 table, no pooling head, GELU, eps 1e-5; grids 5x5, 8x3 "
     "and 2x2", grids=[(5, 5), (8, 3), (2, 2)], max_len=30, dtype=torch.bfloat16, pool=False)
make("fam-siglip2-full-f16", Siglip2Vision,
     Siglip2Config(vision_config=dict(SMALL, intermediate_size=40, num_patches=16),
                   text_config=dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                    intermediate_size=24, vocab_size=64,
                                    max_position_embeddings=16)), 123,
     "Siglip2Model (model_type siglip2), F16: the vision tower from vision_config and "
     "vision_model.; grids 4x4 and 5x3", grids=[(4, 4), (5, 3)], max_len=16,
     dtype=torch.float16)


def processor(name, **kw):
    if ONLY and name not in ONLY:
        return
    Siglip2ImageProcessorPil(**kw).save_pretrained(os.path.join(fg.FIXTURES, name))


processor("fam-siglip2-f32", patch_size=4, max_num_patches=24)
processor("fam-siglip2-nohead-bf16", patch_size=4, max_num_patches=30, resample=3,
          image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])

if not ONLY or "e2e" in ONLY:
    png, jpg = vis5gen.images()
    res = []
    for case, fixture, cls, image in [("siglip2-png", "fam-siglip2-f32", Siglip2VisionModel, png),
                                      ("siglip2-jpeg", "fam-siglip2-f32", Siglip2VisionModel, jpg),
                                      ("siglip2-bicubic-png", "fam-siglip2-nohead-bf16",
                                       Siglip2VisionModel, png),
                                      ("siglip2-bicubic-jpeg", "fam-siglip2-nohead-bf16",
                                       Siglip2VisionModel, jpg)]:
        d = os.path.join(fg.FIXTURES, fixture)
        proc = AutoImageProcessor.from_pretrained(d, backend="pil")
        out = proc(images=load_image(os.path.join(fg.FIXTURES, image)), return_tensors="pt")
        px, mask, shapes = out["pixel_values"], out["pixel_attention_mask"], out["spatial_shapes"]
        P = proc.patch_size
        img = unpatch(px, shapes[0].tolist(), P, 3)
        m32 = cls.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
        m64 = cls.from_pretrained(d, dtype=torch.float64, attn_implementation="eager").eval()
        a32, _ = run(m32, px, mask, shapes, False)
        a64, _ = run(m64, px.double(), mask, shapes, False)
        worst = (a32.double() - a64).abs().max().item()
        tol = max(1e-5, 1.25 * worst)
        res.append({"case": case, "fixture": fixture, "image": image,
                    "processor": type(proc).__name__, "pixels_hw": list(img.shape[1:]),
                    "pixels": [float("%.9g" % v) for v in img.flatten().tolist()],
                    "fp32_vs_fp64": float("%.3g" % worst), "tolerance": float("%.3g" % tol),
                    "attentions": [[[[float("%.10g" % v) for v in r] for r in h] for h in l]
                                   for l in a64.tolist()]})
        print(case, type(proc).__name__, tuple(img.shape), "grid", shapes[0].tolist(),
              "tolerance %.2g" % tol)
    with open(os.path.join(fg.GOLDENS, "vision-e2e-siglip2.json"), "w") as f:
        json.dump({"source": fg.SOURCE, "cases": res}, f)
        f.write("\n")

if not ONLY or "sizes" in ONLY:
    # the processor's size for images of many shapes (get_image_size_for_max_num_patches):
    # tests/test_vision5.c checks mhv_preprocess_size against them
    from transformers.models.siglip2.image_processing_pil_siglip2 import \
        get_image_size_for_max_num_patches as size_for
    g = torch.Generator().manual_seed(7)
    cases = []
    for P, most in [(16, 256), (16, 1024), (14, 729), (4, 24), (32, 64), (16, 1)]:
        shapes = [(1, 1), (224, 224), (37, 23), (23, 37), (4000, 30), (30, 4000), (479, 640)]
        shapes += [tuple(int(v) for v in torch.randint(1, 3000, (2,), generator=g)) for _ in range(12)]
        for h, w in shapes:
            th, tw = size_for(h, w, P, most)
            cases.append([h, w, P, most, th, tw])
    with open(os.path.join(fg.GOLDENS, "siglip2-sizes.json"), "w") as f:
        json.dump({"source": fg.SOURCE, "cases": cases}, f)
        f.write("\n")
    print("siglip2-sizes:", len(cases), "cases")
