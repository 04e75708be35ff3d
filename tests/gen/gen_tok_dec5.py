#!/usr/bin/env python3
"""Tokenizers of decoder families added in dec5 as transformers' AutoTokenizer opens them, over
byte-level BPE merges trained here with each family's pre-tokenizer, and their goldens
(tests/fixtures/tok-goldens-<name>.json, the format of gen_tok_families.py: ids, vocabulary
pieces and character offsets of >= 100 sentences, ids and type ids of pairs).

  tok-olmoe    GPTNeoXTokenizer (OLMoE's class): ByteLevel(use_regex), built by the class
  tok-codegen  CodeGenTokenizer (GPT-2's byte-level BPE), built by the class
  tok-exaone4  GPT2Tokenizer (EXAONE 4.0's class), built by the class
  tok-glm4     PreTrainedTokenizerFast over a tokenizer.json shaped as GLM-4's: Split of the
               cl100k-style regex + ByteLevel, "[gMASK] <sop> $A" (its two prefix specials)
Each directory holds tokenizer.json, tokenizer_config.json and a config.json naming the
model_type, as a checkpoint does. Cohere 2 ships CohereTokenizer (tests/fixtures/tok-cohere);
PhiMoE, JetMoE, Persimmon and Helium LlamaTokenizer (tok-llamaspm, tok-llama-spm); Nemotron
a tokenizer.json converted from SentencePiece (tok-llamaspm's kind).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_tok_dec5.py
"""
import json
import os
import sys

from tokenizers import Regex, pre_tokenizers, processors
from transformers import (CodeGenTokenizer, GPT2Tokenizer, GPTNeoXTokenizer,
                          PreTrainedTokenizerFast)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_tok_enc5 as enc5  # noqa: E402
import gen_tok_families as gtf  # noqa: E402

GLM4 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
        r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def vocab_merges(tok):
    m = json.loads(tok.to_str())["model"]
    merges = [tuple(x) if isinstance(x, list) else tuple(x.split(" ")) for x in m["merges"]]
    return m["vocab"], merges


def main():
    neox = gtf.bytelevel("olmoe", pre_tokenizers.ByteLevel(add_prefix_space=False,
                                                           trim_offsets=True, use_regex=True))
    v, m = vocab_merges(neox)
    keep = {"tokenizer.json", "tokenizer_config.json"}
    enc5.save("olmoe", GPTNeoXTokenizer(vocab=v, merges=m, unk_token="<|end_of_text|>",
                                        bos_token="<|begin_of_text|>",
                                        eos_token="<|end_of_text|>"), "olmoe", keep)
    enc5.save("codegen", CodeGenTokenizer(vocab=v, merges=m, unk_token="<|end_of_text|>",
                                          bos_token="<|end_of_text|>",
                                          eos_token="<|end_of_text|>"), "codegen", keep)
    enc5.save("exaone4", GPT2Tokenizer(vocab=v, merges=m, unk_token="<|end_of_text|>",
                                       bos_token="<|begin_of_text|>",
                                       eos_token="<|end_of_text|>"), "exaone4", keep)
    glm = gtf.bytelevel("glm4", pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(GLM4), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]))
    glm.add_special_tokens(["[gMASK]", "<sop>"])
    glm.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(
            single="[gMASK]:0 <sop>:0 $A:0", pair="[gMASK]:0 <sop>:0 $A:0 $B:1",
            special_tokens=[("[gMASK]", glm.token_to_id("[gMASK]")),
                            ("<sop>", glm.token_to_id("<sop>"))])])
    enc5.save("glm4", PreTrainedTokenizerFast(tokenizer_object=glm, eos_token="<|end_of_text|>"),
              "glm4", keep)


if __name__ == "__main__":
    main()
