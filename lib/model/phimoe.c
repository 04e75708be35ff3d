/* phimoe.c - Phi-3.5-MoE (PhimoeModel, PhimoeForCausalLM): Mixtral's layers with LayerNorms
 * (with bias, eps rms_norm_eps) and a sparsemixer router: each token's two experts and their
 * weights from the router logits as transformers computes them in eval mode (blocks.h
 * mhv_moe.sparsemixer; num_experts_per_tok is not read there, always two). Rotary positions
 * by default or longrope: the short factors always (transformers computes them without the
 * length), cos and sin times short_mscale, or long_mscale once the sentence passes
 * original_max_position_embeddings. An LM head with a bias with lm_head_bias.
 *
 *   x = embed_tokens[id]
 *   per layer: x += o(attn(rope(q, k), v)(ln_1(x)));  x += moe(ln_2(x))
 *   logits = ln_f(x) · lm_head^T + b
 * save_pretrained writes Mixtral's names: block_sparse_moe.gate, experts.E.w1 (gate), w3
 * (up), w2 (down). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"
#include "nn/rope.h"

static const char *const model_types[] = {"phimoe", NULL};

/* A list of count positive numbers (fp32, as torch.tensor) of the rope settings sc. */
static mhv_status factors(const cJSON *sc, const char *key, int count, float *out,
                          const char *name, mhv_error *err)
{
    const cJSON *a = mhv_json_get(sc, key);
    if (!a || !cJSON_IsArray(a) || cJSON_GetArraySize(a) != count)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "longrope %s must be a list of %d numbers (head_dim / 2)", key, count);
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsNumber(it) || !(it->valuedouble > 0 && it->valuedouble < 1e30))
            return mhv_fail(err, MHV_EFORMAT, name, "longrope %s holds a number outside (0, 1e30)",
                            key);
        out[i++] = (float)it->valuedouble;
    }
    return MHV_OK;
}

/* rope_theta (default 1e6) and the default or longrope settings (rope_scaling, else
 * rope_parameters). */
static mhv_status phimoe_rope(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    const cJSON *sc = mhv_json_get(root, "rope_scaling");
    if (!sc || !cJSON_IsObject(sc))
        sc = mhv_json_get(root, "rope_parameters");
    if (sc && !cJSON_IsObject(sc))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'rope_parameters' is not an object");
    const cJSON *ty = sc ? mhv_json_get(sc, "rope_type") : NULL;
    if (sc && !ty)
        ty = mhv_json_get(sc, "type");
    const char *t = ty && cJSON_IsString(ty) ? ty->valuestring : "default";
    double theta = 1e6;
    mhv_status st;
    if ((sc && (st = mhv_json_num(sc, "rope_theta", theta, 0, 1e12, &theta, name, err))) ||
        (st = mhv_json_num(root, "rope_theta", theta, 0, 1e12, &theta, name, err)))
        return st;
    memset(&c->rope, 0, sizeof c->rope);
    c->rope.theta = theta;
    double partial = 1;
    if (sc && (st = mhv_json_num(sc, "partial_rotary_factor", 1, 0, 1, &partial, name, err)))
        return st;
    if (partial != 1) /* transformers' rotation of whole heads fails on it */
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported partial_rotary_factor %g",
                        partial);
    if (strcmp(t, "default") == 0)
        return MHV_OK;
    if (strcmp(t, "longrope") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "unsupported rope scaling type '%.40s' (phimoe: default or longrope)", t);
    int pairs = c->head_dim / 2;
    if (pairs > MHV_MAX_ROPE_PAIRS)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "longrope over %d rotated pairs", pairs);
    /* the original context: the config's own, then the rope settings', then
     * max_position_embeddings (standardize_rope_params) */
    const cJSON *orig = mhv_json_get(root, "original_max_position_embeddings") ? root : sc;
    c->longrope = 1;
    if ((st = factors(sc, "short_factor", pairs, c->longrope_short, name, err)) ||
        (st = factors(sc, "long_factor", pairs, c->longrope_long, name, err)) ||
        (st = mhv_json_int(orig, "original_max_position_embeddings", c->max_positions, 1,
                           MHV_MAX_POSITIONS, &c->longrope_original, name, err)))
        return st;
    const char *ms[2] = {"short_mscale", "long_mscale"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = mhv_json_get(sc, ms[i]);
        if (!v || !cJSON_IsNumber(v)) /* PhimoeConfig.validate_rope */
            return mhv_fail(err, MHV_EFORMAT, name, "longrope %s must be a number", ms[i]);
        if ((st = mhv_json_num(sc, ms[i], 1, -1e6, 1e6, &c->longrope_mscale[i], name, err)))
            return st;
    }
    return MHV_OK;
}

static mhv_status phimoe_config(const cJSON *root, mhv_config *c, const char *name,
                                mhv_error *err)
{
    static const mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, 4096, 32, 32, 6400, 32064, 131072};
    mhv_status st;
    double eps;
    int head_bias;
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_config_gqa(root, 8, 0, c, name, err)) ||
        (st = mhv_json_num(root, "rms_norm_eps", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_SILU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "attention_bias", 0, &c->attn_bias, name, err)) ||
        (st = mhv_json_bool(root, "lm_head_bias", 0, &head_bias, name, err)) ||
        (mhv_json_get(root, "sliding_window") && /* null: none */
         (st = mhv_json_int(root, "sliding_window", 0, 1, MHV_MAX_POSITIONS, &c->sliding_window,
                            name, err))) ||
        (st = mhv_json_int(root, "num_local_experts", 16, 2, MHV_MAX_EXPERTS, &c->num_experts,
                           name, err)) ||
        (st = mhv_json_num(root, "router_jitter_noise", 0.01, 0, 1e6, &c->router_jitter, name,
                           err)) ||
        (st = phimoe_rope(root, c, name, err)))
        return st;
    c->lm_head_bias = head_bias;
    c->experts_per_tok = 2; /* the sparsemixer's, whatever num_experts_per_tok says */
    c->moe_intermediate_size = c->intermediate_size;
    c->layer_norm_eps = (float)eps;
    c->attn_out_bias = c->attn_bias;
    c->causal = 1;
    return MHV_OK;
}

static size_t phimoe_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    /* the final norm, the LM head's bias; per layer two norms, the attention biases */
    return 2 * H + (size_t)c->vocab_size + (size_t)c->num_layers * (5 * H + QD + 2 * KVD);
}

/* Layer l's router and experts (mhv_decoder_load_experts): Mixtral's names, an MoE block in
 * every layer. */
static mhv_status load_experts(mhv_model *m, mhv_wload *ld, int l, mhv_error *err)
{
    static const char *const names[3] = {"w1", "w3", "w2"};
    return mhv_decoder_load_experts(m, ld, l, "block_sparse_moe", names,
                                    m->cfg.intermediate_size, m->cfg.num_layers, err);
}

static mhv_status phimoe_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* PhimoeForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, V = c->vocab_size;
    int QD = c->num_heads * c->head_dim, KVD = c->num_kv_heads * c->head_dim;
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
        if ((st = mhv_wload_vec(ld, N("input_layernorm.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, N("input_layernorm.bias"), H, 0, &ly->ln_attn_b, err)) ||
            (st = mhv_decoder_load_attn_proj(ld, l, H, QD, KVD, c->attn_bias, ly, err)) ||
            (st = mhv_wload_vec(ld, N("post_attention_layernorm.weight"), H, 0, &ly->ln_ffn_g,
                                err)) ||
            (st = mhv_wload_vec(ld, N("post_attention_layernorm.bias"), H, 0, &ly->ln_ffn_b,
                                err)) ||
            (st = load_experts(m, ld, l, err)))
            return st;
#undef N
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight",
                                    c->lm_head_bias ? "lm_head.bias" : NULL, err);
}

static mhv_status phimoe_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                 mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int d = c->head_dim, half = d / 2;
    const mhv_moe moe = {
        .experts = c->num_experts, .top_k = 2, .inter = c->moe_intermediate_size,
        .act = (int)c->act, .sparsemixer = 1, .sparse_eps2 = (float)(2.0 * c->router_jitter),
    };
    const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_GATED, &moe};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n,
                                      &(mhv_decoder_scratch){.rope_half = half}, &p, err);
    if (st)
        return st;
    mhv_rotary rot = mhv_decoder_rope(&p, &c->rope, d, 0);
    if (c->longrope) { /* the short factors, then cos and sin times the length's mscale */
        mhv_nn_kv_refuse(nn); /* the whole sequence's length */
        for (int j = 0; j < half; j++) {
            float e = (float)(2 * j) / (float)d;
            p.inv_freq[j] = 1.0f / (c->longrope_short[j] * (float)pow(c->rope.theta, (double)e));
        }
        mhv_rope_table(p.inv_freq, half, p.rope_rows, p.cos_t, p.sin_t);
        float ms = (float)c->longrope_mscale[n > c->longrope_original];
        for (size_t t = 0; t < (size_t)p.rope_rows * (size_t)half; t++)
            p.cos_t[t] *= ms, p.sin_t[t] *= ms;
    }

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        mhv_attn_layer attn = mhv_layer_attention(&m->layers[l], c);
        attn.causal = 1, attn.rope = &rot, attn.window = c->sliding_window;
        if (mhv_layer_pre_norm(nn, &dec, c, &m->layers[l], &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

/* longrope's scale follows the pass's length, which packing would change; experts run over
 * the rows routed to them */
static int phimoe_packs(const mhv_config *c)
{
    return c->longrope ? MHV_PACKS_NO : MHV_PACKS_ANY_ROWS;
}

const mhv_family mhv_family_phimoe = {
    .name = "phimoe",
    .model_types = model_types,
    .config = phimoe_config,
    .vector_floats = phimoe_vector_floats,
    .load = phimoe_load,
    .forward = phimoe_forward,
    .packs = phimoe_packs,
};
