#!/usr/bin/env python3
"""mBART-50 with its tokenizer and language codes (tests/fixtures/s2s-mbart50-f32) and golden.

Tokenizer: a SentencePiece unigram model trained here on fam_mbart_lang.py's corpus, handed to
transformers' MBart50TokenizerFast (its pieces with the fairseq ids, the 52 language codes and
<mask> after them, src_lang en_XX, tgt_lang ro_RO) and saved with save_pretrained, so that
tokenizer.json (template "en_XX $A </s>") and tokenizer_config.json are laid out as the hub's
mBART-50 checkpoints ship them. Model: a small random MBartForConditionalGeneration over that
vocabulary, configured as facebook/mbart-large-50's (decoder_start_token_id 2 = </s>,
forced_eos_token_id 2, scale_embedding, GELU); s2sgen.py makes the golden of id sentences.

The golden gains "lang_pairs": for each (src_lang, tgt_lang),
  src_ids   the source as MBart50TokenizerFast encodes it (src_lang TEXT </s>)
  shifted   the decoder's input transformers trains with: shift_tokens_right(labels) of
            tokenizer(text_target=...) (labels tgt_lang TEXT </s>, so </s> tgt_lang TEXT)
  tgt_ids   the decoder's input as mhaviz gives a whole target: decoder_start_token_id, then
            the labels (shifted and one more token, the labels' </s>; asserted below)
  generate  greedy generation with the target's code forced after the start
            (generate(forced_bos_token_id=tgt_lang), as mBART-50 translates)
  encoder, decoder, cross   eager attentions (output_attentions=True) of src_ids -> tgt_ids in
            float64, within "lang_tolerance" of transformers' own fp32 run

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_mbart50.py
"""
import json
import os
import shutil
import sys
import tempfile

import sentencepiece as spm
import torch
from tokenizers.models import Unigram
from transformers import (AutoTokenizer, MBart50TokenizerFast, MBartConfig,
                          MBartForConditionalGeneration)
from transformers.convert_slow_tokenizer import SentencePieceExtractor
from transformers.models.mbart.modeling_mbart import shift_tokens_right

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
import fam_mbart_lang as ml  # noqa: E402
import s2sgen as sg  # noqa: E402

NAME = "s2s-mbart50-f32"
PAIRS = [("en_XX", "ro_RO", "The cat sat on the mat.", "Pisica statea pe covor."),
         ("de_DE", "en_XX", "Hallo Welt", "Hello world"),
         ("ro_RO", "de_DE", "Un model mic.", "Ein kleines Modell."),
         ("en_XX", "zh_CN", "Hello world, how are you?", "Hallo Welt")]


def make_tokenizer(work):
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(ml.CORPUS.strip().split("\n")), model_prefix=os.path.join(work, "m"),
        vocab_size=100, model_type="unigram", character_coverage=1.0, num_threads=1,
        normalization_rule_name="nmt_nfkc", unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        minloglevel=2)
    kw = SentencePieceExtractor(os.path.join(work, "m.model")).extract(Unigram)
    tok = MBart50TokenizerFast(vocab=kw["vocab"],
                               _spm_precompiled_charsmap=kw["_spm_precompiled_charsmap"],
                               src_lang="en_XX", tgt_lang="ro_RO")
    out = os.path.join(work, "saved")
    tok.save_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert type(tok).__name__ == "MBart50Tokenizer", type(tok)
    assert tok("x")["input_ids"][0] == tok.convert_tokens_to_ids("en_XX")
    return tok, out


def stacks(model, src, tgt):
    with torch.no_grad():
        out = model(input_ids=torch.tensor([src]), decoder_input_ids=torch.tensor([tgt]),
                    use_cache=False, output_attentions=True)
    return [torch.stack([a[0] for a in getattr(out, k)])
            for k in ("encoder_attentions", "decoder_attentions", "cross_attentions")]


def lang_pairs(tok, model, m64, cfg):
    start = cfg.decoder_start_token_id
    pairs, worst = [], 0.0
    for src_lang, tgt_lang, src, tgt in PAIRS:
        tok.src_lang, tok.tgt_lang = src_lang, tgt_lang
        enc = tok(src, text_target=tgt, return_tensors="pt")
        code = tok.convert_tokens_to_ids(tgt_lang)
        labels = enc["labels"][0].tolist()
        assert labels[0] == code and labels[-1] == cfg.eos_token_id
        shifted = shift_tokens_right(enc["labels"], cfg.pad_token_id)[0].tolist()
        tgt_ids = [start] + labels
        assert shifted == tgt_ids[:-1], (shifted, tgt_ids)
        with torch.no_grad():
            gen = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                 decoder_start_token_id=start, forced_bos_token_id=code,
                                 forced_eos_token_id=None, do_sample=False, num_beams=1,
                                 max_new_tokens=6, eos_token_id=2, pad_token_id=1,
                                 use_cache=False)
        ids = gen[0].tolist()
        assert ids[:2] == [start, code]
        if 2 in ids[1:]:
            ids = ids[:ids.index(2, 1) + 1]
        src_ids = enc["input_ids"][0].tolist()
        s64 = stacks(m64, src_ids, tgt_ids)
        for a, b in zip(stacks(model, src_ids, tgt_ids), s64):
            worst = max(worst, (a.double() - b).abs().max().item())
        p = {"src_lang": src_lang, "tgt_lang": tgt_lang, "source": src, "target": tgt,
             "src_ids": src_ids, "shifted": shifted, "tgt_ids": tgt_ids, "generate": ids}
        for key, att in zip(("encoder", "decoder", "cross"), s64):
            p[key] = json.loads(fg._dump(att.tolist(), 4))
        pairs.append(p)
    return pairs, max(1e-5, 1.25 * worst)


def main():
    work = tempfile.mkdtemp(prefix="mbart50.")
    tok, saved = make_tokenizer(work)
    cfg = MBartConfig(vocab_size=len(tok), d_model=32, encoder_layers=2, decoder_layers=2,
                      encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48,
                      decoder_ffn_dim=40, max_position_embeddings=40, pad_token_id=1,
                      bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
                      forced_eos_token_id=2, scale_embedding=True, activation_function="gelu")

    def add_tokenizer(path):
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(saved, f), os.path.join(path, f))

    sg.make(NAME, MBartForConditionalGeneration, cfg, seed=91, qk_std=0.35, avoid_ids=(1,),
            post=add_tokenizer,
            note="MBartForConditionalGeneration with MBart50TokenizerFast's tokenizer.json "
                 "(language codes first), decoder_start_token_id </s>")
    path = os.path.join(fg.FIXTURES, NAME)
    model = MBartForConditionalGeneration.from_pretrained(
        path, dtype=torch.float32, attn_implementation="eager").eval()
    m64 = MBartForConditionalGeneration.from_pretrained(
        path, dtype=torch.float64, attn_implementation="eager").eval()
    pairs, tol = lang_pairs(tok, model, m64, cfg)
    gpath = os.path.join(fg.GOLDENS, NAME + ".json")
    text = open(gpath, encoding="utf-8").read().rstrip()
    assert text.endswith("}")
    text = text[:-1] + ',\n "lang_tolerance": %.3g,\n "lang_pairs": [\n  %s]}\n' % (
        tol, ",\n  ".join(json.dumps(p, ensure_ascii=False) for p in pairs))
    with open(gpath, "w", encoding="utf-8") as f:
        f.write(text)
    json.load(open(gpath))
    print("lang pairs: tolerance %.3g" % tol)
    for p in pairs:
        print(p["src_lang"], p["tgt_lang"], p["src_ids"], p["tgt_ids"], p["generate"])
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
