#include "fig/svg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "fig/png_out.h"

/* Coordinates with two decimals at most: 1/100 px is below any printer's resolution and
 * keeps the file small. Formatted by hand: printf was most of the time of writing an SVG. */
static void num(FILE *f, float v)
{
    char buf[32], *e = buf + sizeof buf, *p = e;
    long c = lrintf(v * 100.0f);
    int neg = c < 0;
    unsigned long u = (unsigned long)(neg ? -c : c), ip = u / 100, frac = u % 100;
    if (frac) {
        if (frac % 10)
            *--p = (char)('0' + frac % 10);
        *--p = (char)('0' + frac / 10);
        *--p = '.';
    }
    do {
        *--p = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    if (neg && u)
        *--p = '-';
    fwrite(p, 1, (size_t)(e - p), f);
}

static void hex(FILE *f, const uint8_t rgb[3])
{
    static const char digits[] = "0123456789abcdef";
    char b[7] = {'#'};
    for (int k = 0; k < 3; k++) {
        b[1 + 2 * k] = digits[rgb[k] >> 4];
        b[2 + 2 * k] = digits[rgb[k] & 15];
    }
    fwrite(b, 1, 7, f);
}

/* XML character data; C0 controls other than tab/newline are not allowed in XML 1.0. */
static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if (c >= 0x20 || c == '\n' || c == '\t')
                fputc(c, f);
            else
                fputc(' ', f);
        }
    }
}

static const char *role_class(int role)
{
    switch (role) {
    case MHV_ROLE_LABEL: return "label";
    case MHV_ROLE_TITLE: return "title";
    case MHV_ROLE_VALUE: return "value";
    case MHV_ROLE_TICK: return "tick";
    }
    return "text";
}

/* Page point of outline point (x, y) of a glyph whose pen is `pen` px along the run. */
static void point(FILE *f, const mhv_prim *p, float pen, float x, float y)
{
    float u = pen + x, v = y;
    fputc(' ', f);
    num(f, p->rot ? p->x + v : p->x + u);
    fputc(' ', f);
    num(f, p->rot ? p->y - u : p->y + v);
}

static int glyph_path(FILE *f, const mhv_prim *p, mhv_fontset *fs, const mhv_placed *g)
{
    mhv_path_op *ops;
    int n = mhv_font_outline(fs, g->g, p->w, &ops);
    if (n <= 0)
        return n;
    fputs("<path d=\"", f);
    for (int i = 0; i < n; i++) {
        const mhv_path_op *o = &ops[i];
        if (i && o->op == 'M')
            fputs(" Z ", f);
        fputc(o->op, f);
        if (o->op == 'Q' || o->op == 'C')
            point(f, p, g->x, o->cx, o->cy);
        if (o->op == 'C')
            point(f, p, g->x, o->cx1, o->cy1);
        point(f, p, g->x, o->x, o->y);
    }
    fputs(" Z\"/>\n", f);
    free(ops);
    return n;
}

static int text(FILE *f, const mhv_scene *s, const mhv_prim *p, mhv_fontset *fs)
{
    mhv_placed g[256];
    int n = mhv_font_layout(fs, mhv_prim_text(s, p), p->len, p->w, g, 256, NULL);
    fprintf(f, "<g class=\"%s\" fill=\"", role_class(p->role));
    hex(f, p->rgb);
    fputs("\"><title>", f);
    esc(f, mhv_prim_text(s, p));
    fputs("</title>\n", f);
    for (int i = 0; i < n; i++)
        if (glyph_path(f, p, fs, &g[i]) < 0)
            return -1;
    fputs("</g>\n", f);
    return 0;
}

/* --svg-text: the run as <text> in the fonts named (families), turned like the outlines. */
static void text_el(FILE *f, const mhv_scene *s, const mhv_prim *p, const char *families)
{
    fprintf(f, "<text class=\"%s\" x=\"", role_class(p->role));
    num(f, p->x);
    fputs("\" y=\"", f);
    num(f, p->y);
    fputs("\" font-size=\"", f);
    num(f, p->w);
    fputs("\" font-family=\"", f);
    esc(f, families);
    fputs("\" fill=\"", f);
    hex(f, p->rgb);
    if (p->rot) {
        fputs("\" transform=\"rotate(-90 ", f);
        num(f, p->x);
        fputc(' ', f);
        num(f, p->y);
        fputc(')', f);
    }
    fputs("\" xml:space=\"preserve\">", f);
    esc(f, mhv_prim_text(s, p));
    fputs("</text>\n", f);
}

/* ` x="…" y="…" width="…" height="…"` of a rect or image prim. */
static void xywh(FILE *f, const mhv_prim *p)
{
    fputs(" x=\"", f);
    num(f, p->x);
    fputs("\" y=\"", f);
    num(f, p->y);
    fputs("\" width=\"", f);
    num(f, p->w);
    fputs("\" height=\"", f);
    num(f, p->h);
    fputc('"', f);
}

static void rect(FILE *f, const mhv_prim *p, const char *cls)
{
    fputs("<rect class=\"", f);
    fputs(cls, f);
    fputc('"', f);
    xywh(f, p);
    fputs(" fill=\"", f);
    if (p->kind == MHV_PRIM_HATCH)
        fprintf(f, "url(#hatch%ld)", lrintf(p->aux * 100));
    else
        hex(f, p->rgb);
    fputs("\"/>\n", f);
}

/* A line of the line view: antialiased, so outside the crispEdges groups. */
static void line(FILE *f, const mhv_prim *p)
{
    fputs("<line class=\"link\" x1=\"", f);
    num(f, p->x);
    fputs("\" y1=\"", f);
    num(f, p->y);
    fputs("\" x2=\"", f);
    num(f, p->w);
    fputs("\" y2=\"", f);
    num(f, p->h);
    fputs("\" stroke=\"", f);
    hex(f, p->rgb);
    fputs("\" stroke-width=\"", f);
    num(f, p->aux);
    if (p->alpha < 255) {
        fputs("\" stroke-opacity=\"", f);
        num(f, (float)p->alpha / 255.0f);
    }
    fputs("\"/>\n", f);
}

/* An image prim as an <image> holding its pixels as a PNG (base64), drawn without
 * smoothing so its pixels stay squares as in the raster. 1 when out of memory. */
static int image(FILE *f, const mhv_scene *s, const mhv_prim *p)
{
    unsigned char *png;
    size_t n;
    mhv_canvas cv = {p->iw, p->ih, (uint8_t *)(uintptr_t)mhv_prim_pixels(s, p)};
    mhv_error err = {0};
    if (mhv_png_to_memory(&cv, &png, &n, &err))
        return 1;
    fputs("<image class=\"picture\"", f);
    xywh(f, p);
    fputs(" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" "
          "image-rendering=\"optimizeSpeed\"\n xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
          "xlink:href=\"data:image/png;base64,", f);
    mhv_base64_write(f, png, n);
    fputs("\"/>\n", f);
    free(png);
    return 0;
}

/* One <pattern> per distinct hatch pitch, drawn like the raster: lines where x + y is a
 * multiple of the pitch, a quarter pitch wide. */
static void patterns(FILE *f, const mhv_scene *s)
{
    long done[8];
    int nd = 0;
    for (int i = 0; i < s->n; i++) {
        const mhv_prim *p = &s->prims[i];
        if (p->kind != MHV_PRIM_HATCH)
            continue;
        long id = lrintf(p->aux * 100);
        int seen = 0;
        for (int k = 0; k < nd; k++)
            seen |= done[k] == id;
        if (seen || nd == 8)
            continue;
        done[nd++] = id;
        float P = fmaxf(3.0f, roundf(p->aux)), t = fmaxf(1.0f, floorf(P / 4)) / sqrtf(2.0f);
        fprintf(f, "<pattern id=\"hatch%ld\" patternUnits=\"userSpaceOnUse\" width=\"", id);
        num(f, P);
        fputs("\" height=\"", f);
        num(f, P);
        fputs("\"><rect width=\"100%\" height=\"100%\" fill=\"", f);
        hex(f, p->rgb);
        fputs("\"/><path d=\"M-1 1L1 -1M0 ", f);
        num(f, P);
        fputc('L', f);
        num(f, P);
        fputs(" 0M", f);
        num(f, P - 1);
        fputc(' ', f);
        num(f, P + 1);
        fputc('L', f);
        num(f, P + 1);
        fputc(' ', f);
        num(f, P - 1);
        fputs("\" stroke=\"", f);
        hex(f, p->rgb2);
        fputs("\" stroke-width=\"", f);
        num(f, t * 1.414f);
        fputs("\"/></pattern>\n", f);
    }
}

mhv_status mhv_svg_write(FILE *f, const char *name, const mhv_scene *s, mhv_fontset *fs,
                         mhv_error *err)
{
    return mhv_svg_write_labels(f, name, s, fs, 0, err);
}

mhv_status mhv_svg_write_labels(FILE *f, const char *name, const mhv_scene *s, mhv_fontset *fs,
                                int as_text, mhv_error *err)
{
    /* the families of the fonts the labels come from, in the order they are searched */
    char families[1024] = "";
    size_t fl = 0;
    for (int i = 0; as_text && i < mhv_font_count(fs); i++) {
        char fam[256];
        mhv_font_family(fs, i, fam, sizeof fam);
        if (!fam[0] || strchr(fam, '\'') || strstr(families, fam))
            continue;
        int w = snprintf(families + fl, sizeof families - fl, "'%s', ", fam);
        if (w < 0 || (size_t)w >= sizeof families - fl)
            break;
        fl += (size_t)w;
    }
    snprintf(families + fl, sizeof families - fl, "sans-serif");
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\">\n",
            s->width, s->height, s->width, s->height);
    const char *title = NULL;
    for (int i = 0; i < s->n_meta; i++)
        if (strcmp(mhv_scene_meta_key(s, i), "Title") == 0)
            title = mhv_scene_meta_value(s, i);
    if (title) {
        fputs("<title>", f);
        esc(f, title);
        fputs("</title>\n", f);
    }
    fputs("<desc>", f);
    for (int i = 0; i < s->n_meta; i++) {
        esc(f, mhv_scene_meta_key(s, i));
        fputs(": ", f);
        esc(f, mhv_scene_meta_value(s, i));
        fputc('\n', f);
    }
    fputs("</desc>\n<defs>\n", f);
    patterns(f, s);
    fputs("</defs>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n", f);
    /* rects in crispEdges groups so viewers do not draw hairline seams between cells */
    int in_rects = 0;
    for (int i = 0; i < s->n; i++) {
        const mhv_prim *p = &s->prims[i];
        int is_rect = p->kind == MHV_PRIM_RECT || p->kind == MHV_PRIM_HATCH;
        if (is_rect != in_rects) {
            fputs(is_rect ? "<g shape-rendering=\"crispEdges\">\n" : "</g>\n", f);
            in_rects = is_rect;
        }
        if (p->kind == MHV_PRIM_LINE) {
            line(f, p);
        } else if (p->kind == MHV_PRIM_IMAGE) {
            if (image(f, s, p))
                return mhv_fail(err, MHV_ENOMEM, name, "out of memory for an image");
        } else if (is_rect) {
            rect(f, p, p->role == MHV_ROLE_CELL        ? "cell"
                       : p->role == MHV_ROLE_CBAR      ? "cbar"
                       : p->role == MHV_ROLE_HIGHLIGHT ? "highlight"
                       : p->role == MHV_ROLE_BAR       ? "bar"
                                                       : "deco");
        } else if (as_text) {
            text_el(f, s, p, families);
        } else if (text(f, s, p, fs)) {
            return mhv_fail(err, MHV_ENOMEM, name, "out of memory for glyph outlines");
        }
    }
    if (in_rects)
        fputs("</g>\n", f);
    fputs("</svg>\n", f);
    if (ferror(f))
        return mhv_fail(err, MHV_EIO, name, "write failed: %s", strerror(errno));
    return MHV_OK;
}
