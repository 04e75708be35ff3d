/* seq2seq.c - the figures of an encoder-decoder sentence: the encoder's and the decoder's
 * heads as the square figures of render.c (E05-H03, D05-H03, their layers E05, D05), and the
 * cross-attention as a rectangle (X05-H03), target tokens down the side and source tokens
 * along the top, with each layer's head average (X05) and the alignment figure (align) in
 * the style of translation papers. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fig/colormap.h"
#include "fig/figures.h"
#include "fig/label.h"
#include "fig/render.h"
#include "fig/render_internal.h"

static int fig_side(float v)
{
    if (!(v > 0))
        return 0;
    return v < 2e9f ? (int)ceilf(v) : INT_MAX;
}

/* Labels of in's tokens at px, and the widest. */
static mhv_label *make_labels(mhv_fontset *fs, const mhv_fig_input *in, float px, float *max_w)
{
    mhv_label *l = malloc(((size_t)in->n + 1) * sizeof *l);
    *max_w = 0;
    if (!l)
        return NULL;
    for (int i = 0; i < in->n; i++) {
        mhv_label_make(in->pieces[i], in->kind, in->special ? in->special[i] : 0, &l[i]);
        float w = mhv_fig_label_width(fs, &l[i], px);
        if (w > *max_w)
            *max_w = w;
    }
    return l;
}

static void put_text(mhv_scene *s, mhv_role role, float x, float y, float px, int rot,
                     const char *t)
{
    mhv_scene_text(s, role, x, y, px, rot, mhv_fig_ink, t, strlen(t));
}

mhv_status mhv_render_cross(const mhv_render_params *p, mhv_fontset *fs,
                            const mhv_fig_input *tgt, const mhv_fig_input *src,
                            const char *title_dflt, const float *w, mhv_scene *out,
                            mhv_error *err)
{
    int T = tgt->n, S = src->n;
    float k = (p->dpi > 0 ? (float)p->dpi : 96.0f) / 96.0f;
    int big = T > S ? T : S;
    float cell = (float)(p->cell > 0 ? p->cell : mhv_render_default_cell(big)) * k;
    float lpx = (p->font_px > 0 ? (float)p->font_px : fminf(13, fmaxf(7, cell / k * 0.55f))) * k;
    float fk = lpx / (11 * k);
    mhv_scene_init(out, 0, 0);
    float wr, wc;
    mhv_label *lr = make_labels(fs, tgt, lpx, &wr), *lc = make_labels(fs, src, lpx, &wc);
    float *vmax = malloc(((size_t)T + 1) * sizeof *vmax);
    if (!lr || !lc || !vmax) {
        free(lr), free(lc), free(vmax);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    /* the colour scale: 0..1, 0..the map's maximum, or each row to its maximum */
    float mx = 0;
    for (size_t i = 0; i < (size_t)T * (size_t)S; i++)
        mx = fmaxf(mx, w[i]);
    for (int i = 0; i < T; i++) {
        float r = 0;
        for (int j = 0; j < S; j++)
            r = fmaxf(r, w[(size_t)i * (size_t)S + (size_t)j]);
        vmax[i] = p->scale == MHV_SCALE_ROW ? r : p->scale == MHV_SCALE_HEAD ? mx : 1.0f;
        if (!(vmax[i] > 0))
            vmax[i] = 1;
    }
    const char *title = mhv_fig_title_of(p, title_dflt);
    float m = 12 * k, pad = 4 * k, tpx = 14 * k * fk, apx = 10 * k * fk, tasc, tdesc, aasc,
          adesc, lasc, ldesc;
    mhv_font_vmetrics(fs, tpx, &tasc, &tdesc);
    mhv_font_vmetrics(fs, apx, &aasc, &adesc);
    mhv_font_vmetrics(fs, lpx, &lasc, &ldesc);
    float axis = aasc + adesc + 4 * k;
    float x0 = m + axis + wr + pad;
    float y0 = m + (title ? tasc + tdesc + 8 * k : 0) + axis + wc + pad;
    float mw = (float)S * cell, mh = (float)T * cell;
    float cbw = 12 * k, cbx = x0 + mw + 14 * k;
    char top[16];
    snprintf(top, sizeof top, "%.2g", p->scale == MHV_SCALE_HEAD ? (double)mx : 1.0);
    float width = cbx + cbw + 4 * k + mhv_font_width(fs, top, strlen(top), apx) + m;
    if (title)
        width = fmaxf(width, 2 * m + mhv_font_width(fs, title, strlen(title), tpx));
    float note = mhv_fig_note_h(fs, p, 1); /* p->corner's line, when given */
    float height = y0 + fmaxf(mh, 60 * k) + note + m;
    out->width = fig_side(width);
    out->height = fig_side(height);
    if (title)
        put_text(out, MHV_ROLE_TITLE, m, m + tasc, tpx, 0, title);
    static const char SRC[] = "source \xE2\x86\x92", TGT[] = "\xE2\x86\x90 target"; /* → ← */
    mhv_scene_text(out, MHV_ROLE_TICK, x0, y0 - wc - pad - 4 * k - adesc, apx, 0, mhv_fig_tick,
                   SRC, strlen(SRC));
    mhv_scene_text(out, MHV_ROLE_TICK, m + aasc, y0 + mhv_font_width(fs, TGT, strlen(TGT), apx),
                   apx, 1, mhv_fig_tick, TGT, strlen(TGT));
    for (int i = 0; i < T; i++) /* target labels, right-aligned left of their rows */
        mhv_fig_label_draw(out, fs, &lr[i], x0 - pad - mhv_fig_label_width(fs, &lr[i], lpx),
                           y0 + ((float)i + 0.5f) * cell + (lasc - ldesc) / 2, lpx, 0);
    for (int j = 0; j < S; j++) /* source labels, turned to read upwards, above columns */
        mhv_fig_label_draw(out, fs, &lc[j], x0 + ((float)j + 0.5f) * cell + (lasc - ldesc) / 2,
                           y0 - pad, lpx, 1);
    for (int i = 0; i < T; i++)
        for (int j = 0; j < S; j++) {
            float v = w[(size_t)i * (size_t)S + (size_t)j] / vmax[i];
            uint8_t rgb[3];
            mhv_cmap_rgb(p->cmap, fminf(1, fmaxf(0, v)), rgb);
            mhv_scene_rect(out, MHV_ROLE_CELL, x0 + (float)j * cell, y0 + (float)i * cell, cell,
                           cell, rgb);
            if (p->values && cell >= 18 * k) {
                char buf[8];
                snprintf(buf, sizeof buf, "%.2f", (double)w[(size_t)i * (size_t)S + (size_t)j]);
                const uint8_t *ink = v > 0.6f ? (const uint8_t *)"\0\0\0" : (const uint8_t *)"\xff\xff\xff";
                float vpx = cell * 0.3f;
                mhv_scene_text(out, MHV_ROLE_VALUE, x0 + (float)j * cell + 2 * k,
                               y0 + ((float)i + 0.6f) * cell, vpx, 0, ink, buf, strlen(buf));
            }
        }
    float cbh = fmaxf(mh, 60 * k);
    int steps = (int)lrintf(cbh);
    for (int s = 0; s < steps; s++) {
        uint8_t rgb[3];
        mhv_cmap_rgb(p->cmap, 1.0f - ((float)s + 0.5f) / (float)steps, rgb);
        mhv_scene_rect(out, MHV_ROLE_CBAR, cbx, y0 + (float)s, cbw, 1, rgb);
    }
    const char *lo = "0";
    mhv_scene_text(out, MHV_ROLE_TICK, cbx + cbw + 4 * k, y0 + aasc, apx, 0, mhv_fig_tick,
                   p->scale == MHV_SCALE_ROW ? "max" : top,
                   strlen(p->scale == MHV_SCALE_ROW ? "max" : top));
    mhv_scene_text(out, MHV_ROLE_TICK, cbx + cbw + 4 * k, y0 + cbh, apx, 0, mhv_fig_tick, lo, 1);
    if (note > 0)
        mhv_fig_note(out, fs, p, 1, m, (float)out->height - m);
    mhv_fig_meta(out, p, src, title ? title : title_dflt);
    free(lr), free(lc), free(vmax);
    return mhv_fig_finish(out, err);
}

static int digits(int v)
{
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d < 2 ? 2 : d;
}

/* The heads of a in stack st: first index and count (they are contiguous). */
static int stack_range(const mhv_attn *a, mhv_stack st, int *first)
{
    int n = 0;
    *first = 0;
    for (int i = 0; i < a->count; i++)
        if (a->heads[i].stack == st) {
            if (!n)
                *first = i;
            n++;
        }
    return n;
}

/* The heads of `layer` in view (count n): pointers into out (n slots). */
static int layer_heads(const mhv_head_attn *view, int n, int layer, const mhv_head_attn **out)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (view[i].layer == layer)
            out[k++] = &view[i];
    return k;
}

/* Square figures of one stack: per head P05-H03, per layer P05 (a grid of matrices, or in
 * the line view the layer's heads overlaid). */
static mhv_status square_stack(const char *dir, int formats, const mhv_render_params *p,
                               mhv_fontset *fs, const mhv_fig_input *in, const mhv_attn *a,
                               mhv_stack stack, char letter, int layers, mhv_written *w,
                               mhv_error *err)
{
    int first, n = stack_range(a, stack, &first);
    mhv_attn view = *a;
    view.heads = a->heads + first;
    view.count = n;
    int dl = digits(layers - 1), dh = digits(in->num_heads - 1);
    mhv_status st = MHV_OK;
    char base[64];
    int lines = p->view == MHV_VIEW_LINES, row = p->view == MHV_VIEW_ROW;
    if (row && in->highlight.row1 <= in->highlight.row0)
        return MHV_OK; /* the row view's word is not on this stack's query side */
    if (in->row_ids && in->nrows == 0)
        return MHV_OK; /* --rows kept none of this side's tokens */
    const mhv_head_attn **hs = malloc(((size_t)n + 1) * sizeof *hs);
    if (!hs)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    for (int i = 0; i < n && !st; i++) {
        const mhv_head_attn *h = &view.heads[i];
        mhv_scene s;
        if ((st = lines ? mhv_render_lines(p, fs, in, &h, 1, &s, err)
                  : row ? mhv_render_row(p, fs, in, h, &s, err)
                        : mhv_render_head(p, fs, in, h, &s, err)))
            break;
        if (in->aggregate) /* a layer's view: E05-mean */
            snprintf(base, sizeof base, "%c%0*d-%.20s", letter, dl, h->layer, in->aggregate);
        else
            snprintf(base, sizeof base, "%c%0*d-H%0*d", letter, dl, h->layer, dh, h->head);
        st = mhv_figures_emit(dir, base, formats, p, fs, &s, w, err);
        mhv_scene_free(&s);
        if (!st && !row && !in->aggregate &&
            (i + 1 == n || view.heads[i + 1].layer != h->layer)) {
            int k = layer_heads(view.heads, n, h->layer, hs);
            if ((st = lines ? mhv_render_lines(p, fs, in, hs, k, &s, err)
                            : mhv_render_layer(p, fs, in, &view, h->layer, &s, err)))
                break;
            snprintf(base, sizeof base, "%c%0*d", letter, dl, h->layer);
            st = mhv_figures_emit(dir, base, formats, p, fs, &s, w, err);
            mhv_scene_free(&s);
        }
    }
    free(hs);
    return st;
}

mhv_status mhv_figures_write_seq2seq(const char *dir, int formats, const mhv_render_params *p,
                                     mhv_fontset *fs, const mhv_fig_input *src,
                                     const mhv_fig_input *tgt, const mhv_attn *a,
                                     int enc_layers, int dec_layers, int align_layer,
                                     mhv_written *w, mhv_error *err)
{
    mhv_status st = mhv_figures_make_dirs(dir, w, err);
    char name[300];
    mhv_fig_input se = *src, sd = *tgt;
    snprintf(name, sizeof name, "%s \xC2\xB7 encoder", src->model ? src->model : "");
    se.model = name;
    se.causal = 0;
    se.num_layers = enc_layers;
    if (!st)
        st = square_stack(dir, formats, p, fs, &se, a, MHV_STACK_ENCODER, 'E', enc_layers, w,
                          err);
    char dname[300];
    snprintf(dname, sizeof dname, "%s \xC2\xB7 decoder", tgt->model ? tgt->model : "");
    sd.model = dname;
    sd.causal = 1;
    sd.num_layers = dec_layers;
    if (!st)
        st = square_stack(dir, formats, p, fs, &sd, a, MHV_STACK_DECODER, 'D', dec_layers, w,
                          err);
    /* cross-attention: per head, the head average per layer, the alignment figure; with
     * kept target rows (--rows) those rows, labelled as the decoder's rows are */
    mhv_fig_input trow = *tgt;
    const mhv_fig_input *rows_in = tgt; /* the kept rows, for titles */
    if (tgt->row_ids) {
        trow.n = tgt->nrows;
        trow.pieces = tgt->row_pieces;
        trow.special = tgt->row_special;
        trow.row_ids = NULL, trow.nrows = 0, trow.row_pieces = NULL, trow.row_special = NULL;
        tgt = &trow;
    }
    int first, n = stack_range(a, MHV_STACK_CROSS, &first);
    if (tgt->n == 0)
        n = 0;
    int dl = digits(dec_layers - 1), dh = digits(src->num_heads - 1);
    size_t cells = (size_t)tgt->n * (size_t)src->n;
    float *mean = malloc((cells ? cells : 1) * sizeof *mean);
    if (!mean && !st)
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    const char *model = src->model ? src->model : "";
    /* the line view: target tokens left, source tokens right, titled as the cross figures */
    int lines = p->view == MHV_VIEW_LINES, row = p->view == MHV_VIEW_ROW;
    if (row && tgt->highlight.row1 <= tgt->highlight.row0)
        n = 0; /* the row view's word is not in the target */
    char xname[300];
    snprintf(xname, sizeof xname, "%s \xC2\xB7 cross-attention", model);
    mhv_fig_input tx = *tgt;
    tx.model = xname;
    tx.causal = 0;
    const mhv_head_attn **hs = malloc(((size_t)n + 1) * sizeof *hs);
    if (!hs && !st)
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    for (int i = first; i < first + n && !st; i++) {
        const mhv_head_attn *h = &a->heads[i];
        char base[64], title[400];
        mhv_scene s;
        if (src->aggregate)
            snprintf(title, sizeof title, "%s \xC2\xB7 cross-attention \xE2\x80\x94 layer %d, "
                     "%s of heads", model, h->layer, src->aggregate);
        else
            snprintf(title, sizeof title, "%s \xC2\xB7 cross-attention \xE2\x80\x94 layer %d, "
                     "head %d", model, h->layer, h->head);
        mhv_fig_rows_title(rows_in, title, sizeof title);
        if ((st = lines ? mhv_render_lines_cross(p, fs, &tx, src, &h, 1, &s, err)
                  : row ? mhv_render_row_cross(p, fs, &tx, src, h, &s, err)
                        : mhv_render_cross(p, fs, tgt, src, title, h->w, &s, err)))
            break;
        if (src->aggregate)
            snprintf(base, sizeof base, "X%0*d-%.20s", dl, h->layer, src->aggregate);
        else
            snprintf(base, sizeof base, "X%0*d-H%0*d", dl, h->layer, dh, h->head);
        st = mhv_figures_emit(dir, base, formats, p, fs, &s, w, err);
        mhv_scene_free(&s);
        if (st || row || (i + 1 < first + n && a->heads[i + 1].layer == h->layer))
            continue; /* the row view has head figures only */
        /* --aggregate mean: the view is the layer's mean already, of all its heads */
        int agg = src->aggregate != NULL;
        if (lines && !agg) { /* the layer's heads overlaid */
            int k = layer_heads(a->heads + first, n, h->layer, hs);
            if ((st = mhv_render_lines_cross(p, fs, &tx, src, hs, k, &s, err)))
                break;
            snprintf(base, sizeof base, "X%0*d", dl, h->layer);
            st = mhv_figures_emit(dir, base, formats, p, fs, &s, w, err);
            mhv_scene_free(&s);
        }
        /* the layer's last head: the mean of its heads */
        int k = 0;
        memset(mean, 0, cells * sizeof *mean);
        for (int j = first; j < first + n; j++)
            if (a->heads[j].layer == h->layer) {
                for (size_t c = 0; c < cells; c++)
                    mean[c] += a->heads[j].w[c];
                k++;
            }
        for (size_t c = 0; c < cells; c++)
            mean[c] /= (float)k;
        if (agg)
            k = src->num_heads;
        for (int pass = lines || agg; pass < 2 && !st; pass++) { /* the alignment: a matrix */
            if (pass == 1 && h->layer != align_layer)
                break;
            snprintf(title, sizeof title,
                     pass ? "%s \xE2\x80\x94 alignment: layer %d, mean of %d heads"
                          : "%s \xC2\xB7 cross-attention \xE2\x80\x94 layer %d, mean of %d heads",
                     model, h->layer, k);
            mhv_fig_rows_title(rows_in, title, sizeof title);
            if ((st = mhv_render_cross(p, fs, tgt, src, title, mean, &s, err)))
                break;
            snprintf(base, sizeof base, pass ? "align" : "X%0*d", dl, h->layer);
            st = mhv_figures_emit(dir, base, formats, p, fs, &s, w, err);
            mhv_scene_free(&s);
        }
    }
    free(hs);
    free(mean);
    return st;
}
