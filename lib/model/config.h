/* config.h - a Hugging Face config.json as the hyperparameters of one model family.
 *
 * model_type picks the family (lib/model/families.c); the family reads its own fields, with
 * the defaults of the transformers config class, so a config.json parses to the model
 * transformers would build from it. What a family does not implement is refused by name. */
#ifndef MHV_CONFIG_H
#define MHV_CONFIG_H

#include <stddef.h>

#include "base/status.h"
#include "nn/act.h"
#include "nn/rope.h"

struct mhv_family;

#define MHV_MAX_ROPE_PAIRS 512 /* rotated pairs of a head with per-pair rope factors */

/* How a vision model takes an image whose patch grid is not its own (image_size /
 * patch_size square): transformers resizes the position embeddings to the grid
 * (interpolate_pos_encoding: bicubic, nn/interp.h) always, or only when asked. */
typedef enum {
    MHV_VPOS_ASKED_SIZE = 0, /* only when asked; else the image must be image_size square,
                              * or transformers raises (ViT, DeiT, CLIP) */
    MHV_VPOS_ASKED_GRID,     /* only when asked; else the patch grid must be its own
                              * (SigLIP: transformers checks no pixel size) */
    MHV_VPOS_ALWAYS,         /* always (DINOv2, with registers too) */
    MHV_VPOS_NEVER,          /* never: the patch grid must be its own, asked or not (AIMv2:
                              * transformers has no interpolate_pos_encoding for it) */
} mhv_vision_pos;

#define MHV_MAX_LAYERS_WINDOWS 1024 /* = MHV_MAX_LAYERS, defined below */
#define MHV_MAX_SPEECH_CONVS 32   /* convolutions of a speech encoder's feature encoder */
#define MHV_MAX_SWIN_STAGES 8     /* stages of a hierarchical vision transformer (Swin) */

typedef struct {
    const struct mhv_family *family;
    const char *arch;         /* the architecture as reports name it: "bert", "mistral" ...
                               * (static; the family's name for this model_type) */
    char model_type[32];      /* as written in config.json */
    int hidden_size;
    int num_layers;
    int num_heads;
    int num_kv_heads;         /* == num_heads except for grouped-query attention */
    int head_dim;             /* hidden_size / num_heads unless config.json gives head_dim */
    int intermediate_size;
    int vocab_size;
    int max_positions;
    int type_vocab_size;      /* 0: no token type embeddings */
    int embedding_size;       /* of the token embeddings: hidden_size unless factorised
                               * (ELECTRA, ALBERT) */
    int pos_offset;           /* learned positions: token i takes row i + pos_offset */
    int layer_groups;         /* ALBERT: groups of shared layer weights */
    /* vision transformers: the input is an image of image_size^2 pixels (num_channels),
     * cut into patch_size^2 patches, after vision_extra tokens ([CLS], DeiT's distillation
     * token) */
    int vision;
    int image_size, patch_size, num_channels, vision_extra;
    int vision_registers;   /* of vision_extra: DINOv2's register tokens, after [CLS] */
    int vision_pos;         /* mhv_vision_pos: how its positions meet another patch grid */
    int vision_pos_aa;      /* that resize antialiased (DINOv2 with registers) */
    int norm_bias;            /* ModernBERT: its LayerNorms have biases */
    /* DeBERTa-v2 disentangled attention: content->position and position->content terms */
    int rel_attention;        /* relative_attention: the relative embeddings exist */
    int rel_c2p, rel_p2c;
    int rel_span;             /* att_span: position_buckets, else max_relative_positions */
    int rel_buckets;          /* position_buckets (log buckets), or 0 */
    int rel_max;              /* max_relative_positions */
    int rel_share_key;        /* share_att_key: the content projections serve the positions */
    int rel_norm;             /* norm_rel_ebd has layer_norm */
    int pos_input;            /* position_biased_input: absolute positions added too */
    int pad_positions;        /* RoBERTa's positions: counted from pad_id + 1, pads at pad_id */
    int pad_id;               /* pad_token_id */
    float layer_norm_eps;     /* LayerNorm eps, or RMSNorm eps (rms_norm_eps) */
    mhv_act act;
    int causal;               /* 0 for encoders, 1 for decoders */
    int kv_heads;             /* the family has key/value heads (reports num_key_value_heads) */
    int tie_word_embeddings;  /* lm_head is the token embedding matrix */
    int attn_bias;            /* q/k/v projections have biases */
    int attn_out_bias;        /* the output projection has one */
    int mlp_bias;             /* the feed-forward projections have biases */
    mhv_rope rope;            /* rotary families */
    int sliding_window;       /* 0: none; else key j is seen by query i only when i - j < it */
    int window_from_layer;    /* layers >= this one use sliding_window (Qwen2 max_window_layers) */
    int parallel_residual;    /* attention and feed-forward both read the layer's input
                               * (GPT-NeoX, GPT-J, Falcon) */
    int rotary_dims;          /* rotated dimensions of a head (partial rotary: GPT-NeoX,
                               * GPT-J, Phi-3); 0 where the family rotates whole heads */
    /* decoder options (Qwen3, Gemma, Phi-3, OLMo 2) */
    int qk_norm;              /* MHV_QK_NORM_*: RMSNorm of queries and keys */
    double attn_scale;        /* > 0: the score scale (Gemma 2 query_pre_attn_scalar**-0.5);
                               * 0: 1/sqrt(head_dim) */
    float attn_softcap;       /* > 0: scores capped by softcap * tanh(s / softcap) (Gemma 2) */
    float final_softcap;      /* > 0: logits capped the same way (Gemma 2) */
    unsigned char window_layers[128]; /* with window_by_layer, bit l (byte l / 8, bit l % 8)
                                       * set: layer l uses sliding_window (Gemma 2 and 3) */
    int window_by_layer;
    mhv_rope rope_local;      /* rotary of the sliding layers when two_ropes (Gemma 3) */
    int two_ropes;
    /* mixture-of-experts feed-forward layers (Mixtral, Qwen2-MoE, Qwen3-MoE) */
    int num_experts;          /* 0: dense feed-forward layers only */
    int experts_per_tok;      /* top k of the router's softmax */
    int norm_topk_prob;       /* the k probabilities renormalised to sum to 1 */
    int moe_intermediate_size;
    int shared_expert_size;   /* intermediate size of the shared expert (Qwen2-MoE), or 0 */
    unsigned char moe_layers[128]; /* bit l set (as window_layers): layer l is a mixture */
    /* Phi-3's longrope (rope.kind MHV_ROPE_NONE with longrope set): inv_freq[j] =
     * 1 / (factor[j] * theta^(2j/dim)), the short factors for up to longrope_original
     * tokens, the long ones beyond, cos and sin multiplied by longrope_attention */
    int longrope;
    int longrope_original;
    double longrope_attention;
    float longrope_short[MHV_MAX_ROPE_PAIRS], longrope_long[MHV_MAX_ROPE_PAIRS];
    int pre_norm;             /* OPT do_layer_norm_before: 1 pre-LN, 0 post-LN (OPT-350m) */
    int final_norm;           /* OPT: the final LayerNorm exists */
    int qkv_layout;           /* a fused query/key/value matrix's layout (the family's enum) */
    int split_norms;          /* Falcon: separate ln_attn and ln_mlp */
    int residual_post_norm;   /* BLOOM apply_residual_connection_post_layernorm: the residual
                               * is the normalised input */
    int alibi;                /* ALiBi score biases instead of positions (Falcon-RW) */
    /* encoder-decoder models (T5, BART, Marian): num_layers, num_heads, intermediate_size
     * and vocab_size are the encoder's */
    int enc_dec;              /* 1: mhv_forward_run_seq2seq runs it */
    int dec_layers;           /* decoder layers */
    int dec_vocab_size;       /* the decoder's vocabulary (Marian's separate one), else
                               * vocab_size */
    int dec_intermediate_size;
    int decoder_start_id;     /* decoder_start_token_id */
    int eos_id;               /* eos_token_id (generation stops there), or -1 */
    int rel_pos_buckets;      /* T5 relative_attention_num_buckets, 0: none */
    int rel_pos_max_distance; /* T5 relative_attention_max_distance */
    int rel_pos_per_layer;    /* UMT5: every layer has its own relative bias */
    int gated_ffn;            /* T5 v1.1 / mT5: act(wi_0 x) * wi_1 x */
    double out_scale;         /* > 0: the decoder output is scaled before the LM head (T5
                               * tied: d_model**-0.5) */
    double embed_scale;       /* > 0: token embeddings are multiplied by it (BART
                               * scale_embedding: sqrt(d_model)) */
    int sinusoidal;           /* Marian: sinusoidal positions, not learned */
    int separate_emb;         /* Marian: the decoder has its own token embeddings */
    /* decoders' scalar multipliers (Granite, Cohere, OLMo); 0: none */
    double residual_scale;    /* each sublayer's output times it before its residual add
                               * (Granite residual_multiplier) */
    double logits_div;        /* logits divided by it (Granite logits_scaling) */
    double logits_mul;        /* logits multiplied by it (Cohere logit_scale) */
    double clip_qkv;          /* q, k, v clamped to [-clip_qkv, clip_qkv] (OLMo) */
    int task_types;           /* ERNIE use_task_id: rows of its task type embeddings (every
                               * token has task 0), 0: none */
    /* BEiT, data2vec-vision (model/beit.c) */
    int vision_rel_bias;      /* MHV_VREL_* bits: relative position bias tables */
    int vision_no_abs_pos;    /* no learned absolute positions (the bias alone) */
    int vision_layer_scale;   /* layer scales lambda_1, lambda_2 */
    int rel_scale_terms;      /* DeBERTa: scores over sqrt(head_dim * this): 1 + the
                               * pos_att_type terms, counted with or without
                               * relative_attention (as transformers counts them) */
    /* GPT-OSS experts' clamped SwiGLU (model/gpt_oss.c) */
    double swiglu_alpha, swiglu_limit;
    unsigned char nope_layers[128]; /* bit l set (as window_layers): layer l has no rotary
                                     * positions (SmolLM3 no_rope_layers) */
    int attn_sinks; /* a sink logit in each softmax (GPT-OSS): the kept rows sum to less than 1 */
    /* DINOv3 (model/dinov3.c): 2-D rotary positions of the patches (rope.theta), the key
     * and value projections' own bias flags, the gated MLP's gate through act (DINOv2's
     * SwiGLU: SiLU whatever hidden_act says) */
    int vision_rope2d;
    int vision_key_bias, vision_value_bias;
    int vision_gate_act;
    /* AIMv2 (model/aimv2.c): RMSNorms in place of the LayerNorms; the native models' 2-D
     * sine-cosine positions computed for the image's own grid (no table) */
    int vision_rms;
    int vision_sincos2d;
    /* SigLIP 2 (model/clip.c): positions resized bilinearly with antialiasing
     * (MHV_INTERP_BILINEAR_AA), patches flattened (row, column, channel) for its linear
     * patch embedding */
    int vision_pos_bilinear_aa;
    int vision_patch_hwc;
    /* audio encoder-decoders (Whisper, model/whisper.c): the encoder reads log-mel features
     * (num_mel_bins, 2 * audio_positions) through two convolutions into audio_positions
     * frames (max_source_positions), not token ids; 0: a model of token ids */
    int audio_positions;
    int num_mel_bins;
    /* PhiMoE: cos and sin times [0] up to longrope_original tokens, [1] beyond (its
     * short_mscale and long_mscale), and its router's router_jitter_noise (sparsemixer) */
    double longrope_mscale[2];
    double router_jitter;
    int lm_head_bias;         /* the LM head has a bias (PhiMoE lm_head_bias) */
    int kv_tiled;             /* query head h reads key/value head h % num_kv_heads (JetMoE),
                               * not h / (heads / kv heads): no grouped kv_head to report */
    /* MobileBERT (model/mobilebert.c): the trigram embedding input, the bottleneck (layers
     * work at mb_inner = intra_bottleneck_size), queries, keys and values all from the
     * bottleneck (use_bottleneck_attention) or queries and keys from their own
     * (key_query_shared_bottleneck), the feed-forward networks of a layer, NoNorm for every
     * norm (normalization_type no_norm) */
    int mb_trigram, mb_bottleneck, mb_bottleneck_attn, mb_shared_qk, mb_ffns, mb_no_norm;
    int mb_inner;
    /* Longformer (model/bert.c): layer l's queries see the keys within attn_window[l] - 1
     * positions on either side (attention_window[l] / 2), as mhv_attn_layer.window counts */
    int attn_window[MHV_MAX_LAYERS_WINDOWS];
    /* SqueezeBERT (model/squeezebert.c): the groups of its q, k, v, post-attention,
     * intermediate and output convolutions */
    int sq_groups[6];
    /* BigBird (model/bert.c): token rows times sqrt(hidden_size) (rescale_embeddings); > 0:
     * block_sparse attention, which transformers runs as original_full up to this many
     * tokens ((5 + 2 num_random_blocks) block_size), block-sparse above (sparse_block) */
    int embed_rescale;
    int sparse_full_max;
    /* block_size and num_random_blocks of that block-sparse attention; qkv_no_bias: q, k and
     * v without biases (use_bias false) */
    int sparse_block, sparse_random;
    int qkv_no_bias;
    /* encoder-decoders whose decoder has its own position table (LED): its rows; else
     * max_positions */
    int dec_max_positions;
    int rotary_value;         /* RoFormer: the values turn by the rotary positions too */
    /* speech encoders (wav2vec2, HuBERT: model/wav2vec2.c): the input is a waveform, turned
     * into frames by speech_convs 1-D convolutions (no padding) of speech_conv_dim channels,
     * speech_conv_kernel wide, speech_conv_stride apart, each followed by a GroupNorm (the
     * first only, speech_conv_layer_norm 0) or a LayerNorm (every one, 1) and speech_act;
     * then a positional convolution (speech_pos_kernel wide, speech_pos_groups groups) added
     * to the projected frames. pre_norm: do_stable_layer_norm. 0: not a speech encoder */
    int speech;
    int speech_convs;
    int speech_conv_dim[MHV_MAX_SPEECH_CONVS], speech_conv_kernel[MHV_MAX_SPEECH_CONVS];
    int speech_conv_stride[MHV_MAX_SPEECH_CONVS];
    int speech_conv_bias, speech_conv_layer_norm;
    mhv_act speech_act;       /* feat_extract_activation */
    int speech_pos_kernel, speech_pos_groups;
    int speech_proj_norm;     /* the feature projection's LayerNorm (HuBERT's
                               * feat_proj_layer_norm) */
    int speech_pos_layers;    /* data2vec-audio: a stack of this many plain convolutions, each
                               * followed by a LayerNorm without parameters and speech_act,
                               * makes the positions; 0: one weight-normed convolution */
    /* ESM (model/esm.c): token_dropout (token rows of esm_mask_id zeroed, every row times
     * 0.88 / (1 - the sentence's share of them)), the embeddings' LayerNorm
     * (emb_layer_norm_before), rotary positions instead of learned ones */
    int esm_token_dropout, esm_mask_id, esm_emb_norm, esm_rotary;
    /* LLaVA (model/llava.c): the decoder's sizes above are its text_config's; it reads token
     * ids and one image, whose features (from the vision tower's hidden states
     * image_layers[0 .. image_nlayers), as indices into its num_layers + 1 of them,
     * concatenated; their first token dropped unless image_full) take the place of the
     * image_token_id tokens, one each; image_size, patch_size and num_channels are the
     * tower's. 0: a model of ids or of an image alone */
    int image_in_text;
    int image_token_id;
    int image_layers[8], image_nlayers;
    int image_full;
    int image_extra;          /* the tower's tokens before its patches ([CLS]) */
    mhv_act image_proj_act;   /* the projector's projector_hidden_act */
    int image_proj_bias;      /* its linears have biases (multimodal_projector_bias) */
    /* decoders of model/llama.c's later rows */
    int qk_norm_late;         /* the q/k head norms after the rotation (HunYuan) */
    double llama4_beta;       /* Ministral 3: queries at position pos scaled by
                               * 1 + beta log(1 + floor(pos / llama4_original)) */
    int llama4_original;
    int xielu;                /* the MLP's activation is xIELU with each layer's parameters
                               * (Apertus hidden_act xielu) */
    /* DeepSeek-V3's routing (model/glm4_moe.c; mhv_moe.groups): n_group, topk_group,
     * routed_scaling_factor; 0 groups: another routing */
    int moe_groups, moe_topk_groups;
    double moe_routed_scale;
    double moe_norm_min;      /* > 0: ERNIE 4.5's routing (mhv_moe.softmax_bias) */
    int moe_softmax_groups;   /* DeepSeek-V2's routing (mhv_moe.softmax_groups) */
    /* DeepSeek's multi-head latent attention (model/glm4_moe.c): q_lora_rank (0: q_proj),
     * kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim (head_dim is nope +
     * rope), the rotated part's layout (0 pairs kept interleaved, 1 rotated evens then odds,
     * 2 halves); mla_kv_lora 0: not MLA */
    int mla_q_lora, mla_kv_lora, mla_nope, mla_rope, mla_v, mla_rope_layout;
    /* vision encoder-decoders (model/ved.c: TrOCR): the encoder reads an image (nn->pixels,
     * through the audio encoder-decoders' entries: audio_positions is its tokens); the
     * decoder's layernorm_embedding, the encoder's final norm (BEiT has none under
     * use_mean_pooling), enc_to_dec_proj, and the width the cross-attention's keys and
     * values read (the encoder's, or the decoder's after that projection); each stack's
     * heads (num_heads is the larger: a head selection's width) */
    int image_enc_dec;
    int ved_ln_embedding, ved_enc_norm, ved_enc_proj, ved_cross_hidden;
    int ved_enc_heads, ved_dec_heads;
    int ved_gpt2;             /* the decoder is GPT-2's (GPT2LMHeadModel), not TrOCR's */
    int ved_bert;             /* the decoder is BERT's (BertLMHeadModel) */
    /* Longformer, LED (its encoder): tokens may be given global attention (their
     * global_attention_mask: nn->global, mhv_forward_ctx_global) */
    int global_attn;
    int global_sep_id;        /* Longformer: sep_token_id (default 2), whose first occurrence
                               * ends the question LongformerForQuestionAnswering makes global */
    /* SEW and SEW-D (model/wav2vec2.c): the frames averaged speech_squeeze at a time before
     * the encoder, the positional convolution strided as much (0: no squeeze); the feature
     * LayerNorm's eps (every speech encoder's); SEW-D's DeBERTa layers (disentangled
     * attention, model/disentangled.h) instead of wav2vec 2.0's */
    int speech_squeeze;
    float speech_proj_eps;
    int speech_deberta;
    /* Qwen2-VL and Qwen2.5-VL (model/qwen2_vl.c). The model (image_in_text, the decoder's
     * sizes its text model's): pairs of a head turn by the positions of mrope_section's
     * three axes (time, height, width; as many pairs each, in that order), image_merge x
     * image_merge patches make one image token; video_token_id is refused. Its vision tower
     * (qvl_tower 1: Qwen2-VL's, 2: Qwen2.5-VL's): patches of temporal_patch frames (the
     * image repeated), a 2-D rotary over each head (rope.theta), LayerNorms (2: RMSNorms
     * and a gated MLP), window attention of qvl_window pixels on the layers not in
     * qvl_full_layers (2 only), and the merger into qvl_out features */
    int mrope_section[3];
    int image_merge;
    int video_token_id;
    int qvl_tower;
    int temporal_patch;
    int qvl_window;
    unsigned char qvl_full_layers[128];
    int qvl_out;
    /* Swin (model/swin.c): swin_stages stages of swin_depths[s] layers (num_layers their
     * sum), stage s of swin_heads[s] heads over swin_embed_dim * 2^s channels (hidden_size
     * the last stage's, num_heads the most of any stage: a head selection's width, head_dim
     * the first stage's), attention within windows of swin_window x swin_window patches,
     * every other layer's windows shifted by half a window; patch merging halves the grid
     * between stages; swin_labels the classifier's outputs (id2label) */
    int swin;
    int swin_stages, swin_window, swin_embed_dim, swin_labels;
    int swin_depths[MHV_MAX_SWIN_STAGES], swin_heads[MHV_MAX_SWIN_STAGES];
    double swin_mlp_ratio;
    /* Swin V2 (model/swin.c, swinv2): cosine attention with each head's logit scale, the
     * continuous position bias (an MLP over log-spaced window coordinates, scaled by each
     * stage's swin_pretrained window when > 0), the norms after attention and MLP
     * (res-post-norm), patch merging's norm after its reduction, and windows and shifts
     * set by the config's image_size, not the image's */
    int swin_v2;
    int swin_pretrained[MHV_MAX_SWIN_STAGES];
    /* DonutSwin (donut-swin: Donut's encoder): Swin without the final LayerNorm, the
     * scores divided by sqrt(head_dim) and the bias and mask added one after the other */
    int swin_donut;
    /* The Audio Spectrogram Transformer (model/vit.c; speech is set too: WAV files in): a
     * ViT over the filter-bank features of spec_frames (max_length) frames x spec_mels
     * (num_mel_bins) bins (media/astfeat.h) read as an image of bin rows and frame
     * columns, cut into patch_size squares spec_fstride bins and spec_tstride frames
     * apart, after [CLS] and the distillation token */
    int spectrogram;
    int spec_mels, spec_frames, spec_fstride, spec_tstride;
    /* Gemma 3 and PaliGemma with an image (model/gemma3_vision.c, model/paligemma.c), beside
     * image_in_text and the fields of LLaVA's above (image_token_id, image_size, patch_size,
     * num_channels): how a prompt holds the image (MHV_IMAGE_FORM_*); image_optional, ids
     * alone run the language model (Gemma 3's text path); image_tokens, the image tokens
     * of a prompt (mm_tokens_per_image; PaliGemma: the tower's patches); image_pool, Gemma
     * 3's tower patches averaged over image_pool x image_pool blocks (0: its image path is
     * not available: the sizes do not make mm_tokens_per_image features); image_boi_id,
     * image_eoi_id, Gemma 3's tokens around an image; image_hidden, image_norm_eps, the
     * tower's width and LayerNorm eps */
    int image_form;
    int image_optional, image_tokens, image_pool;
    int image_boi_id, image_eoi_id;
    int image_hidden;
    float image_norm_eps;
} mhv_config;

/* How a prompt holds its image (mhv_config.image_form). */
enum {
    MHV_IMAGE_FORM_LLAVA = 0, /* the image token once, expanded to one token a feature */
    MHV_IMAGE_FORM_GEMMA3,    /* Gemma3Processor's: the begin-of-image token once, expanded
                               * to "\n\n" boi, image_tokens image tokens, eoi "\n\n" */
    MHV_IMAGE_FORM_PALIGEMMA, /* PaliGemmaProcessor's: image tokens, bos, the prompt, "\n" */
};

/* Swin: the stage of layer l (0 for the other models). */
static inline int mhv_config_swin_stage(const mhv_config *c, int l)
{
    int s = 0;
    for (int first = 0; c->swin && s < c->swin_stages - 1; s++) {
        first += c->swin_depths[s];
        if (l < first)
            break;
    }
    return s;
}

/* The heads of layer l: Swin's stage's, num_heads for the other models. */
static inline int mhv_config_layer_heads(const mhv_config *c, int l)
{
    return c->swin ? c->swin_heads[mhv_config_swin_stage(c, l)] : c->num_heads;
}

/* The frames a speech encoder (cfg.speech) makes of `samples` samples: each convolution
 * takes (len - kernel) / stride + 1, SEW's squeeze len / speech_squeeze; 0 when too short
 * for one. AST's tokens: [CLS], the distillation token and its patches whatever the length
 * (the features are padded or cut to max_length frames). */
static inline long mhv_config_speech_frames(const mhv_config *c, long samples)
{
    if (c->spectrogram) /* AST: a fixed grid of patches over one frame of 400 samples or more */
        return samples >= 400
                   ? 2 + (long)((c->spec_mels - c->patch_size) / c->spec_fstride + 1) *
                             ((c->spec_frames - c->patch_size) / c->spec_tstride + 1)
                   : 0;
    long len = samples;
    for (int i = 0; i < c->speech_convs; i++) {
        if (len < c->speech_conv_kernel[i])
            return 0;
        len = (len - c->speech_conv_kernel[i]) / c->speech_conv_stride[i] + 1;
    }
    return c->speech_squeeze > 1 ? len / c->speech_squeeze : len;
}

/* The samples from one frame's start to the next's: the convolutions' strides and SEW's
 * squeeze multiplied. */
static inline long mhv_config_speech_ratio(const mhv_config *c)
{
    long ratio = c->speech_squeeze > 1 ? c->speech_squeeze : 1;
    for (int i = 0; i < c->speech_convs; i++)
        ratio *= c->speech_conv_stride[i];
    return ratio;
}

/* BEiT's relative position biases: each layer's own table and/or one shared by all (summed) */
enum { MHV_VREL_LAYER = 1, MHV_VREL_SHARED = 2 };

enum { MHV_QK_NORM_NONE = 0, MHV_QK_NORM_HEAD, MHV_QK_NORM_FULL };

/* True when layer l of c attends through the sliding window. */
static inline int mhv_config_layer_slides(const mhv_config *c, int l)
{
    if (c->sliding_window <= 0)
        return 0;
    if (c->window_by_layer)
        return (c->window_layers[l / 8] >> (l % 8)) & 1;
    return l >= c->window_from_layer;
}

/* Limits on sizes accepted from a file: far beyond any real model, small enough that
 * products of them cannot overflow 64-bit arithmetic. */
#define MHV_MAX_LAYERS 1024
_Static_assert(MHV_MAX_LAYERS_WINDOWS == MHV_MAX_LAYERS, "one window a layer");
#define MHV_MAX_HEADS 1024
#define MHV_MAX_HIDDEN 65536
#define MHV_MAX_VOCAB 4000000
#define MHV_MAX_POSITIONS 1048576
#define MHV_MAX_EXPERTS 4096

mhv_status mhv_config_load(const char *path, mhv_config *cfg, mhv_error *err);
/* Parses a config object already read (a composite model's text_config or vision_config:
 * LLaVA's), its model_type default_type when it has none. */
struct cJSON;
mhv_status mhv_config_parse_json(const struct cJSON *root, const char *default_type,
                                 const char *name, mhv_config *cfg, mhv_error *err);
/* Parses config.json text; `name` is the file name used in messages. */
mhv_status mhv_config_parse(const char *text, size_t len, const char *name, mhv_config *cfg,
                            mhv_error *err);

/* Sets c's model_type and the family that runs it, for a config built in memory (the
 * benchmarks); MHV_EUNSUPPORTED when no family opens model_type. */
mhv_status mhv_config_set_type(mhv_config *c, const char *model_type, mhv_error *err);

/* A composite model's config c (LLaVA, PaliGemma, Qwen2-VL ...) takes its language model's,
 * part: every size of part, c's own model_type, arch and family kept. */
void mhv_config_adopt(mhv_config *c, const mhv_config *part);

/* Helpers for the families' config readers (`name` is the file, for messages). */
struct cJSON;

/* config.json's names of the sizes every family has, with the defaults of the family's
 * config class (-1: required). An intermediate default of 0 means 4 x hidden. */
typedef struct {
    const char *hidden, *layers, *heads, *intermediate, *vocab, *positions;
    int hidden_def, layers_def, heads_def, intermediate_def, vocab_def, positions_def;
} mhv_size_keys;

/* Reads the six sizes into c. With split_heads, heads must divide hidden: head_dim is
 * hidden / heads, and there are as many key/value heads as heads. */
mhv_status mhv_config_sizes(const struct cJSON *root, const mhv_size_keys *k, int split_heads,
                            mhv_config *c, const char *name, mhv_error *err);
/* LlamaConfig's names of the six sizes, which the decoders modelled on it keep; their
 * defaults follow in each family's mhv_size_keys. */
#define MHV_DECODER_SIZE_KEYS                                                                 \
    "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",           \
        "vocab_size", "max_position_embeddings"
/* config.json's layer_types, when given, in place of the default sliding layers the caller
 * set in c->window_layers: a list of num_layers "sliding_attention" / "full_attention".
 * *any: some layer slides. */
mhv_status mhv_config_layer_types(const struct cJSON *root, mhv_config *c, int *any,
                                  const char *name, mhv_error *err);
/* A rotary decoder's grouped-query heads, after mhv_config_sizes: num_key_value_heads
 * (default kv_def, 0: one per query head) dividing num_attention_heads, and head_dim (default
 * head_dim_def, 0: hidden / heads, which then must divide), even for the rotary pairs. Sets
 * kv_heads. */
mhv_status mhv_config_gqa(const struct cJSON *root, int kv_def, int head_dim_def, mhv_config *c,
                          const char *name, mhv_error *err);
struct cJSON;
/* A token id field of config.json under key: a number, or a list whose first entry counts
 * (eos_token_id); missing: def. */
mhv_status mhv_config_token(const struct cJSON *root, const char *key, int def, int *out,
                            const char *name, mhv_error *err);
/* config.json's activation under key (missing or null: def); unknown names are refused. */
mhv_status mhv_config_act(const struct cJSON *root, const char *key, mhv_act def, mhv_act *act,
                          const char *name, mhv_error *err);
/* rope_theta and the scaling (rope_scaling, or transformers 5's rope_parameters) into r. */
mhv_status mhv_config_rope(const struct cJSON *root, mhv_rope *r, const char *name,
                           mhv_error *err);
/* The same accepting partial rotary: partial_rotary_factor of the rope settings, else of
 * root, into *partial (1 when absent). */
mhv_status mhv_config_rope_partial(const struct cJSON *root, mhv_rope *r, double *partial,
                                   const char *name, mhv_error *err);

#endif
