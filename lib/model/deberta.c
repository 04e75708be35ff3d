/* deberta.c - DeBERTa v1 (DebertaModel, DebertaForMaskedLM ...) and v2 / v3
 * (DebertaV2Model, DebertaV2ForMaskedLM ...): BERT's post-norm layers with disentangled
 * attention (model/disentangled.h). The probabilities users see are the softmax over its
 * three terms together.
 *
 * v1 ("deberta") is the same computation with other weights: one bias-free in_proj whose
 * rows hold [q, k, v] per head, q_bias and v_bias apart, pos_proj (no bias) and pos_q_proj
 * for Kr and Qr, no buckets, no shared keys, no norm of the relative embeddings; its terms
 * are 1 + every pos_att_type entry. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/disentangled.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"deberta-v2", "deberta", NULL};

static int is_v1(const mhv_config *c)
{
    return strcmp(c->arch, "deberta") == 0;
}

/* DebertaConfig (v1): transformers reads no buckets, shared keys, norm of the relative
 * embeddings, head size or convolution for it, so neither does this. */
static mhv_status v1_config(const cJSON *root, mhv_config *c, const char *name, mhv_error *err)
{
    mhv_status st;
    double eps;
    int rel = 0, talking = 0;
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       768, 12, 12, 3072, 50265, 512};
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (st = mhv_json_int(root, "type_vocab_size", 0, 0, 1024, &c->type_vocab_size, name,
                           err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", 1e-7, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "relative_attention", 0, &rel, name, err)) ||
        (st = mhv_json_bool(root, "position_biased_input", 1, &c->pos_input, name, err)) ||
        (st = mhv_json_bool(root, "talking_head", 0, &talking, name, err)) ||
        (st = mhv_json_int(root, "max_relative_positions", -1, -1, MHV_MAX_POSITIONS,
                           &c->rel_max, name, err)) ||
        (st = mhv_json_int(root, "embedding_size", c->hidden_size, 1, MHV_MAX_HIDDEN,
                           &c->embedding_size, name, err)) ||
        (st = mhv_disent_pos_att_type(root, 0, 0, c, name, err)))
        return st;
    if (talking)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "talking_head is not supported (scores "
                        "and probabilities mixed across heads)");
    c->layer_norm_eps = (float)eps;
    c->rel_attention = rel;
    if (!rel)
        c->rel_c2p = c->rel_p2c = 0; /* the terms need relative_attention; the scale not */
    if (c->rel_max < 1)
        c->rel_max = c->max_positions;
    c->rel_span = c->rel_max, c->rel_buckets = 0;
    return MHV_OK;
}

static mhv_status deberta_config(const cJSON *root, mhv_config *c, const char *name,
                                 mhv_error *err)
{
    if (is_v1(c))
        return v1_config(root, c, name, err);
    mhv_status st;
    double eps;
    int rel = 0, conv = 0, head_size;
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       1536, 24, 24, 6144, 128100, 512};
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (st = mhv_json_int(root, "type_vocab_size", 0, 0, 1024, &c->type_vocab_size, name,
                           err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", 1e-7, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "relative_attention", 0, &rel, name, err)) ||
        (st = mhv_json_bool(root, "position_biased_input", 1, &c->pos_input, name, err)) ||
        (st = mhv_json_bool(root, "share_att_key", 0, &c->rel_share_key, name, err)) ||
        (st = mhv_json_int(root, "max_relative_positions", -1, -1, MHV_MAX_POSITIONS,
                           &c->rel_max, name, err)) ||
        (st = mhv_json_int(root, "position_buckets", -1, -1, MHV_MAX_POSITIONS,
                           &c->rel_buckets, name, err)) ||
        (st = mhv_json_int(root, "conv_kernel_size", 0, 0, 1024, &conv, name, err)))
        return st;
    c->layer_norm_eps = (float)eps;
    if ((st = mhv_json_int(root, "attention_head_size", c->hidden_size / c->num_heads, 1,
                           MHV_MAX_HIDDEN, &head_size, name, err)))
        return st;
    if (head_size != c->hidden_size / c->num_heads)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "attention_head_size %d is not supported "
                        "(only hidden_size / num_attention_heads)", head_size);
    if (conv > 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "conv_kernel_size %d is not supported (the convolution after the first "
                        "layer of DeBERTa-v2-xlarge)", conv);
    if ((st = mhv_json_int(root, "embedding_size", c->hidden_size, 1, MHV_MAX_HIDDEN,
                           &c->embedding_size, name, err)))
        return st;
    static const mhv_disent_defaults def = {0, 0, "none"}; /* DebertaV2Config's */
    return mhv_disent_config(root, rel, &def, c, name, err);
}

static size_t deberta_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    /* v1: q_bias, v_bias and the fused bias made of them (3H) in place of three biases */
    return 4 * H + (size_t)c->num_layers * ((is_v1(c) ? 12 : 11) * H +
                                            (size_t)c->intermediate_size);
}

/* v1's layer l: the fused in_proj with the bias [q_bias, 0, v_bias] per head (transformers
 * adds them after the projection), Kr's and Qr's projections, then BERT's sublayers. */
static mhv_status v1_load_layer(mhv_wload *ld, const mhv_config *c, int l, mhv_layer *ly,
                                mhv_error *err)
{
    int H = c->hidden_size, I = c->intermediate_size;
    size_t d = (size_t)c->head_dim;
    char n[160];
#define N(suffix) (snprintf(n, sizeof n, "encoder.layer.%d.%s", l, suffix), n)
    float *qb, *vb;
    mhv_status st;
    if ((st = mhv_wload_mat(ld, N("attention.self.in_proj.weight"), 3 * H, H, 0, &ly->qkv,
                            err)) ||
        (st = mhv_wload_vec(ld, N("attention.self.q_bias"), H, 0, &qb, err)) ||
        (st = mhv_wload_vec(ld, N("attention.self.v_bias"), H, 0, &vb, err)) ||
        (st = mhv_wload_zeros(ld, 3 * H, &ly->qkv_b, err)))
        return st;
    for (size_t h = 0; h < (size_t)c->num_heads; h++) {
        memcpy(ly->qkv_b + 3 * h * d, qb + h * d, d * sizeof *qb);
        memcpy(ly->qkv_b + (3 * h + 2) * d, vb + h * d, d * sizeof *vb);
    }
    ly->q = ly->qkv; /* the model's dtype is read from layer 0's q */
    if ((c->rel_c2p && (st = mhv_wload_mat(ld, N("attention.self.pos_proj.weight"), H, H, 0,
                                           &ly->pos_k, err))) ||
        (c->rel_p2c &&
         ((st = mhv_wload_mat(ld, N("attention.self.pos_q_proj.weight"), H, H, 0, &ly->pos_q,
                              err)) ||
          (st = mhv_wload_vec(ld, N("attention.self.pos_q_proj.bias"), H, 0, &ly->pos_q_b,
                              err)))) ||
        (st = mhv_wload_mat(ld, N("attention.output.dense.weight"), H, H, 0, &ly->o, err)) ||
        (st = mhv_wload_vec(ld, N("attention.output.dense.bias"), H, 0, &ly->o_b, err)) ||
        (st = mhv_wload_vec(ld, N("attention.output.LayerNorm.weight"), H, 0, &ly->ln_attn_g,
                            err)) ||
        (st = mhv_wload_vec(ld, N("attention.output.LayerNorm.bias"), H, 0, &ly->ln_attn_b,
                            err)) ||
        (st = mhv_wload_mat(ld, N("intermediate.dense.weight"), I, H, 0, &ly->ffn_up, err)) ||
        (st = mhv_wload_vec(ld, N("intermediate.dense.bias"), I, 0, &ly->ffn_up_b, err)) ||
        (st = mhv_wload_mat(ld, N("output.dense.weight"), H, I, 0, &ly->ffn_down, err)) ||
        (st = mhv_wload_vec(ld, N("output.dense.bias"), H, 0, &ly->ffn_down_b, err)) ||
        (st = mhv_wload_vec(ld, N("output.LayerNorm.weight"), H, 0, &ly->ln_ffn_g, err)) ||
        (st = mhv_wload_vec(ld, N("output.LayerNorm.bias"), H, 0, &ly->ln_ffn_b, err)))
        return st;
#undef N
    return MHV_OK;
}

static mhv_status deberta_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"deberta.", NULL}; /* Deberta(V2)For* heads */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, E = c->embedding_size;
    mhv_wload_prefix(ld, prefixes, "embeddings.word_embeddings.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embeddings.word_embeddings.weight", c->vocab_size, E, 0,
                            &m->word_emb, err)) ||
        (c->pos_input &&
         (st = mhv_wload_mat(ld, "embeddings.position_embeddings.weight", c->max_positions, E,
                             0, &m->pos_emb, err))) ||
        (c->type_vocab_size > 0 &&
         (st = mhv_wload_mat(ld, "embeddings.token_type_embeddings.weight", c->type_vocab_size,
                             E, 0, &m->type_emb, err))) ||
        (E != H && (st = mhv_wload_mat(ld, "embeddings.embed_proj.weight", H, E, 0, &m->emb_proj,
                                       err))) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.weight", H, 0, &m->emb_ln_g, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.bias", H, 0, &m->emb_ln_b, err)))
        return st;
    if ((st = mhv_disent_load_table(m, ld, "encoder.rel_embeddings.weight", "encoder.LayerNorm",
                                    err)))
        return st;
    static const mhv_dense_names names = {
        "attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj",
        "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
        "output.dense", "output.LayerNorm"};
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        if (is_v1(c)) {
            if ((st = v1_load_layer(ld, c, l, ly, err)))
                return st;
            continue;
        }
        char n[160];
        snprintf(n, sizeof n, "encoder.layer.%d.", l);
        if ((st = mhv_layer_load_dense(ld, n, &names, H, I, ly, err)) ||
            (st = mhv_disent_load_layer(ld, c, n, ly, err)))
            return st;
    }
    return MHV_OK;
}

static mhv_status deberta_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                  mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (logits)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "logits need a decoder model, not %s",
                        c->arch);
    int H = c->hidden_size, I = c->intermediate_size, E = c->embedding_size, d = c->head_dim;
    int rel = c->rel_c2p || c->rel_p2c;
    mhv_disent_pass pass;
    mhv_status st = mhv_disent_begin(c, n, &pass, err);
    if (st)
        return st;
    int rows = pass.rows;
    size_t nh = (size_t)n * (size_t)H, rh = (size_t)rows * (size_t)H;
    float *emb;                       /* (n, E) embeddings before embed_proj */
    float *x, *q, *k, *v, *ctx, *tmp; /* (n, H) each */
    float *ffn;                       /* (n, I) */
    float *relE, *pos_k, *pos_q;      /* (rows, H): relative embeddings, Kr, Qr */
    float *qkv = NULL;                /* (n, 3H) v1's fused projection */
    const mhv_nn_buf bufs[] = {{&emb, (size_t)n * (size_t)E}, {&x, nh}, {&q, nh}, {&k, nh},
                               {&v, nh}, {&ctx, nh}, {&tmp, nh}, {&ffn, (size_t)n * (size_t)I},
                               {&relE, rh}, {&pos_k, rh}, {&pos_q, rh}, {&qkv, 3 * nh}};
    int widest = I > H ? I : H, v1 = is_v1(c);
    mhv_nn_shape shape = {rows > n ? rows : n, E > H ? E : H, E > widest ? E : widest, d};
    /* qkv, the last, for v1 only */
    st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]) - !v1, err);
    if (!st && rel)
        st = mhv_nn_reserve_bias(nn, n, err);
    if (st) {
        mhv_disent_end(&pass);
        return st;
    }

    /* word + position + type (as transformers adds them), embed_proj, then the LayerNorm */
    mhv_norm emb_ln = {MHV_NORM_LAYER, m->emb_ln_g, m->emb_ln_b, c->layer_norm_eps};
    mhv_embed e = {.tok = &m->word_emb, .pos = c->pos_input ? &m->pos_emb : NULL,
                   .type = c->type_vocab_size > 0 ? &m->type_emb : NULL,
                   .norm = E == H ? &emb_ln : NULL, .pad_id = -1, .pos_first = 1};
    if (E == H) {
        mhv_nn_embed(nn, x, &e, ids, n, H);
    } else {
        mhv_nn_embed(nn, emb, &e, ids, n, E);
        mhv_nn_linear(nn, x, emb, &m->emb_proj, NULL, n, MHV_NN_NO_ACT);
        mhv_nn_norm(nn, x, x, &emb_ln, n, H);
    }
    mhv_disent_table(nn, m, &pass, relE);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_qkv_grouped fused = {&ly->qkv, ly->qkv_b};
        mhv_disent_attention(nn, c, ly, v1 ? &fused : NULL, &pass, relE, pos_k, pos_q, x, l,
                             &(mhv_attn_bufs){.q = q, .k = k, .v = v, .ctx = ctx, .qkv = qkv},
                             cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_layer_post_norm(nn, ly, c, x, ctx, tmp, ffn, n);
    }
    mhv_disent_end(&pass);
    return MHV_OK;
}

/* The relative-position table's rows (Kr, Qr) are as many as the pass's length reaches. */
static int deberta_packs(const mhv_config *c)
{
    return c->rel_c2p || c->rel_p2c ? MHV_PACKS_ANY_ROWS : MHV_PACKS_ROWS;
}

const mhv_family mhv_family_deberta = {
    .name = "deberta",
    .model_types = model_types,
    .config = deberta_config,
    .vector_floats = deberta_vector_floats,
    .load = deberta_load,
    .forward = deberta_forward,
    .packs = deberta_packs,
};
