#!/usr/bin/env python3
"""Fixtures of Chinese-CLIP (tests/fixtures/fam-chinese-clip-*): tiny random
ChineseCLIPTextModel (BERT) and ChineseCLIPModel checkpoints: the text tower over the ids of a
BertTokenizer made here (vocab.txt only, as the hub's checkpoints have it; Chinese sentences,
goldens/chinese-clip-tok.{txt,ids} for the CLI test), whose golden says "tower": "text", and
the vision tower (CLIP's) over a random image. Every head (float64, tolerance as famgen's).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_chinese_clip.py
"""
import os
import sys
import tempfile

import torch
from transformers import (BertTokenizer, ChineseCLIPConfig, ChineseCLIPModel,
                          ChineseCLIPTextConfig, ChineseCLIPTextModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
import visgen  # noqa: E402

TEXT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
            vocab_size=120, max_position_embeddings=24)
VISION = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=40,
              image_size=16, patch_size=4)


class ChineseCLIPText(fg.TextOf, ChineseCLIPModel):
    pass


class ChineseCLIPVision(ChineseCLIPModel):
    """The whole model, its forward being the vision tower's."""

    def forward(self, pixel_values=None, output_attentions=False, **kw):
        return self.vision_model(pixel_values=pixel_values, output_attentions=output_attentions)


SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHARS = list("一只猫在雪地里的照片两条狗和小孩子们公园中玩耍我爱北京天安门")
WORDS = ["a", "photo", "of", "cat", "##s", "dog", "2024", "，", "。", "！"]
SENTENCES = ["一只猫的照片", "两条狗在雪地里玩耍！", "我爱北京天安门，a photo of cats。",
             "小孩子们在公园中和狗玩耍 2024"]


VOCAB = SPECIALS + sorted(set(CHARS)) + WORDS


def bert_tokenizer():
    """BertTokenizer as from_pretrained loads it from a directory of vocab.txt alone."""
    with tempfile.TemporaryDirectory() as path:
        with open(os.path.join(path, "vocab.txt"), "w", encoding="utf-8") as f:
                f.write("\n".join(VOCAB) + "\n")
        return BertTokenizer.from_pretrained(path)


TOK = bert_tokenizer()
TOK_IDS = [TOK(s)["input_ids"] for s in SENTENCES]
with open(os.path.join(fg.GOLDENS, "chinese-clip-tok.ids"), "w") as f:
    for ids in TOK_IDS:
        f.write(" ".join(map(str, ids)) + "\n")
with open(os.path.join(fg.GOLDENS, "chinese-clip-tok.txt"), "w", encoding="utf-8") as f:
    f.write("\n".join(SENTENCES) + "\n")
print("vocab", len(TOK), "ids", TOK_IDS)


def save_vocab_only(path):
    """The tokenizer as the hub's Chinese-CLIP checkpoints hold it: vocab.txt and
    tokenizer_config.json (BertTokenizer), no tokenizer.json."""
    TOK.save_pretrained(path)
    with open(os.path.join(path, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(VOCAB) + "\n")
    for f in ("tokenizer.json", "special_tokens_map.json"):
        if os.path.exists(os.path.join(path, f)):
            os.remove(os.path.join(path, f))


fg.make("fam-chinese-clip-text-f16", ChineseCLIPTextModel, ChineseCLIPTextConfig(**TEXT), 311,
        0.6, "ChineseCLIPTextModel: BERT (post-norm, absolute positions, token types), F16",
        dtype=torch.float16)
fg.make("fam-chinese-clip-tok-f32", ChineseCLIPText,
        ChineseCLIPConfig(text_config=dict(TEXT, vocab_size=len(TOK)), vision_config=VISION,
                          projection_dim=8), 312, 0.6,
        "ChineseCLIPModel (model_type chinese_clip): its text tower (text_config, text_model.) "
        "over its BertTokenizer's ids (vocab.txt) of Chinese sentences",
        vocab_for_ids=len(TOK), ids=TOK_IDS, post=save_vocab_only)
fg.text_tower_golden("fam-chinese-clip-tok-f32")
visgen.make("fam-chinese-clip-vision-bf16", ChineseCLIPVision,
            ChineseCLIPConfig(text_config=TEXT, vision_config=VISION, projection_dim=8), 313,
            "ChineseCLIPModel (model_type chinese_clip): its vision tower (CLIP's: class "
            "embedding, pre-LayerNorm, QuickGELU), BF16", dtype=torch.bfloat16)
