/* llava.c - LLaVA (LlavaForConditionalGeneration, LlavaModel; model_type llava): a CLIP
 * vision tower, a multi-modal projector and a decoder language model of a family mhaviz
 * runs (text_config: llama, mistral, qwen2 ...).
 *
 *   h = concat over vision_feature_layer of hidden_states[k] of the tower on the image
 *       (the first token, [CLS], dropped when vision_feature_select_strategy is "default")
 *   f = linear_2(act(linear_1(h)))                          (one row per image feature)
 *   the language model over the ids, the k-th image_token_id token's embedding row
 *   replaced by f[k] (transformers' masked_scatter), then its layers, norm and LM head.
 * The tower and the language model are models of their own (mhv_model image_tower,
 * text_model: their families' config readers, loaders and passes) over views of the
 * checkpoint under the names their families read, in both layouts transformers has used:
 * language_model.model. / language_model.lm_head / vision_tower. / multi_modal_projector.
 * (as save_pretrained writes them) and model.language_model. / lm_head /
 * model.vision_tower. / model.multi_modal_projector. (its modules' names). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"llava", NULL};

enum { MAX_FEATURE_LAYERS = (int)(sizeof ((mhv_config *)0)->image_layers / sizeof(int)) };

/* The sizes transformers' config classes give a text_config that leaves them out (LLaVA
 * 1.5's names little more than its model_type and vocabulary), for the families whose
 * readers require them. */
static const struct {
    const char *model_type;
    int hidden, inter, layers, heads, kv_heads, vocab, positions;
} text_defaults[] = {
    {"llama", 4096, 11008, 32, 32, 0, 32000, 2048},
    {"mistral", 4096, 14336, 32, 32, 8, 32000, 131072},
    {"qwen2", 4096, 22016, 32, 32, 0, 151936, 32768},
};

/* obj with the missing sizes of its class's defaults added (a copy; NULL: out of memory). */
static cJSON *with_text_defaults(const cJSON *obj, const char *default_type)
{
    cJSON *copy = cJSON_Duplicate(obj, 1);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(obj, "model_type");
    const char *type = cJSON_IsString(mt) ? mt->valuestring : default_type;
    for (size_t i = 0; copy && i < sizeof text_defaults / sizeof text_defaults[0]; i++) {
        if (strcmp(type, text_defaults[i].model_type) != 0)
            continue;
        const char *keys[] = {"hidden_size", "intermediate_size", "num_hidden_layers",
                              "num_attention_heads", "num_key_value_heads", "vocab_size",
                              "max_position_embeddings"};
        int vals[] = {text_defaults[i].hidden, text_defaults[i].inter, text_defaults[i].layers,
                      text_defaults[i].heads, text_defaults[i].kv_heads, text_defaults[i].vocab,
                      text_defaults[i].positions};
        for (int k = 0; k < 7; k++)
            if (vals[k] && !cJSON_GetObjectItemCaseSensitive(copy, keys[k]) &&
                !cJSON_AddNumberToObject(copy, keys[k], vals[k])) {
                cJSON_Delete(copy);
                return NULL;
            }
    }
    return copy;
}

/* The config of part `key` of root (text_config, vision_config) into *out (heap: a config
 * is large), its model_type default_type when it has none, the text part's missing sizes
 * its class's defaults. */
static mhv_status part_config(const cJSON *root, const char *key, const char *default_type,
                              const char *name, mhv_config **out, mhv_error *err)
{
    *out = NULL;
    const cJSON *obj = mhv_json_get(root, key);
    if (!obj || !cJSON_IsObject(obj))
        return mhv_fail(err, MHV_EFORMAT, name, "missing object '%s'", key);
    cJSON *filled = strcmp(key, "text_config") == 0 ? with_text_defaults(obj, default_type)
                                                     : NULL;
    mhv_config *c = malloc(sizeof *c);
    if (!c || (!filled && strcmp(key, "text_config") == 0)) {
        free(c);
        cJSON_Delete(filled);
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    }
    mhv_status st = mhv_config_parse_json(filled ? filled : obj, default_type, name, c, err);
    cJSON_Delete(filled);
    if (st) {
        free(c);
        return st;
    }
    *out = c;
    return MHV_OK;
}

/* What LLaVA takes of its parts: a CLIP tower, a decoder of ids. */
static mhv_status check_parts(const mhv_config *tc, const mhv_config *vc, const char *name,
                              mhv_error *err)
{
    if (!tc->causal || tc->enc_dec || tc->vision || tc->image_in_text)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "text_config model_type '%s' is not a decoder language model",
                        tc->model_type);
    if (strcmp(vc->model_type, "clip_vision_model") != 0 &&
        strcmp(vc->model_type, "siglip_vision_model") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "vision_config model_type '%s' is not supported in llava "
                        "(clip_vision_model and siglip_vision_model are)", vc->model_type);
    return MHV_OK;
}

/* vision_feature_layer: an index or a list of indices into the tower's layers + 1 hidden
 * states (negative from the end), as c->image_layers from 0. */
static mhv_status feature_layers(const cJSON *root, int layers, mhv_config *c, const char *name,
                                 mhv_error *err)
{
    const cJSON *v = mhv_json_get(root, "vision_feature_layer");
    int one = -2;
    int count = v && cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 1;
    if (v && !cJSON_IsArray(v) && !cJSON_IsNumber(v))
        return mhv_fail(err, MHV_EFORMAT, name,
                        "field 'vision_feature_layer' is not an integer or a list of them");
    if (count < 1 || count > MAX_FEATURE_LAYERS)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "vision_feature_layer lists %d layers (1 to %d are supported)", count,
                        MAX_FEATURE_LAYERS);
    for (int k = 0; k < count; k++) {
        const cJSON *x = v && cJSON_IsArray(v) ? cJSON_GetArrayItem(v, k) : v;
        if (x && (!cJSON_IsNumber(x) || !(fabs(x->valuedouble) <= 1e6) ||
                  x->valuedouble != floor(x->valuedouble)))
            return mhv_fail(err, MHV_EFORMAT, name,
                            "field 'vision_feature_layer' is not an integer or a list of them");
        int idx = x ? x->valueint : one;
        if (idx < -(layers + 1) || idx > layers)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "vision_feature_layer %d is outside the tower's %d hidden states",
                            idx, layers + 1);
        c->image_layers[k] = idx < 0 ? idx + layers + 1 : idx;
    }
    c->image_nlayers = count;
    return MHV_OK;
}

static mhv_status llava_config(const cJSON *root, mhv_config *c, const char *name,
                               mhv_error *err)
{
    mhv_config *tc, *vc = NULL;
    mhv_status st;
    if ((st = part_config(root, "text_config", "llama", name, &tc, err)))
        return st;
    if ((st = part_config(root, "vision_config", "clip_vision_model", name, &vc, err)) ||
        (st = check_parts(tc, vc, name, err)))
        goto out;
    /* the decoder's sizes are the model's: heads, layers, vocabulary, positions */
    mhv_config_adopt(c, tc);
    int tie = 0, image_id;
    const char *strategy;
    if ((st = mhv_json_bool(root, "tie_word_embeddings", 0, &tie, name, err)) ||
        (st = mhv_json_int(root, "image_token_index", 32000, 0, MHV_MAX_VOCAB, &image_id, name,
                           err)) ||
        (st = mhv_json_str(root, "vision_feature_select_strategy", "default", &strategy, name,
                           err)) ||
        (st = mhv_config_act(root, "projector_hidden_act", MHV_ACT_GELU, &c->image_proj_act,
                             name, err)) ||
        (st = mhv_json_bool(root, "multimodal_projector_bias", 1, &c->image_proj_bias, name,
                            err)) ||
        (st = feature_layers(root, vc->num_layers, c, name, err)))
        goto out;
    /* LlavaConfig ties when it says so or its text_config does */
    c->tie_word_embeddings = tie || tc->tie_word_embeddings;
    if (strcmp(strategy, "default") != 0 && strcmp(strategy, "full") != 0) {
        st = mhv_fail(err, MHV_EUNSUPPORTED, name,
                      "vision_feature_select_strategy '%.40s' is not supported (default and "
                      "full are)", strategy);
        goto out;
    }
    if (image_id >= c->vocab_size) { /* transformers embeds the ids as they are */
        st = mhv_fail(err, MHV_EFORMAT, name,
                      "image_token_index %d is outside the text model's %d tokens", image_id,
                      c->vocab_size);
        goto out;
    }
    c->image_token_id = image_id;
    c->image_full = strcmp(strategy, "full") == 0;
    c->image_in_text = 1;
    c->image_size = vc->image_size, c->patch_size = vc->patch_size;
    c->num_channels = vc->num_channels, c->image_extra = vc->vision_extra;
    int side = vc->image_size / vc->patch_size;
    if (!c->image_full && vc->vision_extra + side * side < 2) {
        st = mhv_fail(err, MHV_EFORMAT, name, "the vision tower gives no image features");
        goto out;
    }
out:
    free(tc);
    free(vc);
    return st;
}

static size_t llava_vector_floats(const mhv_config *c)
{
    return 2 * (size_t)c->hidden_size; /* the projector's biases: the parts load their own */
}

/* A part of m (its tower or language model): its config from root's `key`, its tensors
 * through the view renames(count) of m's checkpoint, loaded by its family. tie >= 0
 * overrides the part's tie_word_embeddings. */
static mhv_status open_part(const mhv_model *m, const cJSON *root, const char *key,
                            const char *default_type, const char *const (*renames)[2],
                            int count, int tie, const char *name, mhv_model **out,
                            mhv_error *err)
{
    *out = NULL;
    mhv_config *c;
    mhv_status st = part_config(root, key, default_type, name, &c, err);
    if (st)
        return st;
    if (tie >= 0)
        c->tie_word_embeddings = tie;
    st = mhv_model_open_part(m, c, renames, count, out, err);
    free(c);
    return st;
}

static mhv_status llava_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    /* the parts' names in both layouts, the newer first */
    static const char *const text_names[][2] = {
        {"model.language_model.", ""}, {"language_model.", ""}, {"lm_head.", "lm_head."}};
    static const char *const tower_names[][2] = {{"model.vision_tower.", ""},
                                                 {"vision_tower.", ""}};
    static const char *const proj[] = {"model.multi_modal_projector.", "multi_modal_projector.",
                                       NULL};
    mhv_config *c = &m->cfg;
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", m->dir);
    cJSON *root;
    mhv_status st = mhv_json_load(path, 16u << 20, &root, err);
    if (st)
        return st;
    if (!(st = open_part(m, root, "vision_config", "clip_vision_model", tower_names, 2, -1, path,
                         &m->image_tower, err)))
        st = open_part(m, root, "text_config", "llama", text_names, 3, c->tie_word_embeddings,
                       path, &m->text_model, err);
    cJSON_Delete(root);
    if (st)
        return st;
    int H = c->hidden_size, in = m->image_tower->cfg.hidden_size * c->image_nlayers;
    int bias = c->image_proj_bias ? 0 : MHV_W_OPTIONAL;
    mhv_wload_prefix(ld, proj, "linear_1.weight");
    if ((st = mhv_wload_mat(ld, "linear_1.weight", H, in, 0, &m->mm_proj1, err)) ||
        (st = mhv_wload_mat(ld, "linear_2.weight", H, H, 0, &m->mm_proj2, err)) ||
        (c->image_proj_bias &&
         ((st = mhv_wload_vec(ld, "linear_1.bias", H, bias, &m->mm_proj1_b, err)) ||
          (st = mhv_wload_vec(ld, "linear_2.bias", H, bias, &m->mm_proj2_b, err)))))
        return st;
    mhv_model_mirror_text(m);
    return MHV_OK;
}

/* Collects the tower's hidden states that make the image features. */
typedef struct {
    const mhv_config *c;
    float *feats;       /* (tokens, d * image_nlayers): each token's states side by side */
    int first, tokens;  /* of the tower's tokens: from first ([CLS] dropped or not) */
} feature_sink;

static void keep_hidden(void *ctx, int index, const float *x, int n, int d)
{
    feature_sink *s = ctx;
    const mhv_config *c = s->c;
    size_t D = (size_t)d, W = D * (size_t)c->image_nlayers;
    (void)n;
    for (int k = 0; k < c->image_nlayers; k++)
        if (c->image_layers[k] == index)
            for (int i = 0; i < s->tokens; i++)
                memcpy(s->feats + (size_t)i * W + (size_t)k * D,
                       x + (size_t)(s->first + i) * D, D * sizeof *x);
}

/* The image's features projected into the language model's width: proj(tokens, H). */
static mhv_status image_features(mhv_nn *nn, const mhv_model *m, mhv_capture *vcap,
                                 float **proj, int *tokens, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const mhv_model *v = m->image_tower;
    int ih = nn->image_h ? nn->image_h : c->image_size;
    int iw = nn->image_w ? nn->image_w : c->image_size;
    mhv_image_grid g;
    mhv_status st = mhv_model_image_grid(v, ih, iw, 0, &g, err);
    if (st)
        return st;
    int Hv = v->cfg.hidden_size, H = c->hidden_size, deepest = 0;
    for (int k = 0; k < c->image_nlayers; k++)
        deepest = c->image_layers[k] > deepest ? c->image_layers[k] : deepest;
    feature_sink fs = {c, NULL, c->image_full ? 0 : 1, g.tokens - (c->image_full ? 0 : 1)};
    size_t W = (size_t)Hv * (size_t)c->image_nlayers, T = (size_t)fs.tokens;
    if (!(fs.feats = malloc(T * W * sizeof *fs.feats)) ||
        !(*proj = malloc(T * (size_t)H * sizeof **proj))) {
        free(fs.feats);
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory for %d image features",
                        fs.tokens);
    }
    /* the tower up to its deepest feature layer (further when its maps are asked for) */
    if (vcap->last < deepest - 1)
        vcap->last = deepest - 1;
    vcap->full_last = 1;
    nn->hidden_out = keep_hidden, nn->hidden_ctx = &fs;
    st = v->cfg.family->forward(nn, v, NULL, g.tokens, vcap, NULL, err);
    nn->hidden_out = NULL, nn->hidden_ctx = NULL;
    float *mid = NULL, *xin = NULL, *out = NULL;
    mhv_nn_buf bufs[] = {{&xin, T * W}, {&mid, T * (size_t)H}, {&out, T * (size_t)H}};
    mhv_nn_shape shape = {fs.tokens, H, (int)W > H ? (int)W : H, 1};
    if (!st)
        st = mhv_nn_begin(nn, &shape, bufs, 3, err);
    if (!st) {
        memcpy(xin, fs.feats, T * W * sizeof *xin);
        mhv_nn_linear(nn, mid, xin, &m->mm_proj1, m->mm_proj1_b, fs.tokens,
                      (int)c->image_proj_act);
        mhv_nn_linear(nn, out, mid, &m->mm_proj2, m->mm_proj2_b, fs.tokens, MHV_NN_NO_ACT);
        memcpy(*proj, out, T * (size_t)H * sizeof *out);
    }
    free(fs.feats);
    if (st) {
        free(*proj);
        *proj = NULL;
        return st;
    }
    *tokens = fs.tokens;
    return MHV_OK;
}

static mhv_status llava_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const mhv_model *t = m->text_model;
    if (nn->measure) { /* a memory estimate: the larger pass, and the features between */
        const mhv_model *v = m->image_tower;
        int side = c->image_size / c->patch_size, tokens = v->cfg.vision_extra + side * side;
        mhv_capture vc = {.last = v->cfg.num_layers - 1, .full_last = 1};
        mhv_error ignored;
        nn->measured = 0;
        v->cfg.family->forward(nn, v, NULL, tokens, &vc, NULL, &ignored);
        size_t tower = nn->measured;
        nn->measured = 0;
        mhv_status st = t->cfg.family->forward(nn, t, ids, n, cap, logits, err);
        size_t feats = (size_t)tokens * ((size_t)v->cfg.hidden_size * (size_t)c->image_nlayers +
                                         (size_t)c->hidden_size) * sizeof(float);
        nn->measured = (tower > nn->measured ? tower : nn->measured) + feats;
        return st;
    }
    if (!nn->pixels)
        return mhv_fail(err, MHV_EUSAGE, m->dir, "llava takes an image with its prompt");
    if (mhv_nn_past(nn) > 0) { /* a cached decoding step: the image's rows are cached */
        for (int i = 0; i < n; i++)
            if (ids[i] == c->image_token_id) { /* its features count from the pass's start */
                mhv_nn_kv_refuse(nn);
                return MHV_OK;
            }
        return t->cfg.family->forward(nn, t, ids, n, cap, logits, err);
    }
    int32_t *row = malloc((size_t)n * sizeof *row);
    if (!row)
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    int count = 0;
    for (int i = 0; i < n; i++)
        row[i] = ids[i] == c->image_token_id ? count++ : -1;
    mhv_capture vcap = {.last = -1};
    mhv_capture *tower_cap = nn->image_cap ? nn->image_cap : &vcap;
    float *proj = NULL;
    int tokens = 0;
    mhv_nn_kv *kv = nn->kv; /* the language model's key/value cache, not the tower's */
    nn->kv = NULL;
    mhv_status st = image_features(nn, m, tower_cap, &proj, &tokens, err);
    nn->kv = kv;
    if (!st && count != tokens)
        st = mhv_fail(err, MHV_EUSAGE, m->dir,
                      "the prompt holds %d image tokens, the image gives %d features", count,
                      tokens);
    if (!st) {
        nn->embed_given = proj, nn->embed_given_row = row, nn->embed_given_used = 0;
        st = t->cfg.family->forward(nn, t, ids, n, cap, logits, err);
        if (!st && !nn->embed_given_used)
            st = mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                          "text_config model_type '%s' is not supported in llava",
                          t->cfg.model_type);
        nn->embed_given = NULL, nn->embed_given_row = NULL;
    }
    free(proj);
    free(row);
    return st;
}

const mhv_family mhv_family_llava = {
    .name = "llava",
    .model_types = model_types,
    .config = llava_config,
    .vector_floats = llava_vector_floats,
    .load = llava_load,
    .forward = llava_forward,
    .caches = mhv_family_caches_always, /* when its language model's family does */
};
