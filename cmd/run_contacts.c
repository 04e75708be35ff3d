/* run_contacts.c - ESM's contacts of a sentence (see run_contacts.h). */
#include "run_contacts.h"

#include <stdlib.h>

#include "analysis/contacts.h"
#include "model/family.h"

mhv_status run_contacts_check(const mhv_model *m, mhv_error *err)
{
    if (!m->contact_w.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "--contacts needs ESM's contact head "
                        "(contact_head.regression.weight): %s",
                        m->cfg.family == &mhv_family_esm ? "this esm checkpoint has none"
                                                     : "only esm models have one");
    return MHV_OK;
}

mhv_status run_contacts_of(mhv_forward_ctx *fc, const mhv_model *m, const mhv_encoding *enc,
                           const mhv_attn *attn, float **p, int *L, mhv_error *err)
{
    int layers = m->cfg.num_layers, heads = m->cfg.num_heads, C = layers * heads;
    *p = NULL;
    *L = mhv_contacts_len(enc->n);
    float *w = malloc((size_t)C * sizeof *w), b = m->contact_b[0];
    float *out = malloc(((size_t)*L * (size_t)*L + 1) * sizeof *out);
    if (!w || !out) {
        free(w), free(out);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    mhv_mat_row(&m->contact_w, 0, w);
    mhv_status st;
    if (attn && attn->count == C && !attn->row_ids) {
        st = mhv_contacts_compute(attn, layers, heads, enc->ids, w, b, out, err);
    } else { /* --heads chose fewer, or --rows kept fewer rows: every head again */
        mhv_heads all;
        mhv_attn own = {0};
        st = mhv_heads_parse("all", layers, heads, &all, err);
        if (!st) {
            st = mhv_forward_run_opts(fc, m, enc->ids, NULL, enc->n, &all,
                                      &(mhv_forward_opts){0}, &own, err);
            mhv_heads_free(&all);
        }
        if (!st)
            st = mhv_contacts_compute(&own, layers, heads, enc->ids, w, b, out, err);
        mhv_attn_free(&own);
    }
    free(w);
    if (st || *L == 0) {
        free(out);
        return st;
    }
    *p = out;
    return MHV_OK;
}
