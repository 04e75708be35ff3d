#include "fig/canvas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIDE 32768

mhv_status mhv_canvas_new(int w, int h, mhv_canvas *c, mhv_error *err)
{
    c->w = c->h = 0;
    c->px = NULL;
    if (w <= 0 || h <= 0 || w > MAX_SIDE || h > MAX_SIDE)
        return mhv_fail(err, MHV_EUSAGE, "",
                        "figure of %d x %d pixels is too large (at most %d a side; smaller cells "
                        "or a lower dpi make it smaller)", w, h, MAX_SIDE);
    size_t n = (size_t)w * (size_t)h * 3;
    c->px = malloc(n);
    if (!c->px)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for a %d x %d figure", w, h);
    memset(c->px, 255, n);
    c->w = w;
    c->h = h;
    return MHV_OK;
}

void mhv_canvas_free(mhv_canvas *c)
{
    free(c->px);
    c->px = NULL;
    c->w = c->h = 0;
}

/* [a, b) of a span snapped to whole pixels and clipped to [0, max). */
static void snap(float pos, float len, int max, int *a, int *b)
{
    long lo = lrintf(pos), hi = lrintf(pos + len);
    *a = lo < 0 ? 0 : lo > max ? max : (int)lo;
    *b = hi < 0 ? 0 : hi > max ? max : (int)hi;
}

static void fill(mhv_canvas *c, const mhv_prim *p)
{
    int x0, x1, y0, y1;
    snap(p->x, p->w, c->w, &x0, &x1);
    snap(p->y, p->h, c->h, &y0, &y1);
    if (x0 >= x1 || y0 >= y1) /* empty after clipping: row0 would be outside the canvas */
        return;
    uint8_t *row0 = c->px + ((size_t)y0 * (size_t)c->w + (size_t)x0) * 3;
    for (int x = 0; x < x1 - x0; x++)
        memcpy(row0 + 3 * x, p->rgb, 3);
    /* rows of a cell are identical: copy the first */
    for (int y = y0 + 1; y < y1; y++)
        memcpy(c->px + ((size_t)y * (size_t)c->w + (size_t)x0) * 3, row0, (size_t)(x1 - x0) * 3);
}

static void hatch(mhv_canvas *c, const mhv_prim *p)
{
    int x0, x1, y0, y1;
    snap(p->x, p->w, c->w, &x0, &x1);
    snap(p->y, p->h, c->h, &y0, &y1);
    int pitch = (int)lrintf(p->aux);
    if (pitch < 3)
        pitch = 3;
    int thick = pitch / 4 > 0 ? pitch / 4 : 1;
    for (int y = y0; y < y1; y++) {
        uint8_t *r = c->px + ((size_t)y * (size_t)c->w) * 3;
        for (int x = x0; x < x1; x++)
            memcpy(r + 3 * x, (x + y) % pitch < thick ? p->rgb2 : p->rgb, 3);
    }
}

/* An image prim: each page pixel takes the image pixel under its centre (no smoothing). */
static void image(mhv_canvas *c, const mhv_scene *s, const mhv_prim *p)
{
    int x0, x1, y0, y1;
    snap(p->x, p->w, c->w, &x0, &x1);
    snap(p->y, p->h, c->h, &y0, &y1);
    const uint8_t *src = mhv_prim_pixels(s, p);
    double sx = (double)p->iw / (double)p->w, sy = (double)p->ih / (double)p->h;
    for (int y = y0; y < y1; y++) {
        long iy = lrint(floor(((double)y + 0.5 - (double)p->y) * sy));
        iy = iy < 0 ? 0 : iy >= p->ih ? p->ih - 1 : iy;
        uint8_t *d = c->px + ((size_t)y * (size_t)c->w) * 3;
        for (int x = x0; x < x1; x++) {
            long ix = lrint(floor(((double)x + 0.5 - (double)p->x) * sx));
            ix = ix < 0 ? 0 : ix >= p->iw ? p->iw - 1 : ix;
            memcpy(d + 3 * x, src + ((size_t)iy * p->iw + (size_t)ix) * 3, 3);
        }
    }
}

static void blend(uint8_t *d, const uint8_t rgb[3], unsigned a)
{
    for (int k = 0; k < 3; k++)
        d[k] = (uint8_t)((d[k] * (255 - a) + rgb[k] * a + 127) / 255);
}

/* An antialiased line: each pixel near the segment is covered by how much of it lies within
 * width/2 of the centre line (distance measured from the pixel centre), times the opacity.
 * Walks the major axis, so the cost is the line's length times its width. */
static void line(mhv_canvas *c, const mhv_prim *p)
{
    float x0 = p->x, y0 = p->y, x1 = p->w, y1 = p->h, hw = fmaxf(p->aux, 0.5f) / 2;
    float dx = x1 - x0, dy = y1 - y0, len = sqrtf(dx * dx + dy * dy);
    if (!(len > 0) || !(len < 1e6f))
        return;
    int steep = fabsf(dy) > fabsf(dx);
    float a0 = steep ? y0 : x0, a1 = steep ? y1 : x1, b0 = steep ? x0 : y0;
    float slope = steep ? dx / dy : dy / dx;
    float reach = hw * len / fmaxf(fabsf(steep ? dy : dx), 1e-6f) + 1.0f; /* across the axis */
    if (a1 < a0) {
        float t = a0;
        a0 = a1;
        a1 = t;
        b0 = steep ? (y0 < y1 ? x0 : x1) : (x0 < x1 ? y0 : y1);
    }
    int amax = steep ? c->h : c->w, bmax = steep ? c->w : c->h;
    int ia0 = (int)floorf(a0 - hw), ia1 = (int)ceilf(a1 + hw);
    for (int ia = ia0 < 0 ? 0 : ia0; ia < ia1 && ia < amax; ia++) {
        float ac = (float)ia + 0.5f;
        float at = fminf(fmaxf(ac, a0), a1);  /* butt ends: clamp along the segment */
        float bc = b0 + (at - a0) * slope;
        int ib0 = (int)floorf(bc - reach), ib1 = (int)ceilf(bc + reach);
        for (int ib = ib0 < 0 ? 0 : ib0; ib < ib1 && ib < bmax; ib++) {
            float px = steep ? (float)ib + 0.5f : ac, py = steep ? ac : (float)ib + 0.5f;
            /* distance from the pixel centre to the segment */
            float t = ((px - x0) * dx + (py - y0) * dy) / (len * len);
            if (t < 0 || t > 1) {
                /* past an end: covered only within half a pixel of it */
                float e = t < 0 ? -t * len : (t - 1) * len;
                if (e > 0.5f)
                    continue;
            }
            t = fminf(fmaxf(t, 0), 1);
            float qx = x0 + t * dx - px, qy = y0 + t * dy - py, d = sqrtf(qx * qx + qy * qy);
            float cov = fminf(1.0f, hw + 0.5f - d);
            if (cov <= 0)
                continue;
            int x = steep ? ib : ia, y = steep ? ia : ib;
            unsigned a = (unsigned)lrintf(cov * (float)p->alpha);
            if (a)
                blend(c->px + ((size_t)y * (size_t)c->w + (size_t)x) * 3, p->rgb, a);
        }
    }
}

/* Blits glyph coverage at pen (px, py) on the baseline; rotated text maps the run's
 * (u right, v down) to the page's (v right, u up). */
static void blit(mhv_canvas *c, const mhv_glyph_bitmap *bm, int px, int py, int rot,
                 const uint8_t rgb[3])
{
    for (int gy = 0; gy < bm->h; gy++)
        for (int gx = 0; gx < bm->w; gx++) {
            unsigned a = bm->alpha[gy * bm->w + gx];
            if (!a)
                continue;
            int u = bm->x0 + gx, v = bm->y0 + gy;
            int x = rot ? px + v : px + u, y = rot ? py - u - 1 : py + v;
            if (x < 0 || y < 0 || x >= c->w || y >= c->h)
                continue;
            blend(c->px + ((size_t)y * (size_t)c->w + (size_t)x) * 3, rgb, a);
        }
}

static mhv_status text(mhv_canvas *c, const mhv_scene *s, const mhv_prim *p, mhv_fontset *fs,
                       mhv_error *err)
{
    mhv_placed g[256];
    int n = mhv_font_layout(fs, mhv_prim_text(s, p), p->len, p->w, g, 256, NULL);
    int px = (int)lrintf(p->x), py = (int)lrintf(p->y);
    for (int i = 0; i < n; i++) {
        const mhv_glyph_bitmap *bm = mhv_font_bitmap(fs, g[i].g, p->w);
        if (!bm)
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory for glyphs");
        int pen = (int)lrintf(g[i].x);
        blit(c, bm, p->rot ? px : px + pen, p->rot ? py - pen : py, p->rot, p->rgb);
    }
    return MHV_OK;
}

mhv_status mhv_canvas_draw(mhv_canvas *c, const mhv_scene *s, mhv_fontset *fs, mhv_error *err)
{
    for (int i = 0; i < s->n; i++) {
        const mhv_prim *p = &s->prims[i];
        if (p->kind == MHV_PRIM_RECT) {
            fill(c, p);
        } else if (p->kind == MHV_PRIM_HATCH) {
            hatch(c, p);
        } else if (p->kind == MHV_PRIM_LINE) {
            line(c, p);
        } else if (p->kind == MHV_PRIM_IMAGE) {
            image(c, s, p);
        } else {
            mhv_status st = text(c, s, p, fs, err);
            if (st)
                return st;
        }
    }
    return MHV_OK;
}
