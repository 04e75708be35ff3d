/* layers.h - layer compositions several families share (internal to lib/model): the
 * standard attention layer of a family's weights, and BERT's post-norm sublayers. */
#ifndef MHV_LAYERS_H
#define MHV_LAYERS_H

#include "ckpt/weights.h"
#include "model/config.h"
#include "model/model.h"
#include "nn/blocks.h"

/* Separate Q/K/V/O projections of ly with their biases, c's heads and head size, scores
 * scaled by 1/sqrt(head_dim), nothing else: families set what they add. */
mhv_attn_layer mhv_layer_attention(const mhv_layer *ly, const mhv_config *c);

/* Longformer's global attention (its global_attention_mask) on a: the tokens nn->global
 * marks, ly's global projections (mhv_attn_layer.global); nothing when nn->global is NULL. */
void mhv_layer_global(const mhv_nn *nn, const mhv_layer *ly, mhv_attn_layer *a);
/* Longformer's query_global, key_global and value_global (BASE.<name>.weight (H, H) and
 * .bias each) into ly; a checkpoint without query_global leaves them NULL (refused when a
 * pass asks for global attention: mhv_layer_global_check). */
mhv_status mhv_layer_load_global(mhv_wload *ld, const char *base, int H, mhv_layer *ly,
                                 mhv_error *err);
/* MHV_EUNSUPPORTED when nn asks for global attention and layers(count) lack the global
 * projections. */
mhv_status mhv_layer_global_check(const mhv_nn *nn, const mhv_model *m,
                                  const mhv_layer *layers, int count, mhv_error *err);

/* BERT's sublayers after attention, in place on x(n, hidden):
 *   x = LN_attn(x + O·ctx);  x = LN_ffn(x + down(act(up(x))))
 * tmp (n, hidden) and ffn (n, intermediate) are work space. */
void mhv_layer_post_norm(mhv_nn *nn, const mhv_layer *ly, const mhv_config *c, float *x,
                         const float *ctx, float *tmp, float *ffn, int n);

/* out(N, C*P*P): the P x P patches of a (C, height, width) image, row by row over its
 * (height / P) x (width / P) patch grid (a last partial patch left out, as the stride-P
 * convolution leaves it), each flattened as a convolution kernel is (channel, kernel row,
 * kernel column), so the patch convolution is one linear layer over them (vision
 * transformers). */
void mhv_layer_patches(const float *px, int C, int height, int width, int P, float *out);
/* The same patches each flattened (kernel row, kernel column, channel), as SigLIP 2's
 * processor flattens them for its linear patch embedding. */
void mhv_layer_patches_hwc(const float *px, int C, int height, int width, int P, float *out);

/* out(Fo * To, P*P): the Audio Spectrogram Transformer's patches of features(frames, mels)
 * (media/astfeat.h) read as an image of mels rows (frequency) and frames columns (time),
 * as its Conv2d of kernel P x P and stride (fstride, tstride) takes them: patch (fi, ti)
 * at k = fi * To + ti, Fo = (mels - P) / fstride + 1 and To = (frames - P) / tstride + 1,
 * flattened (kernel row: frequency, kernel column: time). */
void mhv_layer_spec_patches(const float *features, int frames, int mels, int P, int fstride,
                            int tstride, float *out);

/* The names of a BERT-style layer's weights under its prefix, each without ".weight" /
 * ".bias": the q, k, v and output projections, the LayerNorms after attention and after
 * the feed-forward, and the feed-forward's two linears. */
typedef struct {
    const char *q, *k, *v, *o, *ln_attn, *ffn_up, *ffn_down, *ln_ffn;
} mhv_dense_names;

/* Loads those weights and biases of one layer (hidden H, feed-forward I) in the order q, k,
 * v, o, ln_attn, ffn_up, ffn_down, ln_ffn, so a checkpoint missing several is told of the
 * first. */
mhv_status mhv_layer_load_dense(mhv_wload *ld, const char *prefix, const mhv_dense_names *nm,
                                int H, int I, mhv_layer *ly, mhv_error *err);

/* CLIP's encoder layer l (encoder.layers.<l>.: self_attn's q/k/v/out_proj, layer_norm1 as
 * ln_attn, mlp.fc1 / fc2, layer_norm2 as ln_ffn; weights and biases) into ly: the vision
 * and text towers of CLIP, SigLIP and their kin. */
mhv_status mhv_layer_load_clip(mhv_wload *ld, int l, int H, int I, mhv_layer *ly,
                               mhv_error *err);

/* The names of an encoder's masked-LM head (BertOnlyMLMHead, RobertaLMHead, MPNetLMHead):
 * dense -> activation -> LayerNorm -> decoder + bias. bias_alt, when given, is where some
 * versions save the bias instead (read only when bias is absent). */
typedef struct {
    const char *dense, *dense_b, *ln_g, *ln_b, *bias, *bias_alt, *decoder;
} mhv_mlm_names;

/* Loads m's masked-LM head when the checkpoint has its dense weight (none: MHV_OK, no head),
 * the rest in the order dense_b, ln_g, ln_b, bias, decoder; the decoder is tied to the token
 * embedding unless stored. act: the activation after dense. */
mhv_status mhv_layer_load_mlm_head(mhv_model *m, mhv_wload *ld, const mhv_mlm_names *nm,
                                   int act, mhv_error *err);

/* logits(n, vocab) = the masked-LM head over x(n, hidden); tmp and norm (n, hidden) are work
 * space. */
void mhv_layer_mlm_head(mhv_nn *nn, const mhv_model *m, const float *x, float *tmp, float *norm,
                        float *logits, int n);

/* The forward pass of the vision transformers (ViT, DeiT, DINOv2, BEiT; CLIP and SigLIP
 * towers): the embeddings of nn->pixels (positions when the model has them), CLIP's
 * pre-LayerNorm when the model has one, then pre-norm layers with DINOv2's or BEiT's layer
 * scales when present and BEiT's relative position bias (c->vision_rel_bias: each layer's
 * table and/or the shared one, resized to the image's grid) added to the scores. ids are
 * unused; no logits. */
mhv_status mhv_vision_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                              mhv_capture *cap, float *logits, mhv_error *err);

/* Loaders of a tensor saved under one of two names (a checkpoint's names or transformers
 * 5's module names): the first of names[0], names[1] the checkpoint has; the second's
 * absence is the error. A linear layer's or norm's names are given without ".weight" /
 * ".bias" (both read under the same name). */
mhv_status mhv_layer_load_mat2(mhv_wload *ld, const char *const names[2], int rows, int cols,
                               mhv_mat *m, mhv_error *err);
mhv_status mhv_layer_load_vec2(mhv_wload *ld, const char *const names[2], int len, float **v,
                               mhv_error *err);
/* weight (rows, cols) and, with bias, its bias (rows,) into *b */
mhv_status mhv_layer_load_linear2(mhv_wload *ld, const char *const names[2], int rows,
                                  int cols, int bias, mhv_mat *w, float **b, mhv_error *err);
/* a LayerNorm's weight and bias (len,) */
mhv_status mhv_layer_load_norm2(mhv_wload *ld, const char *const names[2], int len, float **g,
                                float **b, mhv_error *err);

/* ---- pre-norm decoder layers ----
 * The layer of the decoder families (GPT-2, GPT-Neo, GPT-BigCode, StarCoder2, Falcon,
 * GPT-NeoX, GPT-J, OPT, BLOOM, Phi, Llama, Gemma), as mhv_layer_post_norm is BERT's: each
 * family's file builds its attention layer (rotary variants, ALiBi, windows, multi-query)
 * and says in an mhv_decoder what its layers are made of; the norms, residual adds and MLP
 * are written once here. */

/* How a layer adds its two sublayers to the residual stream x. */
typedef enum {
    MHV_RESIDUAL_SEQUENTIAL,    /* x += attn(ln1(x));  x += mlp(ln2(x)) */
    MHV_RESIDUAL_PARALLEL,      /* x += attn(ln1(x)) + mlp(ln2(x)) (GPT-NeoX, Falcon's new
                                 * decoder) */
    MHV_RESIDUAL_PARALLEL_ONE_NORM, /* x += attn(ln1(x)) + mlp(ln1(x)) (GPT-J, Phi, Falcon) */
    MHV_RESIDUAL_NORMED,        /* the residual is the normalised stream (BLOOM's
                                 * apply_residual_connection_post_layernorm):
                                 * h = ln1(x) + attn(ln1(x));  x = ln2(h) + mlp(ln2(h)) */
    MHV_RESIDUAL_PARALLEL_IN_ORDER, /* x = (x + attn(ln1(x))) + mlp(ln1(x)), summed in that
                                     * order (StableLM use_parallel_residual, Cohere) */
} mhv_residual;

typedef enum {
    MHV_MLP_PLAIN,  /* down(act(up(x))) */
    MHV_MLP_GATED,  /* down(act(gate(x)) * up(x)) (SwiGLU, GeGLU) */
} mhv_mlp_kind;

/* What a family's decoder layers are made of beyond their weights (mhv_layer); the norms'
 * eps and the MLP's activation are the config's. Every norm of a layer is of one kind:
 * LayerNorms with ly's biases, or RMSNorms. A layer's norms that are NULL are skipped: with
 * a sequential residual, no ln_attn/ln_ffn means its sublayer reads x itself (OLMo 2), and
 * post_attn/post_ffn normalise a sublayer's output before it is added (Gemma 2, OLMo 2). */
typedef struct {
    mhv_norm_kind norm;
    mhv_residual residual;
    mhv_mlp_kind mlp;
    /* the experts' sizes and activation, or NULL; a layer with a router (ly->router) runs
     * this mixture of its experts (ly->exp_*; ly->ffn_* and ly->shared_gate its shared
     * expert when s_inter) instead of its MLP */
    const mhv_moe *moe;
} mhv_decoder;

/* The most buffers of its own a family adds to a decoder's pass. */
#define MHV_DECODER_EXTRA 3

/* What a decoder's pass needs besides its layers' activations. */
typedef struct {
    int qkv_rows;               /* rows of a fused QKV projection (its output), 0: none */
    int rope_half;              /* rotated pairs of a rotary table, 0: no table */
    int embed_width;            /* embeddings wider than the hidden size (OPT's), 0: none */
    mhv_nn_buf extra[MHV_DECODER_EXTRA]; /* the family's own buffers (ALiBi slopes, a
                                          * second rotary table); ptr NULL: none */
} mhv_decoder_scratch;

/* The activations of a decoder's pass over n tokens; H hidden, I intermediate, QD and KVD
 * the query and key/value heads' widths. Buffers not asked for are NULL. */
typedef struct {
    int n, rope_half;
    float *x;           /* (n, H) residual stream */
    float *xb;          /* (n, H) normalised x */
    mhv_attn_bufs attn; /* q, ctx (n, QD); k, v (n, KVD); qkv (n, qkv_rows) when fused */
    float *tmp;         /* (n, H) a sublayer's output */
    float *mlp;         /* (n, H) the MLP's output beside the attention's (parallel residuals) */
    float *ffn;         /* (n, I) the MLP's hidden layer (the gate's, then gate * up) */
    float *up;          /* (n, I) a gated MLP's up projection */
    float *moe;         /* the experts' scratch (mhv_nn_moe_floats) */
    float *cos_t, *sin_t; /* (rope_rows, rope_half) rotary table */
    float *inv_freq;    /* (rope_half,) */
    int rope_rows;      /* positions of the tables and position scales by position: n, or
                         * past + n in a cached decoding step (nn/blocks.h, mhv_nn_kv) */
} mhv_decoder_pass;

/* Carves p's buffers and s's extra ones for n tokens of c's model (mhv_nn_begin). */
mhv_status mhv_decoder_begin(mhv_nn *nn, const mhv_decoder *dec, const mhv_config *c, int n,
                             const mhv_decoder_scratch *s, mhv_decoder_pass *p,
                             mhv_error *err);

/* The rotary table of r for p's rope_half pairs into p->cos_t and p->sin_t, the
 * frequencies over `dims` dimensions (dims / 2 = rope_half: the head's, or 2 * rope_half
 * when only part of a head turns); and the rotation that reads it, of pairs (i, i + half),
 * or (2i, 2i+1) when interleaved. Nothing to fill when rope_half is 0. */
mhv_rotary mhv_decoder_rope(const mhv_decoder_pass *p, const mhv_rope *r, int dims,
                            int interleaved);

/* Decoder layer l of weights ly and attention attn over p->x, in place, keeping cap's heads;
 * with the config's residual_scale (Granite), a sequential layer adds each sublayer's output
 * times it.
 * Returns 1 when l is the last layer computed and nothing reads its output
 * (mhv_capture_done): the caller stops there. */
int mhv_layer_pre_norm(mhv_nn *nn, const mhv_decoder *dec, const mhv_config *c,
                       const mhv_layer *ly, const mhv_attn_layer *attn, int l,
                       const mhv_decoder_pass *p, mhv_capture *cap);

/* Layer l's attention projections as Llama's files name them, layers.<l>.self_attn.{q,k,v,o}_proj
 * (q: qd x hidden, k and v: kvd x hidden, o: hidden x qd) and, with bias, their four biases. */
mhv_status mhv_decoder_load_attn_proj(mhv_wload *ld, int l, int hidden, int qd, int kvd,
                                      int bias, mhv_layer *ly, mhv_error *err);

/* Refuses experts that the checkpoint could not hold, before anything is allocated for them:
 * moe_layers layers of cfg.num_experts experts of expert_elems elements each, 2 bytes an
 * element at least (F16, BF16; GPT-OSS's MXFP4 experts count as a quarter of theirs). */
mhv_status mhv_decoder_experts_fit(const mhv_model *m, const mhv_wload *ld, int moe_layers,
                                   uint64_t expert_elems, mhv_error *err);

/* Layer l's router, layers.<l>.<block>.gate.weight (experts x hidden), and its experts'
 * gate, up and down projections, layers.<l>.<block>.experts.<e>.<names[0..2]>.weight
 * (inter x hidden, inter x hidden, hidden x inter), as views in m->experts (allocated at
 * the first call: 3 x experts views of each of the moe_layers layers that hold experts,
 * taken in the order of the layers; a checkpoint with fewer tensors or bytes than those
 * experts is refused before allocating). */
mhv_status mhv_decoder_load_experts(mhv_model *m, mhv_wload *ld, int l, const char *block,
                                    const char *const names[3], int inter, int moe_layers,
                                    mhv_error *err);

/* m->lm_head (vocab, the token embedding's width): the token embedding when the config ties
 * them, else the checkpoint's tensor `name`, never under the base model's prefix and absent
 * from a base model saved alone (then no logits). With bias (GPT-J, Phi), m->lm_head_b is
 * that tensor, the head's own even when tied, and required with a head. */
mhv_status mhv_decoder_load_lm_head(mhv_model *m, mhv_wload *ld, const char *name,
                                    const char *bias, mhv_error *err);

/* logits(n, vocab) = final norm (m->norm_g, m->norm_b; in place on x(n, H)) · lm_head^T +
 * lm_head_b, then divided by the config's logits_div and multiplied by its logits_mul when
 * they are set. Under nn->logits_last, only the last position's row when
 * mhv_nn_logit_rows allows it (generation): returns the rows written, the last ones. */
int mhv_decoder_logits(mhv_nn *nn, const mhv_decoder *dec, const mhv_model *m, float *x,
                       int n, float *logits);

#endif
