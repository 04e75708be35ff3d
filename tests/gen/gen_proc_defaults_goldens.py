#!/usr/bin/env python3
"""Image-processor class defaults (tests/fixtures/images/proc-defaults/goldens.json): what
AutoImageProcessor.from_pretrained(dir) makes of preprocessor_config.json files that leave
keys out, for every processor class mhaviz knows (ViT, DeiT, BEiT, BiT, CLIP, SigLIP), so
that the C side's per-class fallbacks are checked against transformers' own.

Per configuration directory (tests/fixtures/images/proc-defaults/<name>/):
  "defaults": the processor's resolved settings (size, crop, resample, mean, std,
              do_convert_rgb ...) as transformers holds them after loading;
  "cases":    pixel_values for the PNGs of gen_image_goldens.py, given as load_image gives
              them (RGB), every value, or every `stride`-th value for the 224-pixel outputs
              of the configurations that leave the size out (kept small).

  <Class>-bare    only image_processor_type: every default
  <Class>-small   the type and a small size (and crop): the defaults of the rest
  plus: a legacy feature_extractor_type, a "Fast" name, a file without a type next to a
  config.json whose model_type picks the class, sizes as numbers (a shortest edge for the
  classes that are not square by default), CLIP's use_square_size.

tests/test_image.c preprocesses the same PNGs in C against these values.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_proc_defaults_goldens.py
"""
import dataclasses
import json
import os

import numpy as np
from transformers import AutoImageProcessor
from transformers.image_utils import load_image

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES_DIR = os.path.join(os.path.dirname(HERE), "fixtures", "images")
OUT = os.path.join(IMAGES_DIR, "proc-defaults")
IMAGES = ["rgb-37x23.png", "rgba-20x30.png", "grey-16x16.png", "palette-24x18.png"]
STRIDE = 331

CLASSES = ["ViTImageProcessor", "DeiTImageProcessor", "BeitImageProcessor",
           "BitImageProcessor", "CLIPImageProcessor", "SiglipImageProcessor"]
SMALL = {  # a size of the class's own form, and a crop for the classes that crop
    "ViTImageProcessor": {"size": {"height": 14, "width": 18}},
    "DeiTImageProcessor": {"size": {"height": 20, "width": 22},
                           "crop_size": {"height": 14, "width": 16}},
    "BeitImageProcessor": {"size": {"height": 14, "width": 18}},
    "BitImageProcessor": {"size": {"shortest_edge": 18}, "crop_size": {"height": 16, "width": 16}},
    "CLIPImageProcessor": {"size": {"shortest_edge": 18}, "crop_size": {"height": 16, "width": 12}},
    "SiglipImageProcessor": {"size": {"height": 16, "width": 20}},
}
CONFIGS = {}
for cls in CLASSES:
    CONFIGS[cls + "-bare"] = ({"image_processor_type": cls}, None)
    CONFIGS[cls + "-small"] = (dict({"image_processor_type": cls}, **SMALL[cls]), None)
CONFIGS.update({
    "legacy-clip-fe": ({"feature_extractor_type": "CLIPFeatureExtractor", "size": 20,
                        "crop_size": 16}, None),
    "fast-deit": ({"image_processor_type": "DeiTImageProcessorFast", "size": 18,
                   "crop_size": 14}, None),
    "pil-siglip-number": ({"image_processor_type": "SiglipImageProcessorPil", "size": 15}, None),
    "bit-number": ({"image_processor_type": "BitImageProcessor", "size": 19, "crop_size": 15,
                    "resample": 2}, None),
    "clip-square": ({"image_processor_type": "CLIPImageProcessor", "use_square_size": True,
                     "do_center_crop": False}, None),
    "model-type-dinov2": ({"size": {"shortest_edge": 17}, "crop_size": 14}, "dinov2"),
    "model-type-siglip": ({"size": {"height": 12, "width": 16}}, "siglip"),
    "model-type-deit": ({"size": {"height": 18, "width": 18}, "crop_size": 16}, "deit"),
})

KEYS = ["do_resize", "size", "resample", "do_center_crop", "crop_size", "do_rescale",
        "rescale_factor", "do_normalize", "image_mean", "image_std", "do_convert_rgb"]


def plain(v):
    if dataclasses.is_dataclass(v):  # transformers' SizeDict
        v = dataclasses.asdict(v)
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items() if x is not None}
    if isinstance(v, (list, tuple)):
        return [float(x) for x in v]
    if hasattr(v, "value"):
        return int(v.value)
    return v


out = {"note": "pixel_values of AutoImageProcessor.from_pretrained(dir) (transformers 5.25; "
               "the PIL backend: no torchvision), images from load_image", "configs": []}
for cname, (cfg, model_type) in CONFIGS.items():
    d = os.path.join(OUT, cname)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "preprocessor_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    if model_type:
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"model_type": model_type}, f, indent=1)
            f.write("\n")
    proc = AutoImageProcessor.from_pretrained(d)
    defaults = {k: plain(getattr(proc, k, None)) for k in KEYS}
    entry = {"config": cname, "class": type(proc).__name__, "defaults": defaults, "cases": []}
    for iname in IMAGES:
        pv = proc(images=load_image(os.path.join(IMAGES_DIR, iname)),
                  return_tensors="np")["pixel_values"][0]
        flat = pv.reshape(-1)
        stride = 1 if flat.size < 1500 else STRIDE
        entry["cases"].append({"image": iname, "shape": list(pv.shape), "stride": stride,
                               "pixels": [float(f"{v:.9g}") for v in flat[::stride]]})
    out["configs"].append(entry)

# PNGs with transparency that load_image's convert("RGB") leaves in the image's info: a
# tRNS colour of a grey or RGB PNG and a palette PNG with one transparent entry; under
# do_convert_rgb (CLIP's, BiT's, SigLIP's default) convert_to_rgb composites that colour
# onto white (every pixel of that colour, whatever its palette index), without it (ViT's)
# the pixels stay. A palette PNG whose tRNS holds partial alphas loses them in
# convert("RGB"): nothing changes. A 16-bit grey tRNS mhaviz refuses by name under
# do_convert_rgb ("refused").
from PIL import Image  # noqa: E402

rng = np.random.default_rng(20)
rgb = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
rgb[2:5, 3:7] = (10, 20, 30)
Image.fromarray(rgb).save(os.path.join(OUT, "trns-rgb-11x9.png"), transparency=(10, 20, 30))
idx = rng.integers(0, 8, (10, 7), dtype=np.uint8)
pal = [int(v) for v in rng.integers(0, 256, 24)]
for name, trns in (("trns-palette-key-7x10.png", bytes([255, 255, 0, 255])),
                   ("trns-palette-alpha-7x10.png", bytes([255, 128, 0, 40]))):
    im = Image.fromarray(idx, "P")
    im.putpalette(pal)
    im.save(os.path.join(OUT, name), transparency=trns)
grey = rng.integers(0, 256, (8, 13), dtype=np.uint8)
grey[1:6, 2:5] = 77
Image.fromarray(grey, "L").save(os.path.join(OUT, "trns-grey-13x8.png"), transparency=77)
pal_twice = list(pal)
pal_twice[15:18] = pal_twice[6:9]  # entry 5 has entry 2's colour: both go white
im = Image.fromarray(idx, "P")
im.putpalette(pal_twice)
im.save(os.path.join(OUT, "trns-palette-shared-7x10.png"), transparency=2)
grey16 = rng.integers(0, 65536, (6, 9), dtype=np.uint16)
grey16[0:3, 0:4] = 0
Image.fromarray(grey16).save(os.path.join(OUT, "trns-grey16-9x6.png"), transparency=0)
out["transparent"] = []
TRNS = (("trns-rgb-11x9.png", True), ("trns-palette-key-7x10.png", True),
        ("trns-palette-alpha-7x10.png", False), ("trns-grey-13x8.png", True),
        ("trns-palette-shared-7x10.png", True), ("trns-grey16-9x6.png", True))
for iname, key in TRNS:
    image = load_image(os.path.join(OUT, iname))
    assert (image.info.get("transparency") is not None) == key, iname
    for cname in ("ViTImageProcessor-small", "CLIPImageProcessor-small",
                  "BitImageProcessor-small", "SiglipImageProcessor-small"):
        proc = AutoImageProcessor.from_pretrained(os.path.join(OUT, cname))
        pv = proc(images=image, return_tensors="np")["pixel_values"][0]
        plain_pv = proc(images=image, do_convert_rgb=False, return_tensors="np")["pixel_values"][0]
        changed = bool(np.abs(pv - plain_pv).max() > 0)
        assert changed == (key and bool(proc.do_convert_rgb)), (iname, cname)
        refused = "grey16" in iname and bool(proc.do_convert_rgb)
        if "grey16" in iname and not refused:
            continue  # PIL's I;16 to RGB clips at 255, mhaviz's decoder scales: not compared
        out["transparent"].append({"image": iname, "config": cname, "changed": changed,
                                   "refused": refused, "shape": list(pv.shape),
                                   "pixels": [] if refused else
                                   [float(f"{v:.9g}") for v in pv.reshape(-1)]})

with open(os.path.join(OUT, "goldens.json"), "w") as f:
    json.dump(out, f)
    f.write("\n")
print(len(out["configs"]), "configurations")
