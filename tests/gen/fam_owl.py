#!/usr/bin/env python3
"""Fixtures of the vision towers of OWL-ViT and OWLv2 (tests/fixtures/fam-owlvit-*,
fam-owlv2-*): tiny random OwlViTVisionModel / Owlv2VisionModel checkpoints, a whole OwlViTModel
and the object-detection models (their vision_model under owlvit. / owlv2.), from
transformers: CLIP's tower (class embedding, pre_layernorm, QuickGELU); random pixel values
and every head's attention (float64, tolerance as famgen's; visgen.py), with
interpolate_pos_encoding on other sizes where a fixture says so. Then the end-to-end golden
tests/fixtures/goldens/vision-e2e-owl.json (vis5gen.py): a PNG and a JPEG through
OwlViTImageProcessor and Owlv2ImageProcessor (Pillow backends, written by their
save_pretrained; OWLv2's pads the image to a square with zeros after rescaling, then
resizes it as scikit-image does: a Gaussian blur when shrinking, linear interpolation,
clipped to the padded image's range).

Owlv2ImageProcessorPil needs scipy importable (pip install --target DIR --no-deps scipy,
and PYTHONPATH=DIR).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_owl.py [FIXTURE ...]
"""
import os
import sys

import torch
from transformers import (OwlViTConfig, OwlViTForObjectDetection, OwlViTImageProcessorPil,
                          OwlViTModel, OwlViTVisionConfig, OwlViTVisionModel, Owlv2Config,
                          Owlv2ForObjectDetection, Owlv2ImageProcessorPil, Owlv2VisionConfig,
                          Owlv2VisionModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
import vis5gen  # noqa: E402
from visgen import ONLY, make  # noqa: E402

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, image_size=16,
             patch_size=4, num_channels=3)
TEXT = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=24,
            vocab_size=64, max_position_embeddings=16)


class OwlViTVision(OwlViTModel):
    """The whole OwlViTModel, its forward being the vision tower's (what mhaviz shows)."""

    def forward(self, pixel_values=None, output_attentions=False, **kw):
        return self.vision_model(pixel_values=pixel_values, output_attentions=output_attentions,
                                 **kw)


class OwlViTDetVision(OwlViTForObjectDetection):
    """OwlViTForObjectDetection (box and class heads saved too), its vision tower's forward."""

    def forward(self, pixel_values=None, output_attentions=False, **kw):
        return self.owlvit.vision_model(pixel_values=pixel_values,
                                        output_attentions=output_attentions, **kw)


class Owlv2DetVision(Owlv2ForObjectDetection):
    """Owlv2ForObjectDetection (box, class and objectness heads), its vision tower's forward."""

    def forward(self, pixel_values=None, output_attentions=False, **kw):
        return self.owlv2.vision_model(pixel_values=pixel_values,
                                       output_attentions=output_attentions, **kw)


def det_architecture(name):
    """config.json names the class users download, not the wrappers above."""
    def post(path):
        import json
        f = os.path.join(path, "config.json")
        with open(f) as fh:
            cfg = json.load(fh)
        cfg["architectures"] = [name]
        with open(f, "w") as fh:
            json.dump(cfg, fh, indent=2, sort_keys=True)
            fh.write("\n")
    return post


make("fam-owlvit-vision-f32", OwlViTVisionModel, OwlViTVisionConfig(**SMALL, intermediate_size=48),
     111, "OwlViTVisionModel: class embedding, pre_layernorm, QuickGELU")
make("fam-owlvit-full-f16", OwlViTVision,
     OwlViTConfig(vision_config=dict(SMALL, intermediate_size=40), text_config=TEXT,
                  projection_dim=16), 112,
     "OwlViTModel (model_type owlvit), F16: the vision tower from vision_config and "
     "vision_model.", dtype=torch.float16)
make("fam-owlvit-det-interp-bf16", OwlViTDetVision,
     OwlViTConfig(vision_config=dict(SMALL, intermediate_size=40, hidden_act="gelu"),
                  text_config=TEXT, projection_dim=16), 113,
     "OwlViTForObjectDetection (owlvit.vision_model.), BF16, GELU; with "
     "interpolate_pos_encoding on 16x16 and 20x12 pixels", dtype=torch.bfloat16,
     sizes=[(16, 16), (20, 12)], ask=True)
make("fam-owlv2-vision-f32", Owlv2VisionModel, Owlv2VisionConfig(**SMALL, intermediate_size=48),
     114, "Owlv2VisionModel: class embedding, pre_layernorm, QuickGELU, eps 1e-5")
make("fam-owlv2-det-f32", Owlv2DetVision,
     Owlv2Config(vision_config=dict(SMALL, intermediate_size=36, layer_norm_eps=1e-6),
                 text_config=TEXT, projection_dim=16), 115,
     "Owlv2ForObjectDetection (owlv2.vision_model.), eps 1e-6",
     post=det_architecture("Owlv2ForObjectDetection"))

make("fam-owlv2-up-f16", Owlv2VisionModel,
     Owlv2VisionConfig(**dict(SMALL, image_size=48, patch_size=8), intermediate_size=40), 116,
     "Owlv2VisionModel, F16, 48x48 images in 8x8 patches (its processor enlarges the test "
     "images)", dtype=torch.float16)


def processor(cls, name, **kw):
    if ONLY and name not in ONLY:
        return
    cls(**kw).save_pretrained(os.path.join(fg.FIXTURES, name))


# OWL-ViT's: its defaults (bicubic, no crop) at the model's size; OWLv2's: pad to a square,
# scikit-image's resize (the default, anti-aliased), and a second without anti-aliasing
# (resample 0: transformers passes resample as resize's anti_aliasing)
processor(OwlViTImageProcessorPil, "fam-owlvit-vision-f32", size={"height": 16, "width": 16},
          crop_size={"height": 16, "width": 16})
processor(OwlViTImageProcessorPil, "fam-owlvit-det-interp-bf16",
          size={"height": 20, "width": 12}, do_center_crop=True,
          crop_size={"height": 16, "width": 12}, resample=2)
processor(Owlv2ImageProcessorPil, "fam-owlv2-vision-f32", size={"height": 16, "width": 16})
processor(Owlv2ImageProcessorPil, "fam-owlv2-det-f32", size={"height": 16, "width": 16},
          resample=0)
# enlarging (no blur) without the padding: the image stretched to the square
processor(Owlv2ImageProcessorPil, "fam-owlv2-up-f16", size={"height": 48, "width": 48},
          do_pad=False)

if not ONLY or "e2e" in ONLY:
    png, jpg = vis5gen.images()
    vis5gen.e2e("vision-e2e-owl", [
        ("owlvit-png", "fam-owlvit-vision-f32", OwlViTVisionModel, png, {}),
        ("owlvit-jpeg", "fam-owlvit-vision-f32", OwlViTVisionModel, jpg, {}),
        ("owlvit-det-crop-png", "fam-owlvit-det-interp-bf16", OwlViTDetVision, png,
         {"interpolate_pos_encoding": True}),
        ("owlv2-png", "fam-owlv2-vision-f32", Owlv2VisionModel, png, {}),
        ("owlv2-jpeg", "fam-owlv2-vision-f32", Owlv2VisionModel, jpg, {}),
        ("owlv2-noaa-png", "fam-owlv2-det-f32", Owlv2DetVision, png, {}),
        ("owlv2-noaa-jpeg", "fam-owlv2-det-f32", Owlv2DetVision, jpg, {}),
        ("owlv2-up-nopad-png", "fam-owlv2-up-f16", Owlv2VisionModel, png, {}),
        ("owlv2-up-nopad-jpeg", "fam-owlv2-up-f16", Owlv2VisionModel, jpg, {}),
    ])
