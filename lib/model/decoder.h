/* decoder.h - the forward pass of the decoder architectures: GPT-2 and the llama family
 * (llama, mistral, qwen2). mhv_forward / mhv_forward_run call it for those models; the
 * logits entry serves next-token checks (tests against reference implementations). */
#ifndef MHV_DECODER_H
#define MHV_DECODER_H

#include <stdint.h>

#include "model/forward.h"
#include "nn/kernels/kernels.h"
#include "model/model.h"
#include "base/pool.h"
#include "base/status.h"

/* Internal to forward.c: runs layers 0..last selected of a decoder model on ids(n) (already
 * validated against the config) and fills the slots of out (allocated by the caller with
 * one slot per selected head, in (layer, head) order). K is the kernel table; entries the
 * table lacks (NULL) fall back to the scalar ones. pool may be NULL (one thread). */
mhv_status mhv_decoder_run(const mhv_kernels *K, mhv_pool *pool, const mhv_model *m,
                           const int32_t *ids, int n, const mhv_heads *sel, mhv_attn *out,
                           mhv_error *err);

/* logits(n, vocab): every layer, the final norm and lm_head (tied or not) over ids(n), on
 * one thread with mhv_kernels_get(). MHV_EUNSUPPORTED for a BERT model or a base model
 * saved without lm_head.weight; MHV_EUSAGE for bad ids or too many tokens. */
mhv_status mhv_decoder_logits(const mhv_model *m, const int32_t *ids, int n, float *logits,
                              mhv_error *err);

#endif
