#!/usr/bin/env python3
"""Images with an EXIF (or XMP) orientation and what transformers' load_image makes of them
(tests/fixtures/images/exif/): load_image applies PIL's ImageOps.exif_transpose, so these are
the pixels a vision model sees in HF. JPEGs with orientation 1..8 in both byte orders, PNGs
with an eXIf chunk 1..8, ImageMagick's "Raw profile type exif" text, XMP in a JPEG APP1 and a
PNG iTXt, and hostile EXIF (bad offsets, loops, truncated IFDs, huge counts, odd value types,
headers PIL cannot read, an XResolution PIL fails on when it opens a JPEG). goldens.json
holds per file either the pixels (np.asarray(load_image(f))) or "error" when load_image
raises, with the words mhaviz's one line must hold (ours: PIL's exception texts differ).
tests/test_image.c compares.
Also vision/: a JPEG turned by its EXIF and the upright picture load_image gives, as a PNG,
for tests/cli/exif.sh (their attentions must be equal).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_exif_goldens.py
"""
import io
import json
import os
import struct
import zlib

import numpy as np
import PIL
from PIL import Image
from transformers.image_utils import load_image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "fixtures", "images", "exif")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(5)
ORIENTATION = 0x0112


def picture(h, w):
    """A picture whose every turn and mirror differs (no symmetry): smooth colours plus noise."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([40 + 170 * (x / w) * (c != 1) + 120 * (y / h) * (c != 0) + 30 * c for c in range(3)], -1)
    return np.clip(base + rng.integers(-20, 21, (h, w, 3)), 0, 255).astype(np.uint8)


PIC = picture(9, 13)  # 13 wide, 9 tall: a turn swaps the sides


def jpeg(dpi=False, pic=PIC):
    b = io.BytesIO()
    Image.fromarray(pic, "RGB").save(b, "JPEG", quality=90, **({"dpi": (72, 72)} if dpi else {}))
    return b.getvalue()


def with_app1(data, *payloads):
    """The JPEG with APP1 segments put after its JFIF APP0 (or its SOI)."""
    at = 2
    if data[2:4] == b"\xff\xe0":
        at = 4 + struct.unpack(">H", data[4:6])[0]
    segs = b"".join(b"\xff\xe1" + struct.pack(">H", len(p) + 2) + p for p in payloads)
    return data[:at] + segs + data[at:]


def png(pic=PIC):
    b = io.BytesIO()
    Image.fromarray(pic, "RGB").save(b, "PNG")
    return b.getvalue()


def chunks(data):
    at, out = 8, []
    while at < len(data):
        n = struct.unpack(">I", data[at:at + 4])[0]
        out.append((data[at + 4:at + 8], data[at + 8:at + 8 + n]))
        at += 12 + n
    return out


def chunk(ctype, body, crc=None):
    c = zlib.crc32(ctype + body) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", c)


def with_chunks(data, before=(), after=()):
    """The PNG with chunks (bytes, made by chunk()) put before its IDAT and after it."""
    out = data[:8]
    for ctype, body in chunks(data):
        if ctype == b"IDAT":
            out += b"".join(before)
        if ctype == b"IEND":
            out += b"".join(after)
        out += chunk(ctype, body)
    return out


def tiff(endian, entries, next_ifd=0, head=None, tail=b""):
    """TIFF data with IFD0 at 8: entries are (tag, type, count, 4 value bytes or an int
    offset); tail follows the IFD (offsets into it are 8 + 2 + 12 n + 4 + k)."""
    e = "<" if endian == "II" else ">"
    h = head if head is not None else endian.encode() + struct.pack(e + "HL", 42, 8)
    body = struct.pack(e + "H", len(entries))
    for tag, typ, count, value in entries:
        v = struct.pack(e + "L", value) if isinstance(value, int) else value
        body += struct.pack(e + "HHL", tag, typ, count) + v
    return h + body + struct.pack(e + "L", next_ifd) + tail


def tail_at(n_entries):
    return 8 + 2 + 12 * n_entries + 4


def short(endian, v):
    e = "<" if endian == "II" else ">"
    return struct.pack(e + "HH", v, 0)


EX = b"Exif\0\0"
files = {}  # name -> (bytes, words the error must hold or None)

# orientations 1..8: JPEG in both byte orders (PIL's own writer gives MM), PNG eXIf
for o in range(1, 9):
    exif = Image.Exif()
    exif[ORIENTATION] = o
    b = io.BytesIO()
    Image.fromarray(PIC, "RGB").save(b, "JPEG", quality=90, exif=exif)
    files[f"jpeg-mm-{o}.jpg"] = (b.getvalue(), None)
    files[f"jpeg-ii-{o}.jpg"] = (with_app1(jpeg(), EX + tiff("II", [(ORIENTATION, 3, 1, short("II", o))])), None)
    b = io.BytesIO()
    Image.fromarray(PIC, "RGB").save(b, "PNG", exif=exif)
    files[f"png-{o}.png"] = (b.getvalue(), None)

# XMP: a JPEG APP1, a PNG iTXt (compressed), EXIF without the tag then XMP, EXIF 1 beats XMP
XMP_NS = b"http://ns.adobe.com/xap/1.0/\0"
xmp = b'<x:xmpmeta><rdf:Description tiff:Make="x" tiff:Orientation="8"/></x:xmpmeta>'
files["jpeg-xmp-8.jpg"] = (with_app1(jpeg(), XMP_NS + xmp), None)
files["jpeg-exif-notag-xmp-3.jpg"] = (with_app1(jpeg(), EX + tiff("MM", [(0x0110, 2, 4, b"cam\0")]),
                                                XMP_NS + b"<tiff:Orientation>3</tiff:Orientation>"), None)
files["jpeg-exif-1-xmp-6.jpg"] = (with_app1(jpeg(), EX + tiff("MM", [(ORIENTATION, 3, 1, short("MM", 1))]),
                                            XMP_NS + b'tiff:Orientation="6"'), None)
itxt = b"XML:com.adobe.xmp\0\x01\x00\0\0" + zlib.compress(b"<tiff:Orientation>5</tiff:Orientation>")
files["png-xmp-5.png"] = (with_chunks(png(), before=[chunk(b"iTXt", itxt)]), None)

# ImageMagick's raw profile: tEXt and zTXt; not hex is an error
raw = EX + tiff("MM", [(ORIENTATION, 3, 1, short("MM", 7))])
hexed = raw.hex()
profile = ("\nexif\n%8d\n" % len(raw) + "\n".join(hexed[i:i + 72] for i in range(0, len(hexed), 72)) + "\n").encode()
files["png-raw-7.png"] = (with_chunks(png(), before=[chunk(b"tEXt", b"Raw profile type exif\0" + profile)]), None)
files["png-zraw-7.png"] = (with_chunks(png(), before=[chunk(b"zTXt", b"Raw profile type exif\0\0" + zlib.compress(profile))]), None)
files["png-raw-nothex.png"] = (with_chunks(png(), before=[chunk(b"tEXt", b"Raw profile type exif\0\nexif\n  4\nzz00")]),
                               "not hex")

# PNG: eXIf after the image data counts; a later eXIf replaces an earlier one; a zTXt "exif"
# is text PIL cannot read; a bad CRC before the image data is refused
e6 = tiff("II", [(ORIENTATION, 3, 1, short("II", 6))])
e3 = tiff("MM", [(ORIENTATION, 3, 1, short("MM", 3))])
files["png-exif-after-idat.png"] = (with_chunks(png(), after=[chunk(b"eXIf", e6)]), None)
files["png-zraw-after-idat.png"] = (with_chunks(png(), after=[chunk(b"zTXt", b"Raw profile type exif\0\0" + zlib.compress(profile))]), None)
files["png-xmp-after-idat.png"] = (with_chunks(png(), after=[chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + b'tiff:Orientation="2"')]), None)
files["png-exif-twice.png"] = (with_chunks(png(), before=[chunk(b"eXIf", e6)], after=[chunk(b"eXIf", e3)]), None)
files["png-ztxt-exif.png"] = (with_chunks(png(), before=[chunk(b"zTXt", b"exif\0\0" + zlib.compress(e6))]), "unreadable EXIF")
files["png-exif-badcrc.png"] = (with_chunks(png(), before=[chunk(b"eXIf", e6, crc=1234)]), "bad CRC")
files["png-exif-nottiff.png"] = (with_chunks(png(), before=[chunk(b"eXIf", b"XX*\0\0\0\0\x08")]), "no TIFF header")
files["png-exif-bigtiff.png"] = (with_chunks(png(), before=[chunk(b"eXIf", b"II\x2b\0\x08\0\0\0")]), "BigTIFF")
files["png-exif-shorthead.png"] = (with_chunks(png(), before=[chunk(b"eXIf", b"MM\0\x2a\0\0")]), "cut short")

# JPEG, hostile or odd EXIF that PIL reads past
M = "MM"
cases = {
    # IFD0 offset past the end: no tags
    "ifd-past-end": tiff(M, [], head=b"MM\0\x2a\x7f\xff\xff\xf0"),
    # five entries announced, one present: the one counts
    "ifd-truncated": tiff(M, [(ORIENTATION, 3, 1, short(M, 6))])[:-4].replace(b"\0\x01\x01\x12", b"\0\x05\x01\x12"),
    # an entry cut in the middle: no tag
    "entry-truncated": tiff(M, [(ORIENTATION, 3, 1, short(M, 6))])[:-10],
    # a huge count stored apart: skipped, the next entry counts
    "huge-count": tiff(M, [(ORIENTATION, 3, 0x40000000, 8), (ORIENTATION, 3, 1, short(M, 5))]),
    # a value past the end stops the reading: the later entry is not read
    "value-past-end": tiff(M, [(0x010F, 2, 8, 0x10000), (ORIENTATION, 3, 1, short(M, 6))]),
    # IFD0's next IFD is itself, the Exif IFD points at IFD0: only IFD0 is read
    "loops": tiff(M, [(0x8769, 4, 1, 8), (ORIENTATION, 3, 1, short(M, 8))], next_ifd=8),
    # the first entry of the tag wins
    "duplicate": tiff(M, [(ORIENTATION, 3, 1, short(M, 2)), (ORIENTATION, 3, 1, short(M, 4))]),
    # a count of 0 is skipped; an unknown type is skipped
    "count0-type99": tiff(M, [(ORIENTATION, 3, 0, short(M, 6)), (ORIENTATION, 99, 1, short(M, 6)),
                              (ORIENTATION, 3, 1, short(M, 7))]),
    # values as other types: long, sshort, float, double apart, rational 12/2, rational 6/0,
    # byte (bytes: no match), ascii, several shorts (the first), signed -6
    "long": tiff(M, [(ORIENTATION, 4, 1, struct.pack(">L", 3))]),
    "float": tiff(M, [(ORIENTATION, 11, 1, struct.pack(">f", 6.0))]),
    "float-frac": tiff(M, [(ORIENTATION, 11, 1, struct.pack(">f", 6.5))]),
    "double": tiff(M, [(ORIENTATION, 12, 1, tail_at(1))], tail=struct.pack(">d", 8.0)),
    "rational": tiff(M, [(ORIENTATION, 5, 1, tail_at(1))], tail=struct.pack(">LL", 12, 2)),
    "rational-0": tiff(M, [(ORIENTATION, 5, 1, tail_at(1))], tail=struct.pack(">LL", 6, 0)),
    "srational": tiff(M, [(ORIENTATION, 10, 1, tail_at(1))], tail=struct.pack(">ll", -10, -2)),
    "byte": tiff(M, [(ORIENTATION, 1, 1, b"\x06\0\0\0")]),
    "sbyte": tiff(M, [(ORIENTATION, 6, 1, b"\x02\0\0\0")]),
    "ascii": tiff(M, [(ORIENTATION, 2, 2, b"6\0\0\0")]),
    "shorts": tiff(M, [(ORIENTATION, 3, 3, tail_at(1))], tail=struct.pack(">HHH", 4, 1, 1)),
    "sshort-neg": tiff(M, [(ORIENTATION, 8, 1, short(M, 0xFFFA))]),
    "long8": tiff(M, [(ORIENTATION, 16, 1, tail_at(1))], tail=struct.pack(">Q", 2)),
    "value-9": tiff(M, [(ORIENTATION, 3, 1, short(M, 9))]),
    # the "invalid" TIFF heads PIL accepts
    "head-MM2a00": tiff(M, [(ORIENTATION, 3, 1, short(M, 6))], head=b"MM\x2a\0\0\0\0\x08"),
    "head-II002a": tiff("II", [(ORIENTATION, 3, 1, short("II", 6))], head=b"II\0\x2a\x08\0\0\0"),
    # "Exif\0\0" twice
    "exif-twice": EX + tiff(M, [(ORIENTATION, 3, 1, short(M, 6))]),
}
for name, t in cases.items():
    files[f"jpeg-{name}.jpg"] = (with_app1(jpeg(), EX + t), None)
# the EXIF split over two APP1 segments (PIL joins them): the IFD in the second
whole = tiff(M, [(ORIENTATION, 3, 1, short(M, 6))])
files["jpeg-split.jpg"] = (with_app1(jpeg(), EX + whole[:12], EX + whole[12:]), None)
# a TIFF head PIL cannot read: dropped when the JFIF header has no dpi (PIL read the EXIF for
# one on opening and ignored the error), refused when it has
files["jpeg-nottiff.jpg"] = (with_app1(jpeg(), EX + b"XXXXXXXX"), None)
files["jpeg-nottiff-xmp.jpg"] = (with_app1(jpeg(), EX + b"XXXXXXXX", XMP_NS + b'tiff:Orientation="3"'), None)
files["jpeg-nottiff-dpi.jpg"] = (with_app1(jpeg(dpi=True), EX + b"XXXXXXXX"), "no TIFF header")
files["jpeg-bigtiff-dpi.jpg"] = (with_app1(jpeg(dpi=True), EX + b"II\x2b\0\x08\0\0\0"), "BigTIFF")
files["jpeg-shorthead-dpi.jpg"] = (with_app1(jpeg(dpi=True), EX + b"MM\0\x2a\0"), "cut short")
# PIL reads a JPEG's EXIF for a dpi when its JFIF header gives none, and indexes the
# XResolution as a pair: one of a single byte or character raises an error it does not catch
ru = (0x0128, 3, 1, short(M, 2))
o6 = (ORIENTATION, 3, 1, short(M, 6))
files["jpeg-xres-byte.jpg"] = (with_app1(jpeg(), EX + tiff(M, [ru, (0x011A, 1, 1, b"\x48\0\0\0"), o6])), "XResolution")
files["jpeg-xres-ascii.jpg"] = (with_app1(jpeg(), EX + tiff(M, [ru, (0x011A, 2, 2, b"7\0\0\0"), o6])), "XResolution")
# a letter passes (float("f") raises an error PIL catches), so do two characters
# (orientation 1: after turning, PIL would fail writing these back)
files["jpeg-xres-letter.jpg"] = (with_app1(jpeg(), EX + tiff(M, [ru, (0x011A, 2, 2, b"f\0\0\0"),
                                                               (ORIENTATION, 3, 1, short(M, 1))])), None)
files["jpeg-xres-ascii-2.jpg"] = (with_app1(jpeg(), EX + tiff(M, [ru, (0x011A, 2, 3, b"72\0\0"),
                                                                  (ORIENTATION, 3, 1, short(M, 1))])), None)
# with a JFIF dpi PIL does not look (orientation 1 again, for the same reason)
files["jpeg-xres-byte-dpi.jpg"] = (with_app1(jpeg(dpi=True), EX + tiff(M, [ru, (0x011A, 1, 1, b"\x48\0\0\0"),
                                                                        (ORIENTATION, 3, 1, short(M, 1))])), None)
files["jpeg-dpi-6.jpg"] = (with_app1(jpeg(dpi=True), EX + tiff("II", [(ORIENTATION, 3, 1, short("II", 6))])), None)

goldens = []
for name, (data, words) in sorted(files.items()):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(data)
    try:
        a = np.asarray(load_image(path))
    except Exception as e:  # noqa: BLE001 - any failure of load_image is the golden
        assert words, f"{name}: load_image failed unexpectedly: {e!r}"
        goldens.append({"image": name, "error": words, "pil": f"{type(e).__name__}: {e}"})
        continue
    assert not words, f"{name}: load_image read it, expected an error"
    goldens.append({"image": name, "height": a.shape[0], "width": a.shape[1],
                    "rgb": [int(v) for v in a.reshape(-1)]})
with open(os.path.join(OUT, "goldens.json"), "w") as f:
    json.dump({"note": "np.asarray(transformers.image_utils.load_image(f)) (PIL's exif_transpose), "
                       "Pillow %s" % PIL.__version__, "cases": goldens}, f)
    f.write("\n")

# the vision run: a JPEG stored sideways (orientation 6) and its upright pixels as a PNG
VOUT = os.path.join(OUT, "vision")
os.makedirs(VOUT, exist_ok=True)
exif = Image.Exif()
exif[ORIENTATION] = 6
side = os.path.join(VOUT, "sideways.jpg")
Image.fromarray(picture(20, 29), "RGB").save(side, "JPEG", quality=90, exif=exif)
load_image(side).save(os.path.join(VOUT, "upright.png"))
print(len(goldens), "cases in", OUT)
