#!/usr/bin/env python3
"""Tokenizers of the encoders data2vec-text and Megatron-BERT as transformers'
AutoTokenizer opens them, and their goldens (tests/fixtures/tok-goldens-<name>.json, the
format of gen_tok_families.py: ids, vocabulary pieces and character offsets of >= 100
sentences, ids and type ids of pairs).

  tok-data2vec-text  RobertaTokenizerFast over a byte-level BPE trained here (tokenizer.json,
                     tokenizer_config.json, config.json model_type data2vec-text)
  tok-megatron-bert  BertTokenizerFast over a WordPiece trained here (tokenizer.json,
                     vocab.txt, tokenizer_config.json, config.json model_type megatron-bert)
XLM-RoBERTa-XL has none of its own here: transformers 5.25's AutoTokenizer maps
xlm-roberta-xl to TokenizersBackend, which reads tokenizer.json alone (XLMRobertaConverter's,
as tests/fixtures/tok-xlmr checks).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_tok_enc5.py
"""
import json
import os
import shutil
import sys
import tempfile

import tokenizers
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, BertTokenizerFast, RobertaTokenizerFast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_tok_families as gtf  # noqa: E402

FIX = gtf.FIX


def roberta_bpe():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(gtf.corpus(), trainers.BpeTrainer(
        vocab_size=700, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    return RobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                sep_token="</s>", cls_token="<s>", unk_token="<unk>",
                                pad_token="<pad>", mask_token="<mask>")


def bert_wordpiece():
    N = tokenizers.normalizers
    w = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    w.normalizer = N.BertNormalizer(lowercase=False)
    w.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    w.train_from_iterator(gtf.corpus(), trainers.WordPieceTrainer(
        vocab_size=600, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        show_progress=False))
    # transformers 5's BertTokenizer builds its pipeline from the vocabulary itself
    t = BertTokenizerFast(vocab=dict(w.get_vocab()), do_lower_case=False)
    return t


def goldens(name, d):
    """AutoTokenizer of d on gen_tok_families' sentences and pairs."""
    tok = AutoTokenizer.from_pretrained(d)
    cases = []
    for s in gtf.sentences():
        e = tok(s, return_offsets_mapping=True)
        cases.append({"sentence": s, "ids": e["input_ids"],
                      "tokens": tok.convert_ids_to_tokens(e["input_ids"]),
                      "offsets": [list(o) for o in e["offset_mapping"]]})
    pair_cases = []
    for a, b in gtf.pairs():
        e = tok(a, b, return_token_type_ids=True)
        pair_cases.append({"first": a, "second": b, "ids": e["input_ids"],
                           "type_ids": e["token_type_ids"]})
    doc = {"generator": "tests/gen/gen_tok_enc5.py", "transformers": transformers.__version__,
           "tokens": "convert_ids_to_tokens of the ids", "class": type(tok).__name__,
           "cases": cases, "pairs": pair_cases}
    with open(os.path.join(FIX, f"tok-goldens-{name}.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=0)
    print(f"{name}: {type(tok).__name__}, {len(cases)} sentences, {len(pair_cases)} pairs")


def save(name, tok, model_type, keep):
    d = os.path.join(FIX, f"tok-{name}")
    if os.path.isdir(d):
        shutil.rmtree(d)
    tok.save_pretrained(d)
    for f in os.listdir(d):
        if f not in keep:
            os.remove(os.path.join(d, f))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"model_type": model_type}, f)
    goldens(name, d)


def main():
    save("data2vec-text", roberta_bpe(), "data2vec-text",
         {"tokenizer.json", "tokenizer_config.json"})
    save("megatron-bert", bert_wordpiece(), "megatron-bert",
         {"tokenizer.json", "tokenizer_config.json", "vocab.txt"})


if __name__ == "__main__":
    main()
