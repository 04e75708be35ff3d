#include "media/image.h"

#include <png.h>
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

/* Whether PIL keeps a transparent colour in the image's info after load_image's
 * convert("RGB"): a tRNS chunk before the image data of a grey or RGB PNG, or of a palette
 * PNG whose tRNS is one fully transparent entry among opaque ones (PIL's "simple palette";
 * other palette transparency it drops). The chunks are walked within len only. */
static int png_transparent_key(const unsigned char *data, size_t len)
{
    int colour_type = -1;
    for (size_t at = 8; at + 8 <= len;) {
        uint32_t n = be32(data + at);
        const unsigned char *type = data + at + 4, *body = data + at + 8;
        if (n > len - at - 8)
            return 0;
        if (memcmp(type, "IHDR", 4) == 0 && n >= 10)
            colour_type = body[9];
        else if (memcmp(type, "IDAT", 4) == 0)
            return 0;
        else if (memcmp(type, "tRNS", 4) == 0) {
            if (colour_type == 0 || colour_type == 2)
                return 1;
            if (colour_type != 3)
                return 0;
            int zeros = 0;
            for (uint32_t i = 0; i < n; i++) {
                if (body[i] != 0 && body[i] != 0xFF)
                    return 0;
                zeros += body[i] == 0;
            }
            return zeros == 1;
        }
        if (len - at - 8 - n < 4)
            return 0;
        at += 8 + (size_t)n + 4;
    }
    return 0;
}

/* A PNG in memory (is_png) into out. */
static mhv_status decode_png(const unsigned char *data, size_t len, const char *path,
                             mhv_image *out, mhv_error *err)
{
    mhv_status st = MHV_OK;
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&im, data, len)) {
        st = mhv_fail(err, MHV_EFORMAT, path, "damaged PNG: %s", im.message);
        goto out;
    }
    if (im.width < 1 || im.height < 1 || im.width > MHV_IMAGE_MAX_SIDE ||
        im.height > MHV_IMAGE_MAX_SIDE) {
        st = mhv_fail(err, MHV_EFORMAT, path, "image of %ux%u pixels (at most %d on a side)",
                      im.width, im.height, MHV_IMAGE_MAX_SIDE);
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
        out->transparent_key = png_transparent_key(data, len);
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
