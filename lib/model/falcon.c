/* falcon.c - Falcon (FalconModel, FalconForCausalLM): rotary positions, LayerNorm, one fused
 * query_key_value matrix in one of three layouts, parallel attention and MLP.
 *
 *   query_key_value rows: new_decoder_architecture: per key/value head, its group of query
 *   heads, its key, its value (mhv_qkv_grouped); multi_query: all queries, one key, one
 *   value (three row blocks); otherwise [q, k, v] per head (grouped, group 1).
 *   x = word_embeddings[id]
 *   parallel:   x = x + (mlp(ln_mlp(x)) + attn(ln_attn(x)))  (one input_layernorm for both
 *               unless new_decoder_architecture with num_ln_in_parallel_attn 2)
 *   sequential: x += attn(input_layernorm(x));  x += mlp(post_attention_layernorm(x))
 *   logits = ln_f(x) · lm_head^T
 * With alibi (Falcon-RW) positions are ALiBi's instead of rotary: the score of key j gains
 * bf16(bf16(slope_h) * j) / sqrt(d), rounded as transformers does. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/dtype.h"
#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"falcon", NULL};

/* c->qkv_layout: how query_key_value's rows are laid out */
enum { FALCON_QKV_GROUPED = 1, FALCON_QKV_MULTI_QUERY };

/* An int under `key`, or else under its older name `alias` (n_layer, n_head, n_embed). */
static mhv_status int_alias(const cJSON *root, const char *key, const char *alias, int def,
                            int hi, int *out, const char *name, mhv_error *err)
{
    if (!mhv_json_get(root, key) && mhv_json_get(root, alias))
        key = alias;
    return mhv_json_int(root, key, def, 1, hi, out, name, err);
}

static mhv_status falcon_config(const cJSON *root, mhv_config *c, const char *name,
                                mhv_error *err)
{
    mhv_status st;
    int alibi, new_arch, mq, ln_count;
    if ((st = int_alias(root, "hidden_size", "n_embed", 4544, MHV_MAX_HIDDEN, &c->hidden_size,
                        name, err)) ||
        (st = int_alias(root, "num_hidden_layers", "n_layer", 32, MHV_MAX_LAYERS,
                        &c->num_layers, name, err)) ||
        (st = int_alias(root, "num_attention_heads", "n_head", 71, MHV_MAX_HEADS,
                        &c->num_heads, name, err)) ||
        (st = mhv_json_int(root, "vocab_size", 65024, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, "max_position_embeddings", 2048, 1, MHV_MAX_POSITIONS,
                           &c->max_positions, name, err)) ||
        (st = mhv_json_bool(root, "alibi", 0, &alibi, name, err)) ||
        (st = mhv_json_bool(root, "new_decoder_architecture", 0, &new_arch, name, err)) ||
        (st = mhv_json_bool(root, "multi_query", 1, &mq, name, err)) ||
        (st = mhv_json_bool(root, "parallel_attn", 1, &c->parallel_residual, name, err)) ||
        (st = mhv_json_bool(root, "bias", 0, &c->attn_bias, name, err)))
        return st;
    c->alibi = alibi;
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "num_attention_heads %d does not divide hidden_size %d", c->num_heads,
                        c->hidden_size);
    c->head_dim = c->hidden_size / c->num_heads;
    if (!alibi && c->head_dim % 2 != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "head size %d is odd; rotary embeddings need pairs",
                        c->head_dim);
    if ((st = mhv_json_int(root, "num_kv_heads", c->num_heads, 1, MHV_MAX_HEADS,
                           &c->num_kv_heads, name, err)) ||
        (st = mhv_json_int(root, "ffn_hidden_size", 4 * c->hidden_size, 1, 4 * MHV_MAX_HIDDEN,
                           &c->intermediate_size, name, err)) ||
        (st = mhv_json_int(root, "num_ln_in_parallel_attn", new_arch ? 2 : 1, 1, 2, &ln_count,
                           name, err)))
        return st;
    if (new_arch) {
        if (c->num_heads % c->num_kv_heads != 0)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "num_kv_heads %d does not divide num_attention_heads %d",
                            c->num_kv_heads, c->num_heads);
        if (!c->parallel_residual)
            return mhv_fail(err, MHV_EUNSUPPORTED, name,
                            "new_decoder_architecture without parallel_attn is not supported");
        c->qkv_layout = FALCON_QKV_GROUPED;
        c->split_norms = ln_count == 2;
    } else if (mq) {
        c->num_kv_heads = 1;
        c->qkv_layout = FALCON_QKV_MULTI_QUERY;
    } else {
        if (c->num_kv_heads != c->num_heads)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "num_kv_heads %d differs from num_attention_heads %d without "
                            "new_decoder_architecture or multi_query",
                            c->num_kv_heads, c->num_heads);
        c->qkv_layout = FALCON_QKV_GROUPED;
    }
    double eps;
    if ((st = mhv_json_num(root, "layer_norm_epsilon", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "activation", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (!alibi && (st = mhv_config_rope(root, &c->rope, name, err))))
        return st;
    c->layer_norm_eps = (float)eps;
    c->attn_out_bias = c->mlp_bias = c->attn_bias;
    c->kv_heads = 1;
    c->causal = 1;
    return MHV_OK;
}

static size_t falcon_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QKV = (size_t)(c->num_heads + 2 * c->num_kv_heads) *
                                                 (size_t)c->head_dim;
    return 2 * H + (size_t)c->num_layers * (6 * H + QKV + (size_t)c->intermediate_size);
}

/* Rows r0..r0+rows of m, a matrix in PyTorch layout. */
static mhv_mat row_block(const mhv_mat *m, int r0, int rows)
{
    mhv_mat b = *m;
    b.data = (const char *)m->data + (size_t)r0 * (size_t)m->cols * mhv_dtype_size(m->dtype);
    b.rows = rows;
    return b;
}

static mhv_status falcon_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"transformer.", NULL}; /* FalconForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size, d = c->head_dim;
    int QKV = (c->num_heads + 2 * c->num_kv_heads) * d;
    int b = c->attn_bias ? 0 : MHV_W_OPTIONAL;
    mhv_wload_prefix(ld, prefixes, "word_embeddings.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "word_embeddings.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "ln_f.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_vec(ld, "ln_f.bias", H, 0, &m->norm_b, err)))
        return st;
    /* the norms' names: ln_attn/ln_mlp, else input_layernorm (and post_attention_layernorm
     * when sequential) */
    const char *ln1 = c->split_norms ? "ln_attn" : "input_layernorm";
    const char *ln2 = c->split_norms       ? "ln_mlp"
                      : c->parallel_residual ? NULL
                                             : "post_attention_layernorm";
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160], sfx[64];
#define N(suffix) (snprintf(n, sizeof n, "h.%d.%s", l, suffix), n)
#define NL(ln, part) (snprintf(sfx, sizeof sfx, "%s.%s", ln, part), N(sfx))
#define BIAS(suffix, len, dst) (!b && (st = mhv_wload_vec(ld, N(suffix), len, 0, dst, err)))
        if ((st = mhv_wload_vec(ld, NL(ln1, "weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, NL(ln1, "bias"), H, 0, &ly->ln_attn_b, err)) ||
            (ln2 && ((st = mhv_wload_vec(ld, NL(ln2, "weight"), H, 0, &ly->ln_ffn_g, err)) ||
                     (st = mhv_wload_vec(ld, NL(ln2, "bias"), H, 0, &ly->ln_ffn_b, err)))) ||
            (st = mhv_wload_mat(ld, N("self_attention.query_key_value.weight"), QKV, H, 0,
                                &ly->qkv, err)) ||
            BIAS("self_attention.query_key_value.bias", QKV, &ly->qkv_b) ||
            (st = mhv_wload_mat(ld, N("self_attention.dense.weight"), H, H, 0, &ly->o, err)) ||
            BIAS("self_attention.dense.bias", H, &ly->o_b) ||
            (st = mhv_wload_mat(ld, N("mlp.dense_h_to_4h.weight"), I, H, 0, &ly->ffn_up, err)) ||
            BIAS("mlp.dense_h_to_4h.bias", I, &ly->ffn_up_b) ||
            (st = mhv_wload_mat(ld, N("mlp.dense_4h_to_h.weight"), H, I, 0, &ly->ffn_down,
                                err)) ||
            BIAS("mlp.dense_4h_to_h.bias", H, &ly->ffn_down_b))
            return st;
#undef BIAS
#undef NL
#undef N
        if (!ln2) { /* one norm read by both blocks */
            ly->ln_ffn_g = ly->ln_attn_g;
            ly->ln_ffn_b = ly->ln_attn_b;
        }
        if (c->qkv_layout == FALCON_QKV_MULTI_QUERY) { /* [all Q; K; V] */
            ly->q = row_block(&ly->qkv, 0, H);
            ly->k = row_block(&ly->qkv, H, d);
            ly->v = row_block(&ly->qkv, H + d, d);
            if (ly->qkv_b)
                ly->q_b = ly->qkv_b, ly->k_b = ly->qkv_b + H, ly->v_b = ly->qkv_b + H + d;
        } else {
            ly->q = ly->qkv; /* the model's dtype is read from layer 0's q */
        }
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

/* f rounded to bfloat16 (to nearest, ties to even) */
static float bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    memcpy(&f, &u, sizeof f);
    return f;
}

typedef struct {
    const float *slopes; /* (heads,) bf16-rounded */
    float sqrt_d;
} alibi_ctx;

/* The ALiBi score bias of head h: b(i, j) = bf16(slope_h * j) / sqrt(d), the same for every
 * query. */
static void alibi_bias(const void *ctx, int h, int q0, int n, int keys, float *b)
{
    (void)q0;
    const alibi_ctx *a = ctx;
    for (int j = 0; j < keys; j++)
        b[j] = bf16(a->slopes[h] * (float)j) / a->sqrt_d;
    for (int i = 1; i < n; i++)
        memcpy(b + (size_t)i * (size_t)keys, b, (size_t)keys * sizeof *b);
}

static mhv_status falcon_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                 mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int d = c->head_dim, half = c->alibi ? 0 : d / 2;
    mhv_residual residual = !c->parallel_residual ? MHV_RESIDUAL_SEQUENTIAL
                            : c->split_norms      ? MHV_RESIDUAL_PARALLEL
                                                  : MHV_RESIDUAL_PARALLEL_ONE_NORM;
    const mhv_decoder dec = {MHV_NORM_LAYER, residual, MHV_MLP_PLAIN, NULL};
    float *slopes; /* (heads,) ALiBi */
    mhv_decoder_scratch s = {
        .qkv_rows = (c->num_heads + 2 * c->num_kv_heads) * d,
        .rope_half = half,
        .extra = {{&slopes, c->alibi ? (size_t)c->num_heads : 0}},
    };
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (!st && c->alibi)
        st = mhv_nn_reserve_bias(nn, n, err);
    if (st)
        return st;
    mhv_rotary rot = mhv_decoder_rope(&p, &c->rope, d, 0); /* none with ALiBi */
    alibi_ctx ac = {slopes, (float)sqrt((double)d)};
    if (c->alibi) {
        mhv_family_alibi_slopes(c->num_heads, slopes);
        for (int h = 0; h < c->num_heads; h++)
            slopes[h] = bf16(slopes[h]);
    }

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_qkv_grouped fused = {&ly->qkv, ly->qkv_b};
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.fused = c->qkv_layout == FALCON_QKV_GROUPED ? &fused : NULL;
        attn.causal = 1;
        attn.rope = c->alibi ? NULL : &rot;
        attn.bias_pos = c->alibi ? alibi_bias : NULL, attn.bias_ctx = &ac;
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_falcon = {
    .name = "falcon",
    .model_types = model_types,
    .config = falcon_config,
    .vector_floats = falcon_vector_floats,
    .load = falcon_load,
    .forward = falcon_forward,
    .packs = mhv_family_packs_always,
};
