#include "analysis/zoom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* out: count maps of m x m, labelled as a's heads; with row_ids (not NULL), maps of nrows x
 * m keeping those rows (copied). */
static mhv_status alloc_like(const mhv_attn *a, int m, const int *row_ids, int nrows,
                             mhv_attn *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    int R = row_ids ? nrows : m;
    size_t map = (size_t)R * (size_t)m;
    out->heads = calloc((size_t)a->count + 1, sizeof *out->heads);
    out->buf = malloc(((size_t)a->count * map + 1) * sizeof *out->buf);
    if (row_ids && (out->row_ids = malloc(((size_t)nrows + 1) * sizeof *out->row_ids)))
        memcpy(out->row_ids, row_ids, (size_t)nrows * sizeof *row_ids);
    if (!out->heads || !out->buf || (row_ids && !out->row_ids)) {
        mhv_attn_free(out);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for %d maps of %d tokens",
                        a->count, m);
    }
    out->n = m;
    out->rows = row_ids ? nrows : 0;
    out->count = a->count;
    out->kv_group = a->kv_group;
    for (int k = 0; k < a->count; k++) {
        out->heads[k] = a->heads[k];
        out->heads[k].w = out->buf + (size_t)k * map;
        out->heads[k].rows = R;
        out->heads[k].cols = m;
    }
    return MHV_OK;
}

/* enc with m tokens: ids -1, no spans, pieces from label(i) (may be ""). */
static mhv_status alloc_enc(mhv_encoding *e, int m, mhv_error *err)
{
    memset(e, 0, sizeof *e);
    e->ids = malloc(((size_t)m + 1) * sizeof *e->ids);
    e->pieces = calloc((size_t)m + 1, sizeof *e->pieces);
    e->spans = malloc(((size_t)m + 1) * 2 * sizeof *e->spans);
    if (!e->ids || !e->pieces || !e->spans) {
        mhv_encoding_free(e);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    e->n = m;
    return MHV_OK;
}

/* wenc (m tokens, allocated) = tokens t0..t0+m-1 of enc; freed on failure. */
static mhv_status copy_tokens(const mhv_encoding *enc, int t0, int m, mhv_encoding *wenc,
                              mhv_error *err)
{
    for (int i = 0; i < m; i++) {
        wenc->ids[i] = enc->ids[t0 + i];
        wenc->spans[2 * i] = enc->spans[2 * (t0 + i)];
        wenc->spans[2 * i + 1] = enc->spans[2 * (t0 + i) + 1];
        if (!(wenc->pieces[i] = strdup(enc->pieces[t0 + i]))) {
            mhv_encoding_free(wenc);
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        }
    }
    return MHV_OK;
}

mhv_status mhv_zoom_window(const mhv_attn *a, const mhv_encoding *enc, int t0, int t1,
                           mhv_attn *out, mhv_encoding *wenc, mhv_error *err)
{
    memset(wenc, 0, sizeof *wenc);
    int n = a->n, m = t1 - t0;
    if (t0 < 0 || t1 > n || m < 1 || enc->n != n)
        return mhv_fail(err, MHV_EUSAGE, "", "window %d:%d is not within the %d tokens", t0, t1,
                        n);
    /* kept rows: those in the window (a run of a's rows from r0) */
    int r0 = 0, R = m;
    if (a->row_ids) {
        while (r0 < a->rows && a->row_ids[r0] < t0)
            r0++;
        for (R = 0; r0 + R < a->rows && a->row_ids[r0 + R] < t1; R++)
            ;
        if (R == 0)
            return mhv_fail(err, MHV_EUSAGE, "", "no kept query row lies in the window %d:%d",
                            t0, t1);
    }
    mhv_status st = alloc_like(a, m, a->row_ids ? a->row_ids + r0 : NULL, R, out, err);
    if (st || (st = alloc_enc(wenc, m, err))) {
        mhv_attn_free(out);
        return st;
    }
    for (int k = 0; k < a->count; k++)
        for (int i = 0; i < R; i++) /* source row: the query's own (square) or kept row */
            memcpy(out->heads[k].w + (size_t)i * (size_t)m,
                   a->heads[k].w + (size_t)(a->row_ids ? r0 + i : t0 + i) * (size_t)n +
                       (size_t)t0,
                   (size_t)m * sizeof(float));
    if ((st = copy_tokens(enc, t0, m, wenc, err)))
        mhv_attn_free(out);
    return st;
}

/* p(ceil(rn / rb), ceil(cn / cb)) = the blocks of rb x cb cells (the last ones smaller) of
 * w(rn, cn), each its maximum or mean. */
static void pool_map(const float *w, int rn, int cn, int rb, int cb, mhv_pool_kind kind,
                     float *p)
{
    int R = (rn + rb - 1) / rb, m = (cn + cb - 1) / cb;
    for (int bi = 0; bi < R; bi++) {
        int i0 = bi * rb, i1 = i0 + rb < rn ? i0 + rb : rn;
        for (int bj = 0; bj < m; bj++) {
            int j0 = bj * cb, j1 = j0 + cb < cn ? j0 + cb : cn;
            double acc = 0;
            float mx = 0.0f;
            for (int i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++) {
                    float v = w[(size_t)i * (size_t)cn + (size_t)j];
                    acc += v;
                    mx = v > mx ? v : mx;
                }
            p[(size_t)bi * (size_t)m + (size_t)bj] =
                kind == MHV_POOL_MAX ? mx : (float)(acc / ((double)(i1 - i0) * (j1 - j0)));
        }
    }
}

mhv_status mhv_zoom_labels(int n, int b, int first, int every, mhv_encoding *benc,
                           mhv_error *err)
{
    memset(benc, 0, sizeof *benc);
    if (b < 1 || every < 1 || n < 1)
        return mhv_fail(err, MHV_EUSAGE, "", "blocks of %d tokens cannot be pooled", b);
    int m = (n + b - 1) / b;
    mhv_status st = alloc_enc(benc, m, err);
    if (st)
        return st;
    for (int bi = 0; bi < m; bi++) {
        char label[16] = "";
        if (bi % every == 0)
            snprintf(label, sizeof label, "%d", first + bi * b);
        benc->ids[bi] = -1;
        benc->spans[2 * bi] = benc->spans[2 * bi + 1] = -1;
        if (!(benc->pieces[bi] = strdup(label))) {
            mhv_encoding_free(benc);
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        }
    }
    return MHV_OK;
}

mhv_status mhv_zoom_pool(const mhv_attn *a, int b, mhv_pool_kind kind, int first, int every,
                         mhv_attn *out, mhv_encoding *benc, mhv_error *err)
{
    memset(benc, 0, sizeof *benc);
    int n = a->n;
    if (b < 1 || every < 1)
        return mhv_fail(err, MHV_EUSAGE, "", "blocks of %d tokens cannot be pooled", b);
    int m = (n + b - 1) / b;
    /* kept rows stay rows: only their keys are pooled */
    int rb = a->row_ids ? 1 : b, rn = a->row_ids ? a->rows : n;
    mhv_status st = alloc_like(a, m, a->row_ids, a->rows, out, err);
    if (st || (st = mhv_zoom_labels(n, b, first, every, benc, err))) {
        mhv_attn_free(out);
        return st;
    }
    for (int k = 0; k < a->count; k++)
        pool_map(a->heads[k].w, rn, n, rb, b, kind, out->heads[k].w);
    return MHV_OK;
}

mhv_status mhv_zoom_pool_seq2seq(const mhv_attn *a, int bs, int bt, mhv_pool_kind kind,
                                 const mhv_s2s_rows *kept, mhv_attn *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    if (bs < 1 || bt < 1 || a->row_ids)
        return mhv_fail(err, MHV_EUSAGE, "", "blocks of %d and %d tokens cannot be pooled", bs,
                        bt);
    int ms = (a->n_src + bs - 1) / bs, mt = (a->n_tgt + bt - 1) / bt;
    size_t cells = 0;
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        int tr = h->stack != MHV_STACK_ENCODER, tc = h->stack == MHV_STACK_DECODER;
        int rows = tr ? (kept && kept->tgt ? h->rows : mt) : (kept && kept->src ? h->rows : ms);
        cells += (size_t)rows * (size_t)(tc ? mt : ms);
    }
    out->heads = calloc((size_t)a->count + 1, sizeof *out->heads);
    out->buf = malloc((cells + 1) * sizeof *out->buf);
    if (!out->heads || !out->buf) {
        mhv_attn_free(out);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for %d pooled maps", a->count);
    }
    out->n = out->rows = out->n_src = ms;
    out->n_tgt = mt;
    out->count = a->count;
    float *w = out->buf;
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        /* the target's side (decoder rows and columns, cross rows) in blocks of bt; kept
         * rows stay rows */
        int rb = h->stack == MHV_STACK_ENCODER ? (kept && kept->src ? 1 : bs)
                                               : (kept && kept->tgt ? 1 : bt);
        int cb = h->stack == MHV_STACK_DECODER ? bt : bs;
        out->heads[k] = *h;
        out->heads[k].w = w;
        out->heads[k].rows = (h->rows + rb - 1) / rb;
        out->heads[k].cols = (h->cols + cb - 1) / cb;
        pool_map(h->w, h->rows, h->cols, rb, cb, kind, w);
        w += (size_t)out->heads[k].rows * (size_t)out->heads[k].cols;
    }
    return MHV_OK;
}

mhv_status mhv_zoom_window_seq2seq(const mhv_attn *a, const mhv_encoding *src, int t0, int t1,
                                   const mhv_s2s_rows *kept, mhv_attn *out,
                                   mhv_encoding *wsrc, mhv_s2s_rows *wkept, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    memset(wsrc, 0, sizeof *wsrc);
    int S = a->n_src, m = t1 - t0;
    if (t0 < 0 || t1 > S || m < 1 || src->n != S)
        return mhv_fail(err, MHV_EUSAGE, "", "window %d:%d is not within the %d source tokens",
                        t0, t1, S);
    /* the encoder's kept rows inside the window: a run of them from r0 */
    int r0 = 0, R = m;
    if (kept && kept->src) {
        while (r0 < kept->n_src && kept->src[r0] < t0)
            r0++;
        for (R = 0; r0 + R < kept->n_src && kept->src[r0 + R] < t1; R++)
            ;
    }
    if (kept)
        *wkept = *kept;
    if (kept && kept->src)
        wkept->src = kept->src + r0, wkept->n_src = R;
    size_t cells = 0;
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        cells += h->stack == MHV_STACK_ENCODER   ? (size_t)R * (size_t)m
                 : h->stack == MHV_STACK_CROSS ? (size_t)h->rows * (size_t)m
                                                 : (size_t)h->rows * (size_t)h->cols;
    }
    *out = *a;
    out->row_ids = NULL, out->vnorm = NULL;
    out->heads = calloc((size_t)a->count + 1, sizeof *out->heads);
    out->buf = malloc((cells + 1) * sizeof *out->buf);
    mhv_status st = out->heads && out->buf ? alloc_enc(wsrc, m, err)
                                           : mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (st || (st = copy_tokens(src, t0, m, wsrc, err))) {
        mhv_attn_free(out);
        return st;
    }
    out->n = out->n_src = m;
    out->rows = m;
    float *w = out->buf;
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        mhv_head_attn *o = &out->heads[k];
        *o = *h;
        o->w = w;
        if (h->stack == MHV_STACK_DECODER) { /* the target side is not windowed */
            memcpy(w, h->w, (size_t)h->rows * (size_t)h->cols * sizeof *w);
        } else {
            /* encoder rows: the window's (or the kept ones in it); cross rows: all */
            int enc = h->stack == MHV_STACK_ENCODER, rows = enc ? R : h->rows;
            int from = enc ? (kept && kept->src ? r0 : t0) : 0;
            for (int i = 0; i < rows; i++)
                memcpy(w + (size_t)i * (size_t)m,
                       h->w + (size_t)(from + i) * (size_t)h->cols + (size_t)t0,
                       (size_t)m * sizeof *w);
            o->rows = rows, o->cols = m;
        }
        w += (size_t)o->rows * (size_t)o->cols;
    }
    return MHV_OK;
}
