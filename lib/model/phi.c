/* phi.c - Phi-1, Phi-1.5 and Phi-2 (PhiModel, PhiForCausalLM): one LayerNorm read by both the
 * attention and the MLP (parallel), rotary positions on the first partial_rotary_factor of
 * each head (rotate-half pairs), biases on every projection, grouped-query heads when
 * num_key_value_heads says so, an LM head with a bias.
 *
 *   x = embed_tokens[id]
 *   per layer: h = input_layernorm(x);  x = (attn(h) + mlp(h)) + x
 *   attn: dense(softmax(rope(q) rope(k)^T / sqrt(d)) v),  mlp: fc2(act(fc1(h)))
 *   logits = final_layernorm(x) · lm_head^T + lm_head.bias
 * qk_layernorm: a LayerNorm of each query and key head before the rotation. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"phi", NULL};

static mhv_status phi_config(const cJSON *root, mhv_config *c, const char *name,
                             mhv_error *err)
{
    mhv_status st;
    int qk_ln;
    static const mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, 2048, 24, 32, 8192, 51200, 2048};
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_json_bool(root, "qk_layernorm", 0, &qk_ln, name, err)))
        return st;
    c->qk_norm = qk_ln ? MHV_QK_NORM_HEAD : MHV_QK_NORM_NONE;
    if ((st = mhv_json_int(root, "num_key_value_heads", c->num_heads, 1, MHV_MAX_HEADS,
                           &c->num_kv_heads, name, err)))
        return st;
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "num_attention_heads %d does not divide hidden_size %d", c->num_heads,
                        c->hidden_size);
    if (c->num_heads % c->num_kv_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "num_key_value_heads %d does not divide num_attention_heads %d",
                        c->num_kv_heads, c->num_heads);
    c->head_dim = c->hidden_size / c->num_heads;
    double eps;
    if ((st = mhv_json_num(root, "layer_norm_eps", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU_NEW, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_family_partial_rope(root, c->head_dim, "rope_theta", "partial_rotary_factor",
                                      0.5, &c->rope, &c->rotary_dims, name, err)))
        return st;
    c->layer_norm_eps = (float)eps;
    c->parallel_residual = 1;
    c->attn_bias = c->attn_out_bias = c->mlp_bias = 1;
    c->kv_heads = 1;
    c->causal = 1;
    return MHV_OK;
}

static size_t phi_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    return 2 * H + (size_t)c->vocab_size +
           (size_t)c->num_layers * (5 * H + 2 * KVD + (size_t)c->intermediate_size +
                                    4 * (size_t)c->head_dim);
}

static mhv_status phi_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* PhiForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    int KVD = c->num_kv_heads * c->head_dim;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "final_layernorm.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_vec(ld, "final_layernorm.bias", H, 0, &m->norm_b, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
        if ((st = mhv_wload_vec(ld, N("input_layernorm.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, N("input_layernorm.bias"), H, 0, &ly->ln_attn_b, err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.q_proj.weight"), H, H, 0, &ly->q, err)) ||
            (st = mhv_wload_vec(ld, N("self_attn.q_proj.bias"), H, 0, &ly->q_b, err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.k_proj.weight"), KVD, H, 0, &ly->k, err)) ||
            (st = mhv_wload_vec(ld, N("self_attn.k_proj.bias"), KVD, 0, &ly->k_b, err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.v_proj.weight"), KVD, H, 0, &ly->v, err)) ||
            (st = mhv_wload_vec(ld, N("self_attn.v_proj.bias"), KVD, 0, &ly->v_b, err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.dense.weight"), H, H, 0, &ly->o, err)) ||
            (st = mhv_wload_vec(ld, N("self_attn.dense.bias"), H, 0, &ly->o_b, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.fc1.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.fc1.bias"), I, 0, &ly->ffn_up_b, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.fc2.weight"), H, I, 0, &ly->ffn_down, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.fc2.bias"), H, 0, &ly->ffn_down_b, err)))
            return st;
        int d = c->head_dim;
        if (c->qk_norm &&
            ((st = mhv_wload_vec(ld, N("self_attn.q_layernorm.weight"), d, 0, &ly->q_norm_g,
                                 err)) ||
             (st = mhv_wload_vec(ld, N("self_attn.q_layernorm.bias"), d, 0, &ly->q_norm_b,
                                 err)) ||
             (st = mhv_wload_vec(ld, N("self_attn.k_layernorm.weight"), d, 0, &ly->k_norm_g,
                                 err)) ||
             (st = mhv_wload_vec(ld, N("self_attn.k_layernorm.bias"), d, 0, &ly->k_norm_b,
                                 err))))
            return st;
#undef N
    }
    /* a PhiModel saved alone has no head; the bias is the head's own even when tied */
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", "lm_head.bias", err);
}

static mhv_status phi_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                              mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int half = c->rotary_dims / 2;
    /* attention and MLP both read input_layernorm(x) */
    const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_PARALLEL_ONE_NORM, MHV_MLP_PLAIN, NULL};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &(mhv_decoder_scratch){.rope_half = half},
                                      &p, err);
    if (st)
        return st;
    mhv_rotary rot = mhv_decoder_rope(&p, &c->rope, 2 * half, 0);

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_norm qn = mhv_nn_layernorm(ly->q_norm_g, ly->q_norm_b, c->layer_norm_eps);
        mhv_norm kn = mhv_nn_layernorm(ly->k_norm_g, ly->k_norm_b, c->layer_norm_eps);
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.causal = 1, attn.rope = half ? &rot : NULL;
        attn.q_norm = c->qk_norm ? &qn : NULL, attn.k_norm = c->qk_norm ? &kn : NULL;
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab), lm_head's bias */
    return MHV_OK;
}

const mhv_family mhv_family_phi = {
    .name = "phi",
    .model_types = model_types,
    .config = phi_config,
    .vector_floats = phi_vector_floats,
    .load = phi_load,
    .forward = phi_forward,
    .packs = mhv_family_packs_always,
};
