/* canvas.h - an 8-bit RGB raster and the rasteriser of a scene. */
#ifndef MHV_CANVAS_H
#define MHV_CANVAS_H

#include <stdint.h>

#include "fig/font.h"
#include "fig/scene.h"
#include "base/status.h"

typedef struct {
    int w, h;
    uint8_t *px;    /* (h, w, 3) row-major RGB */
} mhv_canvas;

/* A white canvas; sizes above 32768 x 32768 are MHV_EUSAGE (ask for a smaller --cell). */
mhv_status mhv_canvas_new(int w, int h, mhv_canvas *c, mhv_error *err);
void mhv_canvas_free(mhv_canvas *c);

/* Paints s (same size as c) with glyphs from fs (rasterised once, then cached). */
mhv_status mhv_canvas_draw(mhv_canvas *c, const mhv_scene *s, mhv_fontset *fs, mhv_error *err);

#endif
