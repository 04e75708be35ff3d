#!/usr/bin/env python3
"""BEiT image-processor goldens (tests/fixtures/images/beit-goldens.json): what
transformers makes of the PNGs of gen_image_goldens.py with BEiT's processor
(BeitImageProcessor, which data2vec-vision uses too), loaded from a directory as
AutoImageProcessor.from_pretrained loads it, for configurations written to
tests/fixtures/images/beit-*/preprocessor_config.json:

  beit-legacy    the older layout of the hub's BEiT files: feature_extractor_type
                 BeitFeatureExtractor, size and crop_size as numbers (squares), reduce_labels,
                 a bilinear resize to 16 x 16 and a 12 x 12 centre crop
  beit-defaults  image_processor_type BeitImageProcessor and a size: its defaults for the
                 rest (PIL's bicubic, no crop, rescale, mean and std 0.5), here one number
                 for every channel's mean and std, and do_reduce_labels (segmentation maps
                 only)

tests/test_image.c preprocesses the same PNGs in C against these values.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_beit_proc_goldens.py
"""
import json
import os

from PIL import Image
from transformers import AutoImageProcessor

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "fixtures", "images")
IMAGES = ["rgb-37x23.png", "rgba-20x30.png", "grey-16x16.png", "palette-24x18.png"]

CONFIGS = {
    "beit-legacy": {"feature_extractor_type": "BeitFeatureExtractor", "size": 16,
                    "crop_size": 12, "do_center_crop": True, "resample": 2,
                    "reduce_labels": False, "do_resize": True, "do_normalize": True,
                    "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
    "beit-defaults": {"image_processor_type": "BeitImageProcessor",
                      "size": {"height": 14, "width": 18}, "image_mean": 0.45,
                      "image_std": 0.27, "do_reduce_labels": True},
}
out = {"note": "pixel_values of transformers' BeitImageProcessor (PIL backend) loaded with "
               "AutoImageProcessor.from_pretrained", "cases": []}
for cname, cfg in CONFIGS.items():
    d = os.path.join(OUT, cname)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "preprocessor_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    proc = AutoImageProcessor.from_pretrained(d)
    assert type(proc).__name__.startswith("BeitImageProcessor"), type(proc)
    for iname in IMAGES:
        pv = proc(images=Image.open(os.path.join(OUT, iname)).convert("RGB"),
                  return_tensors="np")["pixel_values"][0]
        out["cases"].append({"config": cname, "image": iname, "shape": list(pv.shape),
                             "pixels": [float(v) for v in pv.reshape(-1)]})
with open(os.path.join(OUT, "beit-goldens.json"), "w") as f:
    json.dump(out, f)
    f.write("\n")
print(len(out["cases"]), "cases")
