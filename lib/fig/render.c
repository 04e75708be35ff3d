#include "fig/render.h"
#include "fig/render_internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MHV_VERSION
#define MHV_VERSION "0.0.0"
#endif

/* A figure side in whole pixels. NaN (a font with broken metrics) or a side beyond int is
 * 0 or INT_MAX, which the canvas refuses, instead of (int)ceilf's undefined behaviour. */
static int side(float v)
{
    if (!(v > 0))
        return 0;
    return v < 2e9f ? (int)ceilf(v) : INT_MAX;
}

/* Colours of everything that is not data. */
static const uint8_t INK[3] = {0x22, 0x22, 0x22};        /* token text, titles */
static const uint8_t MUTED[3] = {0x99, 0x99, 0x99};      /* "##", word-start dot */
static const uint8_t SPECIAL[3] = {0x3b, 0x6e, 0xa8};    /* [CLS], [SEP] */
static const uint8_t BYTES[3] = {0xa0, 0x52, 0x2d};      /* <E8 8B> */
static const uint8_t TICK[3] = {0x44, 0x44, 0x44};
static const uint8_t MASK_BG[3] = {0xf2, 0xf2, 0xf2};    /* masked cells: pale hatching, */
static const uint8_t MASK_FG[3] = {0xc4, 0xc4, 0xc4};    /* unlike any colormap's zero */
static const uint8_t FRAME[3] = {0xdd, 0xdd, 0xdd};
static const uint8_t HL_DARK[3] = {0x00, 0x00, 0x00};    /* highlight: black outside white, */
static const uint8_t HL_LIGHT[3] = {0xff, 0xff, 0xff};   /* seen on any colormap without hue */

mhv_render_params mhv_render_default_params(void)
{
    return (mhv_render_params){.cmap = MHV_CMAP_VIRIDIS, .scale = MHV_SCALE_FIXED, .dpi = 96,
                               .view = MHV_VIEW_MATRIX, .min_weight = 0.02f};
}

mhv_status mhv_view_parse(const char *s, mhv_view *out, mhv_error *err)
{
    static const char *const names[] = {"matrix", "lines", "row"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (mhv_view)i;
            return MHV_OK;
        }
    return mhv_fail(err, MHV_EUSAGE, "", "unknown view '%s' (matrix, lines, row)", s);
}

/* Values are printed in cells of at least this many CSS px (matrix_draw). */
#define VALUES_MIN_CELL 18

int mhv_render_values_cell(const mhv_render_params *p, int n)
{
    int cell = p->cell > 0 ? p->cell : mhv_render_default_cell(n);
    return p->values && p->view == MHV_VIEW_MATRIX && cell < VALUES_MIN_CELL ? VALUES_MIN_CELL : 0;
}

mhv_status mhv_scale_parse(const char *s, mhv_scale *out, mhv_error *err)
{
    static const char *const names[] = {"fixed", "head", "row"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (mhv_scale)i;
            return MHV_OK;
        }
    return mhv_fail(err, MHV_EUSAGE, "", "unknown scale '%s' (fixed, head, row)", s);
}

int mhv_render_default_cell(int n)
{
    /* a 480 px matrix is 5 inches at 96 dpi: a page-wide figure with room for labels and
     * colourbar; print sizes come from --dpi, not from more pixels per cell */
    int c = n > 0 ? (480 + n / 2) / n : 36;
    return c < 10 ? 10 : c > 36 ? 36 : c;
}

/* Map rows: n for square maps, the kept rows' count with in->row_ids. */
static int rows_of(const mhv_fig_input *in)
{
    return in->row_ids ? in->nrows : in->n;
}

/* The last unmasked column of map row r of n columns: the last column without a causal
 * mask; for a square map the query's own column, with kept rows the last column whose keys
 * start at or before the row's token (-1: every column masked). */
static int row_lim(const mhv_fig_input *in, int causal, int r, int n)
{
    if (!causal)
        return n - 1;
    if (!in || !in->row_ids)
        return r;
    int kb = in->key_block > 0 ? in->key_block : 1, d = in->row_ids[r] - in->key0;
    if (d < 0)
        return -1;
    d /= kb;
    return d < n - 1 ? d : n - 1;
}

/* mhv_render_norm for a map of R rows and n columns, masks from row_lim. */
static void norm_rows(const mhv_render_params *p, const mhv_fig_input *in, int causal,
                      const float *w, int R, int n, float *t)
{
    float hmax = 0;
    for (int i = 0; i < R; i++)
        for (int j = 0, lim = row_lim(in, causal, i, n); j <= lim; j++)
            hmax = fmaxf(hmax, w[(size_t)i * (size_t)n + (size_t)j]);
    for (int i = 0; i < R; i++) {
        int lim = row_lim(in, causal, i, n);
        float div = 1;
        if (p->scale == MHV_SCALE_HEAD) {
            div = hmax;
        } else if (p->scale == MHV_SCALE_ROW) {
            div = 0;
            for (int j = 0; j <= lim; j++)
                div = fmaxf(div, w[(size_t)i * (size_t)n + (size_t)j]);
        }
        for (int j = 0; j < n; j++) {
            size_t at = (size_t)i * (size_t)n + (size_t)j;
            t[at] = j > lim ? -1.0f : div > 0 ? w[at] / div : 0.0f;
        }
    }
}

void mhv_render_norm(const mhv_render_params *p, int causal, const float *w, int n, float *t)
{
    norm_rows(p, NULL, causal, w, n, n, t);
}

void mhv_render_norm_rect(const mhv_render_params *p, const float *w, int rows, int cols,
                          float *t)
{
    norm_rows(p, NULL, 0, w, rows, cols, t);
}

/* ---- text helpers ------------------------------------------------------------------- */

typedef struct {
    mhv_scene *s;
    mhv_fontset *fs;
    float k;            /* device px per CSS px */
    float fk;           /* text other than labels: --font-size / 11, else 1 */
    int font_px;        /* --font-size, 0 = labels sized from the cell */
    const char *corner; /* mhv_render_params.corner */
} ctx;

static const uint8_t *style_rgb(mhv_label_style st)
{
    switch (st) {
    case MHV_LSTYLE_MARK: return MUTED;
    case MHV_LSTYLE_SPECIAL: return SPECIAL;
    case MHV_LSTYLE_BYTES: return BYTES;
    case MHV_LSTYLE_TEXT: break;
    }
    return INK;
}

static float label_width(ctx *c, const mhv_label *l, float px)
{
    float w = 0;
    for (int i = 0; i < l->n; i++)
        w += mhv_font_width(c->fs, l->part[i].text, strlen(l->part[i].text), px);
    return w;
}

/* Draws a label's parts one after another from pen (x, y), along the rotation. */
static void label_draw(ctx *c, const mhv_label *l, float x, float y, float px, int rot)
{
    for (int i = 0; i < l->n; i++) {
        size_t len = strlen(l->part[i].text);
        mhv_scene_text(c->s, MHV_ROLE_LABEL, x, y, px, rot, style_rgb(l->part[i].style),
                       l->part[i].text, len);
        float w = mhv_font_width(c->fs, l->part[i].text, len, px);
        if (rot)
            y -= w;
        else
            x += w;
    }
}

static void text_at(ctx *c, mhv_role role, float x, float y, float px, int rot,
                    const uint8_t rgb[3], const char *t)
{
    mhv_scene_text(c->s, role, x, y, px, rot, rgb, t, strlen(t));
}

static float text_w(ctx *c, const char *t, float px)
{
    return mhv_font_width(c->fs, t, strlen(t), px);
}

/* ---- token axes --------------------------------------------------------------------- */

typedef struct {
    mhv_label *l;       /* (n,) */
    float px;           /* label size */
    float max_w;        /* widest label */
    float asc, desc;
    float *w;           /* (n,) label widths */
    float cell;
    int any_wide;       /* some label is wider than a column */
    float key_h;        /* height of the key label band */
    int step;           /* every step-th label is drawn: cells smaller than the text */
} axes;

/* One East Asian wide character: it stays upright in a column of turned labels, as in
 * vertical CJK typesetting. */
static int one_wide_char(const mhv_label *l)
{
    if (l->n != 1)
        return 0;
    const unsigned char *t = (const unsigned char *)l->part[0].text;
    uint32_t c;
    if (t[0] >= 0xE0 && t[0] < 0xF0 && t[1] && t[2] && !t[3])
        c = (uint32_t)(t[0] & 0x0F) << 12 | (uint32_t)(t[1] & 0x3F) << 6 | (t[2] & 0x3F);
    else if (t[0] >= 0xF0 && t[1] && t[2] && t[3] && !t[4])
        c = (uint32_t)(t[0] & 0x07) << 18 | (uint32_t)(t[1] & 0x3F) << 12 |
            (uint32_t)(t[2] & 0x3F) << 6 | (t[3] & 0x3F);
    else
        return 0;
    return (c >= 0x2E80 && c <= 0xA4CF) || (c >= 0xAC00 && c <= 0xD7A3) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
           (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) || c >= 0x20000;
}

/* Key labels all turn to read upwards when any is wider than its column (mixed directions
 * read badly), except single CJK characters that fit. */
static int key_rotated(const ctx *c, const axes *a, int j)
{
    int fits = a->w[j] <= a->cell - 2 * c->k;
    return a->any_wide && !(fits && one_wide_char(&a->l[j]));
}

static void axes_free(axes *a)
{
    free(a->l);
    free(a->w);
}

/* Labels of count tokens pieces(count,) (special: 1 for special tokens, or NULL). */
static int axes_make_of(ctx *c, const char *const *pieces, const unsigned char *special,
                        int count, mhv_label_kind kind, float cell, axes *a)
{
    a->l = malloc(((size_t)count + 1) * sizeof *a->l);
    a->w = malloc(((size_t)count + 1) * sizeof *a->w);
    if (!a->l || !a->w) {
        free(a->l);
        free(a->w);
        return -1;
    }
    a->cell = cell;
    float css = cell / c->k;
    a->px = (c->font_px > 0 ? (float)c->font_px : fminf(13.0f, fmaxf(7.0f, css * 0.7f))) * c->k;
    /* labels taller than their cell would overprint one another: thin them */
    a->step = a->px > cell ? (int)ceilf(a->px / cell) : 1;
    mhv_font_vmetrics(c->fs, a->px, &a->asc, &a->desc);
    a->max_w = 0;
    for (int i = 0; i < count; i++) {
        mhv_label_make(pieces[i], kind, special ? special[i] : 0, &a->l[i]);
        a->w[i] = label_width(c, &a->l[i], a->px);
        a->max_w = fmaxf(a->max_w, a->w[i]);
    }
    a->any_wide = 0;
    for (int i = 0; i < count; i++)
        a->any_wide |= a->w[i] > cell - 2 * c->k;
    a->key_h = a->asc + a->desc;
    for (int i = 0; i < count; i++)
        if (key_rotated(c, a, i))
            a->key_h = fmaxf(a->key_h, a->w[i]);
    return 0;
}

static int axes_make(ctx *c, const mhv_fig_input *in, float cell, axes *a)
{
    return axes_make_of(c, in->pieces, in->special, in->n, in->kind, cell, a);
}

/* The row labels: the kept rows' own (in->row_ids), else the column labels a (shared, so
 * rows_axes_free frees nothing). */
static int rows_axes(ctx *c, const mhv_fig_input *in, float cell, const axes *a, axes *ra)
{
    if (!in->row_ids) {
        *ra = *a;
        return 0;
    }
    return axes_make_of(c, in->row_pieces, in->row_special, in->nrows, in->kind, cell, ra);
}

static void rows_axes_free(const mhv_fig_input *in, axes *ra)
{
    if (in->row_ids)
        axes_free(ra);
}

/* Query labels ra(R,) right-aligned left of x0 for a matrix at (x0, y0) (when rows); key
 * labels a(n,) (when cols) standing on the line ky. */
static void axes_draw(ctx *c, const axes *ra, int R, const axes *a, int n, float x0, float y0,
                      float ky, float cell, int rows, int cols)
{
    float pad = 4 * c->k;
    for (int i = 0; rows && i < R; i += ra->step) {
        float w = ra->w[i];
        float y = y0 + ((float)i + 0.5f) * cell + (ra->asc - ra->desc) / 2;
        label_draw(c, &ra->l[i], x0 - pad - w, y, ra->px, 0);
    }
    for (int j = 0; cols && j < n; j += a->step) {
        float mid = x0 + ((float)j + 0.5f) * cell;
        if (key_rotated(c, a, j))
            label_draw(c, &a->l[j], mid + (a->asc - a->desc) / 2, ky - pad, a->px, 1);
        else
            label_draw(c, &a->l[j], mid - a->w[j] / 2, ky - pad - a->desc, a->px, 0);
    }
}

/* ---- matrix and colourbar ----------------------------------------------------------- */

/* Relative luminance (WCAG 2) of an sRGB colour. */
static float luminance(const uint8_t rgb[3])
{
    float l[3];
    for (int k = 0; k < 3; k++) {
        float v = rgb[k] / 255.0f;
        l[k] = v <= 0.04045f ? v / 12.92f : powf((v + 0.055f) / 1.055f, 2.4f);
    }
    return 0.2126f * l[0] + 0.7152f * l[1] + 0.0722f * l[2];
}

static void value_text(float w, char *buf, size_t size)
{
    /* ".42" reads faster than "0.42" in a dense grid and fits smaller cells */
    if (w >= 0.995f)
        snprintf(buf, size, "1");
    else
        snprintf(buf, size, ".%02d", (int)lrintf(w * 100));
}

/* t(R, n) from norm_rows, w(R, n) the weights (for --values). */
static void matrix_draw(ctx *c, const mhv_render_params *p, const float *t, const float *w,
                        int R, int n, float x0, float y0, float cell)
{
    float pitch = fmaxf(3.0f, 6.0f * c->k);
    int show = p->values && w && cell >= 18 * c->k;
    float vpx = cell * 0.36f;
    for (int i = 0; i < R; i++)
        for (int j = 0; j < n; j++) {
            size_t at = (size_t)i * (size_t)n + (size_t)j;
            float x = x0 + (float)j * cell, y = y0 + (float)i * cell, v = t[at];
            if (v < 0) {
                mhv_scene_hatch(c->s, MHV_ROLE_CELL, x, y, cell, cell, pitch, MASK_BG, MASK_FG);
                continue;
            }
            uint8_t rgb[3];
            mhv_cmap_rgb(p->cmap, v, rgb);
            mhv_scene_rect(c->s, MHV_ROLE_CELL, x, y, cell, cell, rgb);
            /* a grid of ".00" hides the few weights that matter */
            if (!show || w[at] < 0.005f)
                continue;
            char buf[8];
            value_text(w[at], buf, sizeof buf);
            float tw = text_w(c, buf, vpx);
            if (tw > cell - 2 * c->k)
                continue;
            float L = luminance(rgb);
            /* the text colour with the higher WCAG contrast ratio against the cell */
            int dark = (L + 0.05f) / 0.05f > 1.05f / (L + 0.05f);
            static const uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255};
            float asc, desc;
            mhv_font_vmetrics(c->fs, vpx, &asc, &desc);
            text_at(c, MHV_ROLE_VALUE, x + (cell - tw) / 2, y + cell / 2 + (asc * 0.72f) / 2, vpx,
                    0, dark ? black : white, buf);
        }
}

/* Ticks from 0 to vmax at a "nice" step, written as short decimals. */
static int ticks(float vmax, float *v, int cap)
{
    static const float steps[] = {0.01f, 0.02f, 0.025f, 0.05f, 0.1f, 0.2f, 0.25f, 0.5f, 1.0f};
    float step = 1.0f;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (vmax / steps[i] <= 5.0f) {
            step = steps[i];
            break;
        }
    int n = 0;
    for (int k = 0; n < cap && (float)k * step <= vmax * 1.0001f; k++)
        v[n++] = (float)k * step;
    return n;
}

static void tick_text(float v, char *buf, size_t size)
{
    snprintf(buf, size, "%.3f", (double)v);
    char *e = buf + strlen(buf) - 1; /* "0.250" -> "0.25", "1.000" -> "1" */
    while (*e == '0')
        *e-- = '\0';
    if (*e == '.')
        *e = '\0';
}

typedef struct {
    float bar_w, tick_len, gap, px, label_w, caption_px, width;
} cbar_geom;

static cbar_geom cbar_measure(ctx *c, float vmax, const char *caption)
{
    cbar_geom g = {12 * c->k, 4 * c->k, 3 * c->k, 10 * c->k * c->fk, 0, 10 * c->k * c->fk, 0};
    float v[16];
    int n = ticks(vmax, v, 16);
    for (int i = 0; i < n; i++) {
        char buf[16];
        tick_text(v[i], buf, sizeof buf);
        g.label_w = fmaxf(g.label_w, text_w(c, buf, g.px));
    }
    float asc, desc;
    mhv_font_vmetrics(c->fs, g.caption_px, &asc, &desc);
    g.width = g.bar_w + g.tick_len + g.gap + g.label_w + (caption ? 6 * c->k + asc + desc : 0);
    return g;
}

/* A vertical bar from t = 1 (top) to 0, ticks labelled 0..vmax (t = v / vmax). */
static void cbar_draw(ctx *c, const mhv_render_params *p, const cbar_geom *g, float x, float y,
                      float h, float vmax, const char *caption)
{
    int steps = (int)lrintf(h);
    for (int k = 0; k < steps; k++) {
        uint8_t rgb[3];
        float t = 1.0f - ((float)k + 0.5f) / (float)steps;
        mhv_cmap_rgb(p->cmap, t, rgb);
        mhv_scene_rect(c->s, MHV_ROLE_CBAR, x, y + h * (float)k / (float)steps, g->bar_w,
                       h / (float)steps + 0.01f, rgb);
    }
    float v[16], asc, desc;
    int n = ticks(vmax, v, 16);
    mhv_font_vmetrics(c->fs, g->px, &asc, &desc);
    float lw = fmaxf(1.0f, c->k);
    for (int i = 0; i < n; i++) {
        float ty = y + h * (1.0f - v[i] / vmax);
        mhv_scene_rect(c->s, MHV_ROLE_OTHER, x + g->bar_w, ty - lw / 2, g->tick_len, lw, TICK);
        char buf[16];
        tick_text(v[i], buf, sizeof buf);
        text_at(c, MHV_ROLE_TICK, x + g->bar_w + g->tick_len + g->gap, ty + asc * 0.35f, g->px, 0,
                TICK, buf);
    }
    if (caption) {
        float cw = text_w(c, caption, g->caption_px), ca, cd;
        mhv_font_vmetrics(c->fs, g->caption_px, &ca, &cd);
        float cx = x + g->bar_w + g->tick_len + g->gap + g->label_w + 6 * c->k + ca;
        text_at(c, MHV_ROLE_TICK, cx, y + h / 2 + cw / 2, g->caption_px, 1, TICK, caption);
    }
}

static const char *caption_of(const mhv_render_params *p, int single)
{
    const char *quantity = p->quantity ? p->quantity : "attention weight";
    switch (p->scale) {
    case MHV_SCALE_HEAD: return single ? quantity : "weight / head max";
    case MHV_SCALE_ROW: return "weight / row max";
    case MHV_SCALE_FIXED: break;
    }
    return quantity;
}

static void meta_common(mhv_scene *s, const mhv_render_params *p, const mhv_fig_input *in,
                        const char *title)
{
    mhv_scene_meta(s, "Title", title);
    mhv_scene_meta(s, "Software", "mhaviz " MHV_VERSION);
    mhv_scene_meta(s, "Model", in->model ? in->model : "");
    if (in->sentence)
        mhv_scene_meta(s, "Sentence", in->sentence);
    char buf[320];
    snprintf(buf, sizeof buf, "colormap %s, scale %s%s%.256s", mhv_cmap_name(p->cmap),
             p->scale == MHV_SCALE_HEAD ? "head" : p->scale == MHV_SCALE_ROW ? "row" : "fixed",
             p->corner ? "; " : "", p->corner ? p->corner : "");
    mhv_scene_meta(s, "Comment", buf);
}

static float scale_of(const mhv_render_params *p)
{
    return (p->dpi > 0 ? (float)p->dpi : 96.0f) / 96.0f;
}

static mhv_status finish(mhv_scene *s, mhv_error *err)
{
    mhv_status st = mhv_scene_check(s, err);
    if (st)
        mhv_scene_free(s);
    return st;
}

/* ---- highlight ---------------------------------------------------------------------- */

/* A frame of thickness th just inside the box (x, y, w, h). */
static void frame_draw(ctx *c, float x, float y, float w, float h, float th, const uint8_t rgb[3])
{
    mhv_scene_rect(c->s, MHV_ROLE_HIGHLIGHT, x, y, w, th, rgb);
    mhv_scene_rect(c->s, MHV_ROLE_HIGHLIGHT, x, y + h - th, w, th, rgb);
    mhv_scene_rect(c->s, MHV_ROLE_HIGHLIGHT, x, y + th, th, h - 2 * th, rgb);
    mhv_scene_rect(c->s, MHV_ROLE_HIGHLIGHT, x + w - th, y + th, th, h - 2 * th, rgb);
}

/* The first map row at or after sentence position pos (R when none): a position range's
 * rows among the kept ones. */
static int row_at(const mhv_fig_input *in, int R, int pos)
{
    if (!in->row_ids)
        return pos < R ? pos : R;
    int r = 0;
    while (r < R && in->row_ids[r] < pos)
        r++;
    return r;
}

/* Boxes around the highlighted rows and columns of an R x n matrix at (x0, y0), and a tick
 * in the gutter beside their labels. The boxes lie on the outer pixels of the edge cells,
 * so every cell keeps its colour at its centre; light lines first, so that where a row box
 * crosses a column box the dark lines stay unbroken. */
static void highlight_draw(ctx *c, const mhv_fig_input *in, int R, int n, float x0, float y0,
                           float cell)
{
    const mhv_highlight *hl = &in->highlight;
    int row0 = row_at(in, R, hl->row0), row1 = row_at(in, R, hl->row1);
    int rows = hl->row0 >= 0 && hl->row0 < hl->row1 &&
               (in->row_ids ? row0 < row1 : hl->row1 <= n);
    int cols = hl->col0 >= 0 && hl->col0 < hl->col1 && hl->col1 <= n;
    if (!rows && !cols)
        return;
    float matw = (float)n * cell, math = (float)R * cell;
    /* 2 + 1 px at 96 dpi; never more than a quarter of a cell, so small cells stay visible */
    float dark = fminf(fmaxf(1.0f, roundf(2 * c->k)), fmaxf(1.0f, floorf(cell / 4)));
    float light = fminf(fmaxf(1.0f, roundf(c->k)), fmaxf(1.0f, floorf(cell / 8)));
    float ry = y0 + (float)row0 * cell, rh = (float)(row1 - row0) * cell;
    float cx = x0 + (float)hl->col0 * cell, cw = (float)(hl->col1 - hl->col0) * cell;
    if (rows)
        frame_draw(c, x0 + dark, ry + dark, matw - 2 * dark, rh - 2 * dark, light, HL_LIGHT);
    if (cols)
        frame_draw(c, cx + dark, y0 + dark, cw - 2 * dark, math - 2 * dark, light, HL_LIGHT);
    if (rows) {
        frame_draw(c, x0, ry, matw, rh, dark, HL_DARK);
        mhv_scene_rect(c->s, MHV_ROLE_HIGHLIGHT, x0 - 3 * c->k, ry, 2 * c->k, rh, HL_DARK);
    }
    if (cols) {
        frame_draw(c, cx, y0, cw, math, dark, HL_DARK);
        mhv_scene_rect(c->s, MHV_ROLE_HIGHLIGHT, cx, y0 - 3 * c->k, cw, 2 * c->k, HL_DARK);
    }
}

/* A sentence pair's boundary: a white line before the second sentence's first row and
 * column, across the whole R x n matrix, on the edge pixels of the cells beside it (rows:
 * before the first kept row of the second sentence; columns: where a window's keys cross it,
 * none when keys are pooled). */
static void boundary_draw(ctx *c, const mhv_fig_input *in, int R, int n, float x0, float y0,
                          float cell)
{
    int b = in->boundary;
    if (b <= 0 || (!in->row_ids && b >= n))
        return;
    static const uint8_t WHITE[3] = {0xFF, 0xFF, 0xFF};
    float th = fminf(fmaxf(1.0f, roundf(1.5f * c->k)), fmaxf(1.0f, floorf(cell / 4)));
    int rb = row_at(in, R, b), cb = b;
    if (in->row_ids)
        cb = in->key_block > 1 ? -1 : b - in->key0;
    float matw = (float)n * cell, math = (float)R * cell;
    if (rb > 0 && rb < R)
        mhv_scene_rect(c->s, MHV_ROLE_HIGHLIGHT, x0, y0 + (float)rb * cell - th / 2, matw, th,
                       WHITE);
    if (cb > 0 && cb < n)
        mhv_scene_rect(c->s, MHV_ROLE_HIGHLIGHT, x0 + (float)cb * cell - th / 2, y0, th, math,
                       WHITE);
}

/* Appends " — generated from token 7" to t(size) when in's tokens from 7 on were
 * generated. */
static void gen_title(const mhv_fig_input *in, char *t, size_t size)
{
    size_t len = strlen(t);
    if (in->generated > 0 && len + 1 < size)
        snprintf(t + len, size - len, " \xE2\x80\x94 generated from token %d", in->generated);
}

/* Appends " — query rows 3-5, 29" (the kept rows' positions, runs joined; cut with "…" when
 * long) to t(size) when in keeps rows. */
static void rows_title(const mhv_fig_input *in, char *t, size_t size)
{
    if (!in->row_ids || in->nrows < 1)
        return;
    char buf[160];
    size_t o = 0;
    for (int r = 0, e; r < in->nrows; r = e + 1) {
        for (e = r; e + 1 < in->nrows && in->row_ids[e + 1] == in->row_ids[e] + 1; e++)
            ;
        if (o + 32 > sizeof buf) { /* each item below is at most 26 bytes */
            memcpy(buf + o, "\xE2\x80\xA6", 3);
            o += 3;
            break;
        }
        int k = e > r ? snprintf(buf + o, sizeof buf - o, "%s%d-%d", r ? ", " : "",
                                 in->row_ids[r], in->row_ids[e])
                      : snprintf(buf + o, sizeof buf - o, "%s%d", r ? ", " : "", in->row_ids[r]);
        o += k > 0 ? (size_t)k : 0;
    }
    buf[o] = '\0';
    size_t len = strlen(t);
    if (len + 1 < size)
        snprintf(t + len, size - len, " \xE2\x80\x94 query row%s %s", in->nrows > 1 ? "s" : "",
                 buf);
}

/* "model — layer 5, head 3", or the aggregate a per-layer view stands for, and what the
 * boxes of a highlight link. */
static void head_title(const mhv_fig_input *in, const mhv_head_attn *h, char *t, size_t size)
{
    const char *model = in->model ? in->model : "";
    int len;
    if (in->aggregate && strcmp(in->aggregate, "rollout") == 0)
        len = snprintf(t, size, "%s \xE2\x80\x94 rollout of layers 0..%d", model, h->layer);
    else if (in->aggregate && strcmp(in->aggregate, "flow") == 0)
        len = snprintf(t, size, "%s \xE2\x80\x94 attention flow through layers 0..%d", model,
                       h->layer);
    else if (in->aggregate)
        len = snprintf(t, size, "%s \xE2\x80\x94 layer %d, %s of heads", model, h->layer,
                       in->aggregate);
    else if (in->kv_group > 0) /* grouped-query attention: which key/value head it shares */
        len = snprintf(t, size, "%s \xE2\x80\x94 layer %d, head %d (kv head %d)", model,
                       h->layer, h->head, h->head / in->kv_group);
    else
        len = snprintf(t, size, "%s \xE2\x80\x94 layer %d, head %d", model, h->layer, h->head);
    if (in->row_ids && len > 0 && (size_t)len < size) {
        rows_title(in, t, size);
        len = (int)strlen(t);
    }
    if (in->generated > 0 && len > 0 && (size_t)len < size) {
        gen_title(in, t, size);
        len = (int)strlen(t);
    }
    if (in->highlight.note && len > 0 && (size_t)len < size)
        snprintf(t + len, size - (size_t)len, " \xE2\x80\x94 outlined: %s", in->highlight.note);
    /* a long note is cut: never in the middle of a character */
    size_t n = strlen(t);
    if (n + 1 == size) {
        while (n > 0 && ((unsigned char)t[n - 1] & 0xC0) == 0x80)
            n--;
        if (n > 0 && (unsigned char)t[n - 1] >= 0xC0)
            n--;
        t[n] = '\0';
    }
}

/* The title line a figure gets: --title's, none with --no-title, else dflt. */
static const char *title_of(const mhv_render_params *p, const char *dflt)
{
    return p->no_title ? NULL : p->title ? p->title : dflt;
}

static ctx ctx_of(const mhv_render_params *p, mhv_scene *out, mhv_fontset *fs)
{
    float k = scale_of(p);
    return (ctx){out, fs, k, p->font_px > 0 ? (float)p->font_px / 11.0f : 1.0f, p->font_px,
                 p->corner};
}

/* "every 3rd token labelled": the corner note of a figure whose labels were thinned. */
static void thin_note(int step, char *buf, size_t size)
{
    const char *suf = step % 100 / 10 == 1 ? "th" : step % 10 == 2 ? "nd" : step % 10 == 3 ? "rd" : "th";
    snprintf(buf, size, "labels: every %d%s token (the cells are too small for all; see --cell)",
             step, suf);
}

/* Height the corner notes take at the bottom of a figure: the caller's (p->corner) and the
 * thinned labels' one, a line each (0 for neither). */
static float note_h(ctx *c, int step)
{
    float asc, desc;
    mhv_font_vmetrics(c->fs, 10 * c->k * c->fk, &asc, &desc);
    int lines = (step > 1) + (c->corner != NULL);
    return lines ? (float)lines * (asc + desc) + 6 * c->k : 0;
}

static void note_draw(ctx *c, int step, float x, float bottom)
{
    float px = 10 * c->k * c->fk, asc, desc;
    mhv_font_vmetrics(c->fs, px, &asc, &desc);
    if (step > 1) {
        char buf[128];
        thin_note(step, buf, sizeof buf);
        text_at(c, MHV_ROLE_TICK, x, bottom - desc, px, 0, TICK, buf);
        bottom -= asc + desc;
    }
    if (c->corner)
        text_at(c, MHV_ROLE_TICK, x, bottom - desc, px, 0, TICK, c->corner);
}

/* ---- figures ------------------------------------------------------------------------ */

/* The square (or kept-rows) map w of a single-head figure, titled dflt unless --title /
 * --no-title say otherwise, its axes named key_axis and query_axis; the metadata common to
 * every figure is set, not yet checked (finish). */
static mhv_status map_scene(const mhv_render_params *p, mhv_fontset *fs,
                            const mhv_fig_input *in, const float *w, const char *dflt,
                            const char *key_axis, const char *query_axis, mhv_scene *out,
                            mhv_error *err)
{
    int n = in->n, R = rows_of(in);
    float k = scale_of(p);
    float cell = (float)(p->cell > 0 ? p->cell : mhv_render_default_cell(n)) * k;
    ctx c = ctx_of(p, out, fs);
    mhv_scene_init(out, 0, 0);
    axes a, ra;
    float *t = malloc(((size_t)R * (size_t)n + 1) * sizeof *t);
    if (!t || axes_make(&c, in, cell, &a)) {
        free(t);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    if (rows_axes(&c, in, cell, &a, &ra)) {
        axes_free(&a);
        free(t);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    norm_rows(p, in, in->causal, w, R, n, t);
    float vmax = 1.0f;
    if (p->scale == MHV_SCALE_HEAD) {
        vmax = 0;
        for (size_t i = 0; i < (size_t)R * (size_t)n; i++)
            if (t[i] >= 0)
                vmax = fmaxf(vmax, w[i]);
        if (vmax <= 0)
            vmax = 1;
    }

    const char *title = title_of(p, dflt);
    float m = 12 * k, pad = 4 * k, tpx = 14 * k * c.fk, tasc, tdesc;
    mhv_font_vmetrics(fs, tpx, &tasc, &tdesc);
    const char *caption = caption_of(p, 1);
    cbar_geom g = cbar_measure(&c, vmax, caption);
    float mat = (float)n * cell, math = (float)R * cell;
    /* axis names, so a reader of the paper knows rows attend to columns */
    float apx = 10 * k * c.fk, aasc, adesc;
    mhv_font_vmetrics(fs, apx, &aasc, &adesc);
    float axis = aasc + adesc + 4 * k;
    float x0 = m + axis + ra.max_w + pad;
    float y0 = m + (title ? tasc + tdesc + 8 * k : 0) + axis + a.key_h + pad;
    float cbh = fmaxf(math, 120 * k);
    float width = x0 + mat + 14 * k + g.width + m;
    if (title)
        width = fmaxf(width, m + text_w(&c, title, tpx) + m);
    float nh = note_h(&c, a.step);
    float height = y0 + fmaxf(math, cbh) + nh + m;
    out->width = side(width);
    out->height = side(height);

    if (title)
        text_at(&c, MHV_ROLE_TITLE, m, m + tasc, tpx, 0, INK, title);
    note_draw(&c, a.step, m, height - m);
    text_at(&c, MHV_ROLE_TICK, x0, y0 - a.key_h - pad - 4 * k - adesc, apx, 0, TICK, key_axis);
    text_at(&c, MHV_ROLE_TICK, m + aasc, y0 + text_w(&c, query_axis, apx), apx, 1, TICK,
            query_axis);
    axes_draw(&c, &ra, R, &a, n, x0, y0, y0, cell, 1, 1);
    matrix_draw(&c, p, t, w, R, n, x0, y0, cell);
    boundary_draw(&c, in, R, n, x0, y0, cell);
    highlight_draw(&c, in, R, n, x0, y0, cell);
    cbar_draw(&c, p, &g, x0 + mat + 14 * k, y0, cbh, vmax, caption);

    meta_common(out, p, in, title ? title : dflt);
    rows_axes_free(in, &ra);
    axes_free(&a);
    free(t);
    return MHV_OK;
}

mhv_status mhv_render_head(const mhv_render_params *p, mhv_fontset *fs, const mhv_fig_input *in,
                           const mhv_head_attn *h, mhv_scene *out, mhv_error *err)
{
    static const char KEY[] = "key \xE2\x86\x92", QUERY[] = "\xE2\x86\x90 query"; /* "→", "←" (down once turned) */
    char dflt[600];
    head_title(in, h, dflt, sizeof dflt);
    mhv_status st = map_scene(p, fs, in, h->w, dflt, KEY, QUERY, out, err);
    if (st)
        return st;
    char buf[32];
    snprintf(buf, sizeof buf, "%d", h->layer);
    mhv_scene_meta(out, "Layer", buf);
    if (in->aggregate) {
        mhv_scene_meta(out, "Aggregate", in->aggregate);
    } else {
        snprintf(buf, sizeof buf, "%d", h->head);
        mhv_scene_meta(out, "Head", buf);
    }
    return finish(out, err);
}

mhv_status mhv_render_contacts(const mhv_render_params *p, mhv_fontset *fs,
                               const mhv_fig_input *in, const float *w, mhv_scene *out,
                               mhv_error *err)
{
    static const char COL[] = "residue \xE2\x86\x92", ROW[] = "\xE2\x86\x90 residue";
    char dflt[600];
    snprintf(dflt, sizeof dflt, "%s \xE2\x80\x94 contacts predicted from attention (ESM "
             "contact head)", in->model ? in->model : "");
    mhv_render_params q = *p;
    q.quantity = "contact probability";
    mhv_status st = map_scene(&q, fs, in, w, dflt, COL, ROW, out, err);
    if (st)
        return st;
    mhv_scene_meta(out, "Contacts", "EsmContactPredictionHead (Rao et al. 2020)");
    return finish(out, err);
}

/* Grid columns for k panels: near square, never taller than wide nor more than twice as
 * wide as tall, with the fewest empty slots (8 heads: 4 x 2, not 3 x 3 with a hole). */
int mhv_fig_grid_cols(int k)
{
    int c0 = 1;
    while (c0 * c0 < k)
        c0++;
    int best = c0, best_empty = c0 * ((k + c0 - 1) / c0) - k;
    for (int c = c0 + 1; c <= k; c++) {
        int rows = (k + c - 1) / c, empty = c * rows - k;
        if (c > 2 * rows)
            break;
        if (empty < best_empty) {
            best = c;
            best_empty = empty;
        }
    }
    return best;
}

mhv_status mhv_render_layer(const mhv_render_params *p, mhv_fontset *fs,
                            const mhv_fig_input *in, const mhv_attn *at, int layer,
                            mhv_scene *out, mhv_error *err)
{
    int n = in->n, R = rows_of(in), first = -1, cnt = 0;
    for (int i = 0; i < at->count; i++)
        if (at->heads[i].layer == layer) {
            if (first < 0)
                first = i;
            cnt++;
        }
    mhv_scene_init(out, 0, 0);
    if (cnt == 0)
        return mhv_fail(err, MHV_EUSAGE, "", "layer %d has no captured heads", layer);
    float k = scale_of(p);
    int base = p->cell > 0 ? p->cell : mhv_render_default_cell(n);
    /* panels at half the single-head cell: a 12-head grid of 30 tokens is about a page wide
     * (4 x 240 px), where 60% made it 16 inches and five times the pixels of one head */
    float cell = fmaxf(2.0f, roundf((float)base * 0.5f)) * k;
    ctx c = ctx_of(p, out, fs);
    axes a = {0}, ra;
    float *t = malloc(((size_t)R * (size_t)n + 1) * sizeof *t);
    if (!t || axes_make(&c, in, cell, &a)) {
        free(t);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    if (rows_axes(&c, in, cell, &a, &ra)) {
        axes_free(&a);
        free(t);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    int cols = mhv_fig_grid_cols(cnt), rows = (cnt + cols - 1) / cols;
    char dflt[600];
    snprintf(dflt, sizeof dflt, "%s \xE2\x80\x94 layer %d", in->model ? in->model : "", layer);
    rows_title(in, dflt, sizeof dflt);
    gen_title(in, dflt, sizeof dflt);
    const char *title = title_of(p, dflt);
    float m = 12 * k, tpx = 14 * k * c.fk, ppx = 11 * k * c.fk, tasc, tdesc, pasc, pdesc;
    mhv_font_vmetrics(fs, tpx, &tasc, &tdesc);
    mhv_font_vmetrics(fs, ppx, &pasc, &pdesc);
    const char *caption = caption_of(p, 0);
    cbar_geom g = cbar_measure(&c, 1.0f, caption);
    float mat = (float)n * cell, math = (float)R * cell, gap = 14 * k;
    float ptitle = pasc + pdesc + 4 * k;
    float left = m + ra.max_w + 4 * k;
    float top = m + (title ? tasc + tdesc + 8 * k : 0);
    float keys = a.key_h + 4 * k;   /* key labels under the first row's titles */
    float gw = (float)cols * mat + (float)(cols - 1) * gap;
    float gh = keys + (float)rows * (math + ptitle) + (float)(rows - 1) * gap;
    float width = left + gw + 16 * k + g.width + m;
    if (title)
        width = fmaxf(width, m + text_w(&c, title, tpx) + m);
    float nh = note_h(&c, a.step);
    out->width = side(width);
    out->height = side(top + fmaxf(gh, 120 * k) + nh + m);

    if (title)
        text_at(&c, MHV_ROLE_TITLE, m, m + tasc, tpx, 0, INK, title);
    note_draw(&c, a.step, m, (float)out->height - m);
    for (int q = 0; q < cnt; q++) {
        const mhv_head_attn *h = &at->heads[first + q];
        int r = q / cols, col = q % cols;
        float px0 = left + (float)col * (mat + gap);
        float py0 = top + ptitle + keys + (float)r * (math + ptitle + gap);
        float ty = py0 - (r == 0 ? keys : 0) - 4 * k - pdesc;
        char pt[48];
        if (in->kv_group > 0)
            snprintf(pt, sizeof pt, "head %d (kv %d)", h->head, h->head / in->kv_group);
        else
            snprintf(pt, sizeof pt, "head %d", h->head);
        text_at(&c, MHV_ROLE_TITLE, px0, ty, ppx, 0, INK, pt);
        norm_rows(p, in, in->causal, h->w, R, n, t);
        matrix_draw(&c, p, t, NULL, R, n, px0, py0, cell);
        boundary_draw(&c, in, R, n, px0, py0, cell);
        /* shared axes: rows on the first column, keys on the first row */
        axes_draw(&c, &ra, R, &a, n, px0, py0, py0, cell, col == 0, r == 0);
    }
    cbar_draw(&c, p, &g, left + gw + 16 * k, top + ptitle + keys,
              fmaxf(gh - ptitle - keys, 120 * k), 1.0f, caption);
    meta_common(out, p, in, title ? title : dflt);
    char buf[32];
    snprintf(buf, sizeof buf, "%d", layer);
    mhv_scene_meta(out, "Layer", buf);
    rows_axes_free(in, &ra);
    axes_free(&a);
    free(t);
    return finish(out, err);
}

mhv_status mhv_render_model(const mhv_render_params *p, mhv_fontset *fs,
                            const mhv_fig_input *in, const mhv_attn *at, mhv_scene *out,
                            mhv_error *err)
{
    int n = in->n, R = rows_of(in), H = in->num_heads > 0 ? in->num_heads : 1;
    mhv_scene_init(out, 0, 0);
    float k = scale_of(p);
    /* thumbnails of about 80 CSS px, whole pixels per cell */
    float cell = fmaxf(1.0f, floorf(80.0f / (float)n)) * k;
    ctx c = ctx_of(p, out, fs);
    float *t = malloc(((size_t)R * (size_t)n + 1) * sizeof *t);
    if (!t)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    int layers[1024], nl = 0;
    for (int i = 0; i < at->count; i++)
        if ((nl == 0 || layers[nl - 1] != at->heads[i].layer) && nl < 1024)
            layers[nl++] = at->heads[i].layer;
    char dflt[600];
    snprintf(dflt, sizeof dflt, "%s \xE2\x80\x94 all captured heads",
             in->model ? in->model : "");
    rows_title(in, dflt, sizeof dflt);
    gen_title(in, dflt, sizeof dflt);
    const char *title = title_of(p, dflt);
    float m = 12 * k, tpx = 14 * k * c.fk, lpx = 10 * k * c.fk, tasc, tdesc, lasc, ldesc;
    mhv_font_vmetrics(fs, tpx, &tasc, &tdesc);
    mhv_font_vmetrics(fs, lpx, &lasc, &ldesc);
    const char *caption = caption_of(p, 0);
    cbar_geom g = cbar_measure(&c, 1.0f, caption);
    float thumb = (float)n * cell, thumbh = (float)R * cell, gap = 5 * k;
    float lw = text_w(&c, "L000", lpx);
    float left = m + lw + 6 * k;
    float top = m + (title ? tasc + tdesc + 8 * k : 0) + lasc + ldesc + 4 * k;
    float gw = (float)H * thumb + (float)(H - 1) * gap;
    float gh = (float)nl * thumbh + (float)(nl - 1) * gap;
    out->width = side(fmaxf(left + gw + 16 * k + g.width + m,
                                  title ? m + text_w(&c, title, tpx) + m : 0));
    out->height = side(top + fmaxf(gh, 120 * k) + note_h(&c, 1) + m);

    if (title)
        text_at(&c, MHV_ROLE_TITLE, m, m + tasc, tpx, 0, INK, title);
    note_draw(&c, 1, m, (float)out->height - m);
    char buf[32];
    for (int hh = 0; hh < H; hh++) {
        snprintf(buf, sizeof buf, "H%d", hh);
        float x = left + (float)hh * (thumb + gap) + (thumb - text_w(&c, buf, lpx)) / 2;
        text_at(&c, MHV_ROLE_TICK, x, top - 4 * k - ldesc, lpx, 0, TICK, buf);
    }
    for (int r = 0; r < nl; r++) {
        float y = top + (float)r * (thumbh + gap);
        snprintf(buf, sizeof buf, "L%d", layers[r]);
        text_at(&c, MHV_ROLE_TICK, left - 6 * k - text_w(&c, buf, lpx),
                y + thumbh / 2 + (lasc - ldesc) / 2, lpx, 0, TICK, buf);
        for (int hh = 0; hh < H; hh++) {
            float x = left + (float)hh * (thumb + gap);
            const mhv_head_attn *h = NULL;
            for (int i = 0; i < at->count; i++)
                if (at->heads[i].layer == layers[r] && at->heads[i].head == hh)
                    h = &at->heads[i];
            if (!h) { /* not captured: an empty frame keeps the columns aligned */
                mhv_scene_rect(out, MHV_ROLE_OTHER, x, y, thumb, thumbh, FRAME);
                mhv_scene_rect(out, MHV_ROLE_OTHER, x + k, y + k, thumb - 2 * k, fmaxf(0, thumbh - 2 * k),
                               (const uint8_t[3]){255, 255, 255});
                continue;
            }
            norm_rows(p, in, in->causal, h->w, R, n, t);
            matrix_draw(&c, p, t, NULL, R, n, x, y, cell);
        }
    }
    cbar_draw(&c, p, &g, left + gw + 16 * k, top, fmaxf(gh, 120 * k), 1.0f, caption);
    meta_common(out, p, in, title ? title : dflt);
    free(t);
    return finish(out, err);
}

/* ---- shared with the line and row views (render_internal.h) -------------------------- */

const uint8_t mhv_fig_ink[3] = {0x22, 0x22, 0x22};
const uint8_t mhv_fig_tick[3] = {0x44, 0x44, 0x44};

float mhv_fig_label_width(mhv_fontset *fs, const mhv_label *l, float px)
{
    ctx c = {NULL, fs, 1, 1, 0, NULL};
    return label_width(&c, l, px);
}

void mhv_fig_label_draw(mhv_scene *s, mhv_fontset *fs, const mhv_label *l, float x, float y,
                        float px, int rot)
{
    ctx c = {s, fs, 1, 1, 0, NULL};
    label_draw(&c, l, x, y, px, rot);
}

void mhv_fig_head_title(const mhv_fig_input *in, const mhv_head_attn *h, char *t, size_t size)
{
    head_title(in, h, t, size);
}

const char *mhv_fig_title_of(const mhv_render_params *p, const char *dflt)
{
    return title_of(p, dflt);
}

void mhv_fig_meta(mhv_scene *s, const mhv_render_params *p, const mhv_fig_input *in,
                  const char *title)
{
    meta_common(s, p, in, title);
}

void mhv_fig_rows_title(const mhv_fig_input *in, char *t, size_t size)
{
    rows_title(in, t, size);
}

void mhv_fig_note(mhv_scene *s, mhv_fontset *fs, const mhv_render_params *p, int step,
                  float x, float bottom)
{
    ctx c = ctx_of(p, s, fs);
    note_draw(&c, step, x, bottom);
}

float mhv_fig_note_h(mhv_fontset *fs, const mhv_render_params *p, int step)
{
    ctx c = ctx_of(p, NULL, fs);
    return note_h(&c, step);
}

mhv_status mhv_fig_finish(mhv_scene *s, mhv_error *err)
{
    return finish(s, err);
}

int mhv_fig_one_wide_char(const mhv_label *l)
{
    return one_wide_char(l);
}

float mhv_fig_cbar_width(const mhv_render_params *p, mhv_fontset *fs, float vmax,
                         const char *caption)
{
    ctx c = ctx_of(p, NULL, fs);
    return cbar_measure(&c, vmax, caption).width;
}

void mhv_fig_cbar(mhv_scene *s, const mhv_render_params *p, mhv_fontset *fs, float x, float y,
                  float h, float vmax, const char *caption)
{
    ctx c = ctx_of(p, s, fs);
    cbar_geom g = cbar_measure(&c, vmax, caption);
    cbar_draw(&c, p, &g, x, y, h, vmax, caption);
}
