#include "nn/rope.h"

#include <math.h>

/* The yarn correction dimension of num_rotations (transformers' find_correction_dim, in
 * double as Python computes it). */
static double yarn_dim(double rotations, int dim, const mhv_rope *c)
{
    return (dim * log(c->original_max_positions / (rotations * 2 * M_PI))) /
           (2 * log(c->theta));
}

/* Yarn's frequencies (transformers' _compute_yarn_parameters; the fp32 steps in fp32):
 * pair j keeps 1/theta^(2j/d) where the ramp is 0, takes 1/(factor * theta^(2j/d)) where it
 * is 1. */
static void yarn_inv_freq(const mhv_rope *c, int d, float *inv_freq)
{
    double lo = yarn_dim(c->beta_fast, d, c), hi = yarn_dim(c->beta_slow, d, c);
    if (c->truncate)
        lo = floor(lo), hi = ceil(hi);
    lo = lo > 0 ? lo : 0;
    hi = hi < d - 1 ? hi : d - 1;
    if (lo == hi)
        hi += 0.001; /* transformers' guard against a zero-width ramp */
    float lo_f = (float)lo, width = (float)(hi - lo), factor = (float)c->factor;
    for (int j = 0; j < d / 2; j++) {
        float e = (float)(2 * j) / (float)d;
        float pos = (float)pow(c->theta, (double)e);
        float extra = 1.0f / pos, inter = 1.0f / (factor * pos);
        float ramp = ((float)j - lo_f) / width;
        ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
        float keep = 1.0f - ramp; /* inv_freq_extrapolation_factor */
        inv_freq[j] = inter * (1.0f - keep) + extra * keep;
    }
}

void mhv_rope_table_scale(const mhv_rope *r, size_t count, float *cos_t, float *sin_t)
{
    if (r->kind != MHV_ROPE_YARN)
        return;
    float a = (float)r->attention;
    for (size_t t = 0; t < count; t++)
        cos_t[t] *= a, sin_t[t] *= a;
}

void mhv_rope_inv_freq(const mhv_rope *c, int head_dim, float *inv_freq)
{
    int d = head_dim, half = d / 2;
    if (c->kind == MHV_ROPE_YARN) {
        yarn_inv_freq(c, d, inv_freq);
        return;
    }
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
    mhv_rope_table_from(inv_freq, half, 0, n, cos_t, sin_t);
}

void mhv_rope_table_from(const float *inv_freq, int half, int first, int n, float *cos_t,
                         float *sin_t)
{
    for (int p = 0; p < n; p++)
        for (int j = 0; j < half; j++) {
            float angle = (float)(p + first) * inv_freq[j];
            cos_t[(size_t)p * (size_t)half + (size_t)j] = (float)cos((double)angle);
            sin_t[(size_t)p * (size_t)half + (size_t)j] = (float)sin((double)angle);
        }
}

void mhv_rope_table_axes(const float *inv_freq, int half, int n, const int *pos,
                         const unsigned char *axis, float *cos_t, float *sin_t)
{
    for (int p = 0; p < n; p++)
        for (int j = 0; j < half; j++) {
            float angle = (float)pos[(size_t)axis[j] * (size_t)n + (size_t)p] * inv_freq[j];
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
