#include "analysis/stwrite.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/report.h"
#include "base/jsonw.h"

#ifndef MHV_VERSION
#define MHV_VERSION "0.0.0"
#endif

struct mhv_stw {
    FILE *f;
    const char *name;
    mhv_dtype dt;
    int n, rows;
    int num_layers, num_heads;
    unsigned char *sel;     /* (num_layers, num_heads) copy of the selection */
    int next_layer;         /* layers below it are written (or have no selected head) */
    void *buf;              /* (rows * n) one map converted to dt */
    uint64_t data_start;    /* file offset of the data: 8 + header */
    uint64_t *layer_off;    /* (num_layers,) data offset of each layer's tensor */
    int aggregate;          /* one map per layer (head -1), sel's one column */
    atomic_int by_head;     /* heads written by mhv_stw_head */
    int total_heads;
};

static int layer_heads(const mhv_heads *sel, int l)
{
    int c = 0;
    for (int h = 0; h < sel->num_heads; h++)
        c += mhv_heads_has(sel, l, h);
    return c;
}

uint64_t mhv_stw_data_bytes(const mhv_heads *sel, int n, int nrows, mhv_dtype dt)
{
    return (uint64_t)mhv_heads_count(sel) * (uint64_t)nrows * (uint64_t)n *
           (uint64_t)mhv_dtype_size(dt);
}

/* Writes JSON text to f as the value of one metadata entry: a JSON string holding it. */
static void meta(FILE *f, const char *key, const char *json, size_t len, int first)
{
    fprintf(f, "%s\"%s\": ", first ? "" : ", ", key);
    mhv_jsonw_str(f, json, len);
}

/* A metadata value built in memory by fill; NULL when out of memory. */
static char *json_text(size_t *len, void (*fill)(FILE *, const mhv_stw_desc *),
                       const mhv_stw_desc *d)
{
    char *p = NULL;
    FILE *m = open_memstream(&p, len);
    if (!m)
        return NULL;
    fill(m, d);
    if (fclose(m) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

static void fill_tokens(FILE *f, const mhv_stw_desc *d)
{
    fputc('[', f);
    for (int i = 0; i < d->enc->n; i++) {
        fputs(i ? ", " : "", f);
        mhv_jsonw_str(f, d->enc->pieces[i], strlen(d->enc->pieces[i]));
    }
    fputc(']', f);
}

static void fill_token_texts(FILE *f, const mhv_stw_desc *d)
{
    fputc('[', f);
    for (int i = 0; i < d->enc->n; i++) {
        char buf[512];
        if (d->tok)
            mhv_tok_token_text(d->tok, d->enc->ids[i], buf, sizeof buf);
        else
            snprintf(buf, sizeof buf, "%s", d->enc->pieces[i]);
        fputs(i ? ", " : "", f);
        mhv_jsonw_str(f, buf, strlen(buf));
    }
    fputc(']', f);
}

static void fill_ids(FILE *f, const mhv_stw_desc *d)
{
    fputc('[', f);
    for (int i = 0; i < d->enc->n; i++)
        fprintf(f, "%s%d", i ? ", " : "", (int)d->enc->ids[i]);
    fputc(']', f);
}

static void fill_spans(FILE *f, const mhv_stw_desc *d)
{
    fputc('[', f);
    for (int i = 0; i < d->enc->n; i++) {
        const int32_t *sp = d->enc->spans + 2 * i;
        if (sp[0] < 0)
            fprintf(f, "%snull", i ? ", " : "");
        else
            fprintf(f, "%s[%d, %d]", i ? ", " : "", (int)sp[0], (int)sp[1]);
    }
    fputc(']', f);
}

static void fill_rows(FILE *f, const mhv_stw_desc *d)
{
    int rows = d->rows ? d->nrows : d->enc->n;
    fputc('[', f);
    for (int r = 0; r < rows; r++)
        fprintf(f, "%s%d", r ? ", " : "", d->rows ? d->rows[r] : r);
    fputc(']', f);
}

static void fill_heads(FILE *f, const mhv_stw_desc *d)
{
    const mhv_heads *sel = d->sel;
    int first = 1;
    fputc('{', f);
    for (int l = 0; l < sel->num_layers; l++) {
        if (!layer_heads(sel, l))
            continue;
        fprintf(f, "%s\"attn.L%02d\": [", first ? "" : ", ", l);
        first = 0;
        int k = 0;
        for (int h = 0; h < sel->num_heads; h++)
            if (mhv_heads_has(sel, l, h))
                fprintf(f, "%s%d", k++ ? ", " : "", d->aggregate ? -1 : h);
        fputc(']', f);
    }
    fputc('}', f);
}

/* a sentence pair's (run --pairs on an encoder), as the JSON has them */
static void fill_type_ids(FILE *f, const mhv_stw_desc *d)
{
    fputc('[', f);
    for (int i = 0; i < d->enc->n; i++)
        fprintf(f, "%s%d", i ? ", " : "", (int)d->enc->type_ids[i]);
    fputc(']', f);
}

static void fill_boundary(FILE *f, const mhv_stw_desc *d)
{
    fprintf(f, "%d", d->enc->boundary);
}

/* a prompt continued by generation (run --generate on a decoder): tokens from it on were
 * generated */
static void fill_prompt_length(FILE *f, const mhv_stw_desc *d)
{
    fprintf(f, "%d", d->enc->generated);
}

static void fill_model(FILE *f, const mhv_stw_desc *d)
{
    mhv_report_model(f, d->model);
}

static void fill_text(FILE *f, const mhv_stw_desc *d)
{
    fwrite(d->text, 1, d->len, f);
}

/* The whole header JSON; NULL when out of memory. */
static char *header(const mhv_stw_desc *d, int n, int rows, size_t *len)
{
    static const struct {
        const char *key;
        void (*fill)(FILE *, const mhv_stw_desc *);
        int only; /* 1: written for a sentence pair (enc->type_ids) only; 2: for a generated
                   * continuation (enc->generated) only */
    } entries[] = {
        {"text", fill_text, 0},     {"tokens", fill_tokens, 0},
        {"token_texts", fill_token_texts, 0}, {"token_ids", fill_ids, 0},
        {"spans", fill_spans, 0},   {"rows", fill_rows, 0},
        {"heads", fill_heads, 0},   {"model", fill_model, 0},
        {"token_type_ids", fill_type_ids, 1}, {"pair_boundary", fill_boundary, 1},
        {"prompt_length", fill_prompt_length, 2},
    };
    char *p = NULL;
    FILE *f = open_memstream(&p, len);
    if (!f)
        return NULL;
    int ok = 1;
    fputs("{\"__metadata__\": {", f);
    meta(f, "format", "mhaviz-attention", strlen("mhaviz-attention"), 1);
    meta(f, "mhaviz_version", MHV_VERSION, strlen(MHV_VERSION), 0);
    for (size_t e = 0; e < sizeof entries / sizeof entries[0] && ok; e++) {
        if ((entries[e].only == 1 && !d->enc->type_ids) ||
            (entries[e].only == 2 && d->enc->generated <= 0))
            continue;
        size_t vlen;
        char *v = json_text(&vlen, entries[e].fill, d);
        if (!v) {
            ok = 0;
            break;
        }
        meta(f, entries[e].key, v, vlen, 0); /* text as is, the others as JSON text */
        free(v);
    }
    if (d->weighting) /* a name, as "format" */
        meta(f, "weighting", d->weighting, strlen(d->weighting), 0);
    if (d->aggregate)
        meta(f, "aggregate", d->aggregate, strlen(d->aggregate), 0);
    if (d->global)
        meta(f, "global", d->global, strlen(d->global), 0);
    fputc('}', f);
    uint64_t off = 0, map = (uint64_t)rows * (uint64_t)n * mhv_dtype_size(d->dtype);
    for (int l = 0; l < d->sel->num_layers; l++) {
        int c = layer_heads(d->sel, l);
        if (!c)
            continue;
        fprintf(f, ", \"attn.L%02d\": {\"dtype\": \"%s\", \"shape\": [%d, %d, %d], "
                   "\"data_offsets\": [%llu, %llu]}",
                l, mhv_dtype_name(d->dtype), c, rows, n, (unsigned long long)off,
                (unsigned long long)(off + (uint64_t)c * map));
        off += (uint64_t)c * map;
    }
    fputc('}', f);
    /* the data starts 8-byte aligned, as the safetensors library pads it */
    while ((8 + (size_t)ftello(f)) % 8)
        fputc(' ', f);
    if (fclose(f) != 0 || !ok) {
        free(p);
        return NULL;
    }
    return p;
}

void mhv_stw_free(mhv_stw *w)
{
    if (!w)
        return;
    free(w->sel);
    free(w->buf);
    free(w->layer_off);
    free(w);
}

static mhv_status write_fail(mhv_stw *w, mhv_error *err)
{
    return mhv_fail(err, MHV_EIO, w->name, "cannot write: %s", strerror(errno));
}

mhv_status mhv_stw_begin(FILE *f, const char *name, const mhv_stw_desc *d, mhv_stw **out,
                         mhv_error *err)
{
    *out = NULL;
    if (d->dtype != MHV_DT_F32 && d->dtype != MHV_DT_F16 && d->dtype != MHV_DT_BF16)
        return mhv_fail(err, MHV_EUSAGE, name, "dtype %s is not f32, f16 or bf16",
                        mhv_dtype_name(d->dtype));
    int n = d->enc->n, rows = d->rows ? d->nrows : n;
    uint64_t map;
    if (__builtin_mul_overflow((uint64_t)rows * (uint64_t)n, mhv_dtype_size(d->dtype), &map) ||
        map > SIZE_MAX / 2)
        return mhv_fail(err, MHV_ENOMEM, name, "maps of %d tokens are too large", n);
    mhv_stw_desc agg = *d; /* --aggregate: a selection of one "head" per layer with heads */
    mhv_heads one = {d->sel->num_layers, 1, NULL};
    if (d->aggregate) {
        if (!(one.sel = malloc((size_t)one.num_layers + 1)))
            return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
        for (int l = 0; l < one.num_layers; l++)
            one.sel[l] = layer_heads(d->sel, l) > 0;
        agg.sel = &one;
        d = &agg;
    }
    mhv_stw *w = calloc(1, sizeof *w);
    size_t cells = (size_t)d->sel->num_layers * (size_t)d->sel->num_heads;
    if (w) {
        w->sel = malloc(cells + 1);
        w->buf = malloc(map ? (size_t)map : 1);
        w->layer_off = calloc((size_t)d->sel->num_layers + 1, sizeof *w->layer_off);
    }
    if (!w || !w->sel || !w->buf || !w->layer_off) {
        mhv_stw_free(w);
        free(one.sel);
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    }
    memcpy(w->sel, d->sel->sel, cells);
    w->aggregate = d->aggregate != NULL;
    atomic_init(&w->by_head, 0);
    w->total_heads = mhv_heads_count(d->sel);
    for (int l = 0, off = 0; l < d->sel->num_layers; l++) {
        w->layer_off[l] = (uint64_t)off * map;
        off += layer_heads(d->sel, l);
    }
    w->f = f, w->name = name, w->dt = d->dtype, w->n = n, w->rows = rows;
    w->num_layers = d->sel->num_layers, w->num_heads = d->sel->num_heads;
    size_t hlen;
    char *h = header(d, n, rows, &hlen);
    free(one.sel);
    if (!h) {
        mhv_stw_free(w);
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    /* flushed: mhv_stw_head writes past it with pwrite */
    int ok = fwrite(len8, 1, 8, f) == 8 && fwrite(h, 1, hlen, f) == hlen && fflush(f) == 0;
    w->data_start = 8 + (uint64_t)hlen;
    free(h);
    if (!ok) {
        mhv_status st = write_fail(w, err);
        mhv_stw_free(w);
        return st;
    }
    *out = w;
    return MHV_OK;
}

static int has(const mhv_stw *w, int l, int h)
{
    return w->sel[(size_t)l * (size_t)w->num_heads + (size_t)h];
}

mhv_status mhv_stw_layer(void *ctx, const mhv_attn *layer, mhv_error *err)
{
    mhv_stw *w = ctx;
    if (layer->count < 1)
        return MHV_OK;
    int l = layer->heads[0].layer;
    while (w->next_layer < w->num_layers && w->next_layer < l) {
        for (int h = 0; h < w->num_heads; h++)
            if (has(w, w->next_layer, h))
                return mhv_fail(err, MHV_EUSAGE, w->name, "layer %d written before layer %d",
                                l, w->next_layer);
        w->next_layer++;
    }
    /* the maps must be this layer's selected heads, in order, of the file's shape */
    int k = 0;
    for (int h = 0; h < w->num_heads && l < w->num_layers; h++)
        if (has(w, l, h) && (k >= layer->count ||
                             layer->heads[k++].head != (w->aggregate ? -1 : h)))
            k = -1, h = w->num_heads;
    if (l != w->next_layer || k != layer->count || layer->n != w->n ||
        mhv_attn_nrows(layer) != w->rows)
        return mhv_fail(err, MHV_EUSAGE, w->name, "layer %d does not match the file's header",
                        l);
    size_t cells = (size_t)w->rows * (size_t)w->n, bytes = cells * mhv_dtype_size(w->dt);
    for (int t = 0; t < layer->count; t++) {
        const float *src = layer->heads[t].w;
        const void *out = src;
        if (w->dt == MHV_DT_F16 || w->dt == MHV_DT_BF16) {
            uint16_t *b = w->buf;
            for (size_t i = 0; i < cells; i++)
                b[i] = w->dt == MHV_DT_F16 ? mhv_f32_to_f16(src[i]) : mhv_f32_to_bf16(src[i]);
            out = b;
        }
        /* little-endian on every machine mhaviz builds for (x86-64, arm64) */
        if (fwrite(out, 1, bytes, w->f) != bytes)
            return write_fail(w, err);
    }
    w->next_layer = l + 1;
    return MHV_OK;
}

/* Writes len bytes at off, whole. */
static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const char *p = buf;
    while (len) {
        ssize_t k = pwrite(fd, p, len, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k, len -= (size_t)k, off += (uint64_t)k;
    }
    return 0;
}

mhv_status mhv_stw_head(void *ctx, int layer, int head, const float *map, int rows, int n,
                        mhv_error *err)
{
    mhv_stw *w = ctx;
    if (layer < 0 || layer >= w->num_layers || head < 0 || head >= w->num_heads ||
        !has(w, layer, head) || rows != w->rows || n != w->n)
        return mhv_fail(err, MHV_EUSAGE, w->name, "layer %d, head %d does not match the "
                        "file's header", layer, head);
    int k = 0;
    for (int h = 0; h < head; h++)
        k += has(w, layer, h);
    size_t cells = (size_t)rows * (size_t)n, esz = mhv_dtype_size(w->dt);
    uint64_t off = w->data_start + w->layer_off[layer] + (uint64_t)k * cells * esz;
    int fd = fileno(w->f);
    if (w->dt == MHV_DT_F32) {
        if (pwrite_all(fd, map, cells * sizeof *map, off))
            return write_fail(w, err);
    } else {
        uint16_t chunk[16384];
        for (size_t i = 0; i < cells;) {
            size_t c = cells - i < 16384 ? cells - i : 16384;
            for (size_t t = 0; t < c; t++)
                chunk[t] = w->dt == MHV_DT_F16 ? mhv_f32_to_f16(map[i + t])
                                               : mhv_f32_to_bf16(map[i + t]);
            if (pwrite_all(fd, chunk, c * 2, off + i * 2))
                return write_fail(w, err);
            i += c;
        }
    }
    atomic_fetch_add(&w->by_head, 1);
    return MHV_OK;
}

mhv_status mhv_stw_end(mhv_stw *w, mhv_error *err)
{
    if (atomic_load(&w->by_head)) { /* written head by head: every head, once each */
        int got = atomic_load(&w->by_head);
        mhv_status st = got == w->total_heads
                            ? MHV_OK
                            : mhv_fail(err, MHV_EUSAGE, w->name, "%d of %d heads written", got,
                                       w->total_heads);
        mhv_stw_free(w);
        return st;
    }
    for (int l = w->next_layer; l < w->num_layers; l++)
        for (int h = 0; h < w->num_heads; h++)
            if (has(w, l, h)) {
                mhv_status st = mhv_fail(err, MHV_EUSAGE, w->name,
                                         "layer %d was never written", l);
                mhv_stw_free(w);
                return st;
            }
    mhv_stw_free(w);
    return MHV_OK;
}

/* ---- encoder-decoder files: written whole, after the sentence's pass ---- */

/* The (stack, layer) groups of a, each its run of consecutive heads: a's heads come in
 * (stack, layer, head) order (mhv_attn_alloc_seq2seq). */
static int same_group(const mhv_head_attn *a, const mhv_head_attn *b)
{
    return a->stack == b->stack && a->layer == b->layer;
}

static void fill_s2s_heads(FILE *f, const mhv_attn *a)
{
    fputc('{', f);
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        int start = k == 0 || !same_group(h, &a->heads[k - 1]);
        if (start)
            fprintf(f, "%s\"attn.%s.L%02d\": [", k ? "], " : "", mhv_stack_name(h->stack),
                    h->layer);
        fprintf(f, "%s%d", start ? "" : ", ", h->head);
    }
    fputs(a->count ? "]}" : "}", f);
}

mhv_status mhv_stw_write_seq2seq(FILE *f, const char *name, const mhv_stw_s2s_desc *d,
                                 const mhv_attn *a, mhv_error *err)
{
    if (d->dtype != MHV_DT_F32 && d->dtype != MHV_DT_F16 && d->dtype != MHV_DT_BF16)
        return mhv_fail(err, MHV_EUSAGE, name, "dtype %s is not f32, f16 or bf16",
                        mhv_dtype_name(d->dtype));
    static const struct {
        const char *key;
        void (*fill)(FILE *, const mhv_stw_desc *);
        int target;
    } entries[] = {
        {"text", fill_text, 0},          {"tokens", fill_tokens, 0},
        {"token_texts", fill_token_texts, 0}, {"token_ids", fill_ids, 0},
        {"spans", fill_spans, 0},        {"target_text", fill_text, 1},
        {"target_tokens", fill_tokens, 1}, {"target_token_texts", fill_token_texts, 1},
        {"target_token_ids", fill_ids, 1}, {"target_spans", fill_spans, 1},
    };
    mhv_stw_desc side[2] = {
        {.model = d->model, .text = d->text, .len = d->len, .enc = d->src, .tok = d->src_tok},
        {.model = d->model, .text = d->target_text, .len = d->target_len, .enc = d->tgt,
         .tok = d->tgt_tok},
    };
    char *p = NULL;
    size_t len;
    FILE *h = open_memstream(&p, &len);
    if (!h)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    int ok = 1;
    fputs("{\"__metadata__\": {", h);
    meta(h, "format", "mhaviz-attention", strlen("mhaviz-attention"), 1);
    meta(h, "mhaviz_version", MHV_VERSION, strlen(MHV_VERSION), 0);
    for (size_t e = 0; e < sizeof entries / sizeof entries[0] && ok; e++) {
        size_t vlen;
        char *v = json_text(&vlen, entries[e].fill, &side[entries[e].target]);
        ok = v != NULL;
        if (ok)
            meta(h, entries[e].key, v, vlen, 0);
        free(v);
    }
    for (int e = 0; e < 4 && ok; e++) {
        const int *rows = !d->rows ? NULL : e == 2 ? d->rows->src : e == 3 ? d->rows->tgt : NULL;
        if (e >= 2 && !rows)
            continue;
        char *v = NULL;
        size_t vlen;
        FILE *m = open_memstream(&v, &vlen);
        ok = m != NULL;
        if (ok) {
            if (e == 0)
                fill_s2s_heads(m, a);
            else if (e == 1)
                mhv_report_model(m, d->model);
            else { /* the kept rows' positions, as the JSON's "rows" and "target_rows" */
                int n = e == 2 ? d->rows->n_src : d->rows->n_tgt;
                fputc('[', m);
                for (int i = 0; i < n; i++)
                    fprintf(m, "%s%d", i ? ", " : "", rows[i]);
                fputc(']', m);
            }
            ok = fclose(m) == 0;
        }
        if (ok)
            meta(h, e == 0 ? "heads" : e == 1 ? "model" : e == 2 ? "rows" : "target_rows", v,
                 vlen, 0);
        free(v);
    }
    if (d->weighting)
        meta(h, "weighting", d->weighting, strlen(d->weighting), 0);
    if (d->aggregate)
        meta(h, "aggregate", d->aggregate, strlen(d->aggregate), 0);
    if (d->global)
        meta(h, "global", d->global, strlen(d->global), 0);
    fputc('}', h);
    uint64_t off = 0, esz = mhv_dtype_size(d->dtype);
    for (int k = 0; k < a->count;) {
        const mhv_head_attn *g = &a->heads[k];
        int c = 1;
        while (k + c < a->count && same_group(&a->heads[k + c], g))
            c++;
        uint64_t bytes = (uint64_t)c * (uint64_t)g->rows * (uint64_t)g->cols * esz;
        fprintf(h, ", \"attn.%s.L%02d\": {\"dtype\": \"%s\", \"shape\": [%d, %d, %d], "
                   "\"data_offsets\": [%llu, %llu]}",
                mhv_stack_name(g->stack), g->layer, mhv_dtype_name(d->dtype), c, g->rows,
                g->cols, (unsigned long long)off, (unsigned long long)(off + bytes));
        off += bytes;
        k += c;
    }
    fputc('}', h);
    while ((8 + (size_t)ftello(h)) % 8) /* the data 8-byte aligned, as the library pads it */
        fputc(' ', h);
    if (fclose(h) != 0 || !ok) {
        free(p);
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)len >> (8 * i));
    ok = fwrite(len8, 1, 8, f) == 8 && fwrite(p, 1, len, f) == len;
    free(p);
    for (int k = 0; k < a->count && ok; k++) {
        const mhv_head_attn *hd = &a->heads[k];
        size_t cells = (size_t)hd->rows * (size_t)hd->cols;
        if (d->dtype == MHV_DT_F32) { /* little-endian on x86-64 and arm64 */
            ok = fwrite(hd->w, sizeof *hd->w, cells, f) == cells;
            continue;
        }
        for (size_t i = 0; i < cells && ok; i++) {
            uint16_t v = d->dtype == MHV_DT_F16 ? mhv_f32_to_f16(hd->w[i])
                                                : mhv_f32_to_bf16(hd->w[i]);
            ok = fwrite(&v, 2, 1, f) == 1;
        }
    }
    if (!ok)
        return mhv_fail(err, MHV_EIO, name, "cannot write: %s", strerror(errno));
    return MHV_OK;
}
