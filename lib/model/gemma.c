/* gemma.c - the Gemma family: Gemma, Gemma 2, Gemma 3 text (GemmaModel, Gemma2Model,
 * Gemma3TextModel and their *ForCausalLM), and the language model of Gemma 3 with vision
 * (model_type gemma3, Gemma3ForConditionalGeneration: its text_config, weights under
 * language_model.model.; the vision tower is not read): RMSNorm scaling by (1 + weight), token
 * embeddings scaled by sqrt(hidden_size), GeGLU (tanh GELU), rotary positions, grouped-query
 * attention, an LM head tied to the embeddings unless config.json says otherwise.
 *
 *   x = embed[id] * sqrt(hidden)
 *   per layer: x += post_1(o(attn(rms_1(x))));  x += post_2(down(gelu(gate(h)) * up(h))),
 *              h = rms_2(x)
 *   logits = norm(x) · lm_head^T  (Gemma 2: then cap * tanh(logits / cap))
 * Gemma 2 and 3 add the post-norms (post_attention_layernorm and post_feedforward_layernorm
 * on the sublayer outputs; pre_feedforward_layernorm is rms_2), scale the scores by
 * query_pre_attn_scalar**-0.5, may soft-cap them, and slide a window on the layers
 * layer_types names (by default every other one for Gemma 2, five of six for Gemma 3).
 * Gemma 3 normalises each query and key head (RMSNorm, 1 + weight) before the rotation and
 * rotates its sliding layers with their own base (rope_local_base_freq).
 * VaultGemma is Gemma 2 without the norms of the sublayer outputs.
 * Gemma's (1 + weight) is folded into the fp32 copies of the norm weights at load, in fp32,
 * as transformers computes it. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/gemma3_vision.h"
#include "model/layers.h"
#include "nn/rope.h"

typedef struct {
    const char *model_type;
    int max_positions;      /* max_position_embeddings when config.json omits it */
    int gen;                /* 1, 2 or 3 */
    int window_period;      /* default layer_types: layer i slides unless (i + 1) % it == 0;
                             * 0: no sliding layers */
    double attn_softcap;    /* attn_logit_softcapping when omitted (0: none) */
    double final_softcap;   /* final_logit_softcapping when omitted */
    int wrapper;            /* the text model of a multimodal one: text_config, weights under
                             * language_model. (Gemma3ForConditionalGeneration) */
    /* the config class's defaults: vocab_size, hidden_size, intermediate_size,
     * num_hidden_layers, num_attention_heads, num_key_value_heads */
    int vocab, hidden, inter, layers, heads, kv_heads;
    int no_post_norms;      /* VaultGemma: Gemma 2 without the sublayer output norms */
} variant;

static const variant variants[] = {
    {"gemma", 8192, 1, 0, 0, 0, 0, 256000, 3072, 24576, 28, 16, 16, 0},
    {"gemma2", 8192, 2, 2, 50.0, 30.0, 0, 256000, 2304, 9216, 26, 8, 4, 0},
    {"gemma3_text", 131072, 3, 6, 0, 0, 0, 262208, 2304, 9216, 26, 8, 4, 0},
    {"gemma3", 131072, 3, 6, 0, 0, 1, 262208, 2304, 9216, 26, 8, 4, 0},
    {"vaultgemma", 8192, 2, 2, 50.0, 30.0, 0, 256000, 2304, 9216, 26, 8, 4, 1},
};

static const char *const model_types[] = {"gemma", "gemma2", "gemma3_text", "gemma3",
                                          "vaultgemma", NULL};

static const variant *variant_of(const mhv_config *c)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        if (strcmp(variants[i].model_type, c->arch) == 0)
            return &variants[i];
    return &variants[0];
}

/* A soft-capping value: missing: def; null: none (0). */
static mhv_status softcap(const cJSON *root, const char *key, double def, float *out,
                          const char *name, mhv_error *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    double v = def;
    if (it && !cJSON_IsNull(it)) {
        mhv_status st = mhv_json_num(root, key, def, 0, 1e9, &v, name, err);
        if (st)
            return st;
    } else if (it) {
        v = 0;
    }
    *out = (float)v;
    return MHV_OK;
}

static void set_sliding(mhv_config *c, int l)
{
    c->window_layers[l / 8] |= (unsigned char)(1u << (l % 8));
}

/* layer_types, or the variant's default pattern (sliding_window_pattern for Gemma 3). */
static mhv_status layer_types(const cJSON *root, const variant *v, mhv_config *c,
                              const char *name, mhv_error *err)
{
    c->window_by_layer = 1;
    memset(c->window_layers, 0, sizeof c->window_layers);
    const cJSON *lt = mhv_json_get(root, "layer_types");
    int any = 0;
    if (!lt) {
        int period = v->window_period;
        mhv_status st;
        if (v->gen == 3 && (st = mhv_json_int(root, "sliding_window_pattern", period, 1,
                                              MHV_MAX_LAYERS + 1, &period, name, err)))
            return st;
        for (int l = 0; l < c->num_layers; l++)
            if (period && (l + 1) % period != 0)
                set_sliding(c, l), any = 1;
    } else {
        if (!cJSON_IsArray(lt) || cJSON_GetArraySize(lt) != c->num_layers)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "field 'layer_types' is not a list of %d names", c->num_layers);
        int l = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, lt)
        {
            if (!cJSON_IsString(it))
                return mhv_fail(err, MHV_EFORMAT, name, "field 'layer_types' holds a non-string");
            if (strcmp(it->valuestring, "sliding_attention") == 0)
                set_sliding(c, l), any = 1;
            else if (strcmp(it->valuestring, "full_attention") != 0)
                return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported layer type '%.40s'",
                                it->valuestring);
            l++;
        }
    }
    if (!any) {
        c->sliding_window = 0;
        return MHV_OK;
    }
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
    if (sw && cJSON_IsNull(sw))
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "sliding layers with sliding_window null are not supported");
    return mhv_json_int(root, "sliding_window", 4096, 1, MHV_MAX_POSITIONS, &c->sliding_window,
                        name, err);
}

/* The rope settings of one Gemma 3 layer type, read as a plain config's: sub (its
 * rope_parameters entry, or NULL), theta when sub gives none, and rope_scaling (earlier
 * files' global layers) or NULL; with root, its max_position_embeddings beside them (yarn's
 * original context when sub gives none, as transformers' standardize_rope_params). */
static mhv_status rope_of_sized(const cJSON *sub, double theta, const cJSON *scaling,
                                const cJSON *root, mhv_rope *r, const char *name,
                                mhv_error *err)
{
    cJSON *tmp = cJSON_CreateObject();
    int ok = tmp != NULL;
    const cJSON *max_pos = root ? mhv_json_get(root, "max_position_embeddings") : NULL;
    if (ok && max_pos)
        ok = cJSON_AddItemToObject(tmp, "max_position_embeddings", cJSON_Duplicate(max_pos, 1));
    if (ok && sub)
        ok = cJSON_AddItemToObject(tmp, "rope_parameters", cJSON_Duplicate(sub, 1));
    if (ok && (!sub || !mhv_json_get(sub, "rope_theta")))
        ok = cJSON_AddNumberToObject(tmp, "rope_theta", theta) != NULL;
    if (ok && scaling)
        ok = cJSON_AddItemToObject(tmp, "rope_scaling", cJSON_Duplicate(scaling, 1));
    mhv_status st = ok ? mhv_config_rope(tmp, r, name, err)
                       : mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    cJSON_Delete(tmp);
    return st;
}

static mhv_status rope_of(const cJSON *sub, double theta, const cJSON *scaling, mhv_rope *r,
                          const char *name, mhv_error *err)
{
    return rope_of_sized(sub, theta, scaling, NULL, r, name, err);
}

/* Transformers reads yarn's truncate from the whole rope_parameters, where Gemma 3's
 * per-type entries leave it unset: true whatever an entry says. */
static void yarn_truncates(mhv_config *c)
{
    if (c->rope.kind == MHV_ROPE_YARN)
        c->rope.truncate = 1;
    if (c->rope_local.kind == MHV_ROPE_YARN)
        c->rope_local.truncate = 1;
}

/* Gemma 3: rope_parameters per layer type (transformers 5), or rope_theta with rope_scaling
 * for the global layers and rope_local_base_freq for the sliding ones (earlier files). */
static mhv_status gemma3_ropes(const cJSON *root, mhv_config *c, const char *name,
                               mhv_error *err)
{
    const cJSON *params = mhv_json_get(root, "rope_parameters");
    mhv_status st;
    c->two_ropes = 1;
    if (params && cJSON_IsObject(params) &&
        (mhv_json_get(params, "full_attention") || mhv_json_get(params, "sliding_attention"))) {
        const cJSON *full = mhv_json_get(params, "full_attention");
        const cJSON *local = mhv_json_get(params, "sliding_attention");
        if ((full && !cJSON_IsObject(full)) || (local && !cJSON_IsObject(local)))
            return mhv_fail(err, MHV_EFORMAT, name, "field 'rope_parameters' holds a non-object");
        double theta, local_theta;
        if ((st = mhv_json_num(root, "rope_theta", 1e6, 0, 1e12, &theta, name, err)) ||
            (st = mhv_json_num(root, "rope_local_base_freq", 1e4, 0, 1e12, &local_theta, name,
                               err)) ||
            (st = rope_of_sized(full, theta, NULL, root, &c->rope, name, err)) ||
            (st = rope_of_sized(local, local_theta, NULL, root, &c->rope_local, name, err)))
            return st;
        yarn_truncates(c);
        return MHV_OK;
    }
    if (params)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "rope_parameters without full_attention/sliding_attention entries are "
                        "not supported for gemma3_text");
    double theta, local;
    const cJSON *scaling = mhv_json_get(root, "rope_scaling");
    if (scaling && !cJSON_IsObject(scaling))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'rope_scaling' is not an object");
    if ((st = mhv_json_num(root, "rope_theta", 1e6, 0, 1e12, &theta, name, err)) ||
        (st = mhv_json_num(root, "rope_local_base_freq", 1e4, 0, 1e12, &local, name, err)) ||
        (st = rope_of(NULL, theta, scaling, &c->rope, name, err)) ||
        (st = rope_of(NULL, local, NULL, &c->rope_local, name, err)))
        return st;
    yarn_truncates(c); /* transformers makes these settings per layer type too */
    return MHV_OK;
}

/* The fields of a Gemma text config (the whole file, or a multimodal one's text_config),
 * missing ones at the config class's defaults. */
static mhv_status text_config(const cJSON *root, const variant *v, mhv_config *c,
                              const char *name, mhv_error *err)
{
    mhv_status st;
    mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, v->hidden,         v->layers, v->heads,
                           v->inter,              v->vocab,          v->max_positions};
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_config_gqa(root, v->kv_heads, 256, c, name, err)))
        return st;

    double eps;
    int bidir = 0;
    if ((st = mhv_json_num(root, "rms_norm_eps", 1e-6, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "attention_bias", 0, &c->attn_bias, name, err)))
        return st;
    /* VaultGemmaConfig has no use_bidirectional_attention (its attention is always causal) */
    if (!v->no_post_norms &&
        (st = mhv_json_bool(root, "use_bidirectional_attention", 0, &bidir, name, err)))
        return st;
    if (v->no_post_norms && c->hidden_size % c->num_heads != 0) /* validate_architecture */
        return mhv_fail(err, MHV_EFORMAT, name,
                        "hidden_size %d is not a multiple of num_attention_heads %d",
                        c->hidden_size, c->num_heads);
    /* Gemma 3 text's bidirectional form (EmbeddingGemma); Gemma and Gemma 2 would keep the
     * causal mask in eager attention while other implementations drop it: refused */
    if (bidir && (v->gen != 3 || v->wrapper))
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "use_bidirectional_attention is not supported for %s", v->model_type);
    c->layer_norm_eps = (float)eps;
    c->attn_out_bias = c->attn_bias;
    c->causal = !bidir;
    /* Gemma reads hidden_act, where "gelu" means the tanh form (GemmaConfig); the later ones
     * hidden_activation */
    const char *act_key = v->gen == 1 ? "hidden_act" : "hidden_activation";
    const char *an;
    if ((st = mhv_json_str(root, act_key, "gelu_pytorch_tanh", &an, name, err)))
        return st;
    if (v->gen == 1 && strcmp(an, "gelu") == 0)
        c->act = MHV_ACT_GELU_NEW;
    else if ((st = mhv_config_act(root, act_key, MHV_ACT_GELU_NEW, &c->act, name, err)))
        return st;

    if (v->gen == 1)
        return mhv_config_rope(root, &c->rope, name, err);
    double qpas;
    if ((st = mhv_json_num(root, "query_pre_attn_scalar", 256, 0, 1e9, &qpas, name, err)) ||
        (st = softcap(root, "attn_logit_softcapping", v->attn_softcap, &c->attn_softcap, name,
                      err)) ||
        (st = softcap(root, "final_logit_softcapping", v->final_softcap, &c->final_softcap,
                      name, err)) ||
        (st = layer_types(root, v, c, name, err)))
        return st;
    c->attn_scale = pow(qpas, -0.5); /* query_pre_attn_scalar**-0.5 */
    if (v->gen == 2)
        return mhv_config_rope(root, &c->rope, name, err);
    /* Gemma3Attention keeps attn_logit_softcapping but never applies it (transformers 5):
     * which of the two a checkpoint setting it means is unknown */
    if (c->attn_softcap > 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "attn_logit_softcapping is not supported for gemma3_text");
    c->qk_norm = MHV_QK_NORM_HEAD;
    /* bidirectional: every key in full layers, keys closer than sliding_window // 2 + 1 in
     * sliding ones (Gemma3TextConfig.__post_init__), on both sides */
    if (bidir && c->sliding_window > 0)
        c->sliding_window = c->sliding_window / 2 + 1;
    return gemma3_ropes(root, c, name, err);
}

static mhv_status gemma_config(const cJSON *root, mhv_config *c, const char *name,
                               mhv_error *err)
{
    const variant *v = variant_of(c);
    if (!v->wrapper)
        return text_config(root, v, c, name, err);
    /* Gemma 3 with vision (gemma-3-4b and up): its text_config, whose model_type is
     * gemma3_text; the image tokens are ordinary ids to the text model */
    const cJSON *text = mhv_json_get(root, "text_config");
    if (!text || !cJSON_IsObject(text))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'text_config' is missing or not an object");
    const char *mt;
    mhv_status st = mhv_json_str(text, "model_type", "gemma3_text", &mt, name, err);
    if (st)
        return st;
    if (strcmp(mt, "gemma3_text") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported text_config model_type '%.31s'",
                        mt);
    if ((st = text_config(text, v, c, name, err)))
        return st;
    /* tie_word_embeddings of the whole model (Gemma3Config), else of its text_config */
    if (mhv_json_get(root, "tie_word_embeddings") &&
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name, err)))
        return st;
    return mhv_gemma3_vision_config(root, c, name, err); /* its image path */
}

static size_t gemma_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    /* four norms, q/k norms of a head, biases */
    return H + (size_t)c->num_layers * (5 * H + 2 * (size_t)c->head_dim + QD + 2 * KVD) +
           mhv_gemma3_vision_floats(c);
}

/* An RMSNorm weight w as Gemma applies it: 1 + w, in fp32. */
static mhv_status norm_weight(mhv_wload *ld, const char *name, int len, float **out,
                              mhv_error *err)
{
    mhv_status st = mhv_wload_vec(ld, name, len, 0, out, err);
    if (st)
        return st;
    for (int i = 0; i < len; i++)
        (*out)[i] = 1.0f + (*out)[i];
    return MHV_OK;
}

static mhv_status gemma_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    /* *ForCausalLM; the language model of Gemma3ForConditionalGeneration (as saved, and as
     * transformers 5 names it in memory) */
    static const char *const prefixes[] = {"model.", "language_model.model.",
                                           "model.language_model.", NULL};
    const mhv_config *c = &m->cfg;
    const variant *v = variant_of(c);
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size, d = c->head_dim;
    int QD = c->num_heads * d, KVD = c->num_kv_heads * d;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->word_emb, err)) ||
        (st = norm_weight(ld, "norm.weight", H, &m->norm_g, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
        if ((st = norm_weight(ld, N("input_layernorm.weight"), H, &ly->ln_attn_g, err)) ||
            (st = mhv_decoder_load_attn_proj(ld, l, H, QD, KVD, c->attn_bias, ly, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.gate_proj.weight"), I, H, 0, &ly->ffn_gate, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.up_proj.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.down_proj.weight"), H, I, 0, &ly->ffn_down, err)))
            return st;
        if (v->gen == 1) {
            if ((st = norm_weight(ld, N("post_attention_layernorm.weight"), H, &ly->ln_ffn_g,
                                  err)))
                return st;
        } else if (v->no_post_norms) {
            if ((st = norm_weight(ld, N("pre_feedforward_layernorm.weight"), H, &ly->ln_ffn_g,
                                  err)))
                return st;
        } else if ((st = norm_weight(ld, N("post_attention_layernorm.weight"), H,
                                     &ly->post_attn_g, err)) ||
                   (st = norm_weight(ld, N("pre_feedforward_layernorm.weight"), H, &ly->ln_ffn_g,
                                     err)) ||
                   (st = norm_weight(ld, N("post_feedforward_layernorm.weight"), H,
                                     &ly->post_ffn_g, err)))
            return st;
        if (c->qk_norm &&
            ((st = norm_weight(ld, N("self_attn.q_norm.weight"), d, &ly->q_norm_g, err)) ||
             (st = norm_weight(ld, N("self_attn.k_norm.weight"), d, &ly->k_norm_g, err))))
            return st;
#undef N
    }
    if ((st = mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err)) ||
        (v->wrapper && !m->lm_head.data &&
         (st = mhv_wload_mat(ld, "language_model.lm_head.weight", V, H,
                             MHV_W_BARE | MHV_W_OPTIONAL, &m->lm_head, err))))
        return st;
    return v->wrapper ? mhv_gemma3_vision_load(m, ld, m->dir, err) : MHV_OK;
}

/* The language model's pass. */
static mhv_status text_pass(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                            mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, d = c->head_dim, half = d / 2;
    size_t NH = (size_t)(mhv_nn_past(nn) + n) * (size_t)half; /* positions: past ones too */
    /* the norms' weights are stored as 1 + w (norm_weight) */
    const mhv_decoder dec = {MHV_NORM_RMS, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_GATED, NULL};
    float *cos_l, *sin_l; /* (n, half) the rotary table of the sliding layers (Gemma 3) */
    mhv_decoder_scratch s = {
        .rope_half = half,
        .extra = {{&cos_l, c->two_ropes ? NH : 1}, {&sin_l, c->two_ropes ? NH : 1}},
    };
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (st)
        return st;
    mhv_rotary rot_g = mhv_decoder_rope(&p, &c->rope, d, 0), rot_l = rot_g;
    if (nn->pos_first) { /* PaliGemma's positions from 1 */
        mhv_rope_table_from(p.inv_freq, half, nn->pos_first, p.rope_rows, p.cos_t, p.sin_t);
        mhv_rope_table_scale(&c->rope, NH, p.cos_t, p.sin_t);
    }
    if (c->two_ropes) {
        mhv_rope_inv_freq(&c->rope_local, d, p.inv_freq);
        mhv_rope_table_from(p.inv_freq, half, nn->pos_first, p.rope_rows, cos_l, sin_l);
        mhv_rope_table_scale(&c->rope_local, NH, cos_l, sin_l);
        rot_l = (mhv_rotary){cos_l, sin_l, half, 0, p.rope_rows};
    }

    /* sqrt(hidden) as a tensor in the activations' dtype (fp32) */
    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1, .scale = (float)sqrt((double)H)};
    mhv_nn_embed(nn, p.x, &emb, ids, n, H);
    float scale = c->attn_scale > 0 ? (float)c->attn_scale : (float)(1.0 / sqrt((double)d));
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        int slides = mhv_config_layer_slides(c, l);
        mhv_norm qn = {MHV_NORM_RMS, ly->q_norm_g, NULL, c->layer_norm_eps};
        mhv_norm kn = {MHV_NORM_RMS, ly->k_norm_g, NULL, c->layer_norm_eps};
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.q_norm = ly->q_norm_g ? &qn : NULL, attn.k_norm = ly->k_norm_g ? &kn : NULL;
        attn.scale = scale, attn.softcap = c->attn_softcap, attn.causal = c->causal;
        attn.window = slides ? c->sliding_window : 0;
        attn.rope = slides && c->two_ropes ? &rot_l : &rot_g;
        /* a multimodal family's widened mask (the image tokens', a prefix's), or NULL */
        attn.key_lo = nn->key_lo[slides ? 1 : 0], attn.key_hi = nn->key_hi[slides ? 1 : 0];
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits) {
        int lr = mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (lr, vocab) */
        if (c->final_softcap > 0)
            mhv_nn_softcap(nn, logits, c->final_softcap, lr, c->vocab_size);
    }
    return MHV_OK;
}

static mhv_status gemma_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                mhv_capture *cap, float *logits, mhv_error *err)
{
    if (m->cfg.image_in_text && nn->pixels && !nn->measure) /* Gemma 3 with its image */
        return mhv_gemma3_image_forward(nn, m, ids, n, cap, logits, text_pass, err);
    return text_pass(nn, m, ids, n, cap, logits, err);
}

/* Gemma 3 with vision runs one sentence a pass: its image's rows and mask are its own. */
static int gemma_packs(const mhv_config *c)
{
    return c->image_in_text ? MHV_PACKS_NO : mhv_family_packs_always(c);
}

const mhv_family mhv_family_gemma = {
    .name = "gemma",
    .model_types = model_types,
    .config = gemma_config,
    .vector_floats = gemma_vector_floats,
    .load = gemma_load,
    .forward = gemma_forward,
    .packs = gemma_packs,
};
