/* exaone4.c - EXAONE 4.0 (Exaone4Model, Exaone4ForCausalLM): OLMo 2's layer (RMSNorms of the
 * attention and MLP outputs, none of their inputs) with an RMSNorm of each query and key head
 * before the rotation, a sliding window on the layers layer_types names (by default three of
 * every four, sliding_window_pattern) and rotary positions on those alone: the full layers
 * have none (unless sliding_window is null: then every layer rotates). No biases.
 *
 *   x = embed_tokens[id]
 *   per layer: x += rms_1(o(attn(rope(qn(q)), rope(kn(k)), v)(x)));
 *              x += rms_2(down(silu(gate(x)) * up(x)))
 *   logits = norm(x) · lm_head^T */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"exaone4", NULL};

/* layer_types, else sliding unless (i + 1) is a multiple of sliding_window_pattern (an
 * integer: transformers' default list fails on a string or 0); with a window, rotary
 * positions on the sliding layers alone. */
static mhv_status exaone4_layers(const cJSON *root, mhv_config *c, const char *name,
                                 mhv_error *err)
{
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
    int windowless = sw && cJSON_IsNull(sw), any;
    mhv_status st;
    c->window_by_layer = 1;
    memset(c->window_layers, 0, sizeof c->window_layers);
    if (!mhv_json_get(root, "layer_types")) {
        const cJSON *pat = mhv_json_get(root, "sliding_window_pattern");
        int period;
        if (windowless || (pat && !cJSON_IsNumber(pat)))
            return mhv_fail(err, MHV_EUNSUPPORTED, name,
                            "exaone4 without layer_types needs sliding_window and an integer "
                            "sliding_window_pattern (transformers fails otherwise)");
        if ((st = mhv_json_int(root, "sliding_window_pattern", 4, 1, MHV_MAX_LAYERS + 1, &period,
                               name, err)))
            return st;
        for (int l = 0; l < c->num_layers; l++)
            if ((l + 1) % period != 0)
                c->window_layers[l / 8] |= (unsigned char)(1u << (l % 8));
    }
    if ((st = mhv_config_layer_types(root, c, &any, name, err)))
        return st;
    if (any && windowless)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "sliding layers with sliding_window null are not supported");
    for (int l = 0; l < c->num_layers && !windowless; l++)
        if (!((c->window_layers[l / 8] >> (l % 8)) & 1))
            c->nope_layers[l / 8] |= (unsigned char)(1u << (l % 8));
    if (windowless)
        return MHV_OK;
    return mhv_json_int(root, "sliding_window", 4096, 1, MHV_MAX_POSITIONS, &c->sliding_window,
                        name, err);
}

static mhv_status exaone4_config(const cJSON *root, mhv_config *c, const char *name,
                                 mhv_error *err)
{
    static const mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, 4096, 32, 32, 16384, 102400, 2048};
    mhv_status st;
    double eps;
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_config_gqa(root, 32, 0, c, name, err)) ||
        (st = mhv_json_num(root, "rms_norm_eps", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_SILU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_config_rope(root, &c->rope, name, err)) ||
        (st = exaone4_layers(root, c, name, err)))
        return st;
    c->qk_norm = MHV_QK_NORM_HEAD;
    c->layer_norm_eps = (float)eps;
    c->causal = 1;
    return MHV_OK;
}

static size_t exaone4_vector_floats(const mhv_config *c)
{
    /* the final norm; per layer two norms and the q/k norms of a head */
    return (size_t)c->hidden_size +
           (size_t)c->num_layers * (2 * (size_t)c->hidden_size + 2 * (size_t)c->head_dim);
}

static mhv_status exaone4_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* Exaone4ForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size, d = c->head_dim;
    int QD = c->num_heads * d, KVD = c->num_kv_heads * d;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "norm.weight", H, 0, &m->norm_g, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
        if ((st = mhv_decoder_load_attn_proj(ld, l, H, QD, KVD, 0, ly, err)) ||
            (st = mhv_wload_vec(ld, N("self_attn.q_norm.weight"), d, 0, &ly->q_norm_g, err)) ||
            (st = mhv_wload_vec(ld, N("self_attn.k_norm.weight"), d, 0, &ly->k_norm_g, err)) ||
            (st = mhv_wload_vec(ld, N("post_attention_layernorm.weight"), H, 0,
                                &ly->post_attn_g, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.gate_proj.weight"), I, H, 0, &ly->ffn_gate, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.up_proj.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.down_proj.weight"), H, I, 0, &ly->ffn_down, err)) ||
            (st = mhv_wload_vec(ld, N("post_feedforward_layernorm.weight"), H, 0,
                                &ly->post_ffn_g, err)))
            return st;
#undef N
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status exaone4_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                  mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int d = c->head_dim;
    const mhv_decoder dec = {MHV_NORM_RMS, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_GATED, NULL};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n,
                                      &(mhv_decoder_scratch){.rope_half = d / 2}, &p, err);
    if (st)
        return st;
    mhv_rotary rot = mhv_decoder_rope(&p, &c->rope, d, 0);

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_norm qn = {MHV_NORM_RMS, ly->q_norm_g, NULL, c->layer_norm_eps};
        mhv_norm kn = {MHV_NORM_RMS, ly->k_norm_g, NULL, c->layer_norm_eps};
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.causal = 1, attn.q_norm = &qn, attn.k_norm = &kn;
        attn.rope = (c->nope_layers[l / 8] >> (l % 8)) & 1 ? NULL : &rot;
        attn.window = mhv_config_layer_slides(c, l) ? c->sliding_window : 0;
        /* no input norms: the sublayers read x, their outputs are normalised */
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_exaone4 = {
    .name = "exaone4",
    .model_types = model_types,
    .config = exaone4_config,
    .vector_floats = exaone4_vector_floats,
    .load = exaone4_load,
    .forward = exaone4_forward,
    .packs = mhv_family_packs_always,
};
