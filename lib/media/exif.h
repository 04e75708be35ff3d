/* exif.h - an image's EXIF orientation, read and applied as PIL's ImageOps.exif_transpose
 * (what transformers' load_image does to every image) reads and applies it; internal to
 * lib/media: jpeg.c and png_meta.c gather the metadata, image.c turns the pixels. */
#ifndef MHV_EXIF_H
#define MHV_EXIF_H

#include <stddef.h>

#include "base/status.h"
#include "media/image.h"

/* The metadata PIL's Image.getexif looks at, by the names of Image.info; a NULL pointer is
 * a key that is absent. */
typedef struct {
    const unsigned char *exif;     /* info["exif"]: TIFF data, maybe after "Exif\0\0" */
    size_t exif_len;
    int exif_is_text;              /* a PNG zTXt/iTXt "exif": text, which PIL cannot read */
    const unsigned char *xmp_text; /* info["XML:com.adobe.xmp"] (PNG text chunks) */
    size_t xmp_text_len;
    const unsigned char *xmp;      /* info["xmp"] (a JPEG's XMP APP1, a PNG's XMP iTXt) */
    size_t xmp_len;
    /* a JPEG whose JFIF header gives no dpi: PIL reads the EXIF for one when it opens the
     * file, drops an error of its TIFF header (the orientation is then 1 and the XMP is not
     * looked at) but fails on an XResolution it cannot index (see pil_dpi_fails) */
    int jpeg_dpi_from_exif;
} mhv_exif_meta;

/* The Orientation PIL finds: tag 0x0112 of IFD0 (the first entry of a type it reads, its
 * first value, equal to 2..8 as a number: an integer, a float or a rational), else when
 * IFD0 has no such entry the first tiff:Orientation="N" or <tiff:Orientation>N of the XMP.
 * *orientation is 1..8 (1 also for a value PIL does not act on). A TIFF header PIL cannot
 * read (unless dropped), or EXIF that makes PIL fail to open a JPEG, is MHV_EFORMAT naming
 * `name`; damage inside the IFD is ignored where PIL ignores it: the entries read before it
 * count. */
mhv_status mhv_exif_orientation(const mhv_exif_meta *m, int *orientation, const char *name,
                                mhv_error *err);

/* im turned upright for EXIF orientation 2..8 (PIL's Transpose: 2 mirror, 3 rotate 180,
 * 4 flip, 5 transpose, 6 rotate 270, 7 transverse, 8 rotate 90); 1 leaves it as is. Out of
 * memory is MHV_ENOMEM naming `name`, im untouched. */
mhv_status mhv_exif_transpose(mhv_image *im, int orientation, const char *name, mhv_error *err);

#endif
