/* interp.h - PyTorch's bicubic resize of a grid of vectors (F.interpolate(x, size=(oh, ow),
 * mode="bicubic", align_corners=False), with or without antialias=True), as the vision
 * transformers of transformers resize their position embeddings to another patch grid
 * (interpolate_pos_encoding); and its bilinear one (mode="bilinear"), as BEiT resizes its
 * relative position bias tables. Computed in double, separably: along the columns, then along
 * the rows (torch's order for the antialiased resize; for the plain one the order changes
 * nothing but the last bits).
 *
 * Plain: each output takes 4 inputs at floor(src) - 1 .. floor(src) + 2, src = (o + 0.5) *
 *   in / out - 0.5, weighted by Keys' cubic with a = -0.75; indices outside the grid are
 *   clamped to its border (so a border input may count twice).
 * Antialiased: PIL's filter (Keys' cubic with a = -0.5) stretched by the shrink factor when
 *   shrinking (support 2 * in / out), over the inputs within reach of the centre (o + 0.5) *
 *   in / out, the weights divided by their sum (none clamped: the ones outside are dropped).
 * Bilinear: each output takes inputs floor(src) and the next (the last one at the border),
 *   src = max(0, (o + 0.5) * in / out - 0.5), weighted 1 - frac(src) and frac(src). */
#ifndef MHV_INTERP_H
#define MHV_INTERP_H

#include "base/status.h"

typedef enum {
    MHV_INTERP_BICUBIC = 0,     /* antialias=False (ViT, DeiT, CLIP, SigLIP, DINOv2) */
    MHV_INTERP_BICUBIC_AA = 1,  /* antialias=True (DINOv2 with registers) */
    MHV_INTERP_BILINEAR = 2,    /* mode="bilinear", antialias=False (BEiT's bias tables) */
    MHV_INTERP_BILINEAR_AA = 3, /* mode="bilinear", antialias=True: the triangle stretched by
                                 * the shrink factor, weights normalised (SigLIP 2's positions,
                                 * which transformers resizes with these weights itself) */
} mhv_interp_mode;

/* out(oh, ow, dim) from in(ih, iw, dim): rows of dim values per grid cell, row-major over
 * the grid (as patch tokens are). Sides from 1 to 4096, dim >= 1. MHV_ENOMEM when its
 * work space cannot be had; MHV_EUSAGE for sizes out of range. */
mhv_status mhv_interp_grid(mhv_interp_mode mode, const double *in, int ih, int iw, int dim,
                           double *out, int oh, int ow, mhv_error *err);

#endif
