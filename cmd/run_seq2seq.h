/* run_seq2seq.h - `mhaviz run` on encoder-decoder models (T5, BART, Marian): source and
 * target from --pairs, or the target generated (--generate N); the encoder's, the decoder's
 * and the cross-attention's heads into the JSON report and the figures. */
#ifndef MHV_RUN_SEQ2SEQ_H
#define MHV_RUN_SEQ2SEQ_H

#include "cli.h"
#include "run_figures.h"
#include <stdint.h>

#include "analysis/weighting.h"
#include "analysis/zoom.h"
#include "base/dtype.h"

typedef struct {
    const char *heads, *file, *out;
    cli_input_mode mode;
    int pairs;          /* --pairs: lines are SOURCE<TAB>TARGET */
    int generate;       /* --generate N: > 0, the target is transformers' generate() with
                           max_new_tokens N under the model's generation settings */
    int greedy;         /* --greedy: num_beams 1, do_sample false */
    int align_layer;    /* --align-layer L, or -1: the last decoder layer */
    const char *src_lang, *tgt_lang; /* --src-lang, --tgt-lang (mBART), or NULL */
    const char *aggregate; /* --aggregate mean: per stack and layer the mean of the heads,
                              instead of the heads; NULL */
    int truncate;       /* --truncate: sources and targets cut to the model's positions */
    int safetensors;    /* --format safetensors: OUT/<stem>[-k].safetensors per line */
    mhv_dtype dtype;    /* --dtype of those files */
    uint64_t max_memory; /* --max-memory in bytes (0: no limit), when max_memory_set; else
                            the available memory */
    int max_memory_set;
    int max_pixels;     /* --max-pixels P: figures pooled to fit (0: none) */
    int win0, win1;     /* --window A:B on the source's tokens (figures); win1 0: none */
    mhv_pool_kind pool; /* --pool */
    mhv_weighting weighting; /* --weighting (the forward context computes its value norms) */
    const char *rows;   /* --rows SPEC: resolved on the source for the encoder's rows, on the
                           decoder's input for the decoder's and the cross-attention's; NULL */
    const char *global; /* --global SPEC: the source's tokens with global attention (LED's
                           encoder, run_global.h), or NULL */
    const run_fig_opts *fig;
} run_s2s_opts;

/* Runs every line of o->file through m (an encoder-decoder) and writes OUT/<stem>.json and
 * the figures as o->fig asks. */
mhv_status run_seq2seq(const run_s2s_opts *o, mhv_model *m, const mhv_tok *tok,
                       mhv_forward_ctx *fc, mhv_error *err);

#endif
