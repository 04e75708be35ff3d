/* run_generate.h - run --generate N on a decoder-only model (a causal LM with its head,
 * LLaVA with its image): each line's tokens are the prompt, transformers' generate()
 * continues it, and the run draws the whole sequence as model(prompt + generated,
 * output_attentions=True) gives it. */
#ifndef MHV_RUN_GENERATE_H
#define MHV_RUN_GENERATE_H

#include "cli.h"
#include "gen_settings.h"
#include "model/forward.h"

typedef struct {
    cli_gen_settings s;
    char json[2048]; /* the report's "generation" object */
    /* a model that reads an image with each prompt (LLaVA): the preprocessed image (the
     * caller's), generate() with pixel_values; NULL: none */
    const float *px;
    int image_h, image_w;
} run_dgen;

/* The settings of m (gen_settings.h: max_new_tokens max_new, --greedy); says on stderr
 * what --greedy changed. */
mhv_status run_dgen_open(run_dgen *g, const mhv_model *m, int max_new, int greedy,
                         mhv_error *err);
void run_dgen_close(run_dgen *g);

/* MHV_EINPUT, naming its line, for a prompt of encs(in->n) whose continuation could pass
 * the model's positions. */
mhv_status run_dgen_check(const run_dgen *g, const mhv_model *m, const mhv_input *in,
                          const mhv_encoding *encs, mhv_error *err);
/* Replaces each prompt encs[i] of in by the prompt and the tokens generate() adds to it
 * (their pieces from tok, or their ids without one; no spans), with generated set to the
 * prompt's length. Checks the prompts first (run_dgen_check); a failure names its line. */
mhv_status run_dgen_all(const run_dgen *g, mhv_forward_ctx *fc, const mhv_model *m,
                        const mhv_tok *tok, const mhv_input *in, mhv_encoding *encs,
                        mhv_error *err);

#endif
