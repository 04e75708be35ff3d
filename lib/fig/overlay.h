/* overlay.h - attention over an image (vision transformers): one query token's weights on
 * the patches, a colormap tint alpha-blended over the picture the model saw, with a
 * colourbar; per head, or every head of a layer in a grid. Laid out as scenes, so PNG, SVG
 * and PDF show the same figure (the picture is an image primitive in all three). */
#ifndef MHV_OVERLAY_H
#define MHV_OVERLAY_H

#include <stdint.h>

#include "base/attn.h"
#include "base/status.h"
#include "fig/font.h"
#include "fig/render.h"
#include "fig/scene.h"

typedef struct {
    const uint8_t *rgb;         /* (height, width, 3): the picture the model saw */
    int width, height;          /* its size in pixels */
    int rows, cols, patch;      /* rows x cols patches of patch x patch pixels from the top
                                 * left (pixels of a last partial patch belong to none) */
    int extra;                  /* tokens before the patches ([CLS], [DIST], registers) */
    const char *const *names;   /* (extra + rows * cols,) token names: [CLS], r3c5 ... */
    int query;                  /* the token whose attention row is drawn; -1: the probe of an
                                 * attention-pooling head (SigLIP), whose "heads" hold its
                                 * attention as a single row each */
} mhv_overlay_input;

/* How much of the tint a pixel takes: out = (1 - ALPHA) * picture + ALPHA * colour. */
#define MHV_OVERLAY_ALPHA 0.6

/* rgb(height, width, 3): the picture tinted by weights (rows * cols,) over 0..vmax (a
 * patch's every pixel the same colour: one weight per patch, nothing interpolated). */
void mhv_overlay_blend(const mhv_overlay_input *im, mhv_cmap cmap, const float *weights,
                       float vmax, uint8_t *rgb);

/* One head's (or one aggregate view's, or a pooling head's) figure: the title of in
 * (mhv_render_head's; for the pooling probe "attention pooling, head 3"), the
 * tinted picture, the query patch framed, a colourbar (p->scale fixed: 0..1; otherwise
 * 0..the largest patch weight), and a note of the weights on the tokens outside the
 * picture. */
mhv_status mhv_render_overlay(const mhv_render_params *p, mhv_fontset *fs,
                              const mhv_fig_input *in, const mhv_overlay_input *im,
                              const mhv_head_attn *h, mhv_scene *out, mhv_error *err);

/* The heads of `layer` in a, one tinted picture each in a grid with one colourbar: 0..1
 * under p->scale fixed, else each picture over 0..its largest patch weight (printed in
 * its caption) and the bar is the fraction of it. */
mhv_status mhv_render_overlay_layer(const mhv_render_params *p, mhv_fontset *fs,
                                    const mhv_fig_input *in, const mhv_overlay_input *im,
                                    const mhv_attn *a, int layer, mhv_scene *out,
                                    mhv_error *err);

/* Every head in a: one row per layer present, one column per head of the model (in->
 * num_heads), each a thumbnail of the picture at patch resolution (a patch's mean colour)
 * tinted by the query's attention, over 0..its largest patch weight (p->scale fixed: 0..1);
 * one colourbar. */
mhv_status mhv_render_overlay_model(const mhv_render_params *p, mhv_fontset *fs,
                                    const mhv_fig_input *in, const mhv_overlay_input *im,
                                    const mhv_attn *a, mhv_scene *out, mhv_error *err);

#endif
