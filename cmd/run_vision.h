/* run_vision.h - `mhaviz run` on vision transformers (ViT, DeiT, DINOv2, CLIP, SigLIP ...): the input file
 * lists images (PNG), one path a line, or is itself a .png; each image is preprocessed as
 * the model's preprocessor_config.json says and its heads are written to OUT/<stem>.json
 * and drawn over the image. */
#ifndef MHV_RUN_VISION_H
#define MHV_RUN_VISION_H

#include "analysis/rollout.h"
#include "cli.h"
#include "run_figures.h"

typedef struct {
    const char *heads, *file, *out;
    const run_fig_opts *fig;
    int no_resize;      /* --no-resize: images taken as they are */
    int interpolate_pos; /* --interpolate-pos: positions resized to another grid (model.h) */
    int query;          /* --query: the token whose attention is drawn: 0 ([CLS]) or a patch */
    int query_r, query_c; /* --query r,c: that patch (when query_patch) */
    int query_patch;
    int query_pool;     /* --query pool: the attention-pooling head's probe (SigLIP) */
    int query_cls;      /* --query cls given (refused for a model without [CLS]) */
    int aggregate;      /* --aggregate: one overlay per layer, L05-mean.png ... */
    mhv_agg agg;
} run_vis_opts;

mhv_status run_vision(const run_vis_opts *o, mhv_model *m, mhv_forward_ctx *fc, mhv_error *err);

/* A vision command's input FILE: the file itself when named .png, .jpg or .jpeg, else its
 * lines, each an image path (run, stats). */
mhv_status run_vision_input(const char *file, mhv_input *in, mhv_error *err);
/* The patch grid of an image of height x width pixels for m (mhv_model_image_grid, asked
 * with interpolate_pos); a refusal that --interpolate-pos would lift says so. */
mhv_status run_vision_grid(const mhv_model *m, int height, int width, int interpolate_pos,
                           mhv_image_grid *g, mhv_error *err);
/* The path of image line s of list file `list` (the whitespace around it dropped): as given
 * when it exists (or is absolute), else beside the list when it exists there, else as given
 * (for the error). */
void run_vision_path(const char *list, const mhv_sentence *s, char *buf, size_t size);

#endif
