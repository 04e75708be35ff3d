/* jpeg.c - JPEG files decoded as PIL decodes them: libjpeg's defaults (accurate integer
 * DCT, fancy upsampling), its colour conversion to RGB. libjpeg reports a fatal error by
 * calling error_exit, which must not return: it longjmps back here with the message. */
#include "media/jpeg.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

/* libjpeg's own working memory (a progressive image keeps all its coefficients: 6 bytes a
 * pixel); beyond it libjpeg would need a backing store, which Debian's has not */
#define JPEG_MEMORY_MIB 1024

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf back;
    char msg[JMSG_LENGTH_MAX];
    int truncated;      /* libjpeg hit the end of the data and made up the rest */
} jerr;

static void on_error(j_common_ptr cinfo)
{
    jerr *e = (jerr *)cinfo->err;
    if (cinfo->err->msg_code == JERR_NO_BACKING_STORE) /* past max_memory_to_use */
        snprintf(e->msg, sizeof e->msg, "too large to decode in %d MiB", JPEG_MEMORY_MIB);
    else
        cinfo->err->format_message(cinfo, e->msg);
    longjmp(e->back, 1);
}

/* Warnings are not printed (the library never prints); a file cut short is an error, as
 * in PIL, which refuses a truncated image; other warnings (extraneous bytes) pass, as
 * there. */
static void on_message(j_common_ptr cinfo, int level)
{
    jerr *e = (jerr *)cinfo->err;
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
        e->truncated = 1;
}

mhv_status mhv_jpeg_decode(const unsigned char *data, size_t len, const char *name,
                           mhv_image *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    struct jpeg_decompress_struct cinfo;
    jerr e;
    memset(&e, 0, sizeof e);
    cinfo.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = on_error;
    e.mgr.emit_message = on_message;
    /* volatile: read after longjmp */
    uint8_t *volatile rgb = NULL;
    if (setjmp(e.back)) {
        jpeg_destroy_decompress(&cinfo);
        free(rgb);
        return mhv_fail(err, MHV_EFORMAT, name, "damaged JPEG: %s", e.msg);
    }
    jpeg_create_decompress(&cinfo);
    cinfo.mem->max_memory_to_use = (long)JPEG_MEMORY_MIB << 20;
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.image_width < 1 || cinfo.image_height < 1 ||
        cinfo.image_width > MHV_IMAGE_MAX_SIDE || cinfo.image_height > MHV_IMAGE_MAX_SIDE) {
        unsigned w = cinfo.image_width, h = cinfo.image_height;
        jpeg_destroy_decompress(&cinfo);
        return mhv_fail(err, MHV_EFORMAT, name, "image of %ux%u pixels (at most %d on a side)",
                        w, h, MHV_IMAGE_MAX_SIDE);
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "CMYK JPEG images are not supported");
    }
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    size_t w = cinfo.output_width, h = cinfo.output_height, stride = w * 3;
    if (cinfo.output_components != 3)
        longjmp(e.back, (snprintf(e.msg, sizeof e.msg, "%d colour components",
                                  cinfo.output_components), 1));
    rgb = malloc(stride * h);
    if (!rgb) {
        jpeg_destroy_decompress(&cinfo);
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory for an image of %zux%zu", w, h);
    }
    while (cinfo.output_scanline < cinfo.output_height && !e.truncated) {
        JSAMPROW row = rgb + (size_t)cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    if (!e.truncated)
        jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    if (e.truncated) {
        free(rgb);
        return mhv_fail(err, MHV_EFORMAT, name, "damaged JPEG: the file ends early");
    }
    out->rgb = rgb;
    out->width = (int)w;
    out->height = (int)h;
    return MHV_OK;
}
