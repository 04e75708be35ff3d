/* albert.c - ALBERT (AlbertModel, AlbertForMaskedLM ...): factorised embeddings projected to
 * hidden_size, and layer groups whose weights every layer of the group shares.
 *
 *   x = mapping_in(LN(tok[id] + type[0] + pos[i]))
 *   layer l runs group g = l / (layers / groups):
 *     x = LN_attn(x + dense(attn(x)));  x = LN_full(x + ffn_output(act(ffn(x)))) */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"albert", NULL};

static mhv_status albert_config(const cJSON *root, mhv_config *c, const char *name,
                                mhv_error *err)
{
    mhv_status st;
    int inner;
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       -1, -1, -1, -1, -1, 512};
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (st = mhv_json_int(root, "embedding_size", 128, 1, MHV_MAX_HIDDEN, &c->embedding_size,
                           name, err)) ||
        (st = mhv_json_int(root, "type_vocab_size", 2, 1, 1024, &c->type_vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, "num_hidden_groups", 1, 1, MHV_MAX_LAYERS, &c->layer_groups,
                           name, err)) ||
        (st = mhv_json_int(root, "inner_group_num", 1, 1, MHV_MAX_LAYERS, &inner, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU_NEW, &c->act, name, err)))
        return st;
    if (inner != 1)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "inner_group_num %d is not supported (only 1: one layer per group)", inner);
    if (c->layer_groups > c->num_layers)
        return mhv_fail(err, MHV_EFORMAT, name, "num_hidden_groups %d exceeds num_hidden_layers %d",
                        c->layer_groups, c->num_layers);
    double eps;
    if ((st = mhv_json_num(root, "layer_norm_eps", 1e-12, -1e-300, 1, &eps, name, err)))
        return st;
    c->layer_norm_eps = (float)eps;
    const cJSON *pet = mhv_json_get(root, "position_embedding_type");
    if (pet && (!cJSON_IsString(pet) || strcmp(pet->valuestring, "absolute") != 0))
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "unsupported position_embedding_type (only 'absolute')");
    return MHV_OK;
}

static size_t albert_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, E = (size_t)c->embedding_size;
    return 2 * E + H + (size_t)c->layer_groups * (9 * H + (size_t)c->intermediate_size);
}

static mhv_status load_group(mhv_wload *ld, const mhv_config *c, int g, mhv_layer *ly,
                             mhv_error *err)
{
    static const mhv_dense_names names = {
        "attention.query", "attention.key", "attention.value", "attention.dense",
        "attention.LayerNorm", "ffn", "ffn_output", "full_layer_layer_norm"};
    char prefix[96];
    snprintf(prefix, sizeof prefix, "encoder.albert_layer_groups.%d.albert_layers.0.", g);
    return mhv_layer_load_dense(ld, prefix, &names, c->hidden_size, c->intermediate_size, ly,
                                err);
}

static mhv_status albert_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"albert.", NULL}; /* AlbertFor* heads */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, E = c->embedding_size, L = c->num_layers, G = c->layer_groups;
    mhv_wload_prefix(ld, prefixes, "embeddings.word_embeddings.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embeddings.word_embeddings.weight", c->vocab_size, E, 0,
                            &m->word_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.position_embeddings.weight", c->max_positions, E, 0,
                            &m->pos_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.token_type_embeddings.weight", c->type_vocab_size,
                            E, 0, &m->type_emb, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.weight", E, 0, &m->emb_ln_g, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.bias", E, 0, &m->emb_ln_b, err)) ||
        (st = mhv_wload_mat(ld, "encoder.embedding_hidden_mapping_in.weight", H, E, 0,
                            &m->emb_proj, err)) ||
        (st = mhv_wload_vec(ld, "encoder.embedding_hidden_mapping_in.bias", H, 0,
                            &m->emb_proj_b, err)))
        return st;
    /* the groups' weights, then every layer a view of its group's (transformers' rule:
     * layer l runs group int(l / (layers / groups))) */
    for (int g = 0; g < G; g++)
        if ((st = load_group(ld, c, g, &m->layers[g], err)))
            return st;
    for (int l = L - 1; l >= 0; l--)
        m->layers[l] = m->layers[(int)((double)l / ((double)L / G))];
    return MHV_OK;
}

static mhv_status albert_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                 mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (logits)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "logits need a decoder model, not %s",
                        c->arch);
    int H = c->hidden_size, I = c->intermediate_size, E = c->embedding_size;
    size_t nh = (size_t)n * (size_t)H;
    float *emb;                       /* (n, E) embeddings before mapping_in */
    float *x, *q, *k, *v, *ctx, *tmp; /* (n, H) each */
    float *ffn;                       /* (n, I) */
    const mhv_nn_buf bufs[] = {{&emb, (size_t)n * (size_t)E}, {&x, nh}, {&q, nh}, {&k, nh},
                               {&v, nh}, {&ctx, nh}, {&tmp, nh}, {&ffn, (size_t)n * (size_t)I}};
    int widest = I > H ? I : H;
    mhv_nn_shape shape = {n, E > H ? E : H, E > widest ? E : widest, c->head_dim};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st)
        return st;

    mhv_norm emb_ln = {MHV_NORM_LAYER, m->emb_ln_g, m->emb_ln_b, c->layer_norm_eps};
    mhv_embed e = {.tok = &m->word_emb, .pos = &m->pos_emb, .type = &m->type_emb,
                   .norm = &emb_ln, .pad_id = -1};
    mhv_nn_embed(nn, emb, &e, ids, n, E);
    mhv_nn_linear(nn, x, emb, &m->emb_proj, m->emb_proj_b, n, MHV_NN_NO_ACT);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        mhv_nn_attention(nn, &attn, x, n, l, &(mhv_attn_bufs){.q = q, .k = k, .v = v, .ctx = ctx},
                         cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_layer_post_norm(nn, ly, c, x, ctx, tmp, ffn, n);
    }
    return MHV_OK;
}

const mhv_family mhv_family_albert = {
    .name = "albert",
    .model_types = model_types,
    .config = albert_config,
    .vector_floats = albert_vector_floats,
    .load = albert_load,
    .forward = albert_forward,
    .packs = mhv_family_packs_always,
};
