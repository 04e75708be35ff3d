#!/usr/bin/env python3
"""Audio Spectrogram Transformer fixtures (tests/fixtures/ast-*/) and their goldens
(tests/fixtures/goldens/ast-*.json), made with transformers here as
tests/gen/fam_wav2vec2.py makes the speech encoders' (its make(): random weights,
from_config, save_pretrained with the feature extractor beside, every head of transformers'
eager attention in float64 over the extractor's input_values, the fp32 run's error as
tolerance), over the WAVs that script synthesised (tests/fixtures/audio/w2v-*.wav).

ASTFeatureExtractor runs its numpy path here (torchaudio is not installed: transformers'
is_speech_available() is false), as mhaviz does (lib/media/astfeat.c); each fixture keeps the
extractor's input_values of each WAV as <fixture>/input-<wav>.f32 (float32, max_length x
num_mel_bins) for tests/test_ast.c to hold mhaviz's features to.

The fixtures: ASTModel (F32; w2v-voiced.wav cut at max_length, w2v-short.wav padded),
ASTForAudioClassification (F16: other strides, gelu_new, no q/k/v biases, do_normalize
false) and BF16 under the hub checkpoints' names (encoder.layer.N.attention.attention.query
...: transformers 5 renames them as it loads; the round trip is checked).

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/fam_ast.py
"""
import os
import sys

import numpy as np
import soundfile as sf
import torch
from safetensors.torch import load_file, save_file
from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification, ASTModel
from transformers.utils import is_speech_available

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famgen as fg  # noqa: E402
from fam_wav2vec2 import AUDIO, make  # noqa: E402

WAVS = ["w2v-voiced.wav", "w2v-short.wav"]


def hub_names(path):
    """Renames transformers 5's modules to the names of the AST checkpoints on the hub."""
    f = os.path.join(path, "model.safetensors")
    sd = load_file(f)
    out = {}
    for k, v in sd.items():
        for a, b in (("layers.", "encoder.layer."), ("attention.q_proj", "attention.attention.query"),
                     ("attention.k_proj", "attention.attention.key"),
                     ("attention.v_proj", "attention.attention.value"),
                     ("attention.o_proj", "attention.output.dense"),
                     ("mlp.fc1", "intermediate.dense"), ("mlp.fc2", "output.dense")):
            k = k.replace(a, b)
        out[k] = v.contiguous()
    assert any(".attention.attention.query." in k for k in out)
    save_file(out, f, metadata={"format": "pt"})


def save_features(name, fe):
    for wav in WAVS:
        y, sr = sf.read(os.path.join(AUDIO, wav), dtype="float32")
        x = fe(y, sampling_rate=sr, return_tensors="np").input_values[0].astype(np.float32)
        assert x.shape == (fe.max_length, fe.num_mel_bins)
        x.tofile(os.path.join(fg.FIXTURES, name, "input-" + wav[:-4] + ".f32"))


def main():
    assert not is_speech_available(), "torchaudio installed: the extractor takes its other path"
    torch.set_num_threads(1)
    small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=48)
    fe = ASTFeatureExtractor(num_mel_bins=16, max_length=64)
    make("ast-model", ASTModel,
         ASTConfig(**small, patch_size=8, frequency_stride=4, time_stride=6, max_length=64,
                   num_mel_bins=16),
         fe, torch.float32, 121, WAVS,
         "ASTModel: 16 mel bins x 64 frames, patches 8 x 8 every 4 bins and 6 frames (3 x 10), "
         "[CLS] and distillation tokens, F32")
    save_features("ast-model", fe)
    fe = ASTFeatureExtractor(num_mel_bins=24, max_length=40, do_normalize=False)
    make("ast-cls-f16", ASTForAudioClassification,
         ASTConfig(**dict(small, num_hidden_layers=3), patch_size=6, frequency_stride=6,
                   time_stride=3, max_length=40, num_mel_bins=24, qkv_bias=False,
                   hidden_act="gelu_new", layer_norm_eps=1e-6, num_labels=3),
         fe, torch.float16, 122, WAVS,
         "ASTForAudioClassification: 24 bins x 40 frames, patches 6 x 6 every 6 bins and 3 "
         "frames (4 x 12), no q/k/v biases, gelu_new, features not normalised, 3 layers, F16")
    save_features("ast-cls-f16", fe)
    fe = ASTFeatureExtractor(num_mel_bins=16, max_length=48, mean=-3.5, std=3.0)
    make("ast-hubnames-bf16", ASTForAudioClassification,
         ASTConfig(**dict(small, num_attention_heads=2), patch_size=8, frequency_stride=8,
                   time_stride=8, max_length=48, num_mel_bins=16, num_labels=2),
         fe, torch.bfloat16, 123, WAVS,
         "ASTForAudioClassification under the hub's names (encoder.layer.N.attention."
         "attention.query ...), patches 8 x 8 side by side (2 x 6), mean -3.5 std 3, 2 heads, "
         "BF16", post=hub_names)
    save_features("ast-hubnames-bf16", fe)


if __name__ == "__main__":
    main()
