/* gpt2.c - GPT-2 (GPT2Model, GPT2LMHeadModel): learned positions, pre-LayerNorm, Conv1D
 * weights stored (in, out) and read in place as transposed matrices, causal attention.
 *
 *   x = wte[id] + wpe[i]
 *   per layer: x += c_proj(attn(ln_1(x)));  x += mlp.c_proj(gelu(c_fc(ln_2(x))))
 *   logits = ln_f(x) · wte^T */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"gpt2", NULL};

static mhv_status gpt2_config(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    mhv_status st;
    if ((st = mhv_json_int(root, "n_embd", -1, 1, MHV_MAX_HIDDEN, &c->hidden_size, name, err)) ||
        (st = mhv_json_int(root, "n_layer", -1, 1, MHV_MAX_LAYERS, &c->num_layers, name, err)) ||
        (st = mhv_json_int(root, "n_head", -1, 1, MHV_MAX_HEADS, &c->num_heads, name, err)) ||
        (st = mhv_json_int(root, "vocab_size", -1, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, "n_positions", 1024, 1, MHV_MAX_POSITIONS, &c->max_positions,
                           name, err)))
        return st;
    /* n_inner null means 4 * n_embd (GPT2MLP) */
    if ((st = mhv_json_int(root, "n_inner", 4 * c->hidden_size, 1, 4 * MHV_MAX_HIDDEN,
                           &c->intermediate_size, name, err)))
        return st;
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "n_head %d does not divide n_embd %d",
                        c->num_heads, c->hidden_size);
    c->head_dim = c->hidden_size / c->num_heads;
    c->num_kv_heads = c->num_heads;
    double eps;
    if ((st = mhv_json_num(root, "layer_norm_epsilon", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "activation_function", MHV_ACT_GELU_NEW, &c->act, name, err)))
        return st;
    c->layer_norm_eps = (float)eps;
    /* Variants that change the scores: refused rather than computed wrongly. */
    int scale_w, inv_layer;
    if ((st = mhv_json_bool(root, "scale_attn_weights", 1, &scale_w, name, err)) ||
        (st = mhv_json_bool(root, "scale_attn_by_inverse_layer_idx", 0, &inv_layer, name, err)))
        return st;
    if (!scale_w || inv_layer)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "unsupported GPT-2 attention scaling (scale_attn_weights must be true, "
                        "scale_attn_by_inverse_layer_idx false)");
    c->causal = 1;
    c->tie_word_embeddings = 1; /* GPT2LMHeadModel always ties lm_head to wte */
    c->attn_bias = c->attn_out_bias = c->mlp_bias = 1;
    return MHV_OK;
}

static size_t gpt2_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 2 * H + (size_t)c->num_layers * (9 * H + (size_t)c->intermediate_size);
}

static mhv_status gpt2_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"transformer.", NULL}; /* GPT2LMHeadModel */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size;
    mhv_wload_prefix(ld, prefixes, "wte.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "wte.weight", c->vocab_size, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_mat(ld, "wpe.weight", c->max_positions, H, 0, &m->pos_emb, err)) ||
        (st = mhv_wload_vec(ld, "ln_f.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_vec(ld, "ln_f.bias", H, 0, &m->norm_b, err)))
        return st;
    const int w3[3] = {H, H, H}, wH[1] = {H}, wI[1] = {I};
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        mhv_mat qkv[3]; /* column slices of c_attn */
        float *qkv_b;
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "h.%d.%s", l, suffix), n)
        if ((st = mhv_wload_vec(ld, N("ln_1.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, N("ln_1.bias"), H, 0, &ly->ln_attn_b, err)) ||
            (st = mhv_wload_conv1d(ld, N("attn.c_attn.weight"), H, w3, 3, qkv, err)) ||
            (st = mhv_wload_vec(ld, N("attn.c_attn.bias"), 3 * H, 0, &qkv_b, err)) ||
            (st = mhv_wload_conv1d(ld, N("attn.c_proj.weight"), H, wH, 1, &ly->o, err)) ||
            (st = mhv_wload_vec(ld, N("attn.c_proj.bias"), H, 0, &ly->o_b, err)) ||
            (st = mhv_wload_vec(ld, N("ln_2.weight"), H, 0, &ly->ln_ffn_g, err)) ||
            (st = mhv_wload_vec(ld, N("ln_2.bias"), H, 0, &ly->ln_ffn_b, err)) ||
            (st = mhv_wload_conv1d(ld, N("mlp.c_fc.weight"), H, wI, 1, &ly->ffn_up, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.c_fc.bias"), I, 0, &ly->ffn_up_b, err)) ||
            (st = mhv_wload_conv1d(ld, N("mlp.c_proj.weight"), I, wH, 1, &ly->ffn_down, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.c_proj.bias"), H, 0, &ly->ffn_down_b, err)))
            return st;
#undef N
        ly->q = qkv[0], ly->k = qkv[1], ly->v = qkv[2];
        ly->q_b = qkv_b, ly->k_b = qkv_b + H, ly->v_b = qkv_b + 2 * H;
    }
    m->lm_head = m->word_emb; /* tied; old attn.bias/masked_bias buffers are ignored */
    return MHV_OK;
}

static mhv_status gpt2_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                               mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_PLAIN, NULL};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &(mhv_decoder_scratch){0}, &p, err);
    if (st)
        return st;

    mhv_embed emb = {.tok = &m->word_emb, .pos = &m->pos_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        mhv_attn_layer attn = mhv_layer_attention(&m->layers[l], c);
        attn.causal = 1;
        if (mhv_layer_pre_norm(nn, &dec, c, &m->layers[l], &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_gpt2 = {
    .name = "gpt2",
    .model_types = model_types,
    .config = gpt2_config,
    .vector_floats = gpt2_vector_floats,
    .load = gpt2_load,
    .forward = gpt2_forward,
    .packs = mhv_family_packs_always,
};
