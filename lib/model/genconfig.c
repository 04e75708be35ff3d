/* genconfig.c - a model's generation settings (generation_config.json, else the generation
 * fields of config.json) read as transformers 5.25's GenerationConfig reads them. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/json.h"
#include "model/config.h"
#include "model/generate.h"

#define GEN_FILE_MAX ((size_t)64 << 20)

/* Where a key is looked up: the file's object, then (config.json only) the decoder's
 * sub-config that from_model_config consults for the keys the file leaves unset. */
typedef struct {
    const cJSON *root, *sub;
    const char *name; /* the file, for messages */
} src;

static const cJSON *get(const src *s, const char *key)
{
    const cJSON *v = mhv_json_get(s->root, key);
    if (!v && s->sub)
        v = mhv_json_get(s->sub, key);
    return v;
}

static int integral(const cJSON *v)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
           v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 2147483647.0;
}

/* An integer in [lo, hi] under key, or *out untouched when absent or null. */
static mhv_status opt_int(const src *s, const char *key, int lo, int hi, int *out,
                          mhv_error *err)
{
    const cJSON *v = get(s, key);
    if (!v)
        return MHV_OK;
    if (!integral(v) || v->valuedouble < lo || v->valuedouble > hi)
        return mhv_fail(err, MHV_EFORMAT, s->name, "field '%s' is not an integer from %d to %d",
                        key, lo, hi);
    *out = (int)v->valuedouble;
    return MHV_OK;
}

static mhv_status opt_num(const src *s, const char *key, double *out, mhv_error *err)
{
    const cJSON *v = get(s, key);
    if (!v)
        return MHV_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return mhv_fail(err, MHV_EFORMAT, s->name, "field '%s' is not a number", key);
    *out = v->valuedouble;
    return MHV_OK;
}

static mhv_status opt_bool(const src *s, const char *key, int *out, mhv_error *err)
{
    const cJSON *v = get(s, key);
    if (!v)
        return MHV_OK;
    if (!cJSON_IsBool(v))
        return mhv_fail(err, MHV_EFORMAT, s->name, "field '%s' is not true or false", key);
    *out = cJSON_IsTrue(v);
    return MHV_OK;
}

static int is_token(const cJSON *v)
{
    return integral(v) && v->valuedouble >= 0 && v->valuedouble < MHV_MAX_VOCAB;
}

/* A token id, or a list of them, into l (freed first). */
static mhv_status ids_of(const src *s, const char *key, const cJSON *v, mhv_gen_ids *l,
                         mhv_error *err)
{
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 1;
    int32_t *ids = malloc((size_t)(n > 0 ? n : 1) * sizeof *ids);
    if (!ids)
        return mhv_fail(err, MHV_ENOMEM, s->name, "out of memory");
    for (int i = 0; i < n; i++) {
        const cJSON *e = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, i) : v;
        if (!is_token(e)) {
            free(ids);
            return mhv_fail(err, MHV_EFORMAT, s->name, "field '%s' is not a token id or a list "
                            "of them", key);
        }
        ids[i] = (int32_t)e->valuedouble;
    }
    free(l->ids);
    l->ids = ids;
    l->n = n;
    return MHV_OK;
}

static mhv_status opt_ids(const src *s, const char *key, mhv_gen_ids *l, mhv_error *err)
{
    const cJSON *v = get(s, key);
    return v ? ids_of(s, key, v, l, err) : MHV_OK;
}

/* One token id (a list of one too: decoder_start_token_id per batch row), -1 when unset. */
static mhv_status opt_id(const src *s, const char *key, int32_t *out, mhv_error *err)
{
    const cJSON *v = get(s, key);
    if (!v)
        return MHV_OK;
    mhv_gen_ids l = {0};
    mhv_status st = ids_of(s, key, v, &l, err);
    if (st)
        return st;
    if (l.n != 1) {
        free(l.ids);
        return mhv_fail(err, MHV_EUNSUPPORTED, s->name, "field '%s' as a list of %d ids is not "
                        "supported (one sequence is generated)", key, l.n);
    }
    *out = l.ids[0];
    free(l.ids);
    return MHV_OK;
}

static mhv_status read_bad_words(const src *s, mhv_gen_config *g, mhv_error *err)
{
    const cJSON *v = get(s, "bad_words_ids");
    if (!v)
        return MHV_OK;
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (n == 0)
        return mhv_fail(err, MHV_EFORMAT, s->name, "field 'bad_words_ids' is not a non-empty "
                        "list of lists of token ids");
    g->bad_words = calloc((size_t)n, sizeof *g->bad_words);
    if (!g->bad_words)
        return mhv_fail(err, MHV_ENOMEM, s->name, "out of memory");
    g->n_bad_words = n;
    for (int i = 0; i < n; i++) {
        const cJSON *w = cJSON_GetArrayItem(v, i);
        /* an empty sequence: transformers raises too */
        if (!cJSON_IsArray(w) || cJSON_GetArraySize(w) == 0)
            return mhv_fail(err, MHV_EFORMAT, s->name, "field 'bad_words_ids' is not a list of "
                            "non-empty lists of token ids");
        mhv_status st = ids_of(s, "bad_words_ids", w, &g->bad_words[i], err);
        if (st)
            return st;
    }
    return MHV_OK;
}

/* What transformers does through other code than greedy and beam search, or with more than
 * the token ids: refused by name when set. */
static mhv_status refuse_unsupported(const src *s, const mhv_gen_config *g, mhv_error *err)
{
    static const char *const any[] = {
        "sequence_bias", "constraints", "force_words_ids", "dola_layers", "watermarking_config",
        "stop_strings", "max_time", "prompt_lookup_num_tokens", "assistant_early_exit",
    };
    for (size_t i = 0; i < sizeof any / sizeof any[0]; i++)
        if (get(s, any[i]))
            return mhv_fail(err, MHV_EUNSUPPORTED, s->name, "%s is not supported", any[i]);
    static const char *const truth[] = {"use_mtp", "token_healing", "low_memory"};
    for (size_t i = 0; i < sizeof truth / sizeof truth[0]; i++) {
        const cJSON *v = get(s, truth[i]);
        if (v && !cJSON_IsFalse(v))
            return mhv_fail(err, MHV_EUNSUPPORTED, s->name, "%s is not supported", truth[i]);
    }
    double guidance = 1, alpha = 0, groups = 1;
    int top_k = 50;
    mhv_status st;
    if ((st = opt_num(s, "guidance_scale", &guidance, err)) ||
        (st = opt_num(s, "penalty_alpha", &alpha, err)) ||
        (st = opt_num(s, "num_beam_groups", &groups, err)) ||
        (st = opt_int(s, "top_k", 0, 1 << 30, &top_k, err)))
        return st;
    if (guidance != 1)
        return mhv_fail(err, MHV_EUNSUPPORTED, s->name, "guidance_scale is not supported");
    if (groups > 1)
        return mhv_fail(err, MHV_EUNSUPPORTED, s->name, "num_beam_groups above 1 (group beam "
                        "search) is not supported");
    if (!g->do_sample && g->num_beams == 1 && alpha > 0 && top_k > 1)
        return mhv_fail(err, MHV_EUNSUPPORTED, s->name, "penalty_alpha with top_k (contrastive "
                        "search) is not supported");
    return MHV_OK;
}

static mhv_status read_fields(const src *s, int model_config, mhv_gen_config *g,
                              mhv_error *err)
{
    mhv_status st;
    const int big = MHV_MAX_POSITIONS;
    if ((st = opt_int(s, "max_length", 0, big, &g->max_length, err)) ||
        (st = opt_int(s, "max_new_tokens", 1, big, &g->max_new_tokens, err)) ||
        (st = opt_int(s, "min_length", 0, big, &g->min_length, err)) ||
        (st = opt_int(s, "min_new_tokens", 0, big, &g->min_new_tokens, err)) ||
        (st = opt_bool(s, "do_sample", &g->do_sample, err)) ||
        (st = opt_int(s, "num_beams", 1, 4096, &g->num_beams, err)) ||
        (st = opt_int(s, "num_return_sequences", 1, 4096, &g->num_return_sequences, err)) ||
        (st = opt_num(s, "length_penalty", &g->length_penalty, err)) ||
        (st = opt_num(s, "repetition_penalty", &g->repetition_penalty, err)) ||
        (st = opt_num(s, "encoder_repetition_penalty", &g->encoder_repetition_penalty, err)) ||
        (st = opt_int(s, "no_repeat_ngram_size", -(1 << 30), 1 << 20, &g->no_repeat_ngram_size,
                      err)) ||
        (st = opt_int(s, "encoder_no_repeat_ngram_size", -(1 << 30), 1 << 20,
                      &g->encoder_no_repeat_ngram_size, err)) ||
        (st = opt_ids(s, "eos_token_id", &g->eos, err)) ||
        (st = opt_ids(s, "forced_eos_token_id", &g->forced_eos, err)) ||
        (st = opt_id(s, "bos_token_id", &g->bos, err)) ||
        (st = opt_id(s, "decoder_start_token_id", &g->decoder_start, err)) ||
        (st = opt_id(s, "forced_bos_token_id", &g->forced_bos, err)) ||
        (st = opt_ids(s, "suppress_tokens", &g->suppress, err)) ||
        (st = opt_ids(s, "begin_suppress_tokens", &g->begin_suppress, err)) ||
        (st = read_bad_words(s, g, err)) ||
        (st = opt_bool(s, "remove_invalid_values", &g->remove_invalid_values, err)) ||
        (st = opt_bool(s, "renormalize_logits", &g->renormalize_logits, err)))
        return st;
    const cJSON *es = get(s, "early_stopping");
    if (cJSON_IsBool(es))
        g->early_stopping = cJSON_IsTrue(es) ? MHV_EARLY_TRUE : MHV_EARLY_FALSE;
    else if (cJSON_IsString(es) && strcmp(es->valuestring, "never") == 0)
        g->early_stopping = MHV_EARLY_NEVER;
    else if (es)
        return mhv_fail(err, MHV_EFORMAT, s->name, "field 'early_stopping' is not true, false "
                        "or \"never\"");
    const cJSON *dp = get(s, "exponential_decay_length_penalty");
    if (dp) {
        const cJSON *a = cJSON_GetArrayItem(dp, 0), *b = cJSON_GetArrayItem(dp, 1);
        if (!cJSON_IsArray(dp) || cJSON_GetArraySize(dp) != 2 || !integral(a) ||
            !cJSON_IsNumber(b) || !isfinite(b->valuedouble))
            return mhv_fail(err, MHV_EFORMAT, s->name, "field 'exponential_decay_length_penalty' "
                            "is not [start_index, decay_factor]");
        g->has_decay = 1;
        g->decay_start = (int)a->valuedouble;
        g->decay_factor = b->valuedouble;
    }
    /* from_model_config's old name for forcing the bos token */
    const cJSON *fb = model_config ? get(s, "force_bos_token_to_be_generated") : NULL;
    if (fb && cJSON_IsTrue(fb))
        g->forced_bos = g->bos;
    if (g->repetition_penalty <= 0 || g->encoder_repetition_penalty <= 0)
        return mhv_fail(err, MHV_EFORMAT, s->name, "a repetition penalty is not above 0");
    return refuse_unsupported(s, g, err);
}

static mhv_status read_doc(const cJSON *root, const char *name, int model_config,
                           mhv_gen_config *g, mhv_error *err)
{
    src s = {root, NULL, name};
    if (model_config) {
        static const char *const subs[] = {"decoder", "generator", "text_config"};
        for (size_t i = 0; i < 3 && !s.sub; i++) {
            const cJSON *v = mhv_json_get(root, subs[i]);
            if (cJSON_IsObject(v) && v->child) /* Python: a non-empty dict is truthy */
                s.sub = v;
        }
    }
    mhv_status st = read_fields(&s, model_config, g, err);
    if (st) {
        mhv_gen_config_free(g);
        mhv_gen_config_init(g);
    }
    return st;
}

mhv_status mhv_gen_config_parse(const char *text, size_t len, const char *name,
                                int as_model_config, mhv_gen_config *g, mhv_error *err)
{
    cJSON *root = NULL;
    mhv_gen_config_init(g);
    mhv_status st = mhv_json_parse(text, len, name, &root, err);
    if (!st)
        st = read_doc(root, name, as_model_config, g, err);
    cJSON_Delete(root);
    return st;
}

mhv_status mhv_gen_start(const mhv_gen_config *g, const char *name, int32_t *start,
                         mhv_error *err)
{
    *start = g->decoder_start >= 0 ? g->decoder_start : g->bos;
    if (*start < 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "sets neither decoder_start_token_id nor "
                        "bos_token_id: transformers' generate() has no token to start the "
                        "decoder with");
    return MHV_OK;
}

mhv_status mhv_gen_config_read_file(const char *path, int as_model_config, mhv_gen_config *g,
                                    mhv_error *err)
{
    cJSON *root = NULL;
    mhv_gen_config_init(g);
    mhv_status st = mhv_json_load(path, GEN_FILE_MAX, &root, err);
    if (!st)
        st = read_doc(root, path, as_model_config, g, err);
    cJSON_Delete(root);
    return st;
}

mhv_status mhv_gen_config_read(const char *dir, mhv_gen_config *g, mhv_gen_source *from,
                               mhv_error *err)
{
    char path[4200];
    struct stat sb;
    mhv_gen_source f = MHV_GEN_FROM_GENERATION_CONFIG;
    if ((size_t)snprintf(path, sizeof path, "%s/generation_config.json", dir) >= sizeof path)
        return mhv_fail(err, MHV_EUSAGE, dir, "path too long");
    if (stat(path, &sb) != 0) { /* transformers falls back to config.json on OSError */
        snprintf(path, sizeof path, "%s/config.json", dir);
        f = MHV_GEN_FROM_CONFIG;
        if (stat(path, &sb) != 0) {
            mhv_gen_config_init(g);
            f = MHV_GEN_FROM_DEFAULTS;
            if (from)
                *from = f;
            return MHV_OK;
        }
    }
    mhv_status st = mhv_gen_config_read_file(path, f == MHV_GEN_FROM_CONFIG, g, err);
    if (!st && from)
        *from = f;
    return st;
}
