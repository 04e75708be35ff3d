/* figures.h - the image files of one sentence: OUT/<stem>/L05-H03.png, L05.png, model.png
 * (and .svg beside them), each written to a temporary file and renamed, and a record of what
 * was written so a run that fails later can take it all back. */
#ifndef MHV_FIGURES_H
#define MHV_FIGURES_H

#include "fig/font.h"
#include "base/attn.h"
#include "fig/render.h"
#include "base/status.h"

enum { MHV_FIG_PNG = 1, MHV_FIG_SVG = 2, MHV_FIG_PDF = 4 };

/* Paths this run created, in creation order: files and the directories made for them. */
typedef struct {
    char **path;    /* (n,) owned */
    unsigned char *is_dir;
    int n, cap;
} mhv_written;

/* Records a path (MHV_ENOMEM when it cannot; the caller should then undo). */
mhv_status mhv_written_add(mhv_written *w, const char *path, int is_dir, mhv_error *err);
/* Removes everything recorded, newest first (directories only when empty), and forgets it. */
void mhv_written_undo(mhv_written *w);
void mhv_written_free(mhv_written *w);

/* Writes the figures of one sentence into dir (created if needed): per captured head
 * L<l>-H<h>, per layer L<l>, and "model" when more than one layer was captured; layer and
 * head numbers are 0-based and zero-padded to at least two digits. `formats` is a mask of
 * MHV_FIG_*. Every file and created directory is recorded in w, also on failure (the file
 * being written when it failed is already removed). */
mhv_status mhv_figures_write(const char *dir, int formats, const mhv_render_params *p,
                             mhv_fontset *fs, const mhv_fig_input *in, const mhv_attn *a,
                             mhv_written *w, mhv_error *err);

/* Only the single-head figures, L<l>-H<h> for each head in a (no layer grids, no
 * overview): the heads `rank --render` picked, drawn with in->highlight. With in->aggregate
 * (which mhv_figures_write hands on to this), a holds one view per layer and the files are
 * L<l>-mean or L<l>-rollout, which no head figure can be called. Recorded in w likewise. */
mhv_status mhv_figures_write_heads(const char *dir, int formats, const mhv_render_params *p,
                                   mhv_fontset *fs, const mhv_fig_input *in, const mhv_attn *a,
                                   mhv_written *w, mhv_error *err);

/* Renders every figure of a sentence to memory without writing files (PNG rasters and SVG
 * scenes are built but discarded): what `make bench` times. */
mhv_status mhv_figures_render_only(int formats, const mhv_render_params *p, mhv_fontset *fs,
                                   const mhv_fig_input *in, const mhv_attn *a, mhv_error *err);

/* Writes scene s as dir/base.{png,svg,pdf} (formats), recorded in w. */
mhv_status mhv_figures_emit(const char *dir, const char *base, int formats,
                            const mhv_render_params *p, mhv_fontset *fs, const mhv_scene *s,
                            mhv_written *w, mhv_error *err);
/* Makes dir and its missing parents, recorded in w. */
mhv_status mhv_figures_make_dirs(const char *dir, mhv_written *w, mhv_error *err);

/* ---- encoder-decoder sentences (seq2seq.c) ---- */

/* The cross-attention map w(tgt->n, src->n) as a rectangle: target tokens down the side,
 * source tokens along the top, axis names "source" and "target", a colourbar; title_dflt
 * unless --title / --no-title say otherwise. */
mhv_status mhv_render_cross(const mhv_render_params *p, mhv_fontset *fs,
                            const mhv_fig_input *tgt, const mhv_fig_input *src,
                            const char *title_dflt, const float *w, mhv_scene *out,
                            mhv_error *err);
/* The figures of one encoder-decoder sentence (a from mhv_forward_run_seq2seq) in dir:
 * E<l>-H<h> and E<l> (encoder heads and layers, src's tokens), D<l>-H<h> and D<l> (the
 * decoder's, tgt's tokens, masked above the diagonal), X<l>-H<h> (cross-attention heads),
 * X<l> (the mean of a layer's captured cross heads) and "align" (that mean for decoder layer
 * align_layer). Recorded in w. */
mhv_status mhv_figures_write_seq2seq(const char *dir, int formats, const mhv_render_params *p,
                                     mhv_fontset *fs, const mhv_fig_input *src,
                                     const mhv_fig_input *tgt, const mhv_attn *a,
                                     int enc_layers, int dec_layers, int align_layer,
                                     mhv_written *w, mhv_error *err);

#endif
