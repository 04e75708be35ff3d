#!/usr/bin/env python3
"""Generator-time check of `mhaviz run --format safetensors` with the `safetensors` package
(numpy and torch loaders, no mhaviz code): every tensor against the JSON of the same run
(exact in F32; F16/BF16 equal to torch's rounding of the F32 value), the metadata against the
JSON's tokens, ids, spans, rows and weighting; and a decoder's --rows last against Hugging
Face transformers' own eager attentions. `make test` does not need it: tests/test_stwrite.c and
tests/cli/safetensors.sh check the same files in C and Perl.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/check_stwrite.py [build/mhaviz]
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import load_file
from safetensors.torch import load_file as load_torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MHAVIZ = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/mhaviz"))
TORCH_DT = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def run(args, out):
    subprocess.run([MHAVIZ, "run", "--out", out] + args, check=True, cwd=ROOT)


def check_against_json(tmp, text_file, extra, dtype, label):
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    run(extra + ["--format", "json", text_file], a)
    run(extra + ["--format", "safetensors", "--dtype", dtype, text_file], b)
    stem = os.path.splitext(os.path.basename(text_file))[0]
    report = json.load(open(os.path.join(a, stem + ".json")))
    for s, sent in enumerate(report["sentences"]):
        path = os.path.join(b, stem + (".safetensors" if s == 0 else "-%d.safetensors" % (s + 1)))
        tensors = load_torch(path)
        if dtype == "f32":
            as_np = load_file(path)
            assert set(as_np) == set(tensors)
        with safe_open(path, "np") as f:
            meta = f.metadata()
        assert meta["format"] == "mhaviz-attention"
        assert meta.get("weighting") == report.get("weighting"), label
        for key in ("tokens", "token_texts", "token_ids", "spans"):
            assert json.loads(meta[key]) == sent[key], (label, key)
        rows = json.loads(meta["rows"])
        assert rows == sent.get("rows", list(range(len(sent["tokens"])))), label
        heads = json.loads(meta["heads"])
        assert json.loads(meta["model"]) == report["model"]
        seen = 0
        for att in sent["attentions"]:
            name = "attn.L%02d" % att["layer"]
            k = heads[name].index(att["head"])
            want = torch.tensor(att["weights"], dtype=torch.float32).to(TORCH_DT[dtype])
            got = tensors[name][k]
            assert got.dtype == TORCH_DT[dtype]
            assert got.shape == (len(rows), len(sent["tokens"])), (label, got.shape)
            assert torch.equal(got, want), (label, name, att["head"])
            if dtype == "f32":
                assert np.array_equal(as_np[name][k], np.array(att["weights"], dtype=np.float32))
            seen += 1
        assert seen == sum(len(v) for v in heads.values()) == sum(t.shape[0] for t in tensors.values())
    print("ok", label)


def check_against_hf(tmp):
    from transformers import AutoModel
    model_dir = os.path.join(ROOT, "tests/fixtures/dec-qwen2-f32")
    ids = [5, 17, 33, 2, 91, 40, 7, 64, 12, 3, 77]
    ids_file = os.path.join(tmp, "ids.txt")
    open(ids_file, "w").write(" ".join(map(str, ids)) + "\n")
    out = os.path.join(tmp, "hf")
    run(["--model", model_dir, "--ids", "--rows", "last,-3,1", "--format", "safetensors",
         ids_file], out)
    path = os.path.join(out, "ids.safetensors")
    t = load_file(path)
    with safe_open(path, "np") as f:
        rows = json.loads(f.metadata()["rows"])
    assert rows == [1, 8, 9, 10], rows
    model = AutoModel.from_pretrained(model_dir, attn_implementation="eager",
                                      dtype=torch.float32).eval()
    with torch.no_grad():
        att = model(torch.tensor([ids]), output_attentions=True).attentions
    worst = 0.0
    for layer, a in enumerate(att):
        ref = a[0][:, rows, :].numpy()  # (heads, rows, S)
        worst = max(worst, float(np.abs(t["attn.L%02d" % layer] - ref).max()))
    assert worst < 1e-5, worst
    print("ok qwen2 --rows last,-3,1 against transformers (max diff %.2g)" % worst)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        text_file = os.path.join(tmp, "s.txt")
        open(text_file, "w").write("苹果从树上掉下来，小明把它捡起来了。\nThe cat sat on the mat.\n")
        model = ["--model", os.path.join(ROOT, "samples/model")]
        for dtype in ("f32", "f16", "bf16"):
            for rows in ([], ["--rows", "last"], ["--rows", "-3,word:它,0:2"]):
                for heads in ([], ["--heads", "1:*,3:0"]):
                    label = " ".join([dtype] + rows + heads)
                    check_against_json(os.path.join(tmp, label.replace(" ", "_")), text_file,
                                       model + rows + heads, dtype, label)
        for w in ("norm", "norm-out"):  # the normalised weighted rows, the weighting named
            check_against_json(os.path.join(tmp, w), text_file,
                               model + ["--weighting", w, "--rows", "last"], "f32", w)
        check_against_hf(tmp)


if __name__ == "__main__":
    main()
