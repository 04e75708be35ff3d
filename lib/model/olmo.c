/* olmo.c - OLMo v1 (OlmoModel, OlmoForCausalLM): Llama's layers (rotary positions,
 * grouped-query attention, SwiGLU) with LayerNorms that have no parameters (OlmoLayerNorm:
 * eps 1e-5, whatever the config says) and, with clip_qkv, the query, key and value
 * projections clamped to [-clip_qkv, clip_qkv] before the rotation.
 *
 *   x = embed_tokens[id]
 *   per layer: x += o(attn(rope(clip(q), clip(k)), clip(v))(ln(x)));
 *              x += down(silu(gate(h)) * up(h)),  h = ln(x)
 *   logits = ln(x) · lm_head^T */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"olmo", NULL};

static mhv_status olmo_config(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    static const mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, 4096, 32, 32, 11008, 50304, 2048};
    mhv_status st;
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_config_gqa(root, 0, 0, c, name, err)))
        return st;
    if ((st = mhv_config_act(root, "hidden_act", MHV_ACT_SILU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "attention_bias", 0, &c->attn_bias, name, err)) ||
        (st = mhv_config_rope(root, &c->rope, name, err)))
        return st;
    /* null: OlmoConfig's None, no clamp */
    if (mhv_json_get(root, "clip_qkv") &&
        (st = mhv_json_num(root, "clip_qkv", 0, 0, 1e30, &c->clip_qkv, name, err)))
        return st;
    c->layer_norm_eps = 1e-5f; /* OlmoLayerNorm's, fixed */
    c->attn_out_bias = c->attn_bias;
    c->causal = 1;
    return MHV_OK;
}

static size_t olmo_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    /* the norms' ones and zeros, the attention biases */
    return 2 * H + (size_t)c->num_layers * (H + QD + 2 * KVD);
}

static mhv_status olmo_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* OlmoForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    int QD = c->num_heads * c->head_dim, KVD = c->num_kv_heads * c->head_dim;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    float *ones, *zeros; /* every norm is a LayerNorm of gain 1 and bias 0 */
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_zeros(ld, H, &ones, err)) || (st = mhv_wload_zeros(ld, H, &zeros, err)))
        return st;
    for (int t = 0; t < H; t++)
        ones[t] = 1.0f;
    m->norm_g = ones, m->norm_b = zeros;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
        ly->ln_attn_g = ly->ln_ffn_g = ones;
        ly->ln_attn_b = ly->ln_ffn_b = zeros;
        if ((st = mhv_decoder_load_attn_proj(ld, l, H, QD, KVD, c->attn_bias, ly, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.gate_proj.weight"), I, H, 0, &ly->ffn_gate, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.up_proj.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.down_proj.weight"), H, I, 0, &ly->ffn_down, err)))
            return st;
#undef N
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status olmo_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                               mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int d = c->head_dim, half = d / 2;
    const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_GATED, NULL};
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
        attn.causal = 1, attn.rope = &rot, attn.clip = (float)c->clip_qkv;
        if (mhv_layer_pre_norm(nn, &dec, c, &m->layers[l], &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_olmo = {
    .name = "olmo",
    .model_types = model_types,
    .config = olmo_config,
    .vector_floats = olmo_vector_floats,
    .load = olmo_load,
    .forward = olmo_forward,
    .packs = mhv_family_packs_always,
};
