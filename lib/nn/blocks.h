/* blocks.h - the blocks every model family is written with (llama.cpp's build_norm /
 * build_attn / build_ffn over ggml, here over mhv_kernels and the thread pool).
 *
 * A family's forward pass declares its activation buffers once (mhv_nn_begin), then calls
 * these blocks in its layer loop. Every block splits its work over the pool so that each
 * value is computed exactly as on one thread: rows for element-wise work and norms, output
 * columns for linear layers, heads for attention. Results are the same bytes whatever the
 * thread count. */
#ifndef MHV_BLOCKS_H
#define MHV_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "base/attn.h"
#include "base/heads.h"
#include "base/pool.h"
#include "base/status.h"
#include "ckpt/weights.h"
#include "nn/act.h"
#include "nn/kernels/kernels.h"
#include "nn/parlinear.h"

/* The execution context of forward passes: kernels, pool and one arena of activations kept
 * across sentences (no fresh pages for every sentence). */
typedef struct {
    const mhv_kernels *K;
    mhv_pool *pool;         /* NULL: the calling thread only */
    int threads;
    float *arena;
    size_t arena_cap;       /* floats */
    /* block scratch, carved from the arena by mhv_nn_begin */
    float *row;             /* (threads, width) one embedding row per thread */
    int row_width;
    float *attn_scratch;    /* (threads, attn_stride) attention scratch per thread */
    size_t attn_stride;
    float *xp;              /* packed input of a linear layer, or NULL (kernels.h: xpack) */
    int32_t *pos;           /* (n,) position rows of the tokens (mhv_nn_embed) */
    const int32_t *type_ids; /* (n,) the run's token type ids (sentence pairs), set by the
                              * forward driver; NULL: every token has type 0 */
    const float *pixels;     /* (channels, height, width) the run's image (vision models),
                              * set by the forward driver; NULL otherwise */
    int image_h, image_w;    /* its height and width in pixels */
    float *pool_attn;        /* (heads, n): where a vision model's attention-pooling head
                              * (SigLIP's) puts its probe's attention, set by the forward
                              * driver; NULL: not asked */
    float *bias;            /* (threads, bias_stride) score bias maps (mhv_nn_reserve_bias) */
    size_t bias_stride, bias_cap;
    float *wo_block;        /* (threads, wo_stride) W_O slices (mhv_nn_reserve_vnorm) */
    size_t wo_stride, wo_cap;
    int measure;            /* mhv_nn_begin only measures the arena a pass needs (bytes into
                             * measured) and fails: memory estimates (mhv_forward_estimate) */
    size_t measured;
    const struct mhv_nn_pack_s *pack; /* several sentences in this pass, set by the forward
                                       * driver; NULL: one */
    struct mhv_nn_memo_s *enc_memo; /* generation: an encoder-decoder's encoder output kept
                                     * across the passes over one source (mhv_nn_memo_load);
                                     * NULL: none */
    int logits_last;        /* a pass with logits (a decoder's, an encoder-decoder's)
                             * writes those of its last position only (mhv_nn_logit_rows) */
    const float *audio;     /* (audio_samples,) the run's waveform (speech encoders), set by
                             * the forward driver; NULL otherwise (and in a measuring pass) */
    long audio_samples;     /* its samples (a measuring pass's too) */
    /* Rows that take the place of some tokens' embedding rows (LLaVA's image features,
     * scattered into the language model's input embeddings), set by a family around a pass:
     * token i takes row embed_given_row[i] of embed_given (rows of the pass's width) when it
     * is >= 0, before the embedding's scale and additions; mhv_nn_embed sets
     * embed_given_used when it placed them. NULL: none */
    const float *embed_given;
    const int32_t *embed_given_row;     /* (n,) */
    int embed_given_used;
    /* Called by the vision transformers' pass (model/layers.h) with each hidden state as
     * transformers numbers them: 0 the embeddings (after CLIP's pre-LayerNorm), l + 1 the
     * output of layer l, x (n, d); NULL: none */
    void (*hidden_out)(void *ctx, int index, const float *x, int n, int d);
    void *hidden_ctx;
    struct mhv_capture_s *image_cap; /* LLaVA: what its vision tower's pass keeps (the
                                      * tower's own maps), set by the forward driver; NULL:
                                      * nothing */
    int embed_given_scaled;  /* embed_given's rows go in after the embedding's scale
                              * (Gemma's scaled embeddings: the image features are not
                              * scaled) */
    /* The keys each query sees in a decoder whose mask a multimodal family widens (Gemma 3's
     * image tokens see their whole image, PaliGemma's prefix sees itself), set by it around
     * a pass of one sentence: [0] the full layers', [1] the sliding ones' (mhv_attn_layer
     * key_lo, key_hi), (n,) each; NULL: the layer's causal mask and window */
    const int32_t *key_lo[2], *key_hi[2];
    int pos_first;           /* the rotary position of the first token (PaliGemma counts
                              * from 1), 0: from 0 */
    const unsigned char *global; /* (n,) 1: the token attends globally (Longformer's
                                  * global_attention_mask; LED's encoder: the source's
                                  * tokens), set by the forward driver; NULL: none */
    /* A rotary table (n, half) that takes the place of a decoder's own (Qwen2-VL's
     * multimodal positions, made from the image's grid), set by a family around its
     * language model's pass; NULL: the decoder's */
    const float *rope_cos_given, *rope_sin_given;
    struct mhv_nn_kv_s *kv; /* generation: the pass continues the sequence whose keys and
                             * values this cache holds (mhv_nn_kv), set by the forward
                             * driver; NULL: the pass is the whole sequence */
} mhv_nn;

/* Generation's key/value cache of one sequence: each layer's self-attention keys and values
 * (after their norms and rotation, as the attention reads them) of positions 0..past-1. A
 * pass under it (nn->kv) runs the tokens at positions past .. past+n-1 only: the embeddings'
 * positions and rotary tables count from past (a family's own tables and position scales
 * then hold past + n rows: mhv_decoder_pass.rope_rows), self-attention appends the new keys
 * and values to its layer's and attends over them all, the other blocks work row by row as
 * ever. Each row is then the bytes the whole sequence's pass gives it, as long as the
 * kernels compute a row alike in any row count (mhv_nn_packs_rows). What cannot run so (a
 * score bias, projections a family made, a table without its positions, a full cache) sets
 * `refused`: the caller drops the pass and reruns the sequence whole. */
typedef struct mhv_nn_kv_s {
    int layers, cap;        /* layers, positions each layer holds */
    float **k, **v;         /* (layers,) (cap, width[l]) each, allocated at the first use */
    int *width;             /* (layers,) each layer's key/value width, 0 until used */
    int past;               /* positions held */
    int appended;           /* self-attention layers that appended during this pass */
    int refused;            /* a block could not run this pass from the cache */
} mhv_nn_kv;

/* An empty cache of `layers` layers of up to cap positions (nothing allocated per layer yet). */
mhv_status mhv_nn_kv_init(mhv_nn_kv *kv, int layers, int cap, mhv_error *err);
void mhv_nn_kv_free(mhv_nn_kv *kv);
/* dst holds src's first `rows` positions (rows <= src->past): a beam that forks. MHV_ENOMEM
 * when a layer cannot be allocated. */
mhv_status mhv_nn_kv_copy(mhv_nn_kv *dst, const mhv_nn_kv *src, int rows, mhv_error *err);
/* The first position of nn's pass: the cached ones before it (0 without a cache). */
static inline int mhv_nn_past(const mhv_nn *nn)
{
    return nn->kv ? nn->kv->past : 0;
}
/* Marks nn's cached pass as one that cannot run from the cache (no-op without one). */
static inline void mhv_nn_kv_refuse(mhv_nn *nn)
{
    if (nn->kv)
        nn->kv->refused = 1;
}

/* What the passes over one source share, kept by the caller (the generation loop runs the
 * decoder once per step and beam): the encoder's output (slot 0) and each decoder layer l's
 * cross-attention keys and values of it (slots 1 + 2l, 2 + 2l), so the encoder and those
 * projections run once. The caller keeps the source the same while the memo is set. */
enum { MHV_MEMO_SLOTS = 1 + 2 * 1024 }; /* decoders of up to MHV_MAX_LAYERS (config.h) */
typedef struct mhv_nn_memo_s {
    float *x[MHV_MEMO_SLOTS];   /* each slot's floats, or NULL until stored */
    size_t floats[MHV_MEMO_SLOTS];
} mhv_nn_memo;

/* Copies slot's kept floats into x and returns 1 when nn's memo has them at that size; 0:
 * the pass computes them (and keeps them with mhv_nn_memo_store). */
int mhv_nn_memo_load(const mhv_nn *nn, int slot, float *x, size_t floats);
/* Keeps x (floats) in slot for the passes to come, when nn has a memo without it (out of
 * memory: not kept, the next pass computes them again). */
void mhv_nn_memo_store(mhv_nn *nn, int slot, const float *x, size_t floats);
/* Frees what a memo keeps. */
void mhv_nn_memo_free(mhv_nn_memo *m);
/* The positions whose logits a pass of n (target) positions writes, the last ones: under
 * nn->logits_last only the last (logits (1, vocab)) when a one-row product is the same
 * bytes as that row of an n-row one (kernels.h, linear_rows_switch), else all n. */
static inline int mhv_nn_logit_rows(const mhv_nn *nn, int n)
{
    int sw = nn->K->linear_rows_switch;
    return nn->logits_last && n > 0 && (sw == 0 || n <= sw) ? 1 : n;
}

/* Several sentences packed into one pass, so that every linear layer reads its weights once
 * for all of them (at a few tens of tokens a sentence, a linear layer is bound by that).
 * Sentence s is rows off[s] .. off[s+1]-1 of every activation. Blocks that work row by row
 * (norms, linear layers, element-wise) need nothing more, since each output row of theirs is
 * a function of its input row alone; the blocks that look across rows or at positions
 * (mhv_nn_embed, rotary embeddings, mhv_nn_attention) take each sentence as a sequence of its
 * own, with its own capture. So each sentence gets the bytes a pass over it alone gives,
 * as long as the kernel table computes a row the same way in any row count
 * (mhv_nn_packs_rows). */
struct mhv_capture_s;
typedef struct mhv_nn_pack_s {
    int count;                  /* sentences */
    const int *off;             /* (count + 1,) first row of each; off[count] = rows in all */
    struct mhv_capture_s *caps; /* (count,) what each sentence keeps (its maps and rows); the
                                 * capture the family is given holds what they share (head
                                 * selection, last layer, value norms) and no maps */
} mhv_nn_pack;

/* True when nn's kernels compute each row of a linear layer the same way whether it is given
 * with n_alone rows or within n_packed: the condition of byte-identical packed passes. */
int mhv_nn_packs_rows(const mhv_nn *nn, int n_alone, int n_packed);

/* pool may be NULL. Frees nothing it was given. */
void mhv_nn_init(mhv_nn *nn, const mhv_kernels *K, mhv_pool *pool);
void mhv_nn_release(mhv_nn *nn);

/* A buffer a forward pass asks for: *ptr gets `floats` floats (64-byte aligned). */
typedef struct {
    float **ptr;
    size_t floats;
} mhv_nn_buf;

/* The sizes the blocks' own scratch depends on. */
typedef struct {
    int n;                  /* tokens: the most queries or keys of any attention (an
                             * encoder-decoder's longer side) */
    int width;              /* widest embedding row (hidden size) */
    int widest_in;          /* widest input of any linear layer */
    int head_dim;           /* of the attention heads */
} mhv_nn_shape;

/* Carves the caller's buffers and the blocks' scratch for one pass out of the arena,
 * growing it when needed. Pointers from an earlier call are invalid afterwards. */
mhv_status mhv_nn_begin(mhv_nn *nn, const mhv_nn_shape *shape, const mhv_nn_buf *bufs,
                        int count, mhv_error *err);

/* Room for one (n, n) score bias map per thread (attention layers with a bias), kept across
 * sentences like the arena; (n, past + n) in a pass under a key/value cache. */
mhv_status mhv_nn_reserve_bias(mhv_nn *nn, int n, mhv_error *err);

/* Room for one head's slice of an output projection (hidden x head_dim floats) per thread,
 * for value norms through it (MHV_VNORM_VO). */
mhv_status mhv_nn_reserve_vnorm(mhv_nn *nn, int hidden, int head_dim, mhv_error *err);

/* ---- norms and element-wise blocks ---- */

/* MHV_NORM_AFFINE: no statistics, x * g + b element-wise (MobileBERT's NoNorm; eps unused) */
typedef enum { MHV_NORM_LAYER = 0, MHV_NORM_RMS, MHV_NORM_AFFINE } mhv_norm_kind;

typedef struct {
    mhv_norm_kind kind;
    const float *g, *b;     /* (d,) scale and shift; b NULL for RMSNorm (and bias-free
                             * LayerNorm) */
    float eps;
} mhv_norm;

/* A LayerNorm with gain g and bias b (b may be NULL): what most families' norms are. */
static inline mhv_norm mhv_nn_layernorm(const float *g, const float *b, float eps)
{
    return (mhv_norm){MHV_NORM_LAYER, g, b, eps};
}

/* y(n, d) = norm(x) row by row; y may be x. */
void mhv_nn_norm(mhv_nn *nn, float *y, const float *x, const mhv_norm *nm, int n, int d);
/* x(n, d) = norm(x + add): the residual add of post-norm families (BERT). */
void mhv_nn_add_norm(mhv_nn *nn, float *x, const float *add, const mhv_norm *nm, int n, int d);
/* x(n, d) += add: the residual add of pre-norm families. */
void mhv_nn_add(mhv_nn *nn, float *x, const float *add, int n, int d);
/* x(n, d) = act(x) element-wise (an mhv_act), as a linear layer's activation: where a
 * norm comes between a layer and its activation (wav2vec2's convolutions). */
void mhv_nn_act(mhv_nn *nn, float *x, int act, int n, int d);
/* x(n, d) row by row times g(d,): layer scale (DINOv2's lambda). */
void mhv_nn_scale(mhv_nn *nn, float *x, const float *g, int n, int d);
/* x(n, d) *= y: the gate of gated feed-forward layers (SwiGLU). */
void mhv_nn_mul(mhv_nn *nn, float *x, const float *y, int n, int d);
/* x(n, d) += add * s, the product rounded to fp32 before the add as PyTorch's
 * `residual + h * m` (Granite's residual_multiplier). */
void mhv_nn_add_scaled(mhv_nn *nn, float *x, const float *add, float s, int n, int d);
/* x(n, d) *= s and x(n, d) /= s, in fp32: logit scales (Cohere multiplies, Granite divides). */
void mhv_nn_mul_scalar(mhv_nn *nn, float *x, float s, int n, int d);
void mhv_nn_div_scalar(mhv_nn *nn, float *x, float s, int n, int d);
/* x(n, d) = cap * tanh(x / cap), in fp32 as PyTorch: Gemma 2's final logit soft capping. */
void mhv_nn_softcap(mhv_nn *nn, float *x, float cap, int n, int d);
/* xIELU (Apertus) in place on x(n, d), p = {alpha_p, alpha_n, beta, eps} as applied
 * (alpha_p = softplus of its parameter, alpha_n = beta + softplus of its), in fp32 as
 * transformers' Python form: alpha_p x x + beta x where x > 0, else
 * (expm1(min(x, eps)) - x) alpha_n + beta x. */
void mhv_nn_xielu(mhv_nn *nn, float *x, const float p[4], int n, int d);

/* ---- embeddings ---- */

typedef struct {
    const mhv_mat *tok;     /* (vocab, d) */
    const mhv_mat *pos;     /* (positions, d) learned positions, or NULL */
    const mhv_mat *type;    /* (type_vocab, d) token types, or NULL */
    const mhv_norm *norm;   /* applied after the sum, or NULL */
    int pos_offset;         /* token i (0-based) takes position row i + pos_offset */
    int pad_id;             /* >= 0: RoBERTa's rule instead: tokens equal to pad_id take row
                             * pad_id, the others pad_id + 1 + their rank among non-pads */
    int pos_first;          /* add the position before the type (DeBERTa's order) */
    float scale;            /* != 0: token rows multiplied by it (Gemma's sqrt(hidden)) */
    const mhv_mat *task;    /* (task_types, d) ERNIE's task type embeddings, or NULL: row 0
                             * (the task of every token) added after the position */
} mhv_embed;

/* x(n, d) = tok[ids[i]] + type[t_i] + pos[position of i] + task[0] (those present, added in
 * that order, as transformers does; t_i from nn->type_ids, else 0), then norm. */
void mhv_nn_embed(mhv_nn *nn, float *x, const mhv_embed *e, const int32_t *ids, int n, int d);

/* ---- linear layers ---- */

/* No activation after a linear layer (otherwise an mhv_act). */
#define MHV_NN_NO_ACT MHV_PLIN_NO_ACT

/* y(n, w.rows) = x(n, w.cols) · W^T + b (b may be NULL), then act (an mhv_act or
 * MHV_NN_NO_ACT). */
void mhv_nn_linear(mhv_nn *nn, float *y, const float *x, const mhv_mat *w, const float *b,
                   int n, int act);
/* y(n, w.rows) = a grouped linear layer over x(n, in): the output columns and the input
 * columns each cut into `groups` equal blocks, block g of y = x's block g · (rows of block g
 * of w, (w.rows / groups, in / groups))^T + b's block g, then act (a 1x1 convolution with
 * groups: SqueezeBERT's). scratch holds n * (in + w.rows) / groups floats. groups == 1 is
 * mhv_nn_linear. */
void mhv_nn_linear_grouped(mhv_nn *nn, float *y, const float *x, int in, const mhv_mat *w,
                           const float *b, int n, int groups, int act, float *scratch);
/* Several linear layers over the same x (SwiGLU's gate and up), x packed once. */
void mhv_nn_linear_parts(mhv_nn *nn, const mhv_plin_part *parts, int count, const float *x,
                         int n);

/* ---- mixture-of-experts feed-forward ---- */

/* A sparse mixture of gated experts (Mixtral, Qwen2-MoE, Qwen3-MoE): each token's router
 * probabilities softmax(router · x) in fp32, its top_k experts (renormalised to sum to 1 when
 * norm_topk), y = sum over them of p_e * down_e(act(gate_e · x) * (up_e · x)), the experts
 * added in index order as transformers does; plus sigmoid(s_router · x) * shared(x) when a
 * shared expert is given. */
typedef struct {
    const mhv_mat *router;              /* (experts, d) */
    const mhv_mat *gate, *up, *down;    /* (experts,) each: (inter, d), (inter, d), (d, inter) */
    int experts, top_k, inter, norm_topk;
    int act;                            /* an mhv_act, on the gate */
    /* the shared expert, or s_gate NULL: (s_inter, d), (s_inter, d), (d, s_inter), and
     * its gate (1, d) */
    const mhv_mat *s_gate, *s_up, *s_down, *s_router;
    int s_inter;
    /* PhiMoE's sparsemixer routing instead of the softmax's top k (top_k then 2): the first
     * expert is the largest logit, weighted by its softmax among the logits s with
     * (max - s) / max(|s|, max) <= sparse_eps2 (2 x router_jitter_noise, in fp32); the second
     * the largest of the others, weighted likewise among them; none renormalised */
    int sparsemixer;
    float sparse_eps2;
    /* JetMoE's routing instead: the top_k logits (largest first, the lower index among
     * equals), softmaxed among themselves (mhv_nn_topk_softmax) */
    int softmax_topk;
    /* the shared expert added as it is, without s_router's sigmoid gate (GraniteMoeShared's
     * shared_mlp; s_router unused) */
    int s_ungated;
    /* DeepSeek-V3's routing instead (GLM-4-MoE, dots1), when groups > 0: scores s =
     * sigmoid(logits), chosen by s + choice_bias among the topk_groups groups (of
     * experts / groups consecutive experts) whose two best s + choice_bias sum highest, the
     * top_k of them (largest first, the lower index among equals); weights their s,
     * divided by their sum + 1e-20 when norm_topk, times routed_scale; in fp32 */
    int groups, topk_groups;
    const float *choice_bias;           /* (experts,) e_score_correction_bias */
    float routed_scale;
    /* ERNIE 4.5's routing instead, when softmax_bias: the router's softmax p (fp32), the
     * top_k of p + choice_bias (largest first, the lower index among equals), weighted by
     * their p divided by max(their sum, norm_min) */
    int softmax_bias;
    float norm_min;
    const float *s_gate_b, *s_up_b, *s_down_b; /* the shared expert's biases, or NULL */
    /* DeepSeek-V2's routing instead, when softmax_groups: the router's softmax p, with groups
     * > 0 the experts outside the topk_groups groups of highest max p zeroed
     * (group_limited_greedy), the top_k of p (largest first, the lower index among equals),
     * weighted by p times routed_scale, not renormalised */
    int softmax_groups;
} mhv_moe;

/* For each of n rows of logits(n, E): its k largest (the lower index first among equals, as
 * torch.topk) into ix(n, k), their softmax among themselves into w(n, k), in fp32 (the sum
 * in double). */
void mhv_nn_topk_softmax(const float *logits, int n, int E, int k, float *w, int32_t *ix);

/* Floats of scratch mhv_nn_moe needs for n tokens of width d. */
size_t mhv_nn_moe_floats(const mhv_moe *m, int n, int d);
/* y(n, d) = the mixture over x(n, d); scratch of mhv_nn_moe_floats. y must not be x. */
void mhv_nn_moe(mhv_nn *nn, float *y, const float *x, const mhv_moe *m, int n, int d,
                float *scratch);

/* GPT-OSS's mixture: router logits = router · x + router_b, the top_k of them (largest
 * first, the lower index among equals, as torch.topk) softmaxed among themselves; each
 * chosen expert e computes gu = gate_up_e · x + gate_up_b[e] (2*inter,) whose even entries
 * are the gate g and odd ones the up u, h = (clamp(u, -limit, limit) + 1) * g' *
 * sigmoid(alpha * g') with g' = min(g, limit), then down_e · h + down_b[e]; y = sum over the
 * chosen of weight * that, the experts added in index order (transformers' eager experts). */
typedef struct {
    const mhv_mat *router;              /* (experts, d) */
    const float *router_b;              /* (experts,) */
    const mhv_mat *gate_up, *down;      /* (experts,) each: (2*inter, d), (d, inter) */
    const float *gate_up_b, *down_b;    /* (experts, 2*inter), (experts, d) */
    int experts, top_k, inter;
    float alpha, limit;
    /* MXFP4 experts instead of gate_up and down, or NULL: blocks (experts, out, in / 32,
     * 16) of 4-bit codes (low nibble first) and scales (experts, out, in / 32) of biased
     * exponents, each expert's matrix decoded as transformers' convert_moe_packed_tensors
     * (code's value times 2^(scale - 127), in fp32) when tokens reach it */
    const unsigned char *gu_blocks, *gu_scales, *down_blocks, *down_scales;
} mhv_moe_clamped;

#define MHV_MAX_EXPERTS_MOE 4096 /* the most experts mhv_nn_moe's grouped routing takes (as
                                  * config.h's MHV_MAX_EXPERTS) */
#define MHV_MOE_MAX_TOPK 64 /* the most experts per token mhv_nn_moe_clamped takes */

/* Floats of scratch mhv_nn_moe_clamped needs for n tokens of width d. */
size_t mhv_nn_moe_clamped_floats(const mhv_moe_clamped *m, int n, int d);
/* y(n, d) = the mixture over x(n, d); scratch of mhv_nn_moe_clamped_floats. y must not be
 * x. */
void mhv_nn_moe_clamped(mhv_nn *nn, float *y, const float *x, const mhv_moe_clamped *m, int n,
                        int d, float *scratch);

/* ---- rotary embeddings ---- */

typedef struct {
    const float *cos_t, *sin_t; /* (rows, half) for positions 0..rows-1 (rope.h) */
    int half;                   /* rotated pairs per head: the first 2*half dimensions of a
                                 * head turn, the rest stay (partial rotary: NeoX, Phi-3) */
    int interleaved;            /* pairs (2i, 2i+1) (GPT-J) instead of (i, i + half) */
    int rows;                   /* positions the table holds; 0: the pass's n (a pass under
                                 * a key/value cache refuses such a table) */
} mhv_rotary;

/* ---- self-attention over the selected heads ---- */

/* Head ablation (Michel et al. 2019; TransformerLens-style): once head h of layer l has
 * written softmax(q k^T) v into its (n, d) columns of ctx, the columns are replaced, in every
 * row, by zeros (mean NULL) or by mean[(l * heads + h) * d ..] (d,) when off[l * heads + h]
 * is set; with sum, every computed head's rows are first added into sum[(l * heads + h) *
 * d ..] (double, in row order: the same bytes on any thread count), for the means. */
typedef struct mhv_head_ablation {
    int layers, heads, d;
    const unsigned char *off;   /* (layers, heads) 1: the head's output is replaced; or NULL */
    const float *mean;          /* (layers, heads, d) the replacement; NULL: zeros */
    double *sum;                /* (layers, heads, d) sums of each head's output rows, or NULL */
} mhv_head_ablation;

/* What a forward pass keeps: the probabilities of the selected heads, written once into
 * their slots. Layers above `last` are not computed; in the last layer, unless its output
 * is needed (logits), only the selected heads run, with Q and K only for their columns and
 * no V or output. */
typedef struct mhv_capture_s {
    const mhv_heads *sel;   /* NULL: nothing kept */
    mhv_attn *out;          /* one slot per selected head, in (layer, head) order */
    int next;               /* the next slot of out */
    int last;               /* last layer computed */
    int full_last;          /* the last layer's output is needed too */
    int vnorm;              /* MHV_VNORM_*: value norms of the kept heads into out->vnorm
                             * (VO needs mhv_attn_layer.wo and mhv_nn_reserve_vnorm) */
    const int *prow;        /* (n,) the row of each query in the maps, -1: not kept
                             * (mhv_attn_args.prow); NULL: every row */
    /* Streaming: called after each layer with selected heads, their maps then in slots
     * 0.. of out (heads[] labelled); the slots are reused by the next layer. NULL: out
     * holds every layer. */
    void (*layer_done)(struct mhv_capture_s *cap, int layer);
    void *ctx;              /* for layer_done and head_done */
    /* Streaming by head (instead of out and layer_done): called on the pool's threads, in
     * any order, as each selected head's maps are done: w (rows, n) in the worker's buffer
     * head_bufs + worker * head_stride (threads of them), valid during the call only. */
    void (*head_done)(struct mhv_capture_s *cap, int layer, int head, const float *w);
    float *head_bufs;
    size_t head_stride;
    const mhv_head_ablation *ablate; /* heads whose outputs are replaced or summed; NULL */
} mhv_capture;

/* True when layer l is the last one computed and nothing reads its output. */
static inline int mhv_capture_done(const mhv_capture *c, int l)
{
    return l == c->last && !c->full_last;
}

/* Q, K and V from one fused matrix whose rows hold, for each key/value head g, its group of
 * query heads, then its key, then its value head: (kv_heads * (group + 2) * d, in). GPT-NeoX
 * is the case group = 1 ([q, k, v] per head), Falcon's new decoder architecture the general
 * one. (A fused matrix of [all Q; all K; all V] needs no layout: its row blocks are three
 * ordinary matrices.) */
typedef struct {
    const mhv_mat *w;
    const float *b;                 /* or NULL */
} mhv_qkv_grouped;

/* One attention layer: projections, heads, and how scores are made and masked. */
typedef struct {
    const mhv_mat *wq, *wk, *wv;    /* (heads*d, in), (kv_heads*d, in), (kv_heads*d, in) */
    const float *bq, *bk, *bv;      /* or NULL */
    const mhv_qkv_grouped *fused;   /* instead of wq/wk/wv, or NULL */
    int heads, kv_heads, head_dim;  /* query head h reads key/value head h / (heads/kv_heads) */
    /* RMSNorm of each query and key head (d,) before the rotation (Qwen3, Gemma 3; a
     * LayerNorm when the norm's kind says so: Phi), or of the whole projection (heads*d,) /
     * (kv_heads*d,) when qk_norm_full (OLMo 2); NULL: none */
    const mhv_norm *q_norm, *k_norm;
    int qk_norm_full;
    float scale;                    /* of the scores, usually 1/sqrt(head_dim) */
    float softcap;                  /* > 0: scores capped by softcap * tanh(s / softcap) */
    int causal;
    int window;                     /* > 0: sliding window (two-sided without causal) */
    const mhv_rotary *rope;         /* rotary positions on q and k, or NULL */
    /* A score bias per head, added after scaling (relative positions): bias(ctx, h, ...)
     * fills b(n, n) for head h from its q(n, ld_q) and key/value head's k(n, ld_k) (after
     * their projections and rotation), or NULL. Needs mhv_nn_reserve_bias. */
    void (*bias)(const void *ctx, int h, const float *q, size_t ld_q, const float *k,
                 size_t ld_k, int n, float *b);
    const void *bias_ctx;
    const mhv_mat *wo;              /* (hidden, heads*d) the output projection, for the value
                                     * norms through it (MHV_VNORM_VO); NULL: not available */
    /* with a q_norm/k_norm of each head: every head has its own weights, the norms' g and b
     * then (heads*d,) / (kv_heads*d,) indexed by head (StableLM's per-head LayerNorms,
     * Cohere's (heads, d) q_norm/k_norm) */
    int qk_norm_per_head;
    float clip;                     /* > 0: q, k and v clamped to [-clip, clip] right after
                                     * their projections (OLMo's clip_qkv), or after their
                                     * whole-projection norms (OLMoE) */
    const float *sinks;             /* (heads,) learned sink logits joining each head's
                                     * softmax (GPT-OSS; kernels.h has_sink), or NULL */
    /* > 0 with fused: CodeGen's layout of the fused matrix instead (kv_heads == heads, no
     * bias): mp_blocks blocks of rows, each [q, v, k] of heads * d / mp_blocks rows, the
     * blocks' q parts making up Q in order (likewise K and V); every row is projected */
    int fused_mp_blocks;
    /* JetMoE's mixture of attention: q_given, the caller has filled the query buffer (its
     * queries come from routed experts) and only K and V are projected; kv_tiled, query head h
     * reads key/value head h % kv_heads (keys repeated as whole blocks) instead of
     * h / (heads / kv_heads) */
    int q_given, kv_tiled;
    int projected;                  /* q, k and v are in the buffers already (the family
                                     * projected them: SqueezeBERT's grouped convolutions):
                                     * wq, wk, wv unused, every head's columns needed */
    int rope_values;                /* the rotation turns the values too (RoFormer's
                                     * rotary_value) */
    const float *x_v;               /* (n, wv->cols): the values' input instead of x
                                     * (MobileBERT: queries and keys from its bottleneck,
                                     * values from the layer's input), or NULL: x */
    float q_scale;                  /* != 0: each query multiplied by it in fp32 right after
                                     * its projection, before norms and rotation (ESM scales
                                     * q before its rotary; scale is then 1); self-attention
                                     * only (mhv_nn_cross_attention ignores it) */
    int qk_norm_late;               /* the q/k head norms after the rotation, not before
                                     * (HunYuan's query_layernorm / key_layernorm) */
    const float *q_pos_scale;       /* (n,) by position from each sentence's start (under a
                                     * key/value cache (past + n,): by position): queries
                                     * multiplied by it after their rotation (Ministral 3's
                                     * llama_4_scaling_beta), or NULL */
    int ctx_v_dim;                  /* > 0 with projected: each head's values fill only its
                                     * first ctx_v_dim of head_dim columns (DeepSeek's MLA,
                                     * the rest zeros): the decoder layer packs ctx to (n,
                                     * heads * ctx_v_dim) before the output projection */
    const int32_t *key_lo, *key_hi; /* (n,) or NULL: the keys each query sees instead of
                                     * the ones causal and window leave (kernels.h); one
                                     * sentence a pass */
    /* Longformer's global attention (LongformerSelfAttention with a global_attention_mask):
     * global (n,) marks the global tokens of the pass's rows, or NULL: none. A global token's
     * query attends to every key of its sentence through the global projections (wq_global,
     * wk_global, wv_global, shaped as wq, wk, wv, with their biases): its map row and ctx
     * row are those; every other query attends to the keys of its window and to the global
     * tokens (local projections), zero elsewhere. A sentence without a global token runs as
     * without. Needs mhv_nn_reserve_bias and mhv_attn_bufs' gq, gk, gv; heads == kv_heads,
     * not with bias, causal, rope, norms, fused, projected, q_given or x_v. */
    const unsigned char *global;
    const mhv_mat *wq_global, *wk_global, *wv_global;
    const float *bq_global, *bk_global, *bv_global;
    /* Called with bias_ctx on each kept map of a head right after its softmax, before it is
     * handed on: probs (n, n) as the kernel wrote it (query i in row prow[i], none when < 0,
     * under prow; row i without). For a bias that counts some keys several times in the
     * softmax (log of the count added to their scores) while the map shows one of them
     * (BigBird's block-sparse attention): it divides them back. NULL: none */
    void (*probs_post)(const void *ctx, float *probs, int n, const int *prow);
    /* A score bias of positions alone (ALiBi, T5's relative buckets), instead of bias, that
     * a pass under a key/value cache can take: fills b(n, keys) (row stride keys) for head
     * h, the queries at positions q0 .. q0+n-1 (of their sentence) over keys 0 .. keys-1;
     * q0 > 0 in a cached decoding step. Needs mhv_nn_reserve_bias. NULL: none */
    void (*bias_pos)(const void *ctx, int h, int q0, int n, int keys, float *b);
} mhv_attn_layer;

/* Activations of the attention block: q (n, heads*d), k and v (n, kv_heads*d), ctx (n,
 * heads*d) = softmax(q k^T) v of every head (not written when the layer is done); qkv (n,
 * fused rows) when the layer is fused, else unused. */
typedef struct {
    float *q, *k, *v, *ctx;
    float *qkv;
    float *gq, *gk, *gv;            /* (n, heads*d) each with mhv_attn_layer.global: the
                                     * global projections; else unused */
} mhv_attn_bufs;

/* Self-attention of layer l over x(n, in): projections, rotary positions, probabilities of
 * the selected heads into their slots of cap->out, ctx unless the layer is done. */
void mhv_nn_attention(mhv_nn *nn, const mhv_attn_layer *a, const float *x, int n, int l,
                      const mhv_attn_bufs *b, mhv_capture *cap);

/* Cross-attention (encoder-decoder models) of layer l: queries from x(t, in), keys and
 * values from the encoder output mem(s, in) through a's wq/bq and wk/bk, wv/bv (heads ==
 * kv_heads; scale; no mask, bias, rotary or norms). The (t, s) probabilities of the selected
 * heads go into their slots of cap->out (cap->sel's layer l), ctx(t, heads*d) = probs · v
 * unless `done`; with cap->vnorm, the kept heads' value norms over the s keys (from mem
 * through wv/bv, and a->wo for MHV_VNORM_VO) into cap->out->vnorm, (s,) per slot. Buffers: q (t, heads*d), k and v (s, heads*d), ctx (t, heads*d). Needs the
 * blocks' scratch for max(t, s) tokens (mhv_nn_begin). */
void mhv_nn_cross_attention(mhv_nn *nn, const mhv_attn_layer *a, const float *x, int t,
                            const float *mem, int s, int l, const mhv_attn_bufs *b,
                            mhv_capture *cap, int done);

#endif
