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
    if (a->n_src || a->n_tgt)
        return mhv_fail(err, MHV_EUSAGE, "", "the %s weighting is not available for "
                        "encoder-decoder models", mhv_weighting_name(w));
    size_t n = (size_t)a->n, rows = (size_t)mhv_attn_nrows(a);
    float *raw = NULL;
    if (norms) {
        raw = malloc((size_t)a->count * rows * n * sizeof *raw + 1);
        if (!raw)
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    for (int k = 0; k < a->count; k++) {
        float *wk = a->heads[k].w;                  /* (rows, n) */
        const float *vn = a->vnorm + (size_t)k * n; /* (n,) */
        for (size_t i = 0; i < rows; i++) {
            float *row = wk + i * n;
            double sum = 0;
            for (size_t j = 0; j < n; j++)
                sum += (double)row[j] * vn[j];
            for (size_t j = 0; j < n; j++) {
                double p = (double)row[j] * vn[j];
                if (raw)
                    raw[((size_t)k * rows + i) * n + j] = (float)p;
                row[j] = sum > 0 ? (float)(p / sum) : 0.0f;
            }
        }
    }
    if (norms)
        *norms = raw;
    return MHV_OK;
}
