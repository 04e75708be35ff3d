#!/usr/bin/env python3
"""Fixtures of the vision transformers (tests/fixtures/fam-vit-*, fam-deit-*,
fam-dinov2-*, fam-clip-*, fam-siglip-*): tiny random ViT, DeiT, DINOv2 (with registers,
with the SwiGLU feed-forward), CLIP and SigLIP checkpoints from transformers, a random
image at the model's size as preprocessed pixel values, and the attention of every head
(float64, tolerance as famgen's). One ViT checkpoint is rewritten to the tensor names of
the checkpoints on the hub (encoder.layer.N.attention.attention.query ...), checked to load
in transformers to the same attentions. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_vision.py [FIXTURE ...]

With fixture names, only those are made.
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import (DeiTConfig, DeiTModel, Dinov2Config, Dinov2Model, ViTConfig,
                          ViTForImageClassification, ViTModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
from visgen import ONLY, make  # noqa: E402

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, image_size=16,
             patch_size=4, num_channels=3)


def hub_names(path):
    """transformers 5 names -> the names of ViT checkpoints on the hub."""
    f = os.path.join(path, "model.safetensors")
    t = load_file(f)
    ren = {"attention.q_proj": "attention.attention.query", "attention.k_proj": "attention.attention.key",
           "attention.v_proj": "attention.attention.value", "attention.o_proj": "attention.output.dense",
           "mlp.fc1": "intermediate.dense", "mlp.fc2": "output.dense"}
    out = {}
    for k, v in t.items():
        nk = k
        if k.startswith("layers."):
            nk = "encoder.layer." + k[len("layers."):]
            for a, b in ren.items():
                nk = nk.replace(a, b)
        out[nk] = v
    save_file(out, f, metadata={"format": "pt"})


make("fam-vit-f32", ViTModel, ViTConfig(**SMALL, intermediate_size=48), 51, "ViTModel, 16x16 image, 4x4 patches")
make("fam-vit-cls-hubnames-bf16", ViTForImageClassification,
     ViTConfig(**SMALL, intermediate_size=48, num_labels=3), 52,
     "ViTForImageClassification (vit. prefix) under the hub's tensor names, BF16",
     dtype=torch.bfloat16, post=hub_names)
make("fam-deit-f16", DeiTModel, DeiTConfig(**SMALL, intermediate_size=48), 53,
     "DeiTModel: [CLS] and distillation tokens, F16", dtype=torch.float16)
make("fam-dinov2-f32", Dinov2Model, Dinov2Config(**SMALL, mlp_ratio=2, layerscale_value=0.7), 54,
     "Dinov2Model: layer scales, mlp_ratio 2, eps 1e-6")

# CLIP and SigLIP vision towers (and a whole CLIPModel: its vision_config and vision_model.)
from transformers import (CLIPConfig, CLIPModel, CLIPVisionConfig, CLIPVisionModel,  # noqa: E402
                          SiglipVisionConfig, SiglipVisionModel)
make("fam-clip-vision-f32", CLIPVisionModel, CLIPVisionConfig(**SMALL, intermediate_size=48), 55,
     "CLIPVisionModel: class embedding, pre-LayerNorm, QuickGELU")
make("fam-siglip-vision-bf16", SiglipVisionModel, SiglipVisionConfig(**SMALL, intermediate_size=48),
     56, "SiglipVisionModel: no [CLS], patch bias, tanh GELU, BF16; pool_attentions: its "
     "attention-pooling head's probe over the patches", dtype=torch.bfloat16, pool=True)


class CLIPVision(CLIPModel):
    """The whole CLIPModel, its forward being the vision tower's (what mhaviz shows of it)."""

    def forward(self, pixel_values=None, output_attentions=False, **kw):
        return self.vision_model(pixel_values=pixel_values, output_attentions=output_attentions)


make("fam-clip-full-f16", CLIPVision,
     CLIPConfig(vision_config=dict(SMALL, intermediate_size=40),
                text_config=dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=24, vocab_size=50, max_position_embeddings=16),
                projection_dim=8), 57,
     "CLIPModel (model_type clip): the vision tower from vision_config and vision_model.",
     dtype=torch.float16)


def dinov2_module_names(path):
    """The names save_pretrained writes for DINOv2 (the hub's: attention.attention.query ...,
    SwiGLU's gate and up projections as one weights_in, gate rows first, weights_out) ->
    the names of transformers 5's modules (attention.q_proj, mlp.gate_proj, mlp.up_proj,
    mlp.down_proj), which it loads as they are."""
    f = os.path.join(path, "model.safetensors")
    t = load_file(f)
    out = {}
    for k, v in t.items():
        nk = k
        for a, b in (("attention.attention.query", "attention.q_proj"),
                     ("attention.attention.key", "attention.k_proj"),
                     ("attention.attention.value", "attention.v_proj"),
                     ("attention.output.dense", "attention.o_proj"),
                     ("mlp.weights_out", "mlp.down_proj")):
            nk = nk.replace(a, b)
        if "mlp.weights_in" in k:
            gate, up = v.chunk(2, 0)
            out[k.replace("weights_in", "gate_proj")] = gate.contiguous()
            out[k.replace("weights_in", "up_proj")] = up.contiguous()
            continue
        out[nk] = v.contiguous()
    assert out.keys() != t.keys()
    save_file(out, f, metadata={"format": "pt"})


from transformers import Dinov2WithRegistersConfig, Dinov2WithRegistersModel  # noqa: E402

make("fam-dinov2-reg-f32", Dinov2WithRegistersModel,
     Dinov2WithRegistersConfig(**SMALL, mlp_ratio=2, layerscale_value=0.7, num_register_tokens=3),
     58, "Dinov2WithRegistersModel: [CLS], 3 register tokens (no positions), then the patches")
make("fam-dinov2-swiglu-f32", Dinov2Model,
     Dinov2Config(**SMALL, use_swiglu_ffn=True, layerscale_value=0.7), 59,
     "Dinov2Model with use_swiglu_ffn: silu(gate) * up, hidden 88 from mlp_ratio 4, "
     "saved as save_pretrained does (weights_in: gate and up rows)")
make("fam-dinov2-reg-swiglu-modnames-f16", Dinov2WithRegistersModel,
     Dinov2WithRegistersConfig(**SMALL, use_swiglu_ffn=True, mlp_ratio=3, layerscale_value=0.7,
                               num_register_tokens=2), 60,
     "Dinov2WithRegistersModel, 2 registers, SwiGLU, under transformers 5's module names "
     "(mlp.gate_proj, mlp.up_proj, attention.q_proj), F16", dtype=torch.float16,
     post=dinov2_module_names)


# ---- other image sizes than image_size: the position embeddings resized to the patch grid
# (transformers' interpolate_pos_encoding: bicubic, antialiased for DINOv2 with registers),
# by DINOv2 always, by the others when asked (interpolate_pos_encoding=True). Non-square
# grids, and pixels of a last partial patch (dropped by the patch convolution).
INTERP = dict(SMALL, image_size=28)  # a 7x7 grid of positions, as DINOv2's 518 / 14 = 37


def dinov2_preprocessor(name):
    """A BitImageProcessor as DINOv2's on the hub (shortest edge, bicubic, centre crop,
    ImageNet mean and std) whose crop (16) is not the model's image_size (28), as DINOv2's
    224 crop is not its 518."""
    if ONLY and name not in ONLY:
        return
    with open(os.path.join(fg.FIXTURES, name, "preprocessor_config.json"), "w") as f:
        json.dump({"image_processor_type": "BitImageProcessor", "do_resize": True,
                   "size": {"shortest_edge": 18}, "resample": 3, "do_center_crop": True,
                   "crop_size": {"height": 16, "width": 16}, "do_rescale": True,
                   "rescale_factor": 1 / 255, "do_normalize": True,
                   "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
                   "do_convert_rgb": True}, f, indent=1)
        f.write("\n")


make("fam-dinov2-interp-f32", Dinov2Model, Dinov2Config(**INTERP, mlp_ratio=2, layerscale_value=0.7),
     61, "Dinov2Model of image_size 28 (7x7 positions) on 16x16 pixels (as its preprocessor "
     "crops), 24x12 and 18x13 (4x3 patches, the last partial ones dropped): positions always "
     "resized (bicubic)", sizes=[(16, 16), (24, 12), (18, 13)])
dinov2_preprocessor("fam-dinov2-interp-f32")
make("fam-dinov2-reg-interp-bf16", Dinov2WithRegistersModel,
     Dinov2WithRegistersConfig(**INTERP, mlp_ratio=2, layerscale_value=0.7, num_register_tokens=2),
     62, "Dinov2WithRegistersModel of image_size 28, BF16, on 16x16, 32x20 and 12x28 pixels: "
     "positions always resized (bicubic, antialiased)", dtype=torch.bfloat16,
     sizes=[(16, 16), (32, 20), (12, 28)])
make("fam-vit-interp-f32", ViTModel, ViTConfig(**SMALL, intermediate_size=48), 63,
     "ViTModel of image_size 16 with interpolate_pos_encoding=True on 24x24, 12x20 and 16x16 "
     "pixels", sizes=[(24, 24), (12, 20), (16, 16)], ask=True)
make("fam-deit-interp-f16", DeiTModel, DeiTConfig(**SMALL, intermediate_size=48), 64,
     "DeiTModel, F16, with interpolate_pos_encoding=True on 20x12 pixels: [CLS] and [DIST] "
     "keep their positions", dtype=torch.float16, sizes=[(20, 12)], ask=True)
make("fam-clip-interp-f32", CLIPVisionModel, CLIPVisionConfig(**SMALL, intermediate_size=48), 65,
     "CLIPVisionModel with interpolate_pos_encoding=True on 24x16 pixels", sizes=[(24, 16)],
     ask=True)
make("fam-siglip-interp-f32", SiglipVisionModel, SiglipVisionConfig(**SMALL, intermediate_size=48),
     66, "SiglipVisionModel with interpolate_pos_encoding=True on 12x24 and 19x17 pixels (its "
     "own 4x4 grid: resized to itself); pool_attentions: the pooling head's probe",
     sizes=[(12, 24), (19, 17)], ask=True, pool=True)

# ---- an image_size that patch_size does not divide: the patch convolution (stride 4) drops
# the last 2 pixels of each side, the model has (18 // 4)^2 = 16 patches and positions, and
# takes 18x18 images (its own image_size) without interpolate_pos_encoding.
make("fam-vit-rem-f32", ViTModel, ViTConfig(**dict(SMALL, image_size=18), intermediate_size=48),
     67, "ViTModel of image_size 18 and patch_size 4 on 18x18 pixels: a 4x4 grid, the last 2 "
     "pixels of each side dropped by the patch convolution")
