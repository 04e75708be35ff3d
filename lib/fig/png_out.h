/* png_out.h - a canvas as an 8-bit RGB PNG with UTF-8 text chunks, byte-for-byte repeatable. */
#ifndef MHV_PNG_OUT_H
#define MHV_PNG_OUT_H

#include <stdio.h>

#include "fig/canvas.h"
#include "fig/scene.h"
#include "base/status.h"

/* Writes c to f (opened "wb"; `name` for messages) as 8-bit RGB, with the scene's metadata
 * as iTXt chunks
 * (UTF-8: a Chinese sentence survives, which tEXt's Latin-1 would not) and a pHYs chunk of
 * `dpi` so the image prints at its intended size. No time chunk: the same input gives the
 * same bytes. */
mhv_status mhv_png_write(FILE *f, const char *name, const mhv_canvas *c, const mhv_scene *meta,
                         int dpi, mhv_error *err);

#endif
