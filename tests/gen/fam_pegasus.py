#!/usr/bin/env python3
"""Fixtures of Pegasus (tests/fixtures/s2s-pegasus-*): BART's layers pre-LN with final encoder
and decoder layer norms, no layernorm_embedding, Marian's sinusoidal positions (sines in the
first half of a row, cosines in the second), scale_embedding, PegasusForConditionalGeneration
(LM head tied or not, final_logits_bias) and PegasusModel, F32/F16/BF16. See s2sgen.py.

Tokenizer: a SentencePiece unigram model trained here on fam_mbart_lang.py's corpus (Pegasus's
ids: <pad> 0, </s> 1, <unk> 2), turned into PegasusTokenizer's tokenizer.json by transformers
(AutoTokenizer on spiece.model with tokenizer_class PegasusTokenizer: the pieces after its
<mask_1>, <mask_2> and <unk_2> .. <unk_102>, Precompiled charsmap then spaces collapsed,
Metaspace, "$A </s>"), saved with save_pretrained; the golden's text_pairs hold the source as
it encodes it and the decoder's input (decoder_start_token_id <pad>, then
tokenizer(text_target=...)).

  s2s-pegasus-f32        PegasusForConditionalGeneration over the tokenizer's vocabulary,
                         scale_embedding, tied LM head, a nonzero final_logits_bias, with
                         tokenizer.json and tokenizer_config.json
  s2s-pegasus-model-f16  PegasusModel (no LM head), d_model 33 (an odd sinusoid: one more
                         sine column than cosine columns), no scale_embedding, no stored position tables, F16
  s2s-pegasus-untied-bf16 PegasusForConditionalGeneration with tie_word_embeddings false
                         (encoder, decoder and LM head each their own matrix), ReLU, decoder
                         ffn and layer count unlike the encoder's, BF16; its position tables
                         stored (random: transformers uses what the file holds)

The tokenizer's goldens on 130 sentences: tests/gen/gen_tok_s2s_goldens.py (run it after this).

    HF_HUB_OFFLINE=1 /path/to/venv/bin/python tests/gen/fam_pegasus.py
"""
import json
import os
import shutil
import sys
import tempfile

import sentencepiece as spm
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, PegasusConfig, PegasusForConditionalGeneration, PegasusModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fam_mbart_lang as ml  # noqa: E402
import s2sgen as sg  # noqa: E402

TEXTS = [("The cat sat on the mat.", "Die Katze sass auf der Matte."),
         ("Hello  world,   how are you today?", "Salut lume, ce mai faci astazi?"),
         ("A small model.", "Ein kleines Modell.")]


def logits_bias(path):
    """A nonzero final_logits_bias (a buffer transformers initialises to zeros)."""
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    g = torch.Generator().manual_seed(7)
    b = sd["final_logits_bias"]
    sd["final_logits_bias"] = (torch.randn(b.shape, generator=g) * 0.5).to(b.dtype)
    save_file(sd, f, metadata={"format": "pt"})


def drop_positions(path):
    """Without the stored sinusoid tables, as older Pegasus files are: transformers then
    computes them (PegasusSinusoidalPositionalEmbedding.create_weight)."""
    f = os.path.join(path, "model.safetensors")
    sd = {k: v for k, v in load_file(f).items() if not k.endswith("embed_positions.weight")}
    save_file(sd, f, metadata={"format": "pt"})


def make_tokenizer(work):
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(ml.CORPUS.strip().split("\n")), model_prefix=os.path.join(work, "m"),
        vocab_size=100, model_type="unigram", character_coverage=1.0, num_threads=1,
        normalization_rule_name="nmt_nfkc", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        minloglevel=2)
    d = os.path.join(work, "tok")
    os.makedirs(d)
    shutil.copy(os.path.join(work, "m.model"), os.path.join(d, "spiece.model"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PegasusTokenizer"}, f)
    tok = AutoTokenizer.from_pretrained(d)
    assert type(tok).__name__ == "PegasusTokenizer", type(tok).__name__
    out = os.path.join(work, "saved")
    tok.save_pretrained(out)
    return tok, out


def main():
    work = tempfile.mkdtemp(prefix="pegasus.")
    tok, saved = make_tokenizer(work)
    small = dict(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                 decoder_attention_heads=4, encoder_ffn_dim=48, decoder_ffn_dim=48,
                 max_position_embeddings=40, pad_token_id=0, eos_token_id=1,
                 decoder_start_token_id=0)

    def add_tokenizer(path):
        logits_bias(path)
        drop_positions(path)
        shutil.copy(os.path.join(saved, "tokenizer_config.json"), path)

    sg.make("s2s-pegasus-f32", PegasusForConditionalGeneration,
            PegasusConfig(vocab_size=len(tok), scale_embedding=True, **small), seed=121,
            qk_std=0.35, post=add_tokenizer, tokenizer=os.path.join(saved, "tokenizer.json"),
            texts=TEXTS,
            note="PegasusForConditionalGeneration with PegasusTokenizer's tokenizer.json: "
                 "pre-LN, final layer norms, sinusoidal positions, scale_embedding, tied LM "
                 "head, final_logits_bias, position tables computed (not in the file)")
    sg.make("s2s-pegasus-model-f16", PegasusModel,
            PegasusConfig(**dict(small, d_model=33, encoder_attention_heads=3,
                                 decoder_attention_heads=3), vocab_size=90),
            seed=122, qk_std=0.35, dtype=torch.float16, post=drop_positions,
            note="PegasusModel (no LM head), d_model 33 (odd sinusoid), no scale_embedding, "
                 "position tables computed (not in the file), F16")
    sg.make("s2s-pegasus-untied-bf16", PegasusForConditionalGeneration,
            PegasusConfig(**dict(small, decoder_layers=3, decoder_ffn_dim=40), vocab_size=90,
                          tie_word_embeddings=False, scale_embedding=True,
                          activation_function="relu"),
            seed=123, qk_std=0.35, dtype=torch.bfloat16, post=logits_bias,
            note="PegasusForConditionalGeneration, tie_word_embeddings false (own encoder, "
                 "decoder and LM head matrices), ReLU, 3 decoder layers of ffn 40, stored "
                 "(random) position tables, BF16")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
