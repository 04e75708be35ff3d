#!/usr/bin/env python3
"""M2M100Tokenizer fixtures (M2M100 checkpoints ship no tokenizer.json: sentencepiece.bpe.model,
vocab.json, tokenizer_config.json, special_tokens_map.json), made here, and their goldens from
transformers' own M2M100Tokenizer (a Python tokenizer calling sentencepiece).

  tests/fixtures/tok-m2m100/           a SentencePiece BPE model trained here (nmt_nfkc rules,
      the hub's layout: <s> <pad> </s> <unk> at 0..3), vocab.json as fairseq dictionaries are
      (<s> <pad> </s> <unk>, then the pieces in another order than the model's, every ninth
      left out so that the class maps it to <unk>), and tokenizer_config*.json /
      special_tokens_map*.json variants:
        ""        the hub's files (no additional_special_tokens: __en__ in a text is not a token)
        "-codes"  special_tokens_map.json lists the language codes (they are cut out of the
                  text), src_lang fr
        "-saved"  what save_pretrained writes of "-codes" (added_tokens_decoder, added_tokens.json)
        "-wmt21"  language_codes wmt21, src_lang de
        "-nobos"  bos_token and pad_token null (<s> and <pad> in a text are text)
  tests/fixtures/tok-m2m100-identity/  a BPE model without a charsmap, remove_extra_whitespaces
      and add_dummy_prefix off
  tests/fixtures/tok-m2m100-rules/  a BPE model with a few normalization rules of our own (one
      longer than another: SentencePiece takes the longest) and user-defined pieces
  tests/fixtures/tok-m2m100-bytes/  a BPE model with byte fallback (identity rules)
  tests/fixtures/tok-m2m100-unused/  the same model with 40 merged pieces marked unused (split
      back into the pieces that made them)
  tests/fixtures/tok-goldens-m2m100<variant>.json: per sentence (English, Chinese, accents,
      digits, whitespace runs, emoji, unknown characters, very long words, empty and blank
      texts, language-code-looking text) input_ids and convert_ids_to_tokens of
      M2M100Tokenizer.from_pretrained, and tokenizer(a, b) for pairs
  tests/fixtures/s2s-m2m100-spm-f32 (+ goldens/s2s-m2m100-spm-f32.json) an
      M2M100ForConditionalGeneration over tok-m2m100's vocabulary with the tokenizer files;
      "lang_pairs": the source as M2M100Tokenizer encodes it (src_lang code, text, </s>), the
      decoder's input (decoder_start_token_id, then tokenizer(text_target=...): tgt_lang code,
      text, </s>) and greedy generation with the target's code forced after the start
  tests/fuzz/corpus/m2m100/: seeds of tests/fuzz/fuzz_m2m100.c

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/gen_tok_m2m100.py
Deterministic (fixed seeds, single-threaded training)."""
import json
import os
import random
import shutil
import sys
import tempfile

import sentencepiece as spm
import torch
from transformers import (AutoTokenizer, M2M100Config, M2M100ForConditionalGeneration,
                          M2M100Tokenizer)
from transformers.models.m2m_100.tokenization_m2m_100 import FAIRSEQ_LANGUAGE_CODES

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
import gen_tok_families as gf  # noqa: E402
import s2sgen as sg  # noqa: E402

FIX = gf.FIX
FUZZ = os.path.normpath(os.path.join(FIX, "..", "fuzz", "corpus", "m2m100"))

# text written here for the model (the families' corpus adds English, Chinese, digits, emoji)
EXTRA = """Le chat est assis sur le tapis, et le chien dort.
Der schnelle braune Fuchs springt über den faulen Hund.
El niño comió la manzana. ¿Dónde está la biblioteca?
Ça coûte 12,50 € — très cher ! Naïve façade, crème brûlée, Zürich.
我们今天去公园散步，天气很好。  明天下雨。
Numbers: 1 22 333 4444 55555 3.14 2024-06-01
tabs\tand   runs    of     spaces
ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ① ② ½ ™"""

HUB_CONFIG = {"src_lang": None, "tgt_lang": None, "bos_token": "<s>", "eos_token": "</s>",
              "sep_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
              "language_codes": "m2m100", "num_madeup_words": 8, "model_max_length": 1024,
              "special_tokens_map_file": "m2m_100_1.2B_v2/special_tokens_map.json",
              "tokenizer_file": None, "name_or_path": "m2m_100_1.2B_v2",
              "tokenizer_class": "M2M100Tokenizer"}
HUB_MAP = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
           "pad_token": "<pad>"}
CODES = ["__%s__" % c for c in FAIRSEQ_LANGUAGE_CODES["m2m100"]]


RULES = {"71 71": "51", "71": "6B", "FB01": "66 69", "2460": "31", "9": "20", "A": "20",
         "3000": "20", "24DC": "6D", "65 301": "E9", "200B": "20 20"}


def train(name, rule, **extra):
    # a fixed directory: the .model records its prefix path
    d = os.path.join(tempfile.gettempdir(), "mhv-m2m-gen", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    lines = gf.corpus() + EXTRA.split("\n") * 20
    args = dict(sentence_iterator=iter(lines), model_prefix=os.path.join(d, "m"),
                vocab_size=600, model_type="bpe", character_coverage=0.9995, num_threads=1,
                shuffle_input_sentence=False, unk_id=3, bos_id=0, eos_id=2, pad_id=1,
                minloglevel=2)
    if rule == "rules":  # a few rules of our own: a small charsmap, one rule longer than another
        with open(os.path.join(d, "rules.tsv"), "w") as f:
            for k, v in RULES.items():
                f.write(f"{k}\t{v}\n")
        args["normalization_rule_tsv"] = os.path.join(d, "rules.tsv")
    else:
        args["normalization_rule_name"] = rule
    args.update(extra)
    spm.SentencePieceTrainer.train(**args)
    return os.path.join(d, "m.model")


def fairseq_vocab(model_file, seed):
    """<s> <pad> </s> <unk>, then the model's other pieces shuffled, every ninth left out."""
    sp = spm.SentencePieceProcessor(model_file=model_file)
    pieces = [sp.id_to_piece(i) for i in range(4, sp.get_piece_size())]
    random.Random(seed).shuffle(pieces)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for i, p in enumerate(pieces):
        if i % 9 != 4:
            vocab[p] = len(vocab)
    return vocab


def sentences():
    long_word = "Pneumonoultramicroscopicsilicovolcanoconiosis"
    return gf.sentences() + [
        "", " ", "   ", "\t", "\n\n", " \t \n ", "a", " a ", "a  b", "a\u3000b",
        "__en__", "__en__ Hello", "Hello __fr__ world", "x__zu__y", "__EN__ __xx__ ___en___",
        "____en____", "__en____fr__", "<s>a</s>b<unk>c<pad>", "</s></s>", "<s> </s>",
        "emoji 😀🤗👍🏽 only", "😀", "🤗🤗🤗", "\U0001F600x\U0001F917", "☃ ☄ ♞ ⚽ ⛄",
        "\u0e01\u0e02 \u10d0\u10d1 \u1200\u1201", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛", "\u200b\u200c\u200d",
        long_word, long_word * 4, "z" * 500, "我" * 200, "ab" * 200 + " " + "cd" * 200,
        "Le chat est assis sur le tapis.", "¿Dónde está la biblioteca?", "Ça coûte 12,50 €",
        "tabs\tand   runs    of     spaces", "trailing   ", "   leading", "ﬁﬂ ＡＢＣ ①②③ ½",
        "x\u0301\u0302 e\u0301 E\u0301", "a\r\nb\rc", "$%^&*()_+-=[]{}|;':\",./<>?",
        "1 22 333 4444 55555 666666 3.14159",
        "qq q qqq aqqb Qq", "ⓜⓗ ⓜ ⓗⓜⓗⓜ", "Hello<sep>world 12 123 1212", "HelloHello",
        "x\u200by \u200b", "①② ﬁ\tﬁ", "<sep><sep> <sep>",
    ] + random_texts()


def random_texts(n=150):
    """Seeded random strings of letters, digits, punctuation, whitespace of several kinds,
    accents and combining marks, NFKC-folded forms, CJK, emoji, specials and codes."""
    r = random.Random(3)
    pool = list("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 .,!?'\"-_<>/") + [
        "  ", "\t", "\n", "\u3000", "\u00a0", "é", "ü", "ß", "ﬁ", "①", "Ａ", "我", "们",
        "😀", "🤗", "\u0301", "\u200b", "__en__", "__fr__", "</s>", "<s>", "<unk>", "\u2581",
        "ǅ", "İ", "ﾊ", "ｶ"]
    return ["".join(r.choice(pool) for _ in range(r.randint(1, 40))) for _ in range(n)]


def pairs():
    ss = gf.sentences()
    return [(ss[i], ss[(i * 5 + 2) % len(ss)]) for i in range(0, 30)] + \
           [("", ""), ("a", ""), ("", "b"), ("__en__ x", "<s> y")]


def goldens(d, name, suffix, cfg, stm, note):
    tmp = tempfile.mkdtemp(prefix="mhv-m2m-")
    for f in ("sentencepiece.bpe.model", "vocab.json"):
        shutil.copy(os.path.join(d, f), os.path.join(tmp, f))
    for f, j in (("tokenizer_config.json", cfg), ("special_tokens_map.json", stm)):
        if j is not None:
            with open(os.path.join(tmp, f), "w") as out:
                json.dump(j, out, indent=2, ensure_ascii=False)
    tok = AutoTokenizer.from_pretrained(tmp)
    assert type(tok) is M2M100Tokenizer
    return write_goldens(tok, tmp, name, suffix, note)


def write_goldens(tok, tmp, name, suffix, note):
    cases = []
    for s in sentences():
        ids = tok(s)["input_ids"]
        cases.append({"sentence": s, "ids": ids, "tokens": tok.convert_ids_to_tokens(ids)})
    prs = []
    for a, b in pairs():
        e = tok(a, b, return_token_type_ids=True)
        prs.append({"first": a, "second": b, "ids": e["input_ids"],
                    "type_ids": e["token_type_ids"]})
    out = os.path.join(FIX, f"tok-goldens-{name}{suffix}.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"generator": "tests/gen/gen_tok_m2m100.py",
                   "transformers": "M2M100Tokenizer (AutoTokenizer.from_pretrained) on " + note,
                   "vocab_size": len(tok), "cases": cases, "pairs": prs}, f,
                  ensure_ascii=False, indent=0)
    print(f"{os.path.basename(out)}: {len(cases)} sentences, {len(tok)} tokens")
    shutil.rmtree(tmp)
    return tok


def write_json(path, j):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(j, f, indent=2, ensure_ascii=False)
        f.write("\n")


def tok_fixtures():
    d = os.path.join(FIX, "tok-m2m100")
    fg.reset_dir(d)
    mf = train("nfkc", "nmt_nfkc")
    shutil.copy(mf, os.path.join(d, "sentencepiece.bpe.model"))
    write_json(os.path.join(d, "vocab.json"), fairseq_vocab(mf, 5))
    codes_cfg = dict(HUB_CONFIG, src_lang="fr", tgt_lang="de")
    codes_map = dict(HUB_MAP, additional_special_tokens=CODES)
    wmt_cfg = dict(HUB_CONFIG, language_codes="wmt21", src_lang="de")
    nobos_cfg = dict(HUB_CONFIG, bos_token=None, pad_token=None)
    nobos_map = {k: v for k, v in HUB_MAP.items() if k not in ("bos_token", "pad_token")}
    for suffix, cfg, stm in (("", HUB_CONFIG, HUB_MAP), ("-codes", codes_cfg, codes_map),
                             ("-wmt21", wmt_cfg, HUB_MAP), ("-nobos", nobos_cfg, nobos_map)):
        write_json(os.path.join(d, f"tokenizer_config{suffix}.json"), cfg)
        write_json(os.path.join(d, f"special_tokens_map{suffix}.json"), stm)
        tok = goldens(d, "m2m100", suffix, cfg, stm,
                      f"tok-m2m100 with tokenizer_config{suffix}.json and "
                      f"special_tokens_map{suffix}.json")
    # what save_pretrained writes of "-codes": added_tokens_decoder (transformers then reads
    # special_tokens_map.json no more) and added_tokens.json
    tmp = tempfile.mkdtemp(prefix="mhv-m2m-")
    for f in ("sentencepiece.bpe.model", "vocab.json"):
        shutil.copy(os.path.join(d, f), os.path.join(tmp, f))
    write_json(os.path.join(tmp, "tokenizer_config.json"), codes_cfg)
    write_json(os.path.join(tmp, "special_tokens_map.json"), codes_map)
    AutoTokenizer.from_pretrained(tmp).save_pretrained(tmp)
    saved = json.load(open(os.path.join(tmp, "tokenizer_config.json"), encoding="utf-8"))
    assert "added_tokens_decoder" in saved
    for k in ("is_local", "local_files_only", "name_or_path"):
        saved.pop(k, None)
    write_json(os.path.join(tmp, "tokenizer_config.json"), saved)
    write_json(os.path.join(d, "tokenizer_config-saved.json"), saved)
    shutil.copy(os.path.join(tmp, "added_tokens.json"), os.path.join(d, "added_tokens-saved.json"))
    write_goldens(AutoTokenizer.from_pretrained(tmp), tmp, "m2m100", "-saved",
                  "tok-m2m100 saved by save_pretrained (tokenizer_config-saved.json, "
                  "added_tokens-saved.json, special_tokens_map-codes.json)")

    di = os.path.join(FIX, "tok-m2m100-identity")
    fg.reset_dir(di)
    mi = train("identity", "identity", remove_extra_whitespaces=False, add_dummy_prefix=False)
    shutil.copy(mi, os.path.join(di, "sentencepiece.bpe.model"))
    write_json(os.path.join(di, "vocab.json"), fairseq_vocab(mi, 6))
    write_json(os.path.join(di, "tokenizer_config.json"), HUB_CONFIG)
    write_json(os.path.join(di, "special_tokens_map.json"), HUB_MAP)
    goldens(di, "m2m100-identity", "", HUB_CONFIG, HUB_MAP,
            "tok-m2m100-identity (no charsmap, whitespace kept, no dummy prefix)")

    # rules of our own (longest match: "qq" is Q, not "kk"), user-defined pieces (kept whole,
    # before the rules: "ⓜⓗ" stays, a lone "ⓜ" is m)
    dr = os.path.join(FIX, "tok-m2m100-rules")
    fg.reset_dir(dr)
    mr = train("rules", "rules", user_defined_symbols=["<sep>", "Hello", "ⓜⓗ", "12"])
    shutil.copy(mr, os.path.join(dr, "sentencepiece.bpe.model"))
    write_json(os.path.join(dr, "vocab.json"), fairseq_vocab(mr, 7))
    write_json(os.path.join(dr, "tokenizer_config.json"), HUB_CONFIG)
    write_json(os.path.join(dr, "special_tokens_map.json"), HUB_MAP)
    sp = spm.SentencePieceProcessor(model_file=mr)
    assert sp.encode("qq", out_type=str) == ["\u2581Q"], sp.encode("qq", out_type=str)
    goldens(dr, "m2m100-rules", "", HUB_CONFIG, HUB_MAP,
            "tok-m2m100-rules (a charsmap of our own rules, user-defined pieces)")

    # byte fallback: an unknown character is its UTF-8 bytes <0xE8> ...
    db = os.path.join(FIX, "tok-m2m100-bytes")
    fg.reset_dir(db)
    mb = train("bytes", "identity", byte_fallback=True)
    shutil.copy(mb, os.path.join(db, "sentencepiece.bpe.model"))
    write_json(os.path.join(db, "vocab.json"), fairseq_vocab(mb, 8))
    write_json(os.path.join(db, "tokenizer_config.json"), HUB_CONFIG)
    write_json(os.path.join(db, "special_tokens_map.json"), HUB_MAP)
    goldens(db, "m2m100-bytes", "", HUB_CONFIG, HUB_MAP,
            "tok-m2m100-bytes (identity rules, byte fallback)")

    # unused pieces: sentencepiece splits a merge that makes one back into its two parts
    from sentencepiece import sentencepiece_model_pb2 as pb
    du = os.path.join(FIX, "tok-m2m100-unused")
    fg.reset_dir(du)
    mp = pb.ModelProto()
    mp.ParseFromString(open(mi, "rb").read())
    marked = 0
    for p in mp.pieces[4:]:
        if len(p.piece) >= 2 and marked < 40 and hash_piece(p.piece) % 3 == 0:
            p.type = pb.ModelProto.SentencePiece.UNUSED
            marked += 1
    with open(os.path.join(du, "sentencepiece.bpe.model"), "wb") as f:
        f.write(mp.SerializeToString())
    write_json(os.path.join(du, "vocab.json"), fairseq_vocab(mi, 6))
    write_json(os.path.join(du, "tokenizer_config.json"), HUB_CONFIG)
    write_json(os.path.join(du, "special_tokens_map.json"), HUB_MAP)
    goldens(du, "m2m100-unused", "", HUB_CONFIG, HUB_MAP,
            "tok-m2m100-unused (tok-m2m100-identity's model with 40 pieces marked unused)")
    return d


def hash_piece(p):
    """A stable choice of pieces (Python's hash() is salted)."""
    return sum(ord(c) * (i + 1) for i, c in enumerate(p))


PAIRS = [("en", "fr", "The cat sat on the mat.", "Le chat est assis sur le tapis."),
         ("de", "en", "Der schnelle braune Fuchs.", "The quick brown fox."),
         ("zh", "es", "我们今天去公园散步。", "¿Dónde está la biblioteca?")]


def lang_pairs(tok, model, start):
    out = []
    for src_lang, tgt_lang, src, tgt in PAIRS:
        tok.src_lang, tok.tgt_lang = src_lang, tgt_lang
        enc = tok(src, text_target=tgt, return_tensors="pt")
        code = tok.get_lang_id(tgt_lang)
        with torch.no_grad():
            gen = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                 decoder_start_token_id=start, forced_bos_token_id=code,
                                 do_sample=False, num_beams=1, max_new_tokens=6, eos_token_id=2,
                                 pad_token_id=1, use_cache=False)
        ids = gen[0].tolist()
        assert ids[:2] == [start, code]
        if 2 in ids[1:]:
            ids = ids[:ids.index(2, 1) + 1]
        out.append({"src_lang": src_lang, "tgt_lang": tgt_lang, "source": src, "target": tgt,
                    "src_ids": enc["input_ids"][0].tolist(),
                    "tgt_ids": [start] + enc["labels"][0].tolist(), "generate": ids,
                    "src_tokens": tok.convert_ids_to_tokens(enc["input_ids"][0].tolist())})
    return out


def model_fixture(d):
    name = "s2s-m2m100-spm-f32"
    files = ("sentencepiece.bpe.model", "vocab.json")
    cfg_tok = dict(HUB_CONFIG, tgt_lang="fr")

    def add_tokenizer(path):
        for f in files:
            shutil.copy(os.path.join(d, f), os.path.join(path, f))
        write_json(os.path.join(path, "tokenizer_config.json"), cfg_tok)
        write_json(os.path.join(path, "special_tokens_map.json"), HUB_MAP)

    tmp = tempfile.mkdtemp(prefix="mhv-m2m-")
    add_tokenizer(tmp)
    tok = AutoTokenizer.from_pretrained(tmp)
    shutil.rmtree(tmp)
    cfg = M2M100Config(vocab_size=len(tok.encoder) + len(CODES) + 8, d_model=32, encoder_layers=2, decoder_layers=2,
                       encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48,
                       decoder_ffn_dim=40, max_position_embeddings=64, pad_token_id=1,
                       bos_token_id=0, eos_token_id=2, decoder_start_token_id=2)
    sg.make(name, M2M100ForConditionalGeneration, cfg, seed=73, qk_std=0.35, avoid_ids=(1,),
            post=add_tokenizer,
            note="M2M100ForConditionalGeneration with M2M100Tokenizer's files (no "
                 "tokenizer.json: sentencepiece.bpe.model, vocab.json), 100 language codes "
                 "after the vocabulary and 8 made-up words, tied LM head")
    path = os.path.join(fg.FIXTURES, name)
    model = M2M100ForConditionalGeneration.from_pretrained(path, attn_implementation="eager").eval()
    model.generation_config.forced_eos_token_id = None
    tok = AutoTokenizer.from_pretrained(path)
    lp = lang_pairs(tok, model, cfg.decoder_start_token_id)
    gpath = os.path.join(fg.GOLDENS, name + ".json")
    text = open(gpath, encoding="utf-8").read().rstrip()
    assert text.endswith("}")
    text = text[:-1] + ',\n "lang_pairs": %s}\n' % json.dumps(lp, ensure_ascii=False)
    with open(gpath, "w", encoding="utf-8") as f:
        f.write(text)
    json.load(open(gpath))
    for p in lp:
        print(p["src_lang"], p["tgt_lang"], p["src_ids"], p["tgt_ids"], p["generate"])


def fuzz_seeds(d):
    """tests/fuzz/fuzz_m2m100.c input: u32 little-endian length of the .model, the .model,
    u32 length of vocab.json, vocab.json, then the text."""
    fg.reset_dir(FUZZ)
    small = os.path.join(FIX, "tok-m2m100-identity")
    model = open(os.path.join(small, "sentencepiece.bpe.model"), "rb").read()
    vocab = json.load(open(os.path.join(small, "vocab.json"), encoding="utf-8"))
    short = {k: v for k, v in vocab.items() if v < 120}
    texts = ["Hello world", "我们今天去公园散步", "  a  b  ", "__en__ x </s>", "😀 ﬁ ①", ""]

    def put(name, m, v, t):
        vb = json.dumps(v, ensure_ascii=False).encode()
        with open(os.path.join(FUZZ, name), "wb") as f:
            f.write(len(m).to_bytes(4, "little") + m + len(vb).to_bytes(4, "little") + vb +
                    t.encode())

    for i, t in enumerate(texts):
        put(f"identity-{i}", model, short, t)
    unused = open(os.path.join(FIX, "tok-m2m100-unused", "sentencepiece.bpe.model"), "rb").read()
    put("unused-0", unused, short, texts[0] + " " + texts[1])
    rules = open(os.path.join(FIX, "tok-m2m100-rules", "sentencepiece.bpe.model"), "rb").read()
    byte = open(os.path.join(FIX, "tok-m2m100-bytes", "sentencepiece.bpe.model"), "rb").read()
    put("bytes-0", byte, short, "Ελληνικά 😀 x")
    put("rules-0", rules, short, "qq q Hello<sep>ⓜⓗ ⓜ 12\u200b ﬁ①")
    put("vocab-sparse", model, {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 7}, "a b")
    put("vocab-code", model, dict(short, __en__=len(short)), "x")
    put("model-cut", model[:len(model) // 3], short, "a")


def main():
    os.environ["HF_HUB_OFFLINE"] = "1"
    d = tok_fixtures()
    model_fixture(d)
    fuzz_seeds(d)


if __name__ == "__main__":
    main()
