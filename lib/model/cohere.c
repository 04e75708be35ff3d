/* cohere.c - Cohere Command-R (CohereModel, CohereForCausalLM) and Command R7B / Command A
 * (Cohere2Model, Cohere2ForCausalLM): attention and MLP in parallel on one LayerNorm without
 * bias, rotary positions on interleaved pairs (2i, 2i+1), grouped-query heads, SwiGLU; q/k/o
 * biases with attention_bias, the logits times logit_scale; tied by default. Cohere adds, with
 * use_qk_norm, a LayerNorm of each query and key head with its own weights ((heads, head_dim)
 * q_norm / k_norm, no bias) before the rotation, and rope_theta 500000 unless given. Cohere 2
 * slides a window on the layers layer_types names (by default three of every four,
 * sliding_window_pattern) and rotates only those: its full layers have no positions.
 *
 *   x = embed_tokens[id]
 *   per layer: h = input_layernorm(x);  x = (x + o(attn(h))) + mlp(h)
 *   logits = (norm(x) · lm_head^T) * logit_scale */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"cohere", "cohere2", NULL};

/* CohereConfig's rope_theta when config.json gives none */
#define COHERE_THETA 500000.0

/* Cohere 2's sliding layers: layer_types, by default sliding unless (i + 1) is a multiple of
 * sliding_window_pattern (4); rotary positions on those alone (nope_layers the others). */
static mhv_status cohere2_layers(const cJSON *root, mhv_config *c, const char *name,
                                 mhv_error *err)
{
    int period, any;
    mhv_status st;
    if ((st = mhv_json_int(root, "sliding_window_pattern", 4, 1, MHV_MAX_LAYERS + 1, &period,
                           name, err)))
        return st;
    c->window_by_layer = 1;
    memset(c->window_layers, 0, sizeof c->window_layers);
    for (int l = 0; l < c->num_layers; l++)
        if ((l + 1) % period != 0)
            c->window_layers[l / 8] |= (unsigned char)(1u << (l % 8));
    if ((st = mhv_config_layer_types(root, c, &any, name, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++)
        if (!((c->window_layers[l / 8] >> (l % 8)) & 1))
            c->nope_layers[l / 8] |= (unsigned char)(1u << (l % 8));
    if (!any)
        return MHV_OK;
    /* None would leave the sliding layers without positions or window in transformers */
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
    if (sw && cJSON_IsNull(sw))
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "sliding layers with sliding_window null are not supported");
    return mhv_json_int(root, "sliding_window", 4096, 1, MHV_MAX_POSITIONS, &c->sliding_window,
                        name, err);
}

static mhv_status cohere_config(const cJSON *root, mhv_config *c, const char *name,
                                mhv_error *err)
{
    static const mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, 8192, 40, 64, 22528, 256000, 8192};
    mhv_status st;
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_config_gqa(root, 0, 0, c, name, err)))
        return st;
    /* transformers multiplies the logits by logit_scale: null fails there */
    const cJSON *ls = cJSON_GetObjectItemCaseSensitive(root, "logit_scale");
    if (ls && cJSON_IsNull(ls))
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "logit_scale null is not supported");
    double eps;
    int qk_norm;
    if ((st = mhv_json_num(root, "logit_scale", 0.0625, 0, 1e6, &c->logits_mul, name, err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_SILU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "attention_bias", 0, &c->attn_bias, name, err)) ||
        (st = mhv_json_bool(root, "use_qk_norm", 0, &qk_norm, name, err)) ||
        (st = mhv_config_rope(root, &c->rope, name, err)))
        return st;
    c->layer_norm_eps = (float)eps;
    c->attn_out_bias = c->attn_bias;
    c->parallel_residual = 1;
    c->causal = 1;
    const cJSON *params = mhv_json_get(root, "rope_parameters");
    if (strcmp(c->arch, "cohere") == 0 && !mhv_json_get(root, "rope_theta") &&
        !(params && cJSON_IsObject(params) && mhv_json_get(params, "rope_theta")))
        c->rope.theta = COHERE_THETA;
    if (strcmp(c->arch, "cohere2") == 0)
        return cohere2_layers(root, c, name, err);
    c->qk_norm = qk_norm ? MHV_QK_NORM_HEAD : MHV_QK_NORM_NONE;
    return MHV_OK;
}

static size_t cohere_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    size_t widest = QD > H ? QD : H;
    /* the final norm and one zero bias; per layer a norm, the biases, the q/k norms */
    return H + widest + (size_t)c->num_layers * (H + 2 * QD + 3 * KVD + H);
}

/* The (heads, d) weights of a per-head norm as one fp32 vector (heads * d,). */
static mhv_status load_head_norm(mhv_wload *ld, const char *name, int heads, int d,
                                 float **out, mhv_error *err)
{
    mhv_mat w;
    mhv_status st;
    if ((st = mhv_wload_mat(ld, name, heads, d, 0, &w, err)) ||
        (st = mhv_wload_zeros(ld, heads * d, out, err)))
        return st;
    for (int h = 0; h < heads; h++)
        mhv_mat_row(&w, h, *out + (size_t)h * (size_t)d);
    return MHV_OK;
}

static mhv_status cohere_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* CohereForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size, d = c->head_dim;
    int QD = c->num_heads * d, KVD = c->num_kv_heads * d;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    float *zeros; /* the bias of every (bias-free) LayerNorm: (max(hidden, heads * d),) */
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "norm.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_zeros(ld, QD > H ? QD : H, &zeros, err)))
        return st;
    m->norm_b = zeros;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
        if ((st = mhv_wload_vec(ld, N("input_layernorm.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_decoder_load_attn_proj(ld, l, H, QD, KVD, c->attn_bias, ly, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.gate_proj.weight"), I, H, 0, &ly->ffn_gate, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.up_proj.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.down_proj.weight"), H, I, 0, &ly->ffn_down, err)))
            return st;
        if (c->qk_norm &&
            ((st = load_head_norm(ld, N("self_attn.q_norm.weight"), c->num_heads, d,
                                  &ly->q_norm_g, err)) ||
             (st = load_head_norm(ld, N("self_attn.k_norm.weight"), c->num_kv_heads, d,
                                  &ly->k_norm_g, err))))
            return st;
#undef N
        ly->ln_attn_b = ly->q_norm_b = ly->k_norm_b = zeros;
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status cohere_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                 mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int d = c->head_dim, half = d / 2;
    const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_PARALLEL_IN_ORDER, MHV_MLP_GATED,
                             NULL};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &(mhv_decoder_scratch){.rope_half = half},
                                      &p, err);
    if (st)
        return st;
    mhv_rotary rot = mhv_decoder_rope(&p, &c->rope, d, 1); /* pairs (2i, 2i+1) */

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_norm qn = mhv_nn_layernorm(ly->q_norm_g, ly->q_norm_b, c->layer_norm_eps);
        mhv_norm kn = mhv_nn_layernorm(ly->k_norm_g, ly->k_norm_b, c->layer_norm_eps);
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.causal = 1;
        attn.rope = (c->nope_layers[l / 8] >> (l % 8)) & 1 ? NULL : &rot;
        attn.window = mhv_config_layer_slides(c, l) ? c->sliding_window : 0;
        attn.q_norm = c->qk_norm ? &qn : NULL, attn.k_norm = c->qk_norm ? &kn : NULL;
        attn.qk_norm_per_head = 1;
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits) /* (n, vocab), times logit_scale */
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits);
    return MHV_OK;
}

const mhv_family mhv_family_cohere = {
    .name = "cohere",
    .model_types = model_types,
    .config = cohere_config,
    .vector_floats = cohere_vector_floats,
    .load = cohere_load,
    .forward = cohere_forward,
    .packs = mhv_family_packs_always,
};
