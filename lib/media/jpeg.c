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

#include "media/exif.h"

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

/* The orientation of the APP0 and APP1 markers libjpeg kept, found as PIL's JpegImagePlugin
 * finds it: the EXIF of every "Exif\0\0" APP1 joined (the first whole, the others without
 * that prefix), the XMP of the last XMP APP1, and whether a JFIF APP0 gives a dpi (when none
 * does, PIL has read the EXIF once on opening, for one: see mhv_exif_meta). */
static mhv_status marker_orientation(j_decompress_ptr cinfo, const char *name, int *orientation,
                                     mhv_error *err)
{
    static const char xmp_ns[] = "http://ns.adobe.com/xap/1.0/"; /* then a NUL */
    mhv_exif_meta m = {.jpeg_dpi_from_exif = 1};
    size_t exif_len = 0;
    for (jpeg_saved_marker_ptr k = cinfo->marker_list; k; k = k->next) {
        const unsigned char *s = k->data;
        size_t n = k->data_length;
        if (k->marker == JPEG_APP0 && n >= 12 && memcmp(s, "JFIF", 4) == 0 &&
            (s[7] == 1 || s[7] == 2))
            m.jpeg_dpi_from_exif = 0;
        else if (k->marker == JPEG_APP0 + 1 && n >= 6 && memcmp(s, "Exif\0\0", 6) == 0)
            exif_len += exif_len ? n - 6 : n;
        else if (k->marker == JPEG_APP0 + 1 && n >= sizeof xmp_ns &&
                 memcmp(s, xmp_ns, sizeof xmp_ns) == 0)
            m.xmp = s + sizeof xmp_ns, m.xmp_len = n - sizeof xmp_ns;
    }
    unsigned char *exif = NULL;
    if (exif_len) {
        if (!(exif = malloc(exif_len)))
            return mhv_fail(err, MHV_ENOMEM, name, "out of memory reading the EXIF");
        size_t at = 0;
        for (jpeg_saved_marker_ptr k = cinfo->marker_list; k; k = k->next)
            if (k->marker == JPEG_APP0 + 1 && k->data_length >= 6 &&
                memcmp(k->data, "Exif\0\0", 6) == 0) {
                size_t skip = at ? 6 : 0;
                memcpy(exif + at, k->data + skip, k->data_length - skip);
                at += k->data_length - skip;
            }
        m.exif = exif, m.exif_len = exif_len;
    }
    mhv_status st = mhv_exif_orientation(&m, orientation, name, err);
    free(exif);
    return st;
}

mhv_status mhv_jpeg_decode(const unsigned char *data, size_t len, const char *name,
                           mhv_image *out, int *orientation, mhv_error *err)
{
    *orientation = 1;
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
    jpeg_save_markers(&cinfo, JPEG_APP0, 0xFFFF);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    mhv_status st = marker_orientation(&cinfo, name, orientation, err);
    if (st) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    if ((st = mhv_image_check_size(cinfo.image_width, cinfo.image_height, name, err))) {
        jpeg_destroy_decompress(&cinfo);
        return st;
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
