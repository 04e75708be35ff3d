/* family.h - what a model family file provides (internal to lib/model).
 *
 * A family is one file (bert.c, gpt2.c, llama.c): the model_types it opens, its config.json
 * fields, its weight names and its layer loop written with the blocks of lib/nn/blocks.h.
 * A difference between model_types of one family that is only a number or a flag is a row
 * of the family's table, not code. */
#ifndef MHV_FAMILY_H
#define MHV_FAMILY_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "ckpt/weights.h"
#include "model/config.h"
#include "model/model.h"
#include "nn/blocks.h"

struct cJSON;

typedef struct mhv_family {
    const char *name;
    const char *const *model_types;   /* NULL-terminated */
    /* Reads root's fields into c (c->model_type and c->arch set, the rest zero). */
    mhv_status (*config)(const struct cJSON *root, mhv_config *c, const char *name,
                         mhv_error *err);
    /* An upper bound of the fp32 vector floats load() takes (biases, norms). */
    size_t (*vector_floats)(const mhv_config *c);
    /* Resolves every weight of m (cfg, dir and st set) through ld. */
    mhv_status (*load)(mhv_model *m, mhv_wload *ld, mhv_error *err);
    /* Layers 0..cap->last over ids(n) (validated), keeping the captured heads; with logits,
     * every layer, the final norm and the LM head into logits(n, vocab). */
    mhv_status (*forward)(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                          mhv_capture *cap, float *logits, mhv_error *err);
    /* Encoder-decoder families (NULL for the others): the encoder over src(ns), the decoder
     * over tgt(nt), keeping the heads of cap[0] (encoder), cap[1] (decoder self-attention)
     * and cap[2] (cross-attention); with logits, every decoder layer, its final norm and the
     * LM head into logits(nt, dec_vocab). */
    mhv_status (*seq2seq)(mhv_nn *nn, const mhv_model *m, const int32_t *src, int ns,
                          const int32_t *tgt, int nt, mhv_capture *cap, float *logits,
                          mhv_error *err);
    /* How forward takes nn->pack for c (nn/blocks.h: several sentences in one pass, each
     * its own sequence), an mhv_packs; NULL: MHV_PACKS_NO. */
    int (*packs)(const mhv_config *c);
    /* True when forward can continue a cached sequence for c (nn->kv, nn/blocks.h: the
     * positions after nn's past ones); NULL: when it packs (rows that meet only in the
     * blocks), the blocks refusing what they cannot. */
    int (*caches)(const mhv_config *c);
} mhv_family;

typedef enum {
    MHV_PACKS_NO = 0,   /* one sentence at a time: something follows the pass's length */
    MHV_PACKS_ROWS,     /* rows reached only through the blocks, every linear layer over
                         * the pass's rows */
    MHV_PACKS_ANY_ROWS, /* as ROWS, but some linear layers run over other row counts that
                         * packing changes (experts' routed rows, DeBERTa's relative-position
                         * table): only kernels whose rows never depend on the count pack */
} mhv_packs;

/* A packs entry for families whose every model packs (MHV_PACKS_ROWS). */
int mhv_family_packs_always(const mhv_config *c);
/* A packs entry for mixture-of-experts families: the experts run over the rows routed to
 * them, which packing changes (MHV_PACKS_ANY_ROWS). */
int mhv_family_packs_any_rows(const mhv_config *c);
/* A caches entry for families whose every model continues a cached sequence. */
int mhv_family_caches_always(const mhv_config *c);

extern const mhv_family mhv_family_bert;
extern const mhv_family mhv_family_gpt2;
extern const mhv_family mhv_family_llama;
extern const mhv_family mhv_family_gemma;
extern const mhv_family mhv_family_distilbert;
extern const mhv_family mhv_family_albert;
extern const mhv_family mhv_family_gpt_neox;
extern const mhv_family mhv_family_gptj;
extern const mhv_family mhv_family_opt;
extern const mhv_family mhv_family_falcon;
extern const mhv_family mhv_family_starcoder2;
extern const mhv_family mhv_family_phi;
extern const mhv_family mhv_family_bloom;
extern const mhv_family mhv_family_gpt_neo;
extern const mhv_family mhv_family_gpt_bigcode;
extern const mhv_family mhv_family_deberta;
extern const mhv_family mhv_family_mpnet;
extern const mhv_family mhv_family_modernbert;
extern const mhv_family mhv_family_vit;
extern const mhv_family mhv_family_clip;
extern const mhv_family mhv_family_clip_text;
extern const mhv_family mhv_family_beit;
extern const mhv_family mhv_family_dinov3;
extern const mhv_family mhv_family_aimv2;
extern const mhv_family mhv_family_olmo;
extern const mhv_family mhv_family_stablelm;
extern const mhv_family mhv_family_cohere;
extern const mhv_family mhv_family_gpt_oss;
extern const mhv_family mhv_family_olmoe;
extern const mhv_family mhv_family_glm;
extern const mhv_family mhv_family_nemotron;
extern const mhv_family mhv_family_exaone4;
extern const mhv_family mhv_family_phimoe;
extern const mhv_family mhv_family_persimmon;
extern const mhv_family mhv_family_jetmoe;
extern const mhv_family mhv_family_granitemoe;
extern const mhv_family mhv_family_glm4_moe;

/* The rotary settings of families that turn part of each head (GPT-NeoX, Phi) as their
 * transformers configs read them: rope_scaling, else rope_parameters (its rope_theta and
 * partial_rotary_factor first), else the top-level theta_key and pct_key (defaults 10000 and
 * pct_default); scaling types as mhv_config_rope. *rot_dims = int(d * factor), even. */
mhv_status mhv_family_partial_rope(const struct cJSON *root, int d, const char *theta_key,
                                   const char *pct_key, double pct_default, mhv_rope *r,
                                   int *rot_dims, const char *name, mhv_error *err);
extern const mhv_family mhv_family_t5;
extern const mhv_family mhv_family_bart;

/* ALiBi slopes(heads,) as transformers computes them (fp32): for the closest power of two
 * p <= heads, base^1 .. base^p with base = 2^-(8/p), then the odd powers of 2^-(4/p) for the
 * remaining heads. */
void mhv_family_alibi_slopes(int heads, float *slopes);
/* MPT's ALiBi slopes (build_mpt_alibi_tensor, fp32): for the power of two p >= heads,
 * 1 / 2^(k * bias_max / p) for k = 1 .. p, and with fewer heads the even k first, then the
 * odd ones, the first `heads` of them. */
void mhv_family_alibi_slopes_mpt(int heads, double bias_max, float *slopes);
extern const mhv_family mhv_family_mpt;
extern const mhv_family mhv_family_roformer;
extern const mhv_family mhv_family_mobilebert;
extern const mhv_family mhv_family_squeezebert;
extern const mhv_family mhv_family_llava;
extern const mhv_family mhv_family_paligemma;
extern const mhv_family mhv_family_qwen2_vl;
extern const mhv_family mhv_family_qwen2_vl_vision;

/* T5's bucket of relative position rp = key - query (transformers'
 * _relative_position_bucket, with its float32 logarithm): bidirectional (encoders) or causal,
 * of `buckets` buckets, the logarithmic ones reaching max_distance. */
int mhv_family_t5_bucket(int rp, int bidirectional, int buckets, int max_distance);

/* Row p (H,) of tensor2tensor's sinusoidal positions as torch builds them in fp32
 * (M2M100SinusoidalPositionalEmbedding, XGLM's): frequencies exp(-k log(10000) / (half - 1)),
 * the sines of p times them, then their cosines, a zero column for an odd H; row pad zero.
 * H >= 4. */
void mhv_family_t2t_position(int p, int pad, int H, float *row);
extern const mhv_family mhv_family_xglm;
extern const mhv_family mhv_family_whisper;
extern const mhv_family mhv_family_wav2vec2;
extern const mhv_family mhv_family_esm;
extern const mhv_family mhv_family_ved;
extern const mhv_family mhv_family_swin;

/* BigBird's block-sparse attention as transformers runs it in eval mode (model/block_sparse.c:
 * BigBird's and BigBird-Pegasus's encoders), as mhv_attn_layer's bias (bias_ctx a
 * geometry) and probs_post, over a sentence above the length run as original_full. */
typedef struct {
    int block, random;      /* block_size, num_random_blocks */
} mhv_sparse_geometry;
void mhv_family_sparse_bias(const void *ctx, int h, const float *q, size_t ld_q, const float *k,
                            size_t ld_k, int n, float *b);
void mhv_family_sparse_probs(const void *ctx, float *probs, int n, const int *prow);
/* *sparse: whether a sentence of n tokens runs block-sparse (c->sparse_full_max > 0 and n
 * above it). Refuses what transformers cannot run: no random blocks, and with
 * positions_padded (BigBird pads the ids, positions included) a padded length past
 * max_positions. */
mhv_status mhv_family_sparse_check(const mhv_model *m, int n, int positions_padded,
                                   int *sparse, mhv_error *err);
/* attention_type (default block_sparse; original_full), block_size, num_random_blocks and
 * use_bias (default use_bias_default) into c's sparse_* and qkv_no_bias. */
mhv_status mhv_family_sparse_config(const struct cJSON *root, int use_bias_default,
                                    mhv_config *c, const char *name, mhv_error *err);

/* The family that opens model_type, and its name for it; NULL when none does. */
const mhv_family *mhv_family_find(const char *model_type, const char **arch);
/* The i-th model_type mhaviz opens (i from 0), NULL past the last: for listing them. */
const char *mhv_family_type(int i);
/* The model_type that model_type most likely means (equal but for case, '-' and '_'), or
 * NULL: for a hint in the refusal. */
const char *mhv_family_near(const char *model_type);

#endif
