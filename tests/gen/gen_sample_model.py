#!/usr/bin/env python3
"""Write samples/sentence.txt and samples/sentences.txt, and with DIR a random-weight demo BERT.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 python3 tests/gen/gen_sample_model.py [DIR]

The bundled samples/model is now the trained demo model (samples/zh-demo/train.py); this
random one was its placeholder and is kept for fixtures and comparisons (random vs trained).

A small BERT (hidden 64, 4 layers, 4 heads) in the Hugging Face layout, with
a vocab.txt trimmed from bert-base-chinese (Apache-2.0) to what
samples/sentence.txt and samples/sentences.txt use. Weights are random
(fixed seed), scaled like the test fixtures so the maps are not uniform.
Deterministic; overwrites its outputs.
"""

import os
import sys

from transformers import BertConfig

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bertgen as bg  # noqa: E402
import gen_bert_fixtures as fx  # noqa: E402

SAMPLES = os.path.join(bg.REPO, "samples")
SENTENCE = "苹果从树上掉下来，小明把它捡起来了。"
MORE = [
    "我昨天在图书馆借了三本书。",
    "虽然下雨了，但是我们还是去公园散步。",
    "老师问学生：「你们明白了吗？」",
    "小猫看见一只蝴蝶，就追了过去。",
    "他把钥匙忘在家里，只好等妈妈回来。",
]
SEED = 2024


def main():
    os.makedirs(SAMPLES, exist_ok=True)
    with open(os.path.join(SAMPLES, "sentence.txt"), "w", encoding="utf-8") as f:
        f.write(SENTENCE + "\n")
    with open(os.path.join(SAMPLES, "sentences.txt"), "w", encoding="utf-8") as f:
        f.write("".join(s + "\n" for s in [SENTENCE] + MORE))
    texts = [SENTENCE] + MORE

    if len(sys.argv) < 2:
        return
    vocab = fx.trimmed_chinese_vocab(texts, 0, SEED)
    d = sys.argv[1]
    readme = os.path.join(d, "README.md")
    keep = open(readme, encoding="utf-8").read() if os.path.exists(readme) else None
    bg.reset_dir(d)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=64, num_hidden_layers=4,
                     num_attention_heads=4, intermediate_size=128, max_position_embeddings=64,
                     type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12)
    m = bg.new_random_bert(cfg, SEED, fx.QK_STD, fx.OTHER_GAIN)
    m.save_pretrained(d)
    fx.write_tokenizer_files(d, vocab, False)
    if keep is not None:
        with open(readme, "w", encoding="utf-8") as f:
            f.write(keep)

    toks = fx.tokenized(d, texts)
    assert [tk for _, tk in toks] == fx.full_chinese_pieces(texts)
    assert all("[UNK]" not in tk for _, tk in toks)
    ids = [i for i, _ in toks]
    m2, info = bg.load_bert(d)
    assert not info["missing_keys"]
    bg.print_peakiness(d, bg.peakiness(m2, ids))
    # no golden is made from the demo model: report conditioning, don't gate on it
    print("  fp32 vs fp64 max |diff| %.2e" % bg.check_conditioning(m2, ids, limit=1e-5))
    print("%s: vocab %d, %d bytes" % (d, len(vocab), bg.dir_size(d)))


if __name__ == "__main__":
    main()
