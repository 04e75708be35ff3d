/* starcoder2.c - StarCoder2 (Starcoder2Model, Starcoder2ForCausalLM): Mistral's attention
 * (rotary positions, grouped-query heads, an optional sliding window on every layer) with
 * LayerNorm (with bias), biases on every projection (use_bias) and a plain MLP.
 *
 *   x = embed_tokens[id]
 *   per layer: x += o(attn(rope(q, k), v)(ln_1(x)));  x += c_proj(act(c_fc(ln_2(x))))
 *   logits = norm(x) · lm_head^T */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"starcoder2", NULL};

static mhv_status sc2_config(const cJSON *root, mhv_config *c, const char *name,
                             mhv_error *err)
{
    static const mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, 3072, 30, 24, 12288, 49152, 4096};
    mhv_status st;
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_config_gqa(root, 2, 0, c, name, err)))
        return st;
    double eps;
    if ((st = mhv_json_num(root, "norm_epsilon", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU_NEW, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "use_bias", 1, &c->attn_bias, name, err)) ||
        (st = mhv_config_rope(root, &c->rope, name, err)))
        return st;
    c->layer_norm_eps = (float)eps;
    c->attn_out_bias = c->mlp_bias = c->attn_bias;
    c->causal = 1;
    /* null: no window; else on every layer */
    if (mhv_json_get(root, "sliding_window"))
        return mhv_json_int(root, "sliding_window", 0, 1, MHV_MAX_POSITIONS, &c->sliding_window,
                            name, err);
    return MHV_OK;
}

static size_t sc2_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    return 2 * H +
           (size_t)c->num_layers * (6 * H + QD + 2 * KVD + (size_t)c->intermediate_size);
}

static mhv_status sc2_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* Starcoder2ForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    int QD = c->num_heads * c->head_dim, KVD = c->num_kv_heads * c->head_dim;
    int b = c->attn_bias ? 0 : MHV_W_OPTIONAL;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "norm.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_vec(ld, "norm.bias", H, 0, &m->norm_b, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
#define BIAS(suffix, len, dst) (!b && (st = mhv_wload_vec(ld, N(suffix), len, 0, dst, err)))
        if ((st = mhv_wload_vec(ld, N("input_layernorm.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, N("input_layernorm.bias"), H, 0, &ly->ln_attn_b, err)) ||
            (st = mhv_decoder_load_attn_proj(ld, l, H, QD, KVD, c->attn_bias, ly, err)) ||
            (st = mhv_wload_vec(ld, N("post_attention_layernorm.weight"), H, 0, &ly->ln_ffn_g,
                                err)) ||
            (st = mhv_wload_vec(ld, N("post_attention_layernorm.bias"), H, 0, &ly->ln_ffn_b,
                                err)) ||
            (st = mhv_wload_mat(ld, N("mlp.c_fc.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.c_proj.weight"), H, I, 0, &ly->ffn_down, err)) ||
            BIAS("mlp.c_fc.bias", I, &ly->ffn_up_b) || BIAS("mlp.c_proj.bias", H, &ly->ffn_down_b))
            return st;
#undef BIAS
#undef N
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status sc2_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                              mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int d = c->head_dim, half = d / 2;
    const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_PLAIN, NULL};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &(mhv_decoder_scratch){.rope_half = half},
                                      &p, err);
    if (st)
        return st;
    mhv_rotary rot = mhv_decoder_rope(&p, &c->rope, d, 0);

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        mhv_attn_layer attn = mhv_layer_attention(&m->layers[l], c);
        attn.causal = 1, attn.window = c->sliding_window, attn.rope = &rot;
        if (mhv_layer_pre_norm(nn, &dec, c, &m->layers[l], &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_starcoder2 = {
    .name = "starcoder2",
    .model_types = model_types,
    .config = sc2_config,
    .vector_floats = sc2_vector_floats,
    .load = sc2_load,
    .forward = sc2_forward,
    .packs = mhv_family_packs_always,
};
