"""LLaVA's generate(): transformers' tokens for the LLaVA fixtures' prompts and images.

For each LlavaForConditionalGeneration fixture of tests/gen/fam_llava.py, the golden
tests/fixtures/goldens/lgen-llava.json holds, for the prompts of its golden
(goldens/llava-<name>.json: the processor's ids, the image token expanded, and the pixels
as the golden stores them), the ids LlavaForConditionalGeneration.generate() returns on the
fp32-loaded weights (eager attention) under the fixture's generation_config.json: greedy
search with max_new_tokens 8, and beam search (3 beams, no_repeat_ngram_size 2,
max_new_tokens 6). Read by tests/test_llava.c.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/gen_llava_generate.py
"""

import json
import os

import torch
from transformers import LlavaForConditionalGeneration

import famgen

FIXTURES = ["llava-f32", "llava-list-full-bf16", "llava-modnames-f16", "llava-siglip-f16"]
VARIANTS = [{"name": "greedy", "max_new_tokens": 8, "num_beams": 1},
            {"name": "beams", "max_new_tokens": 6, "num_beams": 3, "no_repeat_ngram_size": 2}]


def main():
    out = {"source": famgen.SOURCE, "variants": VARIANTS, "fixtures": []}
    for name in FIXTURES:
        path = os.path.join(famgen.FIXTURES, name)
        with open(os.path.join(famgen.GOLDENS, name + ".json"), encoding="utf-8") as f:
            gold = json.load(f)
        model = LlavaForConditionalGeneration.from_pretrained(
            path, dtype=torch.float32, attn_implementation="eager").eval()
        cases = []
        for s in gold["sentences"]:
            ids = torch.tensor([s["token_ids"]])
            px = torch.tensor([s["pixels"]], dtype=torch.float32)
            got = {}
            for v in VARIANTS:
                kw = {k: x for k, x in v.items() if k != "name"}
                with torch.no_grad():
                    o = model.generate(input_ids=ids, pixel_values=px,
                                       attention_mask=torch.ones_like(ids), do_sample=False,
                                       **kw)
                got[v["name"]] = o[0].tolist()
            cases.append(got)
            print(name, len(s["token_ids"]), {k: x[len(s["token_ids"]):] for k, x in got.items()})
        out["fixtures"].append({"fixture": name, "cases": cases})
    with open(os.path.join(famgen.GOLDENS, "lgen-llava.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
