/* contacts.c - ESM's contact head over the attention maps (see contacts.h). */
#include "analysis/contacts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int mhv_contacts_len(int n)
{
    return n > 2 ? n - 2 : 0;
}

mhv_status mhv_contacts_compute(const mhv_attn *a, int layers, int heads, const int32_t *ids,
                                const float *w, float b, float *out, mhv_error *err)
{
    int C = layers * heads, n = a->n, L = mhv_contacts_len(n);
    if (a->row_ids || a->n_src || a->count != C)
        return mhv_fail(err, MHV_EUSAGE, "", "contacts need every head of every layer over "
                        "every row (%d heads captured of %d)", a->count, C);
    for (int c = 0; c < C; c++)
        if (a->heads[c].layer != c / heads || a->heads[c].head != c % heads)
            return mhv_fail(err, MHV_EUSAGE, "", "contacts need the heads in (layer, head) "
                            "order");
    if (L == 0)
        return MHV_OK;
    size_t LL = (size_t)L * (size_t)L;
    double *acc = malloc(LL * sizeof *acc), *r = malloc((size_t)L * sizeof *r);
    unsigned char *kept = malloc((size_t)L);
    if (!acc || !r || !kept) {
        free(acc), free(r), free(kept);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    for (size_t k = 0; k < LL; k++)
        acc[k] = (double)b;
    for (int i = 0; i < L; i++) /* residue i is token i + 1: eos tokens are masked out */
        kept[i] = ids[i + 1] != MHV_CONTACTS_EOS_ID;
    for (int c = 0; c < C; c++) {
        const float *m = a->heads[c].w + (size_t)n + 1; /* token (1, 1) */
#define A(i, j) (kept[i] && kept[j] ? (double)m[(size_t)(i) * (size_t)n + (size_t)(j)] : 0.0)
        double t = 0;
        for (int i = 0; i < L; i++) {
            double s = 0;
            for (int j = 0; j < L; j++)
                s += A(i, j) + A(j, i);
            r[i] = s;
            t += s;
        }
        double wc = (double)w[c];
        for (int i = 0; i < L; i++)
            for (int j = 0; j < L; j++)
                acc[(size_t)i * (size_t)L + (size_t)j] +=
                    wc * (A(i, j) + A(j, i) - r[i] * r[j] / t);
#undef A
    }
    for (size_t k = 0; k < LL; k++)
        out[k] = (float)(1.0 / (1.0 + exp(-acc[k])));
    free(acc), free(r), free(kept);
    return MHV_OK;
}
