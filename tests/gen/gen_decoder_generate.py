#!/usr/bin/env python3
"""Goldens of transformers' generate() on decoder-only models (causal LMs)
(tests/fixtures/goldens/dgen-<fixture>.json), for tests/test_decoder_generate.c and
tests/cli/generate_decoder.sh; and two fixtures: tests/fixtures/dgen-llama-tok (a small
LlamaForCausalLM with the Llama-style tokenizer of tests/fixtures/tok-llama, which puts <s>
before the text, and a generation_config.json asking for beam search with processors) and
tests/fixtures/dgen-gemma2-cap (Gemma 2 whose final soft-capping bends the logits without
saturating them).

For each fixture (the causal-LM fixtures of gen_decoder_fixtures.py and famgen: GPT-2, Llama,
Qwen2, Gemma 2 with final soft-capping, GPT-NeoX, the Qwen2-MoE and Mixtral mixtures) and each
variant of its generation settings (as gen_generate.py does for encoder-decoders: the fixture
staged in a temporary directory with the variant as its generation_config.json, or as its
config.json without one), the model is loaded with AutoModelForCausalLM.from_pretrained (fp32,
eager attention) and asked model.generate(input_ids, attention_mask=ones,
max_new_tokens=N, use_cache=False) (or without max_new_tokens: the settings' own max_length,
which counts the prompt). Prompts are random ids of 1 to 8 tokens (a one-token prompt is where
forced_bos_token_id applies). The variants cover the fixture's own settings and config.json's,
max_length / min_length (counting the prompt), min_new_tokens, eos lists, repetition_penalty
and no_repeat_ngram_size (over the prompt too), the encoder_* settings (generate() hands a
decoder-only model's input ids to them), forced bos/eos, suppress and begin_suppress tokens,
bad_words_ids, remove_invalid_values, renormalize_logits, exponential_decay_length_penalty,
and beam search (num_beams 2-5, length_penalty, early_stopping true/false/"never"); sampling is
recorded with the error mhaviz must give. The token ids the variants name are tokens the
fixture's model tends to generate (a plain greedy probe), so that each setting matters.

A case is kept only when transformers gives the same ids with its cache, in float64, and with
uniform noise of +-1e-4 on the logits (two seeds): its decisions are not within fp32 error of
a tie; beam search's also only without exact ties among a step's best scores (Gemma 2's
soft-capping saturates logits to the cap: equal scores, which torch.topk orders as it likes,
mhaviz by index) (a variant where none is, Gemma 2's soft-capped beams, has no cases; every fixture
has some). Nothing here is computed by mhaviz. Deterministic; overwrites.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_decoder_generate.py
"""
import json
import os
import random
import shutil
import sys
import tempfile

import torch
from transformers import (AutoModelForCausalLM, AutoTokenizer, Gemma2Config, Gemma2ForCausalLM,
                          LlamaConfig, LlamaForCausalLM,
                          LogitsProcessor, LogitsProcessorList, PreTrainedTokenizerFast)
from transformers.utils import logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

logging.set_verbosity_error()

FIXTURES = ["dec-gpt2-f32", "dec-llama-f32", "dec-qwen2-f32", "fam-gemma2-lm-f16-cap",
            "fam-gpt-neox-f32", "fam-qwen2-moe-lm-bf16", "fam-mixtral-lm-bf16-sw5",
            "dgen-llama-tok", "dgen-gemma2-cap"]
MOE = {"qwen2_moe", "mixtral"}
MAX_NEW = 8
CASES = 3
TRIES = 20
TOK_FIXTURE = "dgen-llama-tok"
# the CLI test's lines, and the settings of the fixture's generation_config.json
CLI_LINES = ["the cat sat on the mat", "a b c", "hello world again"]
CLI_GEN = {"bos_token_id": 1, "eos_token_id": 2, "num_beams": 3, "no_repeat_ngram_size": 2,
           "repetition_penalty": 1.3, "length_penalty": 1.5}


def make_tok_fixture():
    """dgen-llama-tok: LlamaForCausalLM (untied, GQA 2) over tok-llama's vocabulary."""
    d = os.path.join(fg.FIXTURES, TOK_FIXTURE)
    fg.reset_dir(d)
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(fg.FIXTURES, "tok-llama",
                                                              "tokenizer.json"),
                                  bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=48,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=48, rms_norm_eps=1e-5, tie_word_embeddings=False,
                      bos_token_id=1, eos_token_id=2)
    torch.manual_seed(7)
    model = fg.randomize(LlamaForCausalLM(cfg), 77, 0.5, gain=1.0, emb_std=1.0).eval()
    model.generation_config.update(**CLI_GEN)
    model.save_pretrained(d)
    tok.save_pretrained(d)
    for f in os.listdir(d):  # the tokenizer's files mhaviz reads, the model's
        if f not in ("config.json", "generation_config.json", "model.safetensors",
                     "tokenizer.json", "tokenizer_config.json"):
            os.remove(os.path.join(d, f))


def make_gemma2_fixture():
    """dgen-gemma2-cap: Gemma2ForCausalLM whose final soft-capping (5.0) bends its logits
    without saturating them (fam-gemma2-lm-f16-cap's cap of 1.5 makes exact ties: no beam
    search case is stable there)."""
    d = os.path.join(fg.FIXTURES, "dgen-gemma2-cap")
    fg.reset_dir(d)
    cfg = Gemma2Config(vocab_size=128, hidden_size=32, intermediate_size=48,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       head_dim=8, query_pre_attn_scalar=8, max_position_embeddings=48,
                       sliding_window=4, final_logit_softcapping=5.0,
                       attn_logit_softcapping=20.0, bos_token_id=2, eos_token_id=1,
                       pad_token_id=0)
    torch.manual_seed(8)
    model = fg.randomize(Gemma2ForCausalLM(cfg), 88, 0.5, gain=1.0, emb_std=0.2).eval()
    model.save_pretrained(d)


def noisy(model, seed):
    """Uniform noise of +-1e-4 on the LM head's output: another implementation's rounding."""
    g = torch.Generator().manual_seed(seed)

    def hook(mod, inp, out):
        return out + (torch.rand(out.shape, generator=g, dtype=out.dtype) - 0.5) * 2e-4
    return model.get_output_embeddings().register_forward_hook(hook)


def load(path, dtype):
    kw = {}
    if json.load(open(os.path.join(path, "config.json"))).get("model_type") in MOE:
        kw["experts_implementation"] = "eager"  # grouped_mm has no float64
    return AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation="eager",
                                                **kw).eval()


def gen(model, prompt, max_new, **kw):
    x = torch.tensor([prompt], dtype=torch.long)
    args = dict(input_ids=x, attention_mask=torch.ones_like(x))
    if max_new is not None:
        args["max_new_tokens"] = max_new
    with torch.no_grad():
        return model.generate(**args, **kw)[0].tolist()


def stage(fixture, kind, doc):
    """A temporary copy of the fixture with doc as its generation_config.json or config.json."""
    d = tempfile.mkdtemp(prefix="dgen-")
    src = os.path.join(fg.FIXTURES, fixture)
    for f in os.listdir(src):
        if f in ("generation_config.json", "config.json"):
            continue
        os.symlink(os.path.join(src, f), os.path.join(d, f))
    if kind == "generation_config":
        shutil.copy(os.path.join(src, "config.json"), os.path.join(d, "config.json"))
        json.dump(doc, open(os.path.join(d, "generation_config.json"), "w"))
    else:
        json.dump(doc, open(os.path.join(d, "config.json"), "w"))
    return d


class Record(LogitsProcessor):
    """Keeps each step's processed scores (appended last: what the search sees)."""
    def __init__(self):
        self.rows = []

    def __call__(self, input_ids, scores):
        self.rows.append(scores.clone())
        return scores


def tied(rows, k):
    """Whether any row of any step has two equal finite scores among its k best: an exact
    tie (soft-capping saturates logits to the cap) that torch.topk orders as it likes."""
    for step in rows:
        for row in step:
            top = torch.sort(row[torch.isfinite(row)], descending=True).values[:k]
            if len(top) > 1 and (top[1:] == top[:-1]).any():
                return True
    return False


def stable(m32, m64, prompt, max_new, ids):
    rec = Record()
    gen(m32, prompt, max_new, use_cache=False, logits_processor=LogitsProcessorList([rec]))
    beams = m32.generation_config.num_beams or 1
    if beams > 1 and tied(rec.rows, 2 * beams + 1):
        return False
    if gen(m32, prompt, max_new) != ids:  # with transformers' cache
        return False
    if gen(m64, prompt, max_new, use_cache=False) != ids:
        return False
    for seed in (1, 2):
        h = noisy(m32, seed)
        same = gen(m32, prompt, max_new, use_cache=False) == ids
        h.remove()
        if not same:
            return False
    return True


def variants(own, cfg, common, vocab):
    c = common + [t for t in range(3, vocab) if t not in common][:8]
    c1, c2, c3, c4, c5 = c[0], c[1], c[2], c[3], c[4]

    def v(**kw):
        d = dict(own)
        d.update(kw)
        return d
    beam_cfg = dict(cfg)
    beam_cfg.update(num_beams=4, length_penalty=2.0, early_stopping=True, no_repeat_ngram_size=2,
                    min_length=9, max_length=13, eos_token_id=[c1, c2])
    return [
        ("own", "generation_config", own, MAX_NEW),
        ("config_json", "config", cfg, MAX_NEW),
        ("config_json_beams", "config", beam_cfg, None),
        ("lengths", "generation_config", v(max_length=13, min_length=10, eos_token_id=[c1, c2]),
         None),
        ("min_new", "generation_config", v(min_new_tokens=3, eos_token_id=[c1, c2, c3]), MAX_NEW),
        ("eos_list", "generation_config", v(eos_token_id=[c2, c1]), MAX_NEW),
        ("ngram", "generation_config", v(no_repeat_ngram_size=2, repetition_penalty=1.7), MAX_NEW),
        ("ngram1", "generation_config", v(no_repeat_ngram_size=1, repetition_penalty=0.8), 6),
        ("enc_ngram", "generation_config",
         v(encoder_no_repeat_ngram_size=2, encoder_repetition_penalty=3.0), MAX_NEW),
        ("forced", "generation_config", v(forced_bos_token_id=c2, forced_eos_token_id=[c3]), 6),
        ("suppress", "generation_config",
         v(suppress_tokens=[c1], begin_suppress_tokens=[c2, c3], bad_words_ids=[[c4], [c2, c3]]),
         MAX_NEW),
        ("misc", "generation_config",
         v(remove_invalid_values=True, renormalize_logits=True,
           exponential_decay_length_penalty=[2, 3.0], eos_token_id=[c5, c1]), MAX_NEW),
        ("beam4", "generation_config", v(num_beams=4, eos_token_id=[c1]), MAX_NEW),
        ("beam_early", "generation_config",
         v(num_beams=3, early_stopping=True, length_penalty=2.0, no_repeat_ngram_size=3,
           eos_token_id=[c1, c2]), MAX_NEW),
        ("beam_never", "generation_config",
         v(num_beams=5, early_stopping="never", length_penalty=0.6, min_new_tokens=2,
           eos_token_id=[c2]), MAX_NEW),
        ("beam_forced", "generation_config",
         v(num_beams=4, forced_eos_token_id=c3, repetition_penalty=1.2, suppress_tokens=[c4],
           eos_token_id=[c3]), 5),
        ("beam_neg", "generation_config",
         v(num_beams=2, length_penalty=-1.0, eos_token_id=[c1], renormalize_logits=True),
         MAX_NEW),
        ("sampling", "generation_config", v(do_sample=True), MAX_NEW),
    ]


def probe(m32, prompts):
    """The tokens plain greedy decoding of the prompts produces most."""
    count = {}
    for p in prompts:
        for t in gen(m32, p, MAX_NEW, num_beams=1, use_cache=False, eos_token_id=None,
                     no_repeat_ngram_size=0, repetition_penalty=1.0)[len(p):]:
            count[t] = count.get(t, 0) + 1
    return [t for t, _ in sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))][:5]


def make(fixture, seed):
    path = os.path.join(fg.FIXTURES, fixture)
    cfg = json.load(open(os.path.join(path, "config.json")))
    own = json.load(open(os.path.join(path, "generation_config.json")))
    base = load(path, torch.float32)
    V = base.get_output_embeddings().weight.shape[0]
    vocab = min(base.config.vocab_size, V)
    r = random.Random(seed)
    prompts = [[r.randrange(3, vocab) for _ in range(r.randint(1, 8))] for _ in range(TRIES)]
    r.shuffle(prompts)
    common = probe(base, prompts[:6])
    out = {"fixture": fixture, "source": fg.SOURCE, "variants": []}
    for name, kind, doc, max_new in variants(own, cfg, common, vocab):
        d = stage(fixture, kind, doc)
        m32, m64 = load(d, torch.float32), load(d, torch.float64)
        entry = {"name": name, "kind": kind, "config": doc, "max_new": max_new}
        cases = []
        try:
            if name == "sampling":
                raise ValueError("sampling is not reproduced")
            for p in prompts:
                ids = gen(m32, p, max_new, use_cache=False)
                if stable(m32, m64, p, max_new, ids):
                    cases.append({"prompt": p, "ids": ids})
                if len(cases) == CASES:
                    break
        except ValueError as e:
            entry["error"] = str(e).split("\n")[0][:200]
        shutil.rmtree(d)
        if "error" not in entry:  # none stable: the variant is kept without cases
            entry["cases"] = cases
        out["variants"].append(entry)
        print("%s %s: %s" % (fixture, name, entry.get("error") or
                             " | ".join(" ".join(map(str, k["ids"])) for k in cases)))
    assert sum(len(e.get("cases", [])) for e in out["variants"]) >= 20, fixture
    if fixture == TOK_FIXTURE:
        out["cli_cases"] = cli_cases(path, base)
    return out


def cli_cases(path, model):
    """The CLI's lines as the tokenizer encodes them (<s> first), generated with the fixture's
    own settings (beam search) and with num_beams 1 (--greedy), max_new_tokens 5."""
    tok = AutoTokenizer.from_pretrained(path)
    out = []
    for line in CLI_LINES:
        p = tok(line)["input_ids"]
        assert p[0] == 1
        out.append({"text": line, "prompt": p, "ids": gen(model, p, 5, use_cache=False),
                    "greedy_ids": gen(model, p, 5, use_cache=False, num_beams=1)})
    return out


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    if len(sys.argv) == 1 or TOK_FIXTURE in sys.argv[1:]:
        make_tok_fixture()
    if len(sys.argv) == 1 or "dgen-gemma2-cap" in sys.argv[1:]:
        make_gemma2_fixture()
    for k, fixture in enumerate(FIXTURES):
        if len(sys.argv) > 1 and fixture not in sys.argv[1:]:
            continue
        out = make(fixture, 300 + k)
        gpath = os.path.join(fg.GOLDENS, "dgen-%s.json" % fixture)
        with open(gpath, "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
