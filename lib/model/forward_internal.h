/* forward_internal.h - what the forward driver shares with its other files in lib/model
 * (kvcache.c), not part of the library's interface. */
#ifndef MHV_FORWARD_INTERNAL_H
#define MHV_FORWARD_INTERNAL_H

#include "model/forward.h"
#include "nn/blocks.h"

/* The blocks' context of c's passes (kernels, pool, activations). */
mhv_nn *mhv_forward_ctx_nn(mhv_forward_ctx *c);
/* The checks every pass of a model reading ids(n) makes: tokens, positions, vocabulary. */
mhv_status mhv_forward_check_ids(const mhv_model *m, const int32_t *ids, int n,
                                 mhv_error *err);
/* The checks of an encoder-decoder's pass over source src(ns) (feats: an audio or vision
 * model's features instead, src NULL) and target tgt(nt). */
mhv_status mhv_forward_check_seq2seq(const mhv_model *m, const int32_t *src, int ns,
                                     const float *feats, const int32_t *tgt, int nt,
                                     mhv_error *err);

#endif
