#!/usr/bin/env python3
"""What Hugging Face tokenizers' decoder makes of the ids of every golden sentence, for
tests/test_decode_labels.c: for each tests/fixtures/tok-NAME/tokenizer.json with a "decoder"
section and its tests/fixtures/tok-goldens-NAME.json, Tokenizer.decode(ids,
skip_special_tokens=False) of each case, in the goldens' order, into
tests/fixtures/decode-goldens.json. mhaviz's per-token decoded labels joined must equal it.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/gen_decode_goldens.py
"""
import glob
import json
import os

import tokenizers
from tokenizers import Tokenizer

out = {"generator": "tests/gen/gen_decode_goldens.py", "tokenizers_version": tokenizers.__version__,
       "decoded": {}}
for path in sorted(glob.glob("tests/fixtures/tok-*/tokenizer.json")):
    name = os.path.basename(os.path.dirname(path))[len("tok-"):]
    golden = "tests/fixtures/tok-goldens-%s.json" % name
    if not os.path.exists(golden) or json.load(open(path, encoding="utf-8")).get("decoder") is None:
        continue
    tok = Tokenizer.from_file(path)
    cases = json.load(open(golden, encoding="utf-8"))["cases"]
    out["decoded"][name] = [tok.decode(c["ids"], skip_special_tokens=False) for c in cases]
with open("tests/fixtures/decode-goldens.json", "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=0)
    f.write("\n")
print("decoders:", ", ".join(out["decoded"]))
