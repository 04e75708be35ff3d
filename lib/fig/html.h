/* html.h - the interactive explorer: one self-contained HTML file per input file, written
 * sentence by sentence (OUT/<stem>.html).
 *
 * The file holds its own CSS and JavaScript (lib/fig/html_app.{css,js}, embedded at build
 * time) and the weights, quantised to 8 bits on a square-root scale (q = round(255 sqrt(w)),
 * w = (q / 255)^2: within 0.4% of the weight, finer near 0 where most weights are) and base64
 * encoded, one string per head, decoded by the page only when a view needs that head. It
 * loads nothing from the network. The exact weights are in the JSON output. */
#ifndef MHV_HTML_H
#define MHV_HTML_H

#include <stdio.h>

#include "fig/colormap.h"
#include "fig/render.h"
#include "base/attn.h"
#include "base/status.h"

/* What the page shows first and says about the model. */
typedef struct {
    const char *model;      /* title (mhv_modelname_of or --model-name) */
    const char *source;     /* input file name, shown under the title */
    const char *title;      /* the page title; NULL = "<model> — <source>" */
    int num_layers, num_heads;
    int causal;             /* keys after the query are masked (hatched, as in the PNGs) */
    mhv_cmap cmap;          /* initial colormap and scale; the page can change both */
    mhv_scale scale;
    int dec_layers;         /* encoder-decoder models: the decoder's layers (num_layers are
                               the encoder's), and the page has a stack selector; 0 others */
    int sinks;              /* the rows sum to less than 1 (attention sinks): the note says so */
} mhv_html_info;

/* Writes the page up to the first sentence (`name` for messages). */
mhv_status mhv_html_begin(FILE *f, const char *name, const mhv_html_info *info, mhv_error *err);
/* One sentence: its tokens (from in: n, pieces, special, kind, sentence), the captured heads
 * of a (with a->row_ids only those query rows: rows x tokens maps, as run --rows keeps them;
 * agg then keeps the same rows; in->boundary, a sentence pair's, drawn as a line) and, when
 * agg is not NULL, its per-layer views (head -1) named agg_name ("mean",
 * "rollout"). kv_group from a is shown in head names. */
mhv_status mhv_html_sentence(FILE *f, const char *name, const mhv_fig_input *in,
                             const mhv_attn *a, const mhv_attn *agg, const char *agg_name,
                             mhv_error *err);
/* Long sentences: past MHV_HTML_WHOLE_MAX tokens a page holding every cell would grow with
 * n^2 (4 MB a head at 2,048 tokens), so it holds instead, per head, an overview pooled to at
 * most MHV_HTML_OVERVIEW_MAX blocks a side and one zoom window of at most MHV_HTML_ZOOM_MAX
 * tokens at full resolution: at most 4/3 (128^2 + 512^2) bytes = 371 KiB a head (about half
 * for a decoder, whose masked half is not stored), whatever n is. */
enum { MHV_HTML_WHOLE_MAX = 512, MHV_HTML_OVERVIEW_MAX = 128, MHV_HTML_ZOOM_MAX = 512 };

/* What the page of a long sentence holds: pooled, a's maps in blocks of `block` tokens
 * (pooled->n blocks; with a->row_ids the kept rows stay rows and only keys are pooled),
 * labelled labels(pooled->n), pooled by `pool` ("max", "mean"); zoom, tokens t0..t1-1 of a's
 * maps at full resolution (rows: those of a->row_ids inside, as sentence positions); the
 * same two of agg's views when the sentence has them (pooled_agg, zoom_agg). */
typedef struct {
    const mhv_attn *pooled, *pooled_agg;
    int block;
    const char *pool;
    const char *const *labels;
    const mhv_attn *zoom, *zoom_agg;
    int t0, t1;
} mhv_html_long;

/* mhv_html_sentence for a long sentence: the tokens of in, an overview and a zoom (lg)
 * instead of every cell. */
mhv_status mhv_html_sentence_long(FILE *f, const char *name, const mhv_fig_input *in,
                                  const mhv_html_long *lg, int kv_group, const char *agg_name,
                                  mhv_error *err);

/* One sentence pair of an encoder-decoder model (a page begun with dec_layers > 0): the
 * source's tokens (src), the decoder input's (tgt) and every captured head of a, each
 * tagged with its stack: encoder (src x src), decoder (tgt x tgt, causal), cross (tgt rows
 * x src columns). agg (may be NULL): per-layer views (head -1) of each stack, named
 * agg_name ("mean"). */
mhv_status mhv_html_sentence_seq2seq(FILE *f, const char *name, const mhv_fig_input *src,
                                     const mhv_fig_input *tgt, const mhv_attn *a,
                                     const mhv_attn *agg, const char *agg_name,
                                     mhv_error *err);
/* The application script and the end of the page. */
mhv_status mhv_html_end(FILE *f, const char *name, mhv_error *err);

/* The quantisation of one weight (exposed for tests): NaN and w <= 0 give 0, w >= 1 255. */
unsigned char mhv_html_quant(float w);

#endif
