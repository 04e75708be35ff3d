/* config.h - a Hugging Face config.json as a typed struct. */
#ifndef MHV_CONFIG_H
#define MHV_CONFIG_H

#include <stddef.h>

#include "status.h"

typedef enum { MHV_ARCH_BERT = 0 } mhv_arch;

typedef enum { MHV_ACT_GELU = 0, MHV_ACT_GELU_NEW, MHV_ACT_RELU, MHV_ACT_SILU } mhv_act;

typedef struct {
    mhv_arch arch;
    char model_type[32];      /* as written in config.json ("bert", "roberta" ...) */
    int hidden_size;
    int num_layers;
    int num_heads;
    int head_dim;             /* hidden_size / num_heads */
    int intermediate_size;
    int vocab_size;
    int max_positions;
    int type_vocab_size;
    float layer_norm_eps;
    mhv_act act;
    int causal;               /* 0 for BERT */
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

#endif
