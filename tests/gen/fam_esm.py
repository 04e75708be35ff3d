#!/usr/bin/env python3
"""Fixtures of the ESM family (tests/fixtures/fam-esm*): ESM-2 (rotary positions) and
ESM-1b (learned positions from pad_token_id + 1, emb_layer_norm_before), EsmModel and
EsmForMaskedLM (esm. prefix, lm_head tied and untied), token_dropout on and off, in
F32/F16/BF16, over sentences with <mask> tokens (token_dropout zeroes their rows and
rescales the others by 0.88 / (1 - mask share)), a <pad> inside (ESM-1b's position rule)
and a lone token. The ESM-2 base fixture carries an EsmTokenizer saved by transformers; one
fixture stores its rotary inv_freq as hub checkpoints do (each layer's
encoder.layer.N.attention.self.rotary_embeddings.inv_freq) with values that are not the
computed ones, which transformers then uses. See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_esm.py
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import EsmConfig, EsmForMaskedLM, EsmModel, EsmTokenizer
from transformers.models.esm.configuration_esm import get_default_vocab_list

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

VOCAB = list(get_default_vocab_list())  # 33 entries: <cls> <pad> <eos> <unk> L A G ... <mask>
TOK = {t: i for i, t in enumerate(VOCAB)}
SMALL = dict(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=40, pad_token_id=1,
             mask_token_id=TOK["<mask>"])


def ids(text):
    """<cls> + one id per residue letter (or <mask>/<pad>/<unk> in braces) + <eos>."""
    out, i = [TOK["<cls>"]], 0
    while i < len(text):
        if text[i] == "{":
            j = text.index("}", i)
            out.append(TOK["<" + text[i + 1:j] + ">"])
            i = j + 1
        else:
            out.append(TOK[text[i]])
            i += 1
    return out + [TOK["<eos>"]]


# a lone residue; a protein start; two masks and an unk; a pad inside with a mask
SENTENCES = [[TOK["M"]], ids("MKTAYIAKQR"), ids("MK{mask}AYI{mask}KQ{unk}RE"),
             ids("AG{pad}V{mask}XC")]


def save_tokenizer(path):
    """EsmTokenizer as transformers saves it (vocab.txt, tokenizer_config.json)."""
    vocab = os.path.join(path, "vocab.txt")
    with open(vocab, "w", encoding="utf-8") as f:
        f.write("\n".join(VOCAB))
    EsmTokenizer(vocab).save_pretrained(path)


def hub_inv_freq(path):
    """Rewrites the checkpoint with each layer's inv_freq under its own name, as the hub's ESM-2
    files hold it, the values moved off the computed ones (rounded to fp16, then the last
    one scaled) so a loader that recomputes them is caught."""
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    star = [k for k in sd if "rotary_embeddings.inv_freq" in k]
    assert star, sorted(sd)
    inv = sd.pop(star[0]).float().half().float()
    inv[-1] *= 0.9
    for layer in range(SMALL["num_hidden_layers"]):
        sd["esm.encoder.layer.%d.attention.self.rotary_embeddings.inv_freq" % layer] = inv.clone()
    save_file(sd, f, metadata={"format": "pt"})
    m = EsmForMaskedLM.from_pretrained(path, dtype=torch.float32)
    used = m.esm.rotary_embeddings.inv_freq
    assert torch.equal(used, inv), (used, inv)  # transformers takes the stored values


def rotary(**kw):
    return EsmConfig(**SMALL, position_embedding_type="rotary", **kw)


def absolute(**kw):
    return EsmConfig(**SMALL, position_embedding_type="absolute", **kw)


fg.make("fam-esm2-f32", EsmModel, rotary(token_dropout=True), seed=71, qk_std=0.35,
        ids=SENTENCES, post=save_tokenizer,
        note="EsmModel, rotary (ESM-2), token_dropout, EsmTokenizer files")
fg.make("fam-esm2-mlm-bf16", EsmForMaskedLM, rotary(token_dropout=True), seed=72, qk_std=0.35,
        dtype=torch.bfloat16, ids=SENTENCES, logits=True,
        note="EsmForMaskedLM (esm. prefix, lm_head tied), rotary, token_dropout, BF16 "
             "(inv_freq stored in BF16 and used so)")
fg.make("fam-esm2-mlm-untied-f16", EsmForMaskedLM,
        rotary(token_dropout=False, emb_layer_norm_before=True, tie_word_embeddings=False),
        seed=73, qk_std=0.35, dtype=torch.float16, ids=SENTENCES, logits=True,
        note="EsmForMaskedLM untied, rotary, no token_dropout, emb_layer_norm_before, F16")
fg.make("fam-esm2-hubfreq-f32", EsmForMaskedLM, rotary(token_dropout=True), seed=74,
        qk_std=0.35, ids=SENTENCES, logits=True, post=hub_inv_freq,
        note="EsmForMaskedLM, inv_freq stored per layer (hub layout) off the computed values")
fg.make("fam-esm1b-mlm-f32", EsmForMaskedLM,
        absolute(token_dropout=True, emb_layer_norm_before=True), seed=75, qk_std=0.35,
        ids=SENTENCES, logits=True,
        note="EsmForMaskedLM, absolute positions (ESM-1b) from pad_token_id + 1, "
             "emb_layer_norm_before, token_dropout")
fg.make("fam-esm1b-f16", EsmModel, absolute(token_dropout=False), seed=76, qk_std=0.35,
        dtype=torch.float16, ids=SENTENCES,
        note="EsmModel, absolute positions, no token_dropout, F16")
