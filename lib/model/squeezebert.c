/* squeezebert.c - SqueezeBERT (SqueezeBertModel, SqueezeBertForMaskedLM and the other heads'
 * transformer. weights): BERT's post-norm layers whose linear layers are 1x1 convolutions
 * with groups (q_groups, k_groups, v_groups, post_attention_groups, intermediate_groups,
 * output_groups): block g of a layer's outputs reads block g of its inputs alone.
 *
 *   x = LN(tok[id] + pos[i] + type[t])
 *   per layer: q, k, v = grouped projections of x;  a = LN(post(attn) + x);
 *              x = LN(output(act(intermediate(a))) + a)
 * transformers' output_attentions returns SqueezeBERT's scores before the softmax
 * (attention_score); mhaviz shows the probabilities the model uses, the softmax of those
 * scores, as for every other model. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"squeezebert", NULL};

enum { G_Q, G_K, G_V, G_POST, G_INTER, G_OUT, N_GROUPS };

static const char *const group_keys[N_GROUPS] = {"q_groups", "k_groups", "v_groups",
                                                 "post_attention_groups", "intermediate_groups",
                                                 "output_groups"};
static const int group_defaults[N_GROUPS] = {4, 4, 4, 1, 4, 4};

static mhv_status squeezebert_config(const cJSON *root, mhv_config *c, const char *name,
                                     mhv_error *err)
{
    mhv_status st;
    double eps;
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       768, 12, 12, 3072, 30522, 512};
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (st = mhv_json_int(root, "type_vocab_size", 2, 1, 1024, &c->type_vocab_size, name,
                           err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", 1e-12, 0, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_int(root, "embedding_size", 768, 1, MHV_MAX_HIDDEN, &c->embedding_size,
                           name, err)))
        return st;
    /* SqueezeBertEncoder asserts it: no projection between the embeddings and the layers */
    if (c->embedding_size != c->hidden_size)
        return mhv_fail(err, MHV_EFORMAT, name, "embedding_size %d differs from hidden_size %d",
                        c->embedding_size, c->hidden_size);
    int H = c->hidden_size, I = c->intermediate_size;
    /* each group's channels: in and out of q, k, v, post (H -> H), intermediate (H -> I),
     * output (I -> H) */
    const int ins[N_GROUPS] = {H, H, H, H, H, I}, outs[N_GROUPS] = {H, H, H, H, I, H};
    for (int g = 0; g < N_GROUPS; g++) {
        if ((st = mhv_json_int(root, group_keys[g], group_defaults[g], 1, MHV_MAX_HIDDEN,
                               &c->sq_groups[g], name, err)))
            return st;
        if (ins[g] % c->sq_groups[g] || outs[g] % c->sq_groups[g])
            return mhv_fail(err, MHV_EFORMAT, name, "%s %d does not divide the channels %d -> %d",
                            group_keys[g], c->sq_groups[g], ins[g], outs[g]);
    }
    c->layer_norm_eps = (float)eps;
    c->causal = 0;
    return MHV_OK;
}

static size_t squeezebert_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 2 * H + (size_t)c->num_layers * (9 * H + (size_t)c->intermediate_size) + 3 * H +
           (size_t)c->vocab_size; /* the masked-LM head */
}

/* A 1x1 convolution's weight (out, in / groups, 1) as the (out, in / groups) matrix, and its
 * bias (out,). */
static mhv_status load_conv(mhv_wload *ld, const char *prefix, const char *name, int out,
                            int in, int groups, mhv_mat *w, float **b, mhv_error *err)
{
    char n[160];
    int64_t dims[3] = {out, in / groups, 1};
    snprintf(n, sizeof n, "%s%s.weight", prefix, name);
    mhv_status st = mhv_wload_tensor(ld, n, dims, 3, 0, w, err);
    if (st)
        return st;
    snprintf(n, sizeof n, "%s%s.bias", prefix, name);
    return mhv_wload_vec(ld, n, out, 0, b, err);
}

static mhv_status load_layer(mhv_wload *ld, const mhv_config *c, int l, mhv_layer *ly,
                             mhv_error *err)
{
    int H = c->hidden_size, I = c->intermediate_size;
    const int *G = c->sq_groups;
    char p[64], n[128];
    snprintf(p, sizeof p, "encoder.layers.%d.", l);
    mhv_status st;
    if ((st = load_conv(ld, p, "attention.query", H, H, G[G_Q], &ly->q, &ly->q_b, err)) ||
        (st = load_conv(ld, p, "attention.key", H, H, G[G_K], &ly->k, &ly->k_b, err)) ||
        (st = load_conv(ld, p, "attention.value", H, H, G[G_V], &ly->v, &ly->v_b, err)) ||
        (st = load_conv(ld, p, "post_attention.conv1d", H, H, G[G_POST], &ly->o, &ly->o_b,
                        err)))
        return st;
    snprintf(n, sizeof n, "%spost_attention.layernorm.weight", p);
    if ((st = mhv_wload_vec(ld, n, H, 0, &ly->ln_attn_g, err)))
        return st;
    snprintf(n, sizeof n, "%spost_attention.layernorm.bias", p);
    if ((st = mhv_wload_vec(ld, n, H, 0, &ly->ln_attn_b, err)) ||
        (st = load_conv(ld, p, "intermediate.conv1d", I, H, G[G_INTER], &ly->ffn_up,
                        &ly->ffn_up_b, err)) ||
        (st = load_conv(ld, p, "output.conv1d", H, I, G[G_OUT], &ly->ffn_down, &ly->ffn_down_b,
                        err)))
        return st;
    snprintf(n, sizeof n, "%soutput.layernorm.weight", p);
    if ((st = mhv_wload_vec(ld, n, H, 0, &ly->ln_ffn_g, err)))
        return st;
    snprintf(n, sizeof n, "%soutput.layernorm.bias", p);
    return mhv_wload_vec(ld, n, H, 0, &ly->ln_ffn_b, err);
}

static mhv_status squeezebert_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    static const char *const prefixes[] = {"transformer.", NULL}; /* SqueezeBertFor* heads */
    int H = c->hidden_size;
    mhv_wload_prefix(ld, prefixes, "embeddings.word_embeddings.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embeddings.word_embeddings.weight", c->vocab_size, H, 0,
                            &m->word_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.position_embeddings.weight", c->max_positions, H, 0,
                            &m->pos_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.token_type_embeddings.weight", c->type_vocab_size,
                            H, 0, &m->type_emb, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.weight", H, 0, &m->emb_ln_g, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.bias", H, 0, &m->emb_ln_b, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++)
        if ((st = load_layer(ld, c, l, &m->layers[l], err)))
            return st;
    /* SqueezeBertForMaskedLM's cls.predictions (hidden_act), decoder tied unless stored */
    mhv_mlm_names nm = {
        "cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
        "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
        "cls.predictions.bias", "cls.predictions.decoder.bias", "cls.predictions.decoder.weight",
    };
    return mhv_layer_load_mlm_head(m, ld, &nm, (int)c->act, err);
}

static mhv_status squeezebert_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids,
                                      int n, mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (logits && !m->mlm_dense.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "no masked-LM head in the checkpoint "
                        "(SqueezeBertForMaskedLM's cls.predictions): no logits");
    int H = c->hidden_size, I = c->intermediate_size;
    const int *G = c->sq_groups;
    if (cap->vnorm == MHV_VNORM_VO && G[G_POST] != 1)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "value norms through the output "
                        "projection (norm-out) are not supported with post_attention_groups %d "
                        "(a grouped convolution, not one matrix)", G[G_POST]);
    size_t N = (size_t)n, nh = N * (size_t)H;
    float *x, *q, *k, *v, *ctx, *tmp; /* (n, H) each */
    float *ffn;                       /* (n, I) */
    float *scratch;                   /* (n, I + H) a grouped layer's blocks */
    const mhv_nn_buf bufs[] = {{&x, nh}, {&q, nh}, {&k, nh}, {&v, nh}, {&ctx, nh}, {&tmp, nh},
                               {&ffn, N * (size_t)I}, {&scratch, N * (size_t)(I + H)}};
    mhv_nn_shape shape = {n, H, I > H ? I : H, c->head_dim};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st)
        return st;
    mhv_norm emb_ln = mhv_nn_layernorm(m->emb_ln_g, m->emb_ln_b, c->layer_norm_eps);
    mhv_embed e = {.tok = &m->word_emb, .pos = &m->pos_emb, .type = &m->type_emb,
                   .norm = &emb_ln, .pad_id = -1, .pos_first = 1};
    mhv_nn_embed(nn, x, &e, ids, n, H);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_nn_linear_grouped(nn, q, x, H, &ly->q, ly->q_b, n, G[G_Q], MHV_NN_NO_ACT, scratch);
        mhv_nn_linear_grouped(nn, k, x, H, &ly->k, ly->k_b, n, G[G_K], MHV_NN_NO_ACT, scratch);
        mhv_nn_linear_grouped(nn, v, x, H, &ly->v, ly->v_b, n, G[G_V], MHV_NN_NO_ACT, scratch);
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.projected = 1;
        mhv_nn_attention(nn, &attn, x, n, l, &(mhv_attn_bufs){.q = q, .k = k, .v = v, .ctx = ctx},
                         cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_norm ln1 = mhv_nn_layernorm(ly->ln_attn_g, ly->ln_attn_b, c->layer_norm_eps);
        mhv_norm ln2 = mhv_nn_layernorm(ly->ln_ffn_g, ly->ln_ffn_b, c->layer_norm_eps);
        mhv_nn_linear_grouped(nn, tmp, ctx, H, &ly->o, ly->o_b, n, G[G_POST], MHV_NN_NO_ACT,
                              scratch);
        mhv_nn_add_norm(nn, x, tmp, &ln1, n, H);
        mhv_nn_linear_grouped(nn, ffn, x, H, &ly->ffn_up, ly->ffn_up_b, n, G[G_INTER],
                              (int)c->act, scratch);
        mhv_nn_linear_grouped(nn, tmp, ffn, I, &ly->ffn_down, ly->ffn_down_b, n, G[G_OUT],
                              MHV_NN_NO_ACT, scratch);
        mhv_nn_add_norm(nn, x, tmp, &ln2, n, H);
    }
    if (logits) /* the masked-LM head over every position */
        mhv_layer_mlm_head(nn, m, x, tmp, q, logits, n);
    return MHV_OK;
}

const mhv_family mhv_family_squeezebert = {
    .name = "squeezebert",
    .model_types = model_types,
    .config = squeezebert_config,
    .vector_floats = squeezebert_vector_floats,
    .load = squeezebert_load,
    .forward = squeezebert_forward,
    .packs = mhv_family_packs_always,
};
