/* gpt_neo.c - GPT-Neo (GPTNeoModel, GPTNeoForCausalLM; the TinyStories models): GPT-2's
 * shape with q/k/v/out_proj Linear layers (no q/k/v biases), scores that are not scaled,
 * and layers alternating global and local attention (a causal window of window_size keys)
 * as attention_types lists them.
 *
 *   x = wte[id] + wpe[i]
 *   per layer: x += out_proj(softmax(q k^T) v)(ln_1(x));  x += c_proj(act(c_fc(ln_2(x))))
 *   logits = ln_f(x) · lm_head^T */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"gpt_neo", NULL};

/* attention_types, [[["global", "local"], 12]] by default: groups of layer types repeated,
 * expanded into one type per layer (GPTNeoConfig.expand_attention_types_params). */
static mhv_status layer_types(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    const cJSON *at = mhv_json_get(root, "attention_types");
    int l = 0;
    if (!at) { /* the default: global, local, repeated 12 times */
        for (; l < 24 && l < c->num_layers; l++)
            if (l % 2)
                c->window_layers[l / 8] |= (unsigned char)(1u << (l % 8));
        if (c->num_layers != 24)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "the default attention_types make 24 layers, not num_layers %d",
                            c->num_layers);
        return MHV_OK;
    }
    if (!cJSON_IsArray(at))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'attention_types' is not a list");
    const cJSON *group;
    cJSON_ArrayForEach(group, at)
    {
        const cJSON *types = cJSON_GetArrayItem(group, 0), *reps = cJSON_GetArrayItem(group, 1);
        if (!cJSON_IsArray(group) || cJSON_GetArraySize(group) != 2 || !cJSON_IsArray(types) ||
            !cJSON_IsNumber(reps) || reps->valuedouble < 0 ||
            reps->valuedouble > MHV_MAX_LAYERS || reps->valuedouble != (int)reps->valuedouble)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "field 'attention_types' is not a list of [types, count]");
        for (int r = 0; r < (int)reps->valuedouble; r++) {
            const cJSON *t;
            cJSON_ArrayForEach(t, types)
            {
                if (!cJSON_IsString(t) || (strcmp(t->valuestring, "global") != 0 &&
                                           strcmp(t->valuestring, "local") != 0))
                    return mhv_fail(err, MHV_EUNSUPPORTED, name,
                                    "attention type is not 'global' or 'local'");
                if (l >= c->num_layers)
                    return mhv_fail(err, MHV_EFORMAT, name,
                                    "attention_types list more layers than num_layers %d",
                                    c->num_layers);
                if (strcmp(t->valuestring, "local") == 0)
                    c->window_layers[l / 8] |= (unsigned char)(1u << (l % 8));
                l++;
            }
        }
    }
    if (l != c->num_layers)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "attention_types list %d layers, num_layers is %d", l, c->num_layers);
    return MHV_OK;
}

static mhv_status neo_config(const cJSON *root, mhv_config *c, const char *name,
                             mhv_error *err)
{
    mhv_status st;
    /* GPTNeoConfig's names, or the standard ones its attribute_map reads */
    const char *layers = mhv_json_get(root, "num_layers") || !mhv_json_get(root, "num_hidden_layers")
                             ? "num_layers" : "num_hidden_layers";
    const char *heads = mhv_json_get(root, "num_heads") || !mhv_json_get(root, "num_attention_heads")
                            ? "num_heads" : "num_attention_heads";
    if ((st = mhv_json_int(root, "hidden_size", 2048, 1, MHV_MAX_HIDDEN, &c->hidden_size, name,
                           err)) ||
        (st = mhv_json_int(root, layers, 24, 1, MHV_MAX_LAYERS, &c->num_layers, name, err)) ||
        (st = mhv_json_int(root, heads, 16, 1, MHV_MAX_HEADS, &c->num_heads, name, err)) ||
        (st = mhv_json_int(root, "vocab_size", 50257, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, "max_position_embeddings", 2048, 1, MHV_MAX_POSITIONS,
                           &c->max_positions, name, err)) ||
        (st = mhv_json_int(root, "window_size", 256, 1, MHV_MAX_POSITIONS, &c->sliding_window,
                           name, err)))
        return st;
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "num_heads %d does not divide hidden_size %d",
                        c->num_heads, c->hidden_size);
    if (c->num_layers > (int)(8 * sizeof c->window_layers))
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "more than %d layers",
                        (int)(8 * sizeof c->window_layers));
    c->head_dim = c->hidden_size / c->num_heads;
    c->num_kv_heads = c->num_heads;
    /* intermediate_size null means 4 * hidden_size */
    if ((st = mhv_json_int(root, "intermediate_size", 4 * c->hidden_size, 1, 4 * MHV_MAX_HIDDEN,
                           &c->intermediate_size, name, err)))
        return st;
    double eps;
    if ((st = mhv_json_num(root, "layer_norm_epsilon", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "activation_function", MHV_ACT_GELU_NEW, &c->act, name,
                             err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = layer_types(root, c, name, err)))
        return st;
    c->layer_norm_eps = (float)eps;
    c->window_by_layer = 1;
    c->attn_out_bias = c->mlp_bias = 1;
    c->causal = 1;
    return MHV_OK;
}

static size_t neo_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 2 * H + (size_t)c->num_layers * (6 * H + (size_t)c->intermediate_size);
}

static mhv_status neo_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"transformer.", NULL}; /* GPTNeoForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    mhv_wload_prefix(ld, prefixes, "wte.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "wte.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_mat(ld, "wpe.weight", c->max_positions, H, 0, &m->pos_emb, err)) ||
        (st = mhv_wload_vec(ld, "ln_f.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_vec(ld, "ln_f.bias", H, 0, &m->norm_b, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "h.%d.%s", l, suffix), n)
        if ((st = mhv_wload_vec(ld, N("ln_1.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_vec(ld, N("ln_1.bias"), H, 0, &ly->ln_attn_b, err)) ||
            (st = mhv_wload_mat(ld, N("attn.attention.q_proj.weight"), H, H, 0, &ly->q, err)) ||
            (st = mhv_wload_mat(ld, N("attn.attention.k_proj.weight"), H, H, 0, &ly->k, err)) ||
            (st = mhv_wload_mat(ld, N("attn.attention.v_proj.weight"), H, H, 0, &ly->v, err)) ||
            (st = mhv_wload_mat(ld, N("attn.attention.out_proj.weight"), H, H, 0, &ly->o,
                                err)) ||
            (st = mhv_wload_vec(ld, N("attn.attention.out_proj.bias"), H, 0, &ly->o_b, err)) ||
            (st = mhv_wload_vec(ld, N("ln_2.weight"), H, 0, &ly->ln_ffn_g, err)) ||
            (st = mhv_wload_vec(ld, N("ln_2.bias"), H, 0, &ly->ln_ffn_b, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.c_fc.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.c_fc.bias"), I, 0, &ly->ffn_up_b, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.c_proj.weight"), H, I, 0, &ly->ffn_down, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.c_proj.bias"), H, 0, &ly->ffn_down_b, err)))
            return st;
#undef N
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status neo_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
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
        attn.scale = 1.0f; /* GPT-Neo does not scale its scores */
        attn.causal = 1;
        attn.window = mhv_config_layer_slides(c, l) ? c->sliding_window : 0;
        if (mhv_layer_pre_norm(nn, &dec, c, &m->layers[l], &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_gpt_neo = {
    .name = "gpt_neo",
    .model_types = model_types,
    .config = neo_config,
    .vector_floats = neo_vector_floats,
    .load = neo_load,
    .forward = neo_forward,
    .packs = mhv_family_packs_always,
};
