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

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, image_size=16,
             patch_size=4, num_channels=3)


def run(model, px):
    with torch.no_grad():
        out = model(pixel_values=px.to(model.dtype), output_attentions=True)
    return torch.stack([a[0] for a in out.attentions])


def run_pool(model, px):
    """The attention of SigLIP's pooling head (its probe over the post-LayerNorm tokens), per
    head: (heads, tokens). transformers does not return it; its nn.MultiheadAttention does."""
    with torch.no_grad():
        out = model(pixel_values=px.to(model.dtype))
        head = getattr(model, "vision_model", model).head
        probe = head.probe.repeat(out.last_hidden_state.shape[0], 1, 1)
        _, w = head.attention(probe, out.last_hidden_state, out.last_hidden_state,
                              need_weights=True, average_attn_weights=False)
    return w[0, :, 0, :]


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


ONLY = sys.argv[1:]


def make(name, cls, config, seed, note, dtype=torch.float32, post=None, pool=False):
    if ONLY and name not in ONLY:
        return
    path = os.path.join(fg.FIXTURES, name)
    fg.reset_dir(path)
    torch.manual_seed(seed)
    model = fg.randomize(cls(config), seed, 0.35).eval().to(dtype)
    model.save_pretrained(path)
    ref64 = None
    if post:
        before = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
        post(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)
    ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    r64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    g = torch.Generator().manual_seed(seed + 1)
    vc = getattr(config, "vision_config", config)
    S, C = vc.image_size, vc.num_channels
    items, worst = [], 0.0
    for _ in range(2):
        px = torch.randn((1, C, S, S), generator=g)
        a32, a64 = run(ref, px), run(r64, px.double())
        if post:
            assert (run(before, px.double()) - a64).abs().max().item() < 1e-12, "hub names load differently"
        worst = max(worst, (a32.double() - a64).abs().max().item())
        p64 = None
        if pool:
            p64 = run_pool(r64, px.double())
            worst = max(worst, (run_pool(ref, px).double() - p64).abs().max().item())
        items.append((px[0], a64, p64))
    tol = max(1e-5, 1.25 * worst)
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(fg.SOURCE),
             ' "class": %s,' % json.dumps(cls.__name__), ' "note": %s,' % json.dumps(note),
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol, ' "sentences": [']
    sents = []
    for px, att, p64 in items:
        extra = ""
        if p64 is not None:
            extra = ',\n   "pool_attentions": %s' % fg._dump(p64.tolist(), 2)
        sents.append('  {"pixels": %s,\n   "attentions": %s%s}' % (fg._dump(px.tolist(), 3),
                                                               fg._dump(att.tolist(), 4), extra))
    parts.append(",\n".join(sents))
    parts.append(" ]}")
    with open(os.path.join(fg.GOLDENS, name + ".json"), "w") as f:
        f.write("\n".join(parts) + "\n")
    print("%s: %s, fp32 vs fp64 %.2g, tolerance %.2g" % (name, cls.__name__, worst, tol))


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
