#!/usr/bin/env python3
"""Whisper fixtures (tests/fixtures/whisper-*/) and their goldens
(tests/fixtures/goldens/whisper-*.json), made with transformers here:

- a byte-level BPE tokenizer trained with `tokenizers` on a few sentences, turned into a
  WhisperTokenizer with Whisper's special tokens (<|endoftext|>, <|startoftranscript|>, the
  100 language codes in LANGUAGES' order, <|translate|>, <|transcribe|>, <|startoflm|>,
  <|startofprev|>, <|nospeech|>, <|notimestamps|>; no timestamp tokens) and saved with
  save_pretrained (tokenizer.json, vocab.json, merges.txt ...); its encodings of a few
  strings with special tokens by WhisperTokenizer, set_prefix_tokens(language, task);
- small random checkpoints (WhisperConfig, from_config, save_pretrained): F32
  WhisperForConditionalGeneration (80 mels, 1-s window: 50 audio positions, tied proj_out),
  BF16 WhisperModel (128 mels, hop 320: 25 positions, 3 encoder layers, 1 decoder layer),
  F16 WhisperForConditionalGeneration with an untied proj_out (80 mels, hop 320);
  a WhisperForAudioClassification (the encoder alone: refused by name, no golden);
  each with a preprocessor_config.json (WhisperFeatureExtractor) and generation_config.json;
- per fixture and WAV (tests/fixtures/audio/, gen_audio_goldens.py), the decoder input ids
  and transformers' eager encoder/decoder/cross attentions in float64 (weights loaded in
  float64), the fp32 error as tolerance (1e-5 or 1.25x, the house rule) and the last
  position's fp32 logits. The features are the extractor's numpy path
  (_np_extract_fbank_features) of soundfile's float32 samples.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/fam_whisper.py
"""
import json
import os
import sys

import numpy as np
import soundfile as sf
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders
from transformers import (GenerationConfig, WhisperConfig, WhisperFeatureExtractor,
                          WhisperForAudioClassification, WhisperForConditionalGeneration,
                          WhisperModel, WhisperTokenizer, WhisperTokenizerFast)
from transformers.models.whisper.tokenization_whisper import LANGUAGES

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

AUDIO = os.path.join(fg.FIXTURES, "audio")
TOKDIR = os.path.join(fg.FIXTURES, "whisper-tok")
CORPUS = ["the cat sat on the mat", "a quick brown fox jumps over the lazy dog",
          "hello world, this is a test of whisper", "speech to text with attention heads",
          "où est la gare ? la gare est là", "der Hund schläft im Garten"] * 20
SPECIALS = (["<|endoftext|>", "<|startoftranscript|>"] + ["<|%s|>" % c for c in LANGUAGES] +
            ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
             "<|nospeech|>", "<|notimestamps|>"])
TEXTS = ["the cat sat", "hello world, this is a test", " où est la gare?"]


def make_tokenizer():
    fg.reset_dir(TOKDIR)
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                             special_tokens=[])
    tk.train_from_iterator(CORPUS, tr)
    vocab = tk.get_vocab()
    merges = json.loads(tk.to_str())["model"]["merges"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in merges]
    slow = WhisperTokenizer(vocab=vocab, merges=merges)
    slow.add_special_tokens({"additional_special_tokens": SPECIALS[1:]})
    slow.set_prefix_tokens()
    slow.save_pretrained(TOKDIR)
    for f in os.listdir(TOKDIR):
        os.chmod(os.path.join(TOKDIR, f), 0o644)
    cases = []
    for lang, task in [(None, None), ("en", "transcribe"), ("fr", "translate"), ("de", None)]:
        # a fresh one each time: set_prefix_tokens(None) keeps the previous language and task
        fast = WhisperTokenizerFast.from_pretrained(TOKDIR, language=lang, task=task)
        for t in TEXTS:
            e = fast(t)
            cases.append({"language": lang, "task": task, "text": t, "ids": e["input_ids"],
                          "tokens": fast.convert_ids_to_tokens(e["input_ids"])})
    fast = WhisperTokenizerFast.from_pretrained(TOKDIR)
    with open(os.path.join(fg.GOLDENS, "whisper-tok.json"), "w", encoding="utf-8") as f:
        json.dump({"source": fg.SOURCE, "vocab_size": len(fast), "cases": cases}, f,
                  ensure_ascii=False, indent=1)
        f.write("\n")
    return fast


def features(fe, wav):
    y, sr = sf.read(os.path.join(AUDIO, wav), dtype="float32")
    padded = fe.pad({"input_features": [np.asarray([y]).T]}, padding="max_length",
                    max_length=fe.n_samples, truncation=True)
    wave = padded["input_features"].transpose(2, 0, 1)[0]
    return fe._np_extract_fbank_features(wave, "cpu").astype(np.float32)


def run(model, feats, dec):
    with torch.no_grad():
        out = model(input_features=feats, decoder_input_ids=torch.tensor([dec]),
                    use_cache=False, output_attentions=True)
    stacks = [torch.stack([a[0] for a in getattr(out, k)])
              for k in ("encoder_attentions", "decoder_attentions", "cross_attentions")]
    logits = out.logits[0, -1] if getattr(out, "logits", None) is not None else None
    return stacks, logits


def whisper_generation_config(cfg, tok):
    """A generation_config.json laid out as the released Whisper checkpoints' (language and
    task tables, forced_decoder_ids, suppress_tokens, begin_suppress_tokens, alignment_heads),
    for the fixture's tokenizer."""
    ids = tok.convert_tokens_to_ids
    eot = cfg.eos_token_id
    return GenerationConfig(
        decoder_start_token_id=cfg.decoder_start_token_id, eos_token_id=eot, pad_token_id=eot,
        bos_token_id=eot, max_length=cfg.max_target_positions,
        # 254 and <|notimestamps|> are what this random model would write first and next
        # without them: the goldens then depend on both lists and on where they begin
        suppress_tokens=[1, 2, 7, 8, 9, 10, 14, 25, 26, 27, 28, 29, 31, 58, 59, 60, 61, 62, 63,
                         254],
        begin_suppress_tokens=[220, eot, ids("<|notimestamps|>")],
        forced_decoder_ids=[[1, None], [2, ids("<|transcribe|>")]],
        lang_to_id={"<|%s|>" % c: ids("<|%s|>" % c) for c in LANGUAGES},
        task_to_id={"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")},
        is_multilingual=True, no_timestamps_token_id=ids("<|notimestamps|>"),
        alignment_heads=[[1, 0], [1, 2]])


def make(name, cls, cfg, fe, dtype, seed, wavs, note, tok, gens=()):
    path = os.path.join(fg.FIXTURES, name)
    fg.reset_dir(path)
    torch.manual_seed(seed)
    model = fg.randomize(cls(cfg), seed, qk_std=0.35, gain=0.5).eval().to(dtype)
    model.save_pretrained(path)
    fe.save_pretrained(path)
    if gens:
        whisper_generation_config(cfg, tok).save_pretrained(path)
    else:
        GenerationConfig(decoder_start_token_id=cfg.decoder_start_token_id,
                         eos_token_id=cfg.eos_token_id, pad_token_id=cfg.pad_token_id,
                         suppress_tokens=[], begin_suppress_tokens=[cfg.eos_token_id]
                         ).save_pretrained(path)
    tok.save_pretrained(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)
    ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    r64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    worst, sents = 0.0, []
    for wav, text in wavs:
        f = torch.from_numpy(features(fe, wav))
        dec = tok(text)["input_ids"]
        s32, l32 = run(ref, f, dec)
        s64, _ = run(r64, f.double(), dec)
        for a, b in zip(s32, s64):
            worst = max(worst, (a.double() - b).abs().max().item())
        sents.append((wav, text, dec, s64, l32))
    tol = max(1e-5, 1.25 * worst)
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(fg.SOURCE),
             ' "class": %s,' % json.dumps(cls.__name__), ' "note": %s,' % json.dumps(note),
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol, ' "sentences": [']
    items = []
    for wav, text, dec, stacks, logits in sents:
        s = '  {"wav": %s, "text": %s,\n   "tgt_ids": %s' % (json.dumps(wav), json.dumps(text),
                                                           json.dumps(dec))
        for key, att in zip(("encoder", "decoder", "cross"), stacks):
            s += ',\n   "%s": %s' % (key, fg._dump(att.tolist(), 4))
        if logits is not None:
            s += ',\n   "logits_last": %s' % fg._dump(logits.float().tolist(), 1)
        items.append(s + "}")
    parts.append(",\n".join(items))
    # greedy generate() as WhisperForConditionalGeneration runs it: language detection when
    # none is given, its prompt, suppress_tokens and begin_suppress_tokens
    out = []
    for wav, lang, task, max_new in gens:
        f = torch.from_numpy(features(fe, wav))
        with torch.no_grad():
            res = ref.generate(f, language=lang, task=task, max_new_tokens=max_new,
                               return_dict_in_generate=True, output_scores=True)
        seq = res.sequences[0].tolist()
        margin = min((sc[0].topk(2).values[0] - sc[0].topk(2).values[1]).item()
                     for sc in res.scores)
        out.append('{"wav": %s, "language": %s, "task": %s, "max_new": %d, "ids": %s, '
                   '"min_margin": %.3g}' % (json.dumps(wav), json.dumps(lang), json.dumps(task),
                                            max_new, json.dumps(seq), margin))
        print("  generate %s %s %s: %s (margin %.2g)" % (wav, lang, task, seq, margin))
    parts.append(" ],")
    parts.append(' "generate": [%s]}' % ",\n  ".join(out))
    gpath = os.path.join(fg.GOLDENS, name + ".json")
    with open(gpath, "w", encoding="utf-8") as fo:
        fo.write("\n".join(parts) + "\n")
    json.load(open(gpath))
    print("%s: %s, fp32 vs fp64 %.2g, tolerance %.2g" % (name, cls.__name__, worst, tol))


def main():
    torch.set_num_threads(1)
    tok = make_tokenizer()
    V = len(tok)
    sot = tok.convert_tokens_to_ids("<|startoftranscript|>")
    eot = tok.convert_tokens_to_ids("<|endoftext|>")
    base = dict(vocab_size=V, d_model=32, encoder_layers=2, decoder_layers=2,
                encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48,
                decoder_ffn_dim=40, max_target_positions=24, pad_token_id=eot,
                bos_token_id=eot, eos_token_id=eot, decoder_start_token_id=sot,
                begin_suppress_tokens=[eot], suppress_tokens=[])
    make("whisper-f32", WhisperForConditionalGeneration,
         WhisperConfig(**base, num_mel_bins=80, max_source_positions=50),
         WhisperFeatureExtractor(feature_size=80, chunk_length=1), torch.float32, 61,
         [("sweep16.wav", "the cat sat"), ("speech16.wav", "hello world, this is a test")],
         "WhisperForConditionalGeneration: 80 mels, 1-s window (50 positions), tied proj_out, "
         "head_dim 8 (q scaled before the product), speech16 cut to 1 s", tok,
         gens=[("sweep16.wav", None, None, 8), ("speech16.wav", "en", None, 8),
               ("speech16.wav", "fr", "translate", 6)])
    make("whisper-model-bf16", WhisperModel,
         WhisperConfig(**dict(base, encoder_layers=3, decoder_layers=1), num_mel_bins=128,
                       max_source_positions=25),
         WhisperFeatureExtractor(feature_size=128, chunk_length=1, hop_length=320),
         torch.bfloat16, 62, [("mix24.wav", " où est la gare?")],
         "WhisperModel (no LM head): 128 mels, hop 320 (25 positions), 3 encoder layers, "
         "1 decoder layer, BF16", tok)
    make("whisper-untied-f16", WhisperForConditionalGeneration,
         WhisperConfig(**dict(base, d_model=64, encoder_attention_heads=4,
                              decoder_attention_heads=4), num_mel_bins=80,
                       max_source_positions=25, tie_word_embeddings=False,
                       activation_function="gelu_new"),
         WhisperFeatureExtractor(feature_size=80, chunk_length=1, hop_length=320),
         torch.float16, 63, [("silence16.wav", "the cat sat")],
         "WhisperForConditionalGeneration: untied proj_out, gelu_new, d_model 64 (head_dim "
         "16), hop 320, F16, silence", tok)
    # the encoder with a classifier: refused by name (no golden)
    path = os.path.join(fg.FIXTURES, "whisper-audiocls-f32")
    fg.reset_dir(path)
    torch.manual_seed(64)
    WhisperForAudioClassification(WhisperConfig(
        **dict(base, encoder_layers=1, d_model=16, encoder_ffn_dim=16, decoder_ffn_dim=16,
               encoder_attention_heads=2, decoder_attention_heads=2, vocab_size=8),
        num_mel_bins=80, max_source_positions=50, classifier_proj_size=8,
        num_labels=2)).save_pretrained(path)
    WhisperFeatureExtractor(feature_size=80, chunk_length=1).save_pretrained(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)


if __name__ == "__main__":
    main()
