/* lines.c - the line view (queries and keys in two columns joined by lines, as in Clark et
 * al. 2019, "What does BERT look at?") and the row view (one query word's attention as bars).
 * Laid out as scenes like render.c's heatmaps, so PNG, SVG and PDF show the same picture. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fig/render.h"
#include "fig/render_internal.h"

/* Distinct colours for overlaid heads (Tableau 10, as the HTML explorer uses). */
static const uint8_t HEAD_RGB[10][3] = {
    {0x1f, 0x77, 0xb4}, {0xff, 0x7f, 0x0e}, {0x2c, 0xa0, 0x2c}, {0xd6, 0x27, 0x28},
    {0x94, 0x67, 0xbd}, {0x8c, 0x56, 0x4b}, {0xe3, 0x77, 0xc2}, {0x7f, 0x7f, 0x7f},
    {0xbc, 0xbd, 0x22}, {0x17, 0xbe, 0xcf}};
static const uint8_t BAR[3] = {0x4c, 0x72, 0xb0}, BAR_HL[3] = {0xdd, 0x84, 0x52};
static const uint8_t AXIS[3] = {0x44, 0x44, 0x44}, BLACK[3] = {0, 0, 0};
static const uint8_t MASK_BG[3] = {0xf2, 0xf2, 0xf2}, MASK_FG[3] = {0xc4, 0xc4, 0xc4};

static float scale_of(const mhv_render_params *p)
{
    return (p->dpi > 0 ? (float)p->dpi : 96.0f) / 96.0f;
}

static float font_k(const mhv_render_params *p)
{
    return p->font_px > 0 ? (float)p->font_px / 11.0f : 1.0f;
}

static void text(mhv_scene *s, mhv_role role, float x, float y, float px, int rot,
                 const uint8_t rgb[3], const char *t)
{
    mhv_scene_text(s, role, x, y, px, rot, rgb, t, strlen(t));
}

static float text_w(mhv_fontset *fs, const char *t, float px)
{
    return mhv_font_width(fs, t, strlen(t), px);
}

typedef struct {
    float t;        /* colour position: opacity and width */
    int i, j, head; /* query, key, index into heads */
} link;

static int by_weight(const void *a, const void *b)
{
    const link *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t ? 1 : 0;
}

/* Labels of the tokens, their widths at px and the widest. */
static mhv_label *labels_make(mhv_fontset *fs, const mhv_fig_input *in, float px, float **w,
                              float *max_w)
{
    mhv_label *l = malloc((size_t)in->n * sizeof *l);
    *w = malloc((size_t)in->n * sizeof **w);
    if (!l || !*w) {
        free(l);
        free(*w);
        *w = NULL;
        return NULL;
    }
    *max_w = 0;
    for (int i = 0; i < in->n; i++) {
        mhv_label_make(in->pieces[i], in->kind, in->special ? in->special[i] : 0, &l[i]);
        (*w)[i] = mhv_fig_label_width(fs, &l[i], px);
        *max_w = fmaxf(*max_w, (*w)[i]);
    }
    return l;
}

/* The line view of maps (in->n queries, kin->n keys): kin == in for a square map, else a
 * cross-attention's (target queries left, source keys right). */
static mhv_status lines_qk(const mhv_render_params *p, mhv_fontset *fs,
                           const mhv_fig_input *in, const mhv_fig_input *kin,
                           const mhv_head_attn *const *heads, int nh, mhv_scene *out,
                           mhv_error *err)
{
    int nq = in->n, nk = kin->n, n = nq > nk ? nq : nk, cross = kin != in;
    float k = scale_of(p), fk = font_k(p);
    mhv_scene_init(out, 0, 0);
    if (nh < 1)
        return mhv_fail(err, MHV_EUSAGE, "", "no head to draw");
    float px = (p->font_px > 0 ? (float)p->font_px : 12.0f) * k, asc, desc;
    mhv_font_vmetrics(fs, px, &asc, &desc);
    float *lw = NULL, *kw = NULL, max_w, kmax_w;
    mhv_label *lab = labels_make(fs, in, px, &lw, &max_w);
    mhv_label *klab = cross ? labels_make(fs, kin, px, &kw, &kmax_w) : lab;
    if (!cross)
        kw = lw, kmax_w = max_w;
    max_w = fmaxf(max_w, kmax_w);
    float *t = malloc((size_t)nq * (size_t)nk * sizeof *t);
    link *links = malloc((size_t)nq * (size_t)nk * (size_t)nh * sizeof *links);
    if (!lab || !klab || !t || !links) {
        free(lab);
        free(lw);
        if (cross) {
            free(klab);
            free(kw);
        }
        free(t);
        free(links);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    size_t nl = 0;
    for (int q = 0; q < nh; q++) {
        if (cross)
            mhv_render_norm_rect(p, heads[q]->w, nq, nk, t);
        else
            mhv_render_norm(p, in->causal, heads[q]->w, n, t);
        for (int i = 0; i < nq; i++)
            for (int j = 0; j < nk; j++) {
                float w = heads[q]->w[i * nk + j], v = t[i * nk + j];
                if (v > 0 && w >= p->min_weight && w > 0)
                    links[nl++] = (link){fminf(v, 1.0f), i, j, q};
            }
    }
    /* the faint first, so that strong lines stay on top whatever head they belong to */
    qsort(links, nl, sizeof *links, by_weight);

    char dflt[600];
    if (nh == 1) {
        mhv_fig_head_title(in, heads[0], dflt, sizeof dflt);
    } else {
        int len = snprintf(dflt, sizeof dflt, "%s \xE2\x80\x94 layer %d, heads",
                           in->model ? in->model : "", heads[0]->layer);
        for (int q = 0; q < nh && len > 0 && (size_t)len < sizeof dflt; q++)
            len += snprintf(dflt + len, sizeof dflt - (size_t)len, "%s %d", q ? "," : "",
                            heads[q]->head);
    }
    const char *title = mhv_fig_title_of(p, dflt);
    float m = 12 * k, tpx = 14 * k * fk, spx = 10 * k * fk, tasc, tdesc, sasc, sdesc;
    mhv_font_vmetrics(fs, tpx, &tasc, &tdesc);
    mhv_font_vmetrics(fs, spx, &sasc, &sdesc);
    float rowh = fmaxf((asc + desc) * 1.25f, 4 * k);
    float line_sp = sasc + sdesc + 4 * k;
    /* a legend of the overlaid heads, wrapped to the figure's width */
    float pad = 6 * k, gap = fmaxf(150.0f, fminf(300.0f, (float)n * 3.0f)) * k;
    /* the left caption ("query", a cross map's "target (query)") may be wider than the
     * labels (ids, short words): right-aligned to them, it would start left of the margin */
    float xl = m + fmaxf(max_w, text_w(fs, cross ? "target (query)" : "query", spx));
    float xr = xl + 2 * pad + gap;
    float width = xr + max_w + m;
    float sw = 10 * k, legend_w = 0;
    for (int q = 0; q < nh; q++) {
        char b[32];
        snprintf(b, sizeof b, "head %d", heads[q]->head);
        legend_w += sw + 4 * k + text_w(fs, b, spx) + 12 * k;
    }
    width = fmaxf(width, nh > 1 ? fminf(legend_w, 900 * k) + 2 * m : 0);
    int legend_rows = nh > 1 ? (int)ceilf(legend_w / fmaxf(width - 2 * m, 1)) : 0;
    char caption[160];
    snprintf(caption, sizeof caption, "line width and opacity: weight%s; weights below %.3g not "
             "drawn", p->scale == MHV_SCALE_HEAD ? " / head max" : p->scale == MHV_SCALE_ROW
             ? " / row max" : "", (double)p->min_weight);
    float top = m + (title ? tasc + tdesc + 8 * k : 0) + (float)legend_rows * line_sp;
    float y0 = top + line_sp; /* below the "query" / "key" heads */
    /* the caller's corner note (e.g. the global tokens) a line below the caption */
    float note_h = p->corner ? line_sp : 0;
    float height = y0 + (float)n * rowh + 6 * k + line_sp + note_h + m;
    if (title)
        width = fmaxf(width, m + text_w(fs, title, tpx) + m);
    width = fmaxf(width, m + text_w(fs, caption, spx) + m);
    if (p->corner)
        width = fmaxf(width, m + text_w(fs, p->corner, spx) + m);
    out->width = (int)ceilf(width);
    out->height = (int)ceilf(height);

    if (title)
        text(out, MHV_ROLE_TITLE, m, m + tasc, tpx, 0, mhv_fig_ink, title);
    if (nh > 1) {
        float x = m, y = m + (title ? tasc + tdesc + 8 * k : 0);
        for (int q = 0; q < nh; q++) {
            char b[32];
            snprintf(b, sizeof b, "head %d", heads[q]->head);
            float iw = sw + 4 * k + text_w(fs, b, spx) + 12 * k;
            if (x > m && x + iw > width - m) {
                x = m;
                y += line_sp;
            }
            mhv_scene_rect(out, MHV_ROLE_OTHER, x, y + sasc - sw + 1 * k, sw, sw,
                           HEAD_RGB[q % 10]);
            text(out, MHV_ROLE_TICK, x + sw + 4 * k, y + sasc, spx, 0, mhv_fig_ink, b);
            x += iw;
        }
    }
    const char *qcap = cross ? "target (query)" : "query", *kcap = cross ? "source (key)" : "key";
    text(out, MHV_ROLE_TICK, xl - text_w(fs, qcap, spx), top + sasc, spx, 0, mhv_fig_tick, qcap);
    text(out, MHV_ROLE_TICK, xr, top + sasc, spx, 0, mhv_fig_tick, kcap);
    for (size_t e = 0; e < nl; e++) {
        const link *L = &links[e];
        float ya = y0 + ((float)L->i + 0.5f) * rowh, yb = y0 + ((float)L->j + 0.5f) * rowh;
        uint8_t alpha = (uint8_t)lrintf(255.0f * (0.12f + 0.88f * L->t));
        const uint8_t *rgb = nh == 1 ? HEAD_RGB[0] : HEAD_RGB[L->head % 10];
        mhv_scene_line(out, MHV_ROLE_LINK, xl + pad, ya, xr - pad, yb, (0.4f + 2.8f * L->t) * k,
                       rgb, alpha);
    }
    const mhv_highlight *hl = &in->highlight;
    for (int i = 0; i < n; i++) {
        float y = y0 + ((float)i + 0.5f) * rowh + (asc - desc) / 2;
        if (i < nq)
            mhv_fig_label_draw(out, fs, &lab[i], xl - lw[i], y, px, 0);
        if (i < nk)
            mhv_fig_label_draw(out, fs, &klab[i], xr, y, px, 0);
        float by = y0 + (float)i * rowh + rowh * 0.15f, bh = rowh * 0.7f;
        if (i < nq && i >= hl->row0 && i < hl->row1) /* a bar left of the query's label */
            mhv_scene_rect(out, MHV_ROLE_HIGHLIGHT, xl - lw[i] - 5 * k, by, 2 * k, bh, BLACK);
        if (i < nk && i >= hl->col0 && i < hl->col1) /* and right of the key's */
            mhv_scene_rect(out, MHV_ROLE_HIGHLIGHT, xr + kw[i] + 3 * k, by, 2 * k, bh, BLACK);
    }
    text(out, MHV_ROLE_TICK, m, height - m - sdesc - note_h, spx, 0, mhv_fig_tick, caption);
    if (p->corner)
        text(out, MHV_ROLE_TICK, m, height - m - sdesc, spx, 0, mhv_fig_tick, p->corner);
    mhv_fig_meta(out, p, in, title ? title : dflt);
    char buf[32];
    snprintf(buf, sizeof buf, "%d", heads[0]->layer);
    mhv_scene_meta(out, "Layer", buf);
    if (nh == 1 && !in->aggregate) {
        snprintf(buf, sizeof buf, "%d", heads[0]->head);
        mhv_scene_meta(out, "Head", buf);
    }
    free(lab);
    free(lw);
    if (cross) {
        free(klab);
        free(kw);
    }
    free(t);
    free(links);
    return mhv_fig_finish(out, err);
}

mhv_status mhv_render_lines(const mhv_render_params *p, mhv_fontset *fs,
                            const mhv_fig_input *in, const mhv_head_attn *const *heads, int nh,
                            mhv_scene *out, mhv_error *err)
{
    return lines_qk(p, fs, in, in, heads, nh, out, err);
}

mhv_status mhv_render_lines_cross(const mhv_render_params *p, mhv_fontset *fs,
                                  const mhv_fig_input *tgt, const mhv_fig_input *src,
                                  const mhv_head_attn *const *heads, int nh, mhv_scene *out,
                                  mhv_error *err)
{
    return lines_qk(p, fs, tgt, src, heads, nh, out, err);
}

/* Ticks from 0 to vmax at a "nice" step (as the colourbar has). */
static int ticks(float vmax, float *v, int cap)
{
    static const float steps[] = {0.01f, 0.02f, 0.025f, 0.05f, 0.1f, 0.2f, 0.25f, 0.5f, 1.0f};
    float step = 1.0f;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (vmax / steps[i] <= 5.0f) {
            step = steps[i];
            break;
        }
    int c = 0;
    for (int i = 0; c < cap && (float)i * step <= vmax * 1.0001f; i++)
        v[c++] = (float)i * step;
    return c;
}

/* The row view of a map with in's query tokens (the word's rows in->highlight) and kin's
 * keys: kin == in for a square map, else a cross-attention's (target rows, source keys). */
static mhv_status row_qk(const mhv_render_params *p, mhv_fontset *fs, const mhv_fig_input *in,
                         const mhv_fig_input *kin, const mhv_head_attn *h, mhv_scene *out,
                         mhv_error *err)
{
    int n = kin->n, cross = kin != in, causal = in->causal && !cross;
    const mhv_highlight *hl = &in->highlight;
    mhv_scene_init(out, 0, 0);
    if (!(hl->row0 >= 0 && hl->row0 < hl->row1 && hl->row1 <= in->n))
        return mhv_fail(err, MHV_EUSAGE, "", "the row view needs the query tokens to draw");
    float k = scale_of(p), fk = font_k(p);
    float cell = (float)(p->cell > 0 ? p->cell : mhv_render_default_cell(n)) * k;
    float px = (p->font_px > 0 ? (float)p->font_px : fminf(13.0f, fmaxf(7.0f, cell / k * 0.7f))) * k;
    float asc, desc, *lw = NULL, max_w;
    mhv_font_vmetrics(fs, px, &asc, &desc);
    mhv_label *lab = labels_make(fs, kin, px, &lw, &max_w);
    float *v = malloc((size_t)n * sizeof *v);
    if (!lab || !v) {
        free(lab);
        free(lw);
        free(v);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    /* the mean of the word's rows; for decoders a key after the last query token is masked */
    float vmax = 0;
    for (int j = 0; j < n; j++) {
        double s = 0;
        for (int i = hl->row0; i < hl->row1; i++)
            s += causal && j > i ? 0.0 : h->w[i * n + j];
        v[j] = (float)(s / (hl->row1 - hl->row0));
        vmax = fmaxf(vmax, v[j]);
    }
    if (p->scale == MHV_SCALE_FIXED || !(vmax > 0))
        vmax = 1.0f;
    int step = px > cell ? (int)ceilf(px / cell) : 1;
    int rotate = 0;
    for (int j = 0; j < n; j++)
        rotate |= lw[j] > cell - 2 * k;

    mhv_fig_input plain = *in;
    plain.highlight.note = NULL;
    char dflt[700];
    mhv_fig_head_title(&plain, h, dflt, sizeof dflt);
    size_t dl = strlen(dflt);
    if (hl->note && dl < sizeof dflt)
        snprintf(dflt + dl, sizeof dflt - dl, " \xE2\x80\x94 attention of %s", hl->note);
    const char *title = mhv_fig_title_of(p, dflt);
    float m = 12 * k, tpx = 14 * k * fk, spx = 10 * k * fk, tasc, tdesc, sasc, sdesc;
    mhv_font_vmetrics(fs, tpx, &tasc, &tdesc);
    mhv_font_vmetrics(fs, spx, &sasc, &sdesc);
    float tv[16];
    int nt = ticks(vmax, tv, 16);
    float tick_w = 0;
    for (int i = 0; i < nt; i++) {
        char b[16];
        snprintf(b, sizeof b, "%g", (double)tv[i]);
        tick_w = fmaxf(tick_w, text_w(fs, b, spx));
    }
    float ph = 180 * k * fk;                              /* plot height */
    float x0 = m + sasc + sdesc + 6 * k + tick_w + 6 * k; /* axis caption, ticks */
    float y0 = m + (title ? tasc + tdesc + 10 * k : 0) + 8 * k;
    float plot_w = (float)n * cell;
    float key_h = rotate ? max_w : asc + desc;
    float nh = mhv_fig_note_h(fs, p, step);
    out->width = (int)ceilf(fmaxf(x0 + plot_w + m, title ? m + text_w(fs, title, tpx) + m : 0));
    out->height = (int)ceilf(y0 + ph + 6 * k + key_h + 4 * k + nh + m);
    if (title)
        text(out, MHV_ROLE_TITLE, m, m + tasc, tpx, 0, mhv_fig_ink, title);

    /* axis, ticks, gridlines */
    float base = y0 + ph, th = fmaxf(1.0f, k);
    for (int i = 0; i < nt; i++) {
        float y = base - ph * tv[i] / vmax;
        char b[16];
        snprintf(b, sizeof b, "%g", (double)tv[i]);
        mhv_scene_rect(out, MHV_ROLE_OTHER, x0, y - th / 2, plot_w, th,
                       (const uint8_t[3]){0xe8, 0xe8, 0xe8});
        mhv_scene_rect(out, MHV_ROLE_OTHER, x0 - 4 * k, y - th / 2, 4 * k, th, AXIS);
        text(out, MHV_ROLE_TICK, x0 - 6 * k - text_w(fs, b, spx), y + sasc * 0.35f, spx, 0, AXIS,
             b);
    }
    const char *ycap = p->quantity ? p->quantity : "attention weight";
    text(out, MHV_ROLE_TICK, m + sasc, y0 + ph / 2 + text_w(fs, ycap, spx) / 2, spx, 1, AXIS,
         ycap);
    int show = p->values && cell >= 18 * k;
    for (int j = 0; j < n; j++) {
        float x = x0 + (float)j * cell, bw = cell * 0.8f, bx = x + cell * 0.1f;
        if (causal && j >= hl->row1) {
            mhv_scene_hatch(out, MHV_ROLE_CELL, bx, base - 6 * k, bw, 6 * k,
                            fmaxf(3.0f, 6.0f * k), MASK_BG, MASK_FG);
        } else {
            float bh = ph * fminf(v[j] / vmax, 1.0f);
            int on = j >= hl->col0 && j < hl->col1;
            mhv_scene_rect(out, MHV_ROLE_BAR, bx, base - bh, bw, bh, on ? BAR_HL : BAR);
            if (show && v[j] >= 0.005f) {
                char b[8];
                if (v[j] >= 0.995f)
                    snprintf(b, sizeof b, "1");
                else
                    snprintf(b, sizeof b, ".%02d", (int)lrintf(v[j] * 100));
                float vpx = fminf(cell * 0.4f, 11 * k), w = text_w(fs, b, vpx);
                text(out, MHV_ROLE_VALUE, x + (cell - w) / 2, base - bh - 3 * k, vpx, 0, AXIS, b);
            }
        }
        if (j % step)
            continue;
        float mid = x + cell / 2, ky = base + 6 * k;
        /* turned to read upwards when any label is wider than its column, except single
         * CJK characters that fit, as the heatmaps' key labels */
        if (rotate && !(lw[j] <= cell - 2 * k && mhv_fig_one_wide_char(&lab[j])))
            mhv_fig_label_draw(out, fs, &lab[j], mid + (asc - desc) / 2, ky + lw[j], px, 1);
        else
            mhv_fig_label_draw(out, fs, &lab[j], mid - lw[j] / 2, ky + asc, px, 0);
        if (!cross && j >= hl->row0 && j < hl->row1) /* the query word itself: underlined */
            mhv_scene_rect(out, MHV_ROLE_HIGHLIGHT, x + cell * 0.1f, base + 2 * k, cell * 0.8f,
                           2 * k, BLACK);
    }
    mhv_scene_rect(out, MHV_ROLE_OTHER, x0, base, plot_w, th, AXIS);
    mhv_fig_note(out, fs, p, step, m, (float)out->height - m);
    mhv_fig_meta(out, p, in, title ? title : dflt);
    char buf[32];
    snprintf(buf, sizeof buf, "%d", h->layer);
    mhv_scene_meta(out, "Layer", buf);
    free(lab);
    free(lw);
    free(v);
    return mhv_fig_finish(out, err);
}

mhv_status mhv_render_row(const mhv_render_params *p, mhv_fontset *fs, const mhv_fig_input *in,
                          const mhv_head_attn *h, mhv_scene *out, mhv_error *err)
{
    return row_qk(p, fs, in, in, h, out, err);
}

mhv_status mhv_render_row_cross(const mhv_render_params *p, mhv_fontset *fs,
                                const mhv_fig_input *tgt, const mhv_fig_input *src,
                                const mhv_head_attn *h, mhv_scene *out, mhv_error *err)
{
    return row_qk(p, fs, tgt, src, h, out, err);
}
