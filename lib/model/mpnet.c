/* mpnet.c - MPNet (MPNetModel, MPNetForMaskedLM and the other *For* heads' mpnet. weights;
 * sentence-transformers' all-mpnet-base-v2): BERT's post-norm layers without token types,
 * positions as RoBERTa's, and T5's bidirectional relative position bias, one table for all
 * layers, added to every layer's scaled scores.
 *
 *   x = LN(tok[id] + pos[p(i)])          p: RoBERTa's rule with padding_idx 1
 *   per layer: x = LN1(x + O·(softmax(q k^T / sqrt(d) + bias) v));  x = LN2(x + ffn(x))
 *   bias[h][i][j] = rel[bucket(j - i)][h]  (32 buckets, max distance 128)
 * transformers' MPNetEmbeddings fixes padding_idx at 1 and MPNetEncoder computes the
 * buckets with its defaults, 32 and 128, whatever config.json says: so do we. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"mpnet", NULL};

enum {
    MPNET_PAD = 1,           /* MPNetEmbeddings.padding_idx */
    MPNET_BUCKETS = 32,      /* compute_position_bias's num_buckets */
    MPNET_MAX_DISTANCE = 128 /* relative_position_bucket's max_distance */
};

static mhv_status mpnet_config(const cJSON *root, mhv_config *c, const char *name,
                               mhv_error *err)
{
    mhv_status st;
    double eps;
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       768, 12, 12, 3072, 30527, 512};
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", 1e-12, 0, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_int(root, "relative_attention_num_buckets", 32, 1, 1 << 20,
                           &c->rel_pos_buckets, name, err)))
        return st;
    /* the table has relative_attention_num_buckets rows; transformers indexes it with up to
     * 32 buckets (an index error beyond a shorter table) */
    if (c->rel_pos_buckets < MPNET_BUCKETS)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "relative_attention_num_buckets %d is fewer than the %d buckets "
                        "transformers' MPNet reads", c->rel_pos_buckets, MPNET_BUCKETS);
    /* position rows 2 .. max_position_embeddings - 1 are the usable ones */
    if (c->max_positions <= MPNET_PAD + 1)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "max_position_embeddings %d leaves no position after the padding row %d",
                        c->max_positions, MPNET_PAD);
    c->layer_norm_eps = (float)eps;
    c->causal = 0;
    c->embedding_size = c->hidden_size;
    c->pad_positions = 1;
    c->pad_id = MPNET_PAD;
    c->pos_offset = MPNET_PAD + 1;
    c->max_positions -= c->pos_offset;
    c->rel_pos_max_distance = MPNET_MAX_DISTANCE;
    return MHV_OK;
}

static size_t mpnet_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 2 * H + (size_t)c->num_layers * (9 * H + (size_t)c->intermediate_size) + 3 * H +
           (size_t)c->vocab_size; /* the masked-LM head */
}

/* MPNetForMaskedLM's head when the checkpoint has one: lm_head.dense, gelu, lm_head.layer_norm,
 * lm_head.decoder (tied to the token embedding unless stored) plus lm_head.bias (saved as
 * lm_head.decoder.bias by some versions). */
static mhv_status load_mlm_head(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const mhv_mlm_names names = {
        "lm_head.dense.weight", "lm_head.dense.bias", "lm_head.layer_norm.weight",
        "lm_head.layer_norm.bias", "lm_head.bias", "lm_head.decoder.bias",
        "lm_head.decoder.weight",
    };
    /* MPNetLMHead: gelu whatever hidden_act says */
    return mhv_layer_load_mlm_head(m, ld, &names, MHV_ACT_GELU, err);
}

static mhv_status mpnet_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    static const char *const prefixes[] = {"mpnet.", NULL}; /* *For* heads */
    int H = c->hidden_size, I = c->intermediate_size;
    mhv_wload_prefix(ld, prefixes, "embeddings.word_embeddings.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embeddings.word_embeddings.weight", c->vocab_size, H, 0,
                            &m->word_emb, err)) ||
        (st = mhv_wload_mat(ld, "embeddings.position_embeddings.weight",
                            c->max_positions + c->pos_offset, H, 0, &m->pos_emb, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.weight", H, 0, &m->emb_ln_g, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.bias", H, 0, &m->emb_ln_b, err)) ||
        (st = mhv_wload_mat(ld, "encoder.relative_attention_bias.weight", c->rel_pos_buckets,
                            c->num_heads, 0, &m->layers[0].rel_bias, err)))
        return st;
    static const mhv_dense_names names = {
        "attention.attn.q", "attention.attn.k", "attention.attn.v", "attention.attn.o",
        "attention.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"};
    for (int l = 0; l < c->num_layers; l++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "encoder.layer.%d.", l);
        if ((st = mhv_layer_load_dense(ld, prefix, &names, H, I, &m->layers[l], err)))
            return st;
    }
    return load_mlm_head(m, ld, err);
}

/* What the score bias reads: the pass's buckets by distance, so that each sentence of a
 * packed pass (nn/blocks.h) takes the bias of its own length. */
typedef struct {
    const float *table;    /* (32, heads) the rows of the relative bias the buckets reach */
    const int32_t *bucket; /* bucket(delta) at bucket[delta], |delta| < the pass's tokens */
    int heads;
} rel_ctx;

/* b(n, n) = table[bucket(j - i)][h] */
static void rel_bias(const void *ctx, int h, const float *q, size_t ld_q, const float *k,
                     size_t ld_k, int n, float *b)
{
    (void)q, (void)ld_q, (void)k, (void)ld_k;
    const rel_ctx *r = ctx;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            b[(size_t)i * (size_t)n + (size_t)j] =
                r->table[(size_t)r->bucket[j - i] * (size_t)r->heads + (size_t)h];
}

static mhv_status mpnet_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (logits && !m->mlm_dense.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "no masked-LM head in the checkpoint "
                        "(MPNetForMaskedLM's lm_head): no logits");
    int H = c->hidden_size, I = c->intermediate_size, NH = c->num_heads;
    size_t nh = (size_t)n * (size_t)H;
    float *x, *q, *k, *v, *ctx, *tmp; /* (n, H) each */
    float *ffn;                       /* (n, I) */
    float *table;                     /* (32, heads) */
    float *bk;                        /* (2n - 1,) int32 buckets by distance */
    const mhv_nn_buf bufs[] = {{&x, nh}, {&q, nh}, {&k, nh}, {&v, nh}, {&ctx, nh}, {&tmp, nh},
                               {&ffn, (size_t)n * (size_t)I},
                               {&table, (size_t)MPNET_BUCKETS * (size_t)NH},
                               {&bk, 2 * (size_t)n - 1}};
    mhv_nn_shape shape = {n, H, I > H ? I : H, c->head_dim};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st || (st = mhv_nn_reserve_bias(nn, n, err)))
        return st;
    int32_t *bucket = (int32_t *)(void *)bk + (n - 1);
    for (int delta = -(n - 1); delta <= n - 1; delta++)
        bucket[delta] = mhv_family_t5_bucket(delta, 1, MPNET_BUCKETS, MPNET_MAX_DISTANCE);
    for (int r = 0; r < MPNET_BUCKETS; r++)
        mhv_mat_row(&m->layers[0].rel_bias, r, table + (size_t)r * (size_t)NH);
    rel_ctx rc = {table, bucket, NH};

    mhv_norm emb_ln = mhv_nn_layernorm(m->emb_ln_g, m->emb_ln_b, c->layer_norm_eps);
    mhv_embed e = {.tok = &m->word_emb, .pos = &m->pos_emb, .norm = &emb_ln,
                   .pos_offset = c->pos_offset, .pad_id = c->pad_id};
    mhv_nn_embed(nn, x, &e, ids, n, H);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.bias = rel_bias;
        attn.bias_ctx = &rc;
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

const mhv_family mhv_family_mpnet = {
    .name = "mpnet",
    .model_types = model_types,
    .config = mpnet_config,
    .vector_floats = mpnet_vector_floats,
    .load = mpnet_load,
    .forward = mpnet_forward,
    .packs = mhv_family_packs_always,
};
