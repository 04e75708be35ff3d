#!/usr/bin/env python3
"""Goldens of lib/nn/interp.c (tests/fixtures/goldens/interp.json): PyTorch's
F.interpolate(x, size=(oh, ow), mode="bicubic", align_corners=False) with antialias False
and True, in float64, on random grids of vectors: shrinking, growing, one side each way,
the same size, 1-cell grids, and the sizes the vision transformers meet (a 37x37 DINOv2 table
to 16x16); then mode="bilinear" (align_corners unset: False), as BEiT resizes its relative
position bias tables ((2h-1) x (2w-1) cells of heads values: 27x27 to 39x25 ...), marked
"mode": "bilinear". tests/test_interp.c resizes the same inputs in C.

Left out: antialiased resizes to one column whose height changes. PyTorch (2.x, CPU) gets
them wrong (every row comes out as the first: try (2, 1) -> (9, 1)); mhaviz refuses that case
for the model that would meet it (DINOv2 with registers on an image one patch wide).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_interp_goldens.py
"""
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "fixtures", "goldens", "interp.json")

CASES = [  # (ih, iw, oh, ow, dim)
    (4, 4, 2, 2, 3), (6, 6, 4, 4, 2), (6, 6, 9, 13, 2), (5, 5, 7, 3, 3), (3, 3, 3, 3, 2),
    (1, 1, 4, 4, 2), (4, 4, 1, 1, 3), (8, 8, 2, 5, 2), (7, 7, 20, 2, 1), (4, 4, 6, 3, 2),
    (37, 37, 16, 16, 2), (5, 5, 16, 16, 1), (2, 3, 9, 1, 2),
]

g = torch.Generator().manual_seed(11)
cases = []
for ih, iw, oh, ow, dim in CASES:
    # torch's layout (1, dim, h, w); the golden's: (h, w, dim) as the position tables are
    x = torch.randn((1, dim, ih, iw), generator=g, dtype=torch.float64)
    for aa in (False, True):
        if aa and ow == 1 and oh != ih:
            continue
        y = torch.nn.functional.interpolate(x, size=(oh, ow), mode="bicubic",
                                            align_corners=False, antialias=aa)
        cases.append({"in": [ih, iw], "out": [oh, ow], "dim": dim, "antialias": aa,
                      "x": [float(v) for v in x[0].permute(1, 2, 0).reshape(-1)],
                      "y": [float(v) for v in y[0].permute(1, 2, 0).reshape(-1)]})
# bilinear: its own generator, so the bicubic cases above keep their values
BILINEAR = [  # (ih, iw, oh, ow, dim)
    (7, 7, 3, 3, 4), (7, 7, 11, 5, 3), (5, 5, 5, 5, 2), (1, 1, 3, 5, 2), (3, 3, 1, 1, 2),
    (27, 27, 39, 25, 2), (13, 13, 7, 9, 3), (4, 6, 9, 2, 1), (2, 2, 7, 7, 1),
]
g = torch.Generator().manual_seed(12)
for ih, iw, oh, ow, dim in BILINEAR:
    x = torch.randn((1, dim, ih, iw), generator=g, dtype=torch.float64)
    y = torch.nn.functional.interpolate(x, size=(oh, ow), mode="bilinear")
    cases.append({"in": [ih, iw], "out": [oh, ow], "dim": dim, "antialias": False,
                  "mode": "bilinear",
                  "x": [float(v) for v in x[0].permute(1, 2, 0).reshape(-1)],
                  "y": [float(v) for v in y[0].permute(1, 2, 0).reshape(-1)]})
with open(OUT, "w") as f:
    json.dump({"source": "torch %s F.interpolate bicubic, float64" % torch.__version__.split("+")[0],
               "cases": cases}, f)
    f.write("\n")
print(len(cases), "cases")
