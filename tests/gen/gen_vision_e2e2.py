#!/usr/bin/env python3
"""End-to-end goldens of the second round of vision families
(tests/fixtures/goldens/vision-e2e2.json): tests/fixtures/images/rgb-37x23.png through
transformers' own PIL image processor (the fixture's preprocessor_config.json, written by
fam_vision2.py, loaded by AutoImageProcessor) and model, as `mhaviz run --model FIXTURE` takes it. Each case names the
fixture, the processor class, the pixel size after preprocessing and every head's
attention from transformers' float64 run (the pixel values cast to float64), tolerance as
famgen's (1e-5, or 1.25x fp32's own error). tests/cli/vision2.sh compares mhaviz's JSON
with them.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_vision_e2e2.py
"""
import json
import os

import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModel

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(os.path.dirname(HERE), "fixtures")
IMAGE = os.path.join(FIX, "images", "rgb-37x23.png")



def processor(fixture):
    """The fixture's processor as AutoImageProcessor loads it (the PIL backend)."""
    proc = AutoImageProcessor.from_pretrained(os.path.join(FIX, fixture))
    return type(proc).__name__, proc


def attentions(model_dir, px, **kw):
    out = {}
    for dt in (torch.float32, torch.float64):
        m = AutoModel.from_pretrained(model_dir, dtype=dt, attn_implementation="eager").eval()
        with torch.no_grad():
            r = m(pixel_values=px.to(dt), output_attentions=True, **kw)
        out[dt] = torch.stack([a[0] for a in r.attentions])
    return out[torch.float64], (out[torch.float32].double() - out[torch.float64]).abs().max().item()


# (case, fixture, model keyword arguments)
CASES = [
    ("vit-msn", "fam-vit-msn-f32", {}),
    ("ijepa", "fam-ijepa-bf16", {}),
    ("beit", "fam-beit-f32", {}),                      # BEiT's defaults: bicubic, 4x4 grid
    ("beit-grid", "fam-beit-mim-shared-abs-bf16", {}),  # 20x12: a 5x3 grid, bias resized
    ("data2vec-legacy", "fam-data2vec-vision-f32", {}),  # 24 then a 20 crop: 5x5
]
cases = []
for name, fixture, kw in CASES:
    kind, proc = processor(fixture)
    px = proc(images=Image.open(IMAGE).convert("RGB"), return_tensors="pt")["pixel_values"]
    att, worst = attentions(os.path.join(FIX, fixture), px, **kw)
    tol = max(1e-5, 1.25 * worst)
    cases.append({"case": name, "fixture": fixture, "processor": kind,
                  "pixels_hw": list(px.shape[2:]),
                  "fp32_vs_fp64": float("%.3g" % worst), "tolerance": float("%.3g" % tol),
                  "attentions": [[[[float("%.10g" % v) for v in r] for r in h] for h in l]
                                 for l in att.tolist()]})
    print(name, kind, tuple(px.shape), "tokens", att.shape[-1], "tolerance %.2g" % tol)
with open(os.path.join(FIX, "goldens", "vision-e2e2.json"), "w") as f:
    json.dump({"image": "images/rgb-37x23.png", "cases": cases}, f)
    f.write("\n")
