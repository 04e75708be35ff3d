#include "fig/stats_fig.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fig/canvas.h"
#include "fig/colormap.h"
#include "fig/png_out.h"

#define PANELS_PER_ROW 4

/* Sizes of one figure in device px (CSS px times dpi / 96). */
typedef struct {
    float cell, gap, title_px, label_px, value_px, k;
    const mhv_stats_fig_params *p;
} geom;

static const uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255}, grey[3] = {235, 235, 235},
                     mid[3] = {120, 120, 120};

mhv_stats_fig_params mhv_stats_fig_default_params(void)
{
    return (mhv_stats_fig_params){.cmap = MHV_CMAP_VIRIDIS, .cell = 0, .dpi = 96};
}

/* Values are printed in cells of at least this many CSS px. */
#define VALUES_MIN_CELL 22

int mhv_stats_values_cell(const mhv_stats_fig_params *p)
{
    return p->cell > 0 && p->cell < VALUES_MIN_CELL ? VALUES_MIN_CELL : 0;
}

/* Relative luminance (WCAG 2) of an sRGB colour: which text colour reads on a cell. */
static float luminance(const uint8_t rgb[3])
{
    float l[3];
    for (int k = 0; k < 3; k++) {
        float v = rgb[k] / 255.0f;
        l[k] = v <= 0.04045f ? v / 12.92f : powf((v + 0.055f) / 1.055f, 2.4f);
    }
    return 0.2126f * l[0] + 0.7152f * l[1] + 0.0722f * l[2];
}

/* Abbreviations that fit a cell. */
static const char *short_kind(const char *k)
{
    if (strcmp(k, "positional-previous") == 0)
        return "prev";
    if (strcmp(k, "positional-next") == 0)
        return "next";
    return k;
}

static void text_centered(mhv_scene *s, mhv_fontset *fs, float cx, float base, float px,
                          const uint8_t rgb[3], const char *t)
{
    float w = mhv_font_width(fs, t, strlen(t), px);
    mhv_scene_text(s, MHV_ROLE_VALUE, cx - w / 2, base, px, 0, rgb, t, strlen(t));
}

/* One panel at (x, y): a title line, head numbers above, layer numbers left, the grid. */
static void panel(mhv_scene *s, mhv_fontset *fs, const mhv_stats_acc *acc, int stat, float x,
                  float y, const geom *g)
{
    int L = acc->num_layers, H = acc->num_heads;
    float CELL = g->cell, LABEL_PX = g->label_px, TITLE_PX = g->title_px, k = g->k;
    double top = 1.0;
    if (stat == MHV_STAT_ENTROPY || stat == MHV_STAT_DISTANCE ||
        (g->p->stretch && stat != MHV_STAT_COUNT)) {
        top = 0.0;
        for (int l = 0; l < L; l++)
            for (int h = 0; h < H; h++) {
                int ok;
                double v = mhv_stats_mean(acc, l, h, (mhv_stat)stat, &ok);
                if (ok && v > top)
                    top = v;
            }
        if (top <= 0)
            top = 1.0;
    }
    char title[96];
    if (stat == MHV_STAT_COUNT)
        snprintf(title, sizeof title, "kind");
    else if (stat == MHV_STAT_ENTROPY)
        snprintf(title, sizeof title, "entropy (bits, 0..%.2f)", top);
    else if (stat == MHV_STAT_DISTANCE)
        snprintf(title, sizeof title, "distance (%s, 0..%.2f)",
                 acc->audio ? "frames" : acc->patch_grid ? "patches" : "tokens", top);
    else
        snprintf(title, sizeof title, "mass on %s (0..%.2g)", mhv_stat_name((mhv_stat)stat), top);
    mhv_scene_text(s, MHV_ROLE_TITLE, x, y + TITLE_PX, TITLE_PX, 0, black, title, strlen(title));
    float gx = x + 2 * LABEL_PX, gy = y + TITLE_PX + 8 * k + LABEL_PX + 4 * k;
    for (int h = 0; h < H; h++) {
        char b[16];
        snprintf(b, sizeof b, "%d", h);
        text_centered(s, fs, gx + ((float)h + 0.5f) * CELL, gy - 4 * k, LABEL_PX, mid, b);
    }
    int values = CELL >= VALUES_MIN_CELL * k;
    for (int l = 0; l < L; l++) {
        char b[16];
        snprintf(b, sizeof b, "%d", l);
        text_centered(s, fs, x + LABEL_PX, gy + ((float)l + 0.5f) * CELL + LABEL_PX / 3,
                      LABEL_PX, mid, b);
        for (int h = 0; h < H; h++) {
            float cx = gx + (float)h * CELL, cy = gy + (float)l * CELL;
            char b2[16];
            if (stat == MHV_STAT_COUNT) {
                mhv_scene_rect(s, MHV_ROLE_CELL, cx, cy, CELL - k, CELL - k, grey);
                if (values)
                    text_centered(s, fs, cx + CELL / 2, cy + CELL / 2 + LABEL_PX / 3,
                                  g->value_px * 8.0f / 9.0f, black,
                                  short_kind(mhv_stats_kind(acc, l, h)));
                continue;
            }
            int ok;
            double v = mhv_stats_mean(acc, l, h, (mhv_stat)stat, &ok);
            if (!ok) {
                mhv_scene_rect(s, MHV_ROLE_CELL, cx, cy, CELL - k, CELL - k, grey);
                continue;
            }
            float t = (float)(v / top);
            uint8_t rgb[3];
            mhv_cmap_rgb(g->p->cmap, t, rgb);
            mhv_scene_rect(s, MHV_ROLE_CELL, cx, cy, CELL - k, CELL - k, rgb);
            if (!values)
                continue;
            snprintf(b2, sizeof b2, v >= 10 ? "%.0f" : "%.2f", v);
            if (v < 10 && b2[0] == '0')
                memmove(b2, b2 + 1, strlen(b2)); /* ".42": fits the cell */
            /* the text colour with the higher WCAG contrast against the cell */
            float Lm = luminance(rgb);
            text_centered(s, fs, cx + CELL / 2, cy + CELL / 2 + LABEL_PX / 3, g->value_px,
                          (Lm + 0.05f) / 0.05f > 1.05f / (Lm + 0.05f) ? black : white, b2);
        }
    }
}

mhv_status mhv_stats_scene(const mhv_stats_acc *acc, const char *title,
                           const mhv_stats_fig_params *p, mhv_fontset *fs, mhv_scene *out,
                           mhv_error *err)
{
    mhv_stats_fig_params dflt = mhv_stats_fig_default_params();
    if (!p)
        p = &dflt;
    float k = (p->dpi > 0 ? (float)p->dpi : 96.0f) / 96.0f;
    float fk = p->font_px > 0 ? (float)p->font_px / 10.0f : 1.0f;
    geom g = {(float)(p->cell > 0 ? p->cell : 30) * k, 28 * k, 13 * k * fk, 10 * k * fk,
              fminf(9 * k * fk, (float)(p->cell > 0 ? p->cell : 30) * k * 0.36f), k, p};
    int L = acc->num_layers, H = acc->num_heads;
    int panels = MHV_STAT_COUNT + 1, cols = PANELS_PER_ROW, rows = (panels + cols - 1) / cols;
    float pw = 2 * g.label_px + (float)H * g.cell, ph = g.title_px + 12 * k + g.label_px + (float)L * g.cell;
    if (pw < 190 * k * fk)
        pw = 190 * k * fk; /* room for the longest panel title */
    if (p->no_title)
        title = NULL;
    float head = title ? g.title_px + g.gap : 0;
    float W = g.gap + (float)cols * (pw + g.gap), Ht = g.gap + head + (float)rows * (ph + g.gap);
    if (title)
        W = fmaxf(W, 2 * g.gap + mhv_font_width(fs, title, strlen(title), g.title_px + 2 * k));
    if (W > 30000 || Ht > 30000)
        return mhv_fail(err, MHV_EUSAGE, "", "%d x %d heads are too many to draw", L, H);
    mhv_scene_init(out, (int)ceilf(W), (int)ceilf(Ht));
    if (title)
        mhv_scene_text(out, MHV_ROLE_TITLE, g.gap, g.gap, g.title_px + 2 * k, 0, black, title,
                       strlen(title));
    for (int q = 0; q < panels; q++) {
        float x = g.gap + (float)(q % cols) * (pw + g.gap);
        float y = g.gap + head + (float)(q / cols) * (ph + g.gap);
        panel(out, fs, acc, q, x, y, &g);
    }
    mhv_scene_meta(out, "Title", title ? title : "");
    mhv_status st = mhv_scene_check(out, err);
    if (st)
        mhv_scene_free(out);
    return st;
}

mhv_status mhv_stats_png(FILE *f, const char *name, const mhv_stats_acc *acc, const char *title,
                         const mhv_stats_fig_params *p, mhv_fontset *fs, mhv_error *err)
{
    mhv_scene s;
    mhv_status st = mhv_stats_scene(acc, title, p, fs, &s, err);
    if (st)
        return st;
    mhv_canvas c;
    if (!(st = mhv_canvas_new(s.width, s.height, &c, err))) {
        if (!(st = mhv_canvas_draw(&c, &s, fs, err)))
            st = mhv_png_write(f, name, &c, &s, p && p->dpi > 0 ? p->dpi : 96, err);
        mhv_canvas_free(&c);
    }
    mhv_scene_free(&s);
    return st;
}
