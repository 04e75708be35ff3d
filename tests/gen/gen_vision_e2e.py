#!/usr/bin/env python3
"""End-to-end goldens of vision runs (tests/fixtures/goldens/vision-e2e.json): an image file
through transformers' own PIL image processor and model, as `mhaviz run` takes it, for
images whose size after preprocessing is not the model's image_size:

  dinov2-crop     fam-dinov2-interp-f32 (image_size 28) with its preprocessor_config.json
                  (shortest edge 18, centre crop 16, as DINOv2's 224 crop of its 518):
                  a 4x4 grid, positions resized (Dinov2Model always does)
  dinov2-noncrop  the same model with tests/fixtures/images/dinov2-noncrop's processor
                  (shortest edge 16, no crop): 37x23 -> 25x16 pixels, a 4x6 grid (one
                  column of pixels dropped by the patch convolution)
  vit-noresize    fam-vit-f32 (image_size 16), the image as it is (mhaviz --no-resize:
                  processor without resize or crop), 37x23 pixels, a 5x9 grid, with
                  interpolate_pos_encoding=True (mhaviz --interpolate-pos)

Attentions of transformers' float64 run of the checkpoint (the pixel values cast to
float64), tolerance as famgen's (1e-5, or 1.25x fp32's own error). tests/cli/vision.sh
compares mhaviz's JSON with them.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_vision_e2e.py
"""
import json
import os

import torch
from PIL import Image
from transformers import Dinov2Model, ViTModel
from transformers.models.bit.image_processing_pil_bit import BitImageProcessorPil
from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(os.path.dirname(HERE), "fixtures")
IMAGE = os.path.join(FIX, "images", "rgb-37x23.png")

NONCROP = {"image_processor_type": "BitImageProcessor", "do_resize": True,
           "size": {"shortest_edge": 16}, "resample": 3, "do_center_crop": False,
           "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
           "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
           "do_convert_rgb": True}
with open(os.path.join(FIX, "images", "dinov2-noncrop", "preprocessor_config.json"), "w") as f:
    json.dump(NONCROP, f, indent=1)
    f.write("\n")


def processor_cfg(path):
    with open(path) as f:
        cfg = json.load(f)
    return {k: v for k, v in cfg.items() if k != "image_processor_type"}


def attentions(cls, model_dir, px, **kw):
    out = {}
    for dt in (torch.float32, torch.float64):
        m = cls.from_pretrained(model_dir, dtype=dt, attn_implementation="eager").eval()
        with torch.no_grad():
            r = m(pixel_values=px.to(dt), output_attentions=True, **kw)
        out[dt] = torch.stack([a[0] for a in r.attentions])
    return out[torch.float64], (out[torch.float32].double() - out[torch.float64]).abs().max().item()


CASES = [
    ("dinov2-crop", Dinov2Model, "fam-dinov2-interp-f32", BitImageProcessorPil,
     processor_cfg(os.path.join(FIX, "fam-dinov2-interp-f32", "preprocessor_config.json")), {}),
    ("dinov2-noncrop", Dinov2Model, "fam-dinov2-interp-f32", BitImageProcessorPil,
     {k: v for k, v in NONCROP.items() if k != "image_processor_type"}, {}),
    ("vit-noresize", ViTModel, "fam-vit-f32", ViTImageProcessorPil,
     dict(do_resize=False, do_center_crop=False, do_rescale=True, rescale_factor=1 / 255,
          do_normalize=True, image_mean=[0.5] * 3, image_std=[0.5] * 3),
     {"interpolate_pos_encoding": True}),
]
cases = []
for name, cls, fixture, proc_cls, cfg, kw in CASES:
    proc = proc_cls(**cfg)
    px = proc(images=Image.open(IMAGE).convert("RGB"), return_tensors="pt")["pixel_values"]
    att, worst = attentions(cls, os.path.join(FIX, fixture), px, **kw)
    tol = max(1e-5, 1.25 * worst)
    cases.append({"case": name, "fixture": fixture, "pixels_hw": list(px.shape[2:]),
                  "fp32_vs_fp64": float("%.3g" % worst), "tolerance": float("%.3g" % tol),
                  "attentions": [[[[float("%.10g" % v) for v in r] for r in h] for h in l]
                                 for l in att.tolist()]})
    print(name, tuple(px.shape), "tokens", att.shape[-1], "tolerance %.2g" % tol)
with open(os.path.join(FIX, "goldens", "vision-e2e.json"), "w") as f:
    json.dump({"image": "images/rgb-37x23.png", "cases": cases}, f)
    f.write("\n")
