/* jpeg.h - JPEG decoding with libjpeg (libjpeg-turbo on Debian) for image.h; internal to
 * lib/media. */
#ifndef MHV_JPEG_H
#define MHV_JPEG_H

#include <stddef.h>

#include "base/status.h"
#include "media/image.h"

/* A JPEG in memory into out (8-bit RGB, as stored); see mhv_image_read. *orientation is
 * its EXIF orientation as PIL finds it (mhv_exif_orientation), for the caller to apply. */
mhv_status mhv_jpeg_decode(const unsigned char *data, size_t len, const char *name,
                           mhv_image *out, int *orientation, mhv_error *err);

#endif
