/* persimmon.c - Persimmon (PersimmonModel, PersimmonForCausalLM; Persimmon-8B, the language
 * model of Fuyu): LayerNorms with bias, a fused query_key_value laid out [q, k, v] per head
 * (GPT-NeoX's, with biases), with qk_layernorm a LayerNorm of each query and key head (one
 * weight and bias for all heads) before the rotation, rotary positions on the first
 * partial_rotary_factor (default 0.5) of each head, a plain MLP with relu2 by default, biases
 * on every projection but the LM head.
 *
 *   x = embed_tokens[id]
 *   per layer: x += dense(attn(rope(qn(q)), rope(kn(k)), v)(ln_1(x)));
 *              x += dense_4h_to_h(relu2(dense_h_to_4h(ln_2(x))))
 *   logits = final_layernorm(x) · lm_head^T */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"persimmon", NULL};

static mhv_status persimmon_config(const cJSON *root, mhv_config *c, const char *name,
                                   mhv_error *err)
{
    static const mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, 4096, 36, 64, 16384, 262144,
                                        16384};
    mhv_status st;
    double eps;
    int qk, rot;
    if ((st = mhv_config_sizes(root, &sizes, 1, c, name, err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_RELU2, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "qk_layernorm", 1, &qk, name, err)) ||
        (st = mhv_family_partial_rope(root, c->head_dim, "rope_theta", "partial_rotary_factor",
                                      0.5, &c->rope, &rot, name, err)))
        return st;
    if (rot < 2)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "partial_rotary_factor gives %d rotated dimensions (need 2 or more)", rot);
    c->rotary_dims = rot == c->head_dim ? 0 : rot;
    c->qk_norm = qk ? MHV_QK_NORM_HEAD : MHV_QK_NORM_NONE;
    c->layer_norm_eps = (float)eps;
    c->attn_bias = c->attn_out_bias = c->mlp_bias = 1;
    c->causal = 1;
    return MHV_OK;
}

static size_t persimmon_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, d = (size_t)c->head_dim;
    /* the final norm; per layer two norms, the q/k norms, the qkv, dense and MLP biases */
    return 2 * H + (size_t)c->num_layers * (4 * H + 4 * d + 3 * H + 2 * H +
                                            (size_t)c->intermediate_size);
}

static mhv_status persimmon_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* PersimmonForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size, d = c->head_dim;
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
            (st = mhv_wload_mat(ld, N("self_attn.query_key_value.weight"), 3 * H, H, 0, &ly->qkv,
                                err)) ||
            (st = mhv_wload_vec(ld, N("self_attn.query_key_value.bias"), 3 * H, 0, &ly->qkv_b,
                                err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.dense.weight"), H, H, 0, &ly->o, err)) ||
            (st = mhv_wload_vec(ld, N("self_attn.dense.bias"), H, 0, &ly->o_b, err)) ||
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
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status persimmon_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                    mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int rot = c->rotary_dims ? c->rotary_dims : c->head_dim; /* rotated dimensions */
    const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_PLAIN, NULL};
    mhv_decoder_scratch s = {.rope_half = rot / 2, .qkv_rows = 3 * c->hidden_size};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (st)
        return st;
    mhv_rotary rope = mhv_decoder_rope(&p, &c->rope, rot, 0);

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_norm qn = mhv_nn_layernorm(ly->q_norm_g, ly->q_norm_b, c->layer_norm_eps);
        mhv_norm kn = mhv_nn_layernorm(ly->k_norm_g, ly->k_norm_b, c->layer_norm_eps);
        mhv_qkv_grouped qkv = {&ly->qkv, ly->qkv_b}; /* [q, k, v] per head */
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.fused = &qkv, attn.causal = 1, attn.rope = &rope;
        attn.q_norm = c->qk_norm ? &qn : NULL, attn.k_norm = c->qk_norm ? &kn : NULL;
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_persimmon = {
    .name = "persimmon",
    .model_types = model_types,
    .config = persimmon_config,
    .vector_floats = persimmon_vector_floats,
    .load = persimmon_load,
    .forward = persimmon_forward,
    .packs = mhv_family_packs_always,
};
