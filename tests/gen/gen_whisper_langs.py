#!/usr/bin/env python3
"""Writes tests/fixtures/goldens/langs-whisper.json: for each language string (every name and
alias of transformers' TO_LANGUAGE_CODE as given and capitalised, every code in lower and
upper case, and strings transformers refuses), the prefix WhisperTokenizerFast builds with
language=it, task="transcribe" over the fixture tokenizer tests/fixtures/whisper-tok (made
by fam_whisper.py), or null where transformers raises. tests/test_whisper.c checks
mhv_whisper_language_code (lib/tok/whisper_lang.c) against it.

Run from the repo root:  HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/gen_whisper_langs.py
"""
import json
import os

import famgen as fg
from transformers import WhisperTokenizerFast
from transformers.models.whisper.tokenization_whisper import LANGUAGES, TO_LANGUAGE_CODE

TOKDIR = os.path.join(fg.FIXTURES, "whisper-tok")


def main():
    inputs = []
    for name in TO_LANGUAGE_CODE:
        inputs += [name, name.capitalize()]
    for code in LANGUAGES:
        inputs += [code, code.upper()]
    inputs += ["klingon", "", "en_US", "english ", "eng", "<|en|>", "zz"]
    cases = []
    for lang in inputs:
        try:
            tok = WhisperTokenizerFast.from_pretrained(TOKDIR, language=lang, task="transcribe")
            prefix = tok.prefix_tokens
        except ValueError:
            prefix = None
        cases.append({"language": lang, "prefix": prefix})
    with open(os.path.join(fg.GOLDENS, "langs-whisper.json"), "w", encoding="utf-8") as f:
        json.dump({"source": fg.SOURCE, "cases": cases}, f, ensure_ascii=False, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
