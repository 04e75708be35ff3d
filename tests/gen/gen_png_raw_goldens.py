"""PNGs that libpng's simplified reader and PIL decode differently, with the pixels
transformers' load_image gives (tests/fixtures/images/png-raw/goldens.json): 16-bit samples
(PIL keeps the high byte; a grey image without alpha, PIL's I;16, is clipped at 255) and gAMA
chunks (PIL ignores them). Written byte by byte here, since PIL writes neither 16-bit colour
nor gAMA.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/gen_png_raw_goldens.py
"""
import json
import os
import struct
import zlib

import numpy as np
import PIL
from transformers.image_utils import load_image

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "images", "png-raw")


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def write_png(name, samples, depth, colour_type, extra=b""):
    h, w = samples.shape[:2]
    dt = ">u2" if depth == 16 else "u1"
    raw = b"".join(b"\x00" + samples[y].astype(dt).tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    return name


def gama(g):
    return chunk(b"gAMA", struct.pack(">I", g))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(17)
    w, h = 7, 5
    # 16-bit samples: small values (kept, or clipped by I;16), values near byte boundaries
    s16 = rng.integers(0, 65536, size=(h, w, 4)).astype(np.uint16)
    s16[0, :, :] = [[0, 1, 255, 256], [100, 32767, 32768, 65535], [0x7F80, 0x80FF, 0xFF00, 0x00FF],
                    [254, 255, 256, 1000], [1, 2, 3, 4], [65535, 0, 65535, 0], [300, 200, 100, 50]]
    names = [
        write_png("grey16.png", s16[:, :, 0], 16, 0),
        write_png("grey16-small.png", (s16[:, :, 0] % 300).astype(np.uint16), 16, 0),
        write_png("grey-alpha16.png", s16[:, :, :2], 16, 4),
        write_png("rgb16.png", s16[:, :, :3], 16, 2),
        write_png("rgba16.png", s16, 16, 6),
        write_png("rgb16-gama.png", s16[:, :, :3], 16, 2, gama(100000)),
    ]
    s8 = rng.integers(0, 256, size=(h, w, 4)).astype(np.uint8)
    for g in (100000, 45455, 20000):
        names.append(write_png("rgb8-gama%d.png" % g, s8[:, :, :3], 8, 2, gama(g)))
    names.append(write_png("grey8-gama100000.png", s8[:, :, 0], 8, 0, gama(100000)))
    names.append(write_png("rgba8-gama100000.png", s8, 8, 6, gama(100000)))
    cases = []
    for name in names:
        rgb = np.asarray(load_image(os.path.join(OUT, name)))
        cases.append({"image": name, "height": int(rgb.shape[0]), "width": int(rgb.shape[1]),
                      "rgb": [int(v) for v in rgb.reshape(-1)]})
    with open(os.path.join(OUT, "goldens.json"), "w") as f:
        json.dump({"note": "np.asarray(transformers.image_utils.load_image(f)), Pillow "
                   + PIL.__version__, "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
