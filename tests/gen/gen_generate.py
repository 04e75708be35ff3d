#!/usr/bin/env python3
"""Goldens of transformers' generate() on the encoder-decoder fixtures
(tests/fixtures/goldens/gen-<fixture>.json), for tests/test_generate.c and tests/cli/generate.sh.

For each fixture (tests/fixtures/s2s-*, made by fam_t5.py, fam_bart.py ...) and each variant of
its generation settings, the fixture is copied to a temporary directory with that variant as
its generation_config.json (kind "generation_config"), or with no generation_config.json and
the variant as its config.json (kind "config": transformers then reads config.json's
generation fields), loaded with AutoModelForSeq2SeqLM.from_pretrained (fp32, eager attention)
and asked model.generate(input_ids, attention_mask, max_new_tokens=N, use_cache=False) (or
without max_new_tokens: the settings' own lengths; no cache, as mhaviz recomputes every step,
which transformers' cache matches up to fp32 rounding: checked too, except where the cache
itself fails, T5 with more decoder than encoder layers; FSMT's from the cached run, the only
one where its decoder is causal). The variants cover the fixture's own
generation_config.json and config.json, max_length, min_length, min_new_tokens, eos lists,
no_repeat_ngram_size, repetition_penalty, encoder_no_repeat_ngram_size,
encoder_repetition_penalty, forced_bos/eos_token_id, suppress_tokens, begin_suppress_tokens,
bad_words_ids, remove_invalid_values, renormalize_logits, exponential_decay_length_penalty
and beam search (num_beams 2-5, length_penalty, early_stopping true/false/"never"). The
token ids the variants name are tokens the fixture's model tends to generate (found by a
plain greedy probe), so that each setting changes what comes out. A variant transformers
refuses is written with its error.

Each case's ids are kept only when transformers gives the same ids with use_cache=False, in
float64, and with uniform noise of +-1e-4 added to the logits (twice): the
decisions are then not within fp32 error of a tie (other sources are tried otherwise).
Greedy cases also record the smallest gap between the chosen and the next lower score. Exact
ties the processors make (two forced eos ids both at 0) are resolved as torch.argmax does:
the first.
Language fixtures (mBART, mBART-50, NLLB, M2M100) add "lang_cases": the sources of their
golden's lang_pairs, generated with the model's own settings and the target's code as
decoder_start_token_id (mBART) or forced_bos_token_id (the others), max_new_tokens 6, as the
CLI's --tgt-lang does; Marian's text fixture adds "text_cases": the sources of its marian_pairs
under its own settings, max_new_tokens 6. Nothing here is computed by mhaviz. Deterministic; overwrites.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/gen_generate.py
"""
import copy
import json
import os
import random
import shutil
import sys
import tempfile

import torch
from transformers import AutoModelForSeq2SeqLM, LogitsProcessor, LogitsProcessorList
from transformers.utils import logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

logging.set_verbosity_error()

FIXTURES = ["s2s-t5-f32", "s2s-mt5-f32", "s2s-umt5-bf16", "s2s-bart-f32", "s2s-mbart-bf16",
            "s2s-marian-f32", "s2s-marian-separate-f32", "s2s-m2m100-spm-f32", "s2s-nllb-f32",
            "s2s-pegasus-f32", "s2s-blenderbot-f32", "s2s-blenderbot-small-f16",
            "s2s-mbart-lang", "s2s-mbart50-f32", "s2s-marian-tok", "s2s-fsmt-f32",
            "s2s-mvp-f32", "s2s-plbart-f32", "s2s-led-f32"]
# transformers' FSMT decoder is causal only with a cache (without one, generate() lets every
# decoder position see the later ones): its goldens come from the cached run. Its variants
# also suppress pad_token_id: with a cache transformers gives a pad in the decoder's input
# other positions than its teacher forcing does, and mhaviz refuses such an input
CACHED = {"s2s-fsmt-f32"}
LANG = {"s2s-mbart-lang": "start", "s2s-mbart50-f32": "forced", "s2s-nllb-f32": "forced",
        "s2s-m2m100-spm-f32": "forced"}
MAX_NEW = 8
CASES = 3
TRIES = 14


def noisy(model, seed):
    """Uniform noise of +-1e-4 on the LM head's output (the logits before any processor):
    a stand-in for another implementation's fp32 rounding. Returns the hook to remove."""
    g = torch.Generator().manual_seed(seed)

    def hook(mod, inp, out):
        return out + (torch.rand(out.shape, generator=g, dtype=out.dtype) - 0.5) * 2e-4
    return model.get_output_embeddings().register_forward_hook(hook)


class Record(LogitsProcessor):
    """Keeps the processed scores of greedy steps (appended last: sees what argmax sees)."""
    def __init__(self):
        self.rows = []

    def __call__(self, input_ids, scores):
        self.rows.append(scores[0].clone())
        return scores


def load(path, dtype):
    return AutoModelForSeq2SeqLM.from_pretrained(path, dtype=dtype,
                                                 attn_implementation="eager").eval()


def gen(model, src, max_new, **kw):
    x = torch.tensor([src], dtype=torch.long)
    args = dict(input_ids=x, attention_mask=torch.ones_like(x))
    if max_new is not None:
        args["max_new_tokens"] = max_new
    with torch.no_grad():
        return model.generate(**args, **kw)[0].tolist()


def stage(fixture, kind, doc):
    """A temporary copy of the fixture with doc as its generation_config.json or config.json."""
    d = tempfile.mkdtemp(prefix="gen-")
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


def run_case(m32, m64, src, max_new, cached):
    """ids, whether they are stable (see above), and greedy's smallest gap."""
    rec = Record()
    ids = gen(m32, src, max_new, use_cache=cached, logits_processor=LogitsProcessorList([rec]))
    try:
        if not cached and gen(m32, src, max_new) != ids:
            return ids, False, None
    except IndexError:  # transformers' cache with fewer encoder than decoder layers (T5)
        pass
    if gen(m64, src, max_new, use_cache=cached) != ids:
        return ids, False, None
    for seed in (1, 2):
        h = noisy(m32, seed)
        same = gen(m32, src, max_new, use_cache=cached) == ids
        h.remove()
        if not same:
            return ids, False, None
    margin = None
    if m32.generation_config.num_beams in (None, 1):
        gaps = []
        for row in rec.rows:  # the gap to the next lower score (forced ties are exact)
            row = row.double()
            top = row.max()
            rest = row[row < top]
            if len(rest) and torch.isfinite(rest.max()):
                gaps.append((top - rest.max()).item())
        margin = min(gaps) if gaps else float("inf")
    return ids, True, margin


def variants(own, cfg, eos, common, vocab):
    c = common + [t for t in range(3, vocab) if t not in common][:8]
    c1, c2, c3, c4, c5 = c[0], c[1], c[2], c[3], c[4]
    o = dict(own)
    if o.get("decoder_start_token_id", o.get("bos_token_id")) is None:
        o["decoder_start_token_id"] = 0  # T5 saved by transformers 5.25 has none: "own" fails

    def v(**kw):
        d = dict(o)
        d.update(kw)
        return d
    beam_cfg = dict(cfg)
    if beam_cfg.get("decoder_start_token_id", beam_cfg.get("bos_token_id")) is None:
        beam_cfg["decoder_start_token_id"] = 0
    beam_cfg.update(num_beams=4, length_penalty=2.0, early_stopping=True, no_repeat_ngram_size=2,
                    min_length=3, max_length=9, eos_token_id=[eos, c1])
    return [
        ("own", "generation_config", own, MAX_NEW),
        ("config_json", "config", cfg, MAX_NEW),
        ("config_json_beams", "config", beam_cfg, None),
        ("lengths", "generation_config", v(max_length=7, min_length=5, eos_token_id=[eos, c1]),
         None),
        ("min_new", "generation_config", v(min_new_tokens=3, eos_token_id=[eos, c1, c2]), MAX_NEW),
        ("ngram", "generation_config", v(no_repeat_ngram_size=2, repetition_penalty=1.7), MAX_NEW),
        ("ngram1", "generation_config", v(no_repeat_ngram_size=1, repetition_penalty=0.8), 6),
        ("enc_ngram", "generation_config",
         v(encoder_no_repeat_ngram_size=2, encoder_repetition_penalty=3.0), MAX_NEW),
        ("forced", "generation_config", v(forced_bos_token_id=c2, forced_eos_token_id=[eos, c3]), 6),
        ("suppress", "generation_config",
         v(suppress_tokens=[c1], begin_suppress_tokens=[c2, c3],
           bad_words_ids=[[c4], [c2, c3], [eos]]), MAX_NEW),
        ("misc", "generation_config",
         v(remove_invalid_values=True, renormalize_logits=True,
           exponential_decay_length_penalty=[2, 3.0], eos_token_id=[eos, c5]), MAX_NEW),
        ("beam4", "generation_config", v(num_beams=4, eos_token_id=[eos, c1]), MAX_NEW),
        ("beam_early", "generation_config",
         v(num_beams=3, early_stopping=True, length_penalty=2.0, no_repeat_ngram_size=3,
           eos_token_id=[eos, c1, c2]), MAX_NEW),
        ("beam_never", "generation_config",
         v(num_beams=5, early_stopping="never", length_penalty=0.6, min_length=4,
           eos_token_id=[eos, c2]), MAX_NEW),
        ("beam_forced", "generation_config",
         v(num_beams=4, forced_bos_token_id=c3, forced_eos_token_id=eos, repetition_penalty=1.2,
           suppress_tokens=[c4], max_length=8), None),
        ("beam_neg", "generation_config",
         v(num_beams=2, length_penalty=-1.0, eos_token_id=[eos, c1], renormalize_logits=True),
         MAX_NEW),
        ("sampling", "generation_config", v(do_sample=True), MAX_NEW),
    ]


def probe(m32, srcs, eos):
    """The tokens plain greedy decoding of srcs produces most, eos aside."""
    count = {}
    for s in srcs:
        for t in gen(m32, s, MAX_NEW, num_beams=1, forced_eos_token_id=None, use_cache=False,
                     no_repeat_ngram_size=0, encoder_no_repeat_ngram_size=0)[1:]:
            if t != eos:
                count[t] = count.get(t, 0) + 1
    return [t for t, _ in sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))][:5]


def make(fixture, seed):
    path = os.path.join(fg.FIXTURES, fixture)
    cfg = json.load(open(os.path.join(path, "config.json")))
    own = json.load(open(os.path.join(path, "generation_config.json")))
    base = load(path, torch.float32)
    c = base.config
    eos = c.eos_token_id if isinstance(c.eos_token_id, int) else c.eos_token_id[0]
    V = base.get_output_embeddings().weight.shape[0]
    vocab = min(c.vocab_size, V)
    avoid = {c.pad_token_id, eos, getattr(c, "bos_token_id", None),
             getattr(c, "decoder_start_token_id", None)}
    ok = [i for i in range(3, vocab) if i not in avoid]
    r = random.Random(seed)
    srcs = [[r.choice(ok) for _ in range(r.randint(4, 9))] for _ in range(TRIES)]
    start = own.get("decoder_start_token_id", own.get("bos_token_id"))
    common = probe(base, srcs[:6], eos) if start is not None else []
    if start is None:  # T5 saved by transformers 5.25: no start token, generate() refuses
        probe_dir = stage(fixture, "generation_config", dict(own, decoder_start_token_id=0))
        common = probe(load(probe_dir, torch.float32), srcs[:6], eos)
        shutil.rmtree(probe_dir)
    out = {"fixture": fixture, "source": fg.SOURCE, "variants": []}
    for name, kind, doc, max_new in variants(own, cfg, eos, common, vocab):
        if fixture in CACHED:  # no pad_token_id in the decoder's input (see CACHED)
            doc = dict(doc, suppress_tokens=sorted(set(doc.get("suppress_tokens") or []) |
                                                   {c.pad_token_id}))
        d = stage(fixture, kind, doc)
        m32, m64 = load(d, torch.float32), load(d, torch.float64)
        entry = {"name": name, "kind": kind, "config": doc, "max_new": max_new}
        cases = []
        try:
            if name == "sampling":
                raise ValueError("sampling is not reproduced")
            for s in srcs:
                ids, stable, margin = run_case(m32, m64, s, max_new, fixture in CACHED)
                if not stable:
                    continue
                case = {"src_ids": s, "ids": ids}
                if margin is not None:
                    case["min_margin"] = float("%.3g" % margin)
                cases.append(case)
                if len(cases) == CASES:
                    break
        except ValueError as e:
            entry["error"] = str(e).split("\n")[0][:200]
        shutil.rmtree(d)
        if "error" not in entry:
            assert cases, (fixture, name)
            entry["cases"] = cases
        out["variants"].append(entry)
        print("%s %s: %s" % (fixture, name, entry.get("error") or
                             " | ".join(" ".join(map(str, k["ids"])) for k in cases)))
    if fixture in LANG:
        out["lang_cases"] = lang_cases(fixture, base)
    g = json.load(open(os.path.join(fg.GOLDENS, fixture + ".json")))
    if "marian_pairs" in g:  # the sources of the text pairs, under the model's own settings
        out["text_cases"] = [{"source": p["source"], "src_ids": p["src_ids"],
                              "ids": gen(base, p["src_ids"], 6, use_cache=False)}
                             for p in g["marian_pairs"]]
    return out


def lang_cases(fixture, model):
    g = json.load(open(os.path.join(fg.GOLDENS, fixture + ".json")))
    out = []
    for p in g["lang_pairs"]:
        code = p["generate"][0] if LANG[fixture] == "start" else p["generate"][1]
        kw = {"decoder_start_token_id": code} if LANG[fixture] == "start" else \
            {"forced_bos_token_id": code}
        ids = gen(model, p["src_ids"], 6, use_cache=False, **kw)
        out.append({"src_lang": p["src_lang"], "tgt_lang": p["tgt_lang"], "source": p["source"],
                    "src_ids": p["src_ids"], LANG[fixture]: code, "ids": ids})
    return out


def main():
    torch.manual_seed(0)
    for k, fixture in enumerate(FIXTURES):
        if len(sys.argv) > 1 and fixture not in sys.argv[1:]:
            continue
        out = make(fixture, 100 + k)
        gpath = os.path.join(fg.GOLDENS, "gen-%s.json" % fixture)
        with open(gpath, "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
