#include "fig/pdf.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fig/png_out.h"

/* ---- a growing byte buffer (the whole file is built in memory: offsets for the xref) ---- */

typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void printf_(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_(buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A number with at most two decimals and a trailing space (as svg.c: by hand, printf is
 * slow and "%g" may print exponents, which PDF does not have). */
static void num(buf *b, float v)
{
    char t[32], *e = t + sizeof t, *q = e;
    *--q = ' ';
    long c = lrintf(v * 100.0f);
    int neg = c < 0;
    unsigned long u = (unsigned long)(neg ? -c : c), ip = u / 100, frac = u % 100;
    if (frac) {
        if (frac % 10)
            *--q = (char)('0' + frac % 10);
        *--q = (char)('0' + frac / 10);
        *--q = '.';
    }
    do {
        *--q = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    if (neg && u)
        *--q = '-';
    put(b, q, (size_t)(e - q));
}

static void rgb(buf *b, const uint8_t c[3], const char *op)
{
    for (int k = 0; k < 3; k++)
        num(b, (float)c[k] / 255.0f);
    puts_(b, op);
}

/* ---- glyphs: every (face, glyph) shown gets a code in a Type 3 font of 256 ---------------- */

typedef struct {
    int face, glyph;
    uint32_t cp;
} pglyph;

typedef struct {
    pglyph *g;          /* (n,) in first-use order: font i / 256, code i % 256 */
    int n, cap;
    int *slot;          /* (nslot,) open addressing, index + 1, 0 = empty */
    int nslot;
    int oom;
} glyphs;

static uint32_t ghash(int face, int glyph, uint32_t cp)
{
    uint32_t h = (uint32_t)(face + 2) * 2654435761u ^ (uint32_t)glyph * 40503u;
    return face < 0 ? h ^ cp * 2246822519u : h;
}

static int same(const pglyph *a, int face, int glyph, uint32_t cp)
{
    return a->face == face && a->glyph == glyph && (face >= 0 || a->cp == cp);
}

static int intern(glyphs *t, mhv_glyph g)
{
    if (t->oom)
        return -1;
    if (2 * (t->n + 1) > t->nslot) {
        int ns = t->nslot ? 2 * t->nslot : 1024;
        int *s = calloc((size_t)ns, sizeof *s);
        if (!s) {
            t->oom = 1;
            return -1;
        }
        for (int i = 0; i < t->n; i++) {
            uint32_t h = ghash(t->g[i].face, t->g[i].glyph, t->g[i].cp) & (uint32_t)(ns - 1);
            while (s[h])
                h = (h + 1) & (uint32_t)(ns - 1);
            s[h] = i + 1;
        }
        free(t->slot);
        t->slot = s;
        t->nslot = ns;
    }
    uint32_t h = ghash(g.face, g.glyph, g.cp) & (uint32_t)(t->nslot - 1);
    while (t->slot[h]) {
        if (same(&t->g[t->slot[h] - 1], g.face, g.glyph, g.cp))
            return t->slot[h] - 1;
        h = (h + 1) & (uint32_t)(t->nslot - 1);
    }
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 256;
        pglyph *q = realloc(t->g, (size_t)cap * sizeof *q);
        if (!q) {
            t->oom = 1;
            return -1;
        }
        t->g = q;
        t->cap = cap;
    }
    t->g[t->n] = (pglyph){g.face, g.glyph, g.cp};
    t->slot[h] = t->n + 1;
    return t->n++;
}

/* ---- the page --------------------------------------------------------------------------- */

typedef struct {
    buf *c;             /* content stream */
    float S, H;         /* points per scene px; page height in scene px */
    glyphs *gl;
    unsigned char alpha_used[256];
    int images;         /* image prims drawn: /Im0 ... */
} page;

static void pt(page *pg, float x, float y)
{
    num(pg->c, x * pg->S);
    num(pg->c, (pg->H - y) * pg->S);
}

static void rect_path(page *pg, float x, float y, float w, float h)
{
    pt(pg, x, y + h);
    num(pg->c, w * pg->S);
    num(pg->c, h * pg->S);
    puts_(pg->c, "re\n");
}

static void fill_rect(page *pg, const mhv_prim *p)
{
    rgb(pg->c, p->rgb, "rg ");
    rect_path(pg, p->x, p->y, p->w, p->h);
    puts_(pg->c, "f\n");
}

/* Lines where x + y is a multiple of the pitch (anchored to the page, as the raster and the
 * SVG draw them), clipped to the cell. */
static void hatch_rect(page *pg, const mhv_prim *p)
{
    float P = fmaxf(3.0f, roundf(p->aux)), t = fmaxf(1.0f, floorf(P / 4));
    rgb(pg->c, p->rgb, "rg ");
    rect_path(pg, p->x, p->y, p->w, p->h);
    puts_(pg->c, "f\nq ");
    rect_path(pg, p->x, p->y, p->w, p->h);
    puts_(pg->c, "W n ");
    rgb(pg->c, p->rgb2, "RG ");
    num(pg->c, t * pg->S);
    puts_(pg->c, "w\n");
    float x0 = p->x, x1 = p->x + p->w;
    long c0 = lrintf(floorf((p->x + p->y) / P)), c1 = lrintf(ceilf((x1 + p->y + p->h) / P));
    for (long k = c0; k <= c1; k++) {
        float s = (float)k * P;
        pt(pg, x0, s - x0);
        puts_(pg->c, "m ");
        pt(pg, x1, s - x1);
        puts_(pg->c, "l\n");
    }
    puts_(pg->c, "S Q\n");
}

static void line(page *pg, const mhv_prim *p)
{
    puts_(pg->c, "q ");
    if (p->alpha < 255) {
        printf_(pg->c, "/A%d gs ", p->alpha);
        pg->alpha_used[p->alpha] = 1;
    }
    rgb(pg->c, p->rgb, "RG ");
    num(pg->c, p->aux * pg->S);
    puts_(pg->c, "w ");
    pt(pg, p->x, p->y);
    puts_(pg->c, "m ");
    pt(pg, p->w, p->h);
    puts_(pg->c, "l S Q\n");
}

/* An image prim: its XObject /Im<k> (written later, in prim order) scaled to the box. */
static void image_use(page *pg, const mhv_prim *p)
{
    puts_(pg->c, "q ");
    num(pg->c, p->w * pg->S);
    puts_(pg->c, "0 0 ");
    num(pg->c, p->h * pg->S);
    pt(pg, p->x, p->y + p->h);
    printf_(pg->c, "cm /Im%d Do Q\n", pg->images++);
}

/* One text run: each glyph placed at its pen position, as the SVG places its outlines. */
static int text(page *pg, const mhv_scene *s, const mhv_prim *p, mhv_fontset *fs)
{
    mhv_placed g[256];
    int n = mhv_font_layout(fs, mhv_prim_text(s, p), p->len, p->w, g, 256, NULL);
    if (n <= 0)
        return 0;
    puts_(pg->c, "BT ");
    rgb(pg->c, p->rgb, "rg\n");
    int font = -1;
    for (int i = 0; i < n; i++) {
        int idx = intern(pg->gl, g[i].g);
        if (idx < 0)
            return -1;
        if (idx / 256 != font) {
            font = idx / 256;
            printf_(pg->c, "/F%d ", font);
            num(pg->c, p->w * pg->S);
            puts_(pg->c, "Tf ");
        }
        float x = p->rot ? p->x : p->x + g[i].x, y = p->rot ? p->y - g[i].x : p->y;
        puts_(pg->c, p->rot ? "0 1 -1 0 " : "1 0 0 1 ");
        pt(pg, x, y);
        printf_(pg->c, "Tm <%02x> Tj\n", idx % 256);
    }
    puts_(pg->c, "ET\n");
    return 0;
}

/* ---- objects ---------------------------------------------------------------------------- */

typedef struct {
    buf *b;
    size_t *off;        /* (cap,) byte offset of each object, 1-based */
    int n, cap;
} objs;

static int obj_begin(objs *o, int id)
{
    if (id >= o->cap) {
        int cap = o->cap ? 2 * o->cap : 64;
        while (cap <= id)
            cap *= 2;
        size_t *q = realloc(o->off, (size_t)cap * sizeof *q);
        if (!q) {
            o->b->oom = 1;
            return -1;
        }
        memset(q + o->cap, 0, (size_t)(cap - o->cap) * sizeof *q);
        o->off = q;
        o->cap = cap;
    }
    o->off[id] = o->b->n;
    if (id > o->n)
        o->n = id;
    printf_(o->b, "%d 0 obj\n", id);
    return 0;
}

static void stream(buf *b, const char *dict_extra, const char *data, size_t len)
{
    printf_(b, "<< /Length %zu %s>>\nstream\n", len, dict_extra);
    put(b, data, len);
    puts_(b, "\nendstream\nendobj\n");
}

/* A PDF text string: UTF-16BE with a byte order mark, in hex. */
static void text_string(buf *b, const char *s)
{
    static const char hexd[] = "0123456789ABCDEF";
    puts_(b, "<FEFF");
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        uint32_t c = *u;
        int extra = c < 0x80 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
        if (extra < 0) {
            u++;
            continue;
        }
        c &= extra == 0 ? 0x7F : extra == 1 ? 0x1F : extra == 2 ? 0x0F : 0x07;
        u++;
        for (int k = 0; k < extra && (*u & 0xC0) == 0x80; k++, u++)
            c = c << 6 | (*u & 0x3F);
        uint16_t w[2];
        int nw = 1;
        if (c >= 0x10000) {
            c -= 0x10000;
            w[0] = (uint16_t)(0xD800 | c >> 10);
            w[1] = (uint16_t)(0xDC00 | (c & 0x3FF));
            nw = 2;
        } else {
            w[0] = (uint16_t)c;
        }
        for (int k = 0; k < nw; k++) {
            char h[4] = {hexd[w[k] >> 12], hexd[(w[k] >> 8) & 15], hexd[(w[k] >> 4) & 15],
                         hexd[w[k] & 15]};
            put(b, h, 4);
        }
    }
    puts_(b, ">");
}

/* The outline of glyph g in glyph space (1000 units per em, y up) as a Type 3 glyph
 * procedure; its advance into *adv. Quadratic segments become cubic ones. */
static int glyph_proc(buf *b, mhv_fontset *fs, const pglyph *g, float *adv)
{
    char u8[5] = {0};
    uint32_t c = g->cp;
    if (c < 0x80)
        u8[0] = (char)c;
    else if (c < 0x800)
        u8[0] = (char)(0xC0 | c >> 6), u8[1] = (char)(0x80 | (c & 0x3F));
    else if (c < 0x10000)
        u8[0] = (char)(0xE0 | c >> 12), u8[1] = (char)(0x80 | ((c >> 6) & 0x3F)),
        u8[2] = (char)(0x80 | (c & 0x3F));
    else
        u8[0] = (char)(0xF0 | c >> 18), u8[1] = (char)(0x80 | ((c >> 12) & 0x3F)),
        u8[2] = (char)(0x80 | ((c >> 6) & 0x3F)), u8[3] = (char)(0x80 | (c & 0x3F));
    *adv = c >= 0x20 ? mhv_font_width(fs, u8, strlen(u8), 1000.0f) : 0;
    mhv_path_op *ops = NULL;
    int n = mhv_font_outline(fs, (mhv_glyph){g->face, g->glyph, g->cp}, 1000.0f, &ops);
    if (n < 0)
        return -1;
    float lx = 0, ly = 0, ux = 0, uy = 0;
    for (int i = 0; i < n; i++) {
        const mhv_path_op *o = &ops[i];
        float xs[3] = {o->x, o->cx, o->cx1}, ys[3] = {o->y, o->cy, o->cy1};
        int k = o->op == 'C' ? 3 : o->op == 'Q' ? 2 : 1;
        for (int j = 0; j < k; j++) {
            if (i == 0 && j == 0)
                lx = ux = xs[0], ly = uy = -ys[0];
            lx = fminf(lx, xs[j]), ux = fmaxf(ux, xs[j]);
            ly = fminf(ly, -ys[j]), uy = fmaxf(uy, -ys[j]);
        }
    }
    buf body = {0};
    num(&body, *adv);
    puts_(&body, "0 ");
    num(&body, floorf(lx));
    num(&body, floorf(ly));
    num(&body, ceilf(ux));
    num(&body, ceilf(uy));
    puts_(&body, "d1\n");
    float px = 0, py = 0;
    for (int i = 0; i < n; i++) {
        const mhv_path_op *o = &ops[i];
        if (o->op == 'M') {
            if (i)
                puts_(&body, "h ");
            num(&body, o->x);
            num(&body, -o->y);
            puts_(&body, "m\n");
        } else if (o->op == 'L') {
            num(&body, o->x);
            num(&body, -o->y);
            puts_(&body, "l\n");
        } else if (o->op == 'Q') {
            /* the cubic through the same curve: controls 2/3 of the way to the quadratic's */
            num(&body, px + 2.0f / 3.0f * (o->cx - px));
            num(&body, -(py + 2.0f / 3.0f * (o->cy - py)));
            num(&body, o->x + 2.0f / 3.0f * (o->cx - o->x));
            num(&body, -(o->y + 2.0f / 3.0f * (o->cy - o->y)));
            num(&body, o->x);
            num(&body, -o->y);
            puts_(&body, "c\n");
        } else if (o->op == 'C') {
            num(&body, o->cx);
            num(&body, -o->cy);
            num(&body, o->cx1);
            num(&body, -o->cy1);
            num(&body, o->x);
            num(&body, -o->y);
            puts_(&body, "c\n");
        }
        px = o->x;
        py = o->y;
    }
    if (n > 0)
        puts_(&body, "h f\n");
    free(ops);
    int bad = body.oom;
    if (!bad)
        stream(b, "", body.p, body.n);
    free(body.p);
    return bad ? -1 : 0;
}

/* The families the glyphs g(n,) come from, for the font's name: letters and digits only,
 * joined by '+' ("DejaVuSans+WenQuanYiMicroHei"). */
static void family_tag(mhv_fontset *fs, const pglyph *g, int n, char *out, size_t size)
{
    size_t o = 0;
    for (int face = 0; face < mhv_font_count(fs); face++) {
        int used = 0;
        for (int i = 0; i < n && !used; i++)
            used = g[i].face == face;
        char fam[256];
        mhv_font_family(fs, face, fam, sizeof fam);
        if (!used || !fam[0])
            continue;
        if (o && o + 1 < size)
            out[o++] = '+';
        for (const char *q = fam; *q && o + 1 < size; q++)
            if ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9'))
                out[o++] = *q;
    }
    if (o == 0 && size > 7)
        o = (size_t)snprintf(out, size, "mhaviz");
    out[o] = '\0';
}

static const char *meta_of(const mhv_scene *s, const char *key)
{
    for (int i = 0; i < s->n_meta; i++)
        if (strcmp(mhv_scene_meta_key(s, i), key) == 0)
            return mhv_scene_meta_value(s, i);
    return NULL;
}

/* The image XObject of p: its pixels deflated as PNG rows (the IDAT data of the PNG the
 * raster writer makes, which FlateDecode with PNG predictors reads as it is), not smoothed
 * when scaled. 1 when out of memory or the PNG is not as written. */
static int image_obj(buf *b, const mhv_scene *s, const mhv_prim *p)
{
    unsigned char *png;
    size_t n;
    mhv_canvas cv = {p->iw, p->ih, (uint8_t *)(uintptr_t)mhv_prim_pixels(s, p)};
    mhv_error err = {0};
    if (mhv_png_to_memory(&cv, &png, &n, &err))
        return 1;
    buf idat = {0};
    size_t at = 8; /* the signature, then chunks: length, type, data, CRC */
    while (at + 12 <= n) {
        size_t len = (size_t)png[at] << 24 | (size_t)png[at + 1] << 16 |
                     (size_t)png[at + 2] << 8 | png[at + 3];
        if (len > n - at - 12)
            break;
        if (memcmp(png + at + 4, "IDAT", 4) == 0)
            put(&idat, (const char *)png + at + 8, len);
        at += 12 + len;
    }
    free(png);
    int bad = idat.oom || !idat.n || at != n;
    if (!bad) {
        char dict[320];
        snprintf(dict, sizeof dict, "/Type /XObject /Subtype /Image /Width %d /Height %d "
                 "/ColorSpace /DeviceRGB /BitsPerComponent 8 /Interpolate false /Filter "
                 "/FlateDecode /DecodeParms << /Predictor 15 /Colors 3 /BitsPerComponent 8 "
                 "/Columns %d >> ", p->iw, p->ih, p->iw);
        stream(b, dict, idat.p, idat.n);
    }
    free(idat.p);
    return bad;
}

mhv_status mhv_pdf_write(FILE *f, const char *name, const mhv_scene *s, mhv_fontset *fs, int dpi,
                         mhv_error *err)
{
    buf content = {0}, out = {0};
    glyphs gl = {0};
    page pg = {&content, 72.0f / (float)(dpi > 0 ? dpi : 96), (float)s->height, &gl, {0}, 0};
    for (int i = 0; i < s->n && !content.oom; i++) {
        const mhv_prim *p = &s->prims[i];
        if (p->kind == MHV_PRIM_RECT)
            fill_rect(&pg, p);
        else if (p->kind == MHV_PRIM_HATCH)
            hatch_rect(&pg, p);
        else if (p->kind == MHV_PRIM_LINE)
            line(&pg, p);
        else if (p->kind == MHV_PRIM_IMAGE)
            image_use(&pg, p);
        else if (text(&pg, s, p, fs))
            break;
    }
    objs o = {&out, NULL, 0, 0};
    int nfonts = (gl.n + 255) / 256;
    /* objects: 1 catalog, 2 pages, 3 page, 4 contents, 5 info, then per font: the font,
     * its ToUnicode map, and one procedure per glyph */
    puts_(&out, "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n");
    obj_begin(&o, 1);
    puts_(&out, "<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    obj_begin(&o, 2);
    puts_(&out, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
    obj_begin(&o, 3);
    puts_(&out, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ");
    num(&out, (float)s->width * pg.S);
    num(&out, (float)s->height * pg.S);
    puts_(&out, "] /Contents 4 0 R\n/Resources << /ProcSet [/PDF /Text]");
    int first_font = 6;
    if (nfonts) {
        puts_(&out, " /Font <<");
        int id = first_font;
        for (int k = 0; k < nfonts; k++) {
            int cnt = gl.n - 256 * k < 256 ? gl.n - 256 * k : 256;
            printf_(&out, " /F%d %d 0 R", k, id);
            id += 2 + cnt;
        }
        puts_(&out, " >>");
    }
    /* the images after the fonts (each font: itself, its ToUnicode map, its glyphs) */
    int first_image = first_font + 2 * nfonts + gl.n;
    if (pg.images) {
        puts_(&out, " /XObject <<");
        for (int k = 0; k < pg.images; k++)
            printf_(&out, " /Im%d %d 0 R", k, first_image + k);
        puts_(&out, " >>");
    }
    puts_(&out, " /ExtGState <<");
    for (int a = 0; a < 256; a++)
        if (pg.alpha_used[a]) {
            printf_(&out, " /A%d << /Type /ExtGState /CA ", a);
            num(&out, (float)a / 255.0f);
            puts_(&out, ">>");
        }
    puts_(&out, " >> >> >>\nendobj\n");
    obj_begin(&o, 4);
    stream(&out, "", content.p ? content.p : "", content.n);
    obj_begin(&o, 5);
    puts_(&out, "<< /Producer ");
    text_string(&out, meta_of(s, "Software") ? meta_of(s, "Software") : "mhaviz");
    const char *title = meta_of(s, "Title"), *sentence = meta_of(s, "Sentence");
    const char *model = meta_of(s, "Model"), *comment = meta_of(s, "Comment");
    if (title) {
        puts_(&out, " /Title ");
        text_string(&out, title);
    }
    if (sentence) {
        puts_(&out, " /Subject ");
        text_string(&out, sentence);
    }
    if (model) {
        puts_(&out, " /Keywords ");
        text_string(&out, model);
    }
    if (comment) {
        puts_(&out, " /Creator ");
        text_string(&out, comment);
    }
    puts_(&out, " >>\nendobj\n");
    char tag[96];
    int id = first_font, bad = gl.oom || content.oom;
    for (int k = 0; k < nfonts && !bad; k++) {
        int cnt = gl.n - 256 * k < 256 ? gl.n - 256 * k : 256;
        const pglyph *g = &gl.g[256 * k];
        float *adv = malloc((size_t)cnt * sizeof *adv);
        if (!adv) {
            bad = 1;
            break;
        }
        int font_id = id, map_id = id + 1;
        family_tag(fs, g, cnt, tag, sizeof tag);
        /* glyph procedures first: their widths go into the font */
        for (int c = 0; c < cnt && !bad; c++) {
            if (obj_begin(&o, map_id + 1 + c))
                bad = 1;
            else
                bad = glyph_proc(&out, fs, &g[c], &adv[c]) != 0;
        }
        if (!bad && obj_begin(&o, font_id) == 0) {
            /* a name telling the fonts the glyphs come from (pdffonts shows it) */
            printf_(&out, "<< /Type /Font /Subtype /Type3 /BaseFont /%s-%d\n"
                          "/FontBBox [0 -300 1000 1000] /FontMatrix [0.001 0 0 0.001 0 0]\n"
                          "/Resources << >> /FirstChar 0 /LastChar %d\n/Encoding << "
                          "/Type /Encoding /Differences [0", tag, k, cnt - 1);
            for (int c = 0; c < cnt; c++)
                printf_(&out, " /g%d", c);
            puts_(&out, "] >>\n/CharProcs <<");
            for (int c = 0; c < cnt; c++)
                printf_(&out, " /g%d %d 0 R", c, map_id + 1 + c);
            puts_(&out, " >>\n/Widths [");
            for (int c = 0; c < cnt; c++)
                num(&out, adv[c]);
            printf_(&out, "]\n/ToUnicode %d 0 R >>\nendobj\n", map_id);
        }
        /* the text each code stands for: search, copy and paste */
        buf cmap = {0};
        puts_(&cmap, "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
                     "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
                     "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
                     "1 begincodespacerange <00> <FF> endcodespacerange\n");
        for (int c0 = 0; c0 < cnt; c0 += 100) {
            int m = cnt - c0 < 100 ? cnt - c0 : 100;
            printf_(&cmap, "%d beginbfchar\n", m);
            for (int c = c0; c < c0 + m; c++) {
                uint32_t cp = g[c].cp;
                if (cp >= 0x10000)
                    printf_(&cmap, "<%02x> <%04X%04X>\n", c, 0xD800 | (cp - 0x10000) >> 10,
                            0xDC00 | ((cp - 0x10000) & 0x3FF));
                else
                    printf_(&cmap, "<%02x> <%04X>\n", c, cp);
            }
            puts_(&cmap, "endbfchar\n");
        }
        puts_(&cmap, "endcmap CMapName currentdict /CMap defineresource pop end end\n");
        if (!bad && !cmap.oom && obj_begin(&o, map_id) == 0)
            stream(&out, "", cmap.p, cmap.n);
        bad |= cmap.oom;
        free(cmap.p);
        free(adv);
        id += 2 + cnt;
    }
    for (int i = 0, k = 0; i < s->n && !bad; i++)
        if (s->prims[i].kind == MHV_PRIM_IMAGE)
            bad = obj_begin(&o, first_image + k++) || image_obj(&out, s, &s->prims[i]);
    size_t xref = out.n;
    printf_(&out, "xref\n0 %d\n0000000000 65535 f \n", o.n + 1);
    for (int i = 1; i <= o.n && !out.oom; i++)
        printf_(&out, "%010zu 00000 n \n", o.off[i]);
    printf_(&out, "trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%zu\n%%%%EOF\n",
            o.n + 1, xref);
    bad |= out.oom;
    mhv_status st = MHV_OK;
    if (bad)
        st = mhv_fail(err, MHV_ENOMEM, name, "out of memory while writing a PDF");
    else if (fwrite(out.p, 1, out.n, f) != out.n || ferror(f))
        st = mhv_fail(err, MHV_EIO, name, "write failed: %s", strerror(errno));
    free(content.p);
    free(out.p);
    free(o.off);
    free(gl.g);
    free(gl.slot);
    return st;
}
