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

/* c as a PNG in memory (no metadata, no pHYs): *png (malloc'd, the caller frees) of *len
 * bytes; for images inside SVG and PDF files. */
mhv_status mhv_png_to_memory(const mhv_canvas *c, unsigned char **png, size_t *len,
                             mhv_error *err);

#endif
