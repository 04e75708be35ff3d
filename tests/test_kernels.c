/* The fast kernel tables against the scalar reference: odd shapes, unaligned pointers, long
 * rows, every weight dtype, extreme softmax inputs, and the byte-stability that threading
 * relies on (a column split gives the same bytes as one call). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/kernels/cpucache.h"
#include "nn/kernels/kernels.h"
#include "base/pool.h"

static const int sizes[] = {1, 3, 7, 17, 63, 65, 127, 129};
#define N_SIZES ((int)(sizeof sizes / sizeof *sizes))

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float frand(float lo, float hi)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return lo + (hi - lo) * (float)((rng >> 40) / 16777216.0);
}

/* n floats starting one float past a 32-byte boundary, so kernels see unaligned data. */
static float *ualloc(size_t n)
{
    float *p = aligned_alloc(32, (n + 16) / 8 * 8 * sizeof(float)); /* a multiple of 32 */
    assert_non_null(p);
    return p + 1;
}

static void ufree(float *p)
{
    if (p)
        free(p - 1);
}

/* The fast tables this CPU has (AVX2, AVX-512); a test runs on each, and is skipped
 * without any. */
static int fast_tables(const mhv_kernels *t[2])
{
    int n = 0;
    if ((t[n] = mhv_kernels_avx2_if_supported()))
        n++;
    if ((t[n] = mhv_kernels_avx512_if_supported()))
        n++;
    if (!n)
        skip();
    return n;
}

#define ON_FAST_TABLES(body)                                                                  \
    do {                                                                                      \
        const mhv_kernels *t_[2];                                                             \
        int n_ = fast_tables(t_);                                                             \
        for (int i_ = 0; i_ < n_; i_++)                                                       \
            body(t_[i_]);                                                                     \
    } while (0)

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= w)) /* NaN counts as a difference */
            w = isnan(d) ? INFINITY : d;
    }
    return w;
}

/* Weights w(out, in) as dtype dt in a buffer offset by one element. */
static void *make_weights(const float *w, size_t count, mhv_dtype dt, void **base)
{
    if (dt == MHV_DT_F32) {
        float *p = ualloc(count);
        memcpy(p, w, count * sizeof *p);
        *base = p;
        return p;
    }
    uint16_t *p = malloc((count + 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < count; i++)
        p[i + 1] = dt == MHV_DT_F16 ? mhv_f32_to_f16(w[i]) : mhv_f32_to_bf16(w[i]);
    *base = p;
    return p + 1;
}

static void free_weights(void *base, mhv_dtype dt)
{
    if (dt == MHV_DT_F32)
        ufree(base);
    else
        free(base);
}

static void check_linear(const mhv_kernels *F, int n, int in, int out, mhv_dtype dt, int bias)
{
    const mhv_kernels *S = mhv_kernels_scalar();
    size_t nx = (size_t)n * (size_t)in, nw = (size_t)in * (size_t)out, ny = (size_t)n * (size_t)out;
    float *x = ualloc(nx), *w32 = malloc(nw * sizeof *w32), *b = ualloc((size_t)out);
    float *y0 = ualloc(ny), *y1 = ualloc(ny), *y2 = ualloc(ny);
    for (size_t i = 0; i < nx; i++)
        x[i] = frand(-1, 1);
    for (size_t i = 0; i < nw; i++)
        w32[i] = frand(-1, 1);
    for (int i = 0; i < out; i++)
        b[i] = frand(-1, 1);
    void *wbase, *w = make_weights(w32, nw, dt, &wbase);
    S->linear(y0, x, w, dt, bias ? b : NULL, n, in, out);
    F->linear(y1, x, w, dt, bias ? b : NULL, n, in, out);
    /* fp32 FMA chains against double sums: error grows about like sqrt(in) */
    double tol = 2e-6 * (1.0 + sqrt((double)in));
    double d = max_abs_diff(y0, y1, ny);
    if (d > tol)
        fail_msg("linear %s n=%d in=%d out=%d: max diff %.3g > %.3g", mhv_dtype_name(dt), n, in,
                 out, d, tol);
    /* columns in pieces (as threads split them): the same bytes */
    memset(y2, 0xff, ny * sizeof *y2);
    for (int o0 = 0, step = 5; o0 < out; o0 += step, step = step * 3 % 37 + 1) {
        int o1 = o0 + step < out ? o0 + step : out;
        F->linear_cols(y2, x, w, dt, bias ? b : NULL, n, in, out, o0, o1);
    }
    assert_memory_equal(y1, y2, ny * sizeof *y1);
    if (F->xpack) { /* x packed once, columns in other pieces: still the same bytes */
        float *xp = ualloc(F->xpack_floats(n, in));
        F->xpack(xp, x, n, in);
        memset(y2, 0xff, ny * sizeof *y2);
        for (int o0 = 0, step = 11; o0 < out; o0 += step, step = step * 5 % 43 + 1) {
            int o1 = o0 + step < out ? o0 + step : out;
            F->linear_xp_cols(y2, xp, w, dt, bias ? b : NULL, n, in, out, o0, o1);
        }
        assert_memory_equal(y1, y2, ny * sizeof *y1);
        ufree(xp);
    }
    free_weights(wbase, dt);
    free(w32);
    ufree(x), ufree(b), ufree(y0), ufree(y1), ufree(y2);
}

static void linear_odd_shapes_on(const mhv_kernels *F)
{
    const int ins[] = {1, 17, 65, 129, 300};
    const int outs[] = {3, 16, 63, 129};
    for (int t = 0; t < 3; t++) {
        mhv_dtype dt = t == 0 ? MHV_DT_F32 : t == 1 ? MHV_DT_F16 : MHV_DT_BF16;
        for (int i = 0; i < N_SIZES; i++)
            for (int a = 0; a < 5; a++)
                for (int c = 0; c < 4; c++)
                    check_linear(F, sizes[i], ins[a], outs[c], dt, (i + a + c) % 2);
    }
}

static void test_linear_odd_shapes(void **state)
{
    (void)state;
    ON_FAST_TABLES(linear_odd_shapes_on);
}

static void linear_long_rows_on(const mhv_kernels *F)
{
    check_linear(F, 7, 4864, 65, MHV_DT_F32, 1);
    check_linear(F, 2, 3072, 129, MHV_DT_BF16, 1);
    check_linear(F, 200, 520, 40, MHV_DT_F16, 0); /* more rows than one A block */
    /* reductions around and past AVX-512's chunk (512), and more tokens than its group of
     * saved panels (1024) */
    check_linear(F, 45, 512, 30, MHV_DT_F32, 1);
    check_linear(F, 33, 513, 25, MHV_DT_BF16, 1);
    check_linear(F, 70, 1100, 13, MHV_DT_F16, 1);
    check_linear(F, 1100, 600, 14, MHV_DT_F32, 1);
    check_linear(F, 1030, 40, 27, MHV_DT_BF16, 0);
}

static void test_linear_long_rows(void **state)
{
    (void)state;
    ON_FAST_TABLES(linear_long_rows_on);
}

/* Around the switch from dot products (few rows) to the packed GEMM, and the shapes of
 * BERT-base at short sequences. */
static void linear_small_n_on(const mhv_kernels *F)
{
    const int ns[] = {2, 5, 16, 31, 32, 33, 39, 40, 41, 48};
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
        for (int t = 0; t < 3; t++) {
            mhv_dtype dt = t == 0 ? MHV_DT_F32 : t == 1 ? MHV_DT_F16 : MHV_DT_BF16;
            check_linear(F, ns[i], 768, 37 + (int)i, dt, (int)i % 2);
            check_linear(F, ns[i], 131, 20, dt, 1);
        }
    check_linear(F, 16, 3072, 50, MHV_DT_BF16, 1);
}

static void test_linear_small_n(void **state)
{
    (void)state;
    ON_FAST_TABLES(linear_small_n_on);
}

/* linear_t_cols: W stored (in, ldw) with the output columns at column `c0` of a wider
 * matrix (GPT-2's fused c_attn is sliced this way). */
static void check_linear_t(const mhv_kernels *F, int n, int in, int out, int c0, mhv_dtype dt,
                           int bias)
{
    const mhv_kernels *S = mhv_kernels_scalar();
    size_t ldw = (size_t)(c0 + out + 3);
    size_t nx = (size_t)n * (size_t)in, nw = (size_t)in * ldw, ny = (size_t)n * (size_t)out;
    float *x = ualloc(nx), *w32 = malloc(nw * sizeof *w32), *b = ualloc((size_t)out);
    float *y0 = ualloc(ny), *y1 = ualloc(ny), *y2 = ualloc(ny);
    for (size_t i = 0; i < nx; i++)
        x[i] = frand(-1, 1);
    for (size_t i = 0; i < nw; i++)
        w32[i] = frand(-1, 1);
    for (int i = 0; i < out; i++)
        b[i] = frand(-1, 1);
    void *wbase, *w = make_weights(w32, nw, dt, &wbase);
    const void *wc = (const char *)w + (size_t)c0 * mhv_dtype_size(dt);
    S->linear_t_cols(y0, x, wc, dt, ldw, bias ? b : NULL, n, in, out, 0, out);
    F->linear_t_cols(y1, x, wc, dt, ldw, bias ? b : NULL, n, in, out, 0, out);
    double tol = 2e-6 * (1.0 + sqrt((double)in));
    double d = max_abs_diff(y0, y1, ny);
    if (d > tol)
        fail_msg("linear_t %s n=%d in=%d out=%d: max diff %.3g > %.3g", mhv_dtype_name(dt), n,
                 in, out, d, tol);
    memset(y2, 0xff, ny * sizeof *y2);
    for (int o0 = 0, step = 7; o0 < out; o0 += step, step = step * 3 % 41 + 1) {
        int o1 = o0 + step < out ? o0 + step : out;
        F->linear_t_cols(y2, x, wc, dt, ldw, bias ? b : NULL, n, in, out, o0, o1);
    }
    assert_memory_equal(y1, y2, ny * sizeof *y1);
    free_weights(wbase, dt);
    free(w32);
    ufree(x), ufree(b), ufree(y0), ufree(y1), ufree(y2);
}

static void linear_t_on(const mhv_kernels *F)
{
    const int ins[] = {1, 17, 65, 300};
    const int outs[] = {3, 16, 63, 129};
    for (int t = 0; t < 3; t++) {
        mhv_dtype dt = t == 0 ? MHV_DT_F32 : t == 1 ? MHV_DT_F16 : MHV_DT_BF16;
        for (int i = 0; i < N_SIZES; i++)
            for (int a = 0; a < 4; a++)
                for (int c = 0; c < 4; c++)
                    check_linear_t(F, sizes[i], ins[a], outs[c], (a + c) % 3 * 5, dt,
                                   (i + a + c) % 2);
    }
    check_linear_t(F, 5, 3072, 70, 768, MHV_DT_F32, 1);
}

static void test_linear_t(void **state)
{
    (void)state;
    ON_FAST_TABLES(linear_t_on);
}

/* The extras of an attention head beyond the causal mask and a sliding window. */
typedef struct {
    float softcap;  /* Gemma 2's soft capping, or 0 */
    int bias;       /* a score bias (T5's relative positions) of values in -2..2 */
    int sink;       /* a sink logit (GPT-OSS), 0.7 */
} attn_extras;

static void check_attention_x(const mhv_kernels *F, int n, int d, size_t ld, int causal,
                              int window, attn_extras x, int want_probs, int want_out,
                              float mag)
{
    const mhv_kernels *S = mhv_kernels_scalar();
    size_t m = (size_t)n * ld, nn = (size_t)n * (size_t)n;
    float *q = ualloc(m), *k = ualloc(m), *v = ualloc(m), *bias = ualloc(nn + 3 * (size_t)n);
    for (size_t i = 0; i < m; i++)
        q[i] = frand(-mag, mag), k[i] = frand(-mag, mag), v[i] = frand(-1, 1);
    for (size_t i = 0; i < nn + 3 * (size_t)n; i++)
        bias[i] = frand(-2, 2);
    float *p0 = ualloc(nn), *p1 = ualloc(nn), *o0 = ualloc(m), *o1 = ualloc(m);
    memset(o0, 0, m * sizeof *o0), memset(o1, 0, m * sizeof *o1);
    float *s0 = ualloc(S->attention_scratch(n, d)), *s1 = ualloc(F->attention_scratch(n, d));
    mhv_attn_args a = {
        .q = q, .k = k, .v = v, .n = n, .d = d, .ld_q = ld, .ld_k = ld, .ld_v = ld,
        .scale = (float)(1.0 / sqrt((double)d)), .causal = causal, .window = window,
        .ld_out = ld, .softcap = x.softcap, .bias = x.bias ? bias : NULL,
        .ld_bias = (size_t)n + 3, .has_sink = x.sink, .sink = 0.7f,
    };
    a.probs = p0, a.scratch = s0, a.out = o0;
    S->attention(&a);
    a.probs = want_probs ? p1 : NULL, a.scratch = s1, a.out = want_out ? o1 : NULL;
    F->attention(&a);
    /* fp32 scores are off by up to ~|s|·2^-24·sqrt(d) (the reference's are exact), and a
     * probability moves by at most half the score change: loose for huge scores only; the
     * output moves by the probability that moves between keys, |v| <= 1 */
    double smax = (double)mag * mag * d * a.scale;
    double score_err = 0.5 * smax * 0x1p-24 * sqrt((double)d);
    /* soft capping: c·tanh to ~2 ulp of c */
    score_err += x.softcap * 0x1p-23;
    double tol = 2e-6 + score_err, tol_out = 1e-5 + 4 * score_err;
    if (want_probs) {
        double dp = max_abs_diff(p0, p1, nn);
        if (dp > tol)
            fail_msg("%s attention n=%d d=%d causal=%d window=%d cap=%g bias=%d sink=%d "
                     "mag=%g: probs differ by %.3g", F->name, n, d, causal, window,
                     (double)x.softcap, x.bias, x.sink, (double)mag, dp);
        for (int i = 0; i < n; i++) {
            double sum = 0, want = 0;
            for (int j = 0; j < n; j++) {
                float p = p1[(size_t)i * (size_t)n + (size_t)j];
                assert_false(isnan(p));
                if ((causal && j > i) || (window > 0 && abs(i - j) >= window && (!causal || j < i)))
                    assert_true(p == 0.0f);
                sum += p, want += p0[(size_t)i * (size_t)n + (size_t)j];
            }
            /* a sink keeps a share: the row sums to what the reference's does */
            if (fabs(sum - (x.sink ? want : 1.0)) > 1e-5)
                fail_msg("%s attention n=%d row %d sums to %.9g", F->name, n, i, sum);
        }
    }
    if (want_out) {
        double dout = 0;
        for (int i = 0; i < n; i++)
            for (int t = 0; t < d; t++) {
                double e = fabs((double)o0[(size_t)i * ld + (size_t)t] - o1[(size_t)i * ld + (size_t)t]);
                if (!(e <= dout))
                    dout = isnan(e) ? INFINITY : e;
            }
        if (dout > tol_out)
            fail_msg("attention n=%d d=%d causal=%d: output differs by %.3g", n, d, causal, dout);
    } else {
        for (size_t i = 0; i < m; i++)
            assert_true(o1[i] == 0.0f);
    }
    ufree(q), ufree(k), ufree(v), ufree(bias), ufree(p0), ufree(p1), ufree(o0), ufree(o1),
        ufree(s0), ufree(s1);
}

static void check_attention_w(const mhv_kernels *F, int n, int d, size_t ld, int causal,
                              int window, int want_probs, int want_out, float mag)
{
    check_attention_x(F, n, d, ld, causal, window, (attn_extras){0}, want_probs, want_out, mag);
}

static void check_attention(const mhv_kernels *F, int n, int d, size_t ld, int causal,
                            int want_probs, int want_out, float mag)
{
    check_attention_w(F, n, d, ld, causal, 0, want_probs, want_out, mag);
}

/* Mistral/Qwen2's sliding window: shorter than the sequence, around a block edge, longer */
static void attention_window_on(const mhv_kernels *F)
{
    const int windows[] = {1, 5, 12, 13, 48, 300};
    for (int i = 0; i < 6; i++) {
        check_attention_w(F, 129, 64, 70, 1, windows[i], 1, 1, 1.0f);
        check_attention_w(F, 61, 16, 16, 1, windows[i], 0, 1, 1.0f);
        check_attention_w(F, 61, 16, 16, 1, windows[i], 1, 0, 1.0f);
    }
}

/* The extras against the scalar kernel: two-sided windows (ModernBERT), soft capping
 * (Gemma 2), a score bias (T5), a sink (GPT-OSS), alone and together, at block edges. */
static void attention_extras_on(const mhv_kernels *F)
{
    const attn_extras xs[] = {{0, 1, 0}, {30.0f, 0, 0}, {0, 0, 1}, {5.0f, 1, 1}, {0.5f, 0, 0}};
    const int ns[] = {1, 13, 47, 130};
    for (int e = 0; e < 5; e++)
        for (int i = 0; i < 4; i++)
            for (int causal = 0; causal < 2; causal++)
                for (int w = 0; w < 3; w++) {
                    int window = (int[]){0, 5, 40}[w];
                    check_attention_x(F, ns[i], 64, 70, causal, window, xs[e], 1, 1, 1.0f);
                    check_attention_x(F, ns[i], 16, 16, causal, window, xs[e], 0, 1, 2.0f);
                    check_attention_x(F, ns[i], 7, 9, causal, window, xs[e], 1, 0, 2.0f);
                }
    check_attention_x(F, 600, 64, 64, 0, 0, xs[3], 1, 1, 1.0f);
    check_attention_x(F, 300, 64, 64, 0, 64, xs[0], 1, 1, 1.0f);
}

static void test_attention_extras(void **state)
{
    (void)state;
    ON_FAST_TABLES(attention_extras_on);
}

/* Cross-attention (nk keys of another sequence): t queries over s keys against a direct
 * computation in double, probabilities and output, on every table. */
static void check_cross(const mhv_kernels *F, int t, int s, int d, size_t ld, int want_probs,
                        int want_out)
{
    int big = t > s ? t : s;
    float *q = ualloc((size_t)t * ld), *k = ualloc((size_t)s * ld), *v = ualloc((size_t)s * ld);
    for (size_t i = 0; i < (size_t)t * ld; i++)
        q[i] = frand(-1, 1);
    for (size_t i = 0; i < (size_t)s * ld; i++)
        k[i] = frand(-1, 1), v[i] = frand(-1, 1);
    float *p = ualloc((size_t)t * (size_t)s + 1), *o = ualloc((size_t)t * ld);
    float *scratch = ualloc(F->attention_scratch(big, d));
    p[(size_t)t * (size_t)s] = -7.0f;
    memset(o, 0, (size_t)t * ld * sizeof *o);
    mhv_attn_args a = {.q = q, .k = k, .v = v, .n = t, .nk = s, .d = d, .ld_q = ld,
                       .ld_k = ld, .ld_v = ld, .scale = 0.25f, .probs = want_probs ? p : NULL,
                       .scratch = scratch, .out = want_out ? o : NULL, .ld_out = ld};
    F->attention(&a);
    double *sc = malloc((size_t)s * sizeof *sc);
    assert_non_null(sc);
    for (int i = 0; i < t; i++) {
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < s; j++) {
            double dot = 0;
            for (int e = 0; e < d; e++)
                dot += (double)q[(size_t)i * ld + (size_t)e] * k[(size_t)j * ld + (size_t)e];
            sc[j] = dot * 0.25;
            mx = sc[j] > mx ? sc[j] : mx;
        }
        for (int j = 0; j < s; j++)
            sum += exp(sc[j] - mx);
        for (int e = 0; e < d && want_out; e++) {
            double want = 0;
            for (int j = 0; j < s; j++)
                want += exp(sc[j] - mx) / sum * v[(size_t)j * ld + (size_t)e];
            if (fabs(o[(size_t)i * ld + (size_t)e] - want) > 1e-5)
                fail_msg("%s cross t=%d s=%d d=%d: out[%d][%d] = %.9g, want %.9g", F->name, t, s,
                         d, i, e, (double)o[(size_t)i * ld + (size_t)e], want);
        }
        for (int j = 0; j < s && want_probs; j++) {
            double want = exp(sc[j] - mx) / sum;
            if (fabs(p[(size_t)i * (size_t)s + (size_t)j] - want) > 2e-6)
                fail_msg("%s cross t=%d s=%d d=%d: p[%d][%d] = %.9g, want %.9g", F->name, t, s,
                         d, i, j, (double)p[(size_t)i * (size_t)s + (size_t)j], want);
        }
    }
    assert_true(p[(size_t)t * (size_t)s] == -7.0f); /* nothing past the (t, s) map */
    free(sc);
    ufree(q), ufree(k), ufree(v), ufree(p), ufree(o), ufree(scratch);
}

static void attention_cross_on(const mhv_kernels *F)
{
    const int ts[] = {1, 5, 13, 50, 130}, ss[] = {1, 7, 33, 200};
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++) {
            check_cross(F, ts[i], ss[j], 64, 67, 1, 1);
            check_cross(F, ts[i], ss[j], 16, 16, 1, 0);
            check_cross(F, ts[i], ss[j], 7, 7, 0, 1);
        }
    check_cross(F, 3, 1500, 64, 64, 1, 1); /* Whisper: a few target tokens over 30 s */
}

static void test_attention_cross(void **state)
{
    (void)state;
    attention_cross_on(mhv_kernels_scalar());
    ON_FAST_TABLES(attention_cross_on);
}

static void test_attention_window(void **state)
{
    (void)state;
    ON_FAST_TABLES(attention_window_on);
}

static void attention_shapes_on(const mhv_kernels *F)
{
    const int ds[] = {1, 7, 64, 65};
    for (int i = 0; i < N_SIZES; i++)
        for (int j = 0; j < 4; j++)
            for (int causal = 0; causal < 2; causal++)
                check_attention(F, sizes[i], ds[j], (size_t)ds[j] + (size_t)(i % 3) * 5, causal,
                                1, 1, 1.0f);
    /* long rows; probabilities only (last layer); output only (unselected heads) */
    check_attention(F, 600, 64, 768, 1, 1, 1, 1.0f);
    check_attention(F, 300, 64, 64, 0, 1, 0, 1.0f);
    check_attention(F, 300, 64, 70, 1, 0, 1, 1.0f);
}

static void test_attention_shapes(void **state)
{
    (void)state;
    ON_FAST_TABLES(attention_shapes_on);
}

static void softmax_extremes_on(const mhv_kernels *F)
{
    /* scores of magnitude ~1e4..1e6: one key takes all, exp underflows for the rest */
    check_attention(F, 65, 64, 64, 0, 1, 1, 30.0f);
    check_attention(F, 129, 16, 16, 1, 1, 1, 300.0f);
    /* all-equal scores: uniform rows, 1/(i+1) under the causal mask */
    int n = 129, d = 8;
    float *z = ualloc((size_t)n * (size_t)d), *p = ualloc((size_t)n * (size_t)n);
    float *o = ualloc((size_t)n * (size_t)d), *s = ualloc(F->attention_scratch(n, d));
    memset(z, 0, (size_t)n * (size_t)d * sizeof *z);
    for (int causal = 0; causal < 2; causal++) {
        mhv_attn_args a = {
            .q = z, .k = z, .v = z, .n = n, .d = d, .ld_q = (size_t)d, .ld_k = (size_t)d,
            .ld_v = (size_t)d, .scale = 0.125f, .causal = causal, .probs = p, .scratch = s,
            .out = o, .ld_out = (size_t)d,
        };
        F->attention(&a);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                float want = causal && j > i ? 0.0f : 1.0f / (float)(causal ? i + 1 : n);
                assert_float_equal(p[(size_t)i * (size_t)n + (size_t)j], want, 1e-7);
            }
    }
    ufree(z), ufree(p), ufree(o), ufree(s);
}

/* The scalar attention's extras against a direct computation: a two-sided window (ModernBERT),
 * soft capping (Gemma 2), an additive score bias (T5, DeBERTa) and a sink logit (GPT-OSS),
 * alone and together. */
static void check_features(int n, int d, int causal, int window, float softcap, int with_bias,
                           int with_sink)
{
    float *q = malloc((size_t)n * d * sizeof *q), *k = malloc((size_t)n * d * sizeof *k);
    float *v = malloc((size_t)n * d * sizeof *v), *bias = malloc((size_t)n * n * sizeof *bias);
    float *p = malloc((size_t)n * n * sizeof *p), *o = malloc((size_t)n * d * sizeof *o);
    float *scratch = malloc((size_t)n * sizeof *scratch);
    for (int i = 0; i < n * d; i++)
        q[i] = frand(-3, 3), k[i] = frand(-3, 3), v[i] = frand(-1, 1);
    for (int i = 0; i < n * n; i++)
        bias[i] = frand(-2, 2);
    mhv_attn_args a = {.q = q, .k = k, .v = v, .n = n, .d = d, .ld_q = (size_t)d,
                       .ld_k = (size_t)d, .ld_v = (size_t)d, .scale = 0.5f, .causal = causal,
                       .window = window, .softcap = softcap, .bias = with_bias ? bias : NULL,
                       .ld_bias = (size_t)n, .probs = p, .scratch = scratch, .out = o,
                       .ld_out = (size_t)d, .has_sink = with_sink, .sink = 1.5f};
    mhv_kernels_scalar()->attention(&a);
    for (int i = 0; i < n; i++) {
        double sc[256], mx = -INFINITY, sum = 0;
        int seen[256];
        for (int j = 0; j < n; j++) {
            seen[j] = !(causal && j > i) && !(window > 0 && abs(i - j) >= window);
            double s = 0;
            for (int t = 0; t < d; t++)
                s += (double)q[i * d + t] * k[j * d + t];
            s *= 0.5;
            if (softcap > 0)
                s = softcap * tanh(s / softcap);
            if (with_bias)
                s += bias[i * n + j];
            sc[j] = s;
            if (seen[j] && s > mx)
                mx = s;
        }
        if (with_sink && 1.5 > mx)
            mx = 1.5;
        for (int j = 0; j < n; j++)
            sum += seen[j] ? exp(sc[j] - mx) : 0;
        if (with_sink)
            sum += exp(1.5 - mx);
        for (int j = 0; j < n; j++) {
            double want = seen[j] ? exp(sc[j] - mx) / sum : 0;
            double got = p[i * n + j];
            if (fabs(got - want) > 1e-6)
                fail_msg("n=%d causal=%d window=%d cap=%g bias=%d sink=%d: p[%d][%d] = %.9g, "
                         "want %.9g", n, causal, window, (double)softcap, with_bias, with_sink,
                         i, j, got, want);
        }
        for (int t = 0; t < d; t++) {
            double want = 0;
            for (int j = 0; j < n; j++)
                want += (seen[j] ? exp(sc[j] - mx) / sum : 0) * v[j * d + t];
            assert_true(fabs(o[i * d + t] - want) < 1e-5);
        }
    }
    free(q), free(k), free(v), free(bias), free(p), free(o), free(scratch);
}

static void test_attention_features(void **state)
{
    (void)state;
    for (int causal = 0; causal < 2; causal++)
        for (int window = 0; window < 5; window += 2)
            for (int cap = 0; cap < 2; cap++)
                for (int bias = 0; bias < 2; bias++)
                    for (int sink = 0; sink < 2; sink++) {
                        check_features(1, 4, causal, window, cap ? 5.0f : 0, bias, sink);
                        check_features(23, 8, causal, window, cap ? 5.0f : 0, bias, sink);
                    }
}

/* A row map (prow): the kept rows are the same bytes as in an all-rows call of the same
 * table, in the map's order; nothing past them is written; out is unchanged. */
static void check_attention_rows(const mhv_kernels *F, int n, int d, int causal, int window,
                                 int want_out)
{
    size_t ld = (size_t)d + 3, m = (size_t)n * ld, nn = (size_t)n * (size_t)n;
    float *q = ualloc(m), *k = ualloc(m), *v = ualloc(m);
    for (size_t i = 0; i < m; i++)
        q[i] = frand(-2, 2), k[i] = frand(-2, 2), v[i] = frand(-1, 1);
    float *p0 = ualloc(nn), *o0 = ualloc(m), *o1 = ualloc(m), *s = ualloc(F->attention_scratch(n, d));
    int *prow = malloc((size_t)n * sizeof *prow);
    assert_non_null(prow);
    /* the last row first, then every third row from 1, then row 0 */
    int rows = 0;
    for (int i = 0; i < n; i++)
        prow[i] = -1;
    prow[n - 1] = rows++;
    for (int i = 1; i < n - 1; i += 3)
        prow[i] = rows++;
    if (n > 1)
        prow[0] = rows++;
    float *p1 = ualloc((size_t)(rows + 1) * (size_t)n);
    for (size_t i = 0; i < (size_t)(rows + 1) * (size_t)n; i++)
        p1[i] = -7.0f;
    memset(o0, 0, m * sizeof *o0), memset(o1, 0, m * sizeof *o1);
    mhv_attn_args a = {
        .q = q, .k = k, .v = v, .n = n, .d = d, .ld_q = ld, .ld_k = ld, .ld_v = ld,
        .scale = (float)(1.0 / sqrt((double)d)), .causal = causal, .window = window,
        .ld_out = ld, .scratch = s,
    };
    a.probs = p0, a.out = want_out ? o0 : NULL;
    F->attention(&a);
    a.probs = p1, a.out = want_out ? o1 : NULL, a.prow = prow;
    F->attention(&a);
    for (int i = 0; i < n; i++)
        if (prow[i] >= 0 &&
            memcmp(p0 + (size_t)i * (size_t)n, p1 + (size_t)prow[i] * (size_t)n,
                   (size_t)n * sizeof *p0) != 0)
            fail_msg("%s attention n=%d causal=%d window=%d: row %d differs under a row map",
                     F->name, n, causal, window, i);
    for (size_t j = 0; j < (size_t)n; j++)
        assert_true(p1[(size_t)rows * (size_t)n + j] == -7.0f);
    assert_memory_equal(o0, o1, m * sizeof *o0);
    ufree(q), ufree(k), ufree(v), ufree(p0), ufree(p1), ufree(o0), ufree(o1), ufree(s);
    free(prow);
}

static void attention_rows_on(const mhv_kernels *F)
{
    const int ns[] = {1, 5, 33, 130};
    for (int i = 0; i < 4; i++)
        for (int causal = 0; causal < 2; causal++)
            for (int out = 0; out < 2; out++) {
                check_attention_rows(F, ns[i], 16, causal, 0, out);
                check_attention_rows(F, ns[i], 64, causal, causal ? 7 : 0, out);
            }
}

static void test_attention_rows(void **state)
{
    (void)state;
    attention_rows_on(mhv_kernels_scalar());
    ON_FAST_TABLES(attention_rows_on);
}

static void test_softmax_extremes(void **state)
{
    (void)state;
    ON_FAST_TABLES(softmax_extremes_on);
}

static void layernorm_on(const mhv_kernels *F)
{
    const mhv_kernels *S = mhv_kernels_scalar();
    for (int i = 0; i < N_SIZES; i++) {
        int n = sizes[(i + 2) % N_SIZES], d = sizes[i] + (i == 7 ? 3000 : 0);
        size_t nd = (size_t)n * (size_t)d;
        float *x0 = ualloc(nd), *x1 = ualloc(nd), *g = ualloc((size_t)d), *b = ualloc((size_t)d);
        for (size_t t = 0; t < nd; t++)
            x0[t] = x1[t] = 50.0f + frand(-3, 3); /* an offset mean, as in real residuals */
        for (int t = 0; t < d; t++)
            g[t] = frand(0.5f, 1.5f), b[t] = frand(-1, 1);
        S->layernorm(x0, g, b, n, d, 1e-12f);
        F->layernorm(x1, g, b, n, d, 1e-12f);
        double diff = max_abs_diff(x0, x1, nd);
        if (diff > 1e-6)
            fail_msg("layernorm n=%d d=%d: differs by %.3g", n, d, diff);
        ufree(x0), ufree(x1), ufree(g), ufree(b);
    }
}

static void test_layernorm(void **state)
{
    (void)state;
    ON_FAST_TABLES(layernorm_on);
}

static void rmsnorm_on(const mhv_kernels *F)
{
    const mhv_kernels *S = mhv_kernels_scalar();
    for (int i = 0; i < N_SIZES; i++) {
        int n = sizes[(i + 3) % N_SIZES], d = sizes[i] + (i == 6 ? 3500 : 0);
        size_t nd = (size_t)n * (size_t)d;
        float *x0 = ualloc(nd), *x1 = ualloc(nd), *g = ualloc((size_t)d);
        for (size_t t = 0; t < nd; t++)
            x0[t] = x1[t] = frand(-30, 30);
        for (int t = 0; t < d; t++)
            g[t] = frand(0.5f, 1.5f);
        S->rmsnorm(x0, g, n, d, 1e-6f);
        F->rmsnorm(x1, g, n, d, 1e-6f);
        double diff = max_abs_diff(x0, x1, nd);
        if (diff > 1e-6)
            fail_msg("rmsnorm n=%d d=%d: differs by %.3g", n, d, diff);
        ufree(x0), ufree(x1), ufree(g);
    }
}

static void test_rmsnorm(void **state)
{
    (void)state;
    ON_FAST_TABLES(rmsnorm_on);
}

/* Every entry of the tables callers get is set (dispatch fills what a fast table lacks from
 * the scalar one). */
static void check_complete(const mhv_kernels *k)
{
    assert_non_null(k->name);
    assert_non_null(k->linear), assert_non_null(k->linear_cols);
    assert_non_null(k->linear_t_cols), assert_non_null(k->attention);
    assert_non_null(k->attention_scratch), assert_non_null(k->layernorm);
    assert_non_null(k->rmsnorm), assert_non_null(k->gelu_erf), assert_non_null(k->gelu_tanh);
    assert_non_null(k->relu), assert_non_null(k->silu), assert_non_null(k->add);
}

static void test_tables_complete(void **state)
{
    (void)state;
    check_complete(mhv_kernels_scalar());
    check_complete(mhv_kernels_select(NULL));
    const mhv_kernels *t[2];
    for (int i = 0, n = fast_tables(t); i < n; i++)
        check_complete(t[i]);
}

/* The AVX-512 linear layer's summation order, written out: each y element is one FMA chain
 * per 512-long chunk of the reduction in increasing k, the chunks' sums added in order, then
 * + bias (+0 without one). fmaf rounds once, as the FMA instruction does. */
static float avx512_order(const float *xr, const float *wr, int in, const float *b, int o)
{
    float sum = 0.0f;
    for (int c0 = 0; c0 < in; c0 += 512) {
        float chain = 0.0f;
        for (int k = c0; k < in && k < c0 + 512; k++)
            chain = fmaf(wr[k], xr[k], chain);
        sum = c0 == 0 ? chain : sum + chain;
    }
    return sum + (b ? b[o] : 0.0f);
}

/* The AVX-512 table's bytes are those of avx512_order whatever block sizes the caches give
 * and whatever the bench's knobs: blocking changes where partial sums wait, never the order
 * they are added in. */
static void test_linear_order_any_caches(void **state)
{
    (void)state;
    const mhv_kernels *F = mhv_kernels_avx512_if_supported();
    if (!F)
        skip();
    const mhv_cpu_caches cpus[] = {
        {.l1d = 32 << 10, .l2 = 512 << 10, .source = "Zen 3"},
        {.l1d = 48 << 10, .l2 = 1280 << 10, .source = "Ice Lake server"},
        {.l1d = 48 << 10, .l2 = 2048 << 10, .source = "Sapphire Rapids"},
        {.l1d = 8 << 10, .l2 = 64 << 10, .source = "tiny: smallest sub-block, one panel"},
        {.l1d = 1 << 20, .l2 = 64 << 20, .source = "huge: whole chunks, largest group"},
        {.l1d = 48 << 10, .l2 = 1 << 20, .source = "Zen 5, no prefetch, 1-tile super-blocks"},
        {.l1d = 48 << 10, .l2 = 256 << 10, .source = "small groups, far prefetch, 20 kept"},
    };
    const mhv_avx512_knobs knobs[] = {{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {-1, 1}, {512, 20}};
    _Static_assert(sizeof knobs / sizeof *knobs == sizeof cpus / sizeof *cpus, "one each");
    static const struct { int n, in, out; } shapes[] = {
        {1, 1, 13}, {17, 100, 37}, {33, 512, 25}, {40, 513, 14}, {100, 1100, 30},
        {300, 1600, 13}, {1100, 600, 12},
    };
    for (size_t c = 0; c < sizeof cpus / sizeof *cpus; c++) {
        mhv_cpu_caches_override(&cpus[c]);
        mhv_kernels_avx512_knobs(&knobs[c]);
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int t = 0; t < 2; t++) {
                int n = shapes[s].n, in = shapes[s].in, out = shapes[s].out;
                mhv_dtype dt = t ? MHV_DT_BF16 : MHV_DT_F32;
                size_t nx = (size_t)n * (size_t)in, nw = (size_t)out * (size_t)in;
                float *x = ualloc(nx), *w32 = ualloc(nw), *b = ualloc((size_t)out);
                float *y = ualloc((size_t)n * (size_t)out);
                for (size_t i = 0; i < nx; i++)
                    x[i] = frand(-1, 1);
                for (size_t i = 0; i < nw; i++) /* values the dtype holds exactly */
                    w32[i] = t ? mhv_bf16_to_f32(mhv_f32_to_bf16(frand(-1, 1))) : frand(-1, 1);
                for (int i = 0; i < out; i++)
                    b[i] = frand(-1, 1);
                void *wbase, *w = make_weights(w32, nw, dt, &wbase);
                const float *bias = s % 2 ? b : NULL;
                F->linear(y, x, w, dt, bias, n, in, out);
                for (int i = 0; i < n; i++)
                    for (int o = 0; o < out; o++) {
                        float want = avx512_order(x + (size_t)i * (size_t)in,
                                                  w32 + (size_t)o * (size_t)in, in, bias, o);
                        float got = y[(size_t)i * (size_t)out + (size_t)o];
                        if (memcmp(&want, &got, sizeof want) != 0)
                            fail_msg("%s, %s n=%d in=%d out=%d: y[%d][%d] = %.9g, order "
                                     "gives %.9g", cpus[c].source, mhv_dtype_name(dt), n, in,
                                     out, i, o, (double)got, (double)want);
                    }
                free_weights(wbase, dt);
                ufree(x), ufree(w32), ufree(b), ufree(y);
            }
    }
    mhv_cpu_caches_override(NULL);
    mhv_kernels_avx512_knobs(&knobs[0]);
}

/* The AVX-512 attention's bytes do not depend on its query and key blocks (sized from the
 * caches): every case gives the same probabilities and output under a tiny and a huge
 * cache, causal or not, with a sliding window, probabilities kept or not. */
static void test_attention_blocks_any_caches(void **state)
{
    (void)state;
    const mhv_kernels *F = mhv_kernels_avx512_if_supported();
    if (!F)
        skip();
    const mhv_cpu_caches tiny = {.l1d = 8 << 10, .l2 = 64 << 10, .source = "tiny"};
    const mhv_cpu_caches huge = {.l1d = 1 << 20, .l2 = 64 << 20, .source = "huge"};
    const mhv_cpu_caches mid = {.l1d = 48 << 10, .l2 = 1 << 20, .source = "Zen 5"};
    static const struct { int n, d, causal, window, probs; } cases[] = {
        {7, 64, 0, 0, 1}, {100, 64, 0, 0, 1}, {300, 64, 1, 0, 1}, {300, 80, 0, 0, 1},
        {260, 64, 1, 37, 1}, {200, 32, 1, 0, 0}, {333, 128, 0, 0, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int n = cases[c].n, d = cases[c].d;
        size_t ld = (size_t)d + 5, m = (size_t)n * ld, nn = (size_t)n * (size_t)n;
        float *q = ualloc(m), *k = ualloc(m), *v = ualloc(m);
        for (size_t i = 0; i < m; i++)
            q[i] = frand(-2, 2), k[i] = frand(-2, 2), v[i] = frand(-1, 1);
        float *p[3], *o[3];
        const mhv_cpu_caches *cc[3] = {&tiny, &huge, &mid};
        for (int t = 0; t < 3; t++) {
            mhv_cpu_caches_override(cc[t]);
            p[t] = ualloc(nn), o[t] = ualloc(m);
            memset(o[t], 0, m * sizeof *o[t]);
            float *scr = ualloc(F->attention_scratch(n, d));
            mhv_attn_args a = {
                .q = q, .k = k, .v = v, .n = n, .d = d, .ld_q = ld, .ld_k = ld, .ld_v = ld,
                .scale = 0.125f, .causal = cases[c].causal, .window = cases[c].window,
                .probs = cases[c].probs ? p[t] : NULL, .scratch = scr, .out = o[t],
                .ld_out = ld,
            };
            F->attention(&a);
            ufree(scr);
        }
        mhv_cpu_caches_override(NULL);
        for (int t = 1; t < 3; t++) {
            if (cases[c].probs && memcmp(p[0], p[t], nn * sizeof *p[0]) != 0)
                fail_msg("attention n=%d d=%d: probabilities differ under %s caches", n, d,
                         cc[t]->source);
            if (memcmp(o[0], o[t], m * sizeof *o[0]) != 0)
                fail_msg("attention n=%d d=%d: output differs under %s caches", n, d,
                         cc[t]->source);
        }
        for (int t = 0; t < 3; t++)
            ufree(p[t]), ufree(o[t]);
        ufree(q), ufree(k), ufree(v);
    }
}

typedef void (*map_fn)(float *x, size_t n);

/* f over `len` values spread over [lo, hi] plus special points, against the reference, within
 * ulps units in the last place of the larger of the two, or `floor` absolute. */
static void check_map(const char *name, map_fn fs, map_fn ff, float lo, float hi, double ulps,
                      double floor)
{
    size_t len = 100003;
    float *a = ualloc(len), *b = ualloc(len);
    for (size_t i = 0; i < len; i++)
        a[i] = lo + (hi - lo) * (float)i / (float)(len - 1);
    const float special[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 0.927f, -0.93f, 9.0f, -9.0f, 80.0f,
                             -80.0f, 100.0f, -100.0f};
    memcpy(a, special, sizeof special);
    memcpy(b, a, len * sizeof *a);
    fs(a, len);
    ff(b, len);
    for (size_t i = 0; i < len; i++) {
        double big = fmax(fabs(a[i]), fabs(b[i]));
        double tol = ulps * big * 0x1p-23 + floor;
        if (isnan(b[i]) || fabs((double)a[i] - b[i]) > tol)
            fail_msg("%s: element %zu: reference %.9g, fast %.9g", name, i, (double)a[i],
                     (double)b[i]);
    }
    ufree(a), ufree(b);
}

static void activations_on(const mhv_kernels *F)
{
    const mhv_kernels *S = mhv_kernels_scalar();
    /* erf is within 1 ulp, but for x < -1.3 GELU is x/2 · erfc(|x|/√2) with erfc = e^p taken
     * from erf's 1 - e^p form, accurate to an ulp of 1 rather than of erfc: an absolute error
     * of |x|·3e-8 at most, where the values are 0.1 and below */
    check_map("gelu_erf", S->gelu_erf, F->gelu_erf, -12, 12, 4, 1e-7);
    /* x·sigmoid(2u): for x << 0 the fp32 rounding of u = x + 0.044715x³ (relative 2^-24) is
     * magnified |2u| times by e^-2u, hence 128 ulps on values below 1e-3; and the reference's
     * 1 + tanh rounds to 0 below x = -8.5 where ours does not */
    check_map("gelu_tanh", S->gelu_tanh, F->gelu_tanh, -12, 12, 128, 1e-15);
    /* e^-x saturates at x = -88.4, so silu stops shrinking there (below 1e-36) */
    check_map("silu", S->silu, F->silu, -80, 80, 4, 1e-36);
    check_map("relu", S->relu, F->relu, -5, 5, 0, 0);
    /* odd lengths through the padded tail */
    for (int i = 0; i < N_SIZES; i++) {
        size_t n = (size_t)sizes[i];
        float *y0 = ualloc(n), *y1 = ualloc(n), *x = ualloc(n);
        for (size_t t = 0; t < n; t++)
            y0[t] = y1[t] = frand(-4, 4), x[t] = frand(-4, 4);
        S->add(y0, x, n);
        F->add(y1, x, n);
        assert_memory_equal(y0, y1, n * sizeof *y0);
        S->gelu_erf(y0, n);
        F->gelu_erf(y1, n);
        assert_true(max_abs_diff(y0, y1, n) < 1e-6);
        ufree(y0), ufree(y1), ufree(x);
    }
}

static void test_activations(void **state)
{
    (void)state;
    ON_FAST_TABLES(activations_on);
}

static void count_task(void *ctx, int task, int worker)
{
    (void)worker;
    __atomic_fetch_add(&((int *)ctx)[task], 1, __ATOMIC_RELAXED);
}

static void test_pool(void **state)
{
    (void)state;
    mhv_pool *p;
    assert_int_equal(mhv_pool_new(3, &p, NULL), MHV_OK);
    assert_int_equal(mhv_pool_threads(p), 3);
    for (int round = 0; round < 200; round++) {
        int hits[37] = {0};
        int n = round % 37 + 1;
        mhv_pool_run(p, n, count_task, hits);
        for (int t = 0; t < 37; t++)
            assert_int_equal(hits[t], t < n);
    }
    mhv_pool_free(p);
    mhv_pool_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_odd_shapes), cmocka_unit_test(test_linear_long_rows),
        cmocka_unit_test(test_attention_shapes),  cmocka_unit_test(test_softmax_extremes),
        cmocka_unit_test(test_attention_window),
        cmocka_unit_test(test_attention_extras),
        cmocka_unit_test(test_attention_cross),
        cmocka_unit_test(test_attention_rows),
        cmocka_unit_test(test_attention_features),
        cmocka_unit_test(test_layernorm),         cmocka_unit_test(test_activations),
        cmocka_unit_test(test_pool),              cmocka_unit_test(test_linear_small_n),
        cmocka_unit_test(test_linear_t),          cmocka_unit_test(test_rmsnorm),
        cmocka_unit_test(test_tables_complete),
        cmocka_unit_test(test_linear_order_any_caches),
        cmocka_unit_test(test_attention_blocks_any_caches),
    };
    return cmocka_run_group_tests_name("kernels", tests, NULL, NULL);
}
