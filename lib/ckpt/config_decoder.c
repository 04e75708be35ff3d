/* config_decoder.c - config.json of the decoder architectures (gpt2, llama, mistral, qwen2).
 *
 * Missing optional fields take the defaults of the Hugging Face config classes, so a
 * config.json parses to the model transformers would build from it. RoPE settings are read
 * from both spellings in use: the old top-level rope_theta + rope_scaling of downloaded
 * checkpoints and transformers 5's rope_parameters object. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckpt/config.h"

/* An integer field in [lo, hi]; missing or null takes def, unless def < lo (then required). */
static mhv_status dec_int(const cJSON *root, const char *key, int def, int lo, int hi, int *out,
                          const char *name, mhv_error *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it || cJSON_IsNull(it)) {
        if (def < lo)
            return mhv_fail(err, MHV_EFORMAT, name, "missing field '%s'", key);
        *out = def;
        return MHV_OK;
    }
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble != floor(it->valuedouble))
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is not an integer", key);
    if (it->valuedouble < lo || it->valuedouble > hi)
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is %.0f, outside [%d, %d]", key,
                        it->valuedouble, lo, hi);
    *out = (int)it->valuedouble;
    return MHV_OK;
}

/* A number field in (lo, hi]; missing or null takes def; def < 0 means required. */
static mhv_status dec_num(const cJSON *root, const char *key, double def, double lo, double hi,
                          double *out, const char *name, mhv_error *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it || cJSON_IsNull(it)) {
        if (def < 0)
            return mhv_fail(err, MHV_EFORMAT, name, "missing field '%s'", key);
        *out = def;
        return MHV_OK;
    }
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble <= lo ||
        it->valuedouble > hi)
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is not a number in (%g, %g]", key, lo,
                        hi);
    *out = it->valuedouble;
    return MHV_OK;
}

static mhv_status dec_bool(const cJSON *root, const char *key, int def, int *out,
                           const char *name, mhv_error *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it || cJSON_IsNull(it)) {
        *out = def;
        return MHV_OK;
    }
    if (!cJSON_IsBool(it))
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is not true or false", key);
    *out = cJSON_IsTrue(it);
    return MHV_OK;
}

static mhv_status dec_act(const cJSON *root, const char *key, mhv_act def, mhv_act *act,
                          const char *name, mhv_error *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it || cJSON_IsNull(it)) {
        *act = def;
        return MHV_OK;
    }
    if (!cJSON_IsString(it))
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is not a string", key);
    static const struct { const char *s; mhv_act a; } acts[] = {
        {"gelu", MHV_ACT_GELU},           {"gelu_new", MHV_ACT_GELU_NEW},
        {"gelu_pytorch_tanh", MHV_ACT_GELU_NEW}, {"relu", MHV_ACT_RELU},
        {"silu", MHV_ACT_SILU},           {"swish", MHV_ACT_SILU},
    };
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (strcmp(it->valuestring, acts[i].s) == 0) {
            *act = acts[i].a;
            return MHV_OK;
        }
    return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported %s '%.64s'", key, it->valuestring);
}

static mhv_status parse_gpt2(const cJSON *root, const char *name, mhv_config *c, mhv_error *err)
{
    mhv_status st;
    if ((st = dec_int(root, "n_embd", -1, 1, MHV_MAX_HIDDEN, &c->hidden_size, name, err)) ||
        (st = dec_int(root, "n_layer", -1, 1, MHV_MAX_LAYERS, &c->num_layers, name, err)) ||
        (st = dec_int(root, "n_head", -1, 1, MHV_MAX_HEADS, &c->num_heads, name, err)) ||
        (st = dec_int(root, "vocab_size", -1, 1, MHV_MAX_VOCAB, &c->vocab_size, name, err)) ||
        (st = dec_int(root, "n_positions", 1024, 1, MHV_MAX_POSITIONS, &c->max_positions, name,
                      err)))
        return st;
    /* n_inner null means 4 * n_embd (GPT2MLP) */
    if ((st = dec_int(root, "n_inner", 4 * c->hidden_size, 1, 4 * MHV_MAX_HIDDEN,
                      &c->intermediate_size, name, err)))
        return st;
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "n_head %d does not divide n_embd %d",
                        c->num_heads, c->hidden_size);
    c->head_dim = c->hidden_size / c->num_heads;
    c->num_kv_heads = c->num_heads;
    double eps;
    if ((st = dec_num(root, "layer_norm_epsilon", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = dec_act(root, "activation_function", MHV_ACT_GELU_NEW, &c->act, name, err)))
        return st;
    c->layer_norm_eps = (float)eps;
    /* Variants that change the scores: refused rather than computed wrongly. */
    int scale_w, inv_layer;
    if ((st = dec_bool(root, "scale_attn_weights", 1, &scale_w, name, err)) ||
        (st = dec_bool(root, "scale_attn_by_inverse_layer_idx", 0, &inv_layer, name, err)))
        return st;
    if (!scale_w || inv_layer)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "unsupported GPT-2 attention scaling (scale_attn_weights must be true, "
                        "scale_attn_by_inverse_layer_idx false)");
    c->tie_word_embeddings = 1; /* GPT2LMHeadModel always ties lm_head to wte */
    c->attn_bias = c->attn_out_bias = c->mlp_bias = 1;
    return MHV_OK;
}

/* The RoPE kind and its parameters from rope_scaling (old) or rope_parameters (new). */
static mhv_status parse_rope(const cJSON *root, const char *name, mhv_config *c, mhv_error *err)
{
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
    const cJSON *scaling = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    if (params && !cJSON_IsNull(params) && !cJSON_IsObject(params))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'rope_parameters' is not an object");
    if (scaling && !cJSON_IsNull(scaling) && !cJSON_IsObject(scaling))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'rope_scaling' is not an object");
    if (params && !cJSON_IsObject(params))
        params = NULL;
    if (scaling && !cJSON_IsObject(scaling))
        scaling = NULL;

    mhv_status st;
    double theta = 10000.0;
    if (params && (st = dec_num(params, "rope_theta", theta, 0, 1e12, &theta, name, err)))
        return st;
    if ((st = dec_num(root, "rope_theta", theta, 0, 1e12, &c->rope_theta, name, err)))
        return st;

    /* the scaling settings live in rope_scaling, else in rope_parameters */
    const cJSON *sc = scaling ? scaling : params;
    c->rope_kind = MHV_ROPE_NONE;
    if (!sc)
        return MHV_OK;
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(sc, "rope_type");
    if (!ty)
        ty = cJSON_GetObjectItemCaseSensitive(sc, "type");
    if (ty && !cJSON_IsString(ty))
        return mhv_fail(err, MHV_EFORMAT, name, "rope type is not a string");
    double partial = 1.0;
    if ((st = dec_num(sc, "partial_rotary_factor", 1.0, 0, 1, &partial, name, err)))
        return st;
    if (partial != 1.0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported partial_rotary_factor %g",
                        partial);
    const char *t = ty ? ty->valuestring : "default";
    if (strcmp(t, "default") == 0)
        return MHV_OK;
    if (strcmp(t, "linear") == 0) {
        c->rope_kind = MHV_ROPE_LINEAR;
        return dec_num(sc, "factor", -1, 0, 1e6, &c->rope_factor, name, err);
    }
    if (strcmp(t, "llama3") == 0) {
        c->rope_kind = MHV_ROPE_LLAMA3;
        if ((st = dec_num(sc, "factor", -1, 0, 1e6, &c->rope_factor, name, err)) ||
            (st = dec_num(sc, "low_freq_factor", -1, 0, 1e6, &c->rope_low_freq_factor, name,
                          err)) ||
            (st = dec_num(sc, "high_freq_factor", -1, 0, 1e6, &c->rope_high_freq_factor, name,
                          err)) ||
            (st = dec_int(sc, "original_max_position_embeddings", -1, 1, MHV_MAX_POSITIONS,
                          &c->rope_original_max_positions, name, err)))
            return st;
        if (c->rope_high_freq_factor <= c->rope_low_freq_factor)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "llama3 rope: high_freq_factor must exceed low_freq_factor");
        return MHV_OK;
    }
    return mhv_fail(err, MHV_EUNSUPPORTED, name,
                    "unsupported rope scaling type '%.40s' (supported: default, linear, llama3)", t);
}

/* Qwen2 slides the window only on layers >= max_window_layers, and only with
 * use_sliding_window; an explicit layer_types list must agree with that split. */
static mhv_status parse_qwen2_window(const cJSON *root, const char *name, mhv_config *c,
                                     mhv_error *err)
{
    int use = 0;
    mhv_status st;
    if ((st = dec_bool(root, "use_sliding_window", 0, &use, name, err)))
        return st;
    c->sliding_window = 0;
    c->window_from_layer = c->num_layers;
    if (use) {
        if ((st = dec_int(root, "sliding_window", 4096, 1, MHV_MAX_POSITIONS, &c->sliding_window,
                          name, err)) ||
            (st = dec_int(root, "max_window_layers", 28, 0, MHV_MAX_LAYERS, &c->window_from_layer,
                          name, err)))
            return st;
    }
    const cJSON *lt = cJSON_GetObjectItemCaseSensitive(root, "layer_types");
    if (!lt || cJSON_IsNull(lt))
        return MHV_OK;
    if (!cJSON_IsArray(lt) || cJSON_GetArraySize(lt) != c->num_layers)
        return mhv_fail(err, MHV_EFORMAT, name, "field 'layer_types' is not a list of %d names",
                        c->num_layers);
    int l = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, lt)
    {
        if (!cJSON_IsString(it))
            return mhv_fail(err, MHV_EFORMAT, name, "field 'layer_types' holds a non-string");
        int sliding = strcmp(it->valuestring, "sliding_attention") == 0;
        if (!sliding && strcmp(it->valuestring, "full_attention") != 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported layer type '%.40s'",
                            it->valuestring);
        if (sliding != (c->sliding_window > 0 && l >= c->window_from_layer))
            return mhv_fail(err, MHV_EUNSUPPORTED, name,
                            "layer_types disagrees with use_sliding_window/max_window_layers");
        l++;
    }
    return MHV_OK;
}

static mhv_status parse_llama_family(const cJSON *root, const char *name, mhv_config *c,
                                     mhv_error *err)
{
    mhv_status st;
    int max_pos_def = c->arch == MHV_ARCH_LLAMA ? 2048 : c->arch == MHV_ARCH_MISTRAL ? 131072 : 32768;
    if ((st = dec_int(root, "hidden_size", -1, 1, MHV_MAX_HIDDEN, &c->hidden_size, name, err)) ||
        (st = dec_int(root, "num_hidden_layers", -1, 1, MHV_MAX_LAYERS, &c->num_layers, name,
                      err)) ||
        (st = dec_int(root, "num_attention_heads", -1, 1, MHV_MAX_HEADS, &c->num_heads, name,
                      err)) ||
        (st = dec_int(root, "intermediate_size", -1, 1, 4 * MHV_MAX_HIDDEN, &c->intermediate_size,
                      name, err)) ||
        (st = dec_int(root, "vocab_size", -1, 1, MHV_MAX_VOCAB, &c->vocab_size, name, err)) ||
        (st = dec_int(root, "max_position_embeddings", max_pos_def, 1, MHV_MAX_POSITIONS,
                      &c->max_positions, name, err)) ||
        (st = dec_int(root, "num_key_value_heads", c->num_heads, 1, MHV_MAX_HEADS,
                      &c->num_kv_heads, name, err)))
        return st;
    if (c->num_heads % c->num_kv_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "num_key_value_heads %d does not divide num_attention_heads %d",
                        c->num_kv_heads, c->num_heads);
    int derived = c->hidden_size % c->num_heads == 0 ? c->hidden_size / c->num_heads : -1;
    if ((st = dec_int(root, "head_dim", derived, 2, MHV_MAX_HIDDEN, &c->head_dim, name, err)))
        return st;
    if (c->head_dim % 2 != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "head_dim %d is odd; rotary embeddings need pairs",
                        c->head_dim);
    if ((long)c->head_dim * c->num_heads > 4L * MHV_MAX_HIDDEN)
        return mhv_fail(err, MHV_EFORMAT, name, "num_attention_heads x head_dim is too large");

    double eps;
    int tie_def = 0;
    if ((st = dec_num(root, "rms_norm_eps", 1e-6, -1e-300, 1, &eps, name, err)) ||
        (st = dec_act(root, "hidden_act", MHV_ACT_SILU, &c->act, name, err)) ||
        (st = dec_bool(root, "tie_word_embeddings", tie_def, &c->tie_word_embeddings, name, err)) ||
        (st = dec_bool(root, "mlp_bias", 0, &c->mlp_bias, name, err)) ||
        (st = parse_rope(root, name, c, err)))
        return st;
    c->layer_norm_eps = (float)eps;

    if (c->arch == MHV_ARCH_QWEN2) {
        c->attn_bias = 1;      /* Qwen2Attention: q/k/v with bias, o without */
        c->attn_out_bias = 0;
        c->mlp_bias = 0;
        return parse_qwen2_window(root, name, c, err);
    }
    if ((st = dec_bool(root, "attention_bias", 0, &c->attn_bias, name, err)))
        return st;
    c->attn_out_bias = c->attn_bias;
    c->window_from_layer = 0;
    if (c->arch == MHV_ARCH_MISTRAL)
        return dec_int(root, "sliding_window", 4096, 0, MHV_MAX_POSITIONS, &c->sliding_window,
                       name, err);
    return MHV_OK;
}

mhv_status mhv_config_parse_decoder(const cJSON *root, const char *name, mhv_config *c,
                                    mhv_error *err)
{
    static const struct { const char *type; mhv_arch arch; } archs[] = {
        {"gpt2", MHV_ARCH_GPT2},
        {"llama", MHV_ARCH_LLAMA},
        {"mistral", MHV_ARCH_MISTRAL},
        {"qwen2", MHV_ARCH_QWEN2},
    };
    size_t i = 0;
    while (i < sizeof archs / sizeof archs[0] && strcmp(c->model_type, archs[i].type) != 0)
        i++;
    if (i == sizeof archs / sizeof archs[0])
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "unsupported model_type '%.31s' (supported: bert, gpt2, llama, mistral, "
                        "qwen2)",
                        c->model_type);
    c->arch = archs[i].arch;
    c->causal = 1;
    c->type_vocab_size = 0;
    return c->arch == MHV_ARCH_GPT2 ? parse_gpt2(root, name, c, err)
                                    : parse_llama_family(root, name, c, err);
}
