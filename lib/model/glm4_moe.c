/* glm4_moe.c - the decoders with a routed mixture and shared experts on a grouped-query
 * attention: GLM-4.5 / GLM-4-MoE (Glm4MoeModel, Glm4MoeForCausalLM) and dots.llm1
 * (Dots1Model, Dots1ForCausalLM) with DeepSeek-V3's routing, ERNIE 4.5 MoE
 * (Ernie4_5_MoeModel, Ernie4_5_MoeForCausalLM) with its own.
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
 * max_window_layers (or as layer_types says). ERNIE 4.5 MoE chooses its experts by the
 * router's softmax + e_score_correction_bias (moe_statics, (1, experts)), weights them by
 * the softmax divided by max(their sum, moe_norm_min), has them on the layers
 * moe_layer_interval / start / end say, biases every projection but the experts' with
 * use_bias (its LM head's too) and rotates interleaved pairs (2i, 2i+1), as ERNIE 4.5. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

typedef struct {
    const char *model_type;
    int dots1;              /* Qwen3's attention and windows, DeepSeek-V3's None defaults */
    int ernie;              /* ERNIE 4.5's names, routing, biases and interleaved rotary */
    /* the config class's defaults: vocab_size, hidden_size, intermediate_size,
     * num_hidden_layers, num_attention_heads, num_key_value_heads, max_position_embeddings */
    int vocab, hidden, inter, layers, heads, kv_heads, positions;
    double eps;
    int first_dense, norm_topk;
} variant;

static const variant variants[] = {
    {"glm4_moe", 0, 0, 151552, 4096, 10944, 46, 96, 8, 131072, 1e-5, 1, 1},
    {"dots1", 1, 0, 152064, 4608, 10944, 62, 32, 32, 2048, 1e-6, 0, 0},
    {"ernie4_5_moe", 0, 1, 103424, 2560, 12288, 28, 20, 4, 131072, 1e-5, 0, 0},
};

static const char *const model_types[] = {"glm4_moe", "dots1", "ernie4_5_moe", NULL};

static const variant *variant_of(const mhv_config *c)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        if (strcmp(variants[i].model_type, c->arch) == 0)
            return &variants[i];
    return &variants[0];
}

/* ERNIE 4.5's mixture: moe_num_experts (num_experts) top moe_k (num_experts_per_tok),
 * moe_num_shared_experts, moe_norm_min, on the layers l with (l + 1) % moe_layer_interval
 * == 0 from moe_layer_start_index to moe_layer_end_index (-1: the last). */
static mhv_status ernie_moe_config(const cJSON *root, mhv_config *c, const char *name,
                                   mhv_error *err)
{
    int shared, start, end, interval;
    double norm_min;
    const char *ek = mhv_json_get(root, "moe_num_experts") ? "moe_num_experts" : "num_experts";
    const char *kk = mhv_json_get(root, "moe_k") ? "moe_k" : "num_experts_per_tok";
    mhv_status st;
    if ((st = mhv_json_int(root, ek, 64, 1, MHV_MAX_EXPERTS, &c->num_experts, name, err)) ||
        (st = mhv_json_int(root, kk, 6, 1, MHV_MAX_EXPERTS, &c->experts_per_tok, name, err)) ||
        (st = mhv_json_int(root, "moe_num_shared_experts", 2, 0, MHV_MAX_EXPERTS, &shared, name,
                           err)) ||
        (st = mhv_json_int(root, "moe_intermediate_size", 1536, 1, 4 * MHV_MAX_HIDDEN,
                           &c->moe_intermediate_size, name, err)) ||
        (st = mhv_json_int(root, "moe_layer_start_index", 1, -MHV_MAX_LAYERS, MHV_MAX_LAYERS,
                           &start, name, err)) ||
        (st = mhv_json_int(root, "moe_layer_end_index", -1, -MHV_MAX_LAYERS, MHV_MAX_LAYERS,
                           &end, name, err)) ||
        (st = mhv_json_int(root, "moe_layer_interval", 1, 1, MHV_MAX_LAYERS + 1, &interval, name,
                           err)) ||
        (st = mhv_json_num(root, "moe_norm_min", 1e-12, 0, 1e6, &norm_min, name, err)))
        return st;
    if (c->experts_per_tok > c->num_experts || c->experts_per_tok > MHV_MOE_MAX_TOPK)
        return mhv_fail(err, MHV_EFORMAT, name, "moe_k %d exceeds the %d experts",
                        c->experts_per_tok, c->num_experts);
    if (end == -1)
        end = c->num_layers - 1;
    c->shared_expert_size = c->moe_intermediate_size * shared;
    c->moe_norm_min = norm_min;
    memset(c->moe_layers, 0, sizeof c->moe_layers);
    for (int l = 0; l < c->num_layers; l++)
        if ((l + 1) % interval == 0 && l >= start && l <= end)
            c->moe_layers[l / 8] |= (unsigned char)(1u << (l % 8));
    return MHV_OK;
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
    int routed = mhv_json_get(root, "n_routed_experts") || !mhv_json_get(root,
                                                                         "num_local_experts");
    const char *experts = routed ? "n_routed_experts" : "num_local_experts";
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
    int qk_norm = !v->ernie;
    if ((st = mhv_json_num(root, "rms_norm_eps", v->eps, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_SILU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", v->ernie, &c->tie_word_embeddings,
                            name, err)) ||
        (st = mhv_json_bool(root, v->ernie ? "use_bias" : "attention_bias", 0, &c->attn_bias,
                            name, err)) ||
        (!v->dots1 && !v->ernie &&
         (st = mhv_json_bool(root, "use_qk_norm", 0, &qk_norm, name, err))))
        return st;
    if (v->dots1 || v->ernie) {
        st = mhv_config_rope(root, &c->rope, name, err);
        const cJSON *p = mhv_json_get(root, "rope_parameters");
        if (!st && v->ernie && !mhv_json_get(root, "rope_theta") &&
            !(p && mhv_json_get(p, "rope_theta")))
            c->rope.theta = 500000.0; /* Ernie4_5_MoeConfig.default_theta */
    } else { /* Glm4MoeConfig: partial_rotary_factor 0.5 unless given */
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
    c->attn_out_bias = v->dots1 || v->ernie ? c->attn_bias : 0;
    c->mlp_bias = v->ernie && c->attn_bias; /* use_bias: the dense and shared MLPs too */
    c->causal = 1;
    if (v->ernie)
        return ernie_moe_config(root, c, name, err);
    if ((st = moe_config(root, v, c, name, err)))
        return st;
    return v->dots1 ? dots1_windows(root, c, name, err) : MHV_OK;
}

static size_t glm4_moe_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    size_t I = (size_t)(c->intermediate_size > c->shared_expert_size ? c->intermediate_size
                                                                       : c->shared_expert_size);
    /* the final norm; per layer two norms, q/k head norms, biases (ERNIE's MLPs' too), the
     * choice bias */
    size_t per_layer = 4 * H + 2 * (size_t)c->head_dim + QD + 2 * KVD + 2 * I +
                       (size_t)c->num_experts;
    return H + (size_t)c->vocab_size /* ERNIE's LM head bias */ +
           (size_t)c->num_layers * per_layer;
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
#define B(part) (snprintf(n, sizeof n, "layers.%d.%s.%s.bias", l, mlp, part), n)
        if (I > 0 && c->mlp_bias &&
            ((st = mhv_wload_vec(ld, B("gate_proj"), I, 0, &ly->ffn_gate_b, err)) ||
             (st = mhv_wload_vec(ld, B("up_proj"), I, 0, &ly->ffn_up_b, err)) ||
             (st = mhv_wload_vec(ld, B("down_proj"), H, 0, &ly->ffn_down_b, err))))
            return st;
#undef B
        /* ERNIE 4.5 keeps its correction bias as (1, experts) */
        const char *cb = c->moe_norm_min > 0 ? "mlp.moe_statics.e_score_correction_bias"
                                             : "mlp.gate.e_score_correction_bias";
        const int64_t cb_dims[2] = {1, c->num_experts};
        mhv_mat cbm;
        if (moe && (st = mhv_decoder_load_experts(m, ld, l, "mlp", names,
                                                  c->moe_intermediate_size, moe_layers, err)))
            return st;
        if (moe && c->moe_norm_min > 0) {
            if ((st = mhv_wload_tensor(ld, N(cb), cb_dims, 2, 0, &cbm, err)) ||
                (st = mhv_wload_zeros(ld, c->num_experts, &ly->router_choice_b, err)))
                return st;
            mhv_mat_row(&cbm, 0, ly->router_choice_b);
        } else if (moe && (st = mhv_wload_vec(ld, N(cb), c->num_experts, 0, &ly->router_choice_b,
                                              err)))
            return st;
#undef M
#undef N
    }
    /* ERNIE 4.5 MoE's LM head has a bias with use_bias */
    int head_bias = c->moe_norm_min > 0 && c->attn_bias;
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", head_bias ? "lm_head.bias" : NULL,
                                    err);
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
        .softmax_bias = c->moe_norm_min > 0, .norm_min = (float)c->moe_norm_min,
    };
    const mhv_decoder dec = {MHV_NORM_RMS, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_GATED, &moe};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n,
                                      &(mhv_decoder_scratch){.rope_half = rot / 2}, &p, err);
    if (st)
        return st;
    mhv_rotary rope = mhv_decoder_rope(&p, &c->rope, rot, variant_of(c)->ernie);

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
