#include "model/config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/json.h"
#include "model/family.h"

mhv_status mhv_config_token(const cJSON *root, const char *key, int def, int *out,
                            const char *name, mhv_error *err)
{
    const cJSON *it = mhv_json_get(root, key);
    if (cJSON_IsArray(it))
        it = cJSON_GetArrayItem(it, 0);
    *out = def;
    if (!it)
        return MHV_OK;
    if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= MHV_MAX_VOCAB ||
        it->valuedouble != (double)(int)it->valuedouble)
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is not a token id", key);
    *out = it->valueint;
    return MHV_OK;
}

mhv_status mhv_config_act(const cJSON *root, const char *key, mhv_act def, mhv_act *act,
                          const char *name, mhv_error *err)
{
    const char *s;
    mhv_status st = mhv_json_str(root, key, "", &s, name, err);
    if (st)
        return st;
    if (!*s && !mhv_json_get(root, key)) {
        *act = def;
        return MHV_OK;
    }
    int a = mhv_act_from_name(s);
    if (a < 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported %s '%.64s'", key, s);
    *act = (mhv_act)a;
    return MHV_OK;
}

/* rope_theta and the scaling into r; the partial rotary factor into *partial, or refused
 * unless 1 when partial is NULL. */
static mhv_status rope_read(const cJSON *root, mhv_rope *r, double *partial_out,
                            const char *name, mhv_error *err);

mhv_status mhv_config_sizes(const cJSON *root, const mhv_size_keys *k, int split_heads,
                            mhv_config *c, const char *name, mhv_error *err)
{
    mhv_status st;
    if ((st = mhv_json_int(root, k->hidden, k->hidden_def, 1, MHV_MAX_HIDDEN, &c->hidden_size,
                           name, err)) ||
        (st = mhv_json_int(root, k->layers, k->layers_def, 1, MHV_MAX_LAYERS, &c->num_layers,
                           name, err)) ||
        (st = mhv_json_int(root, k->heads, k->heads_def, 1, MHV_MAX_HEADS, &c->num_heads, name,
                           err)) ||
        (st = mhv_json_int(root, k->intermediate,
                           k->intermediate_def ? k->intermediate_def : 4 * c->hidden_size, 1,
                           4 * MHV_MAX_HIDDEN, &c->intermediate_size, name, err)) ||
        (st = mhv_json_int(root, k->vocab, k->vocab_def, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, k->positions, k->positions_def, 1, MHV_MAX_POSITIONS,
                           &c->max_positions, name, err)))
        return st;
    if (!split_heads)
        return MHV_OK;
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "%s %d does not divide %s %d", k->heads,
                        c->num_heads, k->hidden, c->hidden_size);
    c->head_dim = c->hidden_size / c->num_heads;
    c->num_kv_heads = c->num_heads;
    return MHV_OK;
}

mhv_status mhv_config_layer_types(const cJSON *root, mhv_config *c, int *any,
                                  const char *name, mhv_error *err)
{
    const cJSON *lt = mhv_json_get(root, "layer_types");
    if (lt && (!cJSON_IsArray(lt) || cJSON_GetArraySize(lt) != c->num_layers))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'layer_types' is not a list of %d names",
                        c->num_layers);
    *any = 0;
    for (int l = 0; l < c->num_layers; l++) {
        unsigned char bit = (unsigned char)(1u << (l % 8));
        int sliding = (c->window_layers[l / 8] & bit) != 0;
        if (lt) {
            const cJSON *it = cJSON_GetArrayItem(lt, l);
            if (!cJSON_IsString(it))
                return mhv_fail(err, MHV_EFORMAT, name, "field 'layer_types' holds a non-string");
            sliding = strcmp(it->valuestring, "sliding_attention") == 0;
            if (!sliding && strcmp(it->valuestring, "full_attention") != 0)
                return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported layer type '%.40s'",
                                it->valuestring);
        }
        c->window_layers[l / 8] = sliding ? c->window_layers[l / 8] | bit
                                          : c->window_layers[l / 8] & (unsigned char)~bit;
        *any |= sliding;
    }
    return MHV_OK;
}

mhv_status mhv_config_gqa(const cJSON *root, int kv_def, int head_dim_def, mhv_config *c,
                          const char *name, mhv_error *err)
{
    mhv_status st;
    if ((st = mhv_json_int(root, "num_key_value_heads", kv_def ? kv_def : c->num_heads, 1,
                           MHV_MAX_HEADS, &c->num_kv_heads, name, err)))
        return st;
    if (c->num_heads % c->num_kv_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "num_key_value_heads %d does not divide num_attention_heads %d",
                        c->num_kv_heads, c->num_heads);
    int derived = head_dim_def                            ? head_dim_def
                  : c->hidden_size % c->num_heads == 0 ? c->hidden_size / c->num_heads
                                                       : -1;
    if ((st = mhv_json_int(root, "head_dim", derived, 2, MHV_MAX_HIDDEN, &c->head_dim, name,
                           err)))
        return st;
    if (c->head_dim % 2 != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "head_dim %d is odd; rotary embeddings need pairs",
                        c->head_dim);
    if ((long)c->head_dim * c->num_heads > 4L * MHV_MAX_HIDDEN)
        return mhv_fail(err, MHV_EFORMAT, name, "num_attention_heads x head_dim is too large");
    c->kv_heads = 1;
    return MHV_OK;
}

mhv_status mhv_config_rope(const cJSON *root, mhv_rope *r, const char *name, mhv_error *err)
{
    return rope_read(root, r, NULL, name, err);
}

mhv_status mhv_config_rope_partial(const cJSON *root, mhv_rope *r, double *partial,
                                   const char *name, mhv_error *err)
{
    *partial = 1.0;
    return rope_read(root, r, partial, name, err);
}

/* yarn_get_mscale of transformers: YaRN's attention factor 0.1 * mscale * ln(scale) + 1 */
static double yarn_mscale(double scale, double mscale)
{
    return scale <= 1 ? 1.0 : 0.1 * mscale * log(scale) + 1.0;
}

/* A yarn beta: 0 or missing takes the default (transformers' `or`), a negative one is refused
 * (Python's math.log would raise). */
static mhv_status yarn_beta(const cJSON *sc, const char *key, double def, double *out,
                            const char *name, mhv_error *err)
{
    mhv_status st = mhv_json_num(sc, key, 0, -1e6, 1e6, out, name, err);
    if (st)
        return st;
    if (*out < 0)
        return mhv_fail(err, MHV_EFORMAT, name, "yarn rope: %s is negative", key);
    if (*out == 0)
        *out = def;
    return MHV_OK;
}

/* YaRN's settings as transformers' _compute_yarn_parameters reads them (the defaults of
 * standardize_rope_params included). */
static mhv_status yarn_read(const cJSON *root, const cJSON *sc, mhv_rope *r, const char *name,
                            mhv_error *err)
{
    r->kind = MHV_ROPE_YARN;
    if (r->theta == 1)
        return mhv_fail(err, MHV_EFORMAT, name, "yarn rope: rope_theta must not be 1");
    int max_pos;
    mhv_status st = mhv_json_int(root, "max_position_embeddings", 0, 0, MHV_MAX_POSITIONS,
                                 &max_pos, name, err);
    if (st)
        return st;
    /* a top-level original_max_position_embeddings wins (Phi-3 keeps it there), then the
     * rope settings' own, then max_position_embeddings */
    const cJSON *orig_in = mhv_json_get(root, "original_max_position_embeddings") ? root : sc;
    if ((st = mhv_json_int(orig_in, "original_max_position_embeddings", max_pos > 0 ? max_pos : -1,
                           1, MHV_MAX_POSITIONS, &r->original_max_positions, name, err)))
        return st;
    if (!cJSON_GetObjectItemCaseSensitive(sc, "factor"))
        return mhv_fail(err, MHV_EFORMAT, name, "yarn rope: missing field 'factor'");
    if (!mhv_json_get(sc, "factor")) { /* null: the context's ratio (DeepSeek-V3) */
        if (max_pos <= 0)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "yarn rope: factor null without max_position_embeddings");
        r->factor = (double)max_pos / r->original_max_positions;
    } else if ((st = mhv_json_num(sc, "factor", NAN, 0, 1e6, &r->factor, name, err))) {
        return st;
    }
    if (mhv_json_get(sc, "attention_factor")) {
        if ((st = mhv_json_num(sc, "attention_factor", NAN, -1e6, 1e6, &r->attention, name,
                               err)))
            return st;
    } else {
        double ms, ms_all; /* 0 stands for None: both falsy in transformers' test */
        if ((st = mhv_json_num(sc, "mscale", 0, -1e6, 1e6, &ms, name, err)) ||
            (st = mhv_json_num(sc, "mscale_all_dim", 0, -1e6, 1e6, &ms_all, name, err)))
            return st;
        r->attention = ms != 0 && ms_all != 0
                           ? yarn_mscale(r->factor, ms) / yarn_mscale(r->factor, ms_all)
                           : yarn_mscale(r->factor, 1);
    }
    if ((st = yarn_beta(sc, "beta_fast", 32, &r->beta_fast, name, err)) ||
        (st = yarn_beta(sc, "beta_slow", 1, &r->beta_slow, name, err)))
        return st;
    return mhv_json_bool(sc, "truncate", 1, &r->truncate, name, err);
}

static mhv_status rope_read(const cJSON *root, mhv_rope *r, double *partial_out,
                            const char *name, mhv_error *err)
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

    memset(r, 0, sizeof *r);
    mhv_status st;
    double theta = 10000.0;
    if (params && (st = mhv_json_num(params, "rope_theta", theta, 0, 1e12, &theta, name, err)))
        return st;
    if ((st = mhv_json_num(root, "rope_theta", theta, 0, 1e12, &r->theta, name, err)))
        return st;

    /* the scaling settings live in rope_scaling, else in rope_parameters */
    const cJSON *sc = scaling ? scaling : params;
    r->kind = MHV_ROPE_NONE;
    if (partial_out) { /* Phi-3: in the rope settings, else beside them */
        const cJSON *in = sc && mhv_json_get(sc, "partial_rotary_factor") ? sc : root;
        if ((st = mhv_json_num(in, "partial_rotary_factor", 1.0, 0, 1, partial_out, name, err)))
            return st;
    }
    if (!sc)
        return MHV_OK;
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(sc, "rope_type");
    if (!ty)
        ty = cJSON_GetObjectItemCaseSensitive(sc, "type");
    if (ty && !cJSON_IsString(ty))
        return mhv_fail(err, MHV_EFORMAT, name, "rope type is not a string");
    double partial = 1.0;
    if (!partial_out &&
        (st = mhv_json_num(sc, "partial_rotary_factor", 1.0, 0, 1, &partial, name, err)))
        return st;
    if (partial != 1.0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported partial_rotary_factor %g",
                        partial);
    const char *t = ty ? ty->valuestring : "default";
    if (strcmp(t, "default") == 0)
        return MHV_OK;
    if (strcmp(t, "linear") == 0) {
        r->kind = MHV_ROPE_LINEAR;
        return mhv_json_num(sc, "factor", NAN, 0, 1e6, &r->factor, name, err);
    }
    if (strcmp(t, "llama3") == 0) {
        r->kind = MHV_ROPE_LLAMA3;
        if ((st = mhv_json_num(sc, "factor", NAN, 0, 1e6, &r->factor, name, err)) ||
            (st = mhv_json_num(sc, "low_freq_factor", NAN, 0, 1e6, &r->low_freq_factor, name,
                               err)) ||
            (st = mhv_json_num(sc, "high_freq_factor", NAN, 0, 1e6, &r->high_freq_factor, name,
                               err)) ||
            (st = mhv_json_int(sc, "original_max_position_embeddings", -1, 1, MHV_MAX_POSITIONS,
                               &r->original_max_positions, name, err)))
            return st;
        if (r->high_freq_factor <= r->low_freq_factor)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "llama3 rope: high_freq_factor must exceed low_freq_factor");
        return MHV_OK;
    }
    if (strcmp(t, "yarn") == 0)
        return yarn_read(root, sc, r, name, err);
    if (strcmp(t, "dynamic") == 0) {
        /* dynamic NTK changes the frequencies only past max_position_embeddings, which no
         * accepted input reaches (transformers' dynamic_frequency_update): the default ones */
        double factor;
        return mhv_json_num(sc, "factor", NAN, 0, 1e6, &factor, name, err);
    }
    return mhv_fail(err, MHV_EUNSUPPORTED, name,
                    "unsupported rope scaling type '%.40s' (supported: default, linear, llama3, "
                    "dynamic, yarn)", t);
}

mhv_status mhv_config_parse_json(const struct cJSON *root, const char *default_type,
                                 const char *name, mhv_config *cfg, mhv_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (mt && !cJSON_IsString(mt))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'model_type' is not a string");
    snprintf(cfg->model_type, sizeof cfg->model_type, "%s", mt ? mt->valuestring : default_type);
    if (!(cfg->family = mhv_family_find(cfg->model_type, &cfg->arch))) {
        /* the list is too long for a message: say where it is, and the likely meaning */
        int count = 0;
        while (mhv_family_type(count))
            count++;
        const char *near = mhv_family_near(cfg->model_type);
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "unsupported model_type '%.31s' (%s%s%s'mhaviz info --families' lists "
                        "the %d supported)", cfg->model_type, near ? "did you mean '" : "",
                        near ? near : "", near ? "'? " : "", count);
    }
    return cfg->family->config(root, cfg, name, err);
}

mhv_status mhv_config_parse(const char *text, size_t len, const char *name, mhv_config *cfg,
                            mhv_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    cJSON *root;
    mhv_status st = mhv_json_parse(text, len, name, &root, err);
    if (st)
        return st;
    /* Old BERT checkpoints omit model_type; their config has BERT's fields. */
    st = mhv_config_parse_json(root, "bert", name, cfg, err);
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

void mhv_config_adopt(mhv_config *c, const mhv_config *part)
{
    char model_type[sizeof c->model_type];
    const char *arch = c->arch;
    const struct mhv_family *family = c->family;
    memcpy(model_type, c->model_type, sizeof model_type);
    *c = *part;
    memcpy(c->model_type, model_type, sizeof model_type);
    c->arch = arch, c->family = family;
}

mhv_status mhv_config_set_type(mhv_config *c, const char *model_type, mhv_error *err)
{
    snprintf(c->model_type, sizeof c->model_type, "%s", model_type);
    if (!(c->family = mhv_family_find(c->model_type, &c->arch)))
        return mhv_fail(err, MHV_EUNSUPPORTED, "", "unsupported model_type '%.31s'", model_type);
    return MHV_OK;
}
