#!/usr/bin/env python3
"""Fixtures of the second round of vision transformers (tests/fixtures/fam-vit-msn-*,
fam-ijepa-*, fam-beit-*, fam-data2vec-vision-*): tiny random ViT-MSN, I-JEPA, BEiT and
data2vec-vision checkpoints from transformers, random images as preprocessed pixel values,
and the attention of every head (float64, tolerance as famgen's). See visgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_vision2.py [FIXTURE ...]

With fixture names, only those are made. The tensors are named as save_pretrained writes
them (the hub's names: encoder.layer.N.attention.attention.query ...; ViT-MSN's classifier
with its layers outside the vit. prefix), except where a fixture says "module names":
rewritten to transformers 5's (layers.N.attention.q_proj ...), checked to load in
transformers to the same attentions.
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import (BeitConfig, BeitForImageClassification, BeitForMaskedImageModeling,
                          BeitModel, Data2VecVisionConfig, Data2VecVisionForImageClassification,
                          Data2VecVisionModel, IJepaConfig, IJepaForImageClassification,
                          IJepaModel, ViTMSNConfig, ViTMSNForImageClassification, ViTMSNModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
from visgen import ONLY, make  # noqa: E402

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, image_size=16,
             patch_size=4, num_channels=3)

# the names of the checkpoints on the hub (which save_pretrained writes) -> transformers 5's
# module names of a ViT-shaped layer, which it loads as they are
VIT_MODULES = [("attention.attention.query", "attention.q_proj"),
               ("attention.attention.key", "attention.k_proj"),
               ("attention.attention.value", "attention.v_proj"),
               ("attention.output.dense", "attention.o_proj"),
               ("intermediate.dense", "mlp.fc1"), ("output.dense", "mlp.fc2")]


def to_modules(path):
    """encoder.layer.N.attention.attention.query ... -> layers.N.attention.q_proj ..."""
    f = os.path.join(path, "model.safetensors")
    t = load_file(f)
    out = {}
    for k, v in t.items():
        nk = k.replace("encoder.layer.", "layers.", 1)
        for a, b in VIT_MODULES:
            nk = nk.replace(a, b)
        out[nk] = v
    assert out.keys() != t.keys(), "nothing renamed"
    save_file(out, f, metadata={"format": "pt"})


def preprocessor(name, **cfg):
    """name's preprocessor_config.json (gen_vision_e2e2.py runs transformers' processor of
    it on an image file, as `mhaviz run` takes it)."""
    if ONLY and name not in ONLY:
        return
    with open(os.path.join(fg.FIXTURES, name, "preprocessor_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")


IMAGENET = dict(image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])

# ---- ViT-MSN (ViT's layers, [CLS], layer_norm_eps 1e-6) and I-JEPA (no [CLS]: the tokens
# are the patches alone, positions for them only)
make("fam-vit-msn-f32", ViTMSNModel, ViTMSNConfig(**SMALL, intermediate_size=48), 71,
     "ViTMSNModel, 16x16 images, 4x4 patches, eps 1e-6")
make("fam-vit-msn-cls-f16", ViTMSNForImageClassification,
     ViTMSNConfig(**SMALL, intermediate_size=40, num_labels=3, qkv_bias=False,
                  hidden_act="gelu_new"), 72,
     "ViTMSNForImageClassification (vit. prefix), F16, qkv_bias false, gelu_new, on its "
     "own size and, with interpolate_pos_encoding, 20x12 pixels",
     dtype=torch.float16, sizes=[(16, 16), (20, 12)], ask=True)
make("fam-ijepa-bf16", IJepaModel, IJepaConfig(**SMALL, intermediate_size=48), 73,
     "IJepaModel, BF16: no [CLS], 16 patch tokens", dtype=torch.bfloat16)
make("fam-ijepa-cls-interp-f32", IJepaForImageClassification,
     IJepaConfig(**SMALL, intermediate_size=48, num_labels=2, layer_norm_eps=1e-6), 74,
     "IJepaForImageClassification (ijepa. prefix), eps 1e-6, with interpolate_pos_encoding "
     "on 24x16 and 12x12 pixels (positions resized bicubic, no [CLS] row)",
     sizes=[(24, 16), (12, 12)], ask=True)
make("fam-ijepa-modnames-f32", IJepaModel, IJepaConfig(**SMALL, intermediate_size=36), 75,
     "IJepaModel under transformers 5's module names (layers.N.attention.q_proj ...)", post=to_modules)
preprocessor("fam-vit-msn-f32", image_processor_type="ViTImageProcessor", do_resize=True,
             size={"height": 16, "width": 16}, resample=2, do_rescale=True,
             rescale_factor=1 / 255, do_normalize=True, **IMAGENET)
preprocessor("fam-ijepa-bf16", image_processor_type="ViTImageProcessor", do_resize=True,
             size={"height": 16, "width": 16}, resample=3, do_rescale=True,
             rescale_factor=1 / 255, do_normalize=True, image_mean=[0.5] * 3, image_std=[0.5] * 3)


# ---- BEiT and data2vec-vision: relative position bias tables (each layer's and/or one
# shared), optional absolute positions, layer scales; any image size (the tables resized
# bilinearly to the image's grid, the positions bicubically). The random tables are scaled
# up (std ~1) so that the bias shapes the attention.
def bias_up(model):
    for name, p in model.named_parameters():
        if name.endswith("relative_position_bias_table"):
            p.mul_(4.0)


def beit_modules(path):
    """The checkpoints' names (save_pretrained's) -> transformers 5's module names of BEiT
    (layers.N.attention.q_proj, layers.N.relative_position_bias..., shared_position_bias...)."""
    f = os.path.join(path, "model.safetensors")
    t = load_file(f)
    out = {}
    for k, v in t.items():
        nk = k.replace("encoder.relative_position_bias.", "shared_position_bias.")
        nk = nk.replace("attention.attention.relative_position_bias.", "relative_position_bias.")
        nk = nk.replace("encoder.layer.", "layers.", 1)
        for a, b in VIT_MODULES:
            nk = nk.replace(a, b)
        out[nk] = v
    assert out.keys() != t.keys(), "nothing renamed"
    save_file(out, f, metadata={"format": "pt"})


OTHER = [(16, 16), (24, 12), (12, 20)]  # the model's 4x4 grid, 6x3, 3x5
make("fam-beit-f32", BeitModel,
     BeitConfig(**SMALL, intermediate_size=48, use_relative_position_bias=True), 81,
     "BeitModel: each layer's relative position bias, layer scales, no absolute positions, "
     "mean pooling; 16x16, 24x12 and 12x20 pixels (bias tables resized to 6x3 and 3x5 grids)",
     sizes=OTHER, tweak=bias_up)
make("fam-beit-mim-shared-abs-bf16", BeitForMaskedImageModeling,
     BeitConfig(**SMALL, intermediate_size=40, use_shared_relative_position_bias=True,
                use_absolute_position_embeddings=True, use_mask_token=True), 82,
     "BeitForMaskedImageModeling (beit. prefix), BF16: the shared relative position bias, "
     "absolute positions, mask token (unused); 16x16 and 20x8 pixels", dtype=torch.bfloat16,
     sizes=[(16, 16), (20, 8)], tweak=bias_up)
make("fam-beit-cls-both-f16", BeitForImageClassification,
     BeitConfig(**SMALL, intermediate_size=48, num_labels=3, use_relative_position_bias=True,
                use_shared_relative_position_bias=True, use_absolute_position_embeddings=True,
                use_mean_pooling=False, layer_scale_init_value=0.0, hidden_act="gelu_new"), 83,
     "BeitForImageClassification, F16: each layer's and the shared bias summed, absolute "
     "positions, no layer scales (layer_scale_init_value 0), final LayerNorm (no mean "
     "pooling), gelu_new; with interpolate_pos_encoding on 16x16 and 20x24 pixels",
     dtype=torch.float16, sizes=[(16, 16), (20, 24)], ask=True, tweak=bias_up)
make("fam-beit-modnames-f32", BeitModel,
     BeitConfig(**SMALL, intermediate_size=36, use_relative_position_bias=True,
                use_shared_relative_position_bias=True, layer_norm_eps=1e-6), 84,
     "BeitModel under transformers 5's module names (layers.N.attention.q_proj, "
     "layers.N.relative_position_bias, shared_position_bias), both biases, eps 1e-6; 16x16 "
     "and 8x28 pixels", sizes=[(16, 16), (8, 28)], post=beit_modules, tweak=bias_up)
make("fam-data2vec-vision-f32", Data2VecVisionModel,
     Data2VecVisionConfig(**SMALL, intermediate_size=48, use_relative_position_bias=True,
                          use_absolute_position_embeddings=True), 85,
     "Data2VecVisionModel: each layer's bias, absolute positions, layer scales; 16x16, 24x12 "
     "and 12x20 pixels", sizes=OTHER, tweak=bias_up)
make("fam-data2vec-vision-cls-bf16", Data2VecVisionForImageClassification,
     Data2VecVisionConfig(**SMALL, intermediate_size=40, num_labels=2,
                          use_shared_relative_position_bias=True, layer_scale_init_value=0.0),
     86, "Data2VecVisionForImageClassification (data2vec_vision. prefix), BF16: the shared "
     "bias, no layer scales, no absolute positions; with interpolate_pos_encoding on 16x16 "
     "and 28x16 pixels", dtype=torch.bfloat16, sizes=[(16, 16), (28, 16)], ask=True,
     tweak=bias_up)
make("fam-beit-rem-f32", BeitModel,
     BeitConfig(**dict(SMALL, image_size=18), intermediate_size=40,
                use_relative_position_bias=True, use_absolute_position_embeddings=True), 87,
     "BeitModel of image_size 18, patch 4: a 4x4 window (the last partial patch dropped), "
     "each layer's bias, absolute positions; 18x18 and 16x21 pixels", sizes=[(18, 18), (16, 21)],
     tweak=bias_up)

from transformers import BeitForSemanticSegmentation  # noqa: E402


class BeitSegEncoder(BeitForSemanticSegmentation):
    """BeitForSemanticSegmentation saved whole (UPerNet and FCN heads included); its forward
    here is its encoder's (beit.), whose attentions the segmentation model does not return."""

    def forward(self, pixel_values=None, output_attentions=False, **kw):
        return self.beit(pixel_values=pixel_values, output_attentions=output_attentions, **kw)


def seg_architecture(path):
    """config.json names the class users download, not the wrapper above."""
    f = os.path.join(path, "config.json")
    with open(f) as fh:
        cfg = json.load(fh)
    cfg["architectures"] = ["BeitForSemanticSegmentation"]
    with open(f, "w") as fh:
        json.dump(cfg, fh, indent=2, sort_keys=True)
        fh.write("\n")


make("fam-beit-seg-f16", BeitSegEncoder,
     BeitConfig(hidden_size=16, num_hidden_layers=4, num_attention_heads=2, image_size=16,
                patch_size=4, num_channels=3, intermediate_size=24, out_indices=[1, 2, 3, 4],
                num_labels=3, auxiliary_channels=8, use_relative_position_bias=True), 88,
     "BeitForSemanticSegmentation (beit. prefix, with its segmentation heads), F16, 4 layers "
     "of 2 heads, each layer's bias; 16x16 and 12x24 pixels", dtype=torch.float16,
     sizes=[(16, 16), (12, 24)], tweak=bias_up, post=seg_architecture)

preprocessor("fam-beit-f32", image_processor_type="BeitImageProcessor",
             size={"height": 16, "width": 16})
preprocessor("fam-beit-mim-shared-abs-bf16", image_processor_type="BeitImageProcessor",
             size={"height": 20, "width": 12}, resample=2, **IMAGENET)
# the older layout of the hub's BEiT / data2vec-vision files
preprocessor("fam-data2vec-vision-f32", feature_extractor_type="BeitFeatureExtractor",
             size=24, crop_size=20, do_center_crop=True, resample=2, reduce_labels=False,
             do_resize=True, do_normalize=True, image_mean=[0.5] * 3, image_std=[0.5] * 3)
