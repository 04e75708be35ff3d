"""End-to-end goldens of the vision families of tests/gen/fam_dinov3.py, fam_aimv2.py ...:
image files made here (a PNG and a JPEG of odd sizes, tests/fixtures/images/vis5/), read as
transformers' load_image reads them, through the fixture's own image processor (its
preprocessor_config.json, written by the processor class's save_pretrained and loaded by
AutoImageProcessor) and model. Per case: the processor's class, its pixel_values (every
value) and every head's attention from transformers' float64 run of those pixels (eager
attention), with the tolerance of famgen.py (1e-5, or 1.25x fp32's own error).
tests/test_vision5.c checks mhaviz's preprocessing of the same files against the pixels,
tests/cli/vision5.sh its `mhaviz run` against the attentions."""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image
from transformers import AutoImageProcessor
from transformers.image_utils import load_image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

IMAGES = os.path.join(fg.FIXTURES, "images", "vis5")


def images():
    """A smooth colour picture with sharp edges as a 37x23 PNG and a 29x41 JPEG (quality 90,
    4:2:0), both odd sizes; paths relative to tests/fixtures."""
    os.makedirs(IMAGES, exist_ok=True)
    out = []
    for name, (w, h) in [("wide-37x23.png", (37, 23)), ("tall-29x41.jpg", (29, 41))]:
        y, x = np.mgrid[0:h, 0:w].astype(np.float64)
        r = 127 + 120 * np.sin(x / 5.0) * np.cos(y / 7.0)
        g = 255 * (x + y) / (w + h)
        b = np.where((x - w / 3) ** 2 + (y - h / 2) ** 2 < (min(w, h) / 4) ** 2, 230, 30)
        px = np.stack([r, g, b], -1).clip(0, 255).astype(np.uint8)
        path = os.path.join(IMAGES, name)
        if name.endswith(".png"):
            Image.fromarray(px).save(path)
        else:
            Image.fromarray(px).save(path, quality=90)
        out.append(os.path.join("images", "vis5", name))
    return out


def attentions(cls, model_dir, px, **kw):
    out = {}
    for dt in (torch.float32, torch.float64):
        m = cls.from_pretrained(model_dir, dtype=dt, attn_implementation="eager").eval()
        with torch.no_grad():
            r = m(pixel_values=px.to(dt), output_attentions=True, **kw)
        out[dt] = torch.stack([a[0] for a in r.attentions])
    worst = (out[torch.float32].double() - out[torch.float64]).abs().max().item()
    return out[torch.float64], worst


def e2e(golden, cases, backend="pil"):
    """cases: (case name, fixture, model class, image path under tests/fixtures, model
    keyword arguments). Writes tests/fixtures/goldens/<golden>.json. backend: the
    processor's (transformers picks torchvision's when it is installed; mhaviz follows the
    Pillow one), None for a class that has only torchvision's (DINOv3)."""
    res = []
    for name, fixture, cls, image, kw in cases:
        d = os.path.join(fg.FIXTURES, fixture)
        proc = AutoImageProcessor.from_pretrained(d, **({"backend": backend} if backend else {}))
        px = proc(images=load_image(os.path.join(fg.FIXTURES, image)),
                  return_tensors="pt")["pixel_values"]
        att, worst = attentions(cls, d, px, **kw)
        tol = max(1e-5, 1.25 * worst)
        res.append({"case": name, "fixture": fixture, "image": image,
                    "processor": type(proc).__name__, "pixels_hw": list(px.shape[2:]),
                    "pixels": [float("%.9g" % v) for v in px[0].flatten().tolist()],
                    "fp32_vs_fp64": float("%.3g" % worst), "tolerance": float("%.3g" % tol),
                    "attentions": [[[[float("%.10g" % v) for v in r] for r in h] for h in l]
                                   for l in att.tolist()]})
        if kw.get("interpolate_pos_encoding"):  # mhaviz run --interpolate-pos
            res[-1]["interpolate_pos"] = True
        print(name, type(proc).__name__, tuple(px.shape), "tokens", att.shape[-1],
              "tolerance %.2g" % tol)
    with open(os.path.join(fg.GOLDENS, golden + ".json"), "w") as f:
        json.dump({"source": fg.SOURCE, "cases": res}, f)
        f.write("\n")
