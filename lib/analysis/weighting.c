#include "analysis/weighting.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"attn", "norm", "norm-out"};

mhv_status mhv_weighting_parse(const char *s, mhv_weighting *out, mhv_error *err)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (mhv_weighting)i;
            return MHV_OK;
        }
    return mhv_fail(err, MHV_EUSAGE, "", "weighting '%s' is not attn, norm or norm-out", s);
}

const char *mhv_weighting_name(mhv_weighting w)
{
    return (unsigned)w < 3 ? names[w] : "?";
}

int mhv_weighting_vnorm(mhv_weighting w)
{
    return w == MHV_WEIGHT_NORM ? MHV_VNORM_V
           : w == MHV_WEIGHT_NORM_OUT ? MHV_VNORM_VO
                                      : MHV_VNORM_NONE;
}

mhv_status mhv_weighting_apply(mhv_attn *a, mhv_weighting w, float **norms, mhv_error *err)
{
    if (norms)
        *norms = NULL;
    if (w == MHV_WEIGHT_ATTN)
        return MHV_OK;
    if (!a->vnorm || a->vnorm_kind != mhv_weighting_vnorm(w))
        return mhv_fail(err, MHV_EUSAGE, "", "the %s weighting needs the value norms %s",
                        mhv_weighting_name(w),
                        w == MHV_WEIGHT_NORM ? "||v||" : "||v W_O||");
    /* encoder-decoder runs: each head's map is (rows, cols) of its stack, its value norms
     * (cols,) one after another (attn.h) */
    int s2s = a->n_src || a->n_tgt;
    size_t cells = 0;
    for (int k = 0; k < a->count; k++)
        cells += s2s ? (size_t)a->heads[k].rows * (size_t)a->heads[k].cols
                     : (size_t)mhv_attn_nrows(a) * (size_t)a->n;
    float *raw = NULL;
    if (norms) {
        raw = malloc(cells * sizeof *raw + 1);
        if (!raw)
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    size_t at = 0, vat = 0; /* head k's first cell and first value norm */
    for (int k = 0; k < a->count; k++) {
        size_t rows = s2s ? (size_t)a->heads[k].rows : (size_t)mhv_attn_nrows(a);
        size_t n = s2s ? (size_t)a->heads[k].cols : (size_t)a->n;
        float *wk = a->heads[k].w;      /* (rows, n) */
        const float *vn = a->vnorm + vat; /* (n,) */
        for (size_t i = 0; i < rows; i++) {
            float *row = wk + i * n;
            double sum = 0;
            for (size_t j = 0; j < n; j++)
                sum += (double)row[j] * vn[j];
            for (size_t j = 0; j < n; j++) {
                double p = (double)row[j] * vn[j];
                if (raw)
                    raw[at + i * n + j] = (float)p;
                row[j] = sum > 0 ? (float)(p / sum) : 0.0f;
            }
        }
        at += rows * n;
        vat += n;
    }
    if (norms)
        *norms = raw;
    return MHV_OK;
}
