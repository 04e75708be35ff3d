/* run_figures.h - the figure side of `mhaviz run`: option values, per-sentence output and
 * the one warning about characters no font has. */
#ifndef MHV_RUN_FIGURES_H
#define MHV_RUN_FIGURES_H

#include "analysis/weighting.h"
#include "base/fileio.h"
#include "fig/figures.h"
#include "model/forward.h"
#include "text/input.h"
#include "model/model.h"
#include "fig/render.h"
#include "tok/tokenizer.h"

typedef struct {
    int formats;                /* MHV_FIG_* mask */
    int json;                   /* --format includes json */
    int html;                   /* --format includes html: OUT/<stem>.html */
    mhv_render_params render;
    const char *font;           /* --font FILE or NULL */
    const char *aggregate;      /* run --aggregate: "mean", "rollout", or NULL */
    const char *model_name;     /* --model-name: the model in titles instead of its directory */
    const char *row_word;       /* run --row WORD: head figures as that word's row */
    const char *weighting;      /* --weighting norm|norm-out: named in titles; NULL or "attn" */
    int scale_set, view_set;    /* --scale, --view given (vision runs have other defaults) */
} run_fig_opts;

/* The captions' name for what --weighting W draws: NULL (attention weight) for attn. */
const char *run_fig_quantity(mhv_weighting w);

/* The figure options every command that draws takes (run, rank --render, stats --format
 * png), as getopt_long entries with codes from FIG_OPT_FIRST; put RUN_FIG_LONGOPTS in the
 * command's table and hand unknown codes to run_fig_option. */
enum {
    FIG_OPT_FIRST = 0x200,
    FIG_OPT_COLORMAP = FIG_OPT_FIRST, FIG_OPT_SCALE, FIG_OPT_CELL, FIG_OPT_VALUES, FIG_OPT_DPI,
    FIG_OPT_FONT, FIG_OPT_TITLE, FIG_OPT_NO_TITLE, FIG_OPT_FONT_SIZE, FIG_OPT_MODEL_NAME,
    FIG_OPT_VIEW, FIG_OPT_MIN_WEIGHT, FIG_OPT_SVG_TEXT, FIG_OPT_LAST
};
#define RUN_FIG_LONGOPTS                                                                    \
    {"colormap", required_argument, 0, FIG_OPT_COLORMAP},                                   \
    {"scale", required_argument, 0, FIG_OPT_SCALE},                                         \
    {"cell", required_argument, 0, FIG_OPT_CELL},                                           \
    {"values", no_argument, 0, FIG_OPT_VALUES},                                             \
    {"dpi", required_argument, 0, FIG_OPT_DPI},                                             \
    {"font", required_argument, 0, FIG_OPT_FONT},                                           \
    {"title", required_argument, 0, FIG_OPT_TITLE},                                         \
    {"no-title", no_argument, 0, FIG_OPT_NO_TITLE},                                         \
    {"font-size", required_argument, 0, FIG_OPT_FONT_SIZE},                                 \
    {"model-name", required_argument, 0, FIG_OPT_MODEL_NAME},                               \
    {"view", required_argument, 0, FIG_OPT_VIEW},                                           \
    {"min-weight", required_argument, 0, FIG_OPT_MIN_WEIGHT},                               \
    {"svg-text", no_argument, 0, FIG_OPT_SVG_TEXT}

/* Parses --format's comma list into o (png is the default when none is given). Returns 0,
 * or prints a usage error and returns EXIT_USAGE. */
int run_fig_parse_format(const char *list, run_fig_opts *o);
/* Handles the FIG_OPT_* options for command cmd ("run" ... in messages); returns 0, 1 when
 * c is not one of them, or EXIT_USAGE after a usage error. */
int run_fig_option(const char *cmd, int c, const char *arg, run_fig_opts *o);
/* "colormap" for FIG_OPT_COLORMAP ... (for messages). */
const char *run_fig_option_name(int c);
/* After parsing: --values with cells too small to print them says so on stderr, with the
 * --cell that would (n: the longest sentence's tokens). */
void run_fig_values_warn(const run_fig_opts *o, int n);

/* --max-pixels P: the smallest block of tokens whose pooled map of n tokens (ceil(n / b)
 * cells of --cell or the default cell side) is at most P pixels wide; 1 when n fits. */
int run_fig_block(const run_fig_opts *o, int n, int max_pixels);

typedef struct {
    const run_fig_opts *o;
    const mhv_model *m;
    const mhv_tok *tok;
    mhv_fontset *fs;
    char model_name[256];
    mhv_written written;
    mhv_out html;               /* OUT/<stem>.html while it is written */
    int html_open;
    const char *html_source;    /* the input file the page is of, as given ("-": stdin) */
    int row_sentences, row_missing; /* run --row: sentences seen, and lacking the word */
    int rows_empty;                 /* run --rows: sentences where it kept no row */
    /* an encoder-decoder's sentences where --rows kept rows on one side only, and which of
     * the empty side's stacks had heads whose figures were left out (mhv_stack bits) */
    int rows_no_src, rows_no_tgt;
    unsigned rows_left_out;
    /* Set around run_figs_sentence for a map that is not the sentence's own square (run
     * --window, --max-pixels, --rows); all 0 otherwise: */
    const char *corner;             /* drawn in the figures' corner (the pooling) */
    const mhv_encoding *row_enc;    /* the whole sentence, whose tokens label kept rows
                                       (attn->row_ids); NULL: enc */
    int key0, key_block;            /* column j of the maps starts at token key0 +
                                       j * key_block (mhv_fig_input) */
    /* the page of a sentence longer than MHV_HTML_WHOLE_MAX: --window as its zoom (win1 0:
     * none), --pool mean */
    int html_win0, html_win1, html_pool_mean;
    /* the maps of a causal model that attend both ways in part (PaliGemma's prefix, Gemma 3's
     * image block): drawn and stored whole, nothing hatched as masked */
    int not_causal;
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
/* ESM's contacts p(L, L) of sentence `index` (analysis/contacts.h: its tokens 1 .. L) as
 * contacts.png / .svg / .pdf in the sentence's directory; nothing without image formats or
 * residues. */
mhv_status run_figs_contacts(run_figs *r, const char *out, const char *stem, int index,
                            const mhv_sentence *s, const mhv_encoding *enc, const float *p,
                            int L, mhv_error *err);
/* The rows an encoder-decoder run kept (run --rows), with the whole source and decoder
 * input that label them (the figures' own encodings may be pooled blocks). */
typedef struct {
    const mhv_s2s_rows *rows;
    const mhv_encoding *src, *tgt;
} run_s2s_rows;

/* An encoder-decoder sentence's figures (mhv_figures_write_seq2seq) into OUT/<stem>[-k];
 * rows NULL: every row (attn's maps are cut to rows->rows otherwise). */
mhv_status run_figs_seq2seq(run_figs *r, const char *out, const char *stem, int index,
                            const mhv_sentence *src, const mhv_encoding *enc_src,
                            const mhv_sentence *tgt, const mhv_encoding *enc_tgt,
                            const mhv_tok *tgt_tok, const mhv_attn *attn, int align_layer,
                            const run_s2s_rows *rows, mhv_error *err);
/* --format html: opens OUT/<stem>.html (source: the input file's name, shown on the page);
 * a no-op without html. */
mhv_status run_figs_html_begin(run_figs *r, const char *out, const char *stem,
                               const char *source, mhv_error *err);
/* Adds a sentence to the page: the heads of attn and, when not NULL, the per-layer views of
 * agg (run --aggregate). */
mhv_status run_figs_html_sentence(run_figs *r, const mhv_sentence *s, const mhv_encoding *enc,
                                  const mhv_attn *attn, const mhv_attn *agg, mhv_error *err);
/* Ends the page and renames it into place (recorded, so a later failure removes it). */
/* One sentence pair of an encoder-decoder model into the page (see
 * mhv_html_sentence_seq2seq). */
mhv_status run_figs_html_seq2seq(run_figs *r, const mhv_sentence *src,
                                 const mhv_encoding *enc_src, const mhv_sentence *tgt,
                                 const mhv_encoding *enc_tgt, const mhv_tok *tgt_tok,
                                 const mhv_attn *attn, const mhv_attn *agg, mhv_error *err);
mhv_status run_figs_html_commit(run_figs *r, mhv_error *err);
/* ok: warns once about characters drawn as boxes; !ok: removes every file and directory the
 * figures wrote (and a page being written). Frees r either way. */
void run_figs_end(run_figs *r, int ok);

#endif
