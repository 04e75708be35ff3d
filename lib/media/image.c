#include "media/image.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

mhv_status mhv_image_read_png(const char *path, mhv_image *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    char *data;
    size_t len;
    /* a PNG of the largest accepted side compresses to far less than this */
    mhv_status st = mhv_read_file(path, 1u << 30, &data, &len, err);
    if (st)
        return st;
    if (len < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        free(data);
        return mhv_fail(err, MHV_EFORMAT, path, "not a PNG image");
    }
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
    free(data);
    return st;
}

void mhv_image_free(mhv_image *im)
{
    if (!im)
        return;
    free(im->rgb);
    memset(im, 0, sizeof *im);
}
