#include "ckpt/config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

const char *mhv_arch_name(mhv_arch arch)
{
    switch (arch) {
    case MHV_ARCH_BERT: return "bert";
    case MHV_ARCH_GPT2: return "gpt2";
    case MHV_ARCH_LLAMA: return "llama";
    case MHV_ARCH_MISTRAL: return "mistral";
    case MHV_ARCH_QWEN2: return "qwen2";
    }
    return "?";
}

int mhv_arch_is_decoder(mhv_arch arch)
{
    return arch != MHV_ARCH_BERT;
}

int mhv_arch_has_kv_heads(mhv_arch arch)
{
    return arch == MHV_ARCH_LLAMA || arch == MHV_ARCH_MISTRAL || arch == MHV_ARCH_QWEN2;
}

const char *mhv_act_name(mhv_act act)
{
    switch (act) {
    case MHV_ACT_GELU: return "gelu";
    case MHV_ACT_GELU_NEW: return "gelu_new";
    case MHV_ACT_RELU: return "relu";
    case MHV_ACT_SILU: return "silu";
    }
    return "?";
}

/* Reads an integer field in [lo, hi]. A missing field takes `def` when def >= lo, else it is
 * an error; a present one must be an integral number in range. */
static mhv_status get_int(const cJSON *root, const char *key, int def, int lo, int hi, int *out,
                          const char *name, mhv_error *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it) {
        if (def < lo)
            return mhv_fail(err, MHV_EFORMAT, name, "missing field '%s'", key);
        *out = def;
        return MHV_OK;
    }
    if (!cJSON_IsNumber(it))
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is not a number", key);
    double v = it->valuedouble;
    if (!isfinite(v) || v != floor(v))
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is not an integer", key);
    if (v < lo || v > hi)
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is %.0f, outside [%d, %d]", key, v,
                        lo, hi);
    *out = (int)v;
    return MHV_OK;
}

static mhv_status parse_act(const cJSON *root, mhv_act *act, const char *name, mhv_error *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
    if (!it) {
        *act = MHV_ACT_GELU; /* BertConfig's default */
        return MHV_OK;
    }
    if (!cJSON_IsString(it))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'hidden_act' is not a string");
    static const struct { const char *s; mhv_act a; } acts[] = {
        {"gelu", MHV_ACT_GELU},
        {"gelu_new", MHV_ACT_GELU_NEW},
        {"gelu_pytorch_tanh", MHV_ACT_GELU_NEW},
        {"relu", MHV_ACT_RELU},
        {"silu", MHV_ACT_SILU},
        {"swish", MHV_ACT_SILU},
    };
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (strcmp(it->valuestring, acts[i].s) == 0) {
            *act = acts[i].a;
            return MHV_OK;
        }
    return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported hidden_act '%.64s'",
                    it->valuestring);
}

/* Only model_type "bert" has BertModel's exact computation: RoBERTa offsets its position
 * ids by the padding index, so it is refused rather than computed wrongly. Chinese
 * RoBERTa-wwm and bge-zh checkpoints declare "bert". */
static int is_bert_family(const char *model_type)
{
    return strcmp(model_type, "bert") == 0;
}

mhv_status mhv_config_parse(const char *text, size_t len, const char *name, mhv_config *cfg,
                            mhv_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root)
        return mhv_fail(err, MHV_EFORMAT, name, "not valid JSON");
    mhv_status st = MHV_OK;
    if (!cJSON_IsObject(root)) {
        st = mhv_fail(err, MHV_EFORMAT, name, "not a JSON object");
        goto out;
    }

    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (mt && !cJSON_IsString(mt)) {
        st = mhv_fail(err, MHV_EFORMAT, name, "field 'model_type' is not a string");
        goto out;
    }
    /* Old BERT checkpoints omit model_type; their config has BERT's fields. */
    snprintf(cfg->model_type, sizeof cfg->model_type, "%s", mt ? mt->valuestring : "bert");
    if (!is_bert_family(cfg->model_type)) {
        st = mhv_config_parse_decoder(root, name, cfg, err);
        goto out;
    }
    cfg->arch = MHV_ARCH_BERT;

    if ((st = get_int(root, "hidden_size", -1, 1, MHV_MAX_HIDDEN, &cfg->hidden_size, name, err)) ||
        (st = get_int(root, "num_hidden_layers", -1, 1, MHV_MAX_LAYERS, &cfg->num_layers, name,
                      err)) ||
        (st = get_int(root, "num_attention_heads", -1, 1, MHV_MAX_HEADS, &cfg->num_heads, name,
                      err)) ||
        (st = get_int(root, "intermediate_size", -1, 1, 4 * MHV_MAX_HIDDEN,
                      &cfg->intermediate_size, name, err)) ||
        (st = get_int(root, "vocab_size", -1, 1, MHV_MAX_VOCAB, &cfg->vocab_size, name, err)) ||
        (st = get_int(root, "max_position_embeddings", 512, 1, MHV_MAX_POSITIONS,
                      &cfg->max_positions, name, err)) ||
        (st = get_int(root, "type_vocab_size", 2, 1, 1024, &cfg->type_vocab_size, name, err)))
        goto out;
    if (cfg->hidden_size % cfg->num_heads != 0) {
        st = mhv_fail(err, MHV_EFORMAT, name,
                      "num_attention_heads %d does not divide hidden_size %d", cfg->num_heads,
                      cfg->hidden_size);
        goto out;
    }
    cfg->head_dim = cfg->hidden_size / cfg->num_heads;
    cfg->num_kv_heads = cfg->num_heads;

    cfg->layer_norm_eps = 1e-12f;
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_eps");
    if (eps) {
        if (!cJSON_IsNumber(eps) || !isfinite(eps->valuedouble) || eps->valuedouble < 0 ||
            eps->valuedouble > 1) {
            st = mhv_fail(err, MHV_EFORMAT, name, "field 'layer_norm_eps' is not a number in [0, 1]");
            goto out;
        }
        cfg->layer_norm_eps = (float)eps->valuedouble;
    }
    if ((st = parse_act(root, &cfg->act, name, err)))
        goto out;

    /* Only absolute position embeddings are implemented; say so rather than compute wrongly. */
    const cJSON *pet = cJSON_GetObjectItemCaseSensitive(root, "position_embedding_type");
    if (pet && (!cJSON_IsString(pet) || strcmp(pet->valuestring, "absolute") != 0)) {
        st = mhv_fail(err, MHV_EUNSUPPORTED, name,
                      "unsupported position_embedding_type (only 'absolute')");
        goto out;
    }
    cfg->causal = 0;
out:
    cJSON_Delete(root);
    return st;
}

mhv_status mhv_config_load(const char *path, mhv_config *cfg, mhv_error *err)
{
    char *text;
    size_t len;
    /* a config.json is a few kB; 16 MiB is far beyond any real one */
    mhv_status st = mhv_read_file(path, 16u << 20, &text, &len, err);
    if (st)
        return st;
    st = mhv_config_parse(text, len, path, cfg, err);
    free(text);
    return st;
}
