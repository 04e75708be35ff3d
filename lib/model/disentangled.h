/* disentangled.h - DeBERTa's disentangled attention (internal to lib/model), shared by the
 * families whose layers use it: DeBERTa v1/v2 (deberta.c) and SEW-D (wav2vec2.c).
 *
 *   s(i, j) = [ q_i·k_j + q_i·Kr[c2p(i, j)] + k_j·Qr[p2c(i, j)] ] / sqrt(d · terms)
 *
 * Kr, Qr: the relative position embeddings (LayerNorm'd when norm_rel_ebd says so) through
 * the key and query projections (share_att_key) or their own; c2p(i, j) = bucket(i - j) + span
 * and p2c(i, j) = span - bucket(j - i), clamped to the table, with transformers' log buckets
 * (make_log_bucket_position) when position_buckets > 0. */
#ifndef MHV_DISENTANGLED_H
#define MHV_DISENTANGLED_H

#include "ckpt/weights.h"
#include "model/config.h"
#include "model/model.h"
#include "nn/blocks.h"

struct cJSON;

/* What a family's config means when it omits pos_att_type and norm_rel_ebd. */
typedef struct {
    int c2p, p2c;             /* the terms of an absent pos_att_type */
    const char *norm_rel_ebd; /* an absent norm_rel_ebd */
} mhv_disent_defaults;

/* pos_att_type as the configs keep it (a list, or the old "c2p|p2c" string split on '|', each
 * field stripped and lowercased) into c->rel_c2p, rel_p2c and rel_scale_terms
 * (1 + the entries: transformers counts them with or without relative_attention); absent:
 * the terms def_c2p, def_p2c. Entries other than c2p and p2c, or one twice, are refused. */
mhv_status mhv_disent_pos_att_type(const struct cJSON *root, int def_c2p, int def_p2c,
                                   mhv_config *c, const char *name, mhv_error *err);

/* The DeBERTa-v2 form's relative settings into c, after c->max_positions,
 * c->rel_max (max_relative_positions, < 1: max_positions), c->rel_buckets
 * (position_buckets, < 1: none) and c->rel_share_key are read: pos_att_type (a list, or the
 * old "p2c|c2p" string) and, with relative_attention rel, norm_rel_ebd; the scale's terms
 * count pos_att_type's entries with or without rel. */
mhv_status mhv_disent_config(const struct cJSON *root, int rel, const mhv_disent_defaults *def,
                             mhv_config *c, const char *name, mhv_error *err);

/* The relative embeddings table (2 span, H) `table` and, with c->rel_norm, the LayerNorm
 * `norm` (its .weight / .bias), when c->rel_attention. */
mhv_status mhv_disent_load_table(mhv_model *m, mhv_wload *ld, const char *table,
                                 const char *norm, mhv_error *err);

/* Layer ly's projections of the relative embeddings under prefix ("encoder.layer.3."):
 * attention.self.pos_key_proj (c2p) and pos_query_proj (p2c), or its own key and query
 * projections with share_att_key (loaded before). */
mhv_status mhv_disent_load_layer(mhv_wload *ld, const mhv_config *c, const char *prefix,
                                 mhv_layer *ly, mhv_error *err);

/* One pass of n tokens: the buckets of the relative positions -(n-1) .. n-1 and the rows
 * r0 .. r0+rows of the table they reach (rows 0 without c2p and p2c). */
typedef struct {
    int *bucket;              /* (2n - 1,), bucket(delta) at bucket[delta + n - 1] */
    int n, r0, rows;
} mhv_disent_pass;

/* p for n tokens (allocates; mhv_disent_end frees). */
mhv_status mhv_disent_begin(const mhv_config *c, int n, mhv_disent_pass *p, mhv_error *err);
void mhv_disent_end(mhv_disent_pass *p);

/* relE(rows, H): the table's rows the pass reaches, LayerNorm'd when c->rel_norm. */
void mhv_disent_table(mhv_nn *nn, const mhv_model *m, const mhv_disent_pass *p, float *relE);

/* Layer l's disentangled self-attention over x(n, H) with ly's q, k, v (or the fused v1
 * projection `fused`, NULL otherwise): Kr and Qr of relE into pos_k and pos_q (rows, H),
 * then mhv_nn_attention into b (its heads into cap). Needs mhv_nn_reserve_bias for n when
 * c2p or p2c. */
void mhv_disent_attention(mhv_nn *nn, const mhv_config *c, const mhv_layer *ly,
                          const mhv_qkv_grouped *fused, const mhv_disent_pass *p,
                          const float *relE, float *pos_k, float *pos_q, const float *x, int l,
                          const mhv_attn_bufs *b, mhv_capture *cap);

#endif
