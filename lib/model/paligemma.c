/* paligemma.c - PaliGemma and PaliGemma 2 (PaliGemmaForConditionalGeneration, model_type
 * paligemma): a SigLIP vision tower, a linear projector and a Gemma or Gemma 2 language model
 * (gemma.c), under a prefix-LM mask.
 *
 *   f = linear(post_layernorm(tower(pixels)))            (patches, H): one row a patch
 *   the language model over the ids at positions 1, 2, ... (PaliGemma counts from 1), the
 *   k-th image token's (scaled) embedding row replaced by f[k]; the prefix (token type 0:
 *   the image, bos, the prompt, "\n") sees itself whole, the suffix (type 1: the answer and
 *   eos, as in training) is causal, within the window on Gemma 2's sliding layers. Without
 *   token types the whole sequence is the prefix, as at inference.
 * The tower and the language model are models of their own over views of the checkpoint
 * (mhv_model_open_part), as LLaVA's. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/gemma3_vision.h"

static const char *const model_types[] = {"paligemma", NULL};

/* PaliGemmaConfig's sub-config defaults (its sub_configs_defaults init_kwargs) where the
 * file leaves them out. */
static const char *const text_keys[] = {"hidden_size", "num_hidden_layers", "intermediate_size",
                                        "num_attention_heads", "num_key_value_heads",
                                        "vocab_size"};
static const int text_defaults[] = {2048, 18, 16384, 8, 1, 257152};
static const char *const vision_keys[] = {"intermediate_size", "hidden_size", "patch_size",
                                          "image_size", "num_hidden_layers",
                                          "num_attention_heads"};
static const int vision_defaults[] = {4096, 1152, 14, 224, 27, 16};

/* The config of part key (text_config, vision_config) of root into *out (heap), missing
 * sizes at PaliGemmaConfig's defaults; the text part without use_bidirectional_attention
 * (PaliGemmaConfig sets it, but only sdpa and flash read it: eager attention, mhaviz's
 * reference, takes the mask PaliGemma builds). */
static mhv_status part_config(const cJSON *root, const char *key, const char *name,
                              mhv_config **out, mhv_error *err)
{
    int text = strcmp(key, "text_config") == 0;
    const cJSON *obj = mhv_json_get(root, key);
    *out = NULL;
    if (obj && !cJSON_IsObject(obj))
        return mhv_fail(err, MHV_EFORMAT, name, "field '%s' is not an object", key);
    cJSON *copy = obj ? cJSON_Duplicate(obj, 1) : cJSON_CreateObject();
    mhv_config *c = malloc(sizeof *c);
    int ok = copy && c;
    const char *const *keys = text ? text_keys : vision_keys;
    const int *defs = text ? text_defaults : vision_defaults;
    for (int k = 0; ok && k < 6; k++)
        if (!cJSON_GetObjectItemCaseSensitive(copy, keys[k]))
            ok = cJSON_AddNumberToObject(copy, keys[k], defs[k]) != NULL;
    if (!ok) {
        cJSON_Delete(copy);
        free(c);
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    }
    if (text)
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "use_bidirectional_attention");
    mhv_status st = mhv_config_parse_json(copy, text ? "gemma" : "siglip_vision_model", name, c,
                                          err);
    cJSON_Delete(copy);
    if (!st && text && strcmp(c->model_type, "gemma") != 0 &&
        strcmp(c->model_type, "gemma2") != 0)
        st = mhv_fail(err, MHV_EUNSUPPORTED, name, "text_config model_type '%s' is not "
                      "supported in paligemma (gemma and gemma2 are)", c->model_type);
    if (!st && !text && strcmp(c->model_type, "siglip_vision_model") != 0)
        st = mhv_fail(err, MHV_EUNSUPPORTED, name, "vision_config model_type '%s' is not "
                      "supported in paligemma (siglip_vision_model is)", c->model_type);
    if (st) {
        free(c);
        return st;
    }
    *out = c;
    return MHV_OK;
}

static mhv_status paligemma_config(const cJSON *root, mhv_config *c, const char *name,
                                   mhv_error *err)
{
    mhv_config *tc, *vc = NULL;
    mhv_status st;
    if ((st = part_config(root, "text_config", name, &tc, err)))
        return st;
    if ((st = part_config(root, "vision_config", name, &vc, err)))
        goto out;
    /* the language model's sizes are the model's */
    mhv_config_adopt(c, tc);
    int proj, image_id;
    if ((st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_int(root, "projection_dim", 2048, 1, 1 << 20, &proj, name, err)) ||
        (st = mhv_json_int(root, "image_token_index", 256000, 0, MHV_MAX_VOCAB, &image_id,
                           name, err)))
        goto out;
    if (proj != c->hidden_size) { /* the features replace embedding rows */
        st = mhv_fail(err, MHV_EFORMAT, name, "projection_dim %d is not the text model's "
                      "hidden_size %d", proj, c->hidden_size);
        goto out;
    }
    if (image_id >= c->vocab_size) {
        st = mhv_fail(err, MHV_EUNSUPPORTED, name, "image_token_index %d outside the text "
                      "model's %d tokens is not supported", image_id, c->vocab_size);
        goto out;
    }
    int side = vc->image_size / vc->patch_size;
    c->image_in_text = 1, c->image_form = MHV_IMAGE_FORM_PALIGEMMA;
    c->image_token_id = image_id, c->image_tokens = side * side;
    c->image_size = vc->image_size, c->patch_size = vc->patch_size;
    c->num_channels = vc->num_channels, c->image_extra = 0;
    c->image_hidden = vc->hidden_size, c->image_norm_eps = vc->layer_norm_eps;
    c->type_vocab_size = 2; /* token type 0 the prefix, 1 the suffix */
out:
    free(tc);
    free(vc);
    return st;
}

static size_t paligemma_vector_floats(const mhv_config *c)
{
    /* the projector's bias, the tower's post_layernorm: the parts load their own */
    return (size_t)c->hidden_size + 2 * (size_t)c->image_hidden;
}

/* Part `key` of m loaded through renames(count); tie >= 0 overrides its tying. */
static mhv_status open_part(const mhv_model *m, const cJSON *root, const char *key,
                            const char *const (*renames)[2], int count, int tie,
                            const char *name, mhv_model **out, mhv_error *err)
{
    mhv_config *c;
    mhv_status st = part_config(root, key, name, &c, err);
    if (st)
        return st;
    if (tie >= 0)
        c->tie_word_embeddings = tie;
    st = mhv_model_open_part(m, c, renames, count, out, err);
    free(c);
    return st;
}

static mhv_status paligemma_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    /* as save_pretrained writes them, and under transformers 5's module names */
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
    if (!(st = open_part(m, root, "vision_config", tower_names, 2, -1, path, &m->image_tower,
                         err)))
        st = open_part(m, root, "text_config", text_names, 3, c->tie_word_embeddings, path,
                       &m->text_model, err);
    cJSON_Delete(root);
    if (st)
        return st;
    int H = c->hidden_size, Hv = c->image_hidden;
    if ((st = mhv_siglip_post_norm_load(m, ld, Hv, err)))
        return st;
    mhv_wload_prefix(ld, proj, "linear.weight");
    if ((st = mhv_wload_mat(ld, "linear.weight", H, Hv, 0, &m->mm_proj1, err)) ||
        (st = mhv_wload_vec(ld, "linear.bias", H, 0, &m->mm_proj1_b, err)))
        return st;
    mhv_model_mirror_text(m);
    return MHV_OK;
}

/* The image's features in the language model's width: (patches, H) into *proj. */
static mhv_status image_features(mhv_nn *nn, const mhv_model *m, mhv_capture *vcap,
                                 float **proj, int *tokens, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    float *x, *f = NULL;
    int T, side, H = c->hidden_size, Hv = c->image_hidden;
    mhv_status st = mhv_siglip_last_state(nn, m, vcap, &x, &T, &side, err);
    if (st)
        return st;
    if (!(*proj = malloc((size_t)T * (size_t)H * sizeof **proj))) {
        free(x);
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory for %d image features", T);
    }
    float *xin = NULL;
    mhv_nn_buf bufs[] = {{&xin, (size_t)T * (size_t)Hv}, {&f, (size_t)T * (size_t)H}};
    mhv_nn_shape shape = {T, Hv > H ? Hv : H, Hv > H ? Hv : H, 1};
    if (!(st = mhv_nn_begin(nn, &shape, bufs, 2, err))) {
        memcpy(xin, x, (size_t)T * (size_t)Hv * sizeof *x);
        mhv_nn_linear(nn, f, xin, &m->mm_proj1, m->mm_proj1_b, T, MHV_NN_NO_ACT);
        memcpy(*proj, f, (size_t)T * (size_t)H * sizeof *f);
    }
    free(x);
    if (st) {
        free(*proj);
        *proj = NULL;
        return st;
    }
    *tokens = T;
    return MHV_OK;
}

static mhv_status paligemma_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                    mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const mhv_model *t = m->text_model;
    if (nn->measure) { /* a memory estimate: the larger pass, and the features between */
        const mhv_model *v = m->image_tower;
        mhv_capture vc = {.last = v->cfg.num_layers - 1, .full_last = 1};
        mhv_error ignored;
        nn->measured = 0;
        v->cfg.family->forward(nn, v, NULL, c->image_tokens, &vc, NULL, &ignored);
        size_t tower = nn->measured;
        nn->measured = 0;
        mhv_status st = t->cfg.family->forward(nn, t, ids, n, cap, logits, err);
        size_t feats = (size_t)c->image_tokens *
                       (2 * (size_t)c->image_hidden + 2 * (size_t)c->hidden_size) * sizeof(float);
        nn->measured = (tower > nn->measured ? tower : nn->measured) + feats;
        return st;
    }
    if (!nn->pixels)
        return mhv_fail(err, MHV_EUSAGE, m->dir, "paligemma takes an image with its prompt");
    int32_t *row = malloc((size_t)n * 4 * sizeof *row);
    if (!row)
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    int32_t *lo = row + n, *hi = row + 2 * (size_t)n, *lo_s = row + 3 * (size_t)n;
    int count = 0, P = 0, w = t->cfg.sliding_window;
    while (P < n && (!nn->type_ids || nn->type_ids[P] == 0))
        P++;
    for (int i = P; i < n; i++)
        if (nn->type_ids[i] != 1) {
            free(row);
            return mhv_fail(err, MHV_EUSAGE, m->dir, "paligemma's token types are a prefix "
                            "(0) then a suffix (1): token %d is %d after token %d's %d", i,
                            (int)nn->type_ids[i], i - 1, (int)nn->type_ids[i - 1]);
        }
    /* the prefix sees itself whole (the full layers and, past their window, the sliding
     * ones); the suffix is causal, within the window on the sliding layers */
    for (int i = 0; i < n; i++) {
        row[i] = ids[i] == c->image_token_id ? count++ : -1;
        lo[i] = 0, hi[i] = i < P ? P - 1 : i;
        lo_s[i] = i < P || w <= 0 || i < w ? 0 : i - w + 1;
    }
    mhv_capture vcap = {.last = -1};
    float *proj = NULL;
    int tokens = 0;
    mhv_status st = image_features(nn, m, nn->image_cap ? nn->image_cap : &vcap, &proj,
                                   &tokens, err);
    if (!st && count != tokens)
        st = mhv_fail(err, MHV_EUSAGE, m->dir,
                      "the prompt holds %d image tokens, the image gives %d features", count,
                      tokens);
    if (!st) {
        nn->embed_given = proj, nn->embed_given_row = row, nn->embed_given_used = 0;
        nn->embed_given_scaled = 1, nn->pos_first = 1;
        nn->key_lo[0] = lo, nn->key_lo[1] = lo_s, nn->key_hi[0] = nn->key_hi[1] = hi;
        st = t->cfg.family->forward(nn, t, ids, n, cap, logits, err);
        if (!st && !nn->embed_given_used)
            st = mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                          "text_config model_type '%s' is not supported in paligemma",
                          t->cfg.model_type);
        nn->embed_given = NULL, nn->embed_given_row = NULL;
        nn->embed_given_scaled = 0, nn->pos_first = 0;
        nn->key_lo[0] = nn->key_hi[0] = nn->key_lo[1] = nn->key_hi[1] = NULL;
    }
    free(proj);
    free(row);
    return st;
}

const mhv_family mhv_family_paligemma = {
    .name = "paligemma",
    .model_types = model_types,
    .config = paligemma_config,
    .vector_floats = paligemma_vector_floats,
    .load = paligemma_load,
    .forward = paligemma_forward,
};
