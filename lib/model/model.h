/* model.h - a checkpoint's weights, resolved by its family and viewed in place.
 *
 * Matrices stay in their stored dtype inside the mapped safetensors files (no copy); the
 * small vectors (biases, norm parameters) are fp32 copies. One layer struct serves every
 * family: a family fills the tensors it has and leaves the rest NULL. */
#ifndef MHV_MODEL_H
#define MHV_MODEL_H

#include <stdint.h>

#include "base/attn.h"
#include "base/status.h"
#include "ckpt/safetensors.h"
#include "ckpt/weights.h"
#include "model/config.h"

typedef struct {
    mhv_mat q, k, v;                 /* (heads*head_dim, hidden), (kv_heads*head_dim, hidden) x2 */
    mhv_mat o;                       /* (hidden, heads*head_dim) attention output projection */
    float *q_b, *k_b, *v_b, *o_b;    /* or NULL */
    /* The norm around attention: after it for post-norm families (BERT: x = LN(x + attn)),
     * before it for pre-norm ones (GPT-2 ln_1, llama input_layernorm). b NULL for RMSNorm. */
    float *ln_attn_g, *ln_attn_b;    /* (hidden,) */
    mhv_mat ffn_gate;                /* (intermediate, hidden) gated FFN (SwiGLU), or none */
    mhv_mat ffn_up;                  /* (intermediate, hidden) */
    mhv_mat ffn_down;                /* (hidden, intermediate) */
    float *ffn_gate_b, *ffn_up_b, *ffn_down_b;
    float *ln_ffn_g, *ln_ffn_b;      /* (hidden,) the norm around the FFN, as ln_attn_* */
    /* A fused query/key/value matrix (GPT-NeoX, Falcon): rows as mhv_qkv_grouped lays them
     * out; q/k/v then hold no weights (q may alias it for the dtype). */
    mhv_mat qkv;
    float *qkv_b;                    /* or NULL */
    mhv_mat pos_k, pos_q;            /* DeBERTa's projections of the relative embeddings
                                      * (pos_key_proj, pos_query_proj) when not shared */
    float *pos_k_b, *pos_q_b;
    float *scale_attn, *scale_ffn;   /* (hidden,) DINOv2's layer scales, or NULL */
    /* RMSNorm weights of the query and key heads (head_dim,), or of the whole projections
     * (heads*head_dim,), (kv_heads*head_dim,) (config qk_norm), or NULL */
    float *q_norm_g, *k_norm_g;
    /* RMSNorm of the attention and FFN outputs before the residual add (Gemma 2/3, OLMo 2:
     * x += norm(attn(...))), or NULL */
    float *post_attn_g, *post_ffn_g; /* (hidden,) */
    /* A mixture-of-experts feed-forward layer (config num_experts; router.data NULL in
     * dense layers): router (experts, hidden), each expert's gate and up (moe intermediate,
     * hidden) and down (hidden, moe intermediate) in exp_* (experts,) (views into
     * mhv_model.experts); a shared expert in ffn_* gated by sigmoid(shared_gate · x),
     * shared_gate (1, hidden) (Qwen2-MoE) */
    mhv_mat router, shared_gate;
    const mhv_mat *exp_gate, *exp_up, *exp_down;
    /* encoder-decoder models: the decoder layers' attention to the encoder output (queries
     * from the decoder, keys and values from the encoder), its norm, and T5's relative
     * position bias (buckets, heads) of the layers that have one (BEiT: its relative
     * position bias table ((2s-1)^2 + 3, heads), model/beit.c) */
    mhv_mat xq, xk, xv, xo;
    float *xq_b, *xk_b, *xv_b, *xo_b;
    float *ln_cross_g, *ln_cross_b;
    mhv_mat rel_bias;
    float *q_norm_b, *k_norm_b;      /* (head_dim,) biases of a LayerNorm of each query and key
                                      * head (Phi qk_layernorm), or NULL */
    /* GPT-OSS: the heads' sink logits (heads,), the router's bias (experts,), the experts'
     * biases (experts, 2 * moe intermediate) and (experts, hidden); its experts' fused
     * gate/up matrices (interleaved rows) are exp_gate, exp_up NULL */
    float *sinks, *router_b, *exp_gate_up_b, *exp_down_b;
    /* GPT-OSS's MXFP4 experts instead (into the mapping): blocks (experts, out, in / 32, 16)
     * and scales (experts, out, in / 32) of gate_up (out 2 * moe intermediate, in hidden)
     * and of down (out hidden, in moe intermediate); NULL when not quantised */
    const unsigned char *exp_gu_blocks, *exp_gu_scales, *exp_down_blocks, *exp_down_scales;
    /* MobileBERT's bottlenecks (model/mobilebert.c), each a linear layer and the norm after
     * it: into the inner width from the layer's input (bn_in: the layer input of its
     * residuals; bn_attn: the queries' and keys' input), and back out to hidden (bn_out);
     * data NULL when the model has none */
    mhv_mat bn_in, bn_attn, bn_out;
    float *bn_in_b, *bn_in_g, *bn_in_nb, *bn_attn_b, *bn_attn_g, *bn_attn_nb;
    float *bn_out_b, *bn_out_g, *bn_out_nb;
    /* WavLM's gate of the relative position bias (model/wav2vec2.c): a linear layer (8,
     * head_dim) over each head's slice of the attention input, its bias (8,), and the
     * heads' constants (heads,); data NULL otherwise */
    mhv_mat rel_gate;
    float *rel_gate_b, *rel_gate_const;
    /* Apertus's xIELU of the MLP, {alpha_p, alpha_n, beta, eps} as applied (mhv_nn_xielu),
     * or NULL: the config's activation */
    float *xielu;
    /* a mixture's bias of the scores by which experts are chosen, not weighted (DeepSeek-V3's
     * e_score_correction_bias) (experts,), or NULL */
    float *router_choice_b;
    /* DeepSeek's MLA (q in q, q_b_proj's when q_lora_rank): q_a_proj (q_lora, hidden) and its
     * RMSNorm, kv_a_proj_with_mqa (kv_lora + rope, hidden) and kv_a_layernorm (kv_lora,),
     * kv_b_proj (heads * (nope + v), kv_lora); biases with attention_bias, or NULL */
    mhv_mat mla_q_a, mla_kv_a, mla_kv_b;
    float *mla_q_a_b, *mla_q_a_g, *mla_kv_a_b, *mla_kv_a_g;
    /* Longformer's (and LED's encoder's) projections of the global tokens (query_global,
     * key_global, value_global: shaped as q, k, v), data NULL when the checkpoint has none */
    mhv_mat q_global, k_global, v_global;
    float *q_global_b, *k_global_b, *v_global_b;
    /* Swin V2 (model/swin.c): each head's logit scale (heads,) as stored (clamped and
     * exponentiated when used), the continuous position bias MLP: (512, 2) with its bias
     * and (heads, 512); NULL / data NULL otherwise */
    float *swin_logit_scale;
    mhv_mat swin_cpb1, swin_cpb2;
    float *swin_cpb1_b;
} mhv_layer;

typedef struct mhv_model_s {
    mhv_config cfg;
    char dir[4096];
    mhv_st *st;
    mhv_dtype dtype;             /* dtype of the weight matrices ("F32", "BF16" ...) */
    mhv_mat word_emb;            /* (vocab, hidden) */
    mhv_mat pos_emb;             /* (max_positions, hidden) learned positions, or none */
    mhv_mat type_emb;            /* (type_vocab, hidden) token types, or none */
    float *emb_ln_g, *emb_ln_b;  /* (embedding size,) the embedding norm, or NULL */
    mhv_mat emb_proj;            /* (hidden, embedding size) when they differ (ELECTRA), or
                                  * none */
    float *emb_proj_b;
    mhv_layer *layers;           /* (num_layers,) */
    float *norm_g, *norm_b;      /* (hidden,) decoders' final norm (ln_f, norm); norm_b NULL
                                  * for RMSNorm */
    mhv_mat lm_head;             /* (vocab, hidden) decoders; the token embedding when tied;
                                  * data NULL for a base model without lm_head.weight */
    mhv_mat rel_emb;             /* (2 * span, hidden) DeBERTa's relative position embeddings */
    mhv_mat patch_emb;           /* (hidden, channels * patch^2) vision: the patch projection */
    float *patch_emb_b;
    float *extra_tokens;         /* (vision_extra, hidden) [CLS] (and DeiT's distillation) */
    /* SigLIP's attention-pooling head: a learned probe attending, with the heads of the
     * model, to the final tokens after post_layernorm (in norm_g, norm_b); pool_probe
     * NULL when the checkpoint has no head */
    float *pool_probe;           /* (hidden,) */
    mhv_mat pool_q, pool_k;      /* (hidden, hidden): rows of in_proj_weight */
    float *pool_qb, *pool_kb;    /* (hidden,) */
    float *rel_ln_g, *rel_ln_b;  /* their LayerNorm (norm_rel_ebd), or NULL */
    mhv_wstore store;            /* the fp32 vectors above and any aligned copies */
    mhv_mat *experts;            /* (layers * experts * 3) the experts' matrices, or NULL */
    float *lm_head_b;            /* (vocab,) the LM head's bias (GPT-J), or NULL */
    mhv_mat out_proj;            /* (embedding size, hidden) after the final norm, before the
                                  * LM head (OPT project_out), or none */
    /* encoder-decoder models: layers holds the encoder's cfg.num_layers layers, then the
     * decoder's cfg.dec_layers (dec_layers points there); norm_g/norm_b are the decoder's
     * final norm, enc_norm_* the encoder's; word_emb is the encoder's token embedding */
    mhv_layer *dec_layers;
    mhv_mat dec_word_emb;        /* (dec_vocab, hidden) */
    mhv_mat dec_pos_emb;         /* learned decoder positions (BART), or none */
    float *enc_norm_g, *enc_norm_b;
    float *dec_emb_ln_g, *dec_emb_ln_b;
    mhv_mat final_logits_bias;   /* (1, dec_vocab) added to the logits (BART, Marian), or none */
    /* Encoders' masked-LM head (BertForMaskedLM's cls.predictions, RoBERTa's lm_head):
     * logits = LN(act(dense(x))) · decoder^T + bias; mlm_dense.data NULL when the checkpoint
     * has none (a base model or another head) */
    mhv_mat mlm_dense;           /* (hidden, hidden) */
    float *mlm_dense_b, *mlm_ln_g, *mlm_ln_b; /* (hidden,) */
    int mlm_act;                 /* mhv_act */
    mhv_mat mlm_decoder;         /* (vocab, hidden): the token embedding when tied */
    float *mlm_bias;             /* (vocab,) */
    mhv_mat task_emb;            /* (task_types, hidden) ERNIE's task type embeddings, or none */
    mhv_mat shared_rel_bias;     /* ((2s-1)^2 + 3, heads) BEiT's relative position bias shared
                                  * by every layer (use_shared_relative_position_bias; a
                                  * layer's own is its rel_bias), or none */
    /* Whisper's encoder input: conv1 (hidden, num_mel_bins * 3) and conv2 (hidden, hidden * 3)
     * kernels of width 3 viewed as matrices, their biases (hidden,) */
    mhv_mat audio_conv1, audio_conv2;
    float *audio_conv1_b, *audio_conv2_b;
    /* AIMv2: the RMSNorm of the patch embeddings before their positions (hidden,), or NULL.
     * Its attention-pooling head has no query projection (pool_q.data NULL, pool_probe set:
     * the probe is the query itself) and an RMSNorm before it (norm_g, norm_b NULL). */
    float *patch_norm_g;
    /* a family's further layers beside `layers`, freed with the model (MobileBERT: each
     * layer's num_feedforward_networks - 1 stacked feed-forward networks in ffn_up,
     * ffn_down and ln_ffn, layer by layer), or NULL */
    mhv_layer *sub_layers;
    /* MobileBERT's masked-LM head: its dense (hidden - embedding size, vocab) weight, whose
     * rows take the transformed features past the embedding size (the decoder, mlm_decoder,
     * takes the first ones), viewed as the transposed (vocab, hidden - embedding size)
     * matrix; data NULL otherwise */
    mhv_mat mlm_extra;
    /* speech encoders (cfg.speech, model/wav2vec2.c): each convolution of the feature
     * encoder (conv_dim[i], conv_dim[i-1] * kernel[i]) viewed as a matrix, its bias and its
     * norm's gain and bias (NULL when it has none); the feature projection (hidden,
     * conv_dim[last]), its bias and its norm's (NULL without); the positional convolution
     * (hidden, hidden / groups * kernel) with its weight norm applied (fp32, in the store)
     * and its bias */
    mhv_mat speech_conv[MHV_MAX_SPEECH_CONVS];
    float *speech_conv_b[MHV_MAX_SPEECH_CONVS];
    float *speech_conv_g[MHV_MAX_SPEECH_CONVS], *speech_conv_nb[MHV_MAX_SPEECH_CONVS];
    mhv_mat speech_proj;
    float *speech_proj_b, *speech_proj_g, *speech_proj_nb;
    mhv_mat speech_pos;
    float *speech_pos_b;
    /* data2vec-audio's positional convolutions instead (cfg.speech_pos_layers of them: each
     * (hidden, hidden / groups * kernel), its bias, then a LayerNorm without parameters:
     * ones and zeros in speech_pos_ones, speech_pos_zeros) */
    mhv_mat speech_pos_layer[MHV_MAX_SPEECH_CONVS];
    float *speech_pos_layer_b[MHV_MAX_SPEECH_CONVS];
    float *speech_pos_ones, *speech_pos_zeros;
    /* WavLM's relative position bias table (num_buckets, heads), fp32 (the first layer's
     * rel_attn_embed, which every layer reads), or NULL */
    float *speech_rel_table;
    /* rotary frequencies (head_dim / 2,) the checkpoint stores and transformers uses rather
     * than computes (ESM's rotary_embeddings.inv_freq), or NULL */
    float *rope_inv_freq;
    /* LLaVA (model/llava.c): its vision tower and language model, each a model of its own
     * over a view of this checkpoint under its own names (closed with it; layers, word_emb,
     * lm_head and norm_g above are the language model's, shared), and the multi-modal
     * projector linear_2(act(linear_1(features))); NULL / data NULL otherwise */
    struct mhv_model_s *image_tower, *text_model;
    mhv_mat mm_proj1, mm_proj2;      /* (H, tower hidden * feature layers), (H, H) */
    float *mm_proj1_b, *mm_proj2_b;  /* (H,) or NULL */
    /* ESM's contact head (EsmContactPredictionHead, model/esm.c): its regression over every
     * head, (1, layers * heads) in (layer, head) order, and its bias; data NULL when the
     * checkpoint has none */
    mhv_mat contact_w;
    float *contact_b;                /* (1,) */
    /* Gemma 3's projector (model/gemma3_vision.c): the tower's post_layernorm, the
     * soft-embedding RMSNorm (1 + weight folded in) of the pooled patches, and mm_proj1 above
     * (tower hidden x H, stored transposed) after it; NULL otherwise */
    float *mm_post_g, *mm_post_b;    /* (tower hidden,) */
    float *mm_norm_g;                /* (tower hidden,) */
    /* Swin (model/swin.c): each stage's patch merging but the last's: its LayerNorm (4 C,)
     * and reduction (2 C, 4 C) of stage s's C channels; the image classifier (swin_labels,
     * hidden) and its bias, data NULL for a base model */
    float *swin_merge_g[MHV_MAX_SWIN_STAGES], *swin_merge_b[MHV_MAX_SWIN_STAGES];
    mhv_mat swin_merge[MHV_MAX_SWIN_STAGES];
    mhv_mat img_classifier;
    float *img_classifier_b;
} mhv_model;

/* Opens DIR/config.json and DIR's safetensors checkpoint and resolves every weight of the
 * model's family, checking names, dtypes and shapes against the config. */
mhv_status mhv_model_open(const char *dir, mhv_model **out, mhv_error *err);
void mhv_model_close(mhv_model *m);

/* A part of composite model m (LLaVA's or Qwen2-VL's vision tower and language model): a
 * model of config c (a copy is kept) over the view renames(count) of m's checkpoint
 * (mhv_st_view), loaded by c's family; closed with m. */
mhv_status mhv_model_open_part(const mhv_model *m, const mhv_config *c,
                               const char *const (*renames)[2], int count, mhv_model **out,
                               mhv_error *err);
/* Composite m's language model (m->text_model, opened) seen from m: its layers, embedding,
 * head and final norm, which the driver's checks and reports read from m. */
void mhv_model_mirror_text(mhv_model *m);
/* The text tower of dual-encoder model m (clip, siglip, chinese_clip: text_config, the
 * text_model. weights) as m->text_model, a model of its own (closed with m).
 * MHV_EUSAGE for a model without one. */
mhv_status mhv_model_open_text_tower(mhv_model *m, mhv_error *err);
/* Vision models: the tokens of an image of the model's own image_size (the extra tokens,
 * then the patches row by row); 0 for models that read text. */
int mhv_model_image_tokens(const mhv_model *m);

/* The patch grid of an image of height x width pixels (as preprocessed) for vision model m. */
typedef struct {
    int rows, cols;     /* height / patch_size, width / patch_size: the patch convolution
                         * drops the pixels of a last partial patch */
    int tokens;         /* vision_extra + rows * cols */
    int interpolate;    /* not the model's own grid: its positions are resized to it */
} mhv_image_grid;

/* The grid as transformers takes that image: positions resized (nn/interp.h, as
 * interpolate_pos_encoding) whenever the grid is not image_size / patch_size square, by
 * DINOv2 always, by ViT, DeiT, CLIP and SigLIP only when interpolate_pos is set (their
 * interpolate_pos_encoding=True). MHV_EUSAGE (a one-line message) for no whole patch, too
 * many tokens, or, without interpolate_pos, another size than the model's (ViT, DeiT, CLIP:
 * image_size square; SigLIP: its grid): the message then ends "unless its position
 * embeddings are interpolated". */
mhv_status mhv_model_image_grid(const mhv_model *m, int height, int width, int interpolate_pos,
                                mhv_image_grid *g, mhv_error *err);

/* Clears the heads of sel past each layer's own count (Swin's stages have their own: a
 * selection is as wide as the most of them), for a selection made by a pattern ("all",
 * "*:3"); returns how many were cleared. */
int mhv_model_heads_fit(const mhv_model *m, mhv_heads *sel);
/* Swin: the grid (rows, cols) of layer l's tokens for an image grid of rows0 x cols0
 * patches (each stage halves the last's, rounded up); the image grid for other models. */
void mhv_model_layer_grid(const mhv_model *m, int l, int rows0, int cols0, int *rows,
                          int *cols);
/* The model as reports and figure titles describe it (strings borrowed from m). */
mhv_model_info mhv_model_describe(const mhv_model *m);

#endif
