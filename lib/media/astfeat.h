/* astfeat.h - the input of the Audio Spectrogram Transformer, as ASTFeatureExtractor makes
 * it from one waveform without torchaudio installed (its numpy path, over
 * audio_utils.spectrogram; with torchaudio it calls torchaudio.compliance.kaldi.fbank
 * instead, the same Kaldi recipe in float32 torch):
 *
 *   frames of 400 samples every 160 (25 ms every 10 ms at 16 kHz), no padding:
 *     1 + (n - 400) / 160 of them
 *   each frame in float64: its mean removed (numpy's pairwise sum), pre-emphasis
 *     y[i] = x[i] - 0.97 x[i-1] (y[0] = 0.03 x[0]), times the symmetric Hann window
 *     (np.hanning(400)), zero-padded to 512, its real DFT stored as complex64
 *   the power |z|^2 (float64) through num_mel_bins triangular filters of the Kaldi mel
 *     scale (1127 ln(1 + f / 700)) triangularised in mel space, from 20 Hz to
 *     sampling_rate / 2 (audio_utils.mel_filter_bank, no norm), floored at
 *     1.192092955078125e-07 (the extractor's mel_floor), the natural log, to float32
 *   the (frames, num_mel_bins) features zero-padded or cut to max_length frames
 *   with do_normalize, (x - mean) / (2 std) in float32.
 *
 * The features' row t is the spectrum of the 25 ms from t * 10 ms. */
#ifndef MHV_ASTFEAT_H
#define MHV_ASTFEAT_H

#include <stddef.h>

#include "base/status.h"

#define MHV_AST_FRAME 400   /* samples a frame */
#define MHV_AST_HOP 160     /* samples between frames' starts */

typedef struct {
    int sampling_rate;      /* 16000 */
    int num_mel_bins;       /* 128 */
    int max_length;         /* 1024 frames */
    int do_normalize;       /* 1 */
    double mean, std;       /* -4.2677393, 4.5689974 (AudioSet's) */
} mhv_astfeat_cfg;

/* DIR/preprocessor_config.json as ASTFeatureExtractor reads it (absent: its defaults).
 * Another feature_extractor_type, feature_size other than 1 or sizes out of range are
 * refused by name. */
mhv_status mhv_astfeat_load(const char *dir, mhv_astfeat_cfg *c, mhv_error *err);

/* The Kaldi-mel frequency in Hz of mel bin j's centre (its filter's peak). */
double mhv_astfeat_bin_hz(const mhv_astfeat_cfg *c, int j);

/* out(max_length, num_mel_bins) = the input_values of samples(n), n >= MHV_AST_FRAME;
 * *frames: the spectrogram's own frames before the padding or cut. MHV_ENOMEM on
 * allocation failure only. */
mhv_status mhv_astfeat_run(const mhv_astfeat_cfg *c, const float *samples, size_t n,
                           float *out, int *frames, mhv_error *err);

#endif
