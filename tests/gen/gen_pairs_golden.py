#!/usr/bin/env python3
"""Golden of `mhaviz run --pairs` on an encoder: each line FIRST<TAB>SECOND encoded as
transformers' tokenizer(first, second) (ids, token type ids) and BertModel's eager attentions
for that input, fp32, with the float64 run's largest difference from it (the tolerance rule:
1e-5, or 1.25x fp32's own error where that is larger).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_pairs_golden.py
writes tests/fixtures/goldens/pairs-bert.json and tests/fixtures/pairs-bert.txt.
Nothing here is computed by mhaviz.
"""
import json
import os

import torch
from transformers import AutoModel, AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(os.path.dirname(HERE), "fixtures")
MODEL = os.path.join(FIX, "bert-f32")
PAIRS = [("苹果从树上掉下来。", "小明把它捡起来了。"),
         ("它很红。", "苹果从树上掉下来，小明把它捡起来了。"),
         ("小明", "树")]


def attentions(model, enc, dtype):
    model = model.to(dtype)
    with torch.no_grad():
        out = model(input_ids=enc["input_ids"], token_type_ids=enc["token_type_ids"],
                    attention_mask=enc["attention_mask"], output_attentions=True)
    return [a[0].to(torch.float64) for a in out.attentions]  # per layer (heads, n, n)


def main():
    tok = AutoTokenizer.from_pretrained(MODEL)
    model = AutoModel.from_pretrained(MODEL, attn_implementation="eager").eval()
    cases = []
    for first, second in PAIRS:
        enc = tok(first, second, return_tensors="pt")
        a32 = attentions(model, enc, torch.float32)
        a64 = attentions(model, enc, torch.float64)
        err = max(float((x - y).abs().max()) for x, y in zip(a32, a64))
        cases.append({"first": first, "second": second,
                      "ids": enc["input_ids"][0].tolist(),
                      "type_ids": enc["token_type_ids"][0].tolist(),
                      "tolerance": max(1e-5, 1.25 * err),
                      "attentions": [[[[round(v, 9) for v in row] for row in head]
                                      for head in layer.tolist()] for layer in a32]})
    with open(os.path.join(FIX, "goldens", "pairs-bert.json"), "w") as f:
        json.dump({"model": "bert-f32", "cases": cases}, f)
    with open(os.path.join(FIX, "pairs-bert.txt"), "w") as f:
        for first, second in PAIRS:
            f.write(f"{first}\t{second}\n")


if __name__ == "__main__":
    main()
