#!/usr/bin/env python3
"""Fixtures of AIMv2's vision encoder (tests/fixtures/fam-aimv2-*): tiny random
Aimv2VisionModel checkpoints (and a whole Aimv2Model: its vision_config and vision_model.)
from transformers: RMSNorms, the patch embeddings' RMSNorm, learned or native (2-D
sine-cosine) positions, a gated MLP, no [CLS]; random pixel values and every head's
attention (float64, tolerance as famgen's; visgen.py), plus pool_attentions: the
attention-pooling head's probe (its cls_token) over the final RMSNorm's tokens, per head,
computed from the head's own modules as its F.scaled_dot_product_attention computes it
(softmax(q k^T / sqrt(d)); transformers returns no weights for it). Then the end-to-end
golden tests/fixtures/goldens/vision-e2e-aimv2.json (vis5gen.py): a PNG and a JPEG through
CLIPImageProcessor (AutoImageProcessor's class for aimv2; written by its save_pretrained).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_aimv2.py [FIXTURE ...]
"""
import os
import sys

import torch
from transformers import (Aimv2Config, Aimv2Model, Aimv2VisionConfig, Aimv2VisionModel,
                          CLIPImageProcessorPil)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
import vis5gen  # noqa: E402
import visgen  # noqa: E402
from visgen import ONLY, make  # noqa: E402

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, image_size=16,
             patch_size=4, num_channels=3)


def pool(model, px, **kw):
    """The pooling head's attention, (heads, tokens)."""
    vm = getattr(model, "vision_model", model)
    with torch.no_grad():
        x = vm(pixel_values=px.to(model.dtype), **kw).last_hidden_state
        head = vm.head
        n, H, heads = x.shape[1], x.shape[2], head.num_heads
        d = H // heads
        k = head.k_proj(x).reshape(1, n, heads, d).permute(0, 2, 1, 3)
        q = head.cls_token.reshape(1, 1, heads, d).permute(0, 2, 1, 3)
        w = torch.softmax(q @ k.transpose(-1, -2) * d ** -0.5, dim=-1)
    return w[0, :, 0, :]


visgen.run_pool = pool


class Aimv2Vision(Aimv2Model):
    """The whole Aimv2Model, its forward being the vision tower's (what mhaviz shows of it)."""

    def forward(self, pixel_values=None, output_attentions=False, **kw):
        return self.vision_model(pixel_values=pixel_values, output_attentions=output_attentions)


make("fam-aimv2-f32", Aimv2VisionModel,
     Aimv2VisionConfig(**SMALL, intermediate_size=48), 101,
     "Aimv2VisionModel: learned positions, SiLU gated MLP, no biases; pool_attentions: its "
     "attention-pooling head's probe", pool=True)
make("fam-aimv2-native-bias-bf16", Aimv2VisionModel,
     Aimv2VisionConfig(**SMALL, intermediate_size=40, is_native=True, qkv_bias=True,
                       mlp_bias=True, hidden_act="gelu", rms_norm_eps=1e-6), 102,
     "Aimv2VisionModel, BF16: native 2-D sine-cosine positions (any grid: 16x16, 20x12 and "
     "13x28 pixels), q/k/v/out and MLP biases, GELU gate, eps 1e-6, with its pooling head",
     dtype=torch.bfloat16, pool=True, sizes=[(16, 16), (20, 12), (13, 28)])
make("fam-aimv2-nohead-f16", Aimv2VisionModel,
     Aimv2VisionConfig(**SMALL, intermediate_size=36, use_head=False), 103,
     "Aimv2VisionModel, F16, use_head false (no pooling head)", dtype=torch.float16)
make("fam-aimv2-full-f32", Aimv2Vision,
     Aimv2Config(vision_config=dict(SMALL, intermediate_size=40, qkv_bias=True),
                 text_config=dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=24, vocab_size=64, eos_token_id=2),
                 projection_dim=16), 104,
     "Aimv2Model (model_type aimv2): the vision tower from vision_config and vision_model., "
     "with its pooling head", pool=True)


def processor(name, **kw):
    if ONLY and name not in ONLY:
        return
    CLIPImageProcessorPil(**kw).save_pretrained(os.path.join(fg.FIXTURES, name))


# CLIP's processor as AIMv2's checkpoints use it, at the models' sizes
processor("fam-aimv2-f32", size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16})
processor("fam-aimv2-native-bias-bf16", size={"shortest_edge": 20}, do_center_crop=False)

if not ONLY or "e2e" in ONLY:
    png, jpg = vis5gen.images()
    vis5gen.e2e("vision-e2e-aimv2", [
        ("aimv2-png", "fam-aimv2-f32", Aimv2VisionModel, png, {}),
        ("aimv2-jpeg", "fam-aimv2-f32", Aimv2VisionModel, jpg, {}),
        ("aimv2-native-png", "fam-aimv2-native-bias-bf16", Aimv2VisionModel, png, {}),
        ("aimv2-native-jpeg", "fam-aimv2-native-bias-bf16", Aimv2VisionModel, jpg, {}),
    ])
