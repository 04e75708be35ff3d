/* gpt_bigcode.c - GPTBigCode (StarCoder, SantaCoder; GPTBigCodeModel, GPTBigCodeForCausalLM):
 * GPT-2's shape with Linear layers and, with multi_query, one key/value head: c_attn's rows
 * are [all Q; K; V] (three row blocks), else [q, k, v] per head (mhv_qkv_grouped, group 1).
 *
 *   x = wte[id] + wpe[i]
 *   per layer: x += c_proj(attn(ln_1(x)));  x += mlp.c_proj(act(c_fc(ln_2(x))))
 *   logits = ln_f(x) · lm_head^T */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

#include "base/dtype.h"
#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"gpt_bigcode", NULL};

static mhv_status bigcode_config(const cJSON *root, mhv_config *c, const char *name,
                                 mhv_error *err)
{
    mhv_status st;
    int mq, scale, cross;
    if ((st = mhv_json_int(root, "n_embd", 768, 1, MHV_MAX_HIDDEN, &c->hidden_size, name,
                           err)) ||
        (st = mhv_json_int(root, "n_layer", 12, 1, MHV_MAX_LAYERS, &c->num_layers, name, err)) ||
        (st = mhv_json_int(root, "n_head", 12, 1, MHV_MAX_HEADS, &c->num_heads, name, err)) ||
        (st = mhv_json_int(root, "vocab_size", 50257, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, "n_positions", 1024, 1, MHV_MAX_POSITIONS, &c->max_positions,
                           name, err)) ||
        (st = mhv_json_bool(root, "multi_query", 1, &mq, name, err)) ||
        (st = mhv_json_bool(root, "scale_attn_weights", 1, &scale, name, err)) ||
        (st = mhv_json_bool(root, "add_cross_attention", 0, &cross, name, err)))
        return st;
    if (cross)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "add_cross_attention is not supported");
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "n_head %d does not divide n_embd %d",
                        c->num_heads, c->hidden_size);
    /* n_inner null means 4 * n_embd */
    if ((st = mhv_json_int(root, "n_inner", 4 * c->hidden_size, 1, 4 * MHV_MAX_HIDDEN,
                           &c->intermediate_size, name, err)))
        return st;
    c->head_dim = c->hidden_size / c->num_heads;
    c->num_kv_heads = mq ? 1 : c->num_heads;
    c->kv_heads = mq;
    c->attn_scale = scale ? 1.0 / sqrt((double)c->head_dim) : 1.0;
    double eps;
    if ((st = mhv_json_num(root, "layer_norm_epsilon", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "activation_function", MHV_ACT_GELU_NEW, &c->act, name,
                             err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)))
        return st;
    c->layer_norm_eps = (float)eps;
    c->attn_bias = c->attn_out_bias = c->mlp_bias = 1;
    c->causal = 1;
    return MHV_OK;
}

static size_t bigcode_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    size_t QKV = H + 2 * (size_t)c->num_kv_heads * (size_t)c->head_dim;
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

static mhv_status bigcode_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"transformer.", NULL}; /* GPTBigCodeForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size, d = c->head_dim;
    int mq = c->num_kv_heads == 1 && c->num_heads > 1;
    int QKV = H + 2 * c->num_kv_heads * d;
    mhv_wload_prefix(ld, prefixes, "wte.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "wte.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_mat(ld, "wpe.weight", c->max_positions, H, 0, &m->pos_emb, err)) ||
        (st = mhv_wload_vec(ld, "ln_f.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_vec(ld, "ln_f.bias", H, 0, &m->norm_b, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "h.%d.%s", l, suffix), n)
        if ((st = mhv_wload_vec(ld, N("ln_1.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, N("ln_1.bias"), H, 0, &ly->ln_attn_b, err)) ||
            (st = mhv_wload_mat(ld, N("attn.c_attn.weight"), QKV, H, 0, &ly->qkv, err)) ||
            (st = mhv_wload_vec(ld, N("attn.c_attn.bias"), QKV, 0, &ly->qkv_b, err)) ||
            (st = mhv_wload_mat(ld, N("attn.c_proj.weight"), H, H, 0, &ly->o, err)) ||
            (st = mhv_wload_vec(ld, N("attn.c_proj.bias"), H, 0, &ly->o_b, err)) ||
            (st = mhv_wload_vec(ld, N("ln_2.weight"), H, 0, &ly->ln_ffn_g, err)) ||
            (st = mhv_wload_vec(ld, N("ln_2.bias"), H, 0, &ly->ln_ffn_b, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.c_fc.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.c_fc.bias"), I, 0, &ly->ffn_up_b, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.c_proj.weight"), H, I, 0, &ly->ffn_down, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.c_proj.bias"), H, 0, &ly->ffn_down_b, err)))
            return st;
#undef N
        if (mq) { /* [all Q; K; V] */
            ly->q = row_block(&ly->qkv, 0, H);
            ly->k = row_block(&ly->qkv, H, d);
            ly->v = row_block(&ly->qkv, H + d, d);
            ly->q_b = ly->qkv_b, ly->k_b = ly->qkv_b + H, ly->v_b = ly->qkv_b + H + d;
        } else {
            ly->q = ly->qkv; /* the model's dtype is read from layer 0's q */
        }
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status bigcode_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                  mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int mq = c->num_kv_heads == 1 && c->num_heads > 1;
    const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_PLAIN, NULL};
    /* the fused projection's rows, per-head layout; multi-query reads its three blocks */
    mhv_decoder_scratch s = {
        .qkv_rows = mq ? 0 : c->hidden_size + 2 * c->num_kv_heads * c->head_dim,
    };
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (st)
        return st;

    mhv_embed emb = {.tok = &m->word_emb, .pos = &m->pos_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_qkv_grouped fused = {&ly->qkv, ly->qkv_b};
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.fused = mq ? NULL : &fused;
        attn.scale = (float)c->attn_scale;
        attn.causal = 1;
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_gpt_bigcode = {
    .name = "gpt_bigcode",
    .model_types = model_types,
    .config = bigcode_config,
    .vector_floats = bigcode_vector_floats,
    .load = bigcode_load,
    .forward = bigcode_forward,
    .packs = mhv_family_packs_always,
};
