/* png_exif.h - the EXIF orientation of a PNG, found in its chunks as PIL finds it;
 * internal to lib/media. */
#ifndef MHV_PNG_EXIF_H
#define MHV_PNG_EXIF_H

#include <stddef.h>

#include "base/status.h"

/* The orientation (1..8, see mhv_exif_orientation) of the PNG data[0..len) (a file libpng
 * has decoded): from the last eXIf chunk or tEXt "exif", else the hex of a "Raw profile
 * type exif" text chunk (ImageMagick's), else the XMP of an "XML:com.adobe.xmp" text chunk;
 * chunks after the image data count, as PIL reads them when it loads the pixels. What PIL
 * refuses (a bad CRC on one of these chunks before the image data, text that inflates past
 * 1 MiB, hex that is not, EXIF it cannot read) is MHV_EFORMAT naming `name`. */
mhv_status mhv_png_orientation(const unsigned char *data, size_t len, const char *name,
                               int *orientation, mhv_error *err);

#endif
