#!/usr/bin/env python3
"""Fixtures of DINOv3's vision transformers (tests/fixtures/fam-dinov3-*): tiny random
DINOv3ViTModel checkpoints from transformers (2-D rotary positions over the patches, [CLS]
and register tokens, layer scales, GELU or gated MLP, the bias options), random pixel values
of several sizes (DINOv3 takes any: the rotation follows the image's patch grid) and every
head's attention (float64, tolerance as famgen's; visgen.py); then the end-to-end golden
tests/fixtures/goldens/vision-e2e-dinov3.json (vis5gen.py): a PNG and a JPEG through
DINOv3ViTImageProcessor (written by its save_pretrained) and the model.

DINOv3ViTImageProcessor exists only for transformers' torchvision backend (there is no
Pillow one): this script needs torchvision importable, e.g.
    pip install --target DIR --no-deps torchvision  (and PYTHONPATH=DIR)

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_dinov3.py [FIXTURE ...]
"""
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import DINOv3ViTConfig, DINOv3ViTImageProcessor, DINOv3ViTModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
import vis5gen  # noqa: E402
from visgen import ONLY, make  # noqa: E402

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, image_size=16,
             patch_size=4, num_channels=3)


def to_modules(path):
    """save_pretrained's names (layer.N ..., as the hub's files) -> transformers' module
    names (model.layer.N ...), which it loads as they are."""
    f = os.path.join(path, "model.safetensors")
    t = load_file(f)
    out = {("model." + k if k.startswith("layer.") else k): v for k, v in t.items()}
    assert out.keys() != t.keys(), "nothing renamed"
    save_file(out, f, metadata={"format": "pt"})


make("fam-dinov3-f32", DINOv3ViTModel,
     DINOv3ViTConfig(**SMALL, intermediate_size=48, num_register_tokens=2), 91,
     "DINOv3ViTModel: 2 registers, GELU MLP, no key bias; 16x16, 20x12 and 12x28 pixels",
     sizes=[(16, 16), (20, 12), (12, 28)])
make("fam-dinov3-gated-bf16", DINOv3ViTModel,
     DINOv3ViTConfig(**SMALL, intermediate_size=40, num_register_tokens=4, use_gated_mlp=True,
                     hidden_act="silu", key_bias=True, proj_bias=False, rope_theta=1000.0),
     92, "DINOv3ViTModel, BF16: 4 registers, gated MLP (SiLU), key bias, no output "
     "projection bias, rope_theta 1000; 16x16 and 24x8 pixels", dtype=torch.bfloat16,
     sizes=[(16, 16), (24, 8)])
make("fam-dinov3-nobias-f16", DINOv3ViTModel,
     DINOv3ViTConfig(**SMALL, intermediate_size=36, query_bias=False, value_bias=False,
                     mlp_bias=False, use_gated_mlp=True, hidden_act="gelu_pytorch_tanh",
                     layer_norm_eps=1e-6), 93,
     "DINOv3ViTModel, F16: no registers, no q/v/MLP biases, gated MLP with tanh GELU, eps "
     "1e-6; 16x16 and 17x22 pixels (a last partial patch dropped)", dtype=torch.float16,
     sizes=[(16, 16), (17, 22)])
make("fam-dinov3-modnames-f32", DINOv3ViTModel,
     DINOv3ViTConfig(**SMALL, intermediate_size=48, num_register_tokens=1), 94,
     "DINOv3ViTModel under transformers' module names (model.layer.N ...)",
     sizes=[(16, 16), (8, 20)], post=to_modules)


def processor(name, **kw):
    if ONLY and name not in ONLY:
        return
    DINOv3ViTImageProcessor(**kw).save_pretrained(os.path.join(fg.FIXTURES, name))


# its defaults (bilinear, ImageNet's mean and std) at a small size, and a shortest edge
processor("fam-dinov3-f32", size={"height": 20, "width": 28})
processor("fam-dinov3-gated-bf16", size={"shortest_edge": 16}, resample=3)
# a centre crop of odd margins after the resize (torchvision's crop of the float image)
processor("fam-dinov3-nobias-f16", size={"shortest_edge": 21}, do_center_crop=True,
          crop_size={"height": 17, "width": 14})

if not ONLY or "e2e" in ONLY:
    png, jpg = vis5gen.images()
    vis5gen.e2e("vision-e2e-dinov3", [
        ("dinov3-png", "fam-dinov3-f32", DINOv3ViTModel, png, {}),
        ("dinov3-jpeg", "fam-dinov3-f32", DINOv3ViTModel, jpg, {}),
        ("dinov3-edge-png", "fam-dinov3-gated-bf16", DINOv3ViTModel, png, {}),
        ("dinov3-edge-jpeg", "fam-dinov3-gated-bf16", DINOv3ViTModel, jpg, {}),
        ("dinov3-crop-png", "fam-dinov3-nobias-f16", DINOv3ViTModel, png, {}),
        ("dinov3-crop-jpeg", "fam-dinov3-nobias-f16", DINOv3ViTModel, jpg, {}),
    ], backend=None)
