#!/usr/bin/env python3
"""Tokenizer fixtures of the model families mhaviz reads, made here, and their goldens.

Writes tests/fixtures/tok-<name>/tokenizer.json and tests/fixtures/tok-goldens-<name>.json:

  byte-level BPE trained with `tokenizers` using each family's exact pre-tokenizer:
    llama3    Split(Llama-3 regex) + ByteLevel, ignore_merges, <|begin_of_text|> template
    deepseek  Split(\\p{N}{1,3}) + Split(CJK runs) + Split(DeepSeek-V3 regex) + ByteLevel
    tekken    Split(Mistral Tekken regex) + ByteLevel
    o200k     Split(GPT-4o's o200k_base regex) + ByteLevel
    olmo      ByteLevel(use_regex) as GPT-NeoX / OLMo / Pythia (add_prefix_space false)
    cohere    transformers' CohereTokenizer: NFC, Digits(individual) + ByteLevel, BOS template
    roberta   ByteLevel(add_prefix_space) + RobertaProcessing (single and pair)
  SentencePiece models trained with `sentencepiece` (nmt_nfkc, byte fallback) and converted by
  transformers' own converters (convert_slow_tokenizer):
    t5        unigram, T5Converter (Precompiled + WhitespaceSplit + Metaspace, "$A </s>")
    xlmr      unigram, XLMRobertaConverter ("<s> $A </s>", pair)
    albert    unigram, AlbertConverter (Replace, lowercase, NFKD? see file, "[CLS] $A [SEP]")
    debertav2 unigram, DebertaV2Converter
    llamaspm  BPE + byte fallback, LlamaConverter
    gemma     BPE + byte fallback (identity rules, split digits), GemmaConverter
  (transformers 5.25's converters call SentencePieceExtractor.extract(vocab_scores) for BPE
  models, which the extractor no longer accepts: patch_extractor answers that call with the
  library's own generate_merges.)
A converter whose output mhaviz does not read yet is reported and skipped, not written.

Goldens: HF `tokenizers` on >= 100 varied sentences (English, Chinese, mixed, digits, emoji,
accents, whitespace runs, very long words): ids, tokens (id_to_token of each id: for an
unknown character Unigram's Encoding.tokens shows the text, the vocabulary piece is what
mhaviz reports; get_vocab's), offsets in characters; pairs: ids and type_ids of
tokenizer.encode(a, b).

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/gen_tok_families.py

Not every fixture comes out the same on every run (measured with tokenizers 0.23.3,
sentencepiece single-threaded with fixed seeds): the `tokenizers` BPE trainers (the
byte-level families, added-bpe, zoo, whitespace, nfkc) and the SentencePiece models do, but
the `tokenizers` WordPiece trainer (added-wordpiece) and Unigram trainer (unigram-nfkd and
unigram-bytefallback, made from it) give another vocabulary on each run, even with
RAYON_NUM_THREADS=1 (apparently ties between equally frequent candidates broken in the
order of a per-process hash map). Each golden is made from its tokenizer.json in the same
run, so a rerun of those is as valid but not the same bytes: the committed ones are one
run's; rerun them only together with their goldens (and tests/fuzz seeds made from
tok-unigram-nfkd)."""
import base64
import json
import os
import random
import sys
import tempfile
import types

import tokenizers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from tokenizers import Regex

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
FIX = os.path.normpath(FIX)

LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
          r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
DEEPSEEK = [r"\p{N}{1,3}", "[一-龥\u3040-ゟ゠-ヿ]+",
            r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|"
            r" ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"]
# GPT-4o's o200k_base as Hugging Face tokenizer.json files spell it (Phi-4-style models)
O200K = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
         r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
         r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"
         r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
         r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
TEKKEN = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|"
          r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|"
          r"\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")

WORDS = ("the quick brown fox jumps over lazy dog attention head layer token model weight "
         "language transformer sentence pair question answer entailment contradiction neutral "
         "researcher visualise probability matrix tokenizer unigram piece merge byte fallback "
         "normalization international organisation running walked happily unbelievable "
         "naïve café résumé Zürich façade São Paulo Ångström coöperate crème brûlée").split()
ZH = "我们他她它是的了在有和人这中大为上个国不以要会到说时地也子就出年能下过学生可对"
EMOJI = ["😀", "🤗", "👍🏽", "🇫🇷", "👨‍👩‍👧", "❤️", "🎉"]


def corpus():
    rng = random.Random(7)
    lines = []
    for i in range(3000):
        k = rng.random()
        ws = [rng.choice(WORDS) for _ in range(rng.randint(3, 12))]
        if k < 0.3:
            s = " ".join(ws).capitalize() + rng.choice([".", "!", "?", ",", ";"])
        elif k < 0.5:
            s = "".join(rng.choice(ZH) for _ in range(rng.randint(4, 20))) + "。"
        elif k < 0.7:
            s = " ".join(ws[:3]) + " " + "".join(rng.choice(ZH) for _ in range(5)) + \
                f" {rng.randint(0, 99999)} " + rng.choice(EMOJI)
        elif k < 0.85:
            s = f"In {rng.randint(1900, 2030)}, {rng.randint(1, 999)}.{rng.randint(0, 99)}% of " + \
                " ".join(ws) + f" cost ${rng.randint(1, 10**6)}"
        else:
            s = "I'm sure they'll say we've DONE it, isn't it? " + " ".join(ws).upper()
        lines.append(s)
    return lines


def sentences():
    rng = random.Random(11)
    out = [
        "Hello world", "Hello, world!", " leading space", "trailing space ", "  two  spaces  ",
        "tabs\tand\nnewlines\r\nhere", "\n\nblank lines\n\n", "   ", "a", "I'm",
        "I'M SHOUTING, DON'T YOU'LL WE'VE", "they're here'", "'s 't 're",
        "Numbers 1 12 123 1234 12345 3.14159 1,000,000", "2024-06-01T12:34:56Z",
        "我爱北京天安门", "苹果从树上掉下来，小明把它捡起来了。", "Qwen2是阿里巴巴发布的大语言模型。",
        "mixed 中文 and English 混合 text 123", "日本語のテキストとカタカナ", "한국어 문장입니다",
        "emoji 😀🤗 and flags 🇫🇷🇩🇪 family 👨‍👩‍👧 skin 👍🏽", "❤️ hearts ❤ ♥",
        "naïve café résumé", "decomposed: cafe\u0301 nai\u0308ve", "Ångström Å Å",
        "ﬁnance ﬂow ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３", "ℌ ℍ ① ² ½ ™ Ⅻ", "ß ẞ ı İ ǅ",
        "Supercalifragilisticexpialidocious" * 3, "a" * 300, "ab" * 150, "x" * 50 + " " + "y" * 50,
        "!!!???...,,,;;;", "<s> </s> <unk> [CLS] <pad>", "http://example.com/a/b?c=d&e=f",
        "def f(x):\n    return x ** 2  # square", "C++ & C# // comments /* block */",
        "e-mail: someone@example.org", "\u00a0non-breaking\u00a0space", "zero\u200bwidth\u200djoiner",
        "Ελληνικά κείμενα", "Русский текст здесь", "עברית מימין לשמאל", "العربية نص",
        "हिन्दी पाठ", "ไทย ภาษา", "Tiếng Việt có dấu", "combining a\u0301\u0302\u0303 marks",
        "\u3000ideographic\u3000space", "ＡＢＣ　全角", "…—–‘’“”", "$100 €50 £20 ¥1000",
    ]
    while len(out) < 130:
        k = rng.random()
        ws = [rng.choice(WORDS) for _ in range(rng.randint(1, 10))]
        if k < 0.25:
            s = " ".join(ws)
        elif k < 0.45:
            s = "".join(rng.choice(ZH) for _ in range(rng.randint(1, 15)))
        elif k < 0.6:
            s = rng.choice(ws) + rng.choice(["", " ", "  ", "\t", "\n"]) + \
                "".join(rng.choice(ZH) for _ in range(3)) + str(rng.randint(0, 10**rng.randint(1, 8)))
        elif k < 0.75:
            s = " ".join(w.upper() if rng.random() < 0.5 else w for w in ws) + rng.choice(EMOJI)
        elif k < 0.9:
            s = (" " * rng.randint(0, 4)).join(ws) + " " * rng.randint(0, 3)
        else:
            s = "".join(rng.choice(WORDS) for _ in range(rng.randint(5, 20)))
        out.append(s)
    return out


def pairs():
    rng = random.Random(13)
    ss = sentences()
    return [(ss[i], ss[(i * 7 + 3) % len(ss)]) for i in range(0, 60)] + \
           [("Is it raining?", "Yes, it is."), ("我们", "他们"), (" a ", " b ")]


def bytelevel(name, pre, post=None, ignore_merges=False, add_prefix_space=False, vocab=800):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    specials = ["<|begin_of_text|>", "<|end_of_text|>"] if name != "roberta" else \
        ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    if post is not None:
        tok.post_processor = post
    return tok


def cohere_tokenizer():
    """Command-R's: transformers' CohereTokenizer (NFC, Digits(individual) + ByteLevel,
    "<BOS_TOKEN> $A" with add_bos_token as the hub's tokenizer_config.json sets it) over
    byte-level merges trained here with that pre-tokenizer."""
    from transformers import CohereTokenizer
    base = bytelevel("cohere", pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True)]))
    m = json.loads(base.to_str())["model"]
    merges = [tuple(x) if isinstance(x, list) else tuple(x.split(" ")) for x in m["merges"]]
    return CohereTokenizer(vocab=m["vocab"], merges=merges, add_bos_token=True)._tokenizer


def byte_level_families():
    bl = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    out = {}
    out["llama3"] = bytelevel("llama3", pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False), bl]),
        ignore_merges=True)
    out["llama3"].post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                      pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", 0)])])
    out["deepseek"] = bytelevel("deepseek", pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(p), behavior="isolated", invert=False) for p in DEEPSEEK] +
        [bl]))
    out["tekken"] = bytelevel("tekken", pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(TEKKEN), behavior="isolated", invert=False), bl]))
    out["o200k"] = bytelevel("o200k", pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(O200K), behavior="isolated", invert=False), bl]))
    out["olmo"] = bytelevel("olmo", pre_tokenizers.ByteLevel(add_prefix_space=False,
                                                             trim_offsets=True, use_regex=True),
                            post=processors.ByteLevel(trim_offsets=True))
    out["cohere"] = cohere_tokenizer()
    rob = bytelevel("roberta", pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True))
    rob.post_processor = processors.RobertaProcessing(("</s>", rob.token_to_id("</s>")),
                                                      ("<s>", rob.token_to_id("<s>")),
                                                      trim_offsets=True, add_prefix_space=True)
    out["roberta"] = rob
    # a pre-tokenizer zoo on a WordPiece-free BPE: Whitespace, Digits, Punctuation, Metaspace
    zoo = Tokenizer(models.BPE(unk_token="<unk>"))
    zoo.normalizer = tokenizers.normalizers.Sequence([
        tokenizers.normalizers.NFD(), tokenizers.normalizers.StripAccents(),
        tokenizers.normalizers.Lowercase(), tokenizers.normalizers.Strip(),
        tokenizers.normalizers.Replace(Regex(r"\s{2,}"), " "),
        tokenizers.normalizers.Replace("q", "k")])
    zoo.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.Punctuation(),
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True)])
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<unk>", "<s>", "</s>"],
                                  show_progress=False)
    zoo.train_from_iterator(corpus(), trainer)
    zoo.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> $B:1 </s>:1",
        special_tokens=[("<s>", zoo.token_to_id("<s>")), ("</s>", zoo.token_to_id("</s>"))])
    out["zoo"] = zoo
    ws = Tokenizer(models.BPE(unk_token="<unk>"))
    ws.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(),
                                                pre_tokenizers.Digits(individual_digits=False)])
    ws.train_from_iterator(corpus(), trainers.BpeTrainer(vocab_size=500,
                                                         special_tokens=["<unk>"],
                                                         show_progress=False))
    out["whitespace"] = ws
    # NFKC + Lowercase, punctuation merged both ways, a literal Split inverted, delimiters
    nk = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    N = tokenizers.normalizers
    nk.normalizer = N.Sequence([N.NFKC(), N.Lowercase(), N.Prepend("\u2581")])
    nk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.CharDelimiterSplit("-"),
        pre_tokenizers.Split(" ", behavior="merged_with_next", invert=False),
        pre_tokenizers.Split("ab", behavior="contiguous", invert=True),
        pre_tokenizers.Punctuation(behavior="merged_with_previous")])
    nk.train_from_iterator(corpus(), trainers.BpeTrainer(vocab_size=500, special_tokens=["<unk>"],
                                                         show_progress=False))
    out["nfkc"] = nk
    # a Unigram trained by tokenizers: NFKD, marks removed by a regex Replace, Metaspace never
    # (not reproducible run to run: see the top)
    un = Tokenizer(models.Unigram())
    un.normalizer = N.Sequence([N.NFKD(), N.Replace(Regex(r"\p{Mn}+"), ""), N.Strip(left=False)])
    un.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.Metaspace(replacement="_", prepend_scheme="never", split=False)])
    un.train_from_iterator(corpus(), trainers.UnigramTrainer(
        vocab_size=400, special_tokens=["<unk>", "<cls>"], unk_token="<unk>", show_progress=False))
    un.post_processor = processors.BertProcessing(("<unk>", 0), ("<cls>", 1))
    out["unigram-nfkd"] = un
    # the same Unigram with the 256 byte pieces and byte_fallback (no unk for unknown text)
    j = json.loads(un.to_str())
    j["model"]["vocab"] += [[f"<0x{b:02X}>", -30.0] for b in range(256)]
    j["model"]["byte_fallback"] = True
    j["normalizer"] = None
    j["pre_tokenizer"] = json.loads(pre_tokenizers.Metaspace(prepend_scheme="always").__getstate__())
    j["post_processor"] = None
    out["unigram-bytefallback"] = Tokenizer.from_str(json.dumps(j))
    return out


def spm_train(model_type, vocab, byte_fallback, rule="nmt_nfkc", extra=None):
    import hashlib
    import shutil
    import sentencepiece as spm
    # a fixed directory per setting: the .model records its input and prefix paths
    key = hashlib.sha1(repr((model_type, vocab, byte_fallback, rule, sorted((extra or {}).items())))
                       .encode()).hexdigest()[:12]
    d = os.path.join(tempfile.gettempdir(), "mhv-spm-gen", key)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "corpus.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(corpus()) + "\n")
    prefix = os.path.join(d, "m")
    args = dict(input=os.path.join(d, "corpus.txt"), model_prefix=prefix, vocab_size=vocab,
                model_type=model_type, byte_fallback=byte_fallback,
                normalization_rule_name=rule, character_coverage=0.9995, num_threads=1,
                seed_sentencepiece_size=100000, shuffle_input_sentence=False,
                pad_id=0, unk_id=2, bos_id=-1, eos_id=1, minloglevel=2)
    if extra:
        args.update(extra)
    spm.SentencePieceTrainer.train(**args)
    return prefix + ".model"


class SlowShim:
    """What the converters read from a slow tokenizer, answered by the .model itself."""

    def __init__(self, model_file, specials):
        import sentencepiece as spm
        self.sp = spm.SentencePieceProcessor(model_file=model_file)
        self.vocab_file = model_file
        self.do_lower_case, self.keep_accents, self.split_by_punct = False, True, False
        self.legacy, self.add_prefix_space, self._extra_ids, self.extra_ids = True, True, 0, 0
        for k, v in specials.items():
            setattr(self, k, v)

    def convert_tokens_to_ids(self, t):
        if isinstance(t, list):
            return [self.convert_tokens_to_ids(x) for x in t]
        return self.sp.piece_to_id(t)

    def convert_ids_to_tokens(self, i):
        if isinstance(i, list):
            return [self.sp.id_to_piece(x) for x in i]
        return self.sp.id_to_piece(i)

    def __getattr__(self, name):
        if name.endswith("_token_id"):
            t = getattr(self, name[:-3], None)
            return self.sp.piece_to_id(t) if t else None
        if name.endswith("_token"):
            return None
        raise AttributeError(name)


def patch_extractor(c):
    """transformers 5.25's SpmConverter.tokenizer calls SentencePieceExtractor.extract(vocab_scores)
    for BPE models, an API the extractor no longer has (and GemmaSentencePieceExtractor reads a
    missing self.sp): give both the (vocab, merges) answer that call expects, computed by the
    library's own generate_merges, so the converters run unchanged otherwise."""
    import sentencepiece as spm
    base = c.SentencePieceExtractor
    if getattr(base, "_mhv_patched", False):
        return
    init, extract = base.__init__, base.extract

    def __init__(self, model):
        init(self, model)
        self.sp = spm.SentencePieceProcessor(model_file=model)

    def extract_(self, model_type=None, **kw):
        if isinstance(model_type, list) or (model_type is None and "vocab_scores" in kw):
            vocab_scores = model_type if isinstance(model_type, list) else kw["vocab_scores"]
            vocab = {p.piece: i for i, p in enumerate(self.proto.pieces)}
            return vocab, c.generate_merges(vocab, vocab_scores)
        return extract(self, model_type, **kw)

    base.__init__, base.extract, base._mhv_patched = __init__, extract_, True


def convert(conv_name, model_file, specials):
    import transformers.convert_slow_tokenizer as c
    patch_extractor(c)
    conv = getattr(c, conv_name)(SlowShim(model_file, specials))
    return conv.converted()


def spm_families():
    out = {}
    uni = spm_train("unigram", 600, False)
    # DeBERTa-v3's layout: [PAD] [CLS] [SEP] [UNK] first, [MASK] a user symbol, byte fallback
    uni_bf = spm_train("unigram", 900, True, extra=dict(
        pad_id=0, bos_id=1, eos_id=2, unk_id=3, pad_piece="[PAD]", bos_piece="[CLS]",
        eos_piece="[SEP]", unk_piece="[UNK]", user_defined_symbols=["[MASK]"]))
    t5 = dict(eos_token="</s>", unk_token="<unk>", pad_token="<pad>")
    bert = dict(cls_token="[CLS]", sep_token="[SEP]", unk_token="<unk>", pad_token="<pad>",
                mask_token="[MASK]")
    deberta = dict(cls_token="[CLS]", sep_token="[SEP]", unk_token="[UNK]", pad_token="[PAD]",
                   mask_token="[MASK]")
    xlmr = dict(bos_token="<s>", eos_token="</s>", cls_token="<s>", sep_token="</s>",
                unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
    uni_cls = spm_train("unigram", 600, False, extra=dict(
        pad_id=0, unk_id=1, bos_id=-1, eos_id=-1, user_defined_symbols=["[CLS]", "[SEP]",
                                                                        "[MASK]"]))
    for name, conv, mf, sp in (("t5", "T5Converter", uni, t5),
                               ("xlmr", "XLMRobertaConverter", uni, xlmr),
                               ("albert", "AlbertConverter", uni_cls, bert),
                               ("debertav2", "DebertaV2Converter", uni_bf, deberta)):
        try:
            out[name] = convert(conv, mf, sp)
        except Exception as e:  # noqa: BLE001 - reported, fixture skipped
            print(f"skip {name}: {conv}: {e}")
    bpe = spm_train("bpe", 900, True, extra=dict(pad_id=-1, unk_id=0, bos_id=1, eos_id=2))
    # Gemma's own model: identity normalization, digits split, "\t" and "\n" as pieces
    gemma = spm_train("bpe", 900, True, rule="identity", extra=dict(
        pad_id=0, unk_id=3, bos_id=2, eos_id=1, user_defined_symbols=["\t", "\n"],
        remove_extra_whitespaces=False, split_digits=True))
    llama = dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token=None)
    gem = dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>")
    for name, conv, mf, sp in (("llamaspm", "LlamaConverter", bpe, llama),
                               ("gemma", "GemmaConverter", gemma, gem)):
        try:
            out[name] = convert(conv, mf, sp)
        except Exception as e:  # noqa: BLE001
            print(f"skip {name}: {conv}: {e}")
    return out


def enc_dict(tok, enc, s):
    inv = {i: p for p, i in tok.get_vocab(with_added_tokens=True).items()}
    return {"sentence": s, "ids": enc.ids, "tokens": [inv[i] for i in enc.ids],
            "offsets": [list(o) for o in enc.offsets]}


ADDED_SENTENCES = [
    "[NEW] token [new] and [New]", "hi there, ahi hi_ hi! -hi- hihi", "a <X> b  <X>  c<X>d",
    "ﬁne fine ﬁnely FINE", "hello world,world  world", "ǅx ǆx DŽX", "[CLS] [SEP] [MASK] [PAD]",
    "x [NEW][NEW] y", "<X><X>", "  <X>  ", "WORLD world", "数字 [NEW] 中文 hi 中",
]


def add_tokens(tok):
    from tokenizers import AddedToken
    tok.add_tokens([AddedToken("[NEW]", normalized=True), AddedToken("ǅx", normalized=True),
                    AddedToken("hi", single_word=True, normalized=False),
                    AddedToken("ﬁne", normalized=True, single_word=True),
                    AddedToken("world", normalized=True, lstrip=True)])
    tok.add_special_tokens([AddedToken("<X>", lstrip=True, rstrip=True, normalized=False)])
    return tok


def added_families():
    N = tokenizers.normalizers
    out = {}
    b = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    b.normalizer = N.Sequence([N.NFKC(), N.Lowercase()])
    b.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first")
    b.train_from_iterator(corpus(), trainers.BpeTrainer(
        vocab_size=500, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False))
    b.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", b.token_to_id("<s>")), ("</s>", b.token_to_id("</s>"))])
    out["added-bpe"] = add_tokens(b)
    # not reproducible run to run (see the top): the committed tok-added-wordpiece is one run's
    w = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=30))
    w.normalizer = N.BertNormalizer(lowercase=True)
    w.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    w.train_from_iterator(corpus(), trainers.WordPieceTrainer(
        vocab_size=600, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        show_progress=False))
    w.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", w.token_to_id("[CLS]")), ("[SEP]", w.token_to_id("[SEP]"))])
    out["added-wordpiece"] = add_tokens(w)
    return out


def write(name, tok):
    d = os.path.join(FIX, f"tok-{name}")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "tokenizer.json")
    tok.no_truncation()
    tok.no_padding()
    tok.save(path)
    tok = Tokenizer.from_file(path)
    extra = ADDED_SENTENCES if name.startswith("added") else []
    cases = [enc_dict(tok, tok.encode(s), s) for s in sentences() + extra]
    pair_cases = []
    if tok.post_processor is not None:
        for a, b in pairs():
            try:
                e = tok.encode(a, b)
            except Exception:  # noqa: BLE001 - no pair template
                break
            pair_cases.append({"first": a, "second": b, "ids": e.ids, "type_ids": e.type_ids})
    doc = {"generator": "tests/gen/gen_tok_families.py",
           "tokenizers_version": tokenizers.__version__,
           "tokenizer": f"tests/fixtures/tok-{name}/tokenizer.json",
           "offsets": "characters of the sentence, [start, end); [0, 0] for post-processor specials",
           "tokens": "the vocabulary piece of each id (get_vocab(with_added_tokens=True)); "
                     "Encoding.tokens shows the text instead for Unigram unknowns and the "
                     "normalized text for normalized added tokens",
           "cases": cases, "pairs": pair_cases}
    with open(os.path.join(FIX, f"tok-goldens-{name}.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=0)
    print(f"tok-{name}: {len(cases)} sentences, {len(pair_cases)} pairs, "
          f"{os.path.getsize(path)} bytes")


def small_charsmap():
    """A precompiled charsmap from a handful of normalization rules (the real nmt_nfkc one is
    200 KB): sentencepiece compiles the TSV into the same Darts format."""
    import sentencepiece as spm
    from transformers.convert_slow_tokenizer import import_protobuf
    pb2 = import_protobuf()
    d = tempfile.mkdtemp(prefix="mhv-spm-")
    rules = {"41": "61", "FB01": "66 69", "65 301": "E9", "FF21": "41", "2460": "31",
             "3000": "20", "E9": "65 301", "1F600": "3A 29", "AC00": "1100 1161"}
    with open(os.path.join(d, "rules.tsv"), "w") as f:
        for k, v in rules.items():
            f.write(f"{k}\t{v}\n")
    with open(os.path.join(d, "c.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(corpus()[:500]) + "\n")
    spm.SentencePieceTrainer.train(input=os.path.join(d, "c.txt"), model_prefix=os.path.join(d, "m"),
                                   vocab_size=200, normalization_rule_tsv=os.path.join(d, "rules.tsv"),
                                   num_threads=1, minloglevel=2)
    m = pb2.ModelProto()
    with open(os.path.join(d, "m.model"), "rb") as f:
        m.ParseFromString(f.read())
    return m.normalizer_spec.precompiled_charsmap


def fuzz_seeds():
    """Seed corpora of tests/fuzz/fuzz_{unigram,charsmap,regex}.c (replayed by make test)."""
    root = os.path.normpath(os.path.join(FIX, "..", "fuzz", "corpus"))
    ss = sentences()

    def put(target, name, data):
        os.makedirs(os.path.join(root, target), exist_ok=True)
        with open(os.path.join(root, target, name), "wb") as f:
            f.write(data)

    for i, x in enumerate(ss[:40]):
        put("unigram", f"text-{i:03d}", bytes([(i % 3) << 1]) + x.encode())
        put("regex", f"hand-{i:03d}", bytes([(i & 1) << 1]) + x.encode())
    for i, (a, b) in enumerate(pairs()[:10]):
        put("unigram", f"pair-{i:03d}", bytes([8 | ((i % 3) << 1)]) + f"{a}\t{b}".encode())
    src = json.load(open(os.path.join(FIX, "tok-unigram-nfkd", "tokenizer.json"), encoding="utf-8"))
    model = src["model"]
    small = dict(model, vocab=model["vocab"][:80])
    put("unigram", "model-small", b"\x01" + json.dumps(small, ensure_ascii=False).encode())
    put("unigram", "model-bytefallback", b"\x01" + json.dumps(
        {"type": "Unigram", "unk_id": 0, "byte_fallback": True,
         "vocab": [["<unk>", 0.0]] + [[f"<0x{b:02X}>", -5.0] for b in range(256)] +
                  [["\u2581He", -1.0], ["llo", -1.5], ["l", -3.0], ["o", -3.0], ["\u2581", -2.0]]},
        ensure_ascii=False).encode())
    put("unigram", "model-nounk", b"\x01" + json.dumps(
        {"type": "Unigram", "unk_id": None, "vocab": [["a", -1.0], ["\u2581", -1.0]]}).encode())
    cm = small_charsmap()
    texts = ["A café ﬁ ＡＢＣ ① 😀 가", "e\u0301 E\u0301 \u3000x", "plain"]
    for i, t in enumerate(texts):
        put("charsmap", f"small-{i}", len(cm).to_bytes(2, "little") + cm + t.encode())
    put("charsmap", "truncated", (len(cm) // 2).to_bytes(2, "little") + cm[:len(cm) // 2] + b"A")
    b64 = base64.b64encode(cm)
    put("charsmap", "base64", len(b64).to_bytes(2, "little") + b64)
    # HF's Precompiled normalizer on the small charsmap: a golden for tests/test_tok_families.c
    pre = tokenizers.normalizers.Precompiled(cm)
    cases = texts + ss[:60] + ["A\u0301", "ﬁ\u0301", "\r\n", "e\u0301\u0302", "가\u0301"]
    with open(os.path.join(FIX, "tok-goldens-charsmap.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "tests/gen/gen_tok_families.py (fuzz_seeds)",
                   "tokenizers_version": tokenizers.__version__,
                   "charsmap": base64.b64encode(cm).decode(),
                   "cases": [{"text": t, "normalized": pre.normalize_str(t)} for t in cases]},
                  f, ensure_ascii=False, indent=0)
    pats = [LLAMA3, TEKKEN] + DEEPSEEK + [r"\s+", r"(?i:abc)|x*", "", r"\p{N}{1,3}", r"(?<=a)b",
                                          r"[^\s\p{L}]+", "\u2581"]
    for i, p in enumerate(pats):
        put("regex", f"pattern-{i:02d}", b"\x01" + p.encode() + b"\x00" + ss[i * 3].encode())


def spm_dirs():
    """SentencePiece models alone (as DeBERTa-v3 ships spm.model): tests/fixtures/tok-debertav2-spm
    (nmt_nfkc rules) and tok-debertav2-spm-identity (no charsmap), each with two
    tokenizer_config.json variants; goldens from transformers' AutoTokenizer on the directory."""
    import shutil
    from transformers import AutoTokenizer
    layout = dict(pad_id=0, bos_id=1, eos_id=2, unk_id=3, pad_piece="[PAD]", bos_piece="[CLS]",
                  eos_piece="[SEP]", unk_piece="[UNK]")
    configs = {"": {"tokenizer_class": "DebertaV2Tokenizer"},
               "-lower": {"tokenizer_class": "DebertaV2Tokenizer", "do_lower_case": True,
                          "split_by_punct": True, "add_prefix_space": False}}
    xl = {"": {"tokenizer_class": "XLMRobertaTokenizer"},
          "-noprefix": {"tokenizer_class": "XLMRobertaTokenizer", "add_prefix_space": False}}
    al = {"": {"tokenizer_class": "AlbertTokenizer"},
          "-cased": {"tokenizer_class": "AlbertTokenizer", "do_lower_case": False,
                     "keep_accents": True, "add_prefix_space": False}}
    ll = {"": {"tokenizer_class": "LlamaTokenizer"},
          "-bos-eos-legacy": {"tokenizer_class": "LlamaTokenizer", "add_bos_token": True,
                              "add_eos_token": True, "legacy": True},
          "-noprefix": {"tokenizer_class": "LlamaTokenizer", "add_prefix_space": False,
                        "add_bos_token": True}}
    t5 = {"": {"tokenizer_class": "T5Tokenizer"},
          "-extra3": {"tokenizer_class": "T5Tokenizer", "extra_ids": 3}}
    for name, rule, cfgs, fname, lay in (
            ("debertav2-spm", "nmt_nfkc", configs, "spm.model", layout),
            ("debertav2-spm-identity", "identity", configs, "spm.model", layout),
            ("t5-spm", "nmt_nfkc", t5, "spiece.model", None),
            ("xlmr-spm", "nmt_nfkc", xl, "sentencepiece.bpe.model",
             dict(unk_id=0, bos_id=1, eos_id=2, pad_id=-1)),
            ("albert-spm", "nmt_nfkc", al, "spiece.model",
             dict(pad_id=0, unk_id=1, bos_id=2, eos_id=3, bos_piece="[CLS]", eos_piece="[SEP]",
                  user_defined_symbols=["[MASK]"])),
            ("llama-spm", "identity", ll, "tokenizer.model",
             dict(pad_id=-1, unk_id=0, bos_id=1, eos_id=2))):
        kind, size = ("bpe", 900) if name.startswith("llama") else ("unigram", 700)
        mf = spm_train(kind, size, kind == "bpe", rule=rule, extra=lay)
        d = os.path.join(FIX, f"tok-{name}")
        os.makedirs(d, exist_ok=True)
        shutil.copy(mf, os.path.join(d, fname))
        for suffix, cfg in cfgs.items():
            with open(os.path.join(d, f"tokenizer_config{suffix}.json"), "w") as f:
                json.dump(cfg, f, indent=1)
            tmp = tempfile.mkdtemp(prefix="mhv-spm-dir-")
            shutil.copy(mf, os.path.join(tmp, fname))
            with open(os.path.join(tmp, "tokenizer_config.json"), "w") as f:
                json.dump(cfg, f)
            at = AutoTokenizer.from_pretrained(tmp)
            tok = at.backend_tokenizer
            ss = sentences() + ADDED_SENTENCES + ["[MASK] is [CLS] or [SEP]", "a  b \t\n c  ",
                                                  "<extra_id_0> x <extra_id_2></s><pad>",
                                                  "<mask> <s> x </s>",
                                                  "``quoted'' and \"plain\" [MASK] ÀÉÎ"]
            cases = [enc_dict(tok, tok.encode(x), x) for x in ss]
            prs = [{"first": a, "second": b, "ids": tok.encode(a, b).ids,
                    "type_ids": tok.encode(a, b).type_ids} for a, b in pairs()]
            for c in cases[:20]:  # the transformers call gives the same ids
                assert at(c["sentence"])["input_ids"] == c["ids"], c["sentence"]
            out = os.path.join(FIX, f"tok-goldens-{name}{suffix}.json")
            with open(out, "w", encoding="utf-8") as f:
                json.dump({"generator": "tests/gen/gen_tok_families.py (spm_dirs)",
                           "transformers": "AutoTokenizer.from_pretrained on spm.model + "
                                           f"tokenizer_config{suffix}.json",
                           "tokens": "get_vocab(with_added_tokens=True) of each id",
                           "cases": cases, "pairs": prs}, f, ensure_ascii=False, indent=0)
            print(f"tok-{name}{suffix}: {len(cases)} sentences, {os.path.getsize(mf)} bytes model")


def main():
    os.environ["HF_HUB_OFFLINE"] = "1"
    only = set(sys.argv[1:])
    if only == {"fuzz"}:
        fuzz_seeds()
        return
    if only == {"spm"}:
        spm_dirs()
        return
    fams = {}
    if not only or only - {"t5", "xlmr", "albert", "debertav2", "llamaspm", "gemma"}:
        fams.update(byte_level_families())
        fams.update(added_families())
    fams.update(spm_families())
    for name, tok in fams.items():
        if not only or name in only:
            write(name, tok)


if __name__ == "__main__":
    main()
