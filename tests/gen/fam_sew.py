#!/usr/bin/env python3
"""SEW and SEW-D fixtures (tests/fixtures/speech-sew*/) and their goldens
(tests/fixtures/goldens/speech-sew*.json), made with transformers here as
tests/gen/fam_wav2vec2.py makes wav2vec2's (its make(): random weights, from_config,
save_pretrained with a Wav2Vec2FeatureExtractor beside, every head of transformers' eager
attention in float64, the fp32 run's error as tolerance), over the WAVs that script
synthesised (tests/fixtures/audio/w2v-*.wav).

SEW (modeling_sew.py): wav2vec 2.0's feature encoder, a LayerNorm over its channels and a
projection only when conv_dim[-1] != hidden_size, then the frames averaged squeeze_factor at
a time (AvgPool1d) plus the positional convolution strided as much, wav2vec 2.0's post-LN
layers; the upsampling after the layers does not change the attention. SEW-D
(modeling_sew_d.py): the same front end (feature_layer_norm_eps), then DeBERTa-v2's layers
(disentangled attention: shared or own position projections, c2p / p2c, log buckets,
LayerNorm'd relative embeddings) without a norm before them. The fixtures cover squeeze 1-3,
even and odd positional kernels, with and without the projection, both weight-norm forms,
the *Model, *ForCTC and *ForSequenceClassification prefixes, F32/F16/BF16.

    HF_HUB_OFFLINE=1 /work/venv/bin/python tests/gen/fam_sew.py
"""
import os
import sys

import torch
from transformers import (SEWConfig, SEWDConfig, SEWDForCTC, SEWDForSequenceClassification,
                          SEWDModel, SEWForCTC, SEWForSequenceClassification, SEWModel,
                          Wav2Vec2FeatureExtractor)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fam_wav2vec2 import RATE, make, to_weight_g  # noqa: E402


def main():
    torch.set_num_threads(1)
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=RATE, padding_value=0.0,
                                  do_normalize=True, return_attention_mask=False)
    small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=48, vocab_size=12)
    base7 = dict(conv_dim=(8,) * 7, conv_kernel=(10, 3, 3, 3, 3, 2, 2),
                 conv_stride=(5, 2, 2, 2, 2, 2, 2))
    short3 = dict(conv_dim=(16, 12, 8), conv_kernel=(10, 5, 3), conv_stride=(5, 4, 4))
    make("speech-sew", SEWModel,
         SEWConfig(**small, **base7, layerdrop=0.0, squeeze_factor=2,
                   num_conv_pos_embeddings=6, num_conv_pos_embedding_groups=4),
         fe, torch.float32, 111, ["w2v-voiced.wav", "w2v-short.wav"],
         "SEWModel: the base models' 7 convs of 8 channels (projected to 32), squeeze 2, "
         "positional conv kernel 6 (even) strided 2 in 4 groups, group norm, F32")
    make("speech-sew-noproj-ctc-f16", SEWForCTC,
         SEWConfig(**small, conv_dim=(16, 12, 32), conv_kernel=(10, 5, 3),
                   conv_stride=(5, 4, 4), conv_bias=True, feat_extract_norm="layer",
                   layerdrop=0.0, squeeze_factor=3, num_conv_pos_embeddings=5,
                   num_conv_pos_embedding_groups=2, hidden_act="gelu_new"),
         fe, torch.float16, 112, ["w2v-short.wav"],
         "SEWForCTC: conv_dim[-1] = hidden_size (no projection), layer norms, conv bias, "
         "squeeze 3, positional conv kernel 5 (odd), gelu_new, F16")
    make("speech-sew-cls-bf16", SEWForSequenceClassification,
         SEWConfig(**dict(small, num_hidden_layers=3), **short3, layerdrop=0.0,
                   squeeze_factor=1, num_conv_pos_embeddings=4,
                   num_conv_pos_embedding_groups=4, feat_extract_activation="relu",
                   layer_norm_eps=1e-6, num_labels=3),
         fe, torch.bfloat16, 113, ["w2v-short.wav"],
         "SEWForSequenceClassification: squeeze 1, the positional conv's weight norm as "
         "weight_g/weight_v, relu, layer_norm_eps 1e-6, 3 layers, BF16", post=to_weight_g)
    # SEW-D: 20 frames reach position_buckets 8's logarithmic buckets
    make("speech-sewd", SEWDModel,
         SEWDConfig(**small, **short3, squeeze_factor=2, num_conv_pos_embeddings=6,
                    num_conv_pos_embedding_groups=4, position_buckets=8,
                    max_position_embeddings=64),
         fe, torch.float32, 114, ["w2v-short.wav"],
         "SEWDModel: SEWDConfig's relative attention (share_att_key, p2c and c2p, relative "
         "embeddings LayerNorm'd) with 8 log buckets up to 64, gelu_python, squeeze 2, F32")
    make("speech-sewd-voiced", SEWDModel,
         SEWDConfig(**small, **base7, squeeze_factor=2, num_conv_pos_embeddings=5,
                    num_conv_pos_embedding_groups=2, position_buckets=-1,
                    max_position_embeddings=10, pos_att_type=("c2p",),
                    share_att_key=False, norm_rel_ebd="none", hidden_act="gelu"),
         fe, torch.float32, 117, ["w2v-voiced.wav"],
         "SEWDModel: no buckets, max_position_embeddings 10 (24 frames: clamped to the "
         "table), c2p only through its own pos_key_proj, no norm of the relative "
         "embeddings, F32")
    make("speech-sewd-ctc-f16", SEWDForCTC,
         SEWDConfig(**small, **short3, conv_bias=True, feat_extract_norm="layer",
                    squeeze_factor=2, num_conv_pos_embeddings=4,
                    num_conv_pos_embedding_groups=4, position_buckets=6,
                    max_position_embeddings=32, share_att_key=False,
                    pos_att_type=("p2c", "c2p"), layer_norm_eps=1e-6,
                    feature_layer_norm_eps=1e-4),
         fe, torch.float16, 115, ["w2v-short.wav"],
         "SEWDForCTC: own pos_key_proj and pos_query_proj, 6 buckets, layer norms, conv "
         "bias, layer_norm_eps 1e-6, feature_layer_norm_eps 1e-4, F16")
    make("speech-sewd-cls-bf16", SEWDForSequenceClassification,
         SEWDConfig(**dict(small, num_hidden_layers=3), **short3, squeeze_factor=3,
                    num_conv_pos_embeddings=7, num_conv_pos_embedding_groups=4,
                    relative_attention=False, pos_att_type=("p2c",), num_labels=2),
         fe, torch.bfloat16, 116, ["w2v-short.wav"],
         "SEWDForSequenceClassification: relative_attention false (p2c only in the scale: "
         "sqrt(2 d)), squeeze 3, 3 layers, BF16")


if __name__ == "__main__":
    main()
