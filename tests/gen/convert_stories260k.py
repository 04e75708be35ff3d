#!/usr/bin/env python3
"""Convert karpathy's stories260K (llama2.c legacy format) to the Hugging Face layout.

    HF_HUB_OFFLINE=1 /root/venv/bin/python tests/gen/convert_stories260k.py [SRC_DIR]

SRC_DIR defaults to ../shared/data/stories260K (stories260K.bin, reference/).
Writes tests/fixtures/stories260K/: config.json (LlamaForCausalLM, tied
embeddings), model.safetensors (F32, HF tensor names), SOURCE.txt, and a copy
of the reference dumps (reference/*.json, ref_llama2c.py).

llama2.c applies RoPE to adjacent pairs (2i, 2i+1); Hugging Face's LLaMA
rotates halves (i, i + head_dim/2). The q and k rows of every head are
permuted exactly as transformers' convert_llama_weights_to_hf.py does
(`permute`), so the HF model computes the same attention. The script then
checks with transformers itself that the converted model reproduces the
reference attention maps and greedy tokens before writing anything final.
"""

import json
import os
import shutil
import struct
import sys

import numpy as np
import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(REPO, "tests", "fixtures", "stories260K")


def read_llama2c(path):
    raw = open(path, "rb").read()
    dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len = struct.unpack_from("7i", raw, 0)
    assert vocab > 0, "expected a shared classifier (positive vocab_size)"
    f = np.frombuffer(raw, dtype="<f4", offset=28)
    hs = dim // n_heads
    kv_dim = n_kv * hs
    o = 0

    def take(*shape):
        nonlocal o
        n = int(np.prod(shape))
        a = f[o:o + n].reshape(shape).copy()
        o += n
        return a

    w = {"tok": take(vocab, dim), "rms_att": take(n_layers, dim), "wq": take(n_layers, dim, dim),
         "wk": take(n_layers, kv_dim, dim), "wv": take(n_layers, kv_dim, dim),
         "wo": take(n_layers, dim, dim), "rms_ffn": take(n_layers, dim),
         "w1": take(n_layers, hidden, dim), "w2": take(n_layers, dim, hidden),
         "w3": take(n_layers, hidden, dim), "rms_final": take(dim)}
    o += seq_len * hs  # legacy freq_cis_real/imag, unused
    assert 28 + 4 * o == len(raw), "file size does not match the header"
    cfg = dict(dim=dim, hidden=hidden, n_layers=n_layers, n_heads=n_heads, n_kv=n_kv,
               vocab=vocab, seq_len=seq_len)
    return cfg, w


def permute(w, n_heads):
    """transformers' convert_llama_weights_to_hf.py: adjacent pairs -> halves, per head."""
    dim1, dim2 = w.shape
    return w.reshape(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(0, 2, 1, 3).reshape(dim1, dim2)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..", "shared", "data", "stories260K")
    cfg, w = read_llama2c(os.path.join(src, "stories260K.bin"))
    tensors = {"model.embed_tokens.weight": w["tok"], "model.norm.weight": w["rms_final"]}
    for l in range(cfg["n_layers"]):
        p = "model.layers.%d." % l
        tensors[p + "input_layernorm.weight"] = w["rms_att"][l]
        tensors[p + "self_attn.q_proj.weight"] = permute(w["wq"][l], cfg["n_heads"])
        tensors[p + "self_attn.k_proj.weight"] = permute(w["wk"][l], cfg["n_kv"])
        tensors[p + "self_attn.v_proj.weight"] = w["wv"][l]
        tensors[p + "self_attn.o_proj.weight"] = w["wo"][l]
        tensors[p + "post_attention_layernorm.weight"] = w["rms_ffn"][l]
        tensors[p + "mlp.gate_proj.weight"] = w["w1"][l]
        tensors[p + "mlp.down_proj.weight"] = w["w2"][l]
        tensors[p + "mlp.up_proj.weight"] = w["w3"][l]
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": cfg["dim"], "intermediate_size": cfg["hidden"],
        "num_hidden_layers": cfg["n_layers"], "num_attention_heads": cfg["n_heads"],
        "num_key_value_heads": cfg["n_kv"], "head_dim": cfg["dim"] // cfg["n_heads"],
        "vocab_size": cfg["vocab"], "max_position_embeddings": cfg["seq_len"],
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
        "tie_word_embeddings": True, "attention_bias": False, "mlp_bias": False,
        "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32",
    }
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "reference"))
    save_file({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in tensors.items()},
              os.path.join(OUT, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    refs = sorted(x for x in os.listdir(os.path.join(src, "reference")) if x.endswith(".json"))
    for x in refs + ["ref_llama2c.py"]:
        shutil.copyfile(os.path.join(src, "reference", x), os.path.join(OUT, "reference", x))
    shutil.copyfile(os.path.join(src, "SOURCE.txt"), os.path.join(OUT, "SOURCE.upstream.txt"))
    os.chmod(os.path.join(OUT, "model.safetensors"), 0o644)
    with open(os.path.join(OUT, "SOURCE.txt"), "w") as f:
        f.write(SOURCE_TXT)

    # Cross-check with transformers: the converted model must reproduce the dumps.
    from transformers import LlamaForCausalLM
    m = LlamaForCausalLM.from_pretrained(OUT, dtype=torch.float64, attn_implementation="eager").eval()
    for x in refs:
        ref = json.load(open(os.path.join(OUT, "reference", x)))
        ids = ref["prompt_ids"]
        seq = ids + ref["greedy_continuation_ids"][:-1]
        seq = seq[:cfg["seq_len"]]
        with torch.no_grad():
            out = m(input_ids=torch.tensor([seq]), output_attentions=True)
        n = len(ids)
        att = torch.stack([a[0] for a in out.attentions])[:, :, :n, :n]
        diff = (att - torch.tensor(ref["attention"], dtype=torch.float64)).abs().max().item()
        pred = out.logits[0].argmax(-1).tolist()
        ok = pred[n - 1:len(seq)] == (seq + [ref["greedy_continuation_ids"][-1]])[n:len(seq) + 1]
        print("%-28s attention max diff %.2g, greedy tokens %s" % (x, diff, "match" if ok else "DIFFER"))
        assert diff < 1e-5 and ok  # the reference is an fp32 numpy run
    print("wrote", OUT)


SOURCE_TXT = """stories260K in the Hugging Face LLaMA layout (test fixture).

Made by tests/gen/convert_stories260k.py from ../shared/data/stories260K/stories260K.bin
(sha256 b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696), karpathy's
tinyllamas "stories260K": a 260K-parameter Llama-2-architecture model trained on
TinyStories (dim 64, 5 layers, 8 heads, 4 kv heads, vocab 512, seq_len 512).
Upstream provenance is in SOURCE.upstream.txt.

License: MIT (karpathy/tinyllamas model card; llama2.c is MIT). The copy used here was
taken from github.com/DaveBben/esp32-llm data/stories260K.bin @934dab4d, byte-identical
to karpathy's release (checked: llama2.c run.c reproduces doc/stories260K.md).

Conversion: tensors renamed to LlamaForCausalLM names, q/k rows permuted per head from
llama2.c's adjacent-pair RoPE to Hugging Face's rotate-half convention (as transformers'
convert_llama_weights_to_hf.py), lm_head tied to the embedding (llama2.c shares the
classifier), the unused legacy freq_cis tables dropped. Weights are the original fp32.

reference/: copied unchanged from ../shared/data/stories260K/reference/ -- an independent
numpy forward pass of the llama2.c file (ref_llama2c.py) whose greedy output matches
llama2.c's run.c: prompt ids, attention[layer][head][query][key] over the prompt,
top-5 logits at the last prompt position and the greedy continuation ids.
The converter checks that transformers, loading the converted fixture, reproduces
those attentions (< 1e-5; measured 3e-6 at most) and greedy tokens.
"""


if __name__ == "__main__":
    main()
