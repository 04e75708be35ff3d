/* stablelm.c - StableLM (StableLmModel, StableLmForCausalLM: StableLM-3B-4E1T, StableLM 2):
 * LayerNorms with biases, rotary positions on the first partial_rotary_factor of each head
 * (rotate-half pairs), grouped-query heads, SwiGLU without biases; q/k/v biases with
 * use_qkv_bias, a LayerNorm of each query and key head with its own weights (no bias) before
 * the rotation with qk_layernorm, and attention and MLP both reading input_layernorm(x) with
 * use_parallel_residual.
 *
 *   x = embed_tokens[id]
 *   per layer: h = input_layernorm(x)
 *     sequential: x += o(attn(h));  x += mlp(post_attention_layernorm(x))
 *     parallel:   x = (x + o(attn(h))) + mlp(h)
 *   logits = norm(x) · lm_head^T */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"stablelm", NULL};

static mhv_status stablelm_config(const cJSON *root, mhv_config *c, const char *name,
                                  mhv_error *err)
{
    mhv_status st;
    int qk_ln;
    static const mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, 2560, 32, 32, 6912, 50304, 4096};
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        /* StableLmConfig's default is 32, not num_attention_heads */
        (st = mhv_json_int(root, "num_key_value_heads", 32, 1, MHV_MAX_HEADS, &c->num_kv_heads,
                           name, err)) ||
        (st = mhv_json_bool(root, "qk_layernorm", 0, &qk_ln, name, err)) ||
        (st = mhv_json_bool(root, "use_qkv_bias", 0, &c->attn_bias, name, err)) ||
        (st = mhv_json_bool(root, "use_parallel_residual", 0, &c->parallel_residual, name,
                            err)))
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
    /* the attention's heads are hidden / heads wide whatever head_dim says; transformers'
     * rotary table would follow head_dim */
    int hd;
    if ((st = mhv_json_int(root, "head_dim", c->head_dim, 1, MHV_MAX_HIDDEN, &hd, name, err)))
        return st;
    if (hd != c->head_dim)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "head_dim %d other than hidden_size / num_attention_heads (%d) is not "
                        "supported", hd, c->head_dim);
    c->qk_norm = qk_ln ? MHV_QK_NORM_HEAD : MHV_QK_NORM_NONE;
    double eps;
    if ((st = mhv_json_num(root, "layer_norm_eps", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_SILU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_family_partial_rope(root, c->head_dim, "rope_theta", "partial_rotary_factor",
                                      0.25, &c->rope, &c->rotary_dims, name, err)))
        return st;
    c->layer_norm_eps = (float)eps;
    c->kv_heads = 1;
    c->causal = 1;
    return MHV_OK;
}

static size_t stablelm_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    /* the final norm and a zero bias; per layer two norms, q/k/v biases, the q/k norms of
     * every head read one by one, then side by side */
    return 3 * H + (size_t)c->num_layers * (4 * H + H + 2 * KVD + 2 * (H + KVD));
}

/* The weights of the `heads` LayerNorms of `which` (q_layernorm, k_layernorm) of layer l,
 * side by side: (heads * d,). */
static mhv_status load_head_norms(mhv_wload *ld, int l, const char *which, int heads, int d,
                                  float **out, mhv_error *err)
{
    mhv_status st = mhv_wload_zeros(ld, heads * d, out, err);
    for (int h = 0; !st && h < heads; h++) {
        char n[160];
        float *g;
        snprintf(n, sizeof n, "layers.%d.self_attn.%s.norms.%d.weight", l, which, h);
        if (!(st = mhv_wload_vec(ld, n, d, 0, &g, err)))
            memcpy(*out + (size_t)h * (size_t)d, g, (size_t)d * sizeof *g);
    }
    return st;
}

static mhv_status stablelm_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* StableLmForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size, d = c->head_dim;
    int KVD = c->num_kv_heads * d;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    float *zeros; /* the bias of the bias-free q/k LayerNorms (H >= KVD) */
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "norm.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_vec(ld, "norm.bias", H, 0, &m->norm_b, err)) ||
        (st = mhv_wload_zeros(ld, H, &zeros, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
#define BIAS(suffix, len, dst) \
    (c->attn_bias && (st = mhv_wload_vec(ld, N(suffix), len, 0, dst, err)))
        if ((st = mhv_wload_vec(ld, N("input_layernorm.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, N("input_layernorm.bias"), H, 0, &ly->ln_attn_b, err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.q_proj.weight"), H, H, 0, &ly->q, err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.k_proj.weight"), KVD, H, 0, &ly->k, err)) ||
            (st = mhv_wload_mat(ld, N("self_attn.v_proj.weight"), KVD, H, 0, &ly->v, err)) ||
            BIAS("self_attn.q_proj.bias", H, &ly->q_b) ||
            BIAS("self_attn.k_proj.bias", KVD, &ly->k_b) ||
            BIAS("self_attn.v_proj.bias", KVD, &ly->v_b) ||
            (st = mhv_wload_mat(ld, N("self_attn.o_proj.weight"), H, H, 0, &ly->o, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.gate_proj.weight"), I, H, 0, &ly->ffn_gate, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.up_proj.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.down_proj.weight"), H, I, 0, &ly->ffn_down, err)))
            return st;
        if (!c->parallel_residual &&
            ((st = mhv_wload_vec(ld, N("post_attention_layernorm.weight"), H, 0, &ly->ln_ffn_g,
                                 err)) ||
             (st = mhv_wload_vec(ld, N("post_attention_layernorm.bias"), H, 0, &ly->ln_ffn_b,
                                 err))))
            return st;
#undef BIAS
#undef N
        if (c->qk_norm &&
            ((st = load_head_norms(ld, l, "q_layernorm", c->num_heads, d, &ly->q_norm_g, err)) ||
             (st = load_head_norms(ld, l, "k_layernorm", c->num_kv_heads, d, &ly->k_norm_g,
                                   err))))
            return st;
        ly->q_norm_b = ly->k_norm_b = zeros;
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status stablelm_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                   mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int half = c->rotary_dims / 2;
    const mhv_decoder dec = {MHV_NORM_LAYER,
                             c->parallel_residual ? MHV_RESIDUAL_PARALLEL_IN_ORDER
                                                  : MHV_RESIDUAL_SEQUENTIAL,
                             MHV_MLP_GATED, NULL};
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
        attn.qk_norm_per_head = 1;
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_stablelm = {
    .name = "stablelm",
    .model_types = model_types,
    .config = stablelm_config,
    .vector_floats = stablelm_vector_floats,
    .load = stablelm_load,
    .forward = stablelm_forward,
    .packs = mhv_family_packs_always,
};
