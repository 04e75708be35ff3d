/* html_vision.h - the interactive page of a vision model's run (OUT/<stem>.html): every
 * image of the input file with the picture the model saw; a head's attention from the query
 * drawn over it as the PNG overlays draw it (colormap over 0..the largest patch weight, or
 * 0..1, alpha 0.6); click a patch to make it the query, buttons for [CLS] and the other
 * tokens before the patches; selectors for image, layer and head; thumbnails of the layer's
 * heads for the same query. One self-contained file (its script, the pictures as PNG data
 * URIs, the weights quantised as html.h quantises them, base64), nothing from the network. */
#ifndef MHV_HTML_VISION_H
#define MHV_HTML_VISION_H

#include <stdint.h>
#include <stdio.h>

#include "base/attn.h"
#include "base/status.h"
#include "fig/colormap.h"

typedef struct {
    const char *model;      /* the title's model name */
    const char *source;     /* the input file, shown under the title */
    mhv_cmap cmap;
    int fixed;              /* colours over 0..1 instead of 0..the largest patch weight */
    const char *aggregate;  /* "mean", "rollout", "flow": the maps are per-layer views */
} mhv_html_vision_info;

/* The page up to the first image (`name` for messages). */
mhv_status mhv_html_vision_begin(FILE *f, const char *name, const mhv_html_vision_info *info,
                                 mhv_error *err);
/* The picture a model saw and its patch grid. */
typedef struct {
    const uint8_t *rgb;     /* (height, width, 3) */
    int width, height;
    int rows, cols, patch;  /* rows x cols patches of patch x patch pixels from the top left */
    int extra;              /* tokens before the patches */
} mhv_html_vision_picture;

/* Image number index (0-based, in order): its path (shown), the picture, its tokens named
 * names[0..n) (the extra ones, then the patches row by row), the first query drawn, every
 * map of a and, when pool is not NULL, the attention-pooling head's rows pool(pool_heads,
 * n), shown as a layer "pool" whose query is the probe. */
mhv_status mhv_html_vision_image(FILE *f, const char *name, int index, const char *path,
                                 const mhv_html_vision_picture *pic, const char *const *names,
                                 int query, const mhv_attn *a, const float *pool,
                                 int pool_heads, mhv_error *err);
/* The script and the end of the page. */
mhv_status mhv_html_vision_end(FILE *f, const char *name, mhv_error *err);

#endif
