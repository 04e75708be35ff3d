/* llama.c - the llama family: LLaMA 2/3, Mistral, Qwen2, Qwen3, Phi-3, OLMo 2 and 3, Granite,
 * SmolLM3, Ministral (3), Seed-OSS, Arcee, ERNIE 4.5, HunYuan dense, Apertus
 * (LlamaModel, MistralModel, Qwen2Model, Qwen3Model, Phi3Model, Olmo2Model, GraniteModel and
 * their *ForCausalLM):
 * RMSNorm, rotary positions, grouped-query attention, SwiGLU, causal attention with an
 * optional sliding window.
 *
 *   x = embed[id]
 *   per layer: x += o(attn(rope(q, k), v)(rms_1(x)));  x += down(silu(gate(h)) * up(h)),
 *              h = rms_2(x)
 *   logits = norm(x) · lm_head^T
 * Qwen3 normalises each query and key head (RMSNorm) before the rotation; OLMo 2 the whole
 * query and key projections, and normalises the attention and FFN outputs instead of their
 * inputs (x += rms_1(o(attn(x))), x += rms_2(down(...)(x))); Phi-3 stores q/k/v as one
 * qkv_proj ([Q; K; V] rows) and gate/up as one gate_up_proj ([gate; up] rows), may rotate
 * only the first dimensions of each head (partial_rotary_factor) and may scale its rotary
 * frequencies per pair (longrope, with other factors past the original context). Granite
 * multiplies the embeddings, scales the scores by attention_multiplier, adds each sublayer's
 * output times residual_multiplier and divides the logits by logits_scaling.
 * SmolLM3 skips the rotation on the layers no_rope_layers marks (by default every
 * no_rope_layer_interval-th) and may slide the window on the layers layer_types names.
 * OLMo 3 is OLMo 2 with sliding layers (layer_types) and a rotary table per layer type;
 * Ministral slides by layer_types, Ministral 3 scales its queries by position
 * (llama_4_scaling_beta); Seed-OSS flags its o_proj bias apart; Arcee's MLP is plain,
 * down(relu2(up(h))); ERNIE 4.5 rotates interleaved pairs (2i, 2i+1) and biases every
 * projection by use_bias; HunYuan normalises its query and key heads after the rotation;
 * Apertus's plain MLP activates by xIELU with each layer's own parameters.
 * The model_types differ only in defaults and flags: the rows of `variants`. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"
#include "nn/rope.h"

enum { FROM_CONFIG = -1 };

typedef enum {
    WINDOW_NONE,    /* full causal attention */
    WINDOW_ALL,     /* sliding_window on every layer (Mistral) */
    WINDOW_UPPER,   /* with use_sliding_window, on layers >= max_window_layers (Qwen2) */
    WINDOW_OPTIONAL, /* sliding_window on every layer when set (Phi-3; default none) */
    WINDOW_USE_ALL, /* with use_sliding_window, on every layer (Qwen3-MoE) */
    WINDOW_TYPES,   /* with use_sliding_window, on the layers layer_types names, by default
                     * the even ones below max_window_layers (Qwen2-MoE) */
    WINDOW_NOPE,    /* on the layers layer_types names, by default (with use_sliding_window)
                     * the layers without rotary positions (SmolLM3) */
    WINDOW_FOURTH,  /* on the layers layer_types names, by default all but every fourth
                     * (OLMo 3) */
    WINDOW_SET,     /* on the layers layer_types names, by default every layer
                     * (Ministral) */
    WINDOW_NULLABLE /* sliding_window on every layer when set (Ministral 3: default none) */
} window_rule;

typedef enum {
    MOE_NONE,
    MOE_MIXTRAL,    /* block_sparse_moe: gate, experts.E.w1/w3/w2; top k renormalised */
    MOE_QWEN2,      /* mlp: gate, experts.E.gate_proj/up_proj/down_proj, shared_expert and
                     * shared_expert_gate; mlp_only_layers, decoder_sparse_step */
    MOE_QWEN3       /* as Qwen2-MoE without the shared expert */
} moe_kind;

typedef struct {
    const char *model_type;
    int max_positions;      /* max_position_embeddings when config.json omits it */
    int qkv_bias;           /* q/k/v biases: FROM_CONFIG (attention_bias), 0 or 1 */
    int o_bias;             /* o_proj bias: FROM_CONFIG (same as q/k/v), 0 or 1 */
    int mlp_bias;           /* FROM_CONFIG (mlp_bias) or 0 */
    window_rule window;
    int head_dim;           /* head_dim when config.json omits it; 0: hidden / heads */
    int qk_norm;            /* MHV_QK_NORM_*: q_norm / k_norm weights */
    int post_norms;         /* OLMo 2: post_attention_ and post_feedforward_layernorm on the
                             * sublayer outputs, no input norms */
    int fused;              /* Phi-3: qkv_proj and gate_up_proj; partial rotary allowed */
    moe_kind moe;           /* mixture-of-experts feed-forward layers */
    int multipliers;        /* Granite: embedding_multiplier, attention_multiplier (the score
                             * scale), residual_multiplier, logits_scaling (a divisor) */
    int tied;               /* tie_word_embeddings when config.json omits it */
    double theta;           /* rope_theta when config.json omits it; 0: 10000 */
    double eps;             /* rms_norm_eps when config.json omits it; 0: 1e-6 */
    /* the later rows' differences (zero for the rows above) */
    int type_ropes;         /* OLMo 3: rope_parameters per layer type (full_attention,
                             * sliding_attention), rope_scaling the full layers' */
    int plain_mlp;          /* Arcee: down(act(up(x))), no gate */
    int act;                /* hidden_act when config.json omits it: an mhv_act + 1; 0: silu */
    int bias_default;       /* attention_bias when config.json omits it (Seed-OSS: true) */
    const char *out_bias_key; /* the o_proj bias's own flag (Seed-OSS attention_out_bias,
                               * default false), or NULL */
    const char *bias_key;   /* one flag for every projection's bias, attention's and MLP's
                             * (ERNIE 4.5 use_bias), or NULL */
    int interleaved;        /* rotary pairs (2i, 2i+1) (ERNIE 4.5) */
    int qk_norm_late;       /* HunYuan: query_layernorm / key_layernorm of each head after
                             * the rotation */
    int need_head_dim;      /* transformers fails without head_dim (Ministral) */
    int apertus;            /* Apertus: attention_layernorm / feedforward_layernorm, hidden_act
                             * xielu by default (each layer's mlp.act_fn parameters), llama3
                             * rope by default */
    int llama4_beta;        /* Ministral 3: queries scaled by 1 + beta log(1 + floor(pos /
                             * original)) (rope_parameters llama_4_scaling_beta) */
} variant;

static const variant variants[] = {
    {"llama", 2048, FROM_CONFIG, FROM_CONFIG, FROM_CONFIG, WINDOW_NONE, 0, 0, 0, 0, MOE_NONE,
     0, 0, 0, 0, .type_ropes = 0},
    {"mistral", 131072, FROM_CONFIG, FROM_CONFIG, FROM_CONFIG, WINDOW_ALL, 0, 0, 0, 0,
     MOE_NONE, 0, 0, 0, 0, .type_ropes = 0},
    {"qwen2", 32768, 1, 0, 0, WINDOW_UPPER, 0, 0, 0, 0, MOE_NONE, 0, 0, 0, 0, .type_ropes = 0},
    {"qwen3", 32768, FROM_CONFIG, FROM_CONFIG, 0, WINDOW_UPPER, 128, MHV_QK_NORM_HEAD, 0, 0,
     MOE_NONE, 0, 0, 0, 0, .type_ropes = 0},
    {"phi3", 4096, 0, 0, 0, WINDOW_OPTIONAL, 0, 0, 0, 1, MOE_NONE, 0, 0, 0, 1e-5, .type_ropes = 0},
    {"olmo2", 2048, FROM_CONFIG, FROM_CONFIG, 0, WINDOW_NONE, 0, MHV_QK_NORM_FULL, 1, 0, MOE_NONE,
     0, 0, 0, 1e-5, .type_ropes = 0},
    {"mixtral", 131072, 0, 0, 0, WINDOW_OPTIONAL, 0, 0, 0, 0, MOE_MIXTRAL, 0, 0, 0, 1e-5,
     .type_ropes = 0},
    {"qwen2_moe", 32768, FROM_CONFIG, 0, 0, WINDOW_TYPES, 0, 0, 0, 0, MOE_QWEN2, 0, 0, 0, 0,
     .type_ropes = 0},
    {"qwen3_moe", 32768, FROM_CONFIG, FROM_CONFIG, 0, WINDOW_USE_ALL, 0, MHV_QK_NORM_HEAD, 0, 0,
     MOE_QWEN3, 0, 0, 0, 0, .type_ropes = 0},
    {"granite", 2048, FROM_CONFIG, FROM_CONFIG, FROM_CONFIG, WINDOW_NONE, 0, 0, 0, 0, MOE_NONE,
     1, 0, 0, 0, .type_ropes = 0},
    {"smollm3", 32768, FROM_CONFIG, FROM_CONFIG, FROM_CONFIG, WINDOW_NOPE, 0, 0, 0, 0, MOE_NONE,
     0, 1, 2000000.0, 0, .type_ropes = 0},
    {"olmo3", 2048, FROM_CONFIG, FROM_CONFIG, 0, WINDOW_FOURTH, 0, MHV_QK_NORM_FULL, 1, 0,
     MOE_NONE, 0, 0, 500000.0, 1e-5, .type_ropes = 1},
    {"ministral", 131072, 0, 0, 0, WINDOW_SET, 0, 0, 0, 0, MOE_NONE, 0, 0, 0, 0,
     .need_head_dim = 1},
    {"ministral3", 262144, 0, 0, 0, WINDOW_NULLABLE, 128, 0, 0, 0, MOE_NONE, 0, 0, 0, 1e-5,
     .llama4_beta = 1},
    {"seed_oss", 524288, FROM_CONFIG, FROM_CONFIG, FROM_CONFIG, WINDOW_NONE, 128, 0, 0, 0,
     MOE_NONE, 0, 0, 0, 0, .bias_default = 1, .out_bias_key = "attention_out_bias"},
    {"arcee", 4096, FROM_CONFIG, FROM_CONFIG, FROM_CONFIG, WINDOW_NONE, 0, 0, 0, 0, MOE_NONE, 0,
     0, 0, 1e-5, .plain_mlp = 1, .act = MHV_ACT_RELU2 + 1},
    {"ernie4_5", 131072, FROM_CONFIG, FROM_CONFIG, FROM_CONFIG, WINDOW_NONE, 128, 0, 0, 0,
     MOE_NONE, 0, 1, 500000.0, 1e-5, .bias_key = "use_bias", .interleaved = 1},
    {"apertus", 65536, FROM_CONFIG, FROM_CONFIG, 0, WINDOW_NONE, 0, MHV_QK_NORM_HEAD, 0, 0,
     MOE_NONE, 0, 0, 12000000.0, 1e-5, .plain_mlp = 1, .apertus = 1},
    {"hunyuan_v1_dense", 2048, FROM_CONFIG, FROM_CONFIG, 0, WINDOW_NONE, 0, MHV_QK_NORM_HEAD, 0,
     0, MOE_NONE, 0, 0, 0, 1e-5, .qk_norm_late = 1},
};

static const char *const model_types[] = {"llama",     "mistral", "qwen2",   "qwen3",
                                          "phi3",      "olmo2",   "mixtral", "qwen2_moe",
                                          "qwen3_moe", "granite", "smollm3",
                                          "olmo3",     "ministral", "ministral3",
                                          "seed_oss",  "arcee",   "ernie4_5",
                                          "hunyuan_v1_dense", "apertus", NULL};

static const variant *variant_of(const mhv_config *c)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        if (strcmp(variants[i].model_type, c->arch) == 0)
            return &variants[i];
    return &variants[0];
}

/* Qwen2 slides the window only on layers >= max_window_layers, and only with
 * use_sliding_window; an explicit layer_types list must agree with that split. */
static mhv_status upper_window(const cJSON *root, const char *name, mhv_config *c,
                               mhv_error *err)
{
    int use = 0;
    mhv_status st;
    if ((st = mhv_json_bool(root, "use_sliding_window", 0, &use, name, err)))
        return st;
    c->sliding_window = 0;
    c->window_from_layer = c->num_layers;
    if (use &&
        ((st = mhv_json_int(root, "sliding_window", 4096, 1, MHV_MAX_POSITIONS,
                            &c->sliding_window, name, err)) ||
         (st = mhv_json_int(root, "max_window_layers", 28, 0, MHV_MAX_LAYERS,
                            &c->window_from_layer, name, err))))
        return st;
    const cJSON *lt = mhv_json_get(root, "layer_types");
    if (!lt)
        return MHV_OK;
    if (!cJSON_IsArray(lt) || cJSON_GetArraySize(lt) != c->num_layers)
        return mhv_fail(err, MHV_EFORMAT, name, "field 'layer_types' is not a list of %d names",
                        c->num_layers);
    int l = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, lt)
    {
        if (!cJSON_IsString(it))
            return mhv_fail(err, MHV_EFORMAT, name, "field 'layer_types' holds a non-string");
        int sliding = strcmp(it->valuestring, "sliding_attention") == 0;
        if (!sliding && strcmp(it->valuestring, "full_attention") != 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported layer type '%.40s'",
                            it->valuestring);
        if (sliding != (c->sliding_window > 0 && l >= c->window_from_layer))
            return mhv_fail(err, MHV_EUNSUPPORTED, name,
                            "layer_types disagrees with use_sliding_window/max_window_layers");
        l++;
    }
    return MHV_OK;
}

/* Qwen2-MoE: the layers layer_types names slide (by default the even ones below
 * max_window_layers), when use_sliding_window. */
static mhv_status typed_window(const cJSON *root, const char *name, mhv_config *c,
                               mhv_error *err)
{
    int use = 0, below = 28, any = 0;
    mhv_status st;
    if ((st = mhv_json_bool(root, "use_sliding_window", 0, &use, name, err)) ||
        (st = mhv_json_int(root, "max_window_layers", 28, 0, MHV_MAX_LAYERS, &below, name,
                           err)))
        return st;
    c->window_by_layer = 1;
    memset(c->window_layers, 0, sizeof c->window_layers);
    for (int l = 0; l < c->num_layers; l++)
        if ((l + 1) % 2 && l < below && use)
            c->window_layers[l / 8] |= (unsigned char)(1u << (l % 8));
    if ((st = mhv_config_layer_types(root, c, &any, name, err)))
        return st;
    if (!any)
        return MHV_OK;
    if (!use)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "sliding layers without use_sliding_window are not supported");
    return mhv_json_int(root, "sliding_window", 4096, 1, MHV_MAX_POSITIONS, &c->sliding_window,
                        name, err);
}

/* The experts of a mixture-of-experts variant and which layers have them. */
static mhv_status moe_config(const cJSON *root, const variant *v, mhv_config *c,
                             const char *name, mhv_error *err)
{
    static const int experts[] = {0, 8, 60, 128}, top_k[] = {0, 2, 4, 8};
    static const int inter[] = {0, 0, 1408, 768};
    mhv_status st;
    /* num_experts is the older files' name of num_local_experts (attribute_map) */
    const char *key = mhv_json_get(root, "num_local_experts") ? "num_local_experts"
                                                               : "num_experts";
    int step = 1;
    if ((st = mhv_json_int(root, key, experts[v->moe], 0, MHV_MAX_EXPERTS, &c->num_experts,
                           name, err)) ||
        (st = mhv_json_int(root, "num_experts_per_tok", top_k[v->moe], 1, MHV_MAX_EXPERTS,
                           &c->experts_per_tok, name, err)))
        return st;
    memset(c->moe_layers, 0, sizeof c->moe_layers);
    if (v->moe == MOE_MIXTRAL) {
        c->norm_topk_prob = 1;
        c->moe_intermediate_size = c->intermediate_size;
        if (c->num_experts < 1)
            return mhv_fail(err, MHV_EFORMAT, name, "num_local_experts must be at least 1");
    } else if ((st = mhv_json_bool(root, "norm_topk_prob", 0, &c->norm_topk_prob, name, err)) ||
               (st = mhv_json_int(root, "moe_intermediate_size", inter[v->moe], 1,
                                  4 * MHV_MAX_HIDDEN, &c->moe_intermediate_size, name, err)) ||
               (st = mhv_json_int(root, "decoder_sparse_step", 1, 1, MHV_MAX_LAYERS + 1, &step,
                                  name, err)))
        return st;
    if (v->moe == MOE_QWEN2 &&
        (st = mhv_json_int(root, "shared_expert_intermediate_size", 5632, 1, 4 * MHV_MAX_HIDDEN,
                           &c->shared_expert_size, name, err)))
        return st;
    if (c->num_experts && c->experts_per_tok > c->num_experts)
        return mhv_fail(err, MHV_EFORMAT, name, "num_experts_per_tok %d exceeds the %d experts",
                        c->experts_per_tok, c->num_experts);
    const cJSON *dense = mhv_json_get(root, "mlp_only_layers");
    if (dense && !cJSON_IsArray(dense))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'mlp_only_layers' is not a list");
    for (int l = 0; l < c->num_layers; l++)
        if (c->num_experts > 0 && (l + 1) % step == 0)
            c->moe_layers[l / 8] |= (unsigned char)(1u << (l % 8));
    const cJSON *it;
    cJSON_ArrayForEach(it, dense)
    {
        if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble))
            return mhv_fail(err, MHV_EFORMAT, name, "field 'mlp_only_layers' holds a non-integer");
        if (it->valuedouble >= 0 && it->valuedouble < c->num_layers) { /* others: no layer */
            int l = (int)it->valuedouble;
            c->moe_layers[l / 8] &= (unsigned char)~(1u << (l % 8));
        }
    }
    return MHV_OK;
}

/* SmolLM3: the layers without rotary positions (no_rope_layers, 0 for those, else every
 * no_rope_layer_interval-th) and the sliding ones (layer_types, else with
 * use_sliding_window and a sliding_window those without rotary). HF's eager attention
 * slides where layer_types says; other attention implementations only with
 * use_sliding_window, so sliding layers without it are refused. */
static mhv_status nope_layers(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    int interval, use = 0, any = 0;
    mhv_status st;
    if ((st = mhv_json_int(root, "no_rope_layer_interval", 4, 1, MHV_MAX_LAYERS + 1, &interval,
                           name, err)) ||
        (st = mhv_json_bool(root, "use_sliding_window", 0, &use, name, err)))
        return st;
    const cJSON *nr = mhv_json_get(root, "no_rope_layers");
    if (nr && (!cJSON_IsArray(nr) || cJSON_GetArraySize(nr) < c->num_layers))
        return mhv_fail(err, MHV_EFORMAT, name,
                        "field 'no_rope_layers' is not a list of %d flags", c->num_layers);
    const cJSON *sw = mhv_json_get(root, "sliding_window");
    int has_window = sw && !cJSON_IsNull(sw);
    const cJSON *lt = mhv_json_get(root, "layer_types");
    if (lt && (!cJSON_IsArray(lt) || cJSON_GetArraySize(lt) < c->num_layers))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'layer_types' is not a list of %d names",
                        c->num_layers);
    memset(c->nope_layers, 0, sizeof c->nope_layers);
    memset(c->window_layers, 0, sizeof c->window_layers);
    c->window_by_layer = 1;
    for (int l = 0; l < c->num_layers; l++) {
        int rope = (l + 1) % interval != 0;
        if (nr) {
            const cJSON *it = cJSON_GetArrayItem(nr, l);
            if (!cJSON_IsNumber(it) && !cJSON_IsBool(it))
                return mhv_fail(err, MHV_EFORMAT, name, "field 'no_rope_layers' holds a non-flag");
            rope = cJSON_IsNumber(it) ? it->valuedouble != 0 : cJSON_IsTrue(it);
        }
        int sliding = use && has_window && !rope;
        if (lt) {
            const cJSON *it = cJSON_GetArrayItem(lt, l);
            if (!cJSON_IsString(it))
                return mhv_fail(err, MHV_EFORMAT, name, "field 'layer_types' holds a non-string");
            sliding = strcmp(it->valuestring, "sliding_attention") == 0;
            if (!sliding && strcmp(it->valuestring, "full_attention") != 0)
                return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported layer type '%.40s'",
                                it->valuestring);
        }
        if (!rope)
            c->nope_layers[l / 8] |= (unsigned char)(1u << (l % 8));
        if (sliding)
            c->window_layers[l / 8] |= (unsigned char)(1u << (l % 8)), any = 1;
    }
    if (!any)
        return MHV_OK;
    if (!use)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "sliding layers without use_sliding_window are not supported");
    if (!has_window)
        return mhv_fail(err, MHV_EFORMAT, name, "sliding layers need a sliding_window");
    return mhv_json_int(root, "sliding_window", 0, 1, MHV_MAX_POSITIONS, &c->sliding_window,
                        name, err);
}

static int is_moe_layer(const mhv_config *c, int l)
{
    return c->num_experts > 0 && ((c->moe_layers[l / 8] >> (l % 8)) & 1);
}

/* The rope settings of a Phi-3 config: rope_scaling, else rope_parameters. */
static const cJSON *phi3_rope_settings(const cJSON *root)
{
    const cJSON *sc = mhv_json_get(root, "rope_scaling");
    if (!sc || !cJSON_IsObject(sc))
        sc = mhv_json_get(root, "rope_parameters");
    return sc && cJSON_IsObject(sc) ? sc : NULL;
}

/* Phi-3's rope: theta and partial rotary as any config's; Phi3Config turns the types 'su'
 * and 'yarn' into 'longrope', whose factors longrope_factors reads. */
static mhv_status phi3_rope(const cJSON *root, mhv_config *c, double *partial,
                            const char *name, mhv_error *err)
{
    const cJSON *sc = phi3_rope_settings(root);
    const cJSON *ty = sc ? mhv_json_get(sc, "rope_type") : NULL;
    if (sc && !ty)
        ty = mhv_json_get(sc, "type");
    const char *t = ty && cJSON_IsString(ty) ? ty->valuestring : "";
    if (*t && strcmp(t, "default") != 0 && strcmp(t, "longrope") != 0 && strcmp(t, "su") != 0 &&
        strcmp(t, "yarn") != 0) /* Phi3Config.validate_rope */
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "unsupported rope scaling type '%.40s' (Phi-3: default or longrope)", t);
    if (strcmp(t, "longrope") != 0 && strcmp(t, "su") != 0 && strcmp(t, "yarn") != 0)
        return mhv_config_rope_partial(root, &c->rope, partial, name, err);
    /* the same settings read as plain rope: theta and partial_rotary_factor */
    cJSON *dup = cJSON_Duplicate(root, 1);
    if (!dup)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    const char *key = mhv_json_get(root, "rope_scaling") == sc ? "rope_scaling" : "rope_parameters";
    cJSON *dsc = cJSON_GetObjectItemCaseSensitive(dup, key);
    cJSON_DeleteItemFromObjectCaseSensitive(dsc, "type");
    cJSON_DeleteItemFromObjectCaseSensitive(dsc, "rope_type");
    mhv_status st = mhv_config_rope_partial(dup, &c->rope, partial, name, err);
    cJSON_Delete(dup);
    c->longrope = 1;
    return st;
}

/* A list of count numbers into out (fp32, as torch.tensor(..., dtype=float32)). */
static mhv_status factor_list(const cJSON *sc, const char *key, int count, float *out,
                              const char *name, mhv_error *err)
{
    const cJSON *a = mhv_json_get(sc, key);
    if (!a || !cJSON_IsArray(a) || cJSON_GetArraySize(a) != count)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "longrope %s must be a list of %d numbers (rotated dimensions / 2)", key,
                        count);
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsNumber(it) || !(it->valuedouble > 0 && it->valuedouble < 1e30))
            return mhv_fail(err, MHV_EFORMAT, name,
                            "longrope %s holds a number outside (0, 1e30)", key);
        out[i++] = (float)it->valuedouble;
    }
    return MHV_OK;
}

/* transformers' _compute_longrope_parameters for Phi-3: short_factor / long_factor per
 * rotated pair, the original context from Phi3Config's own original_max_position_embeddings
 * (default 4096), attention_factor given or sqrt(1 + ln(factor) / ln(original)), factor
 * given or max_position_embeddings / original. */
static mhv_status longrope_factors(const cJSON *root, mhv_config *c, const char *name,
                                   mhv_error *err)
{
    const cJSON *sc = phi3_rope_settings(root);
    int pairs = (c->rotary_dims ? c->rotary_dims : c->head_dim) / 2;
    if (pairs > MHV_MAX_ROPE_PAIRS)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "longrope over %d rotated pairs", pairs);
    mhv_status st;
    double factor, attention;
    if ((st = factor_list(sc, "short_factor", pairs, c->longrope_short, name, err)) ||
        (st = factor_list(sc, "long_factor", pairs, c->longrope_long, name, err)) ||
        (st = mhv_json_int(root, "original_max_position_embeddings", 4096, 2, MHV_MAX_POSITIONS,
                           &c->longrope_original, name, err)) ||
        (st = mhv_json_num(sc, "factor", (double)c->max_positions / c->longrope_original, 0,
                           1e6, &factor, name, err)))
        return st;
    attention = factor <= 1.0 ? 1.0 : sqrt(1 + log(factor) / log((double)c->longrope_original));
    if ((st = mhv_json_num(sc, "attention_factor", attention, 0, 1e6, &c->longrope_attention,
                           name, err)))
        return st;
    return MHV_OK;
}

/* GraniteConfig's four multipliers (each default 1): the token embeddings times
 * embedding_multiplier, the scores times attention_multiplier instead of 1/sqrt(head_dim),
 * each sublayer's output times residual_multiplier before its residual add, the logits
 * divided by logits_scaling. */
static mhv_status granite_multipliers(const cJSON *root, mhv_config *c, const char *name,
                                      mhv_error *err)
{
    mhv_status st;
    if ((st = mhv_json_num(root, "embedding_multiplier", 1.0, 0, 1e6, &c->embed_scale, name,
                           err)) ||
        (st = mhv_json_num(root, "attention_multiplier", 1.0, 0, 1e6, &c->attn_scale, name,
                           err)) ||
        (st = mhv_json_num(root, "residual_multiplier", 1.0, 0, 1e6, &c->residual_scale, name,
                           err)) ||
        (st = mhv_json_num(root, "logits_scaling", 1.0, 0, 1e6, &c->logits_div, name, err)))
        return st;
    return MHV_OK;
}

/* OLMo 3 and Ministral: the layers layer_types names slide (by default OLMo 3's all but
 * every fourth, Ministral's every one), by sliding_window (default 4096). Null is refused:
 * their models build the sliding mask whatever the layers, which fails without a window. */
static mhv_status sliding_types(const cJSON *root, const variant *v, mhv_config *c,
                                const char *name, mhv_error *err)
{
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
    int any = 0;
    if (sw && cJSON_IsNull(sw))
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "sliding_window null is not supported for %s (transformers fails on it)",
                        v->model_type);
    c->window_by_layer = 1;
    memset(c->window_layers, 0, sizeof c->window_layers);
    for (int l = 0; l < c->num_layers; l++)
        if (v->window == WINDOW_SET || (l + 1) % 4 != 0)
            c->window_layers[l / 8] |= (unsigned char)(1u << (l % 8));
    mhv_status st = mhv_config_layer_types(root, c, &any, name, err);
    if (st)
        return st;
    return mhv_json_int(root, "sliding_window", 4096, 1, MHV_MAX_POSITIONS, &c->sliding_window,
                        name, err);
}

/* One layer type's rotary settings (OLMo 3): sub (its rope_parameters entry, or NULL) read as
 * a plain config's, theta when it gives none, scaling (rope_scaling) merged over it, beside
 * root's max_position_embeddings (yarn's original context by default). */
static mhv_status type_rope(const cJSON *root, const cJSON *sub, double theta,
                            const cJSON *scaling, mhv_rope *r, const char *name, mhv_error *err)
{
    cJSON *tmp = cJSON_CreateObject(), *params = sub ? cJSON_Duplicate(sub, 1)
                                                      : cJSON_CreateObject();
    int ok = tmp && params && cJSON_AddItemToObject(tmp, "rope_parameters", params);
    if (!ok)
        cJSON_Delete(params);
    const cJSON *it;
    if (ok && scaling) /* dict.update: rope_scaling's entries replace the type's */
        cJSON_ArrayForEach(it, scaling)
        {
            cJSON_DeleteItemFromObjectCaseSensitive(params, it->string);
            ok = ok && cJSON_AddItemToObject(params, it->string, cJSON_Duplicate(it, 1));
        }
    if (ok && !mhv_json_get(params, "rope_theta"))
        ok = cJSON_AddNumberToObject(params, "rope_theta", theta) != NULL;
    const cJSON *max_pos = mhv_json_get(root, "max_position_embeddings");
    if (ok && max_pos)
        ok = cJSON_AddItemToObject(tmp, "max_position_embeddings", cJSON_Duplicate(max_pos, 1));
    mhv_status st = ok ? mhv_config_rope(tmp, r, name, err)
                       : mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    cJSON_Delete(tmp);
    /* transformers reads yarn's truncate from the whole rope_parameters, where the per-type
     * entries leave it unset: true (as Gemma 3's) */
    if (!st && r->kind == MHV_ROPE_YARN)
        r->truncate = 1;
    return st;
}

/* OLMo 3's two rotary tables: rope_parameters' full_attention and sliding_attention entries
 * (transformers 5), else rope_theta and rope_scaling for the full layers and default_theta
 * (500000) for the sliding ones (Olmo3Config.convert_rope_params_to_dict). The sliding
 * layers' are rope_local. */
static mhv_status type_ropes(const cJSON *root, mhv_config *c, const char *name, mhv_error *err)
{
    const cJSON *params = mhv_json_get(root, "rope_parameters");
    const cJSON *scaling = mhv_json_get(root, "rope_scaling");
    const cJSON *full = params ? mhv_json_get(params, "full_attention") : NULL;
    const cJSON *local = params ? mhv_json_get(params, "sliding_attention") : NULL;
    if ((params && !cJSON_IsObject(params)) || (scaling && !cJSON_IsObject(scaling)) ||
        (full && !cJSON_IsObject(full)) || (local && !cJSON_IsObject(local)))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'rope_parameters' holds a non-object");
    if (params && !full && !local)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "rope_parameters without full_attention/sliding_attention entries are "
                        "not supported for olmo3");
    double theta;
    mhv_status st;
    c->two_ropes = 1;
    /* convert_rope_params_to_dict pops rope_theta for the full layers' entry: the sliding
     * ones' is default_theta unless their entry gives one */
    if ((st = mhv_json_num(root, "rope_theta", 500000.0, 0, 1e12, &theta, name, err)) ||
        (st = type_rope(root, full, theta, scaling, &c->rope, name, err)) ||
        (st = type_rope(root, local, 500000.0, NULL, &c->rope_local, name, err)))
        return st;
    return MHV_OK;
}

/* HunYuan's rope: as any config's, except the type "dynamic" with an alpha, which it turns
 * into fixed NTK-alpha frequencies: base rope_theta * alpha^(head_dim / (head_dim - 2)). */
static mhv_status ntk_alpha_rope(const cJSON *root, mhv_config *c, const char *name,
                                 mhv_error *err)
{
    const cJSON *sc = phi3_rope_settings(root);
    const cJSON *ty = sc ? mhv_json_get(sc, "rope_type") : NULL;
    if (sc && !ty)
        ty = mhv_json_get(sc, "type");
    if (!ty || !cJSON_IsString(ty) || strcmp(ty->valuestring, "dynamic") != 0 ||
        !mhv_json_get(sc, "alpha"))
        return mhv_config_rope(root, &c->rope, name, err);
    double alpha;
    mhv_status st = mhv_json_num(sc, "alpha", 0, 0, 1e12, &alpha, name, err);
    if (st)
        return st;
    if (!mhv_json_get(root, "head_dim")) /* transformers reads config.head_dim: None fails */
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "the dynamic rope's alpha without head_dim is not supported");
    if (c->head_dim <= 2) /* the exponent d / (d - 2): transformers divides by zero */
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "the dynamic rope's alpha with head_dim "
                        "%d is not supported (its exponent divides by head_dim - 2)",
                        c->head_dim);
    cJSON *dup = cJSON_Duplicate(root, 1);
    if (!dup)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    const char *key = mhv_json_get(root, "rope_scaling") == sc ? "rope_scaling" : "rope_parameters";
    cJSON *dsc = cJSON_GetObjectItemCaseSensitive(dup, key);
    cJSON_DeleteItemFromObjectCaseSensitive(dsc, "type");
    cJSON_DeleteItemFromObjectCaseSensitive(dsc, "rope_type");
    st = mhv_config_rope(dup, &c->rope, name, err);
    cJSON_Delete(dup);
    double d = c->head_dim;
    c->rope.theta *= pow(alpha, d / (d - 2));
    return st;
}

/* Ministral 3's rope (default: Ministral3Config's yarn, factor 16 over 16384 positions, theta
 * 1e6) and llama_4_scaling_beta: queries at position pos are scaled by
 * 1 + beta log(1 + floor(pos / original_max_position_embeddings)). */
static mhv_status ministral3_rope(const cJSON *root, mhv_config *c, const char *name,
                                  mhv_error *err)
{
    const cJSON *params = phi3_rope_settings(root);
    mhv_status st;
    if (params) { /* Ministral3Attention fails without either */
        if (!mhv_json_get(params, "llama_4_scaling_beta") ||
            !mhv_json_get(params, "original_max_position_embeddings"))
            return mhv_fail(err, MHV_EUNSUPPORTED, name,
                            "ministral3 rope settings without llama_4_scaling_beta and "
                            "original_max_position_embeddings are not supported (transformers "
                            "fails on them)");
        if ((st = mhv_config_rope(root, &c->rope, name, err)) ||
            (st = mhv_json_num(params, "llama_4_scaling_beta", 0, -1e6, 1e6, &c->llama4_beta,
                               name, err)) ||
            (st = mhv_json_int(params, "original_max_position_embeddings", 1, 1,
                               MHV_MAX_POSITIONS, &c->llama4_original, name, err)))
            return st;
        return MHV_OK;
    }
    static const char def[] =
        "{\"rope_parameters\": {\"type\": \"yarn\", \"rope_theta\": 1000000.0, \"factor\": 16.0,"
        " \"original_max_position_embeddings\": 16384, \"beta_fast\": 32.0, \"beta_slow\": 1.0,"
        " \"mscale_all_dim\": 1.0, \"mscale\": 1.0}}";
    cJSON *tmp = cJSON_Parse(def);
    if (!tmp)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    const cJSON *max_pos = mhv_json_get(root, "max_position_embeddings");
    if (max_pos)
        cJSON_AddItemToObject(tmp, "max_position_embeddings", cJSON_Duplicate(max_pos, 1));
    st = mhv_config_rope(tmp, &c->rope, name, err);
    cJSON_Delete(tmp);
    c->llama4_beta = 0.1, c->llama4_original = 16384;
    return st;
}

/* Apertus's rope: rope_scaling or rope_parameters as any config's (theta default_theta,
 * 12e6, unless given), else ApertusConfig's llama3 (theta 12e6, factor 8 over 8192
 * positions, low 1 and high 4), whatever a top-level rope_theta says. */
static mhv_status apertus_rope(const cJSON *root, mhv_config *c, const char *name,
                               mhv_error *err)
{
    if (phi3_rope_settings(root))
        return mhv_config_rope(root, &c->rope, name, err);
    static const char def[] =
        "{\"rope_parameters\": {\"rope_type\": \"llama3\", \"rope_theta\": 12000000.0, "
        "\"factor\": 8.0, \"original_max_position_embeddings\": 8192, "
        "\"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0}}";
    cJSON *tmp = cJSON_Parse(def);
    if (!tmp)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    mhv_status st = mhv_config_rope(tmp, &c->rope, name, err);
    cJSON_Delete(tmp);
    return st;
}

static mhv_status llama_config(const cJSON *root, mhv_config *c, const char *name,
                               mhv_error *err)
{
    const variant *v = variant_of(c);
    mhv_status st;
    mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, -1, -1, -1, -1, -1, v->max_positions};
    if (v->need_head_dim && !mhv_json_get(root, "head_dim")) /* None ** -0.5 fails */
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "%s without head_dim is not supported (transformers fails on it)",
                        v->model_type);
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_config_gqa(root, 0, v->head_dim, c, name, err)))
        return st;

    double eps;
    const char *act_name = "";
    if (v->apertus && (st = mhv_json_str(root, "hidden_act", "xielu", &act_name, name, err)))
        return st;
    c->xielu = strcmp(act_name, "xielu") == 0; /* Apertus's own, with parameters */
    if ((st = mhv_json_num(root, "rms_norm_eps", v->eps ? v->eps : 1e-6, -1e-300, 1, &eps, name,
                           err)) ||
        (!c->xielu &&
         (st = mhv_config_act(root, "hidden_act", v->act ? (mhv_act)(v->act - 1) : MHV_ACT_SILU,
                              &c->act, name, err))) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", v->tied, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "mlp_bias", 0, &c->mlp_bias, name, err)))
        return st;
    if (v->type_ropes) {
        if ((st = type_ropes(root, c, name, err)))
            return st;
    } else if (v->qk_norm_late) {
        if ((st = ntk_alpha_rope(root, c, name, err)))
            return st;
    } else if (v->llama4_beta) {
        if ((st = ministral3_rope(root, c, name, err)))
            return st;
    } else if (v->apertus) {
        if ((st = apertus_rope(root, c, name, err)))
            return st;
    } else if (!v->fused && (st = mhv_config_rope(root, &c->rope, name, err)))
        return st;
    if (v->theta && !v->type_ropes && !mhv_json_get(root, "rope_theta")) { /* default_theta */
        const cJSON *p = mhv_json_get(root, "rope_parameters");
        if (!p || !cJSON_IsObject(p) || !mhv_json_get(p, "rope_theta"))
            c->rope.theta = v->theta;
    }
    if (v->fused) {
        double partial;
        if ((st = phi3_rope(root, c, &partial, name, err)))
            return st;
        c->rotary_dims = (int)(c->head_dim * partial); /* int(head_dim * factor), as HF */
        if (c->rotary_dims < 2 || c->rotary_dims % 2 != 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, name,
                            "partial_rotary_factor %g gives %d rotated dimensions (need an even "
                            "number >= 2)", partial, c->rotary_dims);
        if (c->longrope && (st = longrope_factors(root, c, name, err)))
            return st;
        if (c->rotary_dims == c->head_dim)
            c->rotary_dims = 0;
    }
    c->qk_norm = v->qk_norm;
    c->layer_norm_eps = (float)eps;
    if (v->qkv_bias != FROM_CONFIG)
        c->attn_bias = v->qkv_bias;
    else if (v->moe == MOE_QWEN2) { /* Qwen2MoeConfig: qkv_bias, default true */
        if ((st = mhv_json_bool(root, "qkv_bias", 1, &c->attn_bias, name, err)))
            return st;
    } else if ((st = mhv_json_bool(root, v->bias_key ? v->bias_key : "attention_bias",
                                   v->bias_default, &c->attn_bias, name, err)))
        return st;
    c->attn_out_bias = v->o_bias == FROM_CONFIG ? c->attn_bias : v->o_bias;
    if (v->out_bias_key &&
        (st = mhv_json_bool(root, v->out_bias_key, 0, &c->attn_out_bias, name, err)))
        return st;
    if (v->mlp_bias != FROM_CONFIG)
        c->mlp_bias = v->mlp_bias;
    if (v->bias_key) /* ERNIE 4.5: use_bias on the MLP too, mlp_bias unused */
        c->mlp_bias = c->attn_bias;
    if (v->qk_norm_late)
        c->qk_norm_late = 1;
    c->causal = 1;
    if (v->moe && (st = moe_config(root, v, c, name, err)))
        return st;
    if (v->multipliers && (st = granite_multipliers(root, c, name, err)))
        return st;
    switch (v->window) {
    case WINDOW_NONE:
        return MHV_OK;
    case WINDOW_ALL: { /* an explicit null is MistralConfig's None: no window */
        const cJSON *sw = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
        if (sw && cJSON_IsNull(sw))
            return MHV_OK;
        return mhv_json_int(root, "sliding_window", 4096, 0, MHV_MAX_POSITIONS,
                            &c->sliding_window, name, err);
    }
    case WINDOW_UPPER:
        return upper_window(root, name, c, err);
    case WINDOW_OPTIONAL:
        return mhv_json_int(root, "sliding_window", 0, 0, MHV_MAX_POSITIONS, &c->sliding_window,
                            name, err);
    case WINDOW_USE_ALL: {
        int use;
        if ((st = mhv_json_bool(root, "use_sliding_window", 0, &use, name, err)))
            return st;
        /* null is Qwen3MoeConfig's None: no window; missing its default, 4096 */
        const cJSON *sw = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
        if (!use || (sw && cJSON_IsNull(sw)))
            return MHV_OK;
        return mhv_json_int(root, "sliding_window", 4096, 0, MHV_MAX_POSITIONS,
                            &c->sliding_window, name, err);
    }
    case WINDOW_TYPES:
        return typed_window(root, name, c, err);
    case WINDOW_NOPE:
        return nope_layers(root, c, name, err);
    case WINDOW_FOURTH:
    case WINDOW_SET:
        return sliding_types(root, v, c, name, err);
    case WINDOW_NULLABLE: /* null or missing: MistralConfig's None, no window */
        return mhv_json_int(root, "sliding_window", 0, 0, MHV_MAX_POSITIONS, &c->sliding_window,
                            name, err);
    }
    return MHV_OK;
}

static size_t llama_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    /* norms (up to 4 of hidden, q/k of a head or a projection), biases */
    size_t per_layer = 5 * H + 2 * QD + 3 * KVD + 2 * (size_t)c->intermediate_size +
                       6 /* xIELU */;
    return H + (size_t)c->num_layers * per_layer;
}

/* The router and experts of MoE layer l (and Qwen2-MoE's shared expert). */
static mhv_status load_moe(mhv_model *m, mhv_wload *ld, int l, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const variant *v = variant_of(c);
    mhv_layer *ly = &m->layers[l];
    int H = c->hidden_size;
    const char *block = v->moe == MOE_MIXTRAL ? "block_sparse_moe" : "mlp";
    static const char *const mixtral[3] = {"w1", "w3", "w2"};
    static const char *const qwen[3] = {"gate_proj", "up_proj", "down_proj"};
    int moe_layers = 0;
    for (int i = 0; i < c->num_layers; i++)
        moe_layers += is_moe_layer(c, i);
    mhv_status st = mhv_decoder_load_experts(m, ld, l, block,
                                             v->moe == MOE_MIXTRAL ? mixtral : qwen,
                                             c->moe_intermediate_size, moe_layers, err);
    if (st || v->moe != MOE_QWEN2)
        return st;
    int S = c->shared_expert_size;
    char n[200];
    mhv_mat *dst[3] = {&ly->ffn_gate, &ly->ffn_up, &ly->ffn_down};
    for (int t = 0; t < 3; t++) {
        snprintf(n, sizeof n, "layers.%d.mlp.shared_expert.%s.weight", l, qwen[t]);
        if ((st = mhv_wload_mat(ld, n, t == 2 ? H : S, t == 2 ? S : H, 0, dst[t], err)))
            return st;
    }
    snprintf(n, sizeof n, "layers.%d.mlp.shared_expert_gate.weight", l);
    return mhv_wload_mat(ld, n, 1, H, 0, &ly->shared_gate, err);
}

/* softplus(x) as torch computes it in fp32 (beta 1, threshold 20) */
static float softplus(float x)
{
    return x > 20.0f ? x : log1pf(expf(x));
}

/* Layer l's xIELU parameters (Apertus): alpha_p and alpha_n (1,), beta and eps (), kept as
 * applied: {softplus(alpha_p), beta + softplus(alpha_n), beta, eps}. */
static mhv_status load_xielu(mhv_wload *ld, int l, mhv_layer *ly, mhv_error *err)
{
    char n[160];
    float *ap, *an, beta = 0, eps = 0;
    mhv_status st;
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.mlp.act_fn.%s", l, suffix), n)
    if ((st = mhv_wload_vec(ld, N("alpha_p"), 1, 0, &ap, err)) ||
        (st = mhv_wload_vec(ld, N("alpha_n"), 1, 0, &an, err)) ||
        (st = mhv_wload_scalar(ld, N("beta"), 0, &beta, err)) ||
        (st = mhv_wload_scalar(ld, N("eps"), 0, &eps, err)) ||
        (st = mhv_wload_zeros(ld, 4, &ly->xielu, err)))
        return st;
#undef N
    ly->xielu[0] = softplus(ap[0]);
    ly->xielu[1] = beta + softplus(an[0]);
    ly->xielu[2] = beta, ly->xielu[3] = eps;
    return MHV_OK;
}

static mhv_status llama_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* *ForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    int QD = c->num_heads * c->head_dim, KVD = c->num_kv_heads * c->head_dim;
    int ab = c->attn_bias ? 0 : MHV_W_OPTIONAL, ob = c->attn_out_bias ? 0 : MHV_W_OPTIONAL;
    int mb = c->mlp_bias ? 0 : MHV_W_OPTIONAL;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "norm.weight", H, 0, &m->norm_g, err)))
        return st;
    const variant *v = variant_of(c);
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
        /* biases a config says are absent are not read even when present */
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
#define BIAS(flag, suffix, len, dst) \
    (!(flag) && (st = mhv_wload_vec(ld, N(suffix), len, 0, dst, err)))
        if (v->fused) { /* [Q; K; V] and [gate; up] row blocks */
            mhv_mat qkv, gu;
            if ((st = mhv_wload_mat(ld, N("self_attn.qkv_proj.weight"), QD + 2 * KVD, H, 0, &qkv,
                                    err)) ||
                (st = mhv_wload_mat(ld, N("mlp.gate_up_proj.weight"), 2 * I, H, 0, &gu, err)))
                return st;
            ly->q = mhv_mat_rows(&qkv, 0, QD);
            ly->k = mhv_mat_rows(&qkv, QD, KVD);
            ly->v = mhv_mat_rows(&qkv, QD + KVD, KVD);
            ly->ffn_gate = mhv_mat_rows(&gu, 0, I);
            ly->ffn_up = mhv_mat_rows(&gu, I, I);
        } else if ((st = mhv_wload_mat(ld, N("self_attn.q_proj.weight"), QD, H, 0, &ly->q,
                                       err)) ||
                   (st = mhv_wload_mat(ld, N("self_attn.k_proj.weight"), KVD, H, 0, &ly->k,
                                       err)) ||
                   (st = mhv_wload_mat(ld, N("self_attn.v_proj.weight"), KVD, H, 0, &ly->v,
                                       err)))
            return st;
        int moe = is_moe_layer(c, l);
        if (moe && (st = load_moe(m, ld, l, err)))
            return st;
        if (!v->fused && !moe &&
            ((!v->plain_mlp &&
              (st = mhv_wload_mat(ld, N("mlp.gate_proj.weight"), I, H, 0, &ly->ffn_gate, err))) ||
             (st = mhv_wload_mat(ld, N("mlp.up_proj.weight"), I, H, 0, &ly->ffn_up, err)) ||
             (st = mhv_wload_mat(ld, N("mlp.down_proj.weight"), H, I, 0, &ly->ffn_down, err)) ||
             (!v->plain_mlp && BIAS(mb, "mlp.gate_proj.bias", I, &ly->ffn_gate_b)) ||
             BIAS(mb, "mlp.up_proj.bias", I, &ly->ffn_up_b) ||
             BIAS(mb, "mlp.down_proj.bias", H, &ly->ffn_down_b)))
            return st;
        int qn = v->qk_norm == MHV_QK_NORM_FULL ? QD : c->head_dim;
        int kn = v->qk_norm == MHV_QK_NORM_FULL ? KVD : c->head_dim;
        if (v->post_norms) {
            if ((st = mhv_wload_vec(ld, N("post_attention_layernorm.weight"), H, 0,
                                    &ly->post_attn_g, err)) ||
                (st = mhv_wload_vec(ld, N("post_feedforward_layernorm.weight"), H, 0,
                                    &ly->post_ffn_g, err)))
                return st;
        } else if ((st = mhv_wload_vec(ld, N(v->apertus ? "attention_layernorm.weight"
                                                        : "input_layernorm.weight"),
                                       H, 0, &ly->ln_attn_g, err)) ||
                   (st = mhv_wload_vec(ld, N(v->apertus ? "feedforward_layernorm.weight"
                                                        : "post_attention_layernorm.weight"),
                                       H, 0, &ly->ln_ffn_g, err)))
            return st;
        if (c->xielu && (st = load_xielu(ld, l, ly, err)))
            return st;
        /* HunYuan names its head norms query_layernorm and key_layernorm */
        const char *qname = v->qk_norm_late ? "self_attn.query_layernorm.weight"
                                            : "self_attn.q_norm.weight";
        const char *kname = v->qk_norm_late ? "self_attn.key_layernorm.weight"
                                            : "self_attn.k_norm.weight";
        if (v->qk_norm &&
            ((st = mhv_wload_vec(ld, N(qname), qn, 0, &ly->q_norm_g, err)) ||
             (st = mhv_wload_vec(ld, N(kname), kn, 0, &ly->k_norm_g, err))))
            return st;
        if ((st = mhv_wload_mat(ld, N("self_attn.o_proj.weight"), H, QD, 0, &ly->o, err)) ||
            BIAS(ab, "self_attn.q_proj.bias", QD, &ly->q_b) ||
            BIAS(ab, "self_attn.k_proj.bias", KVD, &ly->k_b) ||
            BIAS(ab, "self_attn.v_proj.bias", KVD, &ly->v_b) ||
            BIAS(ob, "self_attn.o_proj.bias", H, &ly->o_b) ||
            (v->fused && ((st = mhv_wload_mat(ld, N("mlp.down_proj.weight"), H, I, 0,
                                              &ly->ffn_down, err)) ||
                          BIAS(mb, "mlp.down_proj.bias", H, &ly->ffn_down_b))))
            return st;
#undef BIAS
#undef N
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status llama_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int d = c->head_dim;
    int half = (c->rotary_dims ? c->rotary_dims : d) / 2; /* rotated pairs of a head */
    const mhv_moe moe = {
        .experts = c->num_experts, .top_k = c->experts_per_tok,
        .inter = c->moe_intermediate_size, .norm_topk = c->norm_topk_prob, .act = (int)c->act,
        .s_inter = c->shared_expert_size,
    };
    const variant *v = variant_of(c);
    const mhv_decoder dec = {MHV_NORM_RMS, MHV_RESIDUAL_SEQUENTIAL,
                             v->plain_mlp ? MHV_MLP_PLAIN : MHV_MLP_GATED,
                             c->num_experts ? &moe : NULL};
    /* tables by position: a cached decoding step's hold the cached positions too */
    int rows = mhv_nn_past(nn) + n;
    size_t NH = (size_t)rows * (size_t)half;
    float *cos_l, *sin_l; /* (rows, half) the sliding layers' rotary table (OLMo 3) */
    float *q_scale;       /* (rows,) Ministral 3's query scale by position */
    mhv_decoder_scratch s = {
        .rope_half = half,
        .extra = {{&cos_l, c->two_ropes ? NH : 1}, {&sin_l, c->two_ropes ? NH : 1},
                  {&q_scale, v->llama4_beta ? (size_t)rows : 1}},
    };
    if (c->longrope) /* its factors follow the whole sequence's length */
        mhv_nn_kv_refuse(nn);
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (st)
        return st;
    float *inv_freq = p.inv_freq, *cos_t = p.cos_t, *sin_t = p.sin_t;
    mhv_rope_inv_freq(&c->rope, 2 * half, inv_freq);
    if (c->longrope) { /* the long factors once the sentence passes the original context */
        const float *ext = n > c->longrope_original ? c->longrope_long : c->longrope_short;
        for (int j = 0; j < half; j++) {
            float e = (float)(2 * j) / (float)(2 * half);
            inv_freq[j] = 1.0f / (ext[j] * (float)pow(c->rope.theta, (double)e));
        }
    }
    mhv_rope_table(inv_freq, half, rows, cos_t, sin_t);
    if (c->longrope && c->longrope_attention != 1.0) {
        float a = (float)c->longrope_attention; /* cos and sin * attention_factor, in fp32 */
        for (size_t t = 0; t < NH; t++)
            cos_t[t] *= a, sin_t[t] *= a;
    }
    mhv_rope_table_scale(&c->rope, NH, cos_t, sin_t);
    if (nn->rope_cos_given) { /* a composite model's positions (Qwen2-VL): (n, half) */
        mhv_nn_kv_refuse(nn);  /* no positions of a cached step's past in it */
        memcpy(cos_t, nn->rope_cos_given, (size_t)n * (size_t)half * sizeof *cos_t);
        memcpy(sin_t, nn->rope_sin_given, (size_t)n * (size_t)half * sizeof *sin_t);
    }
    mhv_rotary rot = {cos_t, sin_t, half, v->interleaved, nn->rope_cos_given ? n : rows};
    mhv_rotary rot_l = rot;
    if (c->two_ropes) { /* inv_freq is free again once the first table is made */
        mhv_rope_inv_freq(&c->rope_local, 2 * half, inv_freq);
        mhv_rope_table(inv_freq, half, rows, cos_l, sin_l);
        mhv_rope_table_scale(&c->rope_local, NH, cos_l, sin_l);
        rot_l = (mhv_rotary){cos_l, sin_l, half, 0, rows};
    }
    for (int i = 0; i < rows && v->llama4_beta; i++) { /* get_llama_4_attn_scale, in fp32 */
        float f = floorf((float)i / (float)c->llama4_original);
        q_scale[i] = 1.0f + (float)c->llama4_beta * logf(1.0f + f);
    }

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1, .scale = (float)c->embed_scale};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_norm qn = {MHV_NORM_RMS, ly->q_norm_g, NULL, c->layer_norm_eps};
        mhv_norm kn = {MHV_NORM_RMS, ly->k_norm_g, NULL, c->layer_norm_eps};
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.causal = 1;
        if (c->attn_scale > 0) /* Granite's attention_multiplier */
            attn.scale = (float)c->attn_scale;
        int slides = mhv_config_layer_slides(c, l);
        attn.window = slides ? c->sliding_window : 0;
        attn.rope = (c->nope_layers[l / 8] >> (l % 8)) & 1 ? NULL : slides ? &rot_l : &rot;
        attn.qk_norm_late = c->qk_norm_late;
        attn.q_pos_scale = v->llama4_beta ? q_scale : NULL;
        attn.q_norm = ly->q_norm_g ? &qn : NULL, attn.k_norm = ly->k_norm_g ? &kn : NULL;
        attn.qk_norm_full = c->qk_norm == MHV_QK_NORM_FULL;
        /* OLMo 2's layers have no input norms, only norms after their sublayers */
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

/* Longrope picks its factors by the pass's length, which packing would change; experts run
 * over the rows routed to them. */
static int llama_packs(const mhv_config *c)
{
    return c->longrope ? MHV_PACKS_NO : c->num_experts ? MHV_PACKS_ANY_ROWS : MHV_PACKS_ROWS;
}

const mhv_family mhv_family_llama = {
    .name = "llama",
    .model_types = model_types,
    .config = llama_config,
    .vector_floats = llama_vector_floats,
    .load = llama_load,
    .forward = llama_forward,
    .packs = llama_packs,
};
