#!/usr/bin/env python3
"""Fixtures of Apertus (tests/fixtures/fam-apertus-*): Llama's attention with an RMSNorm of
each query and key head before the rotation, norms named attention_layernorm and
feedforward_layernorm, a plain MLP down(act(up(x))) whose activation is xIELU with each
layer's own parameters (mlp.act_fn.alpha_p, alpha_n, beta, eps; drawn away from their
initial values), or another hidden_act; llama3 rope by default; ApertusModel and
ApertusForCausalLM (model. prefix, untied as by default and tied), F32/F16/BF16. See
famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_apertus.py
"""
import os
import sys

import torch
from transformers import ApertusConfig, ApertusForCausalLM, ApertusModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

SMALL = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=64, pad_token_id=3, bos_token_id=1,
             eos_token_id=2)


def xielu_params(seed):
    """famgen draws alpha_p / alpha_n as small random 1-element tensors; beta and eps are
    buffers: set them per layer too so a loader reading the defaults fails."""
    def post(path):
        from safetensors.torch import load_file, save_file
        import glob
        g = torch.Generator().manual_seed(seed)
        for f in glob.glob(os.path.join(path, "*.safetensors")):
            sd = load_file(f)
            for k in sorted(sd):
                if k.endswith("act_fn.beta"):
                    sd[k] = (0.3 + 0.4 * torch.rand((), generator=g)).to(sd[k].dtype)
                elif k.endswith("act_fn.eps"):
                    sd[k] = (-1e-3 * torch.rand((), generator=g)).to(sd[k].dtype)
                elif k.endswith(("act_fn.alpha_p", "act_fn.alpha_n")):
                    sd[k] = (torch.randn(sd[k].shape, generator=g)).to(sd[k].dtype)
            save_file(sd, f, metadata={"format": "pt"})
    return post


fg.make("fam-apertus-lm-f32", ApertusForCausalLM,
        ApertusConfig(**SMALL, num_key_value_heads=2),
        seed=731, qk_std=0.35, post=xielu_params(7311),
        note="ApertusForCausalLM F32, untied, GQA 2, xIELU, q/k head norms, default llama3 "
             "rope (theta 12e6)")
fg.make("fam-apertus-lm-bf16-tied", ApertusForCausalLM,
        ApertusConfig(**SMALL, num_key_value_heads=1, tie_word_embeddings=True,
                      attention_bias=True, dtype="bfloat16",
                      rope_parameters={"rope_type": "linear", "factor": 2.0,
                                       "rope_theta": 1000.0}),
        dtype=torch.bfloat16, seed=732, qk_std=0.35, post=xielu_params(7321),
        note="ApertusForCausalLM BF16 (its xIELU parameters too), tied, MQA, attention_bias, "
             "linear rope 2")
fg.make("fam-apertus-model-f16", ApertusModel,
        ApertusConfig(**SMALL, num_key_value_heads=4, head_dim=12, hidden_act="gelu",
                      rope_parameters={"rope_type": "default", "rope_theta": 500.0}),
        dtype=torch.float16, seed=733, qk_std=0.35,
        note="ApertusModel F16, head_dim 12, hidden_act gelu (no xIELU)")
