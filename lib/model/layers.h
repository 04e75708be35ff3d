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

/* The forward pass of the vision transformers (ViT, DeiT, DINOv2; CLIP and SigLIP towers):
 * the embeddings of nn->pixels, CLIP's pre-LayerNorm when the model has one, then pre-norm
 * layers with DINOv2's layer scales when present. ids are unused; no logits. */
mhv_status mhv_vision_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                              mhv_capture *cap, float *logits, mhv_error *err);

#endif
