#!/usr/bin/env python3
"""Tokenizer fixtures of the decoder families GPT-NeoX, BLOOM, Falcon and StarCoder2, made
here with `tokenizers` and each family's own tokenizer.json configuration (byte-level BPE
trained on gen_tok_families.py's corpus), and their goldens (HF `tokenizers` on the same >= 100
sentences and pairs, as gen_tok_families.py writes them):

  neox        NFC + ByteLevel(use_regex) + ByteLevel post-processor, with GPT-NeoX-20B's
              added tokens for runs of spaces (normalized, not special)
  bloom       Split(BLOOM's regex, isolated) + ByteLevel(use_regex false)
  falcon      Punctuation(contiguous) + ByteLevel(use_regex) + Digits + Split([0-9]{3})
  starcoder2  Digits(individual) + ByteLevel(use_regex)
(OPT, GPT-J and Phi ship GPT-2's tokenizer: tok-goldens-gpt2.)

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/gen_tok_decoders.py
"""
import json
import os
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
from tokenizers import pre_tokenizers, processors, trainers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_tok_families as gf  # noqa: E402

BLOOM = " ?[^(\\s|[.,!?…。，、।۔،])]+"


def train(pre, normalizer=None, post=None, vocab=800):
    tok = Tokenizer(models.BPE())
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<|endoftext|>", "<|padding|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(gf.corpus(), trainer)
    if post is not None:
        tok.post_processor = post
    return tok


def main():
    bl_regex = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    toks = {}
    neox = train(bl_regex, normalizer=normalizers.NFC(),
                 post=processors.ByteLevel(add_prefix_space=False, trim_offsets=True))
    neox.add_tokens([AddedToken(" " * k, normalized=True, special=False) for k in (24, 8, 4, 2)])
    toks["neox"] = neox
    toks["bloom"] = train(pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(BLOOM), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)]))
    toks["falcon"] = train(pre_tokenizers.Sequence([
        pre_tokenizers.Punctuation(behavior="contiguous"), bl_regex,
        pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.Split(Regex("[0-9][0-9][0-9]"), behavior="isolated", invert=False)]))
    toks["starcoder2"] = train(pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True), bl_regex]))
    for name, tok in toks.items():
        gf.write(name, tok)
        path = os.path.join(gf.FIX, f"tok-goldens-{name}.json")
        doc = json.load(open(path, encoding="utf-8"))
        doc["generator"] = "tests/gen/gen_tok_decoders.py"
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=0)


if __name__ == "__main__":
    os.environ["HF_HUB_OFFLINE"] = "1"
    main()
