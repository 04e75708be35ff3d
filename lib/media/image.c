#include "media/image.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

#include "media/exif.h"
#include "media/jpeg.h"
#include "media/png_exif.h"

static int is_png(const unsigned char *data, size_t len)
{
    return len >= 8 && png_sig_cmp((png_const_bytep)data, 0, 8) == 0;
}

static int is_jpeg(const unsigned char *data, size_t len)
{
    return len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* The transparent colour PIL keeps in the image's info after load_image's convert("RGB"),
 * which transformers' convert_to_rgb composites onto white, into out (PIL 11's PNG plugin,
 * chunk_tRNS, and Image.convert): the tRNS before the image data of
 *   - a grey PNG of 1 to 8 bits: its value v, as the colour (v, v, v) matched against the
 *     pixels scaled to 8 bits (a 1-bit key of 1 becomes 255, which matches no grey pixel,
 *     as (1, 1, 1) does not);
 *   - an 8-bit RGB PNG: its colour;
 *   - a palette PNG whose tRNS is one fully transparent entry among opaque ones (PIL's
 *     "simple palette"): that entry's colour, so every pixel of that colour, whatever its
 *     index; other palette transparency convert("RGB") drops (nothing changes).
 * Refused (out->refused_why): 16-bit grey and RGB keys (PIL matches the low byte of the
 * 16-bit key against its own 8-bit pixels), values beyond 8 bits, a short tRNS (PIL's
 * error), a palette entry past the PLTE, a second tRNS. Chunks are walked within len. */
static void png_transparency(const unsigned char *data, size_t len, mhv_image *out)
{
    int colour_type = -1, depth = 0, seen = 0;
    const unsigned char *plte = NULL;
    uint32_t plte_n = 0;
    for (size_t at = 8; at + 8 <= len;) {
        uint32_t n = be32(data + at);
        const unsigned char *type = data + at + 4, *body = data + at + 8;
        if (n > len - at - 8)
            return;
        if (memcmp(type, "IHDR", 4) == 0 && n >= 10)
            depth = body[8], colour_type = body[9];
        else if (memcmp(type, "PLTE", 4) == 0)
            plte = body, plte_n = n / 3;
        else if (memcmp(type, "IDAT", 4) == 0)
            return;
        else if (memcmp(type, "tRNS", 4) == 0 && colour_type >= 0 && colour_type <= 3 &&
                 colour_type != 1) {
            const char *why = NULL;
            int key = 0;
            if (seen++)
                why = "a PNG with two tRNS chunks";
            else if (colour_type == 3) {
                /* PIL's test is the regex ^\xff*\x00\xff*$, whose $ also matches before a
                 * final b"\n": an alpha of 10 there is then taken as opaque */
                uint32_t m = n > 0 && body[n - 1] == '\n' ? n - 1 : n;
                int zeros = 0, at_zero = -1;
                for (uint32_t i = 0; i < m; i++) {
                    if (body[i] != 0 && body[i] != 0xFF)
                        zeros = 2; /* partial alpha: PIL drops it all */
                    else if (body[i] == 0)
                        zeros++, at_zero = (int)i;
                }
                if (zeros == 1) {
                    key = 1;
                    if ((uint32_t)at_zero >= plte_n || !plte)
                        why = "a PNG whose transparent palette entry is past its palette";
                    else
                        memcpy(out->key, plte + 3 * at_zero, 3);
                }
            } else if (n < (colour_type == 2 ? 6u : 2u))
                why = "a PNG with a short tRNS chunk";
            else if (depth == 16)
                why = "a 16-bit PNG with a transparent colour (tRNS)";
            else {
                key = 1;
                for (int c = 0; c < 3; c++) {
                    const unsigned char *v = body + (colour_type == 2 ? 2 * c : 0);
                    if (v[0])
                        why = "a PNG whose tRNS colour is beyond its bit depth";
                    out->key[c] = v[1];
                }
            }
            out->transparent = why ? MHV_TRNS_REFUSED : key ? MHV_TRNS_KEY : MHV_TRNS_NONE;
            out->refused_why = why;
        }
        if (len - at - 8 - n < 4)
            return;
        at += 8 + (size_t)n + 4;
    }
}

/* Whether PIL and libpng's simplified reader see other pixels in this PNG: a 16-bit one
 * (that reader takes 16-bit samples as linear light and gamma-encodes them; PIL keeps each
 * sample's high byte, and clips a grey one at 255) or one with a gAMA chunk (that reader
 * corrects for it; PIL ignores it). Chunks before the image data, walked within len. */
static int png_needs_raw(const unsigned char *data, size_t len)
{
    for (size_t at = 8; at + 8 <= len;) {
        uint32_t n = be32(data + at);
        const unsigned char *type = data + at + 4, *body = data + at + 8;
        if (n > len - at - 8 || memcmp(type, "IDAT", 4) == 0)
            return 0;
        if ((memcmp(type, "IHDR", 4) == 0 && n >= 9 && body[8] == 16) ||
            memcmp(type, "gAMA", 4) == 0)
            return 1;
        if (len - at - 8 - n < 4)
            return 0;
        at += 8 + (size_t)n + 4;
    }
    return 0;
}

typedef struct {
    const unsigned char *data;
    size_t len, at;
    char msg[128];
} png_source;

static void raw_read(png_structp png, png_bytep dst, size_t n)
{
    png_source *s = png_get_io_ptr(png);
    if (n > s->len - s->at)
        png_error(png, "the file ends inside the image");
    memcpy(dst, s->data + s->at, n);
    s->at += n;
}

static void raw_error(png_structp png, png_const_charp msg)
{
    png_source *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void raw_warning(png_structp png, png_const_charp msg)
{
    (void)png, (void)msg; /* what libpng reads past, PIL reads past too */
}

mhv_status mhv_image_check_size(unsigned long width, unsigned long height, const char *name,
                                mhv_error *err)
{
    if (width < 1 || height < 1 || width > MHV_IMAGE_MAX_SIDE || height > MHV_IMAGE_MAX_SIDE)
        return mhv_fail(err, MHV_EFORMAT, name, "image of %lux%lu pixels (at most %d on a side)",
                        width, height, MHV_IMAGE_MAX_SIDE);
    if (width * height > MHV_IMAGE_MAX_PIXELS) /* both at most 2^14 */
        return mhv_fail(err, MHV_EFORMAT, name,
                        "image of %lux%lu pixels: %lu pixels exceed the limit of %d (PIL's "
                        "decompression-bomb limit)", width, height, width * height,
                        MHV_IMAGE_MAX_PIXELS);
    return MHV_OK;
}

/* The PNGs png_needs_raw names, decoded as PIL's load_image sees them: no gamma applied;
 * 16-bit samples to their high byte, except a grey image without alpha (PIL's I;16), whose
 * samples are clipped at 255; palette and low-depth grey expanded; alpha dropped. */
static mhv_status decode_png_raw(const unsigned char *data, size_t len, const char *path,
                                 mhv_image *out, mhv_error *err)
{
    png_source src = {data, len, 0, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, raw_error, raw_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    unsigned char *volatile row = NULL; /* volatile: set after the setjmp */
    png_bytep *volatile rows = NULL;
    mhv_status st = MHV_OK;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return mhv_fail(err, MHV_ENOMEM, path, "out of memory reading a PNG");
    }
    if (setjmp(png_jmpbuf(png))) {
        st = mhv_fail(err, MHV_EFORMAT, path, "damaged PNG: %s", src.msg);
        mhv_image_free(out);
        goto out;
    }
    png_set_read_fn(png, &src, raw_read);
    png_set_user_limits(png, MHV_IMAGE_MAX_SIDE, MHV_IMAGE_MAX_SIDE);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
    if ((st = mhv_image_check_size(w, h, path, err)))
        goto out;
    int grey16 = depth == 16 && type == PNG_COLOR_TYPE_GRAY;
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16 && !grey16)
        png_set_strip_16(png); /* the high byte */
    if (type & PNG_COLOR_MASK_ALPHA)
        png_set_strip_alpha(png);
    if (!(type & PNG_COLOR_MASK_COLOR) && !grey16)
        png_set_gray_to_rgb(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    size_t want = grey16 ? (size_t)w * 2 : (size_t)w * 3;
    if (rowbytes != want)
        png_error(png, "unexpected row layout");
    out->rgb = malloc((size_t)w * h * 3);
    row = malloc(grey16 ? rowbytes * h : rowbytes);
    if (!out->rgb || !row) {
        mhv_image_free(out);
        st = mhv_fail(err, MHV_ENOMEM, path, "out of memory for an image of %ux%u", (unsigned)w,
                      (unsigned)h);
        goto out;
    }
    if (grey16) { /* interlaced passes need the whole image: read it, then clip */
        rows = malloc(h * sizeof *rows);
        if (!rows)
            png_error(png, "out of memory");
        for (png_uint_32 y = 0; y < h; y++)
            rows[y] = row + (size_t)y * rowbytes;
        png_read_image(png, rows);
        for (size_t i = 0; i < (size_t)w * h; i++) {
            unsigned v = (unsigned)row[2 * i] << 8 | row[2 * i + 1];
            out->rgb[3 * i] = out->rgb[3 * i + 1] = out->rgb[3 * i + 2] =
                (unsigned char)(v > 255 ? 255 : v);
        }
    } else {
        for (int p = 0; p < passes; p++)
            for (png_uint_32 y = 0; y < h; y++)
                png_read_row(png, out->rgb + (size_t)y * want, NULL);
    }
    png_read_end(png, NULL);
    out->width = (int)w;
    out->height = (int)h;
out:
    free(row);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return st;
}

/* A PNG in memory (is_png) into out. */
static mhv_status decode_png(const unsigned char *data, size_t len, const char *path,
                             mhv_image *out, mhv_error *err)
{
    if (png_needs_raw(data, len))
        return decode_png_raw(data, len, path, out, err);
    mhv_status st = MHV_OK;
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&im, data, len)) {
        st = mhv_fail(err, MHV_EFORMAT, path, "damaged PNG: %s", im.message);
        goto out;
    }
    if ((st = mhv_image_check_size(im.width, im.height, path, err))) {
        png_image_free(&im);
        goto out;
    }
    /* RGBA from any PNG, then alpha dropped (not composited), as PIL's convert("RGB") */
    im.format = PNG_FORMAT_RGBA;
    size_t px = (size_t)im.width * im.height;
    out->rgb = malloc(px * 4);
    if (!out->rgb) {
        png_image_free(&im);
        st = mhv_fail(err, MHV_ENOMEM, path, "out of memory for an image of %ux%u", im.width,
                      im.height);
        goto out;
    }
    if (!png_image_finish_read(&im, NULL, out->rgb, 0, NULL)) {
        st = mhv_fail(err, MHV_EFORMAT, path, "damaged PNG: %s", im.message);
        mhv_image_free(out);
        goto out;
    }
    for (size_t i = 0; i < px; i++) /* in place: every write is at or before its read */
        memmove(out->rgb + 3 * i, out->rgb + 4 * i, 3);
    out->width = (int)im.width;
    out->height = (int)im.height;
out:
    return st;
}

/* the whole file in memory: an image of the largest accepted side compresses to far less */
#define IMAGE_FILE_MAX (1u << 30)

/* The file at path decoded; png_only refuses anything but a PNG. */
static mhv_status read_image(const char *path, int png_only, mhv_image *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    char *data;
    size_t len;
    mhv_status st = mhv_read_file(path, IMAGE_FILE_MAX, &data, &len, err);
    if (st)
        return st;
    if (png_only && !is_png((const unsigned char *)data, len))
        st = mhv_fail(err, MHV_EFORMAT, path, "not a PNG image");
    else
        st = mhv_image_decode((const unsigned char *)data, len, path, out, err);
    free(data);
    return st;
}

mhv_status mhv_image_read_png(const char *path, mhv_image *out, mhv_error *err)
{
    return read_image(path, 1, out, err);
}

/* The pixels upright, as transformers' load_image has them (PIL's exif_transpose). */
mhv_status mhv_image_decode(const unsigned char *data, size_t len, const char *name,
                            mhv_image *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    int orientation = 1;
    mhv_status st;
    if (is_png(data, len)) {
        st = decode_png(data, len, name, out, err);
        if (!st)
            png_transparency(data, len, out);
        if (!st)
            st = mhv_png_orientation(data, len, name, &orientation, err);
    } else if (is_jpeg(data, len)) {
        st = mhv_jpeg_decode(data, len, name, out, &orientation, err);
    } else {
        return mhv_fail(err, MHV_EFORMAT, name, "not a PNG or JPEG image");
    }
    if (!st)
        st = mhv_exif_transpose(out, orientation, name, err);
    if (st)
        mhv_image_free(out);
    return st;
}

mhv_status mhv_image_read(const char *path, mhv_image *out, mhv_error *err)
{
    return read_image(path, 0, out, err);
}

void mhv_image_free(mhv_image *im)
{
    if (!im)
        return;
    free(im->rgb);
    memset(im, 0, sizeof *im);
}
