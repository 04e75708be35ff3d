#!/usr/bin/env python3
"""Fixtures of Blenderbot and BlenderbotSmall (tests/fixtures/s2s-blenderbot-*): BART's layers
with learned positions from row 0 (no offset). Blenderbot: pre-LN with final encoder and
decoder layer norms, no layernorm_embedding, scale_embedding in both stacks. BlenderbotSmall:
post-LN, layernorm_embedding after the positions in the encoder but on the token embeddings
before the positions in the decoder, and scale_embedding scaling the encoder's tokens only
(transformers' BlenderbotSmallDecoder computes embed_scale and never applies it).
*ForConditionalGeneration (tied or untied LM head, a nonzero final_logits_bias) and *Model,
F32/F16/BF16. See s2sgen.py.

Tokenizer: Blenderbot's is byte-level BPE; a BPE trained here with `tokenizers` on
fam_mbart_lang.py's corpus (ByteLevel pre-tokenizer), its vocabulary after
<s> <pad> </s> <unk> <mask>, handed to transformers' BlenderbotTokenizer and saved with
save_pretrained (tokenizer.json). BlenderbotSmallTokenizer exists only as a Python tokenizer
(vocab.json + merges.txt of its own BPE, no tokenizer.json): mhaviz refuses it by name
(tests/cli/seq2seq.sh makes such files with save_pretrained's layout).

  s2s-blenderbot-f32           BlenderbotForConditionalGeneration over the tokenizer's
                               vocabulary, scale_embedding, tied LM head, final_logits_bias,
                               with tokenizer.json and tokenizer_config.json
  s2s-blenderbot-model-bf16    BlenderbotModel (no LM head), no scale_embedding, BF16
  s2s-blenderbot-small-f16     BlenderbotSmallForConditionalGeneration, scale_embedding (the
                               encoder's tokens only), tied LM head, final_logits_bias, F16
  s2s-blenderbot-small-untied-f32  BlenderbotSmallForConditionalGeneration,
                               tie_word_embeddings false, ReLU, 3 decoder layers of ffn 40
  s2s-blenderbot-small-model-bf16  BlenderbotSmallModel, no scale_embedding, BF16

The tokenizer's goldens on 130 sentences: tests/gen/gen_tok_s2s_goldens.py (run it after this).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_blenderbot.py
"""
import os
import shutil
import sys
import tempfile

import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import (BlenderbotConfig, BlenderbotForConditionalGeneration, BlenderbotModel,
                          BlenderbotSmallConfig, BlenderbotSmallForConditionalGeneration,
                          BlenderbotSmallModel, BlenderbotTokenizer)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fam_mbart_lang as ml  # noqa: E402
import s2sgen as sg  # noqa: E402

TEXTS = [("The cat sat on the mat.", "Die Katze sass auf der Matte."),
         ("Hello world, how are you today?", "Salut lume, ce mai faci astazi?"),
         (" A small  model.", "Ein kleines Modell.")]
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def logits_bias(path):
    """A nonzero final_logits_bias (a buffer transformers initialises to zeros)."""
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    g = torch.Generator().manual_seed(11)
    b = sd["final_logits_bias"]
    sd["final_logits_bias"] = (torch.randn(b.shape, generator=g) * 0.5).to(b.dtype)
    save_file(sd, f, metadata={"format": "pt"})


def make_tokenizer(work):
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    bpe.train_from_iterator(ml.CORPUS.strip().split("\n"), trainer)
    state = bpe.model
    vocab = bpe.get_vocab()
    assert [vocab[s] for s in SPECIALS] == list(range(5))
    import json
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m)
              for m in json.loads(bpe.to_str())["model"]["merges"]]
    del state
    tok = BlenderbotTokenizer(vocab=vocab, merges=merges)
    out = os.path.join(work, "saved")
    tok.save_pretrained(out)
    return tok, out


def main():
    work = tempfile.mkdtemp(prefix="blenderbot.")
    tok, saved = make_tokenizer(work)
    small = dict(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                 decoder_attention_heads=4, encoder_ffn_dim=48, decoder_ffn_dim=48,
                 max_position_embeddings=24, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                 decoder_start_token_id=0)

    def add_tokenizer(path):
        logits_bias(path)
        shutil.copy(os.path.join(saved, "tokenizer_config.json"), path)

    sg.make("s2s-blenderbot-f32", BlenderbotForConditionalGeneration,
            BlenderbotConfig(**dict(small, max_position_embeddings=64), vocab_size=len(tok),
                             scale_embedding=True), seed=131,
            qk_std=0.35, avoid_ids=(1,), post=add_tokenizer,
            tokenizer=os.path.join(saved, "tokenizer.json"), texts=TEXTS,
            note="BlenderbotForConditionalGeneration with BlenderbotTokenizer's tokenizer.json: "
                 "pre-LN, final layer norms, positions from row 0, scale_embedding, tied LM "
                 "head, final_logits_bias")
    sg.make("s2s-blenderbot-model-bf16", BlenderbotModel, BlenderbotConfig(vocab_size=90, **small),
            seed=132, qk_std=0.35, dtype=torch.bfloat16, avoid_ids=(1,),
            note="BlenderbotModel (no LM head), no scale_embedding, BF16")
    sg.make("s2s-blenderbot-small-f16", BlenderbotSmallForConditionalGeneration,
            BlenderbotSmallConfig(vocab_size=90, scale_embedding=True, **small), seed=133,
            qk_std=0.35, dtype=torch.float16, avoid_ids=(1,), post=logits_bias,
            note="BlenderbotSmallForConditionalGeneration: post-LN, layernorm_embedding after "
                 "the positions (encoder) and before them (decoder), scale_embedding on the "
                 "encoder's tokens only, tied LM head, final_logits_bias, F16")
    sg.make("s2s-blenderbot-small-untied-f32", BlenderbotSmallForConditionalGeneration,
            BlenderbotSmallConfig(**dict(small, decoder_layers=3, decoder_ffn_dim=40),
                                  vocab_size=90, tie_word_embeddings=False,
                                  activation_function="relu"),
            seed=134, qk_std=0.35, avoid_ids=(1,), post=logits_bias,
            note="BlenderbotSmallForConditionalGeneration, tie_word_embeddings false, ReLU, "
                 "3 decoder layers of ffn 40")
    sg.make("s2s-blenderbot-small-model-bf16", BlenderbotSmallModel,
            BlenderbotSmallConfig(vocab_size=90, **small), seed=135, qk_std=0.35,
            dtype=torch.bfloat16, avoid_ids=(1,),
            note="BlenderbotSmallModel (no LM head), no scale_embedding, BF16")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
