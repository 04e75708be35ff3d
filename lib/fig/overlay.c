/* overlay.c - a query's attention over the patches drawn on the picture (see overlay.h). */
#include "fig/overlay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fig/render_internal.h"

static const uint8_t FRAME_DARK[3] = {0x00, 0x00, 0x00}, FRAME_LIGHT[3] = {0xff, 0xff, 0xff};

static float scale_of(const mhv_render_params *p)
{
    return (p->dpi > 0 ? (float)p->dpi : 96.0f) / 96.0f;
}

static float font_k(const mhv_render_params *p)
{
    return p->font_px > 0 ? (float)p->font_px / 11.0f : 1.0f;
}

static void text(mhv_scene *s, mhv_role role, float x, float y, float px,
                 const uint8_t rgb[3], const char *t)
{
    mhv_scene_text(s, role, x, y, px, 0, rgb, t, strlen(t));
}

static float text_w(mhv_fontset *fs, const char *t, float px)
{
    return mhv_font_width(fs, t, strlen(t), px);
}

static int side(float v)
{
    return (int)ceilf(v);
}

/* The displayed size *sw x *sh of im's picture: whole pixels magnified until its longer
 * side is at least `target` CSS px, so a small model's patches are not specks. */
static void shown_size(const mhv_render_params *p, const mhv_overlay_input *im, int target,
                       float *sw, float *sh)
{
    int size = im->width > im->height ? im->width : im->height;
    int zoom = size >= target ? 1 : (target + size - 1) / size;
    *sw = (float)(im->width * zoom) * scale_of(p);
    *sh = (float)(im->height * zoom) * scale_of(p);
}

void mhv_overlay_blend(const mhv_overlay_input *im, mhv_cmap cmap, const float *weights,
                       float vmax, uint8_t *rgb)
{
    int W = im->width, P = im->patch;
    for (int y = 0; y < im->height; y++)
        for (int x = 0; x < W; x++) {
            int r = y / P, c = x / P;
            float t = r < im->rows && c < im->cols && vmax > 0 ? weights[r * im->cols + c] / vmax
                                                               : 0;
            uint8_t tint[3];
            mhv_cmap_rgb(cmap, t < 0 ? 0 : t > 1 ? 1 : t, tint);
            size_t at = ((size_t)y * (size_t)W + (size_t)x) * 3;
            for (int ch = 0; ch < 3; ch++)
                rgb[at + ch] = (uint8_t)lround((1 - MHV_OVERLAY_ALPHA) * im->rgb[at + ch] +
                                               MHV_OVERLAY_ALPHA * tint[ch]);
        }
}

/* The largest weight of row w(n,) on a patch. */
static float patch_max(const mhv_overlay_input *im, const float *row)
{
    float top = 0;
    for (int t = 0; t < im->rows * im->cols; t++)
        top = fmaxf(top, row[im->extra + t]);
    return top;
}

/* The query patch framed (black outside white, seen on any colour), when it is a patch, on
 * the picture shown at (x0, y0) as sw wide. */
static void query_frame(mhv_scene *s, const mhv_overlay_input *im, float x0, float y0,
                        float sw, float k)
{
    int q = im->query - im->extra;
    if (q < 0)
        return;
    /* (the width in patches is exact when they fill it) */
    float cell = sw / ((float)im->width / (float)im->patch), th = fmaxf(1.0f, 1.5f * k);
    float x = x0 + (float)(q % im->cols) * cell, y = y0 + (float)(q / im->cols) * cell;
    const uint8_t *rgb[2] = {FRAME_DARK, FRAME_LIGHT};
    for (int i = 0; i < 2; i++) {
        float d = (float)i * th, w = cell - 2 * d;
        mhv_scene_rect(s, MHV_ROLE_HIGHLIGHT, x + d, y + d, w, th, rgb[i]);
        mhv_scene_rect(s, MHV_ROLE_HIGHLIGHT, x + d, y + d + w - th, w, th, rgb[i]);
        mhv_scene_rect(s, MHV_ROLE_HIGHLIGHT, x + d, y + d + th, th, w - 2 * th, rgb[i]);
        mhv_scene_rect(s, MHV_ROLE_HIGHLIGHT, x + d + w - th, y + d + th, th, w - 2 * th,
                       rgb[i]);
    }
}

static const char POOL_NAME[] = "the pooling probe";

static const char *query_name(const mhv_overlay_input *im)
{
    return im->query < 0 ? POOL_NAME : im->names[im->query];
}

/* The drawn row of h: the query's, or the pooling probe's only row. */
static const float *row_of(const mhv_overlay_input *im, const mhv_fig_input *in,
                           const mhv_head_attn *h)
{
    return im->query < 0 ? h->w : h->w + (size_t)im->query * (size_t)in->n;
}

/* "query [CLS]; on [CLS] 0.12, [DIST] 0.03": the row's weights off the picture. */
static void off_picture_note(const mhv_overlay_input *im, const float *row, char *buf,
                             size_t size)
{
    size_t len = (size_t)snprintf(buf, size, im->query < 0 ? "query: %s" : "query %s",
                                  query_name(im));
    for (int i = 0; i < im->extra && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s %s %.3f", i ? "," : "; weight on",
                                im->names[i], (double)row[i]);
}

mhv_status mhv_render_overlay(const mhv_render_params *p, mhv_fontset *fs,
                              const mhv_fig_input *in, const mhv_overlay_input *im,
                              const mhv_head_attn *h, mhv_scene *out, mhv_error *err)
{
    mhv_scene_init(out, 0, 0);
    const float *row = row_of(im, in, h);
    float top = patch_max(im, row);
    /* actual weights on the bar, unless they are too small for its ticks (0.01 apart) */
    int fixed = p->scale == MHV_SCALE_FIXED, relative = !fixed && top < 0.01f;
    float vmax = fixed ? 1.0f : top > 0 ? top : 1.0f;
    char caption[64];
    if (relative)
        snprintf(caption, sizeof caption, "weight / largest (%.2g)", (double)top);
    else
        snprintf(caption, sizeof caption, "%s", p->quantity ? p->quantity : "attention weight");
    float bar_max = relative ? 1.0f : vmax;

    float k = scale_of(p), fk = font_k(p), m = 12 * k;
    float tpx = 14 * k * fk, npx = 10 * k * fk, ta, td, na, nd;
    mhv_font_vmetrics(fs, tpx, &ta, &td);
    mhv_font_vmetrics(fs, npx, &na, &nd);
    char dflt[600], note[256];
    if (im->query < 0)
        snprintf(dflt, sizeof dflt, "%s \xE2\x80\x94 attention pooling, head %d",
                 in->model ? in->model : "", h->head);
    else
        mhv_fig_head_title(in, h, dflt, sizeof dflt);
    const char *title = mhv_fig_title_of(p, dflt);
    off_picture_note(im, row, note, sizeof note);
    float sw, sh, cbw = mhv_fig_cbar_width(p, fs, bar_max, caption);
    shown_size(p, im, 224, &sw, &sh);
    float x0 = m, y0 = m + (title ? ta + td + 8 * k : 0);
    float width = x0 + sw + 14 * k + cbw + m;
    width = fmaxf(width, m + text_w(fs, note, npx) + m);
    if (title)
        width = fmaxf(width, m + text_w(fs, title, tpx) + m);
    out->width = side(width);
    out->height = side(y0 + sh + 6 * k + na + nd + m);

    uint8_t *rgb = malloc((size_t)im->width * (size_t)im->height * 3);
    if (!rgb)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    mhv_overlay_blend(im, p->cmap, row + im->extra, vmax, rgb);
    if (title)
        text(out, MHV_ROLE_TITLE, m, m + ta, tpx, mhv_fig_ink, title);
    mhv_scene_image(out, MHV_ROLE_IMAGE, x0, y0, sw, sh, rgb, im->width, im->height);
    free(rgb);
    query_frame(out, im, x0, y0, sw, k);
    mhv_fig_cbar(out, p, fs, x0 + sw + 14 * k, y0, sh, bar_max, caption);
    text(out, MHV_ROLE_TICK, x0, y0 + sh + 6 * k + na, npx, mhv_fig_tick, note);

    mhv_fig_meta(out, p, in, title ? title : dflt);
    char buf[32];
    if (im->query >= 0) {
        snprintf(buf, sizeof buf, "%d", h->layer);
        mhv_scene_meta(out, "Layer", buf);
    }
    if (in->aggregate) {
        mhv_scene_meta(out, "Aggregate", in->aggregate);
    } else {
        snprintf(buf, sizeof buf, "%d", h->head);
        mhv_scene_meta(out, "Head", buf);
    }
    mhv_scene_meta(out, "Query", query_name(im));
    return mhv_fig_finish(out, err);
}

mhv_status mhv_render_overlay_layer(const mhv_render_params *p, mhv_fontset *fs,
                                    const mhv_fig_input *in, const mhv_overlay_input *im,
                                    const mhv_attn *a, int layer, mhv_scene *out,
                                    mhv_error *err)
{
    mhv_scene_init(out, 0, 0);
    int first = -1, cnt = 0;
    for (int i = 0; i < a->count; i++)
        if (a->heads[i].layer == layer) {
            first = first < 0 ? i : first;
            cnt++;
        }
    if (cnt == 0)
        return mhv_fail(err, MHV_EUSAGE, "", "layer %d has no captured heads", layer);
    int fixed = p->scale == MHV_SCALE_FIXED;
    const char *caption = fixed ? (p->quantity ? p->quantity : "attention weight")
                                : "weight / head's largest";
    float k = scale_of(p), fk = font_k(p), m = 12 * k, gap = 14 * k;
    float tpx = 14 * k * fk, ppx = 11 * k * fk, npx = 10 * k * fk, ta, td, pa, pd, na, nd;
    mhv_font_vmetrics(fs, tpx, &ta, &td);
    mhv_font_vmetrics(fs, ppx, &pa, &pd);
    mhv_font_vmetrics(fs, npx, &na, &nd);
    char dflt[600], note[256];
    if (im->query < 0)
        snprintf(dflt, sizeof dflt, "%s \xE2\x80\x94 attention pooling", in->model ? in->model : "");
    else
        snprintf(dflt, sizeof dflt, "%s \xE2\x80\x94 layer %d, query %s",
                 in->model ? in->model : "", layer, query_name(im));
    const char *title = mhv_fig_title_of(p, dflt);
    snprintf(note, sizeof note, "each picture: the attention of %s over the patches%s",
             query_name(im), fixed ? "" : ", over 0..its largest weight (in its caption)");
    float sw, sh, ptitle = pa + pd + 4 * k;
    shown_size(p, im, 160, &sw, &sh);
    int cols = mhv_fig_grid_cols(cnt), rows = (cnt + cols - 1) / cols;
    float top = m + (title ? ta + td + 8 * k : 0);
    float gw = (float)cols * sw + (float)(cols - 1) * gap;
    float gh = (float)rows * (ptitle + sh) + (float)(rows - 1) * gap;
    float cbw = mhv_fig_cbar_width(p, fs, 1.0f, caption);
    float width = m + gw + 16 * k + cbw + m;
    width = fmaxf(width, m + text_w(fs, note, npx) + m);
    if (title)
        width = fmaxf(width, m + text_w(fs, title, tpx) + m);
    out->width = side(width);
    out->height = side(top + gh + 6 * k + na + nd + m);

    uint8_t *rgb = malloc((size_t)im->width * (size_t)im->height * 3);
    if (!rgb)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (title)
        text(out, MHV_ROLE_TITLE, m, m + ta, tpx, mhv_fig_ink, title);
    for (int q = 0; q < cnt; q++) {
        const mhv_head_attn *h = &a->heads[first + q];
        const float *row = row_of(im, in, h);
        float hmax = patch_max(im, row), vmax = fixed ? 1.0f : hmax > 0 ? hmax : 1.0f;
        float x = m + (float)(q % cols) * (sw + gap);
        float y = top + (float)(q / cols) * (ptitle + sh + gap);
        char pt[64];
        if (fixed)
            snprintf(pt, sizeof pt, "head %d", h->head);
        else
            snprintf(pt, sizeof pt, "head %d (max %.3g)", h->head, (double)hmax);
        text(out, MHV_ROLE_TITLE, x, y + pa, ppx, mhv_fig_ink, pt);
        mhv_overlay_blend(im, p->cmap, row + im->extra, vmax, rgb);
        mhv_scene_image(out, MHV_ROLE_IMAGE, x, y + ptitle, sw, sh, rgb, im->width,
                        im->height);
        query_frame(out, im, x, y + ptitle, sw, k);
    }
    free(rgb);
    mhv_fig_cbar(out, p, fs, m + gw + 16 * k, top + ptitle, fmaxf(gh - ptitle, 120 * k), 1.0f,
                 caption);
    text(out, MHV_ROLE_TICK, m, top + gh + 6 * k + na, npx, mhv_fig_tick, note);
    mhv_fig_meta(out, p, in, title ? title : dflt);
    char buf[32];
    snprintf(buf, sizeof buf, "%d", layer);
    if (im->query >= 0)
        mhv_scene_meta(out, "Layer", buf);
    mhv_scene_meta(out, "Query", query_name(im));
    return mhv_fig_finish(out, err);
}

/* rgb(rows, cols, 3): each patch's mean colour of the picture tinted as mhv_overlay_blend
 * tints its pixels. */
static void blend_patches(const mhv_overlay_input *im, mhv_cmap cmap, const float *weights,
                          float vmax, uint8_t *rgb)
{
    int P = im->patch, W = im->width;
    for (int r = 0; r < im->rows; r++)
        for (int c = 0; c < im->cols; c++) {
            double mean[3] = {0, 0, 0};
            for (int y = r * P; y < (r + 1) * P && y < im->height; y++)
                for (int x = c * P; x < (c + 1) * P && x < W; x++)
                    for (int ch = 0; ch < 3; ch++)
                        mean[ch] += im->rgb[((size_t)y * (size_t)W + (size_t)x) * 3 + ch];
            float t = vmax > 0 ? weights[r * im->cols + c] / vmax : 0;
            uint8_t tint[3];
            mhv_cmap_rgb(cmap, t < 0 ? 0 : t > 1 ? 1 : t, tint);
            for (int ch = 0; ch < 3; ch++)
                rgb[((size_t)r * (size_t)im->cols + (size_t)c) * 3 + ch] =
                    (uint8_t)lround((1 - MHV_OVERLAY_ALPHA) * mean[ch] / ((double)P * P) +
                                    MHV_OVERLAY_ALPHA * tint[ch]);
        }
}

mhv_status mhv_render_overlay_model(const mhv_render_params *p, mhv_fontset *fs,
                                    const mhv_fig_input *in, const mhv_overlay_input *im,
                                    const mhv_attn *a, mhv_scene *out, mhv_error *err)
{
    mhv_scene_init(out, 0, 0);
    int H = in->num_heads, rows = 0;
    for (int k = 0; k < a->count; k++)
        rows += k == 0 || a->heads[k].layer != a->heads[k - 1].layer;
    if (rows == 0 || H < 1)
        return mhv_fail(err, MHV_EUSAGE, "", "no heads to draw");
    int fixed = p->scale == MHV_SCALE_FIXED;
    const char *caption = fixed ? (p->quantity ? p->quantity : "attention weight")
                                : "weight / head's largest";
    float k = scale_of(p), fk = font_k(p), m = 12 * k, gap = 4 * k, thumb = 64 * k;
    float tpx = 14 * k * fk, lpx = 10 * k * fk, ta, td, la, ld;
    mhv_font_vmetrics(fs, tpx, &ta, &td);
    mhv_font_vmetrics(fs, lpx, &la, &ld);
    char dflt[600];
    snprintf(dflt, sizeof dflt, "%s \xE2\x80\x94 every head, query %s",
             in->model ? in->model : "", query_name(im));
    const char *title = mhv_fig_title_of(p, dflt);
    float label_w = text_w(fs, "L00", lpx) + 6 * k;
    float top = m + (title ? ta + td + 8 * k : 0) + la + ld + 4 * k;
    float gw = (float)H * (thumb + gap) - gap, gh = (float)rows * (thumb + gap) - gap;
    float cbw = mhv_fig_cbar_width(p, fs, 1.0f, caption);
    float width = m + label_w + gw + 16 * k + cbw + m;
    if (title)
        width = fmaxf(width, m + text_w(fs, title, tpx) + m);
    out->width = side(width);
    out->height = side(top + fmaxf(gh, 120 * k) + m);
    uint8_t *rgb = malloc((size_t)im->rows * (size_t)im->cols * 3);
    if (!rgb)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (title)
        text(out, MHV_ROLE_TITLE, m, m + ta, tpx, mhv_fig_ink, title);
    /* a thumbnail of a grid that is not square: its longer side thumb, centred in its cell */
    int longer = im->rows > im->cols ? im->rows : im->cols;
    float tw = im->rows == im->cols ? thumb : thumb * (float)im->cols / (float)longer;
    float th = im->rows == im->cols ? thumb : thumb * (float)im->rows / (float)longer;
    float x0 = m + label_w;
    for (int h = 0; h < H; h++) {
        char b[16];
        snprintf(b, sizeof b, "H%d", h);
        text(out, MHV_ROLE_TICK, x0 + (float)h * (thumb + gap), top - 4 * k - ld, lpx,
             mhv_fig_tick, b);
    }
    for (int q = 0, r = -1; q < a->count; q++) {
        const mhv_head_attn *h = &a->heads[q];
        if (q == 0 || h->layer != a->heads[q - 1].layer) {
            r++;
            char b[16];
            snprintf(b, sizeof b, "L%d", h->layer);
            text(out, MHV_ROLE_TICK, m, top + (float)r * (thumb + gap) + thumb / 2 + la / 2,
                 lpx, mhv_fig_tick, b);
        }
        if (h->head < 0 || h->head >= H)
            continue;
        const float *row = row_of(im, in, h);
        float hmax = patch_max(im, row), vmax = fixed ? 1.0f : hmax > 0 ? hmax : 1.0f;
        blend_patches(im, p->cmap, row + im->extra, vmax, rgb);
        mhv_scene_image(out, MHV_ROLE_IMAGE, x0 + (float)h->head * (thumb + gap) + (thumb - tw) / 2,
                        top + (float)r * (thumb + gap) + (thumb - th) / 2, tw, th, rgb, im->cols,
                        im->rows);
    }
    free(rgb);
    mhv_fig_cbar(out, p, fs, x0 + gw + 16 * k, top, fmaxf(gh, 120 * k), 1.0f, caption);
    mhv_fig_meta(out, p, in, title ? title : dflt);
    mhv_scene_meta(out, "Query", query_name(im));
    return mhv_fig_finish(out, err);
}
