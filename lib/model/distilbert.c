/* distilbert.c - DistilBERT (DistilBertModel, DistilBertForMaskedLM ...): BERT's post-norm
 * layers under other names, learned positions, no token types.
 *
 *   x = LN(tok[id] + pos[i])
 *   per layer: x = sa_layer_norm(x + out_lin(attn(x)));
 *              x = output_layer_norm(x + lin2(act(lin1(x)))) */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"distilbert", NULL};

static mhv_status distilbert_config(const cJSON *root, mhv_config *c, const char *name,
                                    mhv_error *err)
{
    /* every field has DistilBertConfig's default */
    static const mhv_size_keys keys = {"dim", "n_layers", "n_heads", "hidden_dim", "vocab_size",
                                       "max_position_embeddings", 768, 6, 12, 0, 30522, 512};
    mhv_status st;
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (st = mhv_config_act(root, "activation", MHV_ACT_GELU, &c->act, name, err)))
        return st;
    c->embedding_size = c->hidden_size;
    c->layer_norm_eps = 1e-12f; /* fixed in DistilBERT's modules */
    return MHV_OK;
}

static size_t distilbert_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 2 * H + (size_t)c->num_layers * (9 * H + (size_t)c->intermediate_size);
}

static mhv_status distilbert_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"distilbert.", NULL}; /* DistilBertFor* heads */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size;
    mhv_wload_prefix(ld, prefixes, "embeddings.word_embeddings.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embeddings.word_embeddings.weight", c->vocab_size, H, 0,
                            &m->word_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.position_embeddings.weight", c->max_positions, H, 0,
                            &m->pos_emb, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.weight", H, 0, &m->emb_ln_g, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.bias", H, 0, &m->emb_ln_b, err)))
        return st;
    static const mhv_dense_names names = {
        "attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin",
        "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm"};
    for (int l = 0; l < c->num_layers; l++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "transformer.layer.%d.", l);
        if ((st = mhv_layer_load_dense(ld, prefix, &names, H, I, &m->layers[l], err)))
            return st;
    }
    return MHV_OK;
}

static mhv_status distilbert_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                     mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (logits)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "logits need a decoder model, not %s",
                        c->arch);
    int H = c->hidden_size, I = c->intermediate_size;
    size_t nh = (size_t)n * (size_t)H;
    float *x, *q, *k, *v, *ctx, *tmp; /* (n, H) each: residual stream, projections, ... */
    float *ffn;                       /* (n, I) */
    const mhv_nn_buf bufs[] = {{&x, nh}, {&q, nh}, {&k, nh}, {&v, nh}, {&ctx, nh}, {&tmp, nh},
                               {&ffn, (size_t)n * (size_t)I}};
    mhv_nn_shape shape = {n, H, I > H ? I : H, c->head_dim};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st)
        return st;

    mhv_norm emb_ln = {MHV_NORM_LAYER, m->emb_ln_g, m->emb_ln_b, c->layer_norm_eps};
    mhv_embed e = {.tok = &m->word_emb, .pos = &m->pos_emb, .norm = &emb_ln, .pad_id = -1};
    mhv_nn_embed(nn, x, &e, ids, n, H);
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

const mhv_family mhv_family_distilbert = {
    .name = "distilbert",
    .model_types = model_types,
    .config = distilbert_config,
    .vector_floats = distilbert_vector_floats,
    .load = distilbert_load,
    .forward = distilbert_forward,
    .packs = mhv_family_packs_always,
};
