#include "fig/html.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "fig/label.h"

#ifndef MHV_VERSION
#define MHV_VERSION "0.0.0"
#endif

/* lib/fig/html_app.{js,css} as C arrays, made at build time by `xxd -i` (see the Makefile). */
extern unsigned char html_app_js[];
extern unsigned int html_app_js_len;
extern unsigned char html_app_css[];
extern unsigned int html_app_css_len;

unsigned char mhv_html_quant(float w)
{
    if (!(w > 0))
        return 0;
    if (w >= 1)
        return 255;
    return (unsigned char)lrintf(255.0f * sqrtf(w));
}

/* Text as a JSON string that may sit inside <script>: '<', '>' and '&' are escaped, so
 * neither "</script>" nor "<!--" can occur; U+2028/2029 too, for older JS parsers. */
static void jstr(FILE *f, const char *s, size_t len)
{
    static const char hexd[] = "0123456789abcdef";
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            fprintf(f, "\\u00%c%c", hexd[c >> 4], hexd[c & 15]);
        } else if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
                   ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) {
            fprintf(f, "\\u202%c", (unsigned char)s[i + 2] == 0xA8 ? '8' : '9');
            i += 2;
        } else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}

static void jcstr(FILE *f, const char *s)
{
    jstr(f, s ? s : "", s ? strlen(s) : 0);
}

/* Bytes b(n,) as base64 between quotes. */
static void b64(FILE *f, const unsigned char *b, size_t n)
{
    fputc('"', f);
    mhv_base64_write(f, b, n);
    fputc('"', f);
}

static mhv_status check(FILE *f, const char *name, mhv_error *err)
{
    if (ferror(f))
        return mhv_fail(err, MHV_EIO, name, "write failed: %s", strerror(errno));
    return MHV_OK;
}

mhv_status mhv_html_begin(FILE *f, const char *name, const mhv_html_info *info, mhv_error *err)
{
    char title[1024];
    if (info->title)
        snprintf(title, sizeof title, "%s", info->title);
    else
        snprintf(title, sizeof title, "%s \xE2\x80\x94 %s", info->model ? info->model : "",
                 info->source ? info->source : "");
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"generator\" content=\"mhaviz " MHV_VERSION "\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    /* the title as HTML text: the same escapes as JSON strings do no harm there except
     * quotes, so escape by hand */
    for (const char *s = title; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
    }
    fputs("</title>\n</head>\n<body>\n<div class=\"mhv-root\">\n<style>\n", f);
    fwrite(html_app_css, 1, html_app_css_len, f);
    fputs("</style>\n<noscript>This attention explorer needs JavaScript.</noscript>\n"
          "<script type=\"application/json\" class=\"mhv-info\">{\"version\": ",
          f);
    jcstr(f, MHV_VERSION);
    fputs(", \"title\": ", f);
    jcstr(f, title);
    fputs(", \"model\": ", f);
    jcstr(f, info->model);
    fputs(", \"source\": ", f);
    jcstr(f, info->source);
    fprintf(f, ", \"layers\": %d, \"heads\": %d, \"causal\": %s, \"cmap\": ", info->num_layers,
            info->num_heads, info->causal ? "true" : "false");
    jcstr(f, mhv_cmap_name(info->cmap));
    fprintf(f, ", \"scale\": \"%s\", \"quant\": \"sqrt8\",\n\"cmaps\": {",
            info->scale == MHV_SCALE_HEAD ? "head" : info->scale == MHV_SCALE_ROW ? "row"
                                                                                  : "fixed");
    /* the PNGs' own tables, so the page shows the same colours */
    for (int c = 0; c < MHV_CMAP_COUNT; c++) {
        unsigned char rgb[256 * 3];
        for (int i = 0; i < 256; i++)
            for (int k = 0; k < 3; k++)
                rgb[3 * i + k] =
                    (unsigned char)lrintf(mhv_cmap_tables[c][i][k] * 255.0f);
        fprintf(f, "%s\"%s\": ", c ? ", " : "", mhv_cmap_name((mhv_cmap)c));
        b64(f, rgb, sizeof rgb);
    }
    fputs("}", f);
    if (info->sinks)
        fputs(", \"sinks\": true", f);
    if (info->dec_layers > 0) /* layers of each stack: the page's stack selector */
        fprintf(f, ",\n\"stacks\": {\"encoder\": %d, \"decoder\": %d, \"cross\": %d}",
                info->num_layers, info->dec_layers, info->dec_layers);
    fputs("}</script>\n", f);
    return check(f, name, err);
}

/* One matrix w(rows, cols) as base64 of its quantised weights; causal (square) maps only
 * the lower triangle with the diagonal, row by row (the rest is masked). */
static int matrix_rc(FILE *f, const float *w, int rows, int cols, int causal,
                     unsigned char *buf)
{
    size_t k = 0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j <= (causal ? i : cols - 1); j++)
            buf[k++] = mhv_html_quant(w[(size_t)i * (size_t)cols + (size_t)j]);
    b64(f, buf, k);
    return 0;
}

static int matrix(FILE *f, const float *w, int n, int causal, unsigned char *buf)
{
    return matrix_rc(f, w, n, n, causal, buf);
}

/* The kept query rows row_ids(R) of a map w(R, n) (run --rows); causal: row r only up to
 * its own token row_ids[r], the rest masked. */
static void matrix_rows(FILE *f, const float *w, const int *row_ids, int R, int n, int causal,
                        unsigned char *buf)
{
    size_t k = 0;
    for (int r = 0; r < R; r++)
        for (int j = 0; j <= (causal ? row_ids[r] : n - 1); j++)
            buf[k++] = mhv_html_quant(w[(size_t)r * (size_t)n + (size_t)j]);
    b64(f, buf, k);
}

/* One captured map of a as the page stores it. */
static void map_out(FILE *f, const mhv_attn *a, const float *w, int n, int causal,
                    unsigned char *buf)
{
    if (a->row_ids)
        matrix_rows(f, w, a->row_ids, a->rows, n, causal, buf);
    else
        matrix(f, w, n, causal, buf);
}

/* The tokens of in as a JSON list: a token is its label's parts, [text, style] pairs (style
 * 0 text, 1 marker ("##"), 2 special, 3 bytes); a plain token is just its text. */
static void token_list(FILE *f, const mhv_fig_input *in)
{
    fputc('[', f);
    for (int i = 0; i < in->n; i++) {
        mhv_label l;
        mhv_label_make(in->pieces[i], in->kind, in->special ? in->special[i] : 0, &l);
        if (i)
            fputs(", ", f);
        if (l.n == 1 && l.part[0].style == MHV_LSTYLE_TEXT) {
            jcstr(f, l.part[0].text);
            continue;
        }
        fputc('[', f);
        for (int p = 0; p < l.n; p++) {
            fputs(p ? ", " : "", f);
            jcstr(f, l.part[p].text);
            fprintf(f, ", %d", (int)l.part[p].style);
        }
        fputc(']', f);
    }
    fputc(']', f);
}

mhv_status mhv_html_sentence(FILE *f, const char *name, const mhv_fig_input *in,
                             const mhv_attn *a, const mhv_attn *agg, const char *agg_name,
                             mhv_error *err)
{
    int n = in->n;
    unsigned char *buf = malloc((size_t)n * (size_t)n + 1);
    if (!buf)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    fputs("<script type=\"application/json\" class=\"mhv-sentence\">{\"text\": ", f);
    jcstr(f, in->sentence);
    fprintf(f, ", \"n\": %d, \"kv_group\": %d,\n\"tokens\": ", n, a->kv_group);
    token_list(f, in);
    if (in->boundary > 0 && in->boundary < n) /* a sentence pair: its second sentence */
        fprintf(f, ",\n\"boundary\": %d", in->boundary);
    if (a->row_ids) { /* run --rows: the maps hold these query rows only */
        fputs(",\n\"rows\": [", f);
        for (int r = 0; r < a->rows; r++)
            fprintf(f, "%s%d", r ? ", " : "", a->row_ids[r]);
        fputc(']', f);
    }
    fputs(",\n\"heads\": [", f);
    for (int h = 0; h < a->count; h++) {
        fprintf(f, "%s[%d, %d, ", h ? ",\n" : "\n", a->heads[h].layer, a->heads[h].head);
        map_out(f, a, a->heads[h].w, n, in->causal, buf);
        fputc(']', f);
    }
    fputs("]", f);
    if (agg && agg_name) {
        fputs(",\n\"agg\": ", f);
        jcstr(f, agg_name);
        fputs(", \"views\": [", f);
        for (int h = 0; h < agg->count; h++) {
            fprintf(f, "%s[%d, ", h ? ",\n" : "\n", agg->heads[h].layer);
            map_out(f, agg, agg->heads[h].w, n, in->causal, buf);
            fputc(']', f);
        }
        fputs("]", f);
    }
    fputs("}</script>\n", f);
    free(buf);
    return check(f, name, err);
}

/* Map w of `rows` rows x m columns; with causal, row r stored up to its last unmasked
 * column: the columns whose keys (from key0 + j * kb) start at or before the row's token
 * (row_ids[r], or key0 + r * kb for a square map). */
static void matrix_keys(FILE *f, const float *w, int rows, int m, const int *row_ids,
                        int key0, int kb, int causal, unsigned char *buf)
{
    size_t k = 0;
    for (int r = 0; r < rows; r++) {
        int pos = row_ids ? row_ids[r] : key0 + r * kb;
        for (int j = 0; j < m && (!causal || key0 + j * kb <= pos); j++)
            buf[k++] = mhv_html_quant(w[(size_t)r * (size_t)m + (size_t)j]);
    }
    b64(f, buf, k);
}

/* "name": [[layer, head, map]...] of a's maps (heads < 0: [layer, map], agg views). */
static void long_maps(FILE *f, const char *key, const mhv_attn *a, int key0, int kb,
                      int causal, int views, unsigned char *buf)
{
    fprintf(f, ",\n\"%s\": [", key);
    int rows = a->row_ids ? a->rows : a->n;
    for (int h = 0; h < a->count; h++) {
        if (views)
            fprintf(f, "%s[%d, ", h ? ",\n" : "\n", a->heads[h].layer);
        else
            fprintf(f, "%s[%d, %d, ", h ? ",\n" : "\n", a->heads[h].layer, a->heads[h].head);
        matrix_keys(f, a->heads[h].w, rows, a->n, a->row_ids, key0, kb, causal, buf);
        fputc(']', f);
    }
    fputc(']', f);
}

mhv_status mhv_html_sentence_long(FILE *f, const char *name, const mhv_fig_input *in,
                                  const mhv_html_long *lg, int kv_group, const char *agg_name,
                                  mhv_error *err)
{
    const mhv_attn *p = lg->pooled, *z = lg->zoom;
    size_t cap = (size_t)(p->row_ids ? p->rows : p->n) * (size_t)p->n +
                 (size_t)(z->row_ids ? z->rows : z->n) * (size_t)z->n + 1;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    fputs("<script type=\"application/json\" class=\"mhv-sentence\">{\"text\": ", f);
    jcstr(f, in->sentence);
    fprintf(f, ", \"n\": %d, \"kv_group\": %d,\n\"tokens\": ", in->n, kv_group);
    token_list(f, in);
    if (in->boundary > 0 && in->boundary < in->n)
        fprintf(f, ",\n\"boundary\": %d", in->boundary);
    if (p->row_ids) {
        fputs(",\n\"rows\": [", f);
        for (int r = 0; r < p->rows; r++)
            fprintf(f, "%s%d", r ? ", " : "", p->row_ids[r]);
        fputc(']', f);
    }
    /* the overview: block labels, then the pooled maps as "heads" (what every view reads
     * first); the zoom window's maps as "zheads" */
    fprintf(f, ",\n\"pool\": {\"block\": %d, \"m\": %d, \"kind\": ", lg->block, p->n);
    jcstr(f, lg->pool);
    fputs(", \"labels\": [", f);
    for (int j = 0; j < p->n; j++) {
        fputs(j ? ", " : "", f);
        jcstr(f, lg->labels[j]);
    }
    fprintf(f, "]},\n\"zoom\": {\"t0\": %d, \"t1\": %d", lg->t0, lg->t1);
    if (z->row_ids) {
        fputs(", \"rows\": [", f);
        for (int r = 0; r < z->rows; r++)
            fprintf(f, "%s%d", r ? ", " : "", z->row_ids[r]);
        fputc(']', f);
    }
    fputc('}', f);
    long_maps(f, "heads", p, 0, lg->block, in->causal, 0, buf);
    long_maps(f, "zheads", z, lg->t0, 1, in->causal, 0, buf);
    if (lg->pooled_agg && lg->zoom_agg && agg_name) {
        fputs(",\n\"agg\": ", f);
        jcstr(f, agg_name);
        long_maps(f, "views", lg->pooled_agg, 0, lg->block, in->causal, 1, buf);
        long_maps(f, "zviews", lg->zoom_agg, lg->t0, 1, in->causal, 1, buf);
    }
    fputs("}</script>\n", f);
    free(buf);
    return check(f, name, err);
}

mhv_status mhv_html_sentence_seq2seq(FILE *f, const char *name, const mhv_fig_input *src,
                                     const mhv_fig_input *tgt, const mhv_attn *a,
                                     const mhv_attn *agg, const char *agg_name,
                                     mhv_error *err)
{
    int ns = src->n, nt = tgt->n;
    size_t cap = (size_t)(ns > nt ? ns : nt);
    unsigned char *buf = malloc(cap * cap + 1);
    if (!buf)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    fputs("<script type=\"application/json\" class=\"mhv-sentence\">{\"text\": ", f);
    jcstr(f, src->sentence);
    fputs(", \"target\": ", f);
    jcstr(f, tgt->sentence);
    fprintf(f, ", \"n\": %d, \"nt\": %d, \"kv_group\": 0,\n\"tokens\": ", ns, nt);
    token_list(f, src);
    fputs(",\n\"target_tokens\": ", f);
    token_list(f, tgt);
    fputs(",\n\"heads\": [", f);
    for (int h = 0; h < a->count; h++) {
        const mhv_head_attn *ha = &a->heads[h];
        fprintf(f, "%s[%d, %d, ", h ? ",\n" : "\n", ha->layer, ha->head);
        matrix_rc(f, ha->w, ha->rows, ha->cols, ha->stack == MHV_STACK_DECODER, buf);
        fprintf(f, ", \"%s\"]", mhv_stack_name(ha->stack));
    }
    fputs("]", f);
    if (agg && agg_name) {
        fputs(",\n\"agg\": ", f);
        jcstr(f, agg_name);
        fputs(", \"views\": [", f);
        for (int h = 0; h < agg->count; h++) {
            const mhv_head_attn *v = &agg->heads[h];
            fprintf(f, "%s[%d, ", h ? ",\n" : "\n", v->layer);
            matrix_rc(f, v->w, v->rows, v->cols, v->stack == MHV_STACK_DECODER, buf);
            fprintf(f, ", \"%s\"]", mhv_stack_name(v->stack));
        }
        fputs("]", f);
    }
    fputs("}</script>\n", f);
    free(buf);
    return check(f, name, err);
}

mhv_status mhv_html_end(FILE *f, const char *name, mhv_error *err)
{
    fputs("<script>\n", f);
    fwrite(html_app_js, 1, html_app_js_len, f);
    fputs("</script>\n</div>\n</body>\n</html>\n", f);
    return check(f, name, err);
}
