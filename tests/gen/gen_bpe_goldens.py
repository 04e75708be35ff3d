#!/usr/bin/env python3
"""Writes the BPE tokenizer goldens: token ids, pieces and character offsets that the Hugging
Face `tokenizers` library produces, for tests/test_bpe.c.

Run offline from the repo root:  HF_HUB_OFFLINE=1 /root/venv/bin/python tests/gen/gen_bpe_goldens.py

Outputs:
  tests/fixtures/tok-llama/tokenizer.json            a small LLaMA-style (SentencePiece BPE,
  tests/fixtures/tok-llama-metaspace/tokenizer.json  byte fallback) tokenizer trained here, in the
                                                     legacy Prepend+Replace form and the newer
                                                     Metaspace(prepend_scheme=first) form
  tests/fixtures/tok-goldens-{gpt2,qwen2,llama,llama-metaspace}.json

The real GPT-2 and Qwen2 files are read from ../shared/data/gpt2-tokenizer and qwen-tokenizer
(see their SOURCE.txt); they are not copied into the repository.
Offsets: the Python binding reports [start, end) in characters of the sentence; a byte-level
token that holds only part of a character gets that whole character's span; [0, 0] marks the
tokens a post-processor adds. When transformers is importable, its slow GPT2Tokenizer /
Qwen2Tokenizer built from vocab.json + merges.txt is cross-checked against the fast ids.
"""
import json
import os
import sys
import tempfile

import tokenizers
from tokenizers import (Tokenizer, decoders, models, normalizers, pre_tokenizers, processors,
                        trainers)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_tok_goldens import COMMON  # noqa: E402  (the BERT goldens' sentences, reused)

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

# Mixed Chinese / English / emoji / numbers, and the places where the two split patterns differ.
MIXED = [
    "我把它放在桌子上了。",
    "苹果和香蕉都很好吃，但是我更喜欢苹果。",
    "Qwen2是阿里巴巴发布的大语言模型，支持32768个token的上下文。",
    "GPT-2 于2019年发布，有1.5B参数。",
    "今天是2024年3月15日，气温18.5°C，湿度72%。",
    "我喜欢🍎和🍌！你呢？😊",
    "深度学习（Deep Learning）是机器学习的一个分支。",
    "Attention is all you need. 注意力就是你所需要的一切。",
    "电话：+86 138-0013-8000，邮箱：test@example.cn",
    "价格是¥1,299.00，打八折后是¥1,039.20。",
    "他说：“我明天再来。”然后就走了。",
    "把它拿过来，把它放下，把它扔掉。",
    "北京、上海、广州和深圳是中国的一线城市。",
    "The model has 7B parameters and 32 layers (层).",
    "🤖 robots 机器人 🦾 arms 手臂 🧠 brains 大脑",
    "1234567890一二三四五六七八九十",
    "π≈3.14159，e≈2.71828，√2≈1.41421",
    "版本v1.2.3-beta于2023/12/31发布",
    "I'm 很高兴 to meet you! 你好吗? I've been 很好.",
    "他们在2008年北京奥运会上获得了51枚金牌🥇。",
    "Hello世界！Hello 世界！HELLO WORLD!",
    "用Python写一个快速排序：def qsort(a): return a",
    "x = 3.14; y = x ** 2  # 计算平方",
    "第1章 第2节 第３页 （全角数字１２３）",
    "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。",
    "👨‍👩‍👧‍👦 一家人 family of 4",
    "🇨🇳🇺🇸🇯🇵 flags 国旗",
    "mixed\n中文\n\nnewlines\r\n和回车\r\n",
    "  两个空格  and   three spaces   ",
    "tab\t制表符\t\ttwo tabs",
    "IT'S 'S 'Sam 'ſam we'LL they'RE I'VE he'D I'M",
    "it's they're we've I'm you'll he'd 's 't",
    "don't DON'T Don't",
    "100%的人都说好！！！？？？",
    "C语言、C++和Java都是编程语言。",
    "2+2=4，3×3=9，10÷2=5",
    "《三体》是刘慈欣的科幻小说，获得2015年雨果奖。",
    "这是一个非常非常非常非常非常非常长的句子，用来测试分词器。",
    "Emoji序列：❤️🧡💛💚💙💜🖤🤍🤎",
    "日期格式：2024-03-15T08:30:00+08:00",
    "URL：https://www.example.com/路径?查询=值&a=1",
    "你好<|endoftext|>世界",
    "<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|><|endoftext|>",
    "a<|endoftext|>b <|im_start|> c",
    "<s>LLaMA 的 BOS 是 <s>，EOS 是 </s>",
    "e\u0301 a\u0308 n\u0303 cafe\u0301 한\u1100\u1161 \u1100\u1161\u11a8",
    "\u212b \u2126 \u0958 \u1e9b\u0323",
    "数字１２３和①②③和Ⅻ和٣٤和²³",
    "半角ｶﾀｶﾅ和全角カタカナ",
    "Привет мир 你好世界 Hello world",
    "مرحبا 你好 שלום",
    "ok👍👍🏻👍🏿",
    "...。。。---——",
    "$100 and ¥100 and €100 and £100",
    "'''\"\"\"```",
    "   ",
    "\n",
    "\r\n\r\n",
    " a",
    "a ",
    "9999999999999999999999",
    "ⒶⒷⒸ ㊀㊁㊂ ㈠㈡",
    "\U0001F600\U0001F601\U0001F602 \U00020000\U0002A6D6",
    "z" * 300,
    "苹" * 50,
    "🍎" * 20,
]

LLAMA_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Once upon a time there was a little girl named Lily. She loved to play in the park.",
    "Attention is all you need. The transformer uses multi-head attention.",
    "Large language models are trained on a lot of text and they can write stories.",
    "我把它放在桌子上了。苹果和香蕉都很好吃。",
    "今天天气很好，我们去公园玩吧。",
    "深度学习是机器学习的一个分支。",
    "Hello world! Hello again, world. 1234567890",
    "it's a test, isn't it? we're here, they've gone, I'll stay.",
]


def enc_dict(enc, s):
    return {"sentence": s, "ids": enc.ids, "tokens": enc.tokens,
            "offsets": [list(o) for o in enc.offsets]}


def make_llama():
    """A LLaMA-2 style tokenizer.json: BPE with byte fallback, <unk>=0 <s>=1 </s>=2, the 256
    byte pieces <0x00>..<0xFF> at 3..258 as in LLaMA's vocabulary, then trained pieces."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=["<unk>", "<s>", "</s>"],
                                  limit_alphabet=80, show_progress=False)
    tok.train_from_iterator(LLAMA_CORPUS * 20, trainer)
    j = json.loads(tok.to_str())
    old = sorted(j["model"]["vocab"].items(), key=lambda kv: kv[1])
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for piece, _ in old:
        if piece not in vocab:
            vocab[piece] = len(vocab)
    j["model"]["vocab"] = vocab
    j["model"]["byte_fallback"] = True
    j["model"]["fuse_unk"] = True
    for a in j["added_tokens"]:
        a["id"] = vocab[a["content"]]
    j["decoder"] = json.loads(decoders.Sequence([
        decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
        decoders.Strip(content=" ", left=1, right=0)]).__getstate__())
    j["post_processor"] = json.loads(processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)]).__getstate__())
    legacy = dict(j)
    legacy["normalizer"] = json.loads(normalizers.Sequence([
        normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")]).__getstate__())
    legacy["pre_tokenizer"] = None
    meta = dict(j)
    meta["normalizer"] = None
    meta["pre_tokenizer"] = json.loads(pre_tokenizers.Metaspace(
        replacement="\u2581", prepend_scheme="first", split=False).__getstate__())
    return legacy, meta


def slow_check(name, sentences, fast_ids):
    """ids from transformers' slow tokenizer built from vocab.json + merges.txt only."""
    try:
        import transformers  # noqa: F401
        from transformers import GPT2Tokenizer, Qwen2Tokenizer
    except ImportError:
        return "slow tokenizer not cross-checked (transformers missing)"
    d = tempfile.mkdtemp()
    src = json.load(open(fixture(name + "/tokenizer.json"), encoding="utf-8"))
    with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(src["model"]["vocab"], f, ensure_ascii=False)
    with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for m in src["model"]["merges"]:
            f.write((m if isinstance(m, str) else " ".join(m)) + "\n")
    cls = Qwen2Tokenizer if "qwen" in name else GPT2Tokenizer
    extra = {}
    if "qwen" in name:
        extra = {"errors": "replace"}
    t = cls(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt"), **extra)
    for a in src["added_tokens"]:
        t.add_special_tokens({"additional_special_tokens": [a["content"]]}) if a["special"] \
            else t.add_tokens([a["content"]])
    diff = [s for s, ids in zip(sentences, fast_ids) if t(s)["input_ids"] != ids]
    for s in diff:
        print(f"  {name}: slow tokenizer differs: {s!r}")
    return f"transformers {cls.__name__} from vocab.json + merges.txt differs on {len(diff)} sentences"


def write_goldens(tok, name, path_json, sentences, note):
    tok.no_truncation()
    tok.no_padding()
    cases = [enc_dict(tok.encode(s), s) for s in sentences]
    doc = {"generator": "tests/gen/gen_bpe_goldens.py",
           "tokenizers_version": tokenizers.__version__,
           "tokenizer": path_json,
           "offsets": "characters of the sentence, [start, end); [0, 0] for post-processor specials",
           "slow_check": note,
           "cases": cases}
    out = os.path.join(FIX, f"tok-goldens-{name}.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    print(f"wrote {out}: {len(cases)} sentences; {note}")
    return cases


def main():
    os.environ["HF_HUB_OFFLINE"] = "1"
    sentences = MIXED + COMMON
    legacy, meta = make_llama()
    for d, j in (("tok-llama", legacy), ("tok-llama-metaspace", meta)):
        os.makedirs(os.path.join(FIX, d), exist_ok=True)
        with open(os.path.join(FIX, d, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(j, f, ensure_ascii=False, indent=1)
    for name in ("gpt2", "qwen2", "llama", "llama-metaspace"):
        path = fixture(f"tok-{name}/tokenizer.json")
        tok = Tokenizer.from_file(path)
        note = "no slow tokenizer (trained here)"
        if name in ("gpt2", "qwen2"):
            tok.no_truncation()
            fast = [tok.encode(s).ids for s in sentences]
            note = slow_check(f"tok-{name}", sentences, fast)
        write_goldens(tok, name, path, sentences, note)


if __name__ == "__main__":
    main()
