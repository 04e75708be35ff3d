#!/usr/bin/env python3
"""Fixtures of the text towers of CLIP and SigLIP (tests/fixtures/fam-clip-text-*,
fam-siglip-text-*): tiny random CLIPTextModel, CLIPTextModelWithProjection, SiglipTextModel
checkpoints and whole CLIPModel / SiglipModel ones whose text tower mhaviz opens with
mhv_model_open_text_tower (their goldens say "tower": "text"), and the attention of every
head (float64, tolerance as famgen's). See famgen.py.

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_clip_text.py
"""
import os
import sys

import torch
from transformers import (CLIPConfig, CLIPModel, CLIPTextConfig, CLIPTextModel,
                          CLIPTextModelWithProjection, SiglipConfig, SiglipModel,
                          SiglipTextConfig, SiglipTextModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

TEXT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
            vocab_size=120, max_position_embeddings=16, bos_token_id=0,
            eos_token_id=1, pad_token_id=1)
VISION = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=24,
              image_size=8, patch_size=4)


TextOf, text_tower_golden = fg.TextOf, fg.text_tower_golden


class CLIPText(TextOf, CLIPModel):
    pass


class SiglipText(TextOf, SiglipModel):
    pass


fg.make("fam-clip-text-f32", CLIPTextModel, CLIPTextConfig(**TEXT), 301, 0.6,
        "CLIPTextModel: causal, QuickGELU, learned positions")
fg.make("fam-clip-text-proj-bf16", CLIPTextModelWithProjection,
        CLIPTextConfig(**dict(TEXT, hidden_act="gelu"), projection_dim=8), 302, 0.6,
        "CLIPTextModelWithProjection, hidden_act gelu, BF16", dtype=torch.bfloat16)
fg.make("fam-clip-text-full-f16", CLIPText,
        CLIPConfig(text_config=TEXT, vision_config=VISION, projection_dim=8), 303, 0.6,
        "CLIPModel (model_type clip): its text tower (text_config, text_model.), F16",
        vocab_for_ids=120,
        dtype=torch.float16)
text_tower_golden("fam-clip-text-full-f16")


# A whole CLIPModel with a CLIP tokenizer (CLIPTokenizer, a byte-level BPE with the "</w>"
# end-of-word suffix, saved as tokenizer.json): the goldens' ids are the tokenizer's for
# SENTENCES, written to goldens/clip-text-tok.ids for the CLI test (tests/cli/clip_text.sh).
from tokenizers.pre_tokenizers import ByteLevel  # noqa: E402
from transformers import CLIPTokenizer  # noqa: E402

SENTENCES = ["a photo of the cat", "The DOG in  snow!", "Ça, c'est l'été 2024 — phonograph's"]


def clip_tokenizer():
    alphabet = sorted(ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(alphabet)}
    for c in alphabet:
        vocab[c + "</w>"] = len(vocab)
    merges = []
    for a, b in [("t", "h"), ("th", "e</w>"), ("a", "t</w>"), ("c", "at</w>"), ("d", "o"),
                 ("do", "g</w>"), ("i", "n</w>"), ("s", "n"), ("sn", "o"), ("sno", "w</w>"),
                 ("p", "h"), ("ph", "o"), ("pho", "t"), ("phot", "o</w>"), ("o", "f</w>")]:
        merges.append((a, b))
        vocab[a + b] = len(vocab)
    for s in ["<|startoftext|>", "<|endoftext|>"]:
        vocab[s] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


TOK = clip_tokenizer()
TOK_IDS = [TOK(s)["input_ids"] for s in SENTENCES]
with open(os.path.join(fg.GOLDENS, "clip-text-tok.ids"), "w") as f:
    for ids in TOK_IDS:
        f.write(" ".join(map(str, ids)) + "\n")
with open(os.path.join(fg.GOLDENS, "clip-text-tok.txt"), "w") as f:
    f.write("\n".join(SENTENCES) + "\n")
fg.make("fam-clip-text-tok-f32", CLIPText,
        CLIPConfig(text_config=dict(TEXT, hidden_size=16, num_attention_heads=2,
                                    vocab_size=len(TOK), bos_token_id=TOK.bos_token_id,
                                    eos_token_id=TOK.eos_token_id,
                                    pad_token_id=TOK.pad_token_id,
                                    max_position_embeddings=40),
                   vision_config=VISION, projection_dim=8), 304, 0.6,
        "CLIPModel with its CLIPTokenizer (tokenizer.json): the text tower over the "
        "tokenizer's ids", vocab_for_ids=len(TOK), ids=TOK_IDS,
        post=lambda path: TOK.save_pretrained(path))
text_tower_golden("fam-clip-text-tok-f32")


# SigLIP: SiglipTextModel (bidirectional, tanh GELU, eps 1e-6) and a whole SiglipModel's text
# tower, over the sentence as given (SiglipProcessor's default, padding=False) and a sentence
# padded to max_position_embeddings with its pad token as padding="max_length" pads it
# (no attention mask: the pads are tokens). The pad id is 1 (SiglipTokenizer's "</s>").
STEXT = dict(TEXT, pad_token_id=1, eos_token_id=1, bos_token_id=None)
r = __import__("random").Random(305)
SIG_IDS = [[r.randrange(2, 120) for _ in range(n)] + [1] for n in (0, 5, 9)]
SIG_IDS.append(SIG_IDS[1] + [1] * (16 - len(SIG_IDS[1])))  # padded to max_length
fg.make("fam-siglip-text-f32", SiglipTextModel, SiglipTextConfig(**STEXT), 305, 0.6,
        "SiglipTextModel: bidirectional, tanh GELU; a sentence padded to max_length as "
        "padding='max_length' pads it (pads attended)", ids=SIG_IDS)
fg.make("fam-siglip-text-full-bf16", SiglipText,
        SiglipConfig(text_config=dict(STEXT, hidden_act="gelu_pytorch_tanh",
                                      layer_norm_eps=1e-5),
                     vision_config=VISION), 306, 0.6,
        "SiglipModel (model_type siglip): its text tower (text_config, text_model.), "
        "layer_norm_eps 1e-5, BF16", dtype=torch.bfloat16, vocab_for_ids=120, ids=SIG_IDS)
text_tower_golden("fam-siglip-text-full-bf16")
