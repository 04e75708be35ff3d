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
#include <math.h>
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
    /* the mixture's defaults: n_routed_experts, num_experts_per_tok and n_shared_experts (-1:
     * None, which transformers fails on), moe_intermediate_size, n_group and topk_group (0:
     * None), routed_scaling_factor */
    int experts, top_k, shared, moe_inter, groups, topk_groups;
    double scale;
    int deepseek;           /* 2 or 3: DeepSeek's multi-head latent attention (MLA) */
} variant;

static const variant variants[] = {
    {"glm4_moe", 0, 0, 151552, 4096, 10944, 46, 96, 8, 131072, 1e-5, 1, 1, 128, 8, 1, 1408, 1,
     1, 1.0, 0},
    {"dots1", 1, 0, 152064, 4608, 10944, 62, 32, 32, 2048, 1e-6, 0, 0, -1, -1, -1, 1408, 1, 1,
     1.0, 0},
    {"ernie4_5_moe", 0, 1, 103424, 2560, 12288, 28, 20, 4, 131072, 1e-5, 0, 0, 64, 6, 2, 1536,
     0, 0, 1.0, 0},
    {"deepseek_v2", 0, 0, 102400, 4096, 11008, 32, 32, 0, 2048, 1e-6, 0, 0, 64, -1, 2, 1407, 0,
     0, 1.0, 2},
    {"deepseek_v3", 0, 0, 129280, 7168, 18432, 61, 128, 128, 4096, 1e-6, 3, 1, 256, 8, 1, 2048,
     8, 4, 2.5, 3},
};

static const char *const model_types[] = {"glm4_moe", "dots1", "ernie4_5_moe", "deepseek_v2",
                                          "deepseek_v3", NULL};

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
    if (def < 0 && !mhv_json_get(root, key))
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "%s without %s is not supported (transformers fails on it)",
                        v->model_type, key);
    return mhv_json_int(root, key, def, lo, MHV_MAX_EXPERTS, out, name, err);
}

/* DeepSeek-V2's topk_method: greedy (no groups), or group_limited_greedy with n_group and
 * topk_group given. */
static mhv_status v2_routing(const cJSON *root, mhv_config *c, const char *name,
                             mhv_error *err)
{
    const char *method;
    mhv_status st = mhv_json_str(root, "topk_method", "greedy", &method, name, err);
    if (st)
        return st;
    c->moe_softmax_groups = 1;
    if (strcmp(method, "greedy") == 0) {
        c->moe_groups = c->moe_topk_groups = 0;
        return MHV_OK;
    }
    if (strcmp(method, "group_limited_greedy") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported topk_method '%.40s'", method);
    if (!c->moe_groups || !c->moe_topk_groups)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "group_limited_greedy without n_group and topk_group is not supported "
                        "(transformers fails on it)");
    return MHV_OK;
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
    if ((st = moe_count(root, v, experts, v->experts, 1, &c->num_experts, name, err)) ||
        (st = moe_count(root, v, "num_experts_per_tok", v->top_k, 1, &c->experts_per_tok, name,
                        err)) ||
        (st = moe_count(root, v, "n_shared_experts", v->shared, 0, &shared, name, err)) ||
        (st = mhv_json_int(root, "moe_intermediate_size", v->moe_inter, 1, 4 * MHV_MAX_HIDDEN,
                           &c->moe_intermediate_size, name, err)) ||
        (st = mhv_json_int(root, "n_group", v->groups, 0, MHV_MAX_EXPERTS, &c->moe_groups, name,
                           err)) ||
        (st = mhv_json_int(root, "topk_group", v->topk_groups, 0, MHV_MAX_EXPERTS,
                           &c->moe_topk_groups, name, err)) ||
        (st = mhv_json_int(root, "first_k_dense_replace", v->first_dense, 0, MHV_MAX_LAYERS + 1,
                           &dense, name, err)) ||
        (st = mhv_json_bool(root, "norm_topk_prob", v->norm_topk, &c->norm_topk_prob, name,
                            err)) ||
        (st = mhv_json_num(root, "routed_scaling_factor", v->scale, -1e6, 1e6, &scale, name,
                           err)))
        return st;
    if (c->experts_per_tok > c->num_experts || c->experts_per_tok > MHV_MOE_MAX_TOPK)
        return mhv_fail(err, MHV_EFORMAT, name, "num_experts_per_tok %d exceeds the %d experts",
                        c->experts_per_tok, c->num_experts);
    if (v->deepseek == 2 && (st = v2_routing(root, c, name, err)))
        return st;
    if (!c->moe_softmax_groups && (c->moe_groups < 1 || c->moe_topk_groups < 1))
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "n_group and topk_group must be at least 1 (transformers fails on them)");
    if (c->moe_groups) { /* greedy: none */
        /* transformers' view(-1, n_group, experts / n_group) and topk(2) of each group */
        if (c->num_experts % c->moe_groups != 0 ||
            (c->num_experts / c->moe_groups < 2 && !c->moe_softmax_groups))
            return mhv_fail(err, MHV_EUNSUPPORTED, name,
                            "n_group %d does not split %d experts into groups of 2 or more",
                            c->moe_groups, c->num_experts);
        if (c->moe_topk_groups > c->moe_groups)
            return mhv_fail(err, MHV_EFORMAT, name, "topk_group %d exceeds n_group %d",
                            c->moe_topk_groups, c->moe_groups);
        /* the chosen groups must hold top_k experts, or torch.topk picks masked ones (at
         * -inf: DeepSeek-V3's; V2's masked experts weigh 0 and add nothing) */
        if (c->moe_topk_groups * (c->num_experts / c->moe_groups) < c->experts_per_tok &&
            !c->moe_softmax_groups)
            return mhv_fail(err, MHV_EUNSUPPORTED, name,
                            "topk_group %d of %d experts each hold fewer than "
                            "num_experts_per_tok %d", c->moe_topk_groups,
                            c->num_experts / c->moe_groups, c->experts_per_tok);
    }
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

/* DeepSeek's multi-head latent attention: q_lora_rank (null: q_proj), kv_lora_rank, the heads'
 * qk_nope_head_dim + qk_rope_head_dim (head_dim here) and v_head_dim, rope_interleave (V3),
 * the rope over qk_rope_head_dim, the score scale qk_head_dim^-0.5 times YaRN's
 * mscale(factor, mscale_all_dim)^2 (yarn_apply_mscale). */
static mhv_status mla_config(const cJSON *root, const variant *v, mhv_config *c,
                             const char *name, mhv_error *err)
{
    mhv_status st;
    int interleave = 1;
    const cJSON *ql = cJSON_GetObjectItemCaseSensitive(root, "q_lora_rank");
    if (c->num_kv_heads != c->num_heads) /* repeat_kv of keys MLA already made per head */
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "num_key_value_heads %d other than num_attention_heads %d is not "
                        "supported for %s (transformers fails on it)", c->num_kv_heads,
                        c->num_heads, v->model_type);
    if (v->deepseek == 2 && c->hidden_size % c->num_heads != 0) /* validate_architecture */
        return mhv_fail(err, MHV_EFORMAT, name,
                        "hidden_size %d is not a multiple of num_attention_heads %d",
                        c->hidden_size, c->num_heads);
    if ((!(ql && cJSON_IsNull(ql)) &&
         (st = mhv_json_int(root, "q_lora_rank", 1536, 1, MHV_MAX_HIDDEN, &c->mla_q_lora, name,
                            err))) ||
        (st = mhv_json_int(root, "kv_lora_rank", 512, 1, MHV_MAX_HIDDEN, &c->mla_kv_lora, name,
                           err)) ||
        (st = mhv_json_int(root, "qk_nope_head_dim", 128, 0, MHV_MAX_HIDDEN, &c->mla_nope, name,
                           err)) ||
        (st = mhv_json_int(root, "qk_rope_head_dim", 64, 2, MHV_MAX_HIDDEN, &c->mla_rope, name,
                           err)) ||
        (st = mhv_json_int(root, "v_head_dim", 128, 1, MHV_MAX_HIDDEN, &c->mla_v, name, err)) ||
        (v->deepseek == 3 &&
         (st = mhv_json_bool(root, "rope_interleave", 1, &interleave, name, err))) ||
        (st = mhv_config_rope(root, &c->rope, name, err)))
        return st;
    if (c->mla_rope % 2 != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "qk_rope_head_dim %d is odd", c->mla_rope);
    c->head_dim = c->mla_nope + c->mla_rope;
    c->kv_heads = 1; /* head_dim is its own, not hidden_size / heads */
    if ((long)c->head_dim * c->num_heads > 4L * MHV_MAX_HIDDEN)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "%d heads of %d dimensions", c->num_heads,
                        c->head_dim);
    if (c->mla_v > c->head_dim) /* the values ride in the heads' columns */
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "v_head_dim %d above qk_nope_head_dim + qk_rope_head_dim %d is not "
                        "supported", c->mla_v, c->head_dim);
    if (c->mla_rope / 2 > MHV_MAX_ROPE_PAIRS)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "qk_rope_head_dim %d", c->mla_rope);
    /* V2's complex rotation keeps the pairs interleaved, V3's interleave lays the rotated
     * evens before the odds, and V3 without it rotates halves */
    c->mla_rope_layout = v->deepseek == 2 ? 0 : interleave ? 1 : 2;
    double scale = pow((double)c->head_dim, -0.5);
    const cJSON *sc = mhv_json_get(root, "rope_scaling");
    if (!sc || !cJSON_IsObject(sc))
        sc = mhv_json_get(root, "rope_parameters");
    if (sc && cJSON_IsObject(sc) && c->rope.kind != MHV_ROPE_NONE) {
        double all, factor;
        if ((st = mhv_json_num(sc, "mscale_all_dim", 0, -1e6, 1e6, &all, name, err)) ||
            (st = mhv_json_num(sc, "factor", 1.0, 0, 1e6, &factor, name, err)))
            return st;
        if (c->rope.kind == MHV_ROPE_YARN)
            factor = c->rope.factor; /* factor null: the context's ratio */
        if (all != 0 && factor > 1) {
            double ms = 0.1 * all * log(factor) + 1.0;
            scale = scale * ms * ms;
        }
    }
    c->attn_scale = scale;
    return MHV_OK;
}

static mhv_status glm4_moe_config(const cJSON *root, mhv_config *c, const char *name,
                                  mhv_error *err)
{
    const variant *v = variant_of(c);
    /* DeepSeek-V3's and GLM-4.5's FP8 releases: float8 blocks with their scales */
    const cJSON *q = mhv_json_get(root, "quantization_config");
    if (q) {
        const cJSON *qm = cJSON_IsObject(q) ? mhv_json_get(q, "quant_method") : NULL;
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "quantization_config (%.20s) is not supported for %s",
                        qm && cJSON_IsString(qm) ? qm->valuestring : "?", v->model_type);
    }
    mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, v->hidden, v->layers, v->heads,
                           v->inter,              v->vocab,  v->positions};
    mhv_status st;
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)))
        return st;
    /* MLA's heads are qk_nope_head_dim + qk_rope_head_dim wide whatever head_dim says (the
     * config sets it to qk_rope_head_dim) */
    if (v->deepseek)
        st = mhv_json_int(root, "num_key_value_heads", v->kv_heads ? v->kv_heads : c->num_heads,
                          1, MHV_MAX_HEADS, &c->num_kv_heads, name, err);
    else /* head_dim: getattr(config, "head_dim", hidden_size // heads) */
        st = mhv_config_gqa(root, v->kv_heads, c->hidden_size / c->num_heads, c, name, err);
    if (st)
        return st;
    double eps, partial = 1.0;
    int qk_norm = !v->ernie && !v->deepseek;
    if (v->deepseek) {
        if ((st = mhv_json_num(root, "rms_norm_eps", v->eps, -1e-300, 1, &eps, name, err)) ||
            (st = mhv_config_act(root, "hidden_act", MHV_ACT_SILU, &c->act, name, err)) ||
            (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                                err)) ||
            (st = mhv_json_bool(root, "attention_bias", 0, &c->attn_bias, name, err)) ||
            (v->deepseek == 2 &&
             (st = mhv_json_bool(root, "mlp_bias", 0, &c->mlp_bias, name, err))) ||
            (st = mla_config(root, v, c, name, err)))
            return st;
        c->layer_norm_eps = (float)eps;
        c->attn_out_bias = c->attn_bias;
        c->causal = 1;
        return moe_config(root, v, c, name, err);
    }
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
                       (size_t)c->num_experts + 2 * (size_t)c->mla_q_lora +
                       2 * (size_t)(c->mla_kv_lora + c->mla_rope); /* MLA's */
    return H + (size_t)c->vocab_size /* ERNIE's LM head bias */ +
           (size_t)c->num_layers * per_layer;
}

static int is_moe_layer(const mhv_config *c, int l)
{
    return (c->moe_layers[l / 8] >> (l % 8)) & 1;
}

/* Layer l's latent attention (DeepSeek): q_a_proj, q_a_layernorm and q_b_proj (q in ly->q),
 * or q_proj; kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj; o_proj; with attention_bias the
 * biases of q_a_proj, kv_a_proj_with_mqa and o_proj. */
static mhv_status load_mla(mhv_wload *ld, const mhv_config *c, int l, mhv_layer *ly,
                           mhv_error *err)
{
    int H = c->hidden_size, heads = c->num_heads, QL = c->mla_q_lora, KL = c->mla_kv_lora;
    int QD = heads * c->head_dim, b = c->attn_bias;
    char n[160];
    mhv_status st;
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.self_attn.%s", l, suffix), n)
    if (QL && ((st = mhv_wload_mat(ld, N("q_a_proj.weight"), QL, H, 0, &ly->mla_q_a, err)) ||
               (b && (st = mhv_wload_vec(ld, N("q_a_proj.bias"), QL, 0, &ly->mla_q_a_b, err))) ||
               (st = mhv_wload_vec(ld, N("q_a_layernorm.weight"), QL, 0, &ly->mla_q_a_g, err)) ||
               (st = mhv_wload_mat(ld, N("q_b_proj.weight"), QD, QL, 0, &ly->q, err))))
        return st;
    if ((!QL && (st = mhv_wload_mat(ld, N("q_proj.weight"), QD, H, 0, &ly->q, err))) ||
        (st = mhv_wload_mat(ld, N("kv_a_proj_with_mqa.weight"), KL + c->mla_rope, H, 0,
                            &ly->mla_kv_a, err)) ||
        (b && (st = mhv_wload_vec(ld, N("kv_a_proj_with_mqa.bias"), KL + c->mla_rope, 0,
                                  &ly->mla_kv_a_b, err))) ||
        (st = mhv_wload_vec(ld, N("kv_a_layernorm.weight"), KL, 0, &ly->mla_kv_a_g, err)) ||
        (st = mhv_wload_mat(ld, N("kv_b_proj.weight"), heads * (c->mla_nope + c->mla_v), KL, 0,
                            &ly->mla_kv_b, err)) ||
        (st = mhv_wload_mat(ld, N("o_proj.weight"), H, heads * c->mla_v, 0, &ly->o, err)) ||
        (b && (st = mhv_wload_vec(ld, N("o_proj.bias"), H, 0, &ly->o_b, err))))
        return st;
#undef N
    return MHV_OK;
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
                                err)))
            return st;
        if (c->mla_kv_lora) {
            if ((st = load_mla(ld, c, l, ly, err)))
                return st;
        } else if ((st = mhv_decoder_load_attn_proj(ld, l, H, QD, KVD, 0, ly, err)) ||
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
        } else if (moe && !c->moe_softmax_groups && /* DeepSeek-V2's router has none */
                   (st = mhv_wload_vec(ld, N(cb), c->num_experts, 0, &ly->router_choice_b,
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

/* Rotates the r dimensions of x by one position's cos, sin (r / 2,) in MLA's layout
 * (mhv_config.mla_rope_layout), through tmp (r,). */
static void mla_rotate(float *x, int r, int layout, const float *cs, const float *sn,
                       float *tmp)
{
    int half = r / 2;
    for (int j = 0; j < half; j++) {
        float a = layout == 2 ? x[j] : x[2 * j], b = layout == 2 ? x[j + half] : x[2 * j + 1];
        float re = a * cs[j] - b * sn[j], im = b * cs[j] + a * sn[j];
        if (layout == 0) /* (a + bi)(cos + i sin), kept in its pair */
            tmp[2 * j] = re, tmp[2 * j + 1] = a * sn[j] + b * cs[j];
        else
            tmp[j] = re, tmp[j + half] = im;
    }
    memcpy(x, tmp, (size_t)r * sizeof *x);
}

/* The buffers of MLA's projections over n tokens, carved from one. */
typedef struct {
    float *xn;      /* (n, H) the layer's normalised input */
    float *qa;      /* (n, q_lora) */
    float *ckv;     /* (n, kv_lora + rope) */
    float *kvn;     /* (n, kv_lora) */
    float *kvb;     /* (n, heads * (nope + v)) */
} mla_bufs;

static size_t mla_floats(const mhv_config *c, int n)
{
    size_t per = (size_t)c->hidden_size + (size_t)c->mla_q_lora +
                 2 * (size_t)c->mla_kv_lora + (size_t)c->mla_rope +
                 (size_t)c->num_heads * (size_t)(c->mla_nope + c->mla_v);
    return (size_t)n * per;
}

/* q, k and v of layer l into p's attention buffers: q and k of head_dim (nope, then the
 * rotated part; the keys' rotated part shared by the heads), each head's values in its first
 * v_head_dim columns, zeros after. */
static void mla_project(mhv_nn *nn, const mhv_config *c, const mhv_layer *ly,
                        const mhv_decoder_pass *p, const mla_bufs *b, const mhv_rotary *rope)
{
    int n = p->n, H = c->hidden_size, heads = c->num_heads, d = c->head_dim;
    int QL = c->mla_q_lora, KL = c->mla_kv_lora, R = c->mla_rope, NP = c->mla_nope;
    int V = c->mla_v, KB = NP + V;
    size_t QD = (size_t)heads * (size_t)d;
    mhv_norm ln1 = {MHV_NORM_RMS, ly->ln_attn_g, NULL, c->layer_norm_eps};
    mhv_norm qan = {MHV_NORM_RMS, ly->mla_q_a_g, NULL, 1e-6f}; /* the latents' default eps */
    mhv_norm kvan = {MHV_NORM_RMS, ly->mla_kv_a_g, NULL, 1e-6f};
    mhv_nn_norm(nn, b->xn, p->x, &ln1, n, H);
    if (QL) {
        mhv_nn_linear(nn, b->qa, b->xn, &ly->mla_q_a, ly->mla_q_a_b, n, MHV_NN_NO_ACT);
        mhv_nn_norm(nn, b->qa, b->qa, &qan, n, QL);
        mhv_nn_linear(nn, p->attn.q, b->qa, &ly->q, NULL, n, MHV_NN_NO_ACT);
    } else {
        mhv_nn_linear(nn, p->attn.q, b->xn, &ly->q, NULL, n, MHV_NN_NO_ACT);
    }
    mhv_nn_linear(nn, b->ckv, b->xn, &ly->mla_kv_a, ly->mla_kv_a_b, n, MHV_NN_NO_ACT);
    for (size_t i = 0; i < (size_t)n; i++)
        memcpy(b->kvn + i * (size_t)KL, b->ckv + i * (size_t)(KL + R), (size_t)KL * sizeof(float));
    mhv_nn_norm(nn, b->kvn, b->kvn, &kvan, n, KL);
    mhv_nn_linear(nn, b->kvb, b->kvn, &ly->mla_kv_b, NULL, n, MHV_NN_NO_ACT);
    float tmp[2 * MHV_MAX_ROPE_PAIRS];
    int half = rope->half;
    for (size_t i = 0; i < (size_t)n; i++) {
        const float *cs = rope->cos_t + i * (size_t)half, *sn = rope->sin_t + i * (size_t)half;
        float *kr = b->ckv + i * (size_t)(KL + R) + KL; /* the shared rotated key */
        mla_rotate(kr, R, c->mla_rope_layout, cs, sn, tmp);
        for (size_t h = 0; h < (size_t)heads; h++) {
            float *q = p->attn.q + i * QD + h * (size_t)d;
            float *k = p->attn.k + i * QD + h * (size_t)d;
            float *v = p->attn.v + i * QD + h * (size_t)d;
            const float *kv = b->kvb + (i * (size_t)heads + h) * (size_t)KB;
            mla_rotate(q + NP, R, c->mla_rope_layout, cs, sn, tmp);
            memcpy(k, kv, (size_t)NP * sizeof *k);
            memcpy(k + NP, kr, (size_t)R * sizeof *k);
            memcpy(v, kv + NP, (size_t)V * sizeof *v);
            memset(v + V, 0, (size_t)(d - V) * sizeof *v);
        }
    }
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
        .softmax_groups = c->moe_softmax_groups,
    };
    const mhv_decoder dec = {MHV_NORM_RMS, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_GATED, &moe};
    int mla = c->mla_kv_lora > 0;
    if (mla && cap->vnorm == MHV_VNORM_VO) /* the values are padded to the heads' width */
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "value norms through the output projection (--weighting norm-out) are "
                        "not supported for %s", c->arch);
    float *mla_buf;
    mhv_decoder_scratch s = {.rope_half = mla ? c->mla_rope / 2 : rot / 2,
                             .extra = {{&mla_buf, mla ? mla_floats(c, n) : 1}}};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (st)
        return st;
    mhv_rotary rope = mhv_decoder_rope(&p, &c->rope, mla ? c->mla_rope : rot,
                                       variant_of(c)->ernie);
    mla_bufs mb = {.xn = mla_buf};
    mb.qa = mb.xn + (size_t)n * (size_t)c->hidden_size;
    mb.ckv = mb.qa + (size_t)n * (size_t)c->mla_q_lora;
    mb.kvn = mb.ckv + (size_t)n * (size_t)(c->mla_kv_lora + c->mla_rope);
    mb.kvb = mb.kvn + (size_t)n * (size_t)c->mla_kv_lora;

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
        if (mla) { /* the projections made here, rotated and laid out per head */
            mla_project(nn, c, ly, &p, &mb, &rope);
            attn.projected = 1, attn.rope = NULL, attn.wo = NULL;
            attn.scale = (float)c->attn_scale, attn.ctx_v_dim = c->mla_v;
        }
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

/* experts run over the rows routed to them, which packing changes; MLA's rotation here
 * counts positions from the pass's first token */
static int glm4_moe_packs(const mhv_config *c)
{
    return c->mla_kv_lora ? MHV_PACKS_NO : MHV_PACKS_ANY_ROWS;
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
