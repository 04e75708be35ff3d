/* weighting.h - attention weighted by the norms of what it moves (Kobayashi et al. 2020,
 * "Attention is Not Only a Weight: Analyzing Transformers with Vector Norms").
 *
 * Head h's output at query i is sum_j alpha_ij v_j (then W_O^h, its slice of the output
 * projection). A large alpha_ij on a key whose value vector is tiny moves nothing, so
 *   norm:     ||alpha_ij v_j||       = alpha_ij ||v_j||
 *   norm-out: ||alpha_ij v_j W_O^h|| = alpha_ij ||v_j W_O^h||
 * measure what key j actually contributes. The maps are these products with each query
 * row divided by its sum, so they read like attention (rows sum to 1) in figures, rank,
 * stats and the layer aggregates; the products themselves are kept for the JSON. */
#ifndef MHV_WEIGHTING_H
#define MHV_WEIGHTING_H

#include "base/attn.h"
#include "base/status.h"

typedef enum { MHV_WEIGHT_ATTN = 0, MHV_WEIGHT_NORM, MHV_WEIGHT_NORM_OUT } mhv_weighting;

/* "attn", "norm" or "norm-out"; anything else is MHV_EUSAGE naming the choices. */
mhv_status mhv_weighting_parse(const char *s, mhv_weighting *out, mhv_error *err);
const char *mhv_weighting_name(mhv_weighting w);
/* The value norms a forward pass must capture for w (mhv_forward_params.value_norms):
 * MHV_VNORM_NONE, MHV_VNORM_V or MHV_VNORM_VO. */
int mhv_weighting_vnorm(mhv_weighting w);

/* Replaces every captured head's weights w_ij (= alpha_ij) by
 *   alpha_ij * vnorm_j / sum_j' alpha_ij' * vnorm_j'
 * (computed in double; a row whose products are all 0 stays all 0), for the query rows
 * kept (mhv_attn_nrows). With norms non-NULL, *norms (caller frees) receives the products
 * alpha_ij * vnorm_j before the division, (count, rows, n) like a->buf (an encoder-decoder
 * run's: each head's (rows, cols) in turn). MHV_WEIGHT_ATTN leaves a as it is (*norms = NULL).
 * MHV_EUSAGE when a lacks the value norms w needs (a->vnorm_kind). */
mhv_status mhv_weighting_apply(mhv_attn *a, mhv_weighting w, float **norms, mhv_error *err);

#endif
