#!/usr/bin/env python3
"""Writes the font seeds (tests/fuzz/corpus/font/) and the crafted fonts that crashed or
misled the loader before it checked fonts (tests/fuzz/regress/font/).

Run from the repository root: python3 tests/fuzz/gen_font_corpus.py
The fonts are built here byte by byte (no font is copied from anywhere): three glyphs - an
empty .notdef, a triangle for 'A' and U+82F9, and a composite of the triangle for 'g' and
'C' - in the tables stb_truetype reads (cmap format 4, glyf/loca, head, hhea, hmtx, maxp).
"""
import os
import struct

OUT = "tests/fuzz/corpus/font"
REG = "tests/fuzz/regress/font"


def simple_glyph(box=(0, 0, 600, 700)):
    pts = [(0, 0), (600, 0), (300, 700)]
    g = struct.pack(">hhhhh", 1, *box) + struct.pack(">HH", len(pts) - 1, 0)
    g += bytes([0x01] * len(pts))  # on curve, int16 deltas
    x = y = 0
    xs, ys = b"", b""
    for px, py in pts:
        xs += struct.pack(">h", px - x)
        ys += struct.pack(">h", py - y)
        x, y = px, py
    return g + xs + ys


def composite_glyph(component):
    # ARG_1_AND_2_ARE_WORDS | ARGS_ARE_XY_VALUES, no more components
    return struct.pack(">hhhhh", -1, 0, 0, 700, 800) + struct.pack(">HHhh", 0x0003, component, 100, 100)


def cmap_table(mapping):
    codes = sorted(mapping)
    segs = [(c, c, mapping[c]) for c in codes] + [(0xFFFF, 0xFFFF, 0)]
    n = len(segs)
    search = 2 ** (n.bit_length() - 1) * 2
    sub = struct.pack(">HHHH", n * 2, search, (search // 2).bit_length() - 1, n * 2 - search)
    sub += b"".join(struct.pack(">H", e) for _, e, _ in segs) + b"\0\0"
    sub += b"".join(struct.pack(">H", s) for s, _, _ in segs)
    # idDelta: (glyph - code) mod 65536; the final 0xFFFF segment maps to glyph 0
    sub += b"".join(struct.pack(">H", (g - s) % 0x10000 if g else 1) for s, _, g in segs)
    sub += b"".join(struct.pack(">H", 0) for _ in segs)
    sub = struct.pack(">HHH", 4, 14 + len(sub), 0) + sub
    return struct.pack(">HHHHI", 0, 1, 3, 1, 12) + sub


def build(base=0, upem=1000, glyphs=None, table_offset_override=None, drop=()):
    glyphs = glyphs or [b"", simple_glyph(), composite_glyph(1)]
    glyf, loca = b"", []
    for g in glyphs:
        loca.append(len(glyf))
        glyf += g + b"\0" * ((-len(g)) % 4)
    loca.append(len(glyf))
    tables = {
        b"cmap": cmap_table({0x41: 1, 0x43: 2, 0x67: 2, 0x82F9: 1}),
        b"glyf": glyf,
        b"head": struct.pack(">IIIIHHQQhhhhHHhhh", 0x10000, 0x10000, 0, 0x5F0F3CF5, 0, upem, 0, 0,
                             0, 0, 700, 800, 0, 8, 2, 0, 0),
        b"hhea": struct.pack(">IhhhHhhhhhhhhhhhH", 0x10000, 800, -200, 0, 700, 0, 0, 700, 1, 0, 0,
                             0, 0, 0, 0, 0, len(glyphs)),
        b"hmtx": b"".join(struct.pack(">Hh", 650, 0) for _ in glyphs),
        b"loca": b"".join(struct.pack(">H", o // 2) for o in loca),
        b"maxp": struct.pack(">IH", 0x5000, len(glyphs)),
    }
    for t in drop:
        del tables[t]
    tags = sorted(tables)
    n = len(tags)
    search = 2 ** (n.bit_length() - 1) * 16
    head = struct.pack(">IHHHH", 0x10000, n, search, (search // 16).bit_length() - 1, n * 16 - search)
    off = base + 12 + 16 * n
    dirs, data = b"", b""
    for t in tags:
        body = tables[t] + b"\0" * ((-len(tables[t])) % 4)
        o = off + len(data)
        if table_offset_override and t == table_offset_override[0]:
            o = table_offset_override[1]
        dirs += t + struct.pack(">III", 0, o, len(tables[t]))
        data += body
    return head + dirs + data


def ttc(font_at_16):
    return b"ttcf" + struct.pack(">III", 0x10000, 1, 16) + font_at_16


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    ok = build()
    write(OUT, "tiny.ttf", ok)
    write(OUT, "tiny.ttc", ttc(build(base=16)))
    write(OUT, "no-glyf.ttf", build(drop=(b"glyf", b"loca")))
    # the table offset that crashed stbtt_InitFont, a truncated file, a glyph that contains
    # itself (stb recursed until the stack ran out), unitsPerEm 0 (NaN sizes), a glyph box
    # of 65535 units at 16 per em (stb's w * h overflowed int)
    write(REG, "head-offset-7fffff00.ttf", build(table_offset_override=(b"head", 0x7FFFFF00)))
    write(REG, "cmap-offset-7fffff00.ttf", build(table_offset_override=(b"cmap", 0x7FFFFF00)))
    write(REG, "truncated.ttf", ok[: len(ok) // 2])
    write(REG, "self-composite.ttf", build(glyphs=[b"", simple_glyph(), composite_glyph(2)]))
    write(REG, "units-per-em-0.ttf", build(upem=0))
    write(REG, "huge-glyph-box.ttf", build(upem=16, glyphs=[b"", simple_glyph((-32768, -32768, 32767, 32767)), composite_glyph(1)]))
    write(REG, "ttc-face-past-end.ttc", b"ttcf" + struct.pack(">III", 0x10000, 1, 0x7FFFFF00) + ok)


if __name__ == "__main__":
    main()
