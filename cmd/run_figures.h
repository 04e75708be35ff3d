/* run_figures.h - the figure side of `mhaviz run`: option values, per-sentence output and
 * the one warning about characters no font has. */
#ifndef MHV_RUN_FIGURES_H
#define MHV_RUN_FIGURES_H

#include "fig/figures.h"
#include "model/forward.h"
#include "text/input.h"
#include "model/model.h"
#include "fig/render.h"
#include "tok/tokenizer.h"

typedef struct {
    int formats;                /* MHV_FIG_* mask */
    int json;                   /* --format includes json */
    mhv_render_params render;
    const char *font;           /* --font FILE or NULL */
    const char *aggregate;      /* run --aggregate: "mean", "rollout", or NULL */
} run_fig_opts;

/* Parses --format's comma list into o (png is the default when none is given). Returns 0,
 * or prints a usage error and returns EXIT_USAGE. */
int run_fig_parse_format(const char *list, run_fig_opts *o);
/* Handles --colormap (c), --scale (s), --cell (C), --values (v), --font (F), --dpi (d);
 * returns 0, 1 when the option is not one of these, or EXIT_USAGE after a usage error. */
int run_fig_option(int c, const char *arg, run_fig_opts *o);

typedef struct {
    const run_fig_opts *o;
    const mhv_model *m;
    const mhv_tok *tok;
    mhv_fontset *fs;
    char model_name[256];
    mhv_written written;
} run_figs;

/* Opens the fonts when an image format was asked for. tok may be NULL (ids without a
 * tokenizer): labels are then the pieces as given, none special. */
mhv_status run_figs_begin(run_figs *r, const run_fig_opts *o, const mhv_model *m,
                          const mhv_tok *tok, mhv_error *err);
/* Writes the figures of sentence `index` (0-based) into OUT/<stem> (the first sentence) or
 * OUT/<stem>-<index+1>. */
mhv_status run_figs_sentence(run_figs *r, const char *out, const char *stem, int index,
                             const mhv_sentence *s, const mhv_encoding *enc,
                             const mhv_attn *attn, mhv_error *err);
/* The same for `rank --render`: only the single-head figures of the heads in attn, with
 * hl's rows and columns boxed. */
mhv_status run_figs_heads(run_figs *r, const char *out, const char *stem, int index,
                          const mhv_sentence *s, const mhv_encoding *enc, const mhv_attn *attn,
                          const mhv_highlight *hl, mhv_error *err);
/* ok: warns once about characters drawn as boxes; !ok: removes every file and directory the
 * figures wrote. Frees r either way. */
void run_figs_end(run_figs *r, int ok);

#endif
