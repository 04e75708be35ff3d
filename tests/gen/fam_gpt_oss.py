#!/usr/bin/env python3
"""Fixtures of GPT-OSS (tests/fixtures/fam-gpt-oss-*): learned attention sinks per head
(drawn large so the kept rows sum well below 1), sliding and full layers (the default
alternation and a given layer_types), YaRN rotary positions (GptOssConfig's default and a
given set), the mixture of experts (biased router, top-k softmax, interleaved gate_up,
clamped SwiGLU: swiglu_limit small enough that the clamps bite, another alpha),
attention_bias false, head_dim other than hidden / heads; GptOssModel and
GptOssForCausalLM (tied and untied), F32 and BF16 as save_pretrained writes them from a
from_config model. Goldens from eager attention and the eager experts. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_gpt_oss.py
"""
import os
import sys

import torch
from transformers import GptOssConfig, GptOssForCausalLM, GptOssModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

EAGER = {"experts_implementation": "eager"}
_randomize = fg.randomize


def randomize(model, seed, qk_std, **kw):
    """famgen's draw, then sink logits N(0.5, 1.5): transformers' own init (std 0.02) would
    leave them near 0, where a wrong sink treatment shows little."""
    _randomize(model, seed, qk_std, **kw)
    g = torch.Generator().manual_seed(seed + 7)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("sinks"):
                p.copy_(0.5 + 1.5 * torch.randn(p.shape, generator=g))
    return model


fg.randomize = randomize

SMALL = dict(vocab_size=64, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
             num_key_value_heads=2, head_dim=8, intermediate_size=12, num_local_experts=4,
             num_experts_per_tok=2, max_position_embeddings=64, sliding_window=4,
             pad_token_id=0, bos_token_id=1, eos_token_id=2)

fg.make("fam-gpt-oss-lm-f32", GptOssForCausalLM, GptOssConfig(**SMALL),
        seed=401, qk_std=0.35, load_kw=EAGER,
        note="GptOssForCausalLM F32 untied, sinks, layers sliding (window 4) / full / sliding, "
             "default yarn (factor 32 over 4096, theta 150000), 4 experts top 2")
fg.make("fam-gpt-oss-bf16-clamp", GptOssModel,
        GptOssConfig(**dict(SMALL, num_hidden_layers=2, num_local_experts=3,
                            num_experts_per_tok=3),
                     layer_types=["full_attention", "sliding_attention"], swiglu_limit=0.25,
                     swiglu_alpha=2.5,
                     rope_parameters={"rope_type": "yarn", "rope_theta": 100.0, "factor": 4.0,
                                      "original_max_position_embeddings": 8,
                                      "attention_factor": 0.9}),
        dtype=torch.bfloat16, seed=402, qk_std=0.35, load_kw=EAGER, lengths=[1, 6, 20],
        note="GptOssModel BF16, layer_types full / sliding, swiglu_limit 0.25 and alpha 2.5 "
             "(gate and up clamped), 3 experts all chosen, yarn factor 4 over 8 with "
             "attention_factor 0.9")
fg.make("fam-gpt-oss-lm-bf16-tied", GptOssForCausalLM,
        GptOssConfig(**dict(SMALL, num_hidden_layers=2, head_dim=12, num_attention_heads=2,
                            num_key_value_heads=1, num_experts_per_tok=1),
                     attention_bias=False, tie_word_embeddings=True),
        dtype=torch.bfloat16, seed=403, qk_std=0.35, load_kw=EAGER,
        note="GptOssForCausalLM BF16 tied, attention_bias false, head_dim 12 (hidden 32, 2 "
             "heads, 1 kv head), top 1 of 4 experts")

# MXFP4 experts as the released checkpoints store them: random codes and scales (every byte
# is a valid code; quantising would need transformers' GPU kernels), the golden from the
# same checkpoint with the experts transformers' own convert_moe_packed_tensors decodes from
# them (its CPU dequantisation path, exact in fp32), then the experts swapped back for their
# *_blocks / *_scales and quantization_config written, as in the released files.
import json  # noqa: E402

from safetensors.torch import load_file, save_file  # noqa: E402
from transformers.integrations.mxfp4 import convert_moe_packed_tensors  # noqa: E402

CODES = {}


def decode_experts(path):
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    g = torch.Generator().manual_seed(404)
    for k in sorted(sd):
        if k.endswith(("experts.gate_up_proj", "experts.down_proj")):
            E, inn, out = sd[k].shape
            blocks = torch.randint(0, 256, (E, out, inn // 32, 16), generator=g,
                                   dtype=torch.uint8)
            scales = torch.randint(119, 126, (E, out, inn // 32), generator=g, dtype=torch.uint8)
            CODES[k] = (blocks, scales)
            sd[k] = convert_moe_packed_tensors(blocks, scales, dtype=torch.float32)
            assert sd[k].shape == (E, inn, out)
    save_file(sd, f, metadata={"format": "pt"})


def quantise_fixture(path):
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    for k, (blocks, scales) in CODES.items():
        assert torch.equal(sd.pop(k), convert_moe_packed_tensors(blocks, scales,
                                                                 dtype=torch.float32))
        sd[k + "_blocks"], sd[k + "_scales"] = blocks, scales
    save_file(sd, f, metadata={"format": "pt"})
    cpath = os.path.join(path, "config.json")
    cfg = json.load(open(cpath))
    cfg["quantization_config"] = {
        "quant_method": "mxfp4",
        "modules_to_not_convert": ["model.layers.*.self_attn", "model.layers.*.mlp.router",
                                   "model.embed_tokens", "lm_head"]}
    with open(cpath, "w") as out:
        json.dump(cfg, out, indent=2, sort_keys=True)
        out.write("\n")
    for name in os.listdir(path):
        os.chmod(os.path.join(path, name), 0o644)


fg.make("fam-gpt-oss-lm-mxfp4", GptOssForCausalLM,
        GptOssConfig(**dict(SMALL, num_hidden_layers=2, intermediate_size=32)),
        dtype=torch.bfloat16, seed=404, qk_std=0.35, load_kw=EAGER, post=decode_experts,
        note="GptOssForCausalLM BF16 with MXFP4 experts (gate_up_proj / down_proj _blocks and "
             "_scales, quantization_config mxfp4), 4 experts top 2, intermediate 32")
quantise_fixture(os.path.join(fg.FIXTURES, "fam-gpt-oss-lm-mxfp4"))
