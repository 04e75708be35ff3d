/* render.h - attention heatmap figures: one head, one layer's heads, the whole model.
 *
 * A figure is laid out once as a scene (scene.h) and drawn from it by canvas.h (PNG) or
 * svg.h, so both formats show the same picture. All sizes are CSS pixels (1/96 inch)
 * multiplied by dpi / 96. */
#ifndef MHV_RENDER_H
#define MHV_RENDER_H

#include "fig/colormap.h"
#include "fig/font.h"
#include "base/attn.h"
#include "fig/label.h"
#include "fig/scene.h"
#include "base/status.h"

typedef enum {
    MHV_SCALE_FIXED = 0, /* 0..1 for every head, so heads compare (the default) */
    MHV_SCALE_HEAD,      /* 0..the head's largest weight */
    MHV_SCALE_ROW        /* each query row stretched to its largest weight */
} mhv_scale;

/* What a head figure draws (the layer grids and the overview are always matrices). */
typedef enum {
    MHV_VIEW_MATRIX = 0, /* the n x n heatmap (the default) */
    MHV_VIEW_LINES,      /* queries left, keys right, a line per weight (Clark et al. 2019);
                          * a layer's figure overlays its heads in distinct colours */
    MHV_VIEW_ROW         /* one query word's attention over the sentence as bars: the rows
                          * of mhv_fig_input.highlight (their mean), its columns marked */
} mhv_view;

typedef struct {
    mhv_cmap cmap;
    mhv_scale scale;
    int cell;       /* matrix cell side in CSS px; 0 = mhv_render_default_cell(n) */
    int values;     /* print each weight in cells big enough to hold it */
    int dpi;        /* 96 = one pixel per CSS px; 300 for print */
    const char *title; /* the title line of every figure instead of the default; NULL: default */
    int no_title;   /* no title line at all */
    int font_px;    /* token labels in CSS px, other text in proportion; 0 = from the cell */
    mhv_view view;
    float min_weight; /* lines view: weights below are not drawn */
    int svg_text;   /* SVG: labels as <text> naming the font instead of outlines */
    const char *quantity; /* what the weights are, for the colourbar and axis captions;
                             NULL: "attention weight" */
    const char *corner; /* a note drawn in the bottom-left corner of every figure (what was
                           done to the map, e.g. "pooled 4x4-token blocks: max"); NULL: none */
} mhv_render_params;

/* viridis, fixed scale, automatic cell, no values, 96 dpi, default titles, matrix view,
 * lines from weight 0.02. */
mhv_render_params mhv_render_default_params(void);
mhv_status mhv_view_parse(const char *s, mhv_view *out, mhv_error *err);

/* With p->values: 0 when the head figures of n tokens have cells big enough to print the
 * weights, else the smallest --cell that does (for a message: --values draws nothing in
 * smaller cells). */
int mhv_render_values_cell(const mhv_render_params *p, int n);
mhv_status mhv_scale_parse(const char *s, mhv_scale *out, mhv_error *err);

/* Query rows [row0, row1) and key columns [col0, col1) outlined in the single-head figure
 * (what `rank --render` links), note (e.g. "它 → 苹果") added to its title; empty ranges, the
 * default, draw nothing. */
typedef struct {
    int row0, row1, col0, col1;
    const char *note;
} mhv_highlight;

/* What a figure shows besides the weights. */
typedef struct {
    const char *model;              /* name in titles (mhv_modelname_of) */
    int num_layers, num_heads;      /* of the model: file name widths, overview columns */
    int causal;                     /* keys after the query are masked (decoders) */
    int kv_group;                   /* query heads per key/value head (GQA), 0 = none */
    const char *sentence;           /* recorded in the files' metadata */
    int n;                          /* tokens */
    const char *const *pieces;      /* (n,) vocabulary pieces */
    const unsigned char *special;   /* (n,) 1 for special tokens; NULL = none */
    mhv_label_kind kind;
    mhv_highlight highlight;        /* mhv_render_head only */
    int boundary;                   /* a sentence pair's second sentence starts at this token
                                       (a line before its row and column); 0 = none */
    int generated;                  /* tokens from this one on were generated (a decoder's
                                       continuation of its prompt): titles say so, and the
                                       caller sets boundary to it for the line; 0 = none */
    /* "mean" or "rollout": the heads are per-layer views (head -1, see rollout.h), titled
     * "layer l, mean of heads" / "rollout of layers 0..l"; NULL for real heads */
    const char *aggregate;
    /* Kept query rows (run --rows): with row_ids, every map is (nrows, n) and row r is the
     * query token at sentence position row_ids[r] (ascending), labelled row_pieces[r]
     * (row_special[r]: 1 for a special token; may be NULL); titles name the rows. The
     * matrix views only. NULL: square maps, rows labelled as the columns. */
    int nrows;
    const int *row_ids;
    const char *const *row_pieces;
    const unsigned char *row_special;
    /* With row_ids: column j holds the keys from sentence position key0 + j * key_block on
     * (a --window from key0, keys pooled in blocks): what the causal mask compares with
     * row_ids. 0, 0: column j is token j. */
    int key0, key_block;
} mhv_fig_input;

/* Cell side in CSS px for n tokens: the matrix aims at ~600 px, cells 10..36 px. */
int mhv_render_default_cell(int n);

/* Fills out (caller frees with mhv_scene_free; on failure out is empty). */
mhv_status mhv_render_head(const mhv_render_params *p, mhv_fontset *fs, const mhv_fig_input *in,
                           const mhv_head_attn *h, mhv_scene *out, mhv_error *err);
/* ESM's contact map w(in->n, in->n) (analysis/contacts.h: residues, the pieces of in) as a
 * single-head figure: axes "residue", colourbar "contact probability", titled
 * "model — contacts predicted from attention (ESM contact head)" unless p's title says
 * otherwise. */
mhv_status mhv_render_contacts(const mhv_render_params *p, mhv_fontset *fs,
                               const mhv_fig_input *in, const float *w, mhv_scene *out,
                               mhv_error *err);
/* The heads of `layer` present in a, in a grid with one shared colourbar. */
mhv_status mhv_render_layer(const mhv_render_params *p, mhv_fontset *fs,
                            const mhv_fig_input *in, const mhv_attn *a, int layer,
                            mhv_scene *out, mhv_error *err);
/* Thumbnails, one row per layer present in a, one column per head of the model. */
mhv_status mhv_render_model(const mhv_render_params *p, mhv_fontset *fs,
                            const mhv_fig_input *in, const mhv_attn *a, mhv_scene *out,
                            mhv_error *err);

/* The line view (Clark et al. 2019): queries in a left column, keys in a right one, a line
 * for each weight of at least p->min_weight, its width and opacity the weight under
 * p->scale. heads(k,) are overlaid in distinct colours with a legend (a layer's figure);
 * in->highlight's rows and columns are marked beside their labels. (lines.c) */
mhv_status mhv_render_lines(const mhv_render_params *p, mhv_fontset *fs,
                            const mhv_fig_input *in, const mhv_head_attn *const *heads, int k,
                            mhv_scene *out, mhv_error *err);
/* The line view of cross-attention heads: tgt's tokens (the queries) on the left, src's
 * (the keys) on the right, heads[q]->w (tgt->n, src->n). (lines.c) */
mhv_status mhv_render_lines_cross(const mhv_render_params *p, mhv_fontset *fs,
                                  const mhv_fig_input *tgt, const mhv_fig_input *src,
                                  const mhv_head_attn *const *heads, int nh, mhv_scene *out,
                                  mhv_error *err);
/* The row view: the attention of the query tokens in->highlight.row0..row1 (their mean row)
 * over every key as bars, the keys col0..col1 (when given) in a second colour, the title
 * naming in->highlight.note. No rows is MHV_EUSAGE. (lines.c) */
mhv_status mhv_render_row(const mhv_render_params *p, mhv_fontset *fs, const mhv_fig_input *in,
                          const mhv_head_attn *h, mhv_scene *out, mhv_error *err);
/* The row view of a cross-attention head: the target word tgt->highlight.row0..row1's mean
 * row over src's tokens, h->w (tgt->n, src->n). (lines.c) */
mhv_status mhv_render_row_cross(const mhv_render_params *p, mhv_fontset *fs,
                                const mhv_fig_input *tgt, const mhv_fig_input *src,
                                const mhv_head_attn *h, mhv_scene *out, mhv_error *err);

/* t(n, n) = the colormap position of each weight w(n, n) under p->scale; masked cells
 * (causal and key j > query i) get -1. */
void mhv_render_norm(const mhv_render_params *p, int causal, const float *w, int n, float *t);
/* The same for a rectangular map w(rows, cols) (cross-attention), nothing masked. */
void mhv_render_norm_rect(const mhv_render_params *p, const float *w, int rows, int cols,
                          float *t);

#endif
