#include "nn/rope.h"

#include <math.h>

void mhv_rope_inv_freq(const mhv_rope *c, int head_dim, float *inv_freq)
{
    int d = head_dim, half = d / 2;
    for (int j = 0; j < half; j++) {
        float e = (float)(2 * j) / (float)d;
        float f = (float)(1.0 / (double)(float)pow(c->theta, (double)e));
        if (c->kind == MHV_ROPE_LINEAR) {
            f = (float)(f / c->factor);
        } else if (c->kind == MHV_ROPE_LLAMA3) {
            /* Llama 3.1: long wavelengths divided by factor, short ones kept, a smooth blend
             * between (transformers' _compute_llama3_parameters). */
            double old_len = c->original_max_positions;
            double low_wl = old_len / c->low_freq_factor;
            double high_wl = old_len / c->high_freq_factor;
            double wl = 2 * M_PI / f;
            double g = wl > low_wl ? f / c->factor : f;
            if (!(wl < high_wl) && !(wl > low_wl)) {
                double smooth = (old_len / wl - c->low_freq_factor) /
                                (c->high_freq_factor - c->low_freq_factor);
                g = (1 - smooth) * g / c->factor + smooth * g;
            }
            f = (float)g;
        }
        inv_freq[j] = f;
    }
}

void mhv_rope_table(const float *inv_freq, int half, int n, float *cos_t, float *sin_t)
{
    for (int p = 0; p < n; p++)
        for (int j = 0; j < half; j++) {
            float angle = (float)p * inv_freq[j];
            cos_t[(size_t)p * (size_t)half + (size_t)j] = (float)cos((double)angle);
            sin_t[(size_t)p * (size_t)half + (size_t)j] = (float)sin((double)angle);
        }
}

void mhv_rope_apply(float *x, int n, int heads, int half, size_t ld, const float *cos_t,
                    const float *sin_t)
{
    for (int p = 0; p < n; p++) {
        const float *cs = cos_t + (size_t)p * (size_t)half, *sn = sin_t + (size_t)p * (size_t)half;
        for (int h = 0; h < heads; h++) {
            float *v = x + (size_t)p * ld + (size_t)h * 2 * (size_t)half;
            for (int j = 0; j < half; j++) {
                float a = v[j], b = v[j + half];
                v[j] = a * cs[j] - b * sn[j];
                v[j + half] = b * cs[j] + a * sn[j];
            }
        }
    }
}

void mhv_rope_apply_pairs(float *x, int n, int heads, int half, size_t ld, const float *cos_t,
                          const float *sin_t)
{
    for (int p = 0; p < n; p++) {
        const float *cs = cos_t + (size_t)p * (size_t)half, *sn = sin_t + (size_t)p * (size_t)half;
        for (int h = 0; h < heads; h++) {
            float *v = x + (size_t)p * ld + (size_t)h * 2 * (size_t)half;
            for (int j = 0; j < half; j++) {
                float a = v[2 * j], b = v[2 * j + 1];
                v[2 * j] = a * cs[j] - b * sn[j];
                v[2 * j + 1] = b * cs[j] + a * sn[j];
            }
        }
    }
}
