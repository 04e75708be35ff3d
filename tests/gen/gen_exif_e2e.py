#!/usr/bin/env python3
"""End-to-end golden of a vision run on a photo stored sideways
(tests/fixtures/images/exif/vision/e2e.json): tests/fixtures/images/exif/vision/sideways.jpg
(29x20 pixels stored, EXIF orientation 6; made by gen_exif_goldens.py) through transformers'
load_image (which turns it upright: 20x29), its PIL image processor and model, as `mhaviz
run` takes the file:

  dinov2-sideways  fam-dinov2-interp-f32 with tests/fixtures/images/dinov2-noncrop's
                   processor (shortest edge 16, no crop): 20x29 -> 16x23 pixels, a 5x4 grid
                   (the stored picture would give 23x16, a 4x5 grid)

Attentions of transformers' float64 run (the pixel values cast to float64), tolerance 1e-5
or 1.25x fp32's own error. tests/cli/exif.sh compares mhaviz's JSON with them.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_exif_e2e.py
"""
import json
import os

import torch
from transformers import Dinov2Model
from transformers.image_utils import load_image
from transformers.models.bit.image_processing_pil_bit import BitImageProcessorPil

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(os.path.dirname(HERE), "fixtures")
VISION = os.path.join(FIX, "images", "exif", "vision")
MODEL = os.path.join(FIX, "fam-dinov2-interp-f32")

with open(os.path.join(FIX, "images", "dinov2-noncrop", "preprocessor_config.json")) as f:
    cfg = {k: v for k, v in json.load(f).items() if k != "image_processor_type"}
image = load_image(os.path.join(VISION, "sideways.jpg"))
px = BitImageProcessorPil(**cfg)(images=image, return_tensors="pt")["pixel_values"]
att = {}
for dt in (torch.float32, torch.float64):
    m = Dinov2Model.from_pretrained(MODEL, dtype=dt, attn_implementation="eager").eval()
    with torch.no_grad():
        att[dt] = torch.stack([a[0] for a in m(pixel_values=px.to(dt), output_attentions=True).attentions])
worst = (att[torch.float32].double() - att[torch.float64]).abs().max().item()
case = {"case": "dinov2-sideways", "fixture": "fam-dinov2-interp-f32", "image_wh": list(image.size),
        "pixels_hw": list(px.shape[2:]), "fp32_vs_fp64": float("%.3g" % worst),
        "tolerance": float("%.3g" % max(1e-5, 1.25 * worst)),
        "attentions": [[[[float("%.10g" % v) for v in r] for r in h] for h in l]
                       for l in att[torch.float64].tolist()]}
with open(os.path.join(VISION, "e2e.json"), "w") as f:
    json.dump({"source": "transformers load_image + BitImageProcessorPil + Dinov2Model, eager, float64",
               "cases": [case]}, f)
    f.write("\n")
print(case["case"], "image", case["image_wh"], "pixels", case["pixels_hw"], "fp32 error", case["fp32_vs_fp64"])
