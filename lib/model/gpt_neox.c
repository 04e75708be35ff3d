/* gpt_neox.c - GPT-NeoX and the Pythia suite (GPTNeoXModel, GPTNeoXForCausalLM): LayerNorm
 * with biases, one fused query_key_value matrix laid out per head ([q, k, v] of head 0, then
 * of head 1 ...), partial rotary positions (the first rotary_pct of each head turns), and
 * the parallel residual of use_parallel_residual.
 *
 *   x = embed_in[id]
 *   parallel:   x = x + (attn(ln_1(x)) + mlp(ln_2(x)))
 *   sequential: x += attn(ln_1(x));  x += mlp(ln_2(x))
 *   attn: dense(softmax(rope(q) rope(k)^T / sqrt(d)) v),  mlp: h_to_4h, act, 4h_to_h
 *   logits = final_layer_norm(x) · embed_out^T */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"gpt_neox", NULL};

static mhv_status neox_config(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    mhv_status st;
    if ((st = mhv_json_int(root, "hidden_size", 6144, 1, MHV_MAX_HIDDEN, &c->hidden_size, name,
                           err)) ||
        (st = mhv_json_int(root, "num_hidden_layers", 44, 1, MHV_MAX_LAYERS, &c->num_layers,
                           name, err)) ||
        (st = mhv_json_int(root, "num_attention_heads", 64, 1, MHV_MAX_HEADS, &c->num_heads,
                           name, err)) ||
        (st = mhv_json_int(root, "intermediate_size", 24576, 1, 4 * MHV_MAX_HIDDEN,
                           &c->intermediate_size, name, err)) ||
        (st = mhv_json_int(root, "vocab_size", 50432, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, "max_position_embeddings", 2048, 1, MHV_MAX_POSITIONS,
                           &c->max_positions, name, err)))
        return st;
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "num_attention_heads %d does not divide hidden_size %d", c->num_heads,
                        c->hidden_size);
    c->head_dim = c->hidden_size / c->num_heads;
    c->num_kv_heads = c->num_heads;
    double eps;
    if ((st = mhv_json_num(root, "layer_norm_eps", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "use_parallel_residual", 1, &c->parallel_residual, name,
                            err)) ||
        (st = mhv_json_bool(root, "attention_bias", 1, &c->attn_bias, name, err)) ||
        (st = mhv_family_partial_rope(root, c->head_dim, "rotary_emb_base", "rotary_pct", 0.25,
                                        &c->rope, &c->rotary_dims, name, err)))
        return st;
    c->layer_norm_eps = (float)eps;
    c->attn_out_bias = c->attn_bias;
    c->mlp_bias = 1;
    c->causal = 1;
    return MHV_OK;
}

static size_t neox_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 2 * H + (size_t)c->num_layers * (9 * H + (size_t)c->intermediate_size);
}

static mhv_status neox_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"gpt_neox.", NULL}; /* GPTNeoXForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    int ab = c->attn_bias ? 0 : MHV_W_OPTIONAL;
    mhv_wload_prefix(ld, prefixes, "embed_in.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embed_in.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "final_layer_norm.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_vec(ld, "final_layer_norm.bias", H, 0, &m->norm_b, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
#define BIAS(flag, suffix, len, dst) \
    (!(flag) && (st = mhv_wload_vec(ld, N(suffix), len, 0, dst, err)))
        if ((st = mhv_wload_vec(ld, N("input_layernorm.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, N("input_layernorm.bias"), H, 0, &ly->ln_attn_b, err)) ||
            (st = mhv_wload_mat(ld, N("attention.query_key_value.weight"), 3 * H, H, 0,
                                &ly->qkv, err)) ||
            BIAS(ab, "attention.query_key_value.bias", 3 * H, &ly->qkv_b) ||
            (st = mhv_wload_mat(ld, N("attention.dense.weight"), H, H, 0, &ly->o, err)) ||
            BIAS(ab, "attention.dense.bias", H, &ly->o_b) ||
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
#undef BIAS
#undef N
        ly->q = ly->qkv; /* the model's dtype is read from layer 0's q */
    }
    /* a GPTNeoXModel saved alone has no embed_out.weight (no logits) */
    return mhv_decoder_load_lm_head(m, ld, "embed_out.weight", NULL, err);
}

static mhv_status neox_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                               mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int half = c->rotary_dims / 2;
    const mhv_decoder dec = {
        MHV_NORM_LAYER, c->parallel_residual ? MHV_RESIDUAL_PARALLEL : MHV_RESIDUAL_SEQUENTIAL,
        MHV_MLP_PLAIN, NULL,
    };
    mhv_decoder_scratch s = {.qkv_rows = 3 * c->hidden_size, .rope_half = half};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (st)
        return st;
    mhv_rotary rot = mhv_decoder_rope(&p, &c->rope, 2 * half, 0);

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_qkv_grouped fused = {&ly->qkv, ly->qkv_b};
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.fused = &fused, attn.causal = 1, attn.rope = half ? &rot : NULL;
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_gpt_neox = {
    .name = "gpt_neox",
    .model_types = model_types,
    .config = neox_config,
    .vector_floats = neox_vector_floats,
    .load = neox_load,
    .forward = neox_forward,
    .packs = mhv_family_packs_always,
};
