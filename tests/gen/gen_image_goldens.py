#!/usr/bin/env python3
"""Images and image-processor goldens (tests/fixtures/images/): small PNGs made here (RGB,
RGBA, grey, palette), and what transformers' PIL image processors make of them for four
preprocessor configurations (bilinear resize to a square, bicubic shortest edge + centre
crop, nearest, none), written to tests/fixtures/images/goldens.json. tests/test_image.c
reads the PNGs with libpng and preprocesses them in C against these values.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_image_goldens.py
(needs pillow in the venv)
"""
import json
import os

import numpy as np
from PIL import Image
from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "fixtures", "images")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(7)


def smooth(h, w):
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 100 * np.sin(x / 3.1 + c) * np.cos(y / 4.3 - c) for c in range(3)], -1)
    return np.clip(base + rng.integers(-20, 21, (h, w, 3)), 0, 255).astype(np.uint8)


imgs = {
    "rgb-37x23.png": Image.fromarray(smooth(23, 37), "RGB"),
    "rgba-20x30.png": Image.fromarray(np.concatenate([smooth(30, 20), rng.integers(0, 256, (30, 20, 1), dtype=np.uint8)], -1), "RGBA"),
    "grey-16x16.png": Image.fromarray(smooth(16, 16)[:, :, 0], "L"),
    "palette-24x18.png": Image.fromarray(smooth(18, 24), "RGB").convert("P", palette=Image.ADAPTIVE, colors=16),
}
for name, im in imgs.items():
    im.save(os.path.join(OUT, name))

CONFIGS = {
    "vit-bilinear": dict(do_resize=True, size={"height": 16, "width": 16}, resample=2,
                         do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                         image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5]),
    "crop-bicubic": dict(do_resize=True, size={"shortest_edge": 20}, resample=3,
                         do_center_crop=True, crop_size={"height": 16, "width": 16},
                         do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                         image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]),
    "nearest": dict(do_resize=True, size={"height": 16, "width": 16}, resample=0,
                    do_rescale=True, rescale_factor=1 / 255, do_normalize=False),
}
out = {"note": "pixel_values of transformers' ViTImageProcessorPil (PIL resampling)", "cases": []}
for cname, cfg in CONFIGS.items():
    d = os.path.join(OUT, cname)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "preprocessor_config.json"), "w") as f:
        json.dump(dict(cfg, image_processor_type="ViTImageProcessor"), f, indent=1)
    proc = ViTImageProcessorPil(**cfg)
    for iname, im in imgs.items():
        pv = proc(images=Image.open(os.path.join(OUT, iname)).convert("RGB"), return_tensors="np")["pixel_values"][0]
        out["cases"].append({"config": cname, "image": iname, "shape": list(pv.shape),
                             "pixels": [float(v) for v in pv.reshape(-1)]})
with open(os.path.join(OUT, "goldens.json"), "w") as f:
    json.dump(out, f)
    f.write("\n")
print(len(out["cases"]), "cases")
