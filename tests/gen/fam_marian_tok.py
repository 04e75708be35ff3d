#!/usr/bin/env python3
"""Marian with its own tokenizer files (tests/fixtures/s2s-marian-tok): two SentencePiece
unigram models trained here (English source.spm, German target.spm), separate vocabularies
(vocab.json of the source's pieces, target_vocab.json of the target's, as Marian's
converter lays them out: </s> 0, <unk> 1, the pieces, <pad> last), saved by transformers'
MarianTokenizer(separate_vocabs=True), and a small random MarianMTModel with
share_encoder_decoder_embeddings false. Two entries test the id mapping: one source piece
is left out of vocab.json (MarianTokenizer gives it <unk>'s id) and one target-only piece is
put in (never produced from the source). See s2sgen.py for the id sentences and greedy
generations of the golden.

The golden tests/fixtures/goldens/s2s-marian-tok.json gains "marian_pairs": for text pairs,
the source ids and tokens of tokenizer(source), the decoder's input (the start token, then
tokenizer(text_target=target)'s ids: mhaviz's teacher forcing, the target's </s> included)
and its tokens in the target vocabulary, and the ids of greedy generation from the source.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_marian_tok.py
"""
import json
import os
import shutil
import sys
import tempfile

import sentencepiece as spm
import torch
from transformers import MarianConfig, MarianMTModel, MarianTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
import s2sgen as sg  # noqa: E402

NAME = "s2s-marian-tok"
EN = """The cat sat on the mat.
Hello world, how are you today?
A small model translates short sentences.
The weather is nice and the sun is shining.
We read books in the evening.
My brother plays football with his friends.
"""
DE = """Die Katze sass auf der Matte.
Hallo Welt, wie geht es dir heute?
Ein kleines Modell uebersetzt kurze Saetze.
Das Wetter ist schoen und die Sonne scheint.
Wir lesen am Abend Buecher.
Mein Bruder spielt Fussball mit seinen Freunden.
"""
PAIRS = [("The cat sat on the mat.", "Die Katze sass auf der Matte."),
         ("Hello   world", "Hallo Welt"),
         ("We read books, my friends!", "Wir lesen Buecher.")]


def train(work, name, text, size):
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text.strip().split("\n")), model_prefix=os.path.join(work, name),
        vocab_size=size, model_type="unigram", character_coverage=1.0, num_threads=1,
        normalization_rule_name="nmt_nfkc", minloglevel=2)
    p = spm.SentencePieceProcessor(model_file=os.path.join(work, name + ".model"))
    return os.path.join(work, name + ".model"), [p.id_to_piece(i) for i in range(p.get_piece_size())]


def vocab(pieces, drop=(), extra=()):
    v = {"</s>": 0, "<unk>": 1}
    for p in list(pieces) + list(extra):
        if p not in v and p not in ("<s>",) and p not in drop:
            v[p] = len(v)
    v["<pad>"] = len(v)
    return v


def main():
    work = tempfile.mkdtemp(prefix="marian-tok.")
    src_spm, src_pieces = train(work, "source", EN, 60)
    tgt_spm, tgt_pieces = train(work, "target", DE, 60)
    only_target = next(p for p in tgt_pieces if p not in src_pieces and len(p) >= 2)
    # a piece of the first source sentence, so that its encoding meets <unk>
    first = spm.SentencePieceProcessor(model_file=src_spm).encode(PAIRS[0][0], out_type=str)
    dropped = next(p for p in first if len(p) >= 2 and not p.startswith("\u2581"))
    sv = vocab(src_pieces, drop=(dropped,), extra=(only_target,))
    tv = vocab(tgt_pieces)
    for name, v in (("vocab.json", sv), ("target_vocab.json", tv)):
        with open(os.path.join(work, name), "w", encoding="utf-8") as f:
            json.dump(v, f, ensure_ascii=False)
    tok = MarianTokenizer(src_spm, tgt_spm, os.path.join(work, "vocab.json"),
                          target_vocab_file=os.path.join(work, "target_vocab.json"),
                          separate_vocabs=True, source_lang="en", target_lang="de")
    pad = tv["<pad>"]
    cfg = MarianConfig(vocab_size=len(sv), decoder_vocab_size=len(tv), d_model=32,
                       encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                       decoder_attention_heads=4, encoder_ffn_dim=48, decoder_ffn_dim=48,
                       max_position_embeddings=48, pad_token_id=pad, decoder_start_token_id=pad,
                       eos_token_id=0, scale_embedding=True, share_encoder_decoder_embeddings=False)
    sg.make(NAME, MarianMTModel, cfg, seed=54, qk_std=0.35, avoid_ids=(pad,), dec_vocab=len(tv),
            note="MarianMTModel with MarianTokenizer's files: source.spm, target.spm, "
                 "vocab.json, target_vocab.json (separate_vocabs)")
    path = os.path.join(fg.FIXTURES, NAME)
    tok.save_pretrained(work + "/saved")
    for f in os.listdir(work + "/saved"):
        shutil.copy(os.path.join(work, "saved", f), path)
        os.chmod(os.path.join(path, f), 0o644)
    tok = MarianTokenizer.from_pretrained(path)
    model = MarianMTModel.from_pretrained(path, attn_implementation="eager").eval()
    # plain greedy, as mhaviz --generate: no forced end token at the length limit
    model.generation_config.forced_eos_token_id = None
    model.config.forced_eos_token_id = None
    pairs = []
    for src, tgt in PAIRS:
        enc = tok(src, text_target=tgt)
        x = torch.tensor([enc["input_ids"]])
        with torch.no_grad():
            gen = model.generate(input_ids=x, attention_mask=torch.ones_like(x), do_sample=False,
                                 num_beams=1, max_new_tokens=6, decoder_start_token_id=pad,
                                 eos_token_id=0, pad_token_id=pad, use_cache=False)
        ids = gen[0].tolist()
        if 0 in ids[1:]:
            ids = ids[:ids.index(0, 1) + 1]
        dec = [pad] + enc["labels"]
        pairs.append({"source": src, "target": tgt, "src_ids": enc["input_ids"],
                      "src_tokens": [{i: p for p, i in sv.items()}[i] for i in enc["input_ids"]],
                      "tgt_ids": dec, "tgt_tokens": [{i: p for p, i in tv.items()}[i] for i in dec],
                      "generate": ids})
    assert any(sv["<unk>"] in p["src_ids"] for p in pairs), "no source piece mapped to <unk>"
    gpath = os.path.join(fg.GOLDENS, NAME + ".json")
    text = open(gpath, encoding="utf-8").read().rstrip()
    text = text[:-1] + ',\n "marian_pairs": %s}\n' % json.dumps(pairs, ensure_ascii=False)
    with open(gpath, "w", encoding="utf-8") as f:
        f.write(text)
    json.load(open(gpath))
    shutil.rmtree(work)
    print("dropped %r, target-only %r" % (dropped, only_target))
    for p in pairs:
        print(p["src_tokens"], p["src_ids"], p["tgt_ids"], p["generate"])


if __name__ == "__main__":
    main()
