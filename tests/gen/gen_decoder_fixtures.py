#!/usr/bin/env python3
"""Make the decoder test fixtures (tests/fixtures/dec-*) and their goldens.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 /root/venv/bin/python tests/gen/gen_decoder_fixtures.py

Small random GPT-2 / LLaMA / Mistral / Qwen2 checkpoints built with Hugging Face
transformers (`from_config`, `save_pretrained`) and the per-head attention
probabilities transformers computes for them (eager attention,
output_attentions=True, ids input, fp32). For the *ForCausalLM fixtures the
golden also holds the logits of the last position. Nothing here is computed
by mhaviz. Deterministic (fixed seeds); overwrites its outputs.
"""

import json
import math
import os
import random
import shutil
import sys

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import (GPT2Config, GPT2LMHeadModel, GPT2Model, LlamaConfig, LlamaForCausalLM,
                          LlamaModel, MistralConfig, MistralModel, Qwen2Config, Qwen2ForCausalLM,
                          Qwen2Model)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bertgen as bg  # noqa: E402  (golden JSON formatting, paths)

SOURCE = bg.SOURCE

# One shared set of id sequences per vocabulary: lengths 1 (a lone token), 6
# and 13 (longer than the Mistral fixture's window of 5).
LENGTHS = [1, 6, 13]


def id_lists(vocab, seed):
    r = random.Random(seed)
    return [[r.randrange(vocab) for _ in range(n)] for n in LENGTHS]


def randomize(model, seed, qk_std, gain=0.5, emb_std=1.0):
    """Draw every parameter anew: norm weights in [0.6, 1.4], biases N(0, 0.1)
    (norm biases in [-0.2, 0.2]), q/k weights N(0, qk_std) so attention is far
    from uniform, other matrices N(0, gain/sqrt(fan_in)). A loader that drops,
    swaps or transposes any tensor changes the result."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            shape = p.shape
            conv1d = ".c_attn." in name or ".c_proj." in name or ".c_fc." in name  # (in, out)
            if name.endswith(("wte.weight", "embed_tokens.weight", "wpe.weight")):
                v = torch.randn(shape, generator=g) * emb_std
            elif ("ln_" in name or "norm" in name) and name.endswith("weight"):
                v = 0.6 + 0.8 * torch.rand(shape, generator=g)
            elif ("ln_" in name or "norm" in name) and name.endswith("bias"):
                v = (torch.rand(shape, generator=g) - 0.5) * 0.4
            elif name.endswith(".bias"):
                v = torch.randn(shape, generator=g) * 0.1
            elif name.endswith(("q_proj.weight", "k_proj.weight")):
                v = torch.randn(shape, generator=g) * qk_std
            elif name.endswith("c_attn.weight"):
                h = shape[0]
                v = torch.randn(shape, generator=g) * (gain / math.sqrt(h))
                v[:, :2 * h] = torch.randn((h, 2 * h), generator=g) * qk_std
            elif name.endswith(".weight"):
                fan_in = shape[0] if conv1d else shape[1]
                v = torch.randn(shape, generator=g) * (gain / math.sqrt(fan_in))
            else:
                raise AssertionError("unexpected parameter " + name)
            p.copy_(v)
    return model


def run(model, ids):
    """(layers, heads, n, n) attention and the last position's logits (or None)."""
    x = torch.tensor([ids], dtype=torch.long)
    with torch.no_grad():
        out = model(input_ids=x, attention_mask=torch.ones_like(x), output_attentions=True)
    att = torch.stack([a[0] for a in out.attentions])
    logits = out.logits[0, -1] if hasattr(out, "logits") and out.logits is not None else None
    return att, logits


def check_conditioning(cls, path, model, lists, limit=1e-6):
    """fp32 vs fp64 of the same weights: rounding alone must move the golden by
    much less than the 1e-5 mhaviz is held to."""
    m64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    worst = 0.0
    for ids in lists:
        a32, _ = run(model, ids)
        a64, _ = run(m64, ids)
        worst = max(worst, (a32.double() - a64).abs().max().item())
    assert worst < limit, "%s: fp32 vs fp64 attention differ by %g" % (path, worst)
    return worst


def peak(model, lists):
    a, _ = run(model, lists[-1])
    return a.max(dim=-1).values.mean().item()


def add_old_gpt2_buffers(path, n_pos, n_layer, prefix=""):
    """Old GPT-2 checkpoints store the causal mask `attn.bias` (1,1,P,P) and
    `attn.masked_bias` (scalar) buffers; the loader must ignore them."""
    f = os.path.join(path, "model.safetensors")
    t = load_file(f)
    for l in range(n_layer):
        t["%sh.%d.attn.bias" % (prefix, l)] = torch.tril(torch.ones(n_pos, n_pos, dtype=torch.uint8)).view(1, 1, n_pos, n_pos)
        t["%sh.%d.attn.masked_bias" % (prefix, l)] = torch.tensor(-1e4)
    save_file(t, f, metadata={"format": "pt"})


def write_golden(name, items, note):
    """items: [(ids, att (L,H,n,n), logits or None)]."""
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(SOURCE),
             ' "note": %s,' % json.dumps(note), ' "sentences": [']
    sents = []
    for ids, att, logits in items:
        s = '  {"token_ids": %s,\n   "attentions": %s' % (json.dumps(ids), bg._dump(att.float().tolist(), 3))
        if logits is not None:
            s += ',\n   "logits_last": %s' % bg._dump(logits.float().tolist(), 3)
        sents.append(s + "}")
    parts.append(",\n".join(sents))
    parts.append(" ]}")
    path = os.path.join(bg.GOLDENS, name + ".json")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")
    back = json.load(open(path))
    for (ids, att, _), s in zip(items, back["sentences"]):
        assert s["token_ids"] == ids
        assert (torch.tensor(s["attentions"]) - att.float()).abs().max().item() < 1e-8


def make(name, cls, config, dtype, seed, qk_std, note, shard=None, post=None, gain=0.5):
    path = os.path.join(bg.FIXTURES, name)
    bg.reset_dir(path)
    torch.manual_seed(seed)
    model = randomize(cls(config), seed, qk_std, gain=gain).eval()
    model = model.to(dtype)
    kw = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(path, **kw)
    if post:
        post(path)
    for f in os.listdir(path):  # save_pretrained writes 0600
        os.chmod(os.path.join(path, f), 0o644)
    # goldens from what is on disk, computed in fp32
    ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    lists = id_lists(config.vocab_size, seed + 1)
    items = []
    for ids in lists:
        att, logits = run(ref, ids)
        items.append((ids, att, logits))
    worst = check_conditioning(cls, path, ref, lists)
    write_golden(name, items, note)
    print("%-24s %7d bytes  fp32-vs-fp64 %.2g  mean row max %.3f" %
          (name, bg.dir_size(path), worst, peak(ref, lists)))


def main():
    torch.set_num_threads(1)

    # GPT-2: Conv1D weights, learned positions, gelu_new; GPT2LMHeadModel names
    # carry "transformer." and tie lm_head to wte.
    gpt2 = dict(vocab_size=300, n_positions=32, n_embd=32, n_layer=2, n_head=4,
                activation_function="gelu_new", layer_norm_epsilon=1e-5)
    make("dec-gpt2-f32", GPT2LMHeadModel, GPT2Config(**gpt2), torch.float32, 11, 0.30,
         "GPT2LMHeadModel F32: 'transformer.' prefix, lm_head tied to wte")
    make("dec-gpt2-f16-oldbufs", GPT2Model, GPT2Config(**gpt2), torch.float16, 12, 0.30,
         "GPT2Model F16, no prefix, with old attn.bias/attn.masked_bias buffers added",
         post=lambda p: add_old_gpt2_buffers(p, 32, 2))

    # LLaMA: untied F32 ForCausalLM, GQA ratio 1.
    make("dec-llama-f32", LlamaForCausalLM,
         LlamaConfig(vocab_size=500, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64,
                     rms_norm_eps=1e-5, tie_word_embeddings=False), torch.float32, 21, 0.16,
         "LlamaForCausalLM F32, GQA 1, untied lm_head, rope default")
    # head_dim given (q width 64 != hidden 48), GQA 2, linear rope scaling, BF16.
    make("dec-llama-bf16-gqa2-linear", LlamaModel,
         LlamaConfig(vocab_size=400, hidden_size=48, intermediate_size=80, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                     max_position_embeddings=64, rms_norm_eps=1e-6,
                     rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 500.0}),
         torch.bfloat16, 22, 0.19,
         "LlamaModel BF16, head_dim 16 given (q 64 wide, hidden 48), GQA 2, rope linear x2, theta 500")
    # GQA 4, tied embeddings, llama3 rope (all three frequency bands), F16, sharded.
    make("dec-llama-f16-gqa4-llama3", LlamaForCausalLM,
         LlamaConfig(vocab_size=320, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                     num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=128,
                     rms_norm_eps=1e-5, tie_word_embeddings=True,
                     rope_parameters={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                      "high_freq_factor": 4.0, "original_max_position_embeddings": 64,
                                      "rope_theta": 10000.0}),
         torch.float16, 23, 0.20,
         "LlamaForCausalLM F16 sharded, GQA 4, tied embeddings, rope llama3", shard="60KB")
    # Mistral with a window (5) shorter than the 13-token sequence.
    make("dec-mistral-f32-sw5", MistralModel,
         MistralConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                       sliding_window=5, rms_norm_eps=1e-5), torch.float32, 31, 0.22,
         "MistralModel F32, GQA 2, sliding_window 5")
    # Qwen2: q/k/v biases; untied ForCausalLM F32 GQA 2 and a BF16 GQA 4 base model.
    make("dec-qwen2-f32", Qwen2ForCausalLM,
         Qwen2Config(vocab_size=600, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                     rms_norm_eps=1e-6, tie_word_embeddings=False,
                     rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
         torch.float32, 41, 0.16, "Qwen2ForCausalLM F32, GQA 2, qkv bias, untied lm_head, theta 1e6")
    make("dec-qwen2-bf16-gqa4", Qwen2Model,
         Qwen2Config(vocab_size=350, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                     num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=64,
                     rms_norm_eps=1e-6, tie_word_embeddings=True),
         torch.bfloat16, 42, 0.22, "Qwen2Model BF16, GQA 4, qkv bias")


if __name__ == "__main__":
    main()
