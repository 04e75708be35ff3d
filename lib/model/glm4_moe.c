/* glm4_moe.c - the decoders with DeepSeek-V3's mixture of experts on a grouped-query
 * attention: GLM-4.5 / GLM-4-MoE (Glm4MoeModel, Glm4MoeForCausalLM) and dots.llm1
 * (Dots1Model, Dots1ForCausalLM).
 *
 *   x = embed_tokens[id]
 *   per layer: x += o(attn(rope(qn(q)), rope(kn(k)), v)(rms_1(x)));  x += mlp(rms_2(x))
 *   logits = norm(x) · lm_head^T
 * The first first_k_dense_replace layers have a SwiGLU MLP (intermediate_size), the others a
 * mixture: scores sigmoid(gate · x), the experts chosen by score + e_score_correction_bias
 * within the topk_group best of n_group groups, weighted by their scores (renormalised with
 * norm_topk_prob) times routed_scaling_factor, plus the ungated shared experts (one SwiGLU of
 * moe_intermediate_size * n_shared_experts). GLM-4-MoE rotates the first
 * partial_rotary_factor (default 0.5) of each head (pairs i, i + half), normalises query and
 * key heads with use_qk_norm, biases q/k/v with attention_bias; dots1 normalises them always
 * (Qwen3's attention, its o_proj biased too) and slides a window on the layers from
 * max_window_layers (or as layer_types says). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

typedef struct {
    const char *model_type;
    int dots1;              /* Qwen3's attention and windows, DeepSeek-V3's None defaults */
    /* the config class's defaults: vocab_size, hidden_size, intermediate_size,
     * num_hidden_layers, num_attention_heads, num_key_value_heads, max_position_embeddings */
    int vocab, hidden, inter, layers, heads, kv_heads, positions;
    double eps;
    int first_dense, norm_topk;
} variant;

static const variant variants[] = {
    {"glm4_moe", 0, 151552, 4096, 10944, 46, 96, 8, 131072, 1e-5, 1, 1},
    {"dots1", 1, 152064, 4608, 10944, 62, 32, 32, 2048, 1e-6, 0, 0},
};

static const char *const model_types[] = {"glm4_moe", "dots1", NULL};

static const variant *variant_of(const mhv_config *c)
{
    return strcmp(c->arch, "dots1") == 0 ? &variants[1] : &variants[0];
}

/* A positive count of the mixture; glm4_moe's have defaults, dots1's are None (transformers
 * fails without them). */
static mhv_status moe_count(const cJSON *root, const variant *v, const char *key, int def,
                            int lo, int *out, const char *name, mhv_error *err)
{
    if (v->dots1 && !mhv_json_get(root, key))
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "dots1 without %s is not supported (transformers fails on it)", key);
    return mhv_json_int(root, key, def, lo, MHV_MAX_EXPERTS, out, name, err);
}

static mhv_status moe_config(const cJSON *root, const variant *v, mhv_config *c,
                             const char *name, mhv_error *err)
{
    int shared, dense;
    double scale;
    mhv_status st;
    /* num_local_experts is the attribute_map's other name of n_routed_experts */
    const char *experts = mhv_json_get(root, "n_routed_experts") || !mhv_json_get(root,
                                                                                 "num_local_experts")
                              ? "n_routed_experts"
                              : "num_local_experts";
    if ((st = moe_count(root, v, experts, 128, 1, &c->num_experts, name, err)) ||
        (st = moe_count(root, v, "num_experts_per_tok", 8, 1, &c->experts_per_tok, name, err)) ||
        (st = moe_count(root, v, "n_shared_experts", 1, 0, &shared, name, err)) ||
        (st = mhv_json_int(root, "moe_intermediate_size", 1408, 1, 4 * MHV_MAX_HIDDEN,
                           &c->moe_intermediate_size, name, err)) ||
        (st = mhv_json_int(root, "n_group", 1, 1, MHV_MAX_EXPERTS, &c->moe_groups, name, err)) ||
        (st = mhv_json_int(root, "topk_group", 1, 1, MHV_MAX_EXPERTS, &c->moe_topk_groups, name,
                           err)) ||
        (st = mhv_json_int(root, "first_k_dense_replace", v->first_dense, 0, MHV_MAX_LAYERS + 1,
                           &dense, name, err)) ||
        (st = mhv_json_bool(root, "norm_topk_prob", v->norm_topk, &c->norm_topk_prob, name,
                            err)) ||
        (st = mhv_json_num(root, "routed_scaling_factor", 1.0, -1e6, 1e6, &scale, name, err)))
        return st;
    if (c->experts_per_tok > c->num_experts || c->experts_per_tok > MHV_MOE_MAX_TOPK)
        return mhv_fail(err, MHV_EFORMAT, name, "num_experts_per_tok %d exceeds the %d experts",
                        c->experts_per_tok, c->num_experts);
    /* transformers' view(-1, n_group, experts / n_group) and topk(2) of each group */
    if (c->num_experts % c->moe_groups != 0 || c->num_experts / c->moe_groups < 2)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "n_group %d does not split %d experts into groups of 2 or more",
                        c->moe_groups, c->num_experts);
    if (c->moe_topk_groups > c->moe_groups)
        return mhv_fail(err, MHV_EFORMAT, name, "topk_group %d exceeds n_group %d",
                        c->moe_topk_groups, c->moe_groups);
    /* the chosen groups must hold top_k experts, or torch.topk picks masked ones */
    if (c->moe_topk_groups * (c->num_experts / c->moe_groups) < c->experts_per_tok)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "topk_group %d of %d experts each hold fewer than num_experts_per_tok %d",
                        c->moe_topk_groups, c->num_experts / c->moe_groups, c->experts_per_tok);
    c->shared_expert_size = c->moe_intermediate_size * shared;
    c->moe_routed_scale = scale;
    memset(c->moe_layers, 0, sizeof c->moe_layers);
    for (int l = dense; l < c->num_layers; l++)
        c->moe_layers[l / 8] |= (unsigned char)(1u << (l % 8));
    return MHV_OK;
}

/* dots1: sliding layers from max_window_layers when sliding_window is set, or layer_types */
static mhv_status dots1_windows(const cJSON *root, mhv_config *c, const char *name,
                                mhv_error *err)
{
    int from, any = 0;
    mhv_status st;
    const cJSON *sw = mhv_json_get(root, "sliding_window");
    if ((st = mhv_json_int(root, "max_window_layers", 62, 0, MHV_MAX_LAYERS, &from, name, err)))
        return st;
    c->window_by_layer = 1;
    memset(c->window_layers, 0, sizeof c->window_layers);
    int set = !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "sliding_window"));
    for (int l = from; l < c->num_layers && set; l++)
        c->window_layers[l / 8] |= (unsigned char)(1u << (l % 8));
    if ((st = mhv_config_layer_types(root, c, &any, name, err)) || !any)
        return st;
    if (!set)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "sliding layers with sliding_window null are not supported");
    (void)sw;
    return mhv_json_int(root, "sliding_window", 4096, 1, MHV_MAX_POSITIONS, &c->sliding_window,
                        name, err);
}

static mhv_status glm4_moe_config(const cJSON *root, mhv_config *c, const char *name,
                                  mhv_error *err)
{
    const variant *v = variant_of(c);
    mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, v->hidden, v->layers, v->heads,
                           v->inter,              v->vocab,  v->positions};
    mhv_status st;
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_config_gqa(root, v->kv_heads, c->hidden_size / c->num_heads, c, name, err)))
        return st; /* head_dim: getattr(config, "head_dim", hidden_size // heads) */
    double eps, partial = 1.0;
    int qk_norm = 1;
    if ((st = mhv_json_num(root, "rms_norm_eps", v->eps, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_SILU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "attention_bias", 0, &c->attn_bias, name, err)) ||
        (!v->dots1 &&
         (st = mhv_json_bool(root, "use_qk_norm", 0, &qk_norm, name, err))))
        return st;
    if (v->dots1)
        st = mhv_config_rope(root, &c->rope, name, err);
    else { /* Glm4MoeConfig: partial_rotary_factor 0.5 unless given */
        const cJSON *pr = mhv_json_get(root, "partial_rotary_factor");
        const cJSON *rp = mhv_json_get(root, "rope_parameters");
        int given = pr || (rp && mhv_json_get(rp, "partial_rotary_factor")) ||
                    (mhv_json_get(root, "rope_scaling") &&
                     mhv_json_get(mhv_json_get(root, "rope_scaling"), "partial_rotary_factor"));
        st = mhv_config_rope_partial(root, &c->rope, &partial, name, err);
        if (!given)
            partial = 0.5;
    }
    if (st)
        return st;
    c->rotary_dims = (int)(c->head_dim * partial); /* int(head_dim * factor), as transformers */
    if (c->rotary_dims < 2 || c->rotary_dims % 2 != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "partial_rotary_factor %g gives %d rotated dimensions (need an even "
                        "number >= 2)", partial, c->rotary_dims);
    if (c->rotary_dims == c->head_dim)
        c->rotary_dims = 0;
    c->qk_norm = qk_norm ? MHV_QK_NORM_HEAD : 0;
    c->layer_norm_eps = (float)eps;
    c->attn_out_bias = v->dots1 ? c->attn_bias : 0;
    c->causal = 1;
    if ((st = moe_config(root, v, c, name, err)))
        return st;
    return v->dots1 ? dots1_windows(root, c, name, err) : MHV_OK;
}

static size_t glm4_moe_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    /* the final norm; per layer two norms, q/k head norms, biases, the choice bias */
    return H + (size_t)c->num_layers * (3 * H + 2 * (size_t)c->head_dim + QD + 2 * KVD +
                                        (size_t)c->num_experts);
}

static int is_moe_layer(const mhv_config *c, int l)
{
    return (c->moe_layers[l / 8] >> (l % 8)) & 1;
}

static mhv_status glm4_moe_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* *ForCausalLM */
    static const char *const names[3] = {"gate_proj", "up_proj", "down_proj"};
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, V = c->vocab_size, d = c->head_dim;
    int QD = c->num_heads * d, KVD = c->num_kv_heads * d;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "norm.weight", H, 0, &m->norm_g, err)))
        return st;
    int moe_layers = 0;
    for (int l = 0; l < c->num_layers; l++)
        moe_layers += is_moe_layer(c, l);
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
        int moe = is_moe_layer(c, l);
        int I = moe ? c->shared_expert_size : c->intermediate_size;
        const char *mlp = moe ? "mlp.shared_experts" : "mlp";
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
#define M(part) (snprintf(n, sizeof n, "layers.%d.%s.%s.weight", l, mlp, part), n)
        if ((st = mhv_wload_vec(ld, N("input_layernorm.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, N("post_attention_layernorm.weight"), H, 0, &ly->ln_ffn_g,
                                err)) ||
            (st = mhv_decoder_load_attn_proj(ld, l, H, QD, KVD, 0, ly, err)) ||
            (c->attn_bias &&
             ((st = mhv_wload_vec(ld, N("self_attn.q_proj.bias"), QD, 0, &ly->q_b, err)) ||
              (st = mhv_wload_vec(ld, N("self_attn.k_proj.bias"), KVD, 0, &ly->k_b, err)) ||
              (st = mhv_wload_vec(ld, N("self_attn.v_proj.bias"), KVD, 0, &ly->v_b, err)))) ||
            (c->attn_out_bias &&
             (st = mhv_wload_vec(ld, N("self_attn.o_proj.bias"), H, 0, &ly->o_b, err))) ||
            (c->qk_norm &&
             ((st = mhv_wload_vec(ld, N("self_attn.q_norm.weight"), d, 0, &ly->q_norm_g, err)) ||
              (st = mhv_wload_vec(ld, N("self_attn.k_norm.weight"), d, 0, &ly->k_norm_g, err)))))
            return st;
        /* the dense MLP, or the shared experts (none when n_shared_experts is 0) */
        if (I > 0 && ((st = mhv_wload_mat(ld, M("gate_proj"), I, H, 0, &ly->ffn_gate, err)) ||
                      (st = mhv_wload_mat(ld, M("up_proj"), I, H, 0, &ly->ffn_up, err)) ||
                      (st = mhv_wload_mat(ld, M("down_proj"), H, I, 0, &ly->ffn_down, err))))
            return st;
        if (moe &&
            ((st = mhv_decoder_load_experts(m, ld, l, "mlp", names, c->moe_intermediate_size,
                                            moe_layers, err)) ||
             (st = mhv_wload_vec(ld, N("mlp.gate.e_score_correction_bias"), c->num_experts, 0,
                                 &ly->router_choice_b, err))))
            return st;
#undef M
#undef N
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status glm4_moe_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                   mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int d = c->head_dim, rot = c->rotary_dims ? c->rotary_dims : d;
    const mhv_moe moe = {
        .experts = c->num_experts, .top_k = c->experts_per_tok,
        .inter = c->moe_intermediate_size, .norm_topk = c->norm_topk_prob, .act = (int)c->act,
        .s_inter = c->shared_expert_size, .s_ungated = 1, .groups = c->moe_groups,
        .topk_groups = c->moe_topk_groups, .routed_scale = (float)c->moe_routed_scale,
    };
    const mhv_decoder dec = {MHV_NORM_RMS, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_GATED, &moe};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n,
                                      &(mhv_decoder_scratch){.rope_half = rot / 2}, &p, err);
    if (st)
        return st;
    mhv_rotary rope = mhv_decoder_rope(&p, &c->rope, rot, 0);

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_norm qn = {MHV_NORM_RMS, ly->q_norm_g, NULL, c->layer_norm_eps};
        mhv_norm kn = {MHV_NORM_RMS, ly->k_norm_g, NULL, c->layer_norm_eps};
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.causal = 1, attn.rope = &rope;
        attn.q_norm = ly->q_norm_g ? &qn : NULL, attn.k_norm = ly->k_norm_g ? &kn : NULL;
        attn.window = mhv_config_layer_slides(c, l) ? c->sliding_window : 0;
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

/* experts run over the rows routed to them, which packing changes */
static int glm4_moe_packs(const mhv_config *c)
{
    (void)c;
    return MHV_PACKS_ANY_ROWS;
}

const mhv_family mhv_family_glm4_moe = {
    .name = "glm4_moe",
    .model_types = model_types,
    .config = glm4_moe_config,
    .vector_floats = glm4_moe_vector_floats,
    .load = glm4_moe_load,
    .forward = glm4_moe_forward,
    .packs = glm4_moe_packs,
};
