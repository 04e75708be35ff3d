#include "analysis/finite.h"

#include <math.h>
#include <stddef.h>

mhv_status mhv_attn_check_finite(const mhv_attn *a, mhv_error *err)
{
    size_t nn = (size_t)mhv_attn_nrows(a) * (size_t)a->n;
    for (int k = 0; k < a->count; k++) {
        const float *w = a->heads[k].w;
        for (size_t i = 0; i < nn; i++)
            if (!isfinite(w[i])) {
                int r = (int)(i / (size_t)a->n); /* the map row, and the token it holds */
                return mhv_fail(err, MHV_EFORMAT, "",
                                "layer %d, head %d: attention of token %d is %s (NaN or "
                                "infinite values in the checkpoint's weights?)",
                                a->heads[k].layer, a->heads[k].head,
                                a->row_ids ? a->row_ids[r] : r,
                                isnan(w[i]) ? "NaN" : "infinite");
            }
    }
    return MHV_OK;
}
