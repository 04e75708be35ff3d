/* image.h - images read from PNG and JPEG files, as 8-bit RGB. */
#ifndef MHV_IMAGE_H
#define MHV_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef struct {
    int width, height;
    uint8_t *rgb;       /* (height, width, 3) */
    /* A PNG's tRNS colour that PIL keeps after load_image's convert("RGB") (transformers'
     * convert_to_rgb paints the pixels of that colour white): */
    int transparent;        /* MHV_TRNS_NONE, _KEY (key holds it) or _REFUSED (why says) */
    uint8_t key[3];
    const char *refused_why; /* static text: a tRNS whose effect mhaviz does not match */
} mhv_image;

enum { MHV_TRNS_NONE, MHV_TRNS_KEY, MHV_TRNS_REFUSED };

/* Largest side accepted: far beyond any photograph, small enough that w * h * 3 fits. */
#define MHV_IMAGE_MAX_SIDE 16384
/* Most pixels accepted: PIL's decompression-bomb limit (2 * Image.MAX_IMAGE_PIXELS, past
 * which Image.open, and so transformers' load_image, raises DecompressionBombError). An
 * image is decoded whole before it is resized: this bounds that to about 700 MB. */
#define MHV_IMAGE_MAX_PIXELS 178956970

/* MHV_EFORMAT naming `name` for a width or height outside 1..MHV_IMAGE_MAX_SIDE or more
 * than MHV_IMAGE_MAX_PIXELS pixels: the decoders' check, from the header, before any
 * pixel is allocated. */
mhv_status mhv_image_check_size(unsigned long width, unsigned long height, const char *name,
                                mhv_error *err);

/* Reads a PNG file (any bit depth, palette, grey or alpha: converted to 8-bit RGB, alpha
 * dropped as PIL's convert("RGB") does), turned upright by its EXIF orientation as
 * mhv_image_read says. Not a PNG, too large or damaged is MHV_EFORMAT naming the file. */
mhv_status mhv_image_read_png(const char *path, mhv_image *out, mhv_error *err);

/* A PNG (as mhv_image_read_png) or a baseline or progressive JPEG (libjpeg's default
 * decoding, as PIL's: accurate integer DCT, fancy upsampling; greyscale and YCbCr to RGB;
 * CMYK refused), told apart by their first bytes, then turned upright by its EXIF
 * orientation (JPEG APP1 Exif, PNG eXIf or text chunks, else XMP) as transformers'
 * load_image does with PIL's ImageOps.exif_transpose: width and height are the upright
 * image's. Anything else, a damaged or truncated file, or EXIF that PIL refuses, is
 * MHV_EFORMAT naming the file in one line. */
mhv_status mhv_image_read(const char *path, mhv_image *out, mhv_error *err);
/* The same from memory; `name` names the image in messages. */
mhv_status mhv_image_decode(const unsigned char *data, size_t len, const char *name,
                            mhv_image *out, mhv_error *err);
void mhv_image_free(mhv_image *im);

#endif
