#!/usr/bin/env python3
"""XGLM's tokenizer (tests/fixtures/tok-xglm/tokenizer.json) and its goldens
(tests/fixtures/tok-goldens-xglm.json): a SentencePiece unigram model trained here on
fam_mbart_lang.py's corpus in fairseq's layout (<unk> 0, <s> 1, </s> 2), turned into
XGLMTokenizer's tokenizer.json by transformers: XGLMConverter's vocabulary (<s> <pad> </s>
<unk>, the pieces after the model's three specials, <madeupword0..6>) and the model's
precompiled charsmap (of a few rules) given to XGLMTokenizer (Precompiled charsmap then runs of spaces
collapsed, Metaspace, "</s> $A"), saved with save_pretrained. (transformers 5 does not convert
sentencepiece.bpe.model by itself: XGLMTokenizer reads only tokenizer.json.) The goldens are
HF tokenizers' on gen_tok_families.py's sentences and pairs.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/gen_tok_xglm.py
"""
import json
import os
import shutil
import sys
import tempfile

import sentencepiece as spm
from tokenizers import Tokenizer
from transformers import XGLMTokenizer
from transformers.convert_slow_tokenizer import XGLMConverter, import_protobuf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fam_mbart_lang as ml  # noqa: E402
import gen_tok_families as gf  # noqa: E402


def main():
    work = tempfile.mkdtemp(prefix="xglm.")
    # a few normalization rules (nmt_nfkc's charsmap alone is 200 KB): A -> a, the fi
    # ligature, fullwidth A, circled 1, the ideographic space, e with a combining acute
    rules = os.path.join(work, "rules.tsv")
    with open(rules, "w") as f:
        for k, v in {"41": "61", "FB01": "66 69", "FF21": "41", "2460": "31", "3000": "20",
                     "65 301": "E9"}.items():
            f.write(f"{k}\t{v}\n")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(ml.CORPUS.strip().split("\n")), model_prefix=os.path.join(work, "m"),
        vocab_size=100, model_type="unigram", character_coverage=1.0, num_threads=1,
        normalization_rule_tsv=rules, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        minloglevel=2)
    proto = import_protobuf().ModelProto()
    with open(os.path.join(work, "m.model"), "rb") as f:
        proto.ParseFromString(f.read())
    vocab = XGLMConverter.vocab(None, proto)
    tok = XGLMTokenizer(vocab=vocab,
                        _spm_precompiled_charsmap=proto.normalizer_spec.precompiled_charsmap)
    out = os.path.join(work, "saved")
    tok.save_pretrained(out)
    fast = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    # the file's pipeline is the one the tokenizer class runs
    assert fast.encode("Hello  world").ids == tok("Hello  world")["input_ids"]
    gf.write("xglm", fast)
    path = os.path.join(gf.FIX, "tok-goldens-xglm.json")
    doc = json.load(open(path, encoding="utf-8"))
    doc["generator"] = "tests/gen/gen_tok_xglm.py"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=0)
    shutil.rmtree(work)


if __name__ == "__main__":
    os.environ["HF_HUB_OFFLINE"] = "1"
    main()
