/* nemotron.c - Nemotron (NemotronModel, NemotronForCausalLM; Nemotron-4, Minitron): LayerNorms
 * whose gain is 1 + weight (LayerNorm1P, with bias), rotary positions on the first
 * partial_rotary_factor (default 0.5) of each head, grouped-query attention, a plain MLP with
 * relu2 (relu(x)^2) by default; attention_bias on all four projections, mlp_bias on the two
 * of the MLP.
 *
 *   x = embed_tokens[id]
 *   per layer: x += o(attn(rope(q, k), v)(ln_1(x)));  x += down(relu2(up(ln_2(x))))
 *   logits = ln_f(x) · lm_head^T
 * The 1 + weight is folded into the fp32 copies of the gains at load, in fp32, as
 * transformers computes it. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"nemotron", NULL};

static mhv_status nemotron_config(const cJSON *root, mhv_config *c, const char *name,
                                  mhv_error *err)
{
    static const mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, 6144, 32, 48, 24576, 256000, 4096};
    mhv_status st;
    /* NemotronConfig leaves it None, on which transformers' attention fails */
    if (!mhv_json_get(root, "num_key_value_heads"))
        return mhv_fail(err, MHV_EFORMAT, name,
                        "num_key_value_heads is missing (nemotron needs it)");
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_config_gqa(root, 0, 0, c, name, err)))
        return st;
    double eps;
    int rot;
    if ((st = mhv_json_num(root, "norm_eps", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_RELU2, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "attention_bias", 0, &c->attn_bias, name, err)) ||
        (st = mhv_json_bool(root, "mlp_bias", 0, &c->mlp_bias, name, err)) ||
        (st = mhv_family_partial_rope(root, c->head_dim, "rope_theta", "partial_rotary_factor",
                                      0.5, &c->rope, &rot, name, err)))
        return st;
    if (rot < 2)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "partial_rotary_factor gives %d rotated dimensions (need 2 or more)", rot);
    c->rotary_dims = rot == c->head_dim ? 0 : rot;
    c->layer_norm_eps = (float)eps;
    c->attn_out_bias = c->attn_bias;
    c->causal = 1;
    return MHV_OK;
}

static size_t nemotron_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    /* the final norm; per layer two norms, the attention and MLP biases */
    return 2 * H + (size_t)c->num_layers * (6 * H + QD + 2 * KVD + (size_t)c->intermediate_size);
}

/* A LayerNorm1P's gain and bias: 1 + weight (in fp32), bias. */
static mhv_status norm_1p(mhv_wload *ld, const char *prefix, int len, float **g, float **b,
                          mhv_error *err)
{
    char w[200], bn[200];
    snprintf(w, sizeof w, "%s.weight", prefix), snprintf(bn, sizeof bn, "%s.bias", prefix);
    mhv_status st;
    if ((st = mhv_wload_vec(ld, w, len, 0, g, err)) || (st = mhv_wload_vec(ld, bn, len, 0, b, err)))
        return st;
    for (int i = 0; i < len; i++)
        (*g)[i] = (*g)[i] + 1.0f;
    return MHV_OK;
}

static mhv_status nemotron_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* NemotronForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    int QD = c->num_heads * c->head_dim, KVD = c->num_kv_heads * c->head_dim;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->word_emb, err)) ||
        (st = norm_1p(ld, "norm", H, &m->norm_g, &m->norm_b, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
        if ((st = norm_1p(ld, N("input_layernorm"), H, &ly->ln_attn_g, &ly->ln_attn_b, err)) ||
            (st = mhv_decoder_load_attn_proj(ld, l, H, QD, KVD, c->attn_bias, ly, err)) ||
            (st = norm_1p(ld, N("post_attention_layernorm"), H, &ly->ln_ffn_g, &ly->ln_ffn_b,
                          err)) ||
            (st = mhv_wload_mat(ld, N("mlp.up_proj.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.down_proj.weight"), H, I, 0, &ly->ffn_down, err)))
            return st;
        if (c->mlp_bias &&
            ((st = mhv_wload_vec(ld, N("mlp.up_proj.bias"), I, 0, &ly->ffn_up_b, err)) ||
             (st = mhv_wload_vec(ld, N("mlp.down_proj.bias"), H, 0, &ly->ffn_down_b, err))))
            return st;
#undef N
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status nemotron_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                   mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int rot = c->rotary_dims ? c->rotary_dims : c->head_dim; /* rotated dimensions */
    const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_PLAIN, NULL};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n,
                                      &(mhv_decoder_scratch){.rope_half = rot / 2}, &p, err);
    if (st)
        return st;
    mhv_rotary rope = mhv_decoder_rope(&p, &c->rope, rot, 0);

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        mhv_attn_layer attn = mhv_layer_attention(&m->layers[l], c);
        attn.causal = 1, attn.rope = &rope;
        if (mhv_layer_pre_norm(nn, &dec, c, &m->layers[l], &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_nemotron = {
    .name = "nemotron",
    .model_types = model_types,
    .config = nemotron_config,
    .vector_floats = nemotron_vector_floats,
    .load = nemotron_load,
    .forward = nemotron_forward,
    .packs = mhv_family_packs_always,
};
