#!/usr/bin/env python3
"""mBART with its tokenizer and language codes (tests/fixtures/s2s-mbart-lang): a SentencePiece
unigram model trained here, turned into MBartTokenizer's tokenizer.json by transformers
(AutoTokenizer on sentencepiece.bpe.model with tokenizer_class MBartTokenizer, src_lang
en_XX, tgt_lang ro_RO, then save_pretrained), and a small random
MBartForConditionalGeneration of that vocabulary (decoder_start_token_id ro_RO). See
s2sgen.py for the id sentences and greedy generations of the golden.

The golden tests/fixtures/goldens/s2s-mbart-lang.json gains "lang_pairs": for each
(src_lang, tgt_lang), the source as MBartTokenizer encodes it (TEXT </s> src_lang), the
decoder's input as the model sees it in training, shift_tokens_right(labels) of
tokenizer(text_target=...) (tgt_lang TEXT </s>), and greedy generation started from the
target language code (generate(decoder_start_token_id=tgt_lang), as mBART-cc25 translates).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_mbart_lang.py
"""
import json
import os
import shutil
import sys
import tempfile

import sentencepiece as spm
import torch
from transformers import AutoTokenizer, MBartConfig, MBartForConditionalGeneration
from transformers.models.mbart.modeling_mbart import shift_tokens_right

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
import s2sgen as sg  # noqa: E402

NAME = "s2s-mbart-lang"
CORPUS = """The cat sat on the mat.
Hello world, how are you today?
A small model translates short sentences.
Die Katze sass auf der Matte.
Hallo Welt, wie geht es dir heute?
Ein kleines Modell uebersetzt kurze Saetze.
Pisica statea pe covor.
Salut lume, ce mai faci astazi?
Un model mic traduce propozitii scurte.
The weather is nice and the sun is shining.
Das Wetter ist schoen und die Sonne scheint.
Vremea este frumoasa si soarele straluceste.
"""
PAIRS = [("en_XX", "ro_RO", "The cat sat on the mat.", "Pisica statea pe covor."),
         ("de_DE", "en_XX", "Hallo Welt", "Hello world"),
         ("en_XX", "de_DE", "A small model.", "Ein kleines Modell.")]


def train_tokenizer(work):
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS.strip().split("\n")), model_prefix=os.path.join(work, "m"),
        vocab_size=100, model_type="unigram", character_coverage=1.0, num_threads=1,
        normalization_rule_name="nmt_nfkc", unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        minloglevel=2)
    d = os.path.join(work, "tok")
    os.makedirs(d)
    shutil.copy(os.path.join(work, "m.model"), os.path.join(d, "sentencepiece.bpe.model"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "MBartTokenizer", "src_lang": "en_XX",
                   "tgt_lang": "ro_RO"}, f)
    tok = AutoTokenizer.from_pretrained(d)
    out = os.path.join(work, "saved")
    tok.save_pretrained(out)
    return tok, out


def main():
    work = tempfile.mkdtemp(prefix="mbart-lang.")
    tok, saved = train_tokenizer(work)
    ro = tok.convert_tokens_to_ids("ro_RO")
    cfg = MBartConfig(vocab_size=len(tok), d_model=32, encoder_layers=2, decoder_layers=2,
                      encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48,
                      decoder_ffn_dim=48, max_position_embeddings=40, pad_token_id=1,
                      bos_token_id=0, eos_token_id=2, decoder_start_token_id=ro,
                      scale_embedding=True)
    sg.make(NAME, MBartForConditionalGeneration, cfg, seed=44, qk_std=0.35, avoid_ids=(1,),
            tokenizer=os.path.join(saved, "tokenizer.json"),
            note="MBartForConditionalGeneration with MBartTokenizer's tokenizer.json (language "
                 "codes), decoder_start_token_id ro_RO")
    path = os.path.join(fg.FIXTURES, NAME)
    shutil.copy(os.path.join(saved, "tokenizer_config.json"), path)
    os.chmod(os.path.join(path, "tokenizer_config.json"), 0o644)
    model = MBartForConditionalGeneration.from_pretrained(path, attn_implementation="eager").eval()
    model.generation_config.forced_eos_token_id = None
    model.config.forced_eos_token_id = None
    pairs = []
    for src_lang, tgt_lang, src, tgt in PAIRS:
        tok.src_lang, tok.tgt_lang = src_lang, tgt_lang
        enc = tok(src, text_target=tgt, return_tensors="pt")
        dec = shift_tokens_right(enc["labels"], cfg.pad_token_id)
        code = tok.convert_tokens_to_ids(tgt_lang)
        with torch.no_grad():
            gen = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                 decoder_start_token_id=code, do_sample=False, num_beams=1,
                                 max_new_tokens=6, eos_token_id=2, pad_token_id=1,
                                 use_cache=False)
        ids = gen[0].tolist()
        if 2 in ids[1:]:
            ids = ids[:ids.index(2, 1) + 1]
        pairs.append({"src_lang": src_lang, "tgt_lang": tgt_lang, "source": src, "target": tgt,
                      "src_ids": enc["input_ids"][0].tolist(), "tgt_ids": dec[0].tolist(),
                      "generate": ids})
    gpath = os.path.join(fg.GOLDENS, NAME + ".json")
    text = open(gpath, encoding="utf-8").read().rstrip()
    assert text.endswith("}")
    text = text[:-1] + ',\n "lang_pairs": %s}\n' % json.dumps(pairs, ensure_ascii=False)
    with open(gpath, "w", encoding="utf-8") as f:
        f.write(text)
    json.load(open(gpath))
    shutil.rmtree(work)
    for p in pairs:
        print(p["src_lang"], p["tgt_lang"], p["src_ids"], p["tgt_ids"], p["generate"])


if __name__ == "__main__":
    main()
