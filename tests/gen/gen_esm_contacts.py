#!/usr/bin/env python3
"""ESM's contact prediction (Rao et al. 2020) against transformers: a tiny EsmForMaskedLM
(ESM-2: rotary, token_dropout) whose contact head (esm.contact_head.regression, weight
(1, layers * heads), bias) is drawn at random with weights large enough that the
probabilities spread over (0, 1), saved with save_pretrained (the head's tensors checked on
disk) with EsmTokenizer's files: tests/fixtures/fam-esm2-contacts-f32 (its attentions golden
as every fam-* one, tests/test_families.c). tests/fixtures/goldens/esm-contacts.json holds
EsmForMaskedLM.predict_contacts of each sentence from the float64 model, with the tolerance
1e-5 or 1.25x transformers' own fp32 error where larger (tests/test_esm_contacts.c, and
tests/cli/esm_contacts.sh through `mhaviz run --contacts`). The sentences: a protein, one
with an <eos> and a <mask> inside (the eos mask zeroes that token's rows and columns), a lone
residue, and <cls> <eos> alone (no residue). tests/fixtures/esm-nocontact: the same model
with the contact head's tensors removed (refused by --contacts).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_esm_contacts.py
"""
import json
import os
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import EsmConfig, EsmForMaskedLM, EsmTokenizer
from transformers.models.esm.configuration_esm import get_default_vocab_list

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

VOCAB = list(get_default_vocab_list())  # <cls> <pad> <eos> <unk> L A G ... <mask>
TOK = {t: i for i, t in enumerate(VOCAB)}
SMALL = dict(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=40, pad_token_id=1,
             mask_token_id=TOK["<mask>"])


def ids(text):
    """<cls> + one id per residue letter (or <mask>/<eos> in braces) + <eos>."""
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


def save_tokenizer(path):
    """EsmTokenizer as transformers saves it (vocab.txt, tokenizer_config.json)."""
    vocab = os.path.join(path, "vocab.txt")
    with open(vocab, "w", encoding="utf-8") as f:
        f.write("\n".join(VOCAB))
    EsmTokenizer(vocab).save_pretrained(path)

NAME = "fam-esm2-contacts-f32"
CONFIG = EsmConfig(**SMALL, position_embedding_type="rotary",
                   token_dropout=True)
# text (as mhaviz run reads it) and its ids
TEXTS = ["MKTAYIAKQRQISFVKSHFSRQ", "MK<eos>TAYI<mask>KQ", "G", ""]
SENTENCES = [ids("MKTAYIAKQRQISFVKSHFSRQ"), ids("MK{eos}TAYI{mask}KQ"), ids("G"),
             [TOK["<cls>"], TOK["<eos>"]]]


def contact_head(path):
    """A contact head drawn anew (N(0, 2.5) weights, bias -0.5), so the probabilities are not
    all near 1/2; the tokenizer files beside it."""
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    g = torch.Generator().manual_seed(91)
    c = CONFIG.num_hidden_layers * CONFIG.num_attention_heads
    assert sd["esm.contact_head.regression.weight"].shape == (1, c), sorted(sd)
    assert sd["esm.contact_head.regression.bias"].shape == (1,)
    sd["esm.contact_head.regression.weight"] = torch.randn((1, c), generator=g) * 2.5
    sd["esm.contact_head.regression.bias"] = torch.tensor([-0.5])
    save_file(sd, f, metadata={"format": "pt"})
    save_tokenizer(path)


def main():
    fg.make(NAME, EsmForMaskedLM, CONFIG, seed=93, qk_std=0.35, ids=SENTENCES, logits=True,
            post=contact_head,
            note="EsmForMaskedLM, rotary, token_dropout, 3 layers, a random contact head")
    path = os.path.join(fg.FIXTURES, NAME)
    sd = load_file(os.path.join(path, "model.safetensors"))
    assert "esm.contact_head.regression.weight" in sd and "esm.contact_head.regression.bias" in sd
    m32 = EsmForMaskedLM.from_pretrained(path, dtype=torch.float32,
                                         attn_implementation="eager").eval()
    m64 = EsmForMaskedLM.from_pretrained(path, dtype=torch.float64,
                                         attn_implementation="eager").eval()
    assert torch.equal(m32.esm.contact_head.regression.weight, sd["esm.contact_head.regression.weight"])
    worst, sents = 0.0, []
    for text, s in zip(TEXTS, SENTENCES):
        x = torch.tensor([s])
        mask = torch.ones_like(x)
        with torch.no_grad():
            p32 = m32.predict_contacts(x, mask)[0]
            p64 = m64.predict_contacts(x, mask)[0]
        assert p64.shape == (max(len(s) - 2, 0),) * 2, p64.shape
        if p64.numel():
            worst = max(worst, (p32.double() - p64).abs().max().item())
        sents.append('  {"text": %s,\n   "token_ids": %s,\n   "contacts": %s}' %
                     (json.dumps(text), json.dumps(s), fg._dump(p64.tolist(), 2)))
    tol = max(1e-5, 1.25 * worst)
    spread = [v for s in SENTENCES[:1] for v in
              m64.predict_contacts(torch.tensor([s]), torch.ones(1, len(s)))[0].flatten().tolist()]
    with open(os.path.join(fg.GOLDENS, "esm-contacts.json"), "w", encoding="utf-8") as f:
        f.write('{"fixture": %s,\n "source": %s,\n "fp32_vs_fp64": %.3g,\n "tolerance": %.3g,\n'
                ' "sentences": [\n%s\n ]}\n' % (json.dumps(NAME), json.dumps(fg.SOURCE), worst,
                                                tol, ",\n".join(sents)))
    print("esm-contacts: fp32 vs fp64 %.2g, tolerance %.2g, probabilities %.3f..%.3f" %
          (worst, tol, min(spread), max(spread)))
    # the same checkpoint without the contact head's tensors
    bare = os.path.join(fg.FIXTURES, "esm-nocontact")
    fg.reset_dir(bare)
    for fn in os.listdir(path):
        shutil.copy(os.path.join(path, fn), bare)
    f = os.path.join(bare, "model.safetensors")
    sd = {k: v for k, v in load_file(f).items() if "contact_head" not in k}
    save_file(sd, f, metadata={"format": "pt"})
    for fn in os.listdir(bare):
        os.chmod(os.path.join(bare, fn), 0o644)


if __name__ == "__main__":
    main()
