/* bloom.c - BLOOM (BloomModel, BloomForCausalLM): ALiBi instead of positions (a per-head
 * linear bias slope_h * j on the score of key j), a LayerNorm right after the embeddings,
 * one fused query_key_value laid out per head ([q, k, v] of head 0, then head 1 ...),
 * sequential pre-LN layers, an MLP of 4 x hidden with BLOOM's tanh GELU.
 *
 *   x = LN_emb(word_embeddings[id])
 *   per layer: h = ln_1(x);  x = dense(attn(h)) + r;  h = ln_2(x);  x = mlp(h) + r
 *              (r: the layer input, or h with apply_residual_connection_post_layernorm)
 *   scores(i, j) = q_i k_j / sqrt(d) + slope_h * j   (causal)
 *   logits = ln_f(x) · word_embeddings^T */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"bloom", NULL};

static mhv_status int_alias(const cJSON *root, const char *key, const char *alias, int def,
                            int hi, int *out, const char *name, mhv_error *err)
{
    if (!mhv_json_get(root, key) && mhv_json_get(root, alias))
        key = alias;
    return mhv_json_int(root, key, def, 1, hi, out, name, err);
}

static mhv_status bloom_config(const cJSON *root, mhv_config *c, const char *name,
                               mhv_error *err)
{
    mhv_status st;
    /* BloomConfig: n_layer and n_head, also read as num_hidden_layers / num_attention_heads;
     * n_embed is an older hidden_size */
    if ((st = int_alias(root, "hidden_size", "n_embed", 64, MHV_MAX_HIDDEN, &c->hidden_size,
                        name, err)) ||
        (st = int_alias(root, "n_layer", "num_hidden_layers", 2, MHV_MAX_LAYERS, &c->num_layers,
                        name, err)) ||
        (st = int_alias(root, "n_head", "num_attention_heads", 8, MHV_MAX_HEADS, &c->num_heads,
                        name, err)) ||
        (st = mhv_json_int(root, "vocab_size", 250880, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)))
        return st;
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "n_head %d does not divide hidden_size %d",
                        c->num_heads, c->hidden_size);
    c->head_dim = c->hidden_size / c->num_heads;
    c->num_kv_heads = c->num_heads;
    c->intermediate_size = 4 * c->hidden_size;
    c->max_positions = MHV_MAX_POSITIONS; /* ALiBi has no table of positions */
    double eps;
    if ((st = mhv_json_num(root, "layer_norm_epsilon", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_json_bool(root, "apply_residual_connection_post_layernorm", 0,
                            &c->residual_post_norm, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)))
        return st;
    c->layer_norm_eps = (float)eps;
    c->act = MHV_ACT_GELU_NEW; /* BloomGelu: the tanh approximation */
    c->attn_bias = c->attn_out_bias = c->mlp_bias = 1;
    c->causal = 1;
    return MHV_OK;
}

static size_t bloom_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 4 * H + (size_t)c->num_layers * 13 * H;
}

static mhv_status bloom_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"transformer.", NULL}; /* BloomForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    mhv_wload_prefix(ld, prefixes, "word_embeddings.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "word_embeddings.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "word_embeddings_layernorm.weight", H, 0, &m->emb_ln_g, err)) ||
        (st = mhv_wload_vec(ld, "word_embeddings_layernorm.bias", H, 0, &m->emb_ln_b, err)) ||
        (st = mhv_wload_vec(ld, "ln_f.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_vec(ld, "ln_f.bias", H, 0, &m->norm_b, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "h.%d.%s", l, suffix), n)
        if ((st = mhv_wload_vec(ld, N("input_layernorm.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, N("input_layernorm.bias"), H, 0, &ly->ln_attn_b, err)) ||
            (st = mhv_wload_mat(ld, N("self_attention.query_key_value.weight"), 3 * H, H, 0,
                                &ly->qkv, err)) ||
            (st = mhv_wload_vec(ld, N("self_attention.query_key_value.bias"), 3 * H, 0,
                                &ly->qkv_b, err)) ||
            (st = mhv_wload_mat(ld, N("self_attention.dense.weight"), H, H, 0, &ly->o, err)) ||
            (st = mhv_wload_vec(ld, N("self_attention.dense.bias"), H, 0, &ly->o_b, err)) ||
            (st = mhv_wload_vec(ld, N("post_attention_layernorm.weight"), H, 0, &ly->ln_ffn_g,
                                err)) ||
            (st = mhv_wload_vec(ld, N("post_attention_layernorm.bias"), H, 0, &ly->ln_ffn_b,
                                err)) ||
            (st = mhv_wload_mat(ld, N("mlp.dense_h_to_4h.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.dense_h_to_4h.bias"), I, 0, &ly->ffn_up_b, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.dense_4h_to_h.weight"), H, I, 0, &ly->ffn_down,
                                err)) ||
            (st = mhv_wload_vec(ld, N("mlp.dense_4h_to_h.bias"), H, 0, &ly->ffn_down_b, err)))
            return st;
#undef N
        ly->q = ly->qkv; /* the model's dtype is read from layer 0's q */
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

/* The score bias of head h: b(i, j) = slope_h * j (masked above the diagonal anyway), the
 * same for every query. */
static void alibi_bias(const void *ctx, int h, int q0, int n, int keys, float *b)
{
    (void)q0;
    float s = ((const float *)ctx)[h];
    for (int j = 0; j < keys; j++)
        b[j] = s * (float)j;
    for (int i = 1; i < n; i++)
        memcpy(b + (size_t)i * (size_t)keys, b, (size_t)keys * sizeof *b);
}

static mhv_status bloom_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const mhv_decoder dec = {
        MHV_NORM_LAYER, c->residual_post_norm ? MHV_RESIDUAL_NORMED : MHV_RESIDUAL_SEQUENTIAL,
        MHV_MLP_PLAIN, NULL,
    };
    float *slopes; /* (heads,) */
    mhv_decoder_scratch s = {
        .qkv_rows = 3 * c->hidden_size,
        .extra = {{&slopes, (size_t)c->num_heads}},
    };
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (!st)
        st = mhv_nn_reserve_bias(nn, n, err);
    if (st)
        return st;
    mhv_family_alibi_slopes(c->num_heads, slopes);

    mhv_norm emb_ln = mhv_nn_layernorm(m->emb_ln_g, m->emb_ln_b, c->layer_norm_eps);
    mhv_embed emb = {.tok = &m->word_emb, .norm = &emb_ln, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_qkv_grouped fused = {&ly->qkv, ly->qkv_b};
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.fused = &fused, attn.causal = 1, attn.bias_pos = alibi_bias, attn.bias_ctx = slopes;
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_bloom = {
    .name = "bloom",
    .model_types = model_types,
    .config = bloom_config,
    .vector_floats = bloom_vector_floats,
    .load = bloom_load,
    .forward = bloom_forward,
    .packs = mhv_family_packs_always,
};
