"""Shared machinery of the encoder-decoder fixture scripts (tests/gen/fam_t5.py,
fam_bart.py, fam_marian.py), beside famgen.py (whose randomize() it uses).

Each fixture is a small random checkpoint made with transformers (config class,
from_config, save_pretrained) in tests/fixtures/s2s-<name>/, and its golden
tests/fixtures/goldens/s2s-<name>.json holds, per sentence, the source ids, the
decoder's input ids (its start token, then target tokens: teacher forcing) and
transformers' eager encoder_attentions, decoder_attentions and cross_attentions in
float64 (the fp32-loaded weights run in float64), with the tolerance 1e-5 or 1.25x
the error of transformers' own fp32 run (the house rule), the fp32 logits of the
decoder's last position when the model has an LM head, and the tokens of greedy
generation (generate(do_sample=False, num_beams=1, max_new_tokens=N)) for a few
sources, with the smallest margin between the best and second-best logit on the way.
tests/test_seq2seq.c checks every s2s-* golden. Nothing here is computed by mhaviz.
Deterministic (fixed seeds); overwrites its outputs.
"""

import json
import os
import random
import shutil

import torch
from transformers import GenerationConfig

import famgen as fg

# (source length, target length) of the teacher-forced sentences
SHAPES = [(1, 1), (6, 4), (13, 9)]
GEN_NEW = 8


def _run(model, src, tgt, padded=False):
    """padded: the encoder's maps are over its input padded at the end (BigBird-Pegasus's
    block-sparse attention pads to whole blocks); the real tokens' rows must give the padding
    exactly 0, and the (ns, ns) corner is kept."""
    x = torch.tensor([src], dtype=torch.long)
    y = torch.tensor([tgt], dtype=torch.long)
    with torch.no_grad():
        out = model(input_ids=x, attention_mask=torch.ones_like(x), decoder_input_ids=y, use_cache=False,
                    output_attentions=True)
    stacks = [torch.stack([a[0] for a in getattr(out, k)])
              for k in ("encoder_attentions", "decoder_attentions", "cross_attentions")]
    ns = len(src)
    if padded and stacks[0].shape[-1] > ns:
        assert stacks[0][..., :ns, ns:].abs().max().item() == 0.0, "padding attended"
        stacks[0] = stacks[0][..., :ns, :ns]
    assert not padded or stacks[0].shape[-2:] == (ns, ns), "maps %s" % (stacks[0].shape,)
    logits = out.logits[0, -1] if getattr(out, "logits", None) is not None else None
    return stacks, logits


def _greedy(model, src, start, eos, pad, n):
    gc = GenerationConfig(do_sample=False, num_beams=1, max_new_tokens=n,
                          decoder_start_token_id=start, eos_token_id=eos, pad_token_id=pad, use_cache=False)
    # plain greedy: no forced first/last tokens (BART's forced_eos_token_id), no penalties
    model.generation_config = gc
    for key in ("forced_eos_token_id", "forced_bos_token_id"):
        if hasattr(model.config, key):
            setattr(model.config, key, None)
    x = torch.tensor([src], dtype=torch.long)
    with torch.no_grad():
        out = model.generate(input_ids=x, attention_mask=torch.ones_like(x), generation_config=gc,
                             output_scores=True, return_dict_in_generate=True)
    ids = out.sequences[0].tolist()
    margin = min((s[0].topk(2).values[0] - s[0].topk(2).values[1]).item() for s in out.scores)
    if eos in ids[1:]:
        ids = ids[:ids.index(eos, 1) + 1]
    return ids, margin


def make(name, cls, config, seed, qk_std, note, dtype=torch.float32, post=None, gain=0.5,
         avoid_ids=(), dec_vocab=None, prepare=None, tokenizer=None, texts=(), shapes=None,
         gen_lengths=None, padded=False):
    """prepare(model): adjusts the loaded reference models (e.g. a config flag transformers
    sets wrongly on reload, named in the note). shapes: (source, target) lengths instead of
    SHAPES; gen_lengths: the generation sources' lengths; padded: see _run."""
    path = os.path.join(fg.FIXTURES, name)
    fg.reset_dir(path)
    torch.manual_seed(seed)
    model = fg.randomize(cls(config), seed, qk_std, gain=gain).eval().to(dtype)
    model.save_pretrained(path)
    if post:
        post(path)
    if tokenizer:  # a tokenizer.json of the repository's own fixtures, for the CLI tests
        shutil.copy(tokenizer, os.path.join(path, "tokenizer.json"))
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)
    ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    r64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    if prepare:
        prepare(ref)
        prepare(r64)
    r = random.Random(seed + 1)
    cfg = ref.config
    start = getattr(cfg, "decoder_start_token_id", None)
    if start is None:  # T5: the pad token, as its _shift_right and generation use
        start = getattr(getattr(ref, "generation_config", None), "decoder_start_token_id", None)
    if start is None:
        start = cfg.pad_token_id
    ok = [i for i in range(config.vocab_size) if i not in set(avoid_ids)]
    okd = [i for i in range(dec_vocab or config.vocab_size) if i not in set(avoid_ids)]
    items, worst = [], 0.0
    for ns, nt in shapes or SHAPES:
        src = [r.choice(ok) for _ in range(ns)]
        tgt = [start] + [r.choice(okd) for _ in range(nt - 1)]
        s32, l32 = _run(ref, src, tgt, padded)
        s64, _ = _run(r64, src, tgt, padded)
        for a, b in zip(s32, s64):
            worst = max(worst, (a.double() - b).abs().max().item())
        items.append((src, tgt, s64, l32))
    gens = []
    if hasattr(ref, "lm_head"):
        eos = cfg.eos_token_id if isinstance(cfg.eos_token_id, int) else cfg.eos_token_id[0]
        for n in gen_lengths or [5 + 3 * t for t in range(3)]:
            src = [r.choice(ok) for _ in range(n)]
            ids, margin = _greedy(ref, src, start, eos, cfg.pad_token_id, GEN_NEW)
            gens.append((src, ids, margin))
    # text pairs as the tokenizer encodes them: the source, and the decoder's input (its
    # start token, then tokenizer(text_target=target))
    pairs = []
    if texts:
        from tokenizers import Tokenizer
        tk = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        for a, b in texts:
            pairs.append({"source": a, "target": b, "src_ids": tk.encode(a).ids,
                          "tgt_ids": [start] + tk.encode(b).ids})
    tol = max(1e-5, 1.25 * worst)
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(fg.SOURCE),
             ' "class": %s,' % json.dumps(cls.__name__), ' "note": %s,' % json.dumps(note),
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol, ' "sentences": [']
    sents = []
    for src, tgt, stacks, logits in items:
        s = '  {"src_ids": %s,\n   "tgt_ids": %s' % (json.dumps(src), json.dumps(tgt))
        for key, att in zip(("encoder", "decoder", "cross"), stacks):
            s += ',\n   "%s": %s' % (key, fg._dump(att.tolist(), 4))
        if logits is not None:
            s += ',\n   "logits_last": %s' % fg._dump(logits.float().tolist(), 1)
        sents.append(s + "}")
    parts.append(",\n".join(sents))
    parts.append(" ],")
    if pairs:
        parts.append(' "text_pairs": %s,' % json.dumps(pairs, ensure_ascii=False))
    parts.append(' "generate": [%s]}' % ",\n  ".join(
        '{"src_ids": %s, "max_new": %d, "ids": %s, "min_margin": %.3g}' %
        (json.dumps(s), GEN_NEW, json.dumps(i), mg) for s, i, mg in gens))
    gpath = os.path.join(fg.GOLDENS, name + ".json")
    with open(gpath, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")
    json.load(open(gpath))
    print("%s: %s, fp32 vs fp64 %.2g, tolerance %.2g, generation margins %s" %
          (name, cls.__name__, worst, tol, ", ".join("%.2g" % g[2] for g in gens)))
    return tol
