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

static const char *const model_types[] = {"distilbert", NULL};

static mhv_status distilbert_config(const cJSON *root, mhv_config *c, const char *name,
                                    mhv_error *err)
{
    mhv_status st;
    /* every field has DistilBertConfig's default */
    if ((st = mhv_json_int(root, "dim", 768, 1, MHV_MAX_HIDDEN, &c->hidden_size, name, err)) ||
        (st = mhv_json_int(root, "n_layers", 6, 1, MHV_MAX_LAYERS, &c->num_layers, name, err)) ||
        (st = mhv_json_int(root, "n_heads", 12, 1, MHV_MAX_HEADS, &c->num_heads, name, err)) ||
        (st = mhv_json_int(root, "hidden_dim", 4 * c->hidden_size, 1, 4 * MHV_MAX_HIDDEN,
                           &c->intermediate_size, name, err)) ||
        (st = mhv_json_int(root, "vocab_size", 30522, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, "max_position_embeddings", 512, 1, MHV_MAX_POSITIONS,
                           &c->max_positions, name, err)) ||
        (st = mhv_config_act(root, "activation", MHV_ACT_GELU, &c->act, name, err)))
        return st;
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "n_heads %d does not divide dim %d",
                        c->num_heads, c->hidden_size);
    c->head_dim = c->hidden_size / c->num_heads;
    c->num_kv_heads = c->num_heads;
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
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "transformer.layer.%d.%s", l, suffix), n)
        if ((st = mhv_wload_mat(ld, N("attention.q_lin.weight"), H, H, 0, &ly->q, err)) ||
            (st = mhv_wload_vec(ld, N("attention.q_lin.bias"), H, 0, &ly->q_b, err)) ||
            (st = mhv_wload_mat(ld, N("attention.k_lin.weight"), H, H, 0, &ly->k, err)) ||
            (st = mhv_wload_vec(ld, N("attention.k_lin.bias"), H, 0, &ly->k_b, err)) ||
            (st = mhv_wload_mat(ld, N("attention.v_lin.weight"), H, H, 0, &ly->v, err)) ||
            (st = mhv_wload_vec(ld, N("attention.v_lin.bias"), H, 0, &ly->v_b, err)) ||
            (st = mhv_wload_mat(ld, N("attention.out_lin.weight"), H, H, 0, &ly->o, err)) ||
            (st = mhv_wload_vec(ld, N("attention.out_lin.bias"), H, 0, &ly->o_b, err)) ||
            (st = mhv_wload_vec(ld, N("sa_layer_norm.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, N("sa_layer_norm.bias"), H, 0, &ly->ln_attn_b, err)) ||
            (st = mhv_wload_mat(ld, N("ffn.lin1.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_vec(ld, N("ffn.lin1.bias"), I, 0, &ly->ffn_up_b, err)) ||
            (st = mhv_wload_mat(ld, N("ffn.lin2.weight"), H, I, 0, &ly->ffn_down, err)) ||
            (st = mhv_wload_vec(ld, N("ffn.lin2.bias"), H, 0, &ly->ffn_down_b, err)) ||
            (st = mhv_wload_vec(ld, N("output_layer_norm.weight"), H, 0, &ly->ln_ffn_g, err)) ||
            (st = mhv_wload_vec(ld, N("output_layer_norm.bias"), H, 0, &ly->ln_ffn_b, err)))
            return st;
#undef N
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
        mhv_attn_layer attn = {
            .wo = &ly->o,
            .wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .bq = ly->q_b, .bk = ly->k_b,
            .bv = ly->v_b, .heads = c->num_heads, .kv_heads = c->num_heads,
            .head_dim = c->head_dim, .scale = (float)(1.0 / sqrt((double)c->head_dim)),
        };
        mhv_nn_attention(nn, &attn, x, n, l, &(mhv_attn_bufs){.q = q, .k = k, .v = v, .ctx = ctx},
                         cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_norm sa_ln = {MHV_NORM_LAYER, ly->ln_attn_g, ly->ln_attn_b, c->layer_norm_eps};
        mhv_norm out_ln = {MHV_NORM_LAYER, ly->ln_ffn_g, ly->ln_ffn_b, c->layer_norm_eps};
        mhv_nn_linear(nn, tmp, ctx, &ly->o, ly->o_b, n, MHV_NN_NO_ACT);
        mhv_nn_add_norm(nn, x, tmp, &sa_ln, n, H);
        mhv_nn_linear(nn, ffn, x, &ly->ffn_up, ly->ffn_up_b, n, (int)c->act);
        mhv_nn_linear(nn, tmp, ffn, &ly->ffn_down, ly->ffn_down_b, n, MHV_NN_NO_ACT);
        mhv_nn_add_norm(nn, x, tmp, &out_ln, n, H);
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
};
