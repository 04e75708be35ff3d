#!/usr/bin/env python3
"""M2M100 / NLLB fixtures (tests/fixtures/s2s-nllb-f32, s2s-m2m100-model-bf16) and goldens.

Tokenizer: a SentencePiece BPE model trained here on fam_mbart_lang.py's corpus, laid out as
NLLB's fairseq ids are (<s> <pad> </s> <unk>, then the pieces one up) and handed to
transformers' NllbTokenizer (vocab, merges and the model's charsmap; its 202 language codes
and <mask> added by transformers, src_lang eng_Latn, tgt_lang fra_Latn), saved with
save_pretrained: tokenizer.json's template puts the source's code first, "eng_Latn $A </s>".
(AutoTokenizer on sentencepiece.bpe.model itself loses the codes in transformers 5.25.)

  s2s-nllb-f32           M2M100ForConditionalGeneration over the tokenizer's vocabulary (pre-LN,
                         final layer norms, sinusoidal positions from pad_token_id + 1,
                         scale_embedding, ReLU, tied LM head), with tokenizer.json and
                         tokenizer_config.json
  s2s-m2m100-model-bf16  M2M100Model (no LM head), d_model 33 (an odd width: the sinusoid's
                         zero column), no scale_embedding, a 12-token vocabulary so that the
                         padding id 1 turns up inside the sentences (its position row is zero
                         and the rows after it count only the other tokens), BF16

s2sgen.py makes both goldens (teacher-forced ids, plain greedy generation from
decoder_start_token_id); the NLLB golden gains "lang_pairs": for each (src_lang, tgt_lang),
the source as NllbTokenizer encodes it (src_lang TEXT </s>), the decoder's input as mhaviz
builds it from transformers' pieces (decoder_start_token_id, then tokenizer(text_target=...):
tgt_lang TEXT </s>), and greedy generation with the target's code forced after the start
(generate(forced_bos_token_id=tgt_lang), as NLLB translates).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_nllb.py
"""
import json
import os
import shutil
import sys
import tempfile

import sentencepiece as spm
import torch
from tokenizers.models import BPE
from transformers import (AutoTokenizer, M2M100Config, M2M100ForConditionalGeneration,
                          M2M100Model, NllbTokenizer)
from transformers.convert_slow_tokenizer import SentencePieceExtractor, generate_merges

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
import fam_mbart_lang as ml  # noqa: E402
import s2sgen as sg  # noqa: E402

NAME = "s2s-nllb-f32"
PAIRS = [("eng_Latn", "fra_Latn", "The cat sat on the mat.", "Le chat est sur le tapis."),
         ("deu_Latn", "eng_Latn", "Hallo Welt", "Hello world"),
         ("ron_Latn", "deu_Latn", "Un model mic.", "Ein kleines Modell.")]


def make_tokenizer(work):
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(ml.CORPUS.strip().split("\n")), model_prefix=os.path.join(work, "m"),
        vocab_size=120, model_type="bpe", character_coverage=1.0, num_threads=1,
        normalization_rule_name="nmt_nfkc", unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        minloglevel=2)
    kw = SentencePieceExtractor(os.path.join(work, "m.model")).extract(BPE)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}  # NllbTokenizer's fairseq ids
    for piece, i in kw["vocab"].items():
        if i >= 3:
            vocab[piece] = i + 1
    tok = NllbTokenizer(vocab=vocab, merges=generate_merges(vocab),
                        _spm_precompiled_charsmap=kw["_spm_precompiled_charsmap"],
                        src_lang="eng_Latn", tgt_lang="fra_Latn")
    out = os.path.join(work, "saved")
    tok.save_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert tok("x")["input_ids"][0] == tok.convert_tokens_to_ids("eng_Latn")
    return tok, out


def lang_pairs(tok, model, start):
    pairs = []
    for src_lang, tgt_lang, src, tgt in PAIRS:
        tok.src_lang, tok.tgt_lang = src_lang, tgt_lang
        enc = tok(src, text_target=tgt, return_tensors="pt")
        code = tok.convert_tokens_to_ids(tgt_lang)
        with torch.no_grad():
            gen = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                 decoder_start_token_id=start, forced_bos_token_id=code,
                                 do_sample=False, num_beams=1, max_new_tokens=6, eos_token_id=2,
                                 pad_token_id=1, use_cache=False)
        ids = gen[0].tolist()
        assert ids[:2] == [start, code]
        if 2 in ids[1:]:
            ids = ids[:ids.index(2, 1) + 1]
        pairs.append({"src_lang": src_lang, "tgt_lang": tgt_lang, "source": src, "target": tgt,
                      "src_ids": enc["input_ids"][0].tolist(),
                      "tgt_ids": [start] + enc["labels"][0].tolist(), "generate": ids})
    return pairs


def main():
    work = tempfile.mkdtemp(prefix="nllb.")
    tok, saved = make_tokenizer(work)
    cfg = M2M100Config(vocab_size=len(tok), d_model=32, encoder_layers=2, decoder_layers=2,
                       encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48,
                       decoder_ffn_dim=40, max_position_embeddings=40, pad_token_id=1,
                       bos_token_id=0, eos_token_id=2, decoder_start_token_id=2)

    def add_tokenizer(path):
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(saved, f), os.path.join(path, f))

    sg.make(NAME, M2M100ForConditionalGeneration, cfg, seed=71, qk_std=0.35, avoid_ids=(1,),
            post=add_tokenizer,
            note="M2M100ForConditionalGeneration with NllbTokenizer's tokenizer.json (language "
                 "codes first), scale_embedding, ReLU, tied LM head")
    path = os.path.join(fg.FIXTURES, NAME)
    model = M2M100ForConditionalGeneration.from_pretrained(path, attn_implementation="eager").eval()
    model.generation_config.forced_eos_token_id = None
    pairs = lang_pairs(tok, model, cfg.decoder_start_token_id)
    gpath = os.path.join(fg.GOLDENS, NAME + ".json")
    text = open(gpath, encoding="utf-8").read().rstrip()
    assert text.endswith("}")
    text = text[:-1] + ',\n "lang_pairs": %s}\n' % json.dumps(pairs, ensure_ascii=False)
    with open(gpath, "w", encoding="utf-8") as f:
        f.write(text)
    json.load(open(gpath))
    for p in pairs:
        print(p["src_lang"], p["tgt_lang"], p["src_ids"], p["tgt_ids"], p["generate"])

    base = M2M100Config(vocab_size=12, d_model=33, encoder_layers=2, decoder_layers=2,
                        encoder_attention_heads=3, decoder_attention_heads=3, encoder_ffn_dim=40,
                        decoder_ffn_dim=40, max_position_embeddings=40, pad_token_id=1,
                        scale_embedding=False, activation_function="gelu")
    sg.make("s2s-m2m100-model-bf16", M2M100Model, base, seed=72, qk_std=0.35,
            dtype=torch.bfloat16,
            note="M2M100Model (no LM head), d_model 33 (a zero sinusoid column), no "
                 "scale_embedding, GELU, padding ids inside the sentences, BF16")
    g = json.load(open(os.path.join(fg.GOLDENS, "s2s-m2m100-model-bf16.json")))
    assert any(1 in s["src_ids"][:-1] for s in g["sentences"]), "no padding id inside a source"
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
