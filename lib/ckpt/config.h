/* config.h - a Hugging Face config.json as a typed struct. */
#ifndef MHV_CONFIG_H
#define MHV_CONFIG_H

#include <stddef.h>

#include "base/status.h"
#include "nn/rope.h"

typedef enum {
    MHV_ARCH_BERT = 0,
    MHV_ARCH_GPT2,      /* learned positions, pre-LayerNorm, Conv1D weights */
    MHV_ARCH_LLAMA,     /* RMSNorm, RoPE, GQA, SwiGLU */
    MHV_ARCH_MISTRAL,   /* llama + sliding window */
    MHV_ARCH_QWEN2      /* llama + q/k/v biases (+ optional sliding window on upper layers) */
} mhv_arch;


typedef enum { MHV_ACT_GELU = 0, MHV_ACT_GELU_NEW, MHV_ACT_RELU, MHV_ACT_SILU } mhv_act;

typedef struct {
    mhv_arch arch;
    char model_type[32];      /* as written in config.json ("bert", "roberta" ...) */
    int hidden_size;
    int num_layers;
    int num_heads;
    int num_kv_heads;         /* == num_heads except for grouped-query attention */
    int head_dim;             /* hidden_size / num_heads unless config.json gives head_dim */
    int intermediate_size;
    int vocab_size;
    int max_positions;
    int type_vocab_size;
    float layer_norm_eps;     /* LayerNorm eps, or RMSNorm eps (rms_norm_eps) for llama-family */
    mhv_act act;
    int causal;               /* 0 for BERT, 1 for the decoders */
    /* Decoder-only settings (see lib/config_decoder.c); zero for BERT. */
    int tie_word_embeddings;  /* lm_head is the token embedding matrix */
    int attn_bias;            /* q/k/v (and o when attn_out_bias) projections have biases */
    int attn_out_bias;
    int mlp_bias;             /* llama mlp_bias: gate/up/down biases */
    double rope_theta;
    mhv_rope_kind rope_kind;
    double rope_factor;       /* linear and llama3 */
    double rope_low_freq_factor, rope_high_freq_factor; /* llama3 */
    int rope_original_max_positions;                    /* llama3 */
    int sliding_window;       /* 0: none; else key j is seen by query i only when i - j < it */
    int window_from_layer;    /* layers >= this one use sliding_window (Qwen2 max_window_layers) */
} mhv_config;

/* Limits on sizes accepted from a file: far beyond any real model, small enough that
 * products of them cannot overflow 64-bit arithmetic. */
#define MHV_MAX_LAYERS 1024
#define MHV_MAX_HEADS 1024
#define MHV_MAX_HIDDEN 65536
#define MHV_MAX_VOCAB 4000000
#define MHV_MAX_POSITIONS 1048576

mhv_status mhv_config_load(const char *path, mhv_config *cfg, mhv_error *err);
/* Parses config.json text; `name` is the file name used in messages. */
mhv_status mhv_config_parse(const char *text, size_t len, const char *name, mhv_config *cfg,
                            mhv_error *err);
const char *mhv_act_name(mhv_act act);
/* "bert", "gpt2", "llama", "mistral", "qwen2". */
const char *mhv_arch_name(mhv_arch arch);
/* True for the causal decoder architectures. */
int mhv_arch_is_decoder(mhv_arch arch);
/* True for the llama family (llama, mistral, qwen2): RoPE, RMSNorm, key/value heads. */
int mhv_arch_has_kv_heads(mhv_arch arch);

/* Internal: the decoder part of mhv_config_parse (lib/config_decoder.c); `root` is the
 * parsed cJSON object. */
struct cJSON;
mhv_status mhv_config_parse_decoder(const struct cJSON *root, const char *name, mhv_config *cfg,
                                    mhv_error *err);

#endif
