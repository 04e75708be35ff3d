#!/usr/bin/env python3
"""Speech encoder fixtures (tests/fixtures/speech-*/) and their goldens
(tests/fixtures/goldens/speech-*.json), made with transformers here:

- two short WAVs synthesised with numpy and written with soundfile
  (tests/fixtures/audio/w2v-voiced.wav: 1 s of 16-bit PCM, a vowel-like harmonic
  series under a syllable envelope with noise; w2v-short.wav: 0.2 s of float32 chirp
  and noise), and the input_values Wav2Vec2FeatureExtractor makes of each
  (w2v-*.input.f32: the float32 samples after its zero-mean unit-variance norm);
- small random checkpoints (Wav2Vec2Config / HubertConfig / Data2VecAudioConfig /
  WavLMConfig, from_config,
  save_pretrained) with a Wav2Vec2FeatureExtractor saved beside (preprocessor_config.json):
  group and layer feature-encoder norms, post-LN and stable (pre-LN) encoders, even and
  odd positional-convolution kernels, conv biases, F32/F16/BF16, *Model and *ForCTC
  prefixes, data2vec-audio's stack of positional convolutions, WavLM's gated relative
  position bias (per-head weights: transformers returns their mean), feature-encoder
  reductions long enough for the 64-term blocks mhaviz sums them in (speech-w2v-split),
  the positional convolution's weight norm stored as
  parametrizations.weight.original0/1 (what torch's parametrizations save) and as the
  older weight_g/weight_v (renamed in the file: what older transformers saved);
- per fixture and WAV, transformers' eager attention of every head (output_attentions=True)
  in float64 (weights loaded in float64, input_values as the extractor made them), the
  fp32 run's error as tolerance (1e-5 or 1.25x, the house rule), and the frame count.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/fam_wav2vec2.py
"""
import json
import os
import sys

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from transformers import (Data2VecAudioConfig, Data2VecAudioForCTC, Data2VecAudioModel,
                          HubertConfig, HubertForCTC, HubertModel, Wav2Vec2Config,
                          Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC, Wav2Vec2Model, WavLMConfig,
                          WavLMForCTC, WavLMModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402

AUDIO = os.path.join(fg.FIXTURES, "audio")
RATE = 16000


def make_wavs():
    rng = np.random.default_rng(7)
    t = np.arange(RATE) / RATE
    f0 = 140 + 30 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None) ** 0.7
    y = 0.3 * env * voiced + 0.01 * rng.standard_normal(RATE)
    sf.write(os.path.join(AUDIO, "w2v-voiced.wav"), y, RATE, subtype="PCM_16")
    n = int(0.2 * RATE)
    t = np.arange(n) / RATE
    y = 0.4 * np.sin(2 * np.pi * (300 * t + 2000 * t * t)) + 0.05 * rng.standard_normal(n)
    sf.write(os.path.join(AUDIO, "w2v-short.wav"), y.astype(np.float32), RATE, subtype="FLOAT")


def input_values(fe, wav):
    y, sr = sf.read(os.path.join(AUDIO, wav), dtype="float32")
    assert sr == fe.sampling_rate
    return fe(y, sampling_rate=sr, return_tensors="np").input_values[0].astype(np.float32)


def to_weight_g(path):
    """Renames the positional convolution's parametrizations.weight.original0/1 to
    weight_g/weight_v, as checkpoints saved before torch's parametrizations hold them."""
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    out = {}
    for k, v in sd.items():
        k = k.replace("parametrizations.weight.original0", "weight_g")
        k = k.replace("parametrizations.weight.original1", "weight_v")
        out[k] = v.contiguous()
    assert any(k.endswith("weight_g") for k in out)
    save_file(out, f, metadata={"format": "pt"})


def run(model, x):
    with torch.no_grad():
        out = model(input_values=x, output_attentions=True)
    return torch.stack([a[0] for a in out.attentions])


def run_per_head(model, x):
    """WavLM: its attention calls F.multi_head_attention_forward with the default
    average_attn_weights=True, so transformers' attentions are the heads' mean, repeated
    for every head. The same call with average_attn_weights=False gives each head's own
    weights (then repeated along the first head axis: row 0 taken); their mean is checked
    against transformers' own output."""
    orig = F.multi_head_attention_forward

    def per_head(*args, **kw):
        kw["average_attn_weights"] = False
        return orig(*args, **kw)

    F.multi_head_attention_forward = per_head
    try:
        with torch.no_grad():
            out = model(input_values=x, output_attentions=True)
    finally:
        F.multi_head_attention_forward = orig
    heads = torch.stack([a[0, 0] for a in out.attentions])
    mean = run(model, x)
    assert (heads.mean(dim=1, keepdim=True) - mean).abs().max().item() < 1e-6
    return heads


def make(name, cls, cfg, fe, dtype, seed, wavs, note, post=None, runner=run):
    path = os.path.join(fg.FIXTURES, name)
    fg.reset_dir(path)
    torch.manual_seed(seed)
    model = fg.randomize(cls(cfg), seed, qk_std=0.35, gain=0.8).eval().to(dtype)
    model.save_pretrained(path)
    fe.save_pretrained(path)
    if post:
        post(path)
    for f in os.listdir(path):
        os.chmod(os.path.join(path, f), 0o644)
    ref = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    r64 = cls.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    # what was saved is what was loaded (weight_g / weight_v renamed back included)
    saved = model.state_dict()
    for k, v in ref.state_dict().items():
        assert torch.equal(v, saved[k].float()), k
    worst, sents = 0.0, []
    for wav in wavs:
        x = torch.from_numpy(input_values(fe, wav))[None]
        a32 = runner(ref, x)
        a64 = runner(r64, x.double())
        worst = max(worst, (a32.double() - a64).abs().max().item())
        sents.append((wav, a64))
    tol = max(1e-5, 1.25 * worst)
    peak = sents[0][1].max(dim=-1).values.mean().item()
    parts = ['{"fixture": %s,' % json.dumps(name), ' "source": %s,' % json.dumps(fg.SOURCE),
             ' "class": %s,' % json.dumps(cls.__name__), ' "note": %s,' % json.dumps(note),
             ' "fp32_vs_fp64": %.3g,' % worst, ' "tolerance": %.3g,' % tol,
             ' "mean_row_max": %.3f,' % peak, ' "sentences": [']
    items = []
    for wav, att in sents:
        items.append('  {"wav": %s, "frames": %d,\n   "attentions": %s}' %
                     (json.dumps(wav), att.shape[-1], fg._dump(att.tolist(), 4)))
    parts.append(",\n".join(items))
    parts.append(" ]}")
    gpath = os.path.join(fg.GOLDENS, name + ".json")
    with open(gpath, "w", encoding="utf-8") as fo:
        fo.write("\n".join(parts) + "\n")
    json.load(open(gpath))
    print("%s: %s, frames %s, fp32 vs fp64 %.2g, tolerance %.2g, mean row max %.2f" %
          (name, cls.__name__, [a.shape[-1] for _, a in sents], worst, tol, peak))


def main():
    torch.set_num_threads(1)
    make_wavs()
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=RATE, padding_value=0.0,
                                  do_normalize=True, return_attention_mask=False)
    for wav in ("w2v-voiced.wav", "w2v-short.wav"):
        input_values(fe, wav).tofile(os.path.join(AUDIO, wav[:-4] + ".input.f32"))
    small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=48, vocab_size=12, layerdrop=0.0)
    # the released base models' convolution geometry (320 samples a frame), narrow
    make("speech-w2v-group", Wav2Vec2Model,
         Wav2Vec2Config(**small, conv_dim=(8,) * 7, num_conv_pos_embeddings=16,
                        num_conv_pos_embedding_groups=4),
         fe, torch.float32, 81, ["w2v-voiced.wav", "w2v-short.wav"],
         "Wav2Vec2Model: group norm on the first conv, 7 convs of the base models' "
         "kernels and strides, no conv bias, post-LN, positional conv kernel 16 (even: "
         "last frame dropped) in 4 groups, F32")
    # the large models' form: layer norm after every conv, stable layer norm, conv bias
    make("speech-w2v-stable-f16", Wav2Vec2ForCTC,
         Wav2Vec2Config(**small, conv_dim=(16, 12, 8), conv_kernel=(10, 5, 3),
                        conv_stride=(5, 4, 4), conv_bias=True, feat_extract_norm="layer",
                        do_stable_layer_norm=True, num_conv_pos_embeddings=5,
                        num_conv_pos_embedding_groups=2, hidden_act="gelu_new"),
         fe, torch.float16, 82, ["w2v-short.wav"],
         "Wav2Vec2ForCTC: layer norm after every conv, conv bias, stable layer norm "
         "(pre-LN, final encoder norm), positional conv kernel 5 (odd) in 2 groups, "
         "gelu_new, 80 samples a frame, F16")
    make("speech-w2v-weightg-bf16", Wav2Vec2Model,
         Wav2Vec2Config(**dict(small, num_attention_heads=2), conv_dim=(12, 8, 8),
                        conv_kernel=(8, 4, 4), conv_stride=(4, 4, 4),
                        num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=8,
                        feat_extract_activation="relu", layer_norm_eps=1e-6),
         fe, torch.bfloat16, 83, ["w2v-short.wav"],
         "Wav2Vec2Model: the positional conv's weight norm stored as weight_g/weight_v, "
         "relu feature activation, layer_norm_eps 1e-6, 2 heads, BF16",
         post=to_weight_g)
    # reductions long enough for the feature encoder's 64-term blocks (lib/model/wav2vec2.c
    # SPEECH_SPLIT): 2 blocks (conv 1: 24 x 5), 6 (conv 2: 48 x 7, summed 4 + 2) and the
    # projection's 2 (80)
    make("speech-w2v-split", Wav2Vec2Model,
         Wav2Vec2Config(**small, conv_dim=(24, 48, 80), conv_kernel=(10, 5, 7),
                        conv_stride=(5, 4, 4), num_conv_pos_embeddings=8,
                        num_conv_pos_embedding_groups=4),
         fe, torch.float32, 91, ["w2v-short.wav"],
         "Wav2Vec2Model: convolution reductions of 120 and 336 terms and a projection of 80 "
         "(several 64-term blocks each), group norm, post-LN, F32")
    make("speech-hubert", HubertModel,
         HubertConfig(**small, conv_dim=(16, 12, 8), conv_kernel=(10, 5, 3),
                      conv_stride=(5, 4, 4), num_conv_pos_embeddings=6,
                      num_conv_pos_embedding_groups=4),
         fe, torch.float32, 84, ["w2v-short.wav"],
         "HubertModel: group norm, post-LN, feature projection with its layer norm, "
         "positional conv kernel 6, F32")
    make("speech-hubert-ctc-bf16", HubertForCTC,
         HubertConfig(**dict(small, num_hidden_layers=3), conv_dim=(16, 8),
                      conv_kernel=(16, 8), conv_stride=(8, 10), conv_bias=True,
                      feat_extract_norm="layer", do_stable_layer_norm=True,
                      feat_proj_layer_norm=False, num_conv_pos_embeddings=7,
                      num_conv_pos_embedding_groups=4),
         fe, torch.bfloat16, 85, ["w2v-short.wav"],
         "HubertForCTC: layer norms, conv bias, stable layer norm, no feature projection "
         "norm (feat_proj_layer_norm false), 3 layers, BF16")
    make("speech-hubert-weightg", HubertModel,
         HubertConfig(**small, conv_dim=(8, 8), conv_kernel=(10, 8), conv_stride=(10, 8),
                      num_conv_pos_embeddings=4, num_conv_pos_embedding_groups=2),
         fe, torch.float32, 86, ["w2v-short.wav"],
         "HubertModel: weight_g/weight_v, kernel 4, F32", post=to_weight_g)
    make("speech-d2v-audio", Data2VecAudioModel,
         Data2VecAudioConfig(**small, conv_dim=(16, 12, 8), conv_kernel=(10, 5, 3),
                             conv_stride=(5, 4, 4), num_conv_pos_embeddings=2,
                             conv_pos_kernel_size=5, num_conv_pos_embedding_groups=4),
         fe, torch.float32, 87, ["w2v-short.wav"],
         "Data2VecAudioModel: layer norm after every conv, 2 positional convs of kernel 5 "
         "(odd) each with a parameterless LayerNorm, post-LN, F32")
    make("speech-d2v-audio-ctc-f16", Data2VecAudioForCTC,
         Data2VecAudioConfig(**dict(small, num_hidden_layers=3), conv_dim=(16, 8),
                             conv_kernel=(16, 8), conv_stride=(8, 10), conv_bias=True,
                             num_conv_pos_embeddings=3, conv_pos_kernel_size=4,
                             num_conv_pos_embedding_groups=2, feat_extract_activation="relu"),
         fe, torch.float16, 88, ["w2v-short.wav"],
         "Data2VecAudioForCTC: 3 positional convs of kernel 4 (even: last frame dropped), "
         "conv bias, relu, 3 layers, F16")
    # WavLM: buckets small enough that the 40 frames reach the logarithmic ones
    make("speech-wavlm", WavLMModel,
         WavLMConfig(**small, conv_dim=(16, 12, 8), conv_kernel=(10, 5, 3),
                     conv_stride=(5, 4, 4), num_conv_pos_embeddings=6,
                     num_conv_pos_embedding_groups=4, num_buckets=32, max_bucket_distance=64),
         fe, torch.float32, 89, ["w2v-short.wav"],
         "WavLMModel: gated relative position bias (32 buckets, distance 64), group norm, "
         "post-LN, F32; per-head weights (transformers' output is their mean)",
         runner=run_per_head)
    make("speech-wavlm-stable-bf16", WavLMForCTC,
         WavLMConfig(**dict(small, num_hidden_layers=3), conv_dim=(16, 8),
                     conv_kernel=(16, 8), conv_stride=(8, 10), conv_bias=True,
                     feat_extract_norm="layer", do_stable_layer_norm=True,
                     num_conv_pos_embeddings=5, num_conv_pos_embedding_groups=2,
                     num_buckets=20, max_bucket_distance=30),
         fe, torch.bfloat16, 90, ["w2v-short.wav"],
         "WavLMForCTC: stable layer norm, layer norms, conv bias, 20 buckets, 3 layers, BF16; "
         "per-head weights", runner=run_per_head)


if __name__ == "__main__":
    main()
