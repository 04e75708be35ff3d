/* rank_seq2seq.h - `mhaviz rank` on encoder-decoder models: the heads of one stack
 * (--stack enc|dec|cross) ranked by the attention --from pays to --to over sentence pairs. */
#ifndef MHV_RANK_SEQ2SEQ_H
#define MHV_RANK_SEQ2SEQ_H

#include "cli.h"
#include "analysis/rank.h"
#include "analysis/weighting.h"

typedef struct {
    const char *from, *to, *heads, *file;
    int top, nth, to_nth, json;
    mhv_rank_match how;
    mhv_stack stack;    /* ENCODER, DECODER or CROSS */
    const char *src_lang, *tgt_lang; /* --src-lang, --tgt-lang (mBART), or NULL */
    mhv_weighting weighting; /* --weighting: scores on the reweighted maps */
} rank_s2s_opts;

/* Reads SOURCE<TAB>TARGET lines of o->file and prints the ranking on stdout. --from is
 * found in the target (decoder, cross) or the source (encoder); --to in the source (encoder,
 * cross) or the target (decoder). */
mhv_status rank_seq2seq(const rank_s2s_opts *o, const mhv_model *m, const mhv_tok *tok,
                        mhv_error *err);

#endif
