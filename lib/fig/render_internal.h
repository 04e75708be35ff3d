/* render_internal.h - what render.c shares with the other figure layouts of lib/fig
 * (lines.c): label drawing, titles, metadata, the thinned-labels note. Not for cmd/. */
#ifndef MHV_RENDER_INTERNAL_H
#define MHV_RENDER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fig/render.h"

extern const uint8_t mhv_fig_ink[3];    /* titles, token text */
extern const uint8_t mhv_fig_tick[3];   /* axes, ticks, notes */

float mhv_fig_label_width(mhv_fontset *fs, const mhv_label *l, float px);
/* A label's styled parts from the pen at (x, y) on the baseline; rot turns it to read up. */
void mhv_fig_label_draw(mhv_scene *s, mhv_fontset *fs, const mhv_label *l, float x, float y,
                        float px, int rot);
/* Appends " — query rows 3-5, 29" to t(size) when in keeps rows (in->row_ids), as the
 * matrix views' titles say it. */
void mhv_fig_rows_title(const mhv_fig_input *in, char *t, size_t size);
/* "model — layer 5, head 3" (aggregate views and highlight notes as mhv_render_head has). */
void mhv_fig_head_title(const mhv_fig_input *in, const mhv_head_attn *h, char *t, size_t size);
/* --title's, NULL with --no-title, else dflt. */
const char *mhv_fig_title_of(const mhv_render_params *p, const char *dflt);
/* The metadata every figure carries (Title, Software, Model, Sentence, Comment). */
void mhv_fig_meta(mhv_scene *s, const mhv_render_params *p, const mhv_fig_input *in,
                  const char *title);
/* The corner note of thinned labels ("labels: every 2nd token ..."), its height. */
void mhv_fig_note(mhv_scene *s, mhv_fontset *fs, const mhv_render_params *p, int step,
                  float x, float bottom);
float mhv_fig_note_h(mhv_fontset *fs, const mhv_render_params *p, int step);
/* 1 for a label of one East Asian wide character (kept upright among turned labels). */
int mhv_fig_one_wide_char(const mhv_label *l);
/* The colourbar of the matrix figures: its width with ticks and caption, and the bar
 * from vmax (top) to 0 at (x, y), h tall. */
float mhv_fig_cbar_width(const mhv_render_params *p, mhv_fontset *fs, float vmax,
                         const char *caption);
void mhv_fig_cbar(mhv_scene *s, const mhv_render_params *p, mhv_fontset *fs, float x, float y,
                  float h, float vmax, const char *caption);
/* Grid columns for k panels of a layer grid (near square, fewest empty slots). */
int mhv_fig_grid_cols(int k);
/* Checks s for allocation failures (freeing it on failure). */
mhv_status mhv_fig_finish(mhv_scene *s, mhv_error *err);

#endif
