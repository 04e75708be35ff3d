#include "png_out.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

typedef struct {
    mhv_error *err;
    const char *name;
    FILE *f;
} png_ctx;

static void on_error(png_structp png, png_const_charp msg)
{
    png_ctx *ctx = png_get_error_ptr(png);
    /* libpng says "Write Error" when fwrite fails; the user needs errno's reason */
    if (ferror(ctx->f) && errno)
        mhv_fail(ctx->err, MHV_EIO, ctx->name, "write failed: %s", strerror(errno));
    else
        mhv_fail(ctx->err, MHV_EIO, ctx->name, "png: %s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png; /* libpng warnings are not the user's business; the library never prints */
    (void)msg;
}

/* Colour -> palette index, open addressing over 1024 slots (at most 256 used). */
typedef struct {
    uint32_t key[1024];     /* rgb + 1; 0 = empty */
    uint8_t index[1024];
    png_color pal[256];
    int n;
} palette;

/* Index of rgb, added when new; -1 when the palette would exceed 256 colours. */
static int pal_index(palette *p, uint32_t rgb)
{
    uint32_t k = rgb + 1, h = (rgb * 2654435761u) >> 22;
    while (p->key[h]) {
        if (p->key[h] == k)
            return p->index[h];
        h = (h + 1) & 1023;
    }
    if (p->n == 256)
        return -1;
    p->key[h] = k;
    p->index[h] = (uint8_t)p->n;
    p->pal[p->n] = (png_color){(png_byte)(rgb >> 16), (png_byte)(rgb >> 8), (png_byte)rgb};
    return p->n++;
}

/* Builds the palette of c when it has at most 256 colours (first-seen order, so the bytes
 * are repeatable). Returns 0 when it does. */
static int pal_build(const mhv_canvas *c, palette *p)
{
    memset(p, 0, sizeof *p);
    size_t n = (size_t)c->w * (size_t)c->h;
    uint32_t prev = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *q = c->px + 3 * i;
        uint32_t rgb = (uint32_t)q[0] << 16 | (uint32_t)q[1] << 8 | q[2];
        if (rgb != prev && pal_index(p, rgb) < 0) /* runs of one colour are the common case */
            return -1;
        prev = rgb;
    }
    return 0;
}

mhv_status mhv_png_write(FILE *f, const char *name, const mhv_canvas *c, const mhv_scene *meta,
                         int dpi, mhv_error *err)
{
    png_ctx ctx = {err, name, f};
    errno = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    if (!png)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    }
    png_text text[8];
    /* A figure has few colours unless text is drawn over many cells: then an exact palette
     * image is a third of the bytes to compress and write. Otherwise RGB. */
    palette *pal = malloc(sizeof *pal);
    int indexed = pal && pal_build(c, pal) == 0;
    uint8_t *row = indexed ? malloc((size_t)c->w) : NULL;
    if (indexed && !row)
        indexed = 0;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(pal);
        free(row);
        return MHV_EIO;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8,
                 indexed ? PNG_COLOR_TYPE_PALETTE : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (indexed)
        png_set_PLTE(png, info, pal->pal, pal->n);
    /* Rows repeat cell after cell, which deflate finds unfiltered at its fastest level;
     * filters and higher levels cost several times the time for a few percent. */
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
    png_set_compression_level(png, 1);
    if (dpi > 0) {
        png_uint_32 ppm = (png_uint_32)(dpi / 0.0254 + 0.5);
        png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
    }
    int nt = meta ? meta->n_meta : 0;
    for (int i = 0; i < nt; i++) {
        memset(&text[i], 0, sizeof text[i]);
        text[i].compression = PNG_ITXT_COMPRESSION_NONE;
        text[i].key = (png_charp)mhv_scene_meta_key(meta, i);
        text[i].text = (png_charp)mhv_scene_meta_value(meta, i);
        text[i].text_length = 0;
        text[i].itxt_length = strlen(text[i].text);
        text[i].lang = (png_charp) "";
        text[i].lang_key = (png_charp) "";
    }
    if (nt)
        png_set_text(png, info, text, nt);
    png_write_info(png, info);
    for (int y = 0; y < c->h; y++) {
        const uint8_t *src = c->px + (size_t)y * (size_t)c->w * 3;
        if (!indexed) {
            png_write_row(png, src);
            continue;
        }
        uint32_t prev = 0xFFFFFFFFu;
        int idx = 0;
        for (int x = 0; x < c->w; x++) {
            const uint8_t *q = src + 3 * x;
            uint32_t rgb = (uint32_t)q[0] << 16 | (uint32_t)q[1] << 8 | q[2];
            if (rgb != prev)
                idx = pal_index(pal, rgb); /* every colour is present: never -1 */
            row[x] = (uint8_t)idx;
            prev = rgb;
        }
        png_write_row(png, row);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(pal);
    free(row);
    return MHV_OK;
}
