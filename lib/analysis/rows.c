#include "analysis/rows.h"

#include <stdlib.h>
#include <string.h>

#include "analysis/rank.h"

/* A whole number of the item, or -1 when [s, e) is not one (at most 9 digits). */
static long number(const char *s, const char *e)
{
    if (s == e || e - s > 9 || strspn(s, "0123456789") < (size_t)(e - s))
        return -1;
    return strtol(s, NULL, 10);
}

/* Marks the positions one item keeps in keep(n); word items need text and enc. Returns 0,
 * or -1 when the item is malformed. */
static int item(const char *s, size_t len, int n, unsigned char *keep, const char *text,
                size_t tlen, const mhv_encoding *enc)
{
    const char *e = s + len;
    if (len > 5 && strncmp(s, "word:", 5) == 0) {
        if (!keep)
            return 0;
        char word[256];
        if (len - 5 >= sizeof word)
            return -1;
        memcpy(word, s + 5, len - 5);
        word[len - 5] = '\0';
        for (int nth = 1;; nth++) {
            int t0, t1;
            if (mhv_rank_find(text, tlen, enc, word, nth, MHV_RANK_WORDS, &t0, &t1) < nth)
                break;
            for (int t = t0; t < t1 && t < n; t++)
                keep[t] = 1;
        }
        return 0;
    }
    if (len == 4 && strncmp(s, "last", 4) == 0) {
        if (keep && n > 0)
            keep[n - 1] = 1;
        return 0;
    }
    if (s[0] == '-') {
        long k = number(s + 1, e);
        if (k < 1)
            return -1;
        for (long t = n - k < 0 ? 0 : n - k; keep && t < n; t++)
            keep[t] = 1;
        return 0;
    }
    const char *colon = memchr(s, ':', len);
    long a, b;
    if (colon) {
        a = colon == s ? 0 : number(s, colon);
        b = colon + 1 == e ? -2 : number(colon + 1, e);
        if (a < 0 || b == -1 || (b >= 0 && b <= a))
            return -1;
        if (b == -2)
            b = n;
    } else {
        if ((a = number(s, e)) < 0)
            return -1;
        b = a + 1;
    }
    for (long t = a; keep && t < b && t < n; t++)
        keep[t] = 1;
    return 0;
}

/* Runs item over every comma-separated item of spec. */
static mhv_status walk(const char *spec, int n, unsigned char *keep, const char *text,
                       size_t tlen, const mhv_encoding *enc, mhv_error *err)
{
    if (!*spec)
        return mhv_fail(err, MHV_EUSAGE, "", "selection is empty");
    const char *p = spec;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (!len || item(p, len, n, keep, text, tlen, enc) != 0)
            return mhv_fail(err, MHV_EUSAGE, "",
                            "item '%.*s' is not last, -K, I, A:B or word:W", (int)len, p);
        p += len;
        if (!*p)
            break;
        p++;
    }
    return MHV_OK;
}

mhv_status mhv_rows_check(const char *spec, mhv_error *err)
{
    return walk(spec, 0, NULL, NULL, 0, NULL, err);
}

mhv_status mhv_rows_resolve(const char *spec, const char *text, size_t len,
                            const mhv_encoding *enc, int **rows, int *nrows, mhv_error *err)
{
    *rows = NULL, *nrows = 0;
    int n = enc->n;
    unsigned char *keep = calloc((size_t)n + 1, 1);
    int *r = malloc(((size_t)n + 1) * sizeof *r);
    if (!keep || !r) {
        free(keep), free(r);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    mhv_status st = walk(spec, n, keep, text, len, enc, err);
    if (st) {
        free(keep), free(r);
        return st;
    }
    int c = 0;
    for (int i = 0; i < n; i++)
        if (keep[i])
            r[c++] = i;
    free(keep);
    *rows = r, *nrows = c;
    return MHV_OK;
}

mhv_status mhv_attn_keep_rows(const mhv_attn *a, const int *rows, int nrows, mhv_attn *out,
                              mhv_error *err)
{
    memset(out, 0, sizeof *out);
    if (a->row_ids)
        return mhv_fail(err, MHV_EUSAGE, "", "the maps already keep only some rows");
    size_t n = (size_t)a->n, map = (size_t)nrows * n;
    for (int r = 0; r < nrows; r++)
        if (rows[r] < 0 || rows[r] >= a->n || (r && rows[r] <= rows[r - 1]))
            return mhv_fail(err, MHV_EUSAGE, "", "query rows must ascend within 0-%d",
                            a->n - 1);
    out->heads = calloc((size_t)a->count + 1, sizeof *out->heads);
    out->buf = malloc(((size_t)a->count * map + 1) * sizeof *out->buf);
    out->row_ids = malloc(((size_t)nrows + 1) * sizeof *out->row_ids);
    if (!out->heads || !out->buf || !out->row_ids) {
        mhv_attn_free(out);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for %d maps of %d rows", a->count,
                        nrows);
    }
    memcpy(out->row_ids, rows, (size_t)nrows * sizeof *rows);
    out->n = a->n;
    out->rows = nrows;
    out->count = a->count;
    out->kv_group = a->kv_group;
    for (int k = 0; k < a->count; k++) {
        out->heads[k] = a->heads[k];
        out->heads[k].w = out->buf + (size_t)k * map;
        out->heads[k].rows = nrows;
        out->heads[k].cols = a->n;
        for (int r = 0; r < nrows; r++)
            memcpy(out->heads[k].w + (size_t)r * n, a->heads[k].w + (size_t)rows[r] * n,
                   n * sizeof(float));
    }
    return MHV_OK;
}

mhv_status mhv_attn_keep_rows_seq2seq(const mhv_attn *a, const mhv_s2s_rows *r, mhv_attn *out,
                                      mhv_error *err)
{
    memset(out, 0, sizeof *out);
    const int *side[2] = {r->src, r->tgt};
    int n[2] = {r->n_src, r->n_tgt}, len[2] = {a->n_src, a->n_tgt};
    for (int s = 0; s < 2; s++)
        for (int i = 0; side[s] && i < n[s]; i++)
            if (side[s][i] < 0 || side[s][i] >= len[s] || (i && side[s][i] <= side[s][i - 1]))
                return mhv_fail(err, MHV_EUSAGE, "", "%s rows must ascend within 0-%d",
                                s ? "target" : "source", len[s] - 1);
    size_t cells = 0, vcount = 0;
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        int t = h->stack != MHV_STACK_ENCODER;
        cells += (size_t)(side[t] ? n[t] : h->rows) * (size_t)h->cols;
        vcount += (size_t)h->cols;
    }
    *out = *a;
    out->row_ids = NULL; /* (a's own: an encoder-decoder run's are NULL) */
    out->heads = calloc((size_t)a->count + 1, sizeof *out->heads);
    out->buf = malloc((cells + 1) * sizeof *out->buf);
    out->vnorm = a->vnorm ? malloc((vcount + 1) * sizeof *out->vnorm) : NULL;
    if (!out->heads || !out->buf || (a->vnorm && !out->vnorm)) {
        mhv_attn_free(out);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for %d maps", a->count);
    }
    if (a->vnorm) /* the keys are all still there */
        memcpy(out->vnorm, a->vnorm, vcount * sizeof *out->vnorm);
    float *w = out->buf;
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        int t = h->stack != MHV_STACK_ENCODER, R = side[t] ? n[t] : h->rows;
        size_t cols = (size_t)h->cols;
        out->heads[k] = *h;
        out->heads[k].w = w;
        out->heads[k].rows = R;
        for (int i = 0; i < R; i++)
            memcpy(w + (size_t)i * cols, h->w + (size_t)(side[t] ? side[t][i] : i) * cols,
                   cols * sizeof(float));
        w += (size_t)R * cols;
    }
    return MHV_OK;
}
