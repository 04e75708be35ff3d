/* scalar.c - the reference kernels: portable C, accumulations in double so that this path
 * is the accurate yardstick the fast paths are tested against. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* y(n, out)[:, o0..o1] = x(n, in) · W(o0..o1, in)^T + b */
static void linear_cols_scalar(float *y, const float *x, const void *w, mhv_dtype wdt,
                               const float *b, int n, int in, int out, int o0, int o1)
{
    float *wrow = NULL; /* (in,) one weight row in fp32 when W is F16/BF16 */
    if (wdt != MHV_DT_F32)
        wrow = malloc((size_t)in * sizeof *wrow);
    size_t esz = mhv_dtype_size(wdt);
    for (int o = o0; o < o1; o++) {
        const float *wr;
        if (wrow) {
            mhv_dtype_to_f32(wrow, (const char *)w + (size_t)o * (size_t)in * esz, wdt, (size_t)in);
            wr = wrow;
        } else {
            wr = (const float *)w + (size_t)o * (size_t)in;
        }
        for (int i = 0; i < n; i++) {
            const float *xr = x + (size_t)i * (size_t)in;
            double acc = b ? b[o] : 0.0;
            for (int k = 0; k < in; k++)
                acc += (double)xr[k] * wr[k];
            y[(size_t)i * (size_t)out + (size_t)o] = (float)acc;
        }
    }
    free(wrow);
}

/* y(n, out)[:, o0..o1] = x(n, in) · W + b with W stored (in, ldw): one column of W is
 * gathered (and converted) at a time, then dotted with every row of x. */
static void linear_t_cols_scalar(float *y, const float *x, const void *w, mhv_dtype wdt,
                                 size_t ldw, const float *b, int n, int in, int out, int o0,
                                 int o1)
{
    float *wcol = malloc((size_t)in * sizeof *wcol); /* (in,) column o of W in fp32 */
    if (!wcol)
        return; /* callers size nothing here; a failed 4*in-byte malloc is not recoverable */
    size_t esz = mhv_dtype_size(wdt);
    for (int o = o0; o < o1; o++) {
        for (int k = 0; k < in; k++)
            mhv_dtype_to_f32(wcol + k, (const char *)w + ((size_t)k * ldw + (size_t)o) * esz,
                             wdt, 1);
        for (int i = 0; i < n; i++) {
            const float *xr = x + (size_t)i * (size_t)in;
            double acc = b ? b[o] : 0.0;
            for (int k = 0; k < in; k++)
                acc += (double)xr[k] * wcol[k];
            y[(size_t)i * (size_t)out + (size_t)o] = (float)acc;
        }
    }
    free(wcol);
}

static void linear_scalar(float *y, const float *x, const void *w, mhv_dtype wdt, const float *b,
                          int n, int in, int out)
{
    linear_cols_scalar(y, x, w, wdt, b, n, in, out, 0, out);
}

static size_t attention_scratch_scalar(int n, int d)
{
    (void)d;
    return (size_t)n;
}

static void attention_scalar(const mhv_attn_args *a)
{
    int n = a->n, d = a->d, nk = mhv_attn_keys(a);
    float *p = a->scratch; /* (nk,) probabilities of the current query row */
    if (!a->probs && !a->out)
        return;
    for (int i = 0; i < n; i++) {
        if (a->prow && mhv_attn_rows_idle(a, i, i + 1))
            continue;
        const float *q = a->q + (size_t)i * a->ld_q;
        int last = mhv_attn_last_key(a, i); /* keys outside first..last are masked */
        int first = mhv_attn_first_key(a, i);
        const float *bias = a->bias ? a->bias + (size_t)i * a->ld_bias : NULL;
        float mx = -INFINITY;
        for (int j = first; j <= last; j++) {
            const float *k = a->k + (size_t)j * a->ld_k;
            double s = 0;
            for (int t = 0; t < d; t++)
                s += (double)q[t] * k[t];
            p[j] = (float)(s * a->scale);
            if (a->softcap > 0)
                p[j] = (float)(a->softcap * tanh((double)p[j] / a->softcap));
            if (bias)
                p[j] += bias[j];
            if (p[j] > mx)
                mx = p[j];
        }
        if (a->has_sink && a->sink > mx)
            mx = a->sink;
        double sum = 0;
        for (int j = first; j <= last; j++) {
            double e = exp((double)p[j] - mx);
            p[j] = (float)e;
            sum += e;
        }
        if (a->has_sink) /* its probability is dropped, its mass stays in the sum */
            sum += exp((double)a->sink - mx);
        for (int j = first; j <= last; j++)
            p[j] = (float)(p[j] / sum);
        for (int j = 0; j < first; j++)
            p[j] = 0.0f;
        for (int j = last + 1; j < nk; j++)
            p[j] = 0.0f;
        float *keep = mhv_attn_prow(a, i);
        if (keep)
            memcpy(keep, p, (size_t)nk * sizeof *p);
        if (!a->out)
            continue;
        float *o = a->out + (size_t)i * a->ld_out;
        for (int t = 0; t < d; t++) {
            double acc = 0;
            for (int j = first; j <= last; j++)
                acc += (double)p[j] * a->v[(size_t)j * a->ld_v + (size_t)t];
            o[t] = (float)acc;
        }
    }
}

static void layernorm_scalar(float *x, const float *g, const float *b, int n, int d, float eps)
{
    for (int i = 0; i < n; i++) {
        float *r = x + (size_t)i * (size_t)d;
        double mean = 0, var = 0;
        for (int t = 0; t < d; t++)
            mean += r[t];
        mean /= d;
        for (int t = 0; t < d; t++)
            var += (r[t] - mean) * (r[t] - mean);
        var /= d;
        double inv = 1.0 / sqrt(var + eps);
        for (int t = 0; t < d; t++)
            r[t] = (float)((r[t] - mean) * inv * g[t] + b[t]);
    }
}

static void rmsnorm_scalar(float *x, const float *g, int n, int d, float eps)
{
    for (int i = 0; i < n; i++) {
        float *r = x + (size_t)i * (size_t)d;
        double ss = 0;
        for (int t = 0; t < d; t++)
            ss += (double)r[t] * r[t];
        double inv = 1.0 / sqrt(ss / d + eps);
        for (int t = 0; t < d; t++)
            r[t] = (float)(r[t] * inv * g[t]);
    }
}

static void gelu_erf_scalar(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0))));
}

static void gelu_tanh_scalar(float *x, size_t n)
{
    const double c = sqrt(2.0 / M_PI);
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        x[i] = (float)(0.5 * v * (1.0 + tanh(c * (v + 0.044715 * v * v * v))));
    }
}

static void relu_scalar(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] < 0.0f)
            x[i] = 0.0f;
}

static void silu_scalar(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(x[i] / (1.0 + exp(-(double)x[i])));
}

static void add_scalar(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}

static void describe_scalar(char *buf, size_t size)
{
    snprintf(buf, size, "reference: one dot product per output, summed in double");
}

static const mhv_kernels scalar_table = {
    .name = "scalar",
    .describe = describe_scalar,
    .linear = linear_scalar,
    .linear_cols = linear_cols_scalar,
    .linear_t_cols = linear_t_cols_scalar,
    .rmsnorm = rmsnorm_scalar,
    .attention = attention_scalar,
    .attention_scratch = attention_scratch_scalar,
    .layernorm = layernorm_scalar,
    .gelu_erf = gelu_erf_scalar,
    .gelu_tanh = gelu_tanh_scalar,
    .relu = relu_scalar,
    .silu = silu_scalar,
    .add = add_scalar,
};

const mhv_kernels *mhv_kernels_scalar(void)
{
    return &scalar_table;
}
