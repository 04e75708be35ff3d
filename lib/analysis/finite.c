#include "analysis/finite.h"

#include <math.h>
#include <stddef.h>

mhv_status mhv_attn_check_finite(const mhv_attn *a, mhv_error *err)
{
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        int rows = mhv_attn_nrows(a), cols = a->n;
        /* a smaller map of its own (Swin's later stages): only its cells are written */
        if (h->rows > 0 && h->cols > 0 && h->rows <= rows && h->cols <= cols)
            rows = h->rows, cols = h->cols;
        size_t nn = (size_t)rows * (size_t)cols;
        const float *w = h->w;
        for (size_t i = 0; i < nn; i++)
            if (!isfinite(w[i])) {
                int r = (int)(i / (size_t)cols); /* the map row, and the token it holds */
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
