/* w2vfeat.h - the input of speech encoders (wav2vec2, HuBERT), as Wav2Vec2FeatureExtractor
 * makes it from one unpadded waveform: the samples themselves, normalised to zero mean and
 * unit variance when do_normalize is set, in numpy's float32 arithmetic:
 *
 *   mean = sum(x) / n        numpy's pairwise float32 sum (blocks of 8 accumulators up to
 *                            128 samples, halves above), then a float32 division
 *   var  = sum((x - mean)^2) / n                    the same sums over float32 squares
 *   y    = (x - mean) / sqrt(var + 1e-7)            float32 throughout
 *
 * (zero_mean_unit_var_norm without an attention mask: one input is never padded). */
#ifndef MHV_W2VFEAT_H
#define MHV_W2VFEAT_H

#include <stddef.h>

#include "base/status.h"

typedef struct {
    int sampling_rate;      /* 16000 */
    int do_normalize;       /* 1 */
} mhv_w2vfeat_cfg;

/* DIR/preprocessor_config.json as Wav2Vec2FeatureExtractor reads it (absent: its defaults).
 * Another feature_extractor_type or a feature_size other than 1 is refused by name. */
mhv_status mhv_w2vfeat_load(const char *dir, mhv_w2vfeat_cfg *c, mhv_error *err);

/* out(n) = the input_values of samples(n); out must not be samples. */
void mhv_w2vfeat_run(const mhv_w2vfeat_cfg *c, const float *samples, size_t n, float *out);

/* numpy's float32 sum of x(n) (np.add.reduce over a contiguous array: pairwise). */
float mhv_w2vfeat_sum(const float *x, size_t n);

#endif
