#include "fig/stats_fig.h"

#include <stdio.h>
#include <string.h>

#include "fig/canvas.h"
#include "fig/colormap.h"
#include "fig/png_out.h"

#define CELL 30.0f     /* px per grid cell */
#define GAP 28.0f      /* between panels */
#define TITLE_PX 13.0f
#define LABEL_PX 10.0f
#define PANELS_PER_ROW 4

static const uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255}, grey[3] = {235, 235, 235},
                     mid[3] = {120, 120, 120};

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
                  float y)
{
    int L = acc->num_layers, H = acc->num_heads;
    double top = 1.0;
    if (stat == MHV_STAT_ENTROPY || stat == MHV_STAT_DISTANCE) {
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
        snprintf(title, sizeof title, "distance (tokens, 0..%.2f)", top);
    else
        snprintf(title, sizeof title, "mass on %s (0..1)", mhv_stat_name((mhv_stat)stat));
    mhv_scene_text(s, MHV_ROLE_TITLE, x, y + TITLE_PX, TITLE_PX, 0, black, title, strlen(title));
    float gx = x + 2 * LABEL_PX, gy = y + TITLE_PX + 8 + LABEL_PX + 4;
    for (int h = 0; h < H; h++) {
        char b[16];
        snprintf(b, sizeof b, "%d", h);
        text_centered(s, fs, gx + (h + 0.5f) * CELL, gy - 4, LABEL_PX, mid, b);
    }
    for (int l = 0; l < L; l++) {
        char b[16];
        snprintf(b, sizeof b, "%d", l);
        text_centered(s, fs, x + LABEL_PX, gy + (l + 0.5f) * CELL + LABEL_PX / 3, LABEL_PX, mid,
                      b);
        for (int h = 0; h < H; h++) {
            float cx = gx + (float)h * CELL, cy = gy + (float)l * CELL;
            char b2[16];
            if (stat == MHV_STAT_COUNT) {
                mhv_scene_rect(s, MHV_ROLE_CELL, cx, cy, CELL - 1, CELL - 1, grey);
                text_centered(s, fs, cx + CELL / 2, cy + CELL / 2 + LABEL_PX / 3, 8.0f, black,
                              short_kind(mhv_stats_kind(acc, l, h)));
                continue;
            }
            int ok;
            double v = mhv_stats_mean(acc, l, h, (mhv_stat)stat, &ok);
            if (!ok) {
                mhv_scene_rect(s, MHV_ROLE_CELL, cx, cy, CELL - 1, CELL - 1, grey);
                continue;
            }
            float t = (float)(v / top);
            uint8_t rgb[3];
            mhv_cmap_rgb(MHV_CMAP_VIRIDIS, t, rgb);
            mhv_scene_rect(s, MHV_ROLE_CELL, cx, cy, CELL - 1, CELL - 1, rgb);
            /* viridis is dark below ~0.6: white text there */
            snprintf(b2, sizeof b2, v >= 10 ? "%.0f" : "%.2f", v);
            if (v < 10 && b2[0] == '0')
                memmove(b2, b2 + 1, strlen(b2)); /* ".42": fits the cell */
            text_centered(s, fs, cx + CELL / 2, cy + CELL / 2 + LABEL_PX / 3, 9.0f,
                          t < 0.6f ? white : black, b2);
        }
    }
}

mhv_status mhv_stats_scene(const mhv_stats_acc *acc, const char *title, mhv_fontset *fs,
                           mhv_scene *out, mhv_error *err)
{
    int L = acc->num_layers, H = acc->num_heads;
    int panels = MHV_STAT_COUNT + 1, cols = PANELS_PER_ROW, rows = (panels + cols - 1) / cols;
    float pw = 2 * LABEL_PX + (float)H * CELL, ph = TITLE_PX + 12 + LABEL_PX + (float)L * CELL;
    if (pw < 190)
        pw = 190; /* room for the longest panel title */
    float W = GAP + (float)cols * (pw + GAP), Ht = 2 * GAP + TITLE_PX + (float)rows * (ph + GAP);
    if (W > 30000 || Ht > 30000)
        return mhv_fail(err, MHV_EUSAGE, "", "%d x %d heads are too many to draw", L, H);
    mhv_scene_init(out, (int)W, (int)Ht);
    mhv_scene_text(out, MHV_ROLE_TITLE, GAP, GAP, TITLE_PX + 2, 0, black, title, strlen(title));
    for (int p = 0; p < panels; p++) {
        float x = GAP + (float)(p % cols) * (pw + GAP);
        float y = 2 * GAP + TITLE_PX + (float)(p / cols) * (ph + GAP);
        panel(out, fs, acc, p, x, y);
    }
    mhv_scene_meta(out, "Title", title);
    mhv_status st = mhv_scene_check(out, err);
    if (st)
        mhv_scene_free(out);
    return st;
}

mhv_status mhv_stats_png(FILE *f, const char *name, const mhv_stats_acc *acc, const char *title,
                         mhv_fontset *fs, mhv_error *err)
{
    mhv_scene s;
    mhv_status st = mhv_stats_scene(acc, title, fs, &s, err);
    if (st)
        return st;
    mhv_canvas c;
    if (!(st = mhv_canvas_new(s.width, s.height, &c, err))) {
        if (!(st = mhv_canvas_draw(&c, &s, fs, err)))
            st = mhv_png_write(f, name, &c, &s, 96, err);
        mhv_canvas_free(&c);
    }
    mhv_scene_free(&s);
    return st;
}
