#!/usr/bin/env python3
"""Writes tests/fixtures/tok-goldens-<name>.json: token ids, pieces and character offsets that
the Hugging Face `tokenizers` library produces on each fixture's real tokenizer.json.

Run offline from the repo root:  HF_HUB_OFFLINE=1 /root/venv/bin/python tests/gen/gen_tok_goldens.py

Truncation and padding are switched off (mhaviz never truncates or pads). The Python binding
reports offsets in characters of the input string (checked below on a non-ASCII sentence).
The vocab.txt + tokenizer_config.json loading path is cross-checked against transformers'
BertTokenizer built from those two files only, when transformers is importable.
"""
import json
import os
import shutil
import tempfile

import tokenizers
from tokenizers import Tokenizer

FIX = "tests/fixtures"

# Public tokenizers from other repositories are read in place from ../shared/data (see its
# INDEX.md and SOURCE.txt files); they are not copied into tests/fixtures.
SHARED = "../shared/data"  # beside the repository; the scripts run from its root
SHARED_DIRS = {"tok-bert-base-chinese": "bert-base-chinese", "tok-gpt2": "gpt2-tokenizer",
               "tok-qwen2": "qwen-tokenizer", "tok-llamacpp-bge": "llamacpp-tokenizer-testvectors",
               "tok-llamacpp-bpe": "llamacpp-tokenizer-testvectors"}


def fixture(rel):
    """tests/fixtures/rel, or its ../shared/data equivalent for public data."""
    head, _, tail = rel.partition("/")
    if head in SHARED_DIRS:
        return os.path.join(SHARED, SHARED_DIRS[head], tail)
    return os.path.join(FIX, rel)

COMMON = [
    "",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "GPT-4 is better than GPT-3.5, isn't it?",
    "café naïve Ångström résumé façade",
    "CAFÉ NAÏVE ÅNGSTRÖM",
    "Ünïcödé wïth äccénts everywhere: àáâãäåæçèéêë",
    "İstanbul ıi ǅ ǈ ß ẞ ﬁ ﬀ",
    "Ελληνικά: ΣΊΣΥΦΟΣ σίσυφος",
    "Русский текст с ЗАГЛАВНЫМИ буквами",
    "mixed\ttabs\tand  double  spaces",
    "line\nbreaks\r\nand\rreturns",
    "control\u0001chars\u0007here\u001b[0m and\u200bzero\u200cwidth\u00adsoft",
    "nbsp\u00a0and\u2003em\u3000ideographic space",
    "replacement \ufffd char",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "a" * 101,
    "b" * 100,
    "x" * 99 + "é",
    "pneumonoultramicroscopicsilicovolcanoconiosis" * 3,
    "1234567890 3.14159 1,000,000 -42 +7 1e-10 0x1F",
    "2024-01-15T10:30:00Z 12:30pm $19.99 €5 £3 ¥100 50%",
    "emoji 😀🎉👍🏽 👨‍👩‍👧 ❤️ 🇫🇷",
    "punctuation !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "curly “quotes” ‘single’ «guillemets» — dash – en … ellipsis",
    "§¶†‡•° © ® ™ ± × ÷ ≠ ≤ ≥ ∞ √ ∑",
    "中文句子：今天天气很好。",
    "我爱北京天安门！",
    "「引号」『书名号』（括号）【方括号】《书名》〈尖〉",
    "全角标点。，、；：？！“”‘’（）",
    "Ｆｕｌｌ－ｗｉｄｔｈ　Ｌａｔｉｎ　ＡＢＣ　１２３",
    "mixed 中文 and English 混合 text",
    "BERT模型在2018年发布，是NLP的里程碑。",
    "한국어 문장입니다. 안녕하세요!",
    "日本語の文章です。カタカナとひらがな、漢字。",
    "ｶﾀｶﾅ ﾊﾝｶｸ half-width katakana",
    "Ｃａｆé ｎａïｖｅ",
    "Tiếng Việt có dấu: Xin chào thế giới",
    "العربية نص عربي مع تشكيل: مَرْحَبًا",
    "עברית טקסט",
    "हिन्दी पाठ देवनागरी",
    "ไทย ภาษาไทย",
    "[CLS] already [SEP] special [MASK] tokens [UNK] [PAD]",
    "not[MASK]spaced[SEP]",
    "[mask] lower-case [cls]",
    "email@example.com https://example.org/path?q=1&r=2#frag",
    "C++ and C# and F#; x += y; a->b; i++;",
    "snake_case camelCase PascalCase kebab-case SCREAMING_CASE",
    "don't won't can't shouldn't y'all",
    "   leading and trailing spaces   ",
    "\t\n \r",
    "a",
    ".",
    "...!!!???",
    "U.S.A. e.g. i.e. etc.",
    "Math: ∀x∈ℝ, ∃y: x²+y²=z² ½ ¾ ⅓",
    "CJK ext B 𠀀𠀁 and compat 豈更 and radicals ⺀⼀",
    "Hangul jamo ᄀᄁ and compat ㄱㄴ",
    "combining a\u0301 e\u0300 n\u0303 o\u0308\u0304",
    "Zalgo: h\u0335\u0321e\u0336\u031bl\u0337l\u0338o",
    "tokenization is fun, isn't it? 😊 Let's test WordPiece!",
    "Mr. Smith's 3rd-floor apartment costs $1,200/month.",
    "零一二三四五六七八九十百千万亿",
    "龘靐齉 rare characters 㐀㐁",
    "\u2028line separator\u2029paragraph separator\u0085nel",
    "\u00bfQué? \u00a1Olé!",
    "Œuvre œuf Æsir æther Øresund ø ð þ Þ",
    # HF quirks: U+2B820..2B91F are not "Chinese" in HF; reordering moves a kept mark's span
    "gap \U0002B820\U0002B90B ext \U0002B920 end",
    "丫\u0340\u302e ď\u302f x\u0368\u1dfa a\u0345\u302e",
]


def enc_dict(enc, s):
    return {"sentence": s, "ids": enc.ids, "tokens": enc.tokens,
            "offsets": [list(o) for o in enc.offsets]}


def check_char_offsets(tok):
    s = "é中x"
    enc = tok.encode(s)
    # 'x' is the 3rd character (index 2) but starts at byte 5: char offsets say 2
    offs = [o for o, t in zip(enc.offsets, enc.tokens) if t.lstrip("#") == "x"]
    assert offs and offs[0][0] == 2, f"offsets are not in characters: {enc.offsets}"


def via_vocab_txt(name, sentences):
    """ids from transformers' BertTokenizer given only vocab.txt + tokenizer_config.json."""
    try:
        from transformers import BertTokenizer
    except ImportError:
        return None
    d = tempfile.mkdtemp()
    try:
        for f in ("vocab.txt", "tokenizer_config.json"):
            shutil.copy(fixture(name + "/" + f), d)
        t = BertTokenizer.from_pretrained(d)
        return [t(s)["input_ids"] for s in sentences]
    finally:
        shutil.rmtree(d)


def main():
    os.environ["HF_HUB_OFFLINE"] = "1"
    for name in ("tok-bert-base-chinese", "tok-minilm"):
        tok = Tokenizer.from_file(fixture(name + "/tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        check_char_offsets(tok)
        out = [enc_dict(tok.encode(s), s) for s in COMMON]
        alt = via_vocab_txt(name, COMMON)
        note = "vocab.txt path not cross-checked (transformers missing)"
        if alt is not None:
            diff = [s for s, o, a in zip(COMMON, out, alt) if o["ids"] != a]
            note = (f"transformers BertTokenizer from vocab.txt + tokenizer_config.json differs "
                    f"on {len(diff)} sentences")
            for s in diff:
                print(f"  {name}: vocab.txt path differs: {s!r}")
        # sentence pairs: tokenizer.encode(a, b) (the template's [SEP]s and token types)
        prs = [(COMMON[i], COMMON[(5 * i + 3) % len(COMMON)]) for i in range(0, len(COMMON), 2)]
        pairs = []
        for a, b in prs:
            e = tok.encode(a, b)
            pairs.append({"first": a, "second": b, "ids": e.ids, "type_ids": e.type_ids})
        doc = {"generator": "tests/gen/gen_tok_goldens.py",
               "tokenizers_version": tokenizers.__version__,
               "tokenizer": fixture(name + "/tokenizer.json"),
               "offsets": "characters of the sentence, [start, end); [0, 0] for added specials",
               "vocab_txt_check": note,
               "cases": out, "pairs": pairs}
        path = os.path.join(FIX, f"tok-goldens-{name[4:]}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
        print(f"wrote {path}: {len(out)} sentences; {note}")


if __name__ == "__main__":
    main()
