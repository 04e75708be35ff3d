/* logmel.h - Whisper's log-mel spectrogram, as WhisperFeatureExtractor computes it with
 * numpy (_np_extract_fbank_features over audio_utils.spectrogram):
 *
 *   audio padded with padding_value (or cut) to n_samples = chunk_length x sampling_rate
 *   frames of n_fft samples every hop_length, the audio reflect-padded by n_fft / 2 at both
 *     ends (center), times the periodic Hann window (np.hanning(n_fft + 1)[:-1])
 *   the real DFT of each frame in float64, stored as complex64 (numpy's spectrogram keeps
 *     its complex spectrum in float32), its power |z|^2 in float64
 *   the slaney mel filters of feature_size bins between 0 and 8000 Hz (area-normalised:
 *     audio_utils.mel_filter_bank) applied in float64, floored at 1e-10, log10, to float32
 *   the last frame dropped, then max(x, max - 8) and (x + 4) / 4 in float32.
 *
 * The transformers class itself runs the same steps in float32 torch when torch is
 * installed (_torch_extract_fbank_features); tests/gen/gen_logmel_goldens.py measures how
 * far the two are apart. */
#ifndef MHV_LOGMEL_H
#define MHV_LOGMEL_H

#include <stddef.h>

#include "base/status.h"

typedef struct {
    int feature_size;       /* mel bins: 80 (Whisper) or 128 (large-v3) */
    int sampling_rate;      /* 16000 */
    int hop_length;         /* 160 */
    int chunk_length;       /* seconds: 30 */
    int n_fft;              /* 400 */
    double padding_value;   /* 0.0 */
    int n_samples;          /* chunk_length * sampling_rate */
    int frames;             /* n_samples / hop_length: the features' length */
} mhv_logmel_cfg;

/* WhisperFeatureExtractor's defaults. */
mhv_logmel_cfg mhv_logmel_defaults(void);
/* DIR/preprocessor_config.json as WhisperFeatureExtractor reads it (keys it leaves out: the
 * defaults). Another feature_extractor_type, dither other than 0 (random noise), padding_side
 * left, or sizes out of range are refused by name. */
mhv_status mhv_logmel_load(const char *dir, mhv_logmel_cfg *c, mhv_error *err);

/* out(feature_size, frames) from samples(n) (float32 audio at sampling_rate; more than
 * n_samples are cut, fewer padded). MHV_ENOMEM on allocation failure only. */
mhv_status mhv_logmel_run(const mhv_logmel_cfg *c, const float *samples, size_t n, float *out,
                          mhv_error *err);

#endif
