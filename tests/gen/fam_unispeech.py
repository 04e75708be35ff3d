#!/usr/bin/env python3
"""UniSpeech and UniSpeech-SAT fixtures (tests/fixtures/speech-unispeech*/) and their goldens
(tests/fixtures/goldens/speech-unispeech*.json), made with transformers here as
tests/gen/fam_wav2vec2.py makes wav2vec2's (its make(): random weights, from_config,
save_pretrained with a Wav2Vec2FeatureExtractor beside, every head of transformers' eager
attention in float64, the fp32 run's error as tolerance), over the WAVs that script
synthesised (tests/fixtures/audio/w2v-*.wav).

UniSpeech's and UniSpeech-SAT's encoders are wav2vec 2.0's modules (modular_unispeech.py,
modular_unispeech_sat.py) under the prefixes unispeech. / unispeech_sat.: the fixtures cover
both encoder forms (post-LN with a group norm, stable layer norm with layer norms), the base
*Model and the CTC / classification / frame classification / x-vector checkpoints, and
F32/F16/BF16.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/fam_unispeech.py
"""
import os
import sys

import torch
from transformers import (UniSpeechConfig, UniSpeechForCTC, UniSpeechForSequenceClassification,
                          UniSpeechModel, UniSpeechSatConfig,
                          UniSpeechSatForAudioFrameClassification, UniSpeechSatForCTC,
                          UniSpeechSatForXVector, UniSpeechSatModel, Wav2Vec2FeatureExtractor)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fam_wav2vec2 import RATE, make  # noqa: E402


def main():
    torch.set_num_threads(1)
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=RATE, padding_value=0.0,
                                  do_normalize=True, return_attention_mask=False)
    small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=48, vocab_size=12, layerdrop=0.0)
    make("speech-unispeech", UniSpeechModel,
         UniSpeechConfig(**small, conv_dim=(8,) * 7, num_conv_pos_embeddings=16,
                         num_conv_pos_embedding_groups=4),
         fe, torch.float32, 101, ["w2v-voiced.wav", "w2v-short.wav"],
         "UniSpeechModel: group norm on the first conv, the base models' 7 convs, post-LN, "
         "positional conv kernel 16 in 4 groups, F32")
    make("speech-unispeech-ctc-f16", UniSpeechForCTC,
         UniSpeechConfig(**small, conv_dim=(16, 12, 8), conv_kernel=(10, 5, 3),
                         conv_stride=(5, 4, 4), conv_bias=True, feat_extract_norm="layer",
                         do_stable_layer_norm=True, num_conv_pos_embeddings=5,
                         num_conv_pos_embedding_groups=2, hidden_act="gelu_new"),
         fe, torch.float16, 102, ["w2v-short.wav"],
         "UniSpeechForCTC: layer norms, conv bias, stable layer norm, positional conv kernel "
         "5, gelu_new, F16")
    make("speech-unispeech-cls-bf16", UniSpeechForSequenceClassification,
         UniSpeechConfig(**dict(small, num_hidden_layers=3), conv_dim=(16, 8),
                         conv_kernel=(16, 8), conv_stride=(8, 10), num_conv_pos_embeddings=6,
                         num_conv_pos_embedding_groups=4, num_labels=3),
         fe, torch.bfloat16, 103, ["w2v-short.wav"],
         "UniSpeechForSequenceClassification: group norm, post-LN, 3 layers, BF16")
    make("speech-unispeech-sat", UniSpeechSatModel,
         UniSpeechSatConfig(**small, conv_dim=(16, 12, 8), conv_kernel=(10, 5, 3),
                            conv_stride=(5, 4, 4), num_conv_pos_embeddings=7,
                            num_conv_pos_embedding_groups=4),
         fe, torch.float32, 104, ["w2v-short.wav"],
         "UniSpeechSatModel: group norm, post-LN, positional conv kernel 7 (odd), F32")
    make("speech-unispeech-sat-xvector-bf16", UniSpeechSatForXVector,
         UniSpeechSatConfig(**small, conv_dim=(16, 12, 8), conv_kernel=(10, 5, 3),
                            conv_stride=(5, 4, 4), conv_bias=True, feat_extract_norm="layer",
                            do_stable_layer_norm=True, num_conv_pos_embeddings=4,
                            num_conv_pos_embedding_groups=2,
                            tdnn_dim=(16, 16), tdnn_kernel=(3, 1), tdnn_dilation=(1, 1),
                            xvector_output_dim=8),
         fe, torch.bfloat16, 105, ["w2v-short.wav"],
         "UniSpeechSatForXVector: layer norms, conv bias, stable layer norm, kernel 4, BF16")
    make("speech-unispeech-sat-frames-f16", UniSpeechSatForAudioFrameClassification,
         UniSpeechSatConfig(**small, conv_dim=(16, 8), conv_kernel=(16, 8),
                            conv_stride=(8, 10), num_conv_pos_embeddings=5,
                            num_conv_pos_embedding_groups=4, feat_extract_activation="relu",
                            num_labels=2),
         fe, torch.float16, 106, ["w2v-short.wav"],
         "UniSpeechSatForAudioFrameClassification: relu feature activation, F16")
    # (UniSpeechSatForCTC loads as UniSpeechForCTC does: the same prefix scheme)
    assert UniSpeechSatForCTC.base_model_prefix == "unispeech_sat"


if __name__ == "__main__":
    main()
