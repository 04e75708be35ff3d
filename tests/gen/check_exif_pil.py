#!/usr/bin/env python3
"""Generator-time differential check of the EXIF orientation against transformers' load_image
(PIL's exif_transpose): random JPEGs and PNGs carrying random, often hostile EXIF (every TIFF
type, counts from 0 to 2^32-1, offsets in and out of the data, truncations, odd headers, the
"Exif" prefix zero to two times, split APP1 segments), XMP, eXIf / tEXt / zTXt / iTXt chunks
before and after the image data, bad CRCs; each decoded by mhaviz (a small driver linked with
build/libmhaviz.a: width, height and a hash of the pixels, or the error) and by load_image, and
compared: the same pixels, or both refuse. One difference is allowed and counted: after
turning an image PIL writes the remaining EXIF back (Exif.tobytes) and on some malformed
tags that raises, so load_image fails where mhaviz gives the upright image; the check
tolerates exactly that failure (the image PIL had turned is then compared). `make test` does
not need it: tests/gen/gen_exif_goldens.py's fixtures are checked in C.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/check_exif_pil.py [SEED [N]]
"""
import io
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
import zlib

import numpy as np
from PIL import Image
from transformers.image_utils import load_image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WRITE_FAILS = [0]
_exif_tobytes = Image.Exif.tobytes


def tolerant_tobytes(self, *a, **k):
    """PIL's write-back of the EXIF after turning: its failure is the one allowed difference."""
    try:
        return _exif_tobytes(self, *a, **k)
    except Exception:  # noqa: BLE001 - TypeError, struct.error ... from PIL's TIFF writer
        WRITE_FAILS[0] += 1
        return b""


Image.Exif.tobytes = tolerant_tobytes
DRIVER = r"""
#include <stdio.h>
#include "media/image.h"
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        mhv_image im;
        mhv_error err = {0};
        if (mhv_image_read(argv[i], &im, &err)) { printf("ERR %s\n", err.msg); continue; }
        unsigned long long h = 1469598103934665603ull;
        for (long k = 0; k < (long)im.width * im.height * 3; k++) h = (h ^ im.rgb[k]) * 1099511628211ull;
        printf("%d %d %016llx\n", im.width, im.height, h);
        mhv_image_free(&im);
    }
    return 0;
}
"""
UNIT = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8}
R = random.Random(1)
PIC = np.random.default_rng(3).integers(0, 256, (5, 7, 3), dtype=np.uint8)  # 7 wide, 5 tall


def rbytes(n):
    return bytes(R.randrange(256) for _ in range(n))


def tiff_head(e):
    r = R.random()
    if r < 0.05:
        return rbytes(R.randrange(0, 9))
    if r < 0.1:
        return R.choice([b"II\x2b\x00", b"MM\x00\x2b", b"MM\x2a\x00", b"II\x00\x2a"]) + struct.pack(e + "L", 8)
    return (b"II" if e == "<" else b"MM") + struct.pack(e + "HL", 42, R.choice([8, 8, 8, 0, 3, 1000, 2**32 - 1]))


def value_apart(e, typ, size):
    if typ in (5, 10):
        a, b = R.choice([2, 3, 4, 5, 6, 7, 8, 12, -12, 0, 1, 9]), R.choice([1, 2, -2, 0, 1, 1])
        return struct.pack(e + "LL", abs(a), abs(b)) if typ == 5 else struct.pack(e + "ll", a, b)
    if typ == 12:
        return struct.pack(e + "d", R.choice([6.0, 2.0, 8.5, float("nan"), 3.0]))
    if typ == 16:
        return struct.pack(e + "Q", R.choice([2, 6, 2**64 - 1, 2**32 + 6]))
    return rbytes(min(size, 16))


def value_inline(e, typ):
    if typ == 3:
        return struct.pack(e + "HH", R.randrange(0, 10), R.randrange(0, 10))
    if typ == 8:
        return struct.pack(e + "hh", R.choice([-6, 6, 2, 8]), 0)
    if typ in (4, 9, 13):
        return struct.pack(e + "L", R.choice([1, 2, 3, 4, 5, 6, 7, 8, 9, 2**32 - 6]))
    if typ == 11:
        return struct.pack(e + "f", R.choice([6.0, 2.0, 8.5, 3.0, float("inf")]))
    if typ in (1, 6, 7):
        return bytes([R.randrange(0, 10)]) + rbytes(3)
    return rbytes(4)


def tiff():
    """TIFF data with a random IFD0 (orientation entries of every type, other tags, values
    stored apart in and out of the data), perhaps cut short, after zero to two "Exif\0\0"."""
    e = R.choice("<>")
    n = R.randrange(0, 6)
    entries, tail = [], b""
    tail_at = 8 + 2 + 12 * n + 4
    for _ in range(n):
        tag = R.choice([274, 274, 274, 282, 296, 0x8769, R.randrange(65536)])
        typ = R.choice([1, 2, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 0, 14, 99])
        count = R.choice([0, 1, 1, 1, 2, 3, 5, 2**20, 2**32 - 1])
        if count * UNIT.get(typ, 1) > 4 and R.random() < 0.7:
            off = tail_at + len(tail)
            tail += value_apart(e, typ, count * UNIT.get(typ, 1))
            entries.append(struct.pack(e + "HHLL", tag, typ, count, R.choice([off, off, 2**31, off + 3])))
        else:
            entries.append(struct.pack(e + "HHL", tag, typ, count) + value_inline(e, typ))
    ifd = struct.pack(e + "H", R.choice([n, n, n + 3, 0])) + b"".join(entries) + struct.pack(e + "L", R.choice([0, 8]))
    t = tiff_head(e) + ifd + tail
    if R.random() < 0.15:
        t = t[:R.randrange(len(t) + 1)]
    return R.choice([b"", b"Exif\0\0", b"Exif\0\0", b"Exif\0\0Exif\0\0"]) + t


def xmp():
    return R.choice([b'tiff:Orientation="%d"', b"<tiff:Orientation>%d</tiff:Orientation>",
                     b"tiff:Orientation=%d", b'tiff:Orientation="x"tiff:Orientation="%d"']) % R.randrange(0, 10)


def jpeg():
    b = io.BytesIO()
    Image.fromarray(PIC, "RGB").save(b, "JPEG", quality=90, **({"dpi": (72, 72)} if R.random() < 0.4 else {}))
    d = b.getvalue()
    at = 4 + struct.unpack(">H", d[4:6])[0] if d[2:4] == b"\xff\xe0" else 2
    segs = []
    for _ in range(R.randrange(0, 4)):
        if R.random() < 0.6:
            t = tiff()
            if not t.startswith(b"Exif\0\0"):
                t = b"Exif\0\0" + t
            if R.random() < 0.2 and len(t) > 10:  # split over two APP1s
                c = R.randrange(6, len(t))
                segs += [t[:c], b"Exif\0\0" + t[c:]]
            else:
                segs.append(t)
        else:
            segs.append(b"http://ns.adobe.com/xap/1.0/\0" + xmp())
    return d[:at] + b"".join(b"\xff\xe1" + struct.pack(">H", len(p) + 2) + p for p in segs) + d[at:]


def chunk(ctype, body, bad_crc=False):
    c = zlib.crc32(ctype + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", c ^ bad_crc)


def raw_profile_chunk(bad_crc):
    raw = tiff()
    hx = raw.hex()
    if R.random() < 0.1:
        hx = hx[:-1]
    prof = ("\nexif\n%8d\n" % len(raw)) + "\n".join(hx[i:i + 10] for i in range(0, len(hx), 10))
    if R.random() < 0.1:
        prof = prof.replace("\n", " ", 3)
    pb = prof.encode()
    ctype = R.choice([b"tEXt", b"zTXt", b"iTXt"])
    if ctype == b"tEXt":
        return chunk(ctype, b"Raw profile type exif\0" + pb, bad_crc)
    if ctype == b"zTXt":
        return chunk(ctype, b"Raw profile type exif\0\0" + zlib.compress(pb), bad_crc)
    return chunk(ctype, b"Raw profile type exif\0\0\0\0\0" + pb, bad_crc)


def xmp_chunk(bad_crc):
    x = xmp()
    ctype = R.choice([b"tEXt", b"zTXt", b"iTXt", b"iTXt"])
    if ctype == b"tEXt":
        return chunk(ctype, b"XML:com.adobe.xmp\0" + x, bad_crc)
    if ctype == b"zTXt":
        return chunk(ctype, b"XML:com.adobe.xmp\0\0" + (zlib.compress(x) if R.random() < 0.9 else b"garbage"), bad_crc)
    compressed = R.random() < 0.5
    v = zlib.compress(x) if compressed else x
    if R.random() < 0.1:
        v += b"\xff\xfe"  # not UTF-8
    return chunk(ctype, b"XML:com.adobe.xmp\0" + (b"\x01\x00" if compressed else b"\x00\x00") + b"\0\0" + v, bad_crc)


def meta_chunk():
    k, bad_crc = R.random(), R.random() < 0.03
    if k < 0.35:
        return chunk(b"eXIf", tiff(), bad_crc)
    if k < 0.5:
        return chunk(b"tEXt", b"exif\0" + tiff(), bad_crc)
    if k < 0.55:
        return chunk(b"zTXt", b"exif\0\0" + zlib.compress(tiff()), bad_crc)
    if k < 0.75:
        return raw_profile_chunk(bad_crc)
    return xmp_chunk(bad_crc)


def png():
    b = io.BytesIO()
    Image.fromarray(PIC, "RGB").save(b, "PNG")
    d = b.getvalue()
    before = [meta_chunk() for _ in range(R.randrange(0, 3))]
    after = [meta_chunk() for _ in range(R.randrange(0, 3))]
    out, at = d[:8], 8
    while at < len(d):
        n, ctype = struct.unpack(">I", d[at:at + 4])[0], d[at + 4:at + 8]
        if ctype == b"IDAT":
            out += b"".join(before)
        if ctype == b"IEND":
            out += b"".join(after)
        out += d[at:at + 12 + n]
        at += 12 + n
    return out


def pil_result(path):
    """What load_image gives, in the driver's words."""
    try:
        a = np.asarray(load_image(path))
    except Exception:  # noqa: BLE001 - any refusal of load_image
        return "ERR"
    h = 1469598103934665603
    for v in a.reshape(-1).tolist():
        h = ((h ^ v) * 1099511628211) & (2**64 - 1)
    return "%d %d %016x" % (a.shape[1], a.shape[0], h)


def main():
    warnings.simplefilter("ignore")
    R.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    tmp = tempfile.mkdtemp(prefix="mhaviz-exif-check.")
    drv = os.path.join(tmp, "drv")
    with open(drv + ".c", "w") as f:
        f.write(DRIVER)
    libs = subprocess.run(["pkg-config", "--libs", "libpng", "zlib", "libjpeg"], capture_output=True,
                          text=True, check=True).stdout.split()
    subprocess.run(["cc", "-std=c11", "-I" + os.path.join(ROOT, "lib"), drv + ".c",
                    os.path.join(ROOT, "build", "libmhaviz.a"), "-o", drv] + libs + ["-lm", "-lpthread"],
                   check=True)
    paths = []
    for i in range(n):
        data = jpeg() if R.random() < 0.5 else png()
        paths.append(os.path.join(tmp, "c%05d.%s" % (i, "jpg" if data[:2] == b"\xff\xd8" else "png")))
        with open(paths[-1], "wb") as f:
            f.write(data)
    ours = subprocess.run([drv] + paths, capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(ours) == n
    bad = refused = swapped = 0
    for path, got in zip(paths, ours):
        want = pil_result(path)
        refused += want == "ERR"
        swapped += want.startswith("5 7 ")
        if ("ERR" if got.startswith("ERR") else got) != want:
            bad += 1
            print("MISMATCH", path, "mhaviz:", got, "load_image:", want)
    print(f"{n} files: {refused} refused by both, {swapped} with the sides swapped, "
          f"{WRITE_FAILS[0]} PIL write-back failures tolerated, {bad} mismatches")
    if not bad:
        shutil.rmtree(tmp)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
