/* roformer.c - RoFormer (RoFormerModel, RoFormerForMaskedLM and the other heads' roformer.
 * weights): BERT's post-norm layers without learned positions; instead each head's query and
 * key turn by the rotary positions of Su et al. 2021, pairs (2i, 2i+1) by the angle of
 * transformers' sinusoidal table (RoFormerSinusoidalPositionalEmbedding over head_dim).
 *
 *   x = LN(tok[id] + type[t])            (then embeddings_project when embedding_size differs)
 *   per layer: x = LN1(x + O·attn(rot(q), rot(k), v));  x = LN2(x + down(act(up(x))))
 *   (rotary_value: the values turn too)
 *   rot: (a, b) at pair i of position p -> (a cos - b sin, b cos + a sin), with
 *        sin = table[p][i], cos = table[p][d/2 + i]
 * The table is the checkpoint's encoder.embed_positions.weight (saved by transformers, in the
 * checkpoint's dtype) or, when the file has none, computed as transformers then computes it:
 * sin and cos of p / 10000^(2i/d) in double, rounded to fp32. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"roformer", NULL};

static mhv_status roformer_config(const cJSON *root, mhv_config *c, const char *name,
                                  mhv_error *err)
{
    mhv_status st;
    double eps;
    int is_decoder, cross;
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       768, 12, 12, 3072, 50000, 1536};
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (st = mhv_json_int(root, "type_vocab_size", 2, 1, 1024, &c->type_vocab_size, name,
                           err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", 1e-12, 0, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "rotary_value", 0, &c->rotary_value, name, err)) ||
        (st = mhv_json_bool(root, "is_decoder", 0, &is_decoder, name, err)) ||
        (st = mhv_json_bool(root, "add_cross_attention", 0, &cross, name, err)))
        return st;
    /* embedding_size: null means hidden_size, as RoFormerConfig sets it */
    const cJSON *es = mhv_json_get(root, "embedding_size");
    c->embedding_size = c->hidden_size;
    if (es && !cJSON_IsNull(es) &&
        (st = mhv_json_int(root, "embedding_size", c->hidden_size, 1, MHV_MAX_HIDDEN,
                           &c->embedding_size, name, err)))
        return st;
    if (is_decoder || cross)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "%s is not supported (the causal "
                        "decoder of RoFormerForCausalLM)", is_decoder ? "is_decoder" :
                        "add_cross_attention");
    if (c->head_dim % 2)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "head size %d is odd: rotary positions "
                        "turn pairs of dimensions", c->head_dim);
    c->layer_norm_eps = (float)eps;
    c->causal = 0;
    return MHV_OK;
}

static size_t roformer_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, E = (size_t)c->embedding_size;
    return 2 * E + H + (size_t)c->num_layers * (9 * H + (size_t)c->intermediate_size) +
           3 * H + (size_t)c->vocab_size; /* the masked-LM head */
}

static mhv_status roformer_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    static const char *const prefixes[] = {"roformer.", NULL}; /* RoFormerFor* heads */
    int H = c->hidden_size, I = c->intermediate_size, E = c->embedding_size;
    mhv_wload_prefix(ld, prefixes, "embeddings.word_embeddings.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embeddings.word_embeddings.weight", c->vocab_size, E, 0,
                            &m->word_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.token_type_embeddings.weight", c->type_vocab_size,
                            E, 0, &m->type_emb, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.weight", E, 0, &m->emb_ln_g, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.bias", E, 0, &m->emb_ln_b, err)) ||
        /* the sinusoidal table (positions, head_dim), in pos_emb; absent: computed */
        (st = mhv_wload_mat(ld, "encoder.embed_positions.weight", c->max_positions,
                            c->head_dim, MHV_W_OPTIONAL, &m->pos_emb, err)))
        return st;
    if (E != H &&
        ((st = mhv_wload_mat(ld, "embeddings_project.weight", H, E, 0, &m->emb_proj, err)) ||
         (st = mhv_wload_vec(ld, "embeddings_project.bias", H, 0, &m->emb_proj_b, err))))
        return st;
    static const mhv_dense_names names = {
        "attention.self.query", "attention.self.key", "attention.self.value",
        "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
        "output.dense", "output.LayerNorm"};
    for (int l = 0; l < c->num_layers; l++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "encoder.layer.%d.", l);
        if ((st = mhv_layer_load_dense(ld, prefix, &names, H, I, &m->layers[l], err)))
            return st;
    }
    if (E != H) /* the head's transform then maps to embedding_size: not read */
        return MHV_OK;
    /* RoFormerForMaskedLM's cls.predictions (hidden_act), decoder tied unless stored */
    mhv_mlm_names nm = {
        "cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
        "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
        "cls.predictions.bias", "cls.predictions.decoder.bias", "cls.predictions.decoder.weight",
    };
    if (!c->tie_word_embeddings)
        nm.bias = "cls.predictions.decoder.bias", nm.bias_alt = "cls.predictions.bias";
    return mhv_layer_load_mlm_head(m, ld, &nm, (int)c->act, err);
}

/* sin_t, cos_t (n, half): positions 0..n-1 of m's table, or of transformers' create_weight
 * (numpy's float64 angles p / 10000^(2i/d), their sin and cos rounded to fp32) without one;
 * row (2 half) is work space. */
static void rotary_table(const mhv_model *m, int n, int half, float *cos_t, float *sin_t,
                         float *row)
{
    int d = 2 * half;
    for (int p = 0; p < n; p++) {
        float *s = sin_t + (size_t)p * (size_t)half, *co = cos_t + (size_t)p * (size_t)half;
        if (m->pos_emb.data) {
            mhv_mat_row(&m->pos_emb, p, row);
            memcpy(s, row, (size_t)half * sizeof *s);
            memcpy(co, row + half, (size_t)half * sizeof *co);
            continue;
        }
        for (int i = 0; i < half; i++) {
            double angle = (double)p / pow(10000.0, (double)(2 * i) / (double)d);
            s[i] = (float)sin(angle);
            co[i] = (float)cos(angle);
        }
    }
}

static mhv_status roformer_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                   mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (logits && !m->mlm_dense.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "no masked-LM head in the checkpoint "
                        "(RoFormerForMaskedLM's cls.predictions with embedding_size equal to "
                        "hidden_size): no logits");
    int H = c->hidden_size, I = c->intermediate_size, E = c->embedding_size;
    int half = c->head_dim / 2;
    size_t nh = (size_t)n * (size_t)H, nr = (size_t)n * (size_t)half;
    float *emb;                       /* (n, E) embeddings before the projection */
    float *x, *q, *k, *v, *ctx, *tmp; /* (n, H) each */
    float *ffn;                       /* (n, I) */
    float *cos_t, *sin_t;             /* (n, half) the rotary table */
    float *row;                       /* (head_dim,) a row of the checkpoint's table */
    const mhv_nn_buf bufs[] = {{&x, nh}, {&q, nh}, {&k, nh}, {&v, nh}, {&ctx, nh}, {&tmp, nh},
                               {&ffn, (size_t)n * (size_t)I},
                               {&emb, E != H ? (size_t)n * (size_t)E : 0},
                               {&cos_t, nr}, {&sin_t, nr}, {&row, (size_t)c->head_dim}};
    int widest = I > H ? I : H;
    mhv_nn_shape shape = {n, E > H ? E : H, E > widest ? E : widest, c->head_dim};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st)
        return st;
    rotary_table(m, n, half, cos_t, sin_t, row);
    mhv_rotary rot = {cos_t, sin_t, half, 1, n};

    mhv_norm emb_ln = mhv_nn_layernorm(m->emb_ln_g, m->emb_ln_b, c->layer_norm_eps);
    mhv_embed e = {.tok = &m->word_emb, .type = &m->type_emb, .norm = &emb_ln, .pad_id = -1};
    if (E == H) {
        mhv_nn_embed(nn, x, &e, ids, n, H);
    } else {
        mhv_nn_embed(nn, emb, &e, ids, n, E);
        mhv_nn_linear(nn, x, emb, &m->emb_proj, m->emb_proj_b, n, MHV_NN_NO_ACT);
    }
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.rope = &rot;
        attn.rope_values = c->rotary_value;
        mhv_nn_attention(nn, &attn, x, n, l, &(mhv_attn_bufs){.q = q, .k = k, .v = v, .ctx = ctx},
                         cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_layer_post_norm(nn, ly, c, x, ctx, tmp, ffn, n);
    }
    if (logits) /* the masked-LM head over every position */
        mhv_layer_mlm_head(nn, m, x, tmp, q, logits, n);
    return MHV_OK;
}

const mhv_family mhv_family_roformer = {
    .name = "roformer",
    .model_types = model_types,
    .config = roformer_config,
    .vector_floats = roformer_vector_floats,
    .load = roformer_load,
    .forward = roformer_forward,
    .packs = mhv_family_packs_always,
};
