/* interp.c - PyTorch's bicubic and bilinear resizes of a grid of vectors (see interp.h). */
#include "nn/interp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The taps of one axis: output o reads in[idx[o * k + t]] with weight w[o * k + t]. */
typedef struct {
    int k;
    int *idx;       /* (out, k) */
    double *w;      /* (out, k) */
} taps;

/* Keys' cubic convolution kernel for |x| < 1 and 1 <= |x| < 2 (torch's cubic_convolution1
 * and cubic_convolution2). */
static double cubic1(double x, double a)
{
    return ((a + 2) * x - (a + 3)) * x * x + 1;
}

static double cubic2(double x, double a)
{
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

/* torch's upsample_bicubic2d: 4 taps around src = scale * (o + 0.5) - 0.5, a = -0.75,
 * indices clamped to the grid. */
static void plain_taps(int in, int out, taps *t)
{
    const double a = -0.75, scale = (double)in / out;
    for (int o = 0; o < out; o++) {
        double src = scale * (o + 0.5) - 0.5, f = floor(src), d = src - f;
        double w[4] = {cubic2(d + 1, a), cubic1(d, a), cubic1(1 - d, a), cubic2(2 - d, a)};
        for (int j = 0; j < 4; j++) {
            long i = (long)f - 1 + j;
            t->idx[(size_t)o * 4 + (size_t)j] = (int)(i < 0 ? 0 : i > in - 1 ? in - 1 : i);
            t->w[(size_t)o * 4 + (size_t)j] = w[j];
        }
    }
}

/* PIL's bicubic filter (a = -0.5), torch's aa_filter for antialiased bicubic. */
static double aa_cubic(double x)
{
    const double a = -0.5;
    x = fabs(x);
    return x < 1 ? cubic1(x, a) : x < 2 ? cubic2(x, a) : 0;
}

/* The triangle, torch's aa_filter for antialiased bilinear. */
static double aa_triangle(double x)
{
    x = fabs(x);
    return x < 1 ? 1 - x : 0;
}

/* torch's _upsample_bicubic2d_aa (and, with the triangle of support 1, _bilinear2d_aa): the
 * filter stretched by the shrink factor, the inputs within its support of the centre,
 * weights normalised to sum 1. */
static void aa_taps(int in, int out, taps *t, double (*filter)(double), double base)
{
    double scale = (double)in / out;
    double support = scale >= 1 ? base * scale : base, inv = scale >= 1 ? 1 / scale : 1;
    for (int o = 0; o < out; o++) {
        double centre = scale * (o + 0.5), sum = 0;
        /* truncation toward zero, as torch's static_cast<int64_t> */
        long lo = (long)(centre - support + 0.5), hi = (long)(centre + support + 0.5);
        lo = lo < 0 ? 0 : lo;
        hi = hi > in ? in : hi;
        int count = (int)(hi - lo) < t->k ? (int)(hi - lo) : t->k;
        double *w = t->w + (size_t)o * (size_t)t->k;
        int *idx = t->idx + (size_t)o * (size_t)t->k;
        for (int j = 0; j < t->k; j++) {
            idx[j] = (int)lo;
            w[j] = 0;
        }
        for (int j = 0; j < count; j++) {
            idx[j] = (int)lo + j;
            w[j] = filter(((double)j + (double)lo - centre + 0.5) * inv);
            sum += w[j];
        }
        for (int j = 0; j < count; j++)
            w[j] = sum != 0 ? w[j] / sum : 0;
    }
}

/* torch's upsample_bilinear2d: 2 taps at src = max(0, scale * (o + 0.5) - 0.5). */
static void bilinear_taps(int in, int out, taps *t)
{
    const double scale = (double)in / out;
    for (int o = 0; o < out; o++) {
        double src = scale * (o + 0.5) - 0.5;
        src = src < 0 ? 0 : src;
        int i0 = (int)src;
        double d = src - i0;
        t->idx[(size_t)o * 2] = i0;
        t->idx[(size_t)o * 2 + 1] = i0 < in - 1 ? i0 + 1 : i0;
        t->w[(size_t)o * 2] = 1 - d;
        t->w[(size_t)o * 2 + 1] = d;
    }
}

static int taps_make(mhv_interp_mode mode, int in, int out, taps *t)
{
    if (mode == MHV_INTERP_BICUBIC_AA || mode == MHV_INTERP_BILINEAR_AA) {
        double base = mode == MHV_INTERP_BICUBIC_AA ? 2 : 1, scale = (double)in / out;
        double support = scale >= 1 ? base * scale : base;
        t->k = (int)ceil(support) * 2 + 1;
    } else {
        t->k = mode == MHV_INTERP_BILINEAR ? 2 : 4;
    }
    t->idx = malloc((size_t)out * (size_t)t->k * sizeof *t->idx);
    t->w = malloc((size_t)out * (size_t)t->k * sizeof *t->w);
    if (!t->idx || !t->w)
        return -1;
    if (mode == MHV_INTERP_BICUBIC_AA)
        aa_taps(in, out, t, aa_cubic, 2);
    else if (mode == MHV_INTERP_BILINEAR_AA)
        aa_taps(in, out, t, aa_triangle, 1);
    else if (mode == MHV_INTERP_BILINEAR)
        bilinear_taps(in, out, t);
    else
        plain_taps(in, out, t);
    return 0;
}

mhv_status mhv_interp_grid(mhv_interp_mode mode, const double *in, int ih, int iw, int dim,
                           double *out, int oh, int ow, mhv_error *err)
{
    const int most = 1 << 12;
    if (ih < 1 || iw < 1 || oh < 1 || ow < 1 || ih > most || iw > most || oh > most ||
        ow > most || dim < 1)
        return mhv_fail(err, MHV_EUSAGE, "", "cannot resize a %dx%d grid to %dx%d", ih, iw, oh,
                        ow);
    taps tx = {0}, ty = {0};
    size_t D = (size_t)dim;
    double *mid = malloc((size_t)ih * (size_t)ow * D * sizeof *mid); /* (ih, ow, dim) */
    mhv_status st = MHV_OK;
    if (!mid || taps_make(mode, iw, ow, &tx) || taps_make(mode, ih, oh, &ty)) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory resizing a %dx%d grid", ih, iw);
        goto done;
    }
    /* along the columns: mid[y][o] = sum_t w * in[y][idx] */
    for (int y = 0; y < ih; y++)
        for (int o = 0; o < ow; o++) {
            double *m = mid + ((size_t)y * (size_t)ow + (size_t)o) * D;
            memset(m, 0, D * sizeof *m);
            for (int t = 0; t < tx.k; t++) {
                double w = tx.w[(size_t)o * (size_t)tx.k + (size_t)t];
                const double *src = in + ((size_t)y * (size_t)iw + (size_t)tx.idx[(size_t)o * (size_t)tx.k + (size_t)t]) * D;
                for (size_t c = 0; c < D; c++)
                    m[c] += w * src[c];
            }
        }
    /* along the rows: out[o][x] = sum_t w * mid[idx][x] */
    for (int o = 0; o < oh; o++)
        for (int x = 0; x < ow; x++) {
            double *r = out + ((size_t)o * (size_t)ow + (size_t)x) * D;
            memset(r, 0, D * sizeof *r);
            for (int t = 0; t < ty.k; t++) {
                double w = ty.w[(size_t)o * (size_t)ty.k + (size_t)t];
                const double *src = mid + ((size_t)ty.idx[(size_t)o * (size_t)ty.k + (size_t)t] * (size_t)ow + (size_t)x) * D;
                for (size_t c = 0; c < D; c++)
                    r[c] += w * src[c];
            }
        }
done:
    free(mid);
    free(tx.idx), free(tx.w), free(ty.idx), free(ty.w);
    return st;
}
