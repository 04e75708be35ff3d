#!/usr/bin/env python3
"""JPEG images and what PIL decodes them to (tests/fixtures/images/jpeg/): a baseline 4:2:0
JPEG of odd size, a progressive 4:4:4 one, a greyscale one, one whose EXIF orientation
says "rotate 90" (mhaviz turns it upright as transformers' load_image does with PIL's
exif_transpose; gen_exif_goldens.py has every orientation), and a CMYK one (refused).
decoded.json holds np.asarray(ImageOps.exif_transpose(Image.open(f)).convert("RGB")) for
each but the CMYK one; tests/test_image.c decodes the files with libjpeg and compares.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_jpeg_goldens.py
"""
import json
import os

import numpy as np
import PIL
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "fixtures", "images", "jpeg")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(11)


def picture(h, w):
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 90 * np.sin(x / 2.7 + c) * np.cos(y / 3.9 - 2 * c) for c in range(3)], -1)
    return np.clip(base + rng.integers(-25, 26, (h, w, 3)), 0, 255).astype(np.uint8)


rgb = Image.fromarray(picture(23, 37), "RGB")
rgb.save(os.path.join(OUT, "baseline-420.jpg"), quality=85, subsampling=2)
Image.fromarray(picture(20, 24), "RGB").save(os.path.join(OUT, "progressive-444.jpg"),
                                             quality=92, subsampling=0, progressive=True)
Image.fromarray(picture(17, 19)[:, :, 1], "L").save(os.path.join(OUT, "grey.jpg"), quality=90)
exif = Image.Exif()
exif[0x0112] = 6  # Orientation: rotate 90 clockwise to display
Image.fromarray(picture(12, 20), "RGB").save(os.path.join(OUT, "exif-rotate90.jpg"), quality=90,
                                            exif=exif)
Image.fromarray(picture(8, 8), "RGB").convert("CMYK").save(os.path.join(OUT, "cmyk.jpg"))

cases = []
for name in ["baseline-420.jpg", "progressive-444.jpg", "grey.jpg", "exif-rotate90.jpg"]:
    a = np.asarray(ImageOps.exif_transpose(Image.open(os.path.join(OUT, name))).convert("RGB"))
    cases.append({"image": name, "height": a.shape[0], "width": a.shape[1],
                  "rgb": [int(v) for v in a.reshape(-1)]})
with open(os.path.join(OUT, "decoded.json"), "w") as f:
    json.dump({"note": "np.asarray(ImageOps.exif_transpose(Image.open(f)).convert('RGB')), Pillow %s"
                       % PIL.__version__,
               "cases": cases}, f)
    f.write("\n")
print("wrote", OUT)
