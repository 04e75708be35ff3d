#!/usr/bin/env python3
"""Fixtures of the ESM family (tests/fixtures/fam-esm*): ESM-2 (rotary positions) and
ESM-1b (learned positions from pad_token_id + 1, emb_layer_norm_before), EsmModel and
EsmForMaskedLM (esm. prefix, lm_head tied and untied), token_dropout on and off, in
F32/F16/BF16, over sentences with <mask> tokens (token_dropout zeroes their rows and
rescales the others by 0.88 / (1 - mask share)), a <pad> inside (ESM-1b's position rule)
and a lone token. The ESM-2 base fixture carries an EsmTokenizer saved by transformers; one
fixture stores its rotary inv_freq as hub checkpoints do (each layer's
encoder.layer.N.attention.self.rotary_embeddings.inv_freq) with values that are not the
computed ones, which transformers then uses; one is laid out as the hub's ESM-2 directories
(pytorch_model.bin, the tokenizer files with special_tokens_map.json). See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_esm.py
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, EsmConfig, EsmForMaskedLM, EsmModel, EsmTokenizer
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


def hub_bin(path):
    """The layout the hub's ESM-2 directories were first uploaded in: pytorch_model.bin (a
    torch.save'd state dict) with each layer's inv_freq, and the tokenizer files
    vocab.txt, a tokenizer_config.json naming only the class, special_tokens_map.json."""
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    star = [k for k in sd if "rotary_embeddings.inv_freq" in k]
    inv = sd.pop(star[0])
    for layer in range(SMALL["num_hidden_layers"]):
        sd["esm.encoder.layer.%d.attention.self.rotary_embeddings.inv_freq" % layer] = inv.clone()
    os.remove(f)
    torch.save(sd, os.path.join(path, "pytorch_model.bin"))
    with open(os.path.join(path, "vocab.txt"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(VOCAB) + "\n")
    with open(os.path.join(path, "tokenizer_config.json"), "w", encoding="utf-8") as fh:
        json.dump({"model_max_length": 1000000000000000019884624838656,
                   "tokenizer_class": "EsmTokenizer"}, fh)
    with open(os.path.join(path, "special_tokens_map.json"), "w", encoding="utf-8") as fh:
        json.dump({"cls_token": "<cls>", "eos_token": "<eos>", "mask_token": "<mask>",
                   "pad_token": "<pad>", "unk_token": "<unk>"}, fh)


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
fg.make("fam-esm2-hub-bin", EsmForMaskedLM, rotary(token_dropout=True), seed=77,
        qk_std=0.35, ids=SENTENCES, logits=True, post=hub_bin,
        note="EsmForMaskedLM as the hub's ESM-2 directories hold it: pytorch_model.bin with "
             "each layer's inv_freq, vocab.txt, tokenizer_config.json, special_tokens_map.json")


def end_to_end(name, texts):
    """tests/fixtures/goldens/esm-e2e.json: texts through the hub-layout fixture's
    AutoTokenizer and its model (float64, eager attention) as a user runs them: the ids and
    every head (tests/cli/esm.sh compares mhaviz run's JSON with them)."""
    path = os.path.join(fg.FIXTURES, name)
    tok = AutoTokenizer.from_pretrained(path)
    model = EsmForMaskedLM.from_pretrained(path, dtype=torch.float64,
                                           attn_implementation="eager").eval()
    sents = []
    for t in texts:
        enc = tok(t, return_tensors="pt")
        with torch.no_grad():
            out = model(**enc, output_attentions=True)
        att = torch.stack([a[0] for a in out.attentions])
        sents.append({"text": t, "token_ids": enc["input_ids"][0].tolist(),
                      "tokens": tok.convert_ids_to_tokens(enc["input_ids"][0]),
                      "attentions": [[[[round(v, 10) for v in row] for row in h] for h in layer]
                                     for layer in att.tolist()]})
    with open(os.path.join(fg.GOLDENS, "esm-e2e.json"), "w", encoding="utf-8") as f:
        json.dump({"fixture": name, "source": fg.SOURCE, "sentences": sents}, f)
        f.write("\n")


end_to_end("fam-esm2-hub-bin", ["MKT<mask>AYIAKQR", "mkt AYI J<mask> L"])
fg.make("fam-esm1b-mlm-f32", EsmForMaskedLM,
        absolute(token_dropout=True, emb_layer_norm_before=True), seed=75, qk_std=0.35,
        ids=SENTENCES, logits=True,
        note="EsmForMaskedLM, absolute positions (ESM-1b) from pad_token_id + 1, "
             "emb_layer_norm_before, token_dropout")
fg.make("fam-esm1b-f16", EsmModel, absolute(token_dropout=False), seed=76, qk_std=0.35,
        dtype=torch.float16, ids=SENTENCES,
        note="EsmModel, absolute positions, no token_dropout, F16")
