#!/usr/bin/env python3
"""Write a Qwen2.5-0.5B-shaped random checkpoint with transformers (BF16, tied embeddings,
0.99 GB) and a Qwen2 tokenizer beside it, for bench/bench_generate.sh.

    HF_HUB_OFFLINE=1 python3 bench/gen_qwen2_05b_hf.py OUT_DIR TOKENIZER_DIR

TOKENIZER_DIR holds a Qwen2 tokenizer.json / tokenizer_config.json / vocab.json /
merges.txt (the shared data's qwen-tokenizer). Needs torch and transformers.
"""
import shutil
import sys

import torch
import transformers

out, tok = sys.argv[1], sys.argv[2]
cfg = transformers.Qwen2Config(
    hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
    num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768,
    rope_theta=1000000.0, tie_word_embeddings=True, rms_norm_eps=1e-6,
    bos_token_id=151643, eos_token_id=151643, torch_dtype="bfloat16")
torch.manual_seed(0)
transformers.Qwen2ForCausalLM(cfg).to(torch.bfloat16).save_pretrained(out)
for f in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"):
    shutil.copy(f"{tok}/{f}", out)
