/* glm.c - Llama's layers with rotary positions on interleaved pairs (2i, 2i+1): GLM-4 and
 * GLM-4-0414 (model_types glm and glm4: GlmModel, Glm4Model and their *ForCausalLM) and Helium
 * (HeliumModel, HeliumForCausalLM).
 *
 *   x = embed_tokens[id]
 *   per layer: x += post_1(o(attn(rope(q, k), v)(rms_1(x))));
 *              x += post_2(down(silu(gate(h)) * up(h))),  h = rms_2(x)
 *   logits = norm(x) · lm_head^T
 * GLM rotates only the first partial_rotary_factor (default 0.5) of each head, has q/k/v
 * biases (attention_bias, default true) but none on o_proj, and stores gate and up as one
 * gate_up_proj ([gate; up] rows); GLM-4-0414 adds the norms of the sublayer outputs
 * (post_self_attn_layernorm, post_mlp_layernorm; post_attention_layernorm is rms_2). Helium
 * rotates whole heads, has q/k/v biases with attention_bias, MLP biases with mlp_bias, an
 * o_proj of hidden x hidden, and rope_theta 100000 unless given. The model_types differ only
 * in defaults and flags: the rows of `variants`. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

typedef struct {
    const char *model_type;
    int fused_mlp;          /* gate_up_proj instead of gate_proj and up_proj */
    int post_norms;         /* GLM-4-0414's norms of the sublayer outputs */
    double partial;         /* partial_rotary_factor when config.json omits it */
    int attn_bias;          /* attention_bias when config.json omits it */
    int mlp_bias;           /* mlp_bias is read (Helium); else no MLP biases */
    double eps, theta;      /* rms_norm_eps and rope_theta when omitted */
    /* the config class's defaults: vocab_size, hidden_size, intermediate_size,
     * num_hidden_layers, num_attention_heads, num_key_value_heads, head_dim,
     * max_position_embeddings */
    int vocab, hidden, inter, layers, heads, kv_heads, head_dim, positions;
} variant;

static const variant variants[] = {
    {"glm", 1, 0, 0.5, 1, 0, 1.5625e-7, 10000.0, 151552, 4096, 13696, 40, 32, 2, 128, 131072},
    {"glm4", 1, 1, 0.5, 1, 0, 1.5625e-7, 10000.0, 151552, 4096, 13696, 40, 32, 2, 128, 131072},
    {"helium", 0, 0, 1.0, 0, 1, 1e-8, 100000.0, 48000, 2560, 7040, 24, 20, 20, 128, 4096},
};

static const char *const model_types[] = {"glm", "glm4", "helium", NULL};

static const variant *variant_of(const mhv_config *c)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        if (strcmp(variants[i].model_type, c->arch) == 0)
            return &variants[i];
    return &variants[0];
}

/* Helium's rope: Llama's default rotation ignores a partial_rotary_factor (transformers
 * computes whole-head frequencies), so it is dropped for the default type; with a scaling
 * type transformers' rotation fails on it and the shared reader refuses it. */
static mhv_status whole_head_rope(const cJSON *root, mhv_rope *r, const char *name,
                                  mhv_error *err)
{
    const cJSON *sc = mhv_json_get(root, "rope_scaling");
    const char *key = sc && cJSON_IsObject(sc) ? "rope_scaling" : "rope_parameters";
    sc = mhv_json_get(root, key);
    const cJSON *ty = sc && cJSON_IsObject(sc) ? mhv_json_get(sc, "rope_type") : NULL;
    if (sc && cJSON_IsObject(sc) && !ty)
        ty = mhv_json_get(sc, "type");
    int plain = !ty || (cJSON_IsString(ty) && strcmp(ty->valuestring, "default") == 0);
    if (!plain || !sc || !cJSON_IsObject(sc) || !mhv_json_get(sc, "partial_rotary_factor"))
        return mhv_config_rope(root, r, name, err);
    cJSON *dup = cJSON_Duplicate(root, 1);
    if (!dup)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(dup, key),
                                            "partial_rotary_factor");
    mhv_status st = mhv_config_rope(dup, r, name, err);
    cJSON_Delete(dup);
    return st;
}

static mhv_status glm_config(const cJSON *root, mhv_config *c, const char *name, mhv_error *err)
{
    const variant *v = variant_of(c);
    mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, v->hidden, v->layers, v->heads,
                           v->inter,              v->vocab,  v->positions};
    mhv_status st;
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_config_gqa(root, v->kv_heads, v->head_dim, c, name, err)))
        return st;
    double eps;
    if ((st = mhv_json_num(root, "rms_norm_eps", v->eps, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_SILU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "attention_bias", v->attn_bias, &c->attn_bias, name, err)) ||
        (v->mlp_bias && (st = mhv_json_bool(root, "mlp_bias", 0, &c->mlp_bias, name, err))))
        return st;
    if (v->partial < 1) {
        int rot;
        if ((st = mhv_family_partial_rope(root, c->head_dim, "rope_theta",
                                          "partial_rotary_factor", v->partial, &c->rope, &rot,
                                          name, err)))
            return st;
        if (rot < 2)
            return mhv_fail(err, MHV_EUNSUPPORTED, name,
                            "partial_rotary_factor gives %d rotated dimensions (need 2 or more)",
                            rot);
        c->rotary_dims = rot == c->head_dim ? 0 : rot;
    } else {
        if ((st = whole_head_rope(root, &c->rope, name, err)))
            return st;
        const cJSON *p = mhv_json_get(root, "rope_parameters");
        if (!mhv_json_get(root, "rope_theta") &&
            !(p && cJSON_IsObject(p) && mhv_json_get(p, "rope_theta")))
            c->rope.theta = v->theta; /* the class's default_theta */
        /* Helium's o_proj is hidden x hidden: other head widths fail in transformers */
        if (c->num_heads * c->head_dim != c->hidden_size)
            return mhv_fail(err, MHV_EUNSUPPORTED, name,
                            "head_dim %d x %d heads other than hidden_size %d is not supported "
                            "for %s", c->head_dim, c->num_heads, c->hidden_size, v->model_type);
    }
    c->layer_norm_eps = (float)eps;
    c->attn_out_bias = 0;
    c->causal = 1;
    return MHV_OK;
}

static size_t glm_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    /* the final norm; per layer four norms, the q/k/v biases, the MLP's */
    return H + (size_t)c->num_layers * (5 * H + QD + 2 * KVD + 2 * (size_t)c->intermediate_size);
}

static mhv_status glm_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* *ForCausalLM */
    const mhv_config *c = &m->cfg;
    const variant *v = variant_of(c);
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    int QD = c->num_heads * c->head_dim, KVD = c->num_kv_heads * c->head_dim;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "norm.weight", H, 0, &m->norm_g, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
        if ((st = mhv_wload_vec(ld, N("input_layernorm.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_decoder_load_attn_proj(ld, l, H, QD, KVD, 0, ly, err)) ||
            (st = mhv_wload_vec(ld, N("post_attention_layernorm.weight"), H, 0, &ly->ln_ffn_g,
                                err)) ||
            (st = mhv_wload_mat(ld, N("mlp.down_proj.weight"), H, I, 0, &ly->ffn_down, err)))
            return st;
        if (c->attn_bias &&
            ((st = mhv_wload_vec(ld, N("self_attn.q_proj.bias"), QD, 0, &ly->q_b, err)) ||
             (st = mhv_wload_vec(ld, N("self_attn.k_proj.bias"), KVD, 0, &ly->k_b, err)) ||
             (st = mhv_wload_vec(ld, N("self_attn.v_proj.bias"), KVD, 0, &ly->v_b, err))))
            return st;
        if (v->fused_mlp) { /* [gate; up] row blocks */
            mhv_mat gu;
            if ((st = mhv_wload_mat(ld, N("mlp.gate_up_proj.weight"), 2 * I, H, 0, &gu, err)))
                return st;
            ly->ffn_gate = mhv_mat_rows(&gu, 0, I);
            ly->ffn_up = mhv_mat_rows(&gu, I, I);
        } else if ((st = mhv_wload_mat(ld, N("mlp.gate_proj.weight"), I, H, 0, &ly->ffn_gate,
                                       err)) ||
                   (st = mhv_wload_mat(ld, N("mlp.up_proj.weight"), I, H, 0, &ly->ffn_up, err)))
            return st;
        if (c->mlp_bias &&
            ((st = mhv_wload_vec(ld, N("mlp.gate_proj.bias"), I, 0, &ly->ffn_gate_b, err)) ||
             (st = mhv_wload_vec(ld, N("mlp.up_proj.bias"), I, 0, &ly->ffn_up_b, err)) ||
             (st = mhv_wload_vec(ld, N("mlp.down_proj.bias"), H, 0, &ly->ffn_down_b, err))))
            return st;
        if (v->post_norms &&
            ((st = mhv_wload_vec(ld, N("post_self_attn_layernorm.weight"), H, 0,
                                 &ly->post_attn_g, err)) ||
             (st = mhv_wload_vec(ld, N("post_mlp_layernorm.weight"), H, 0, &ly->post_ffn_g,
                                 err))))
            return st;
#undef N
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status glm_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                              mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int rot = c->rotary_dims ? c->rotary_dims : c->head_dim; /* rotated dimensions */
    const mhv_decoder dec = {MHV_NORM_RMS, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_GATED, NULL};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n,
                                      &(mhv_decoder_scratch){.rope_half = rot / 2}, &p, err);
    if (st)
        return st;
    mhv_rotary rope = mhv_decoder_rope(&p, &c->rope, rot, 1); /* pairs (2i, 2i+1) */

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        mhv_attn_layer attn = mhv_layer_attention(&m->layers[l], c);
        attn.causal = 1, attn.rope = &rope;
        if (mhv_layer_pre_norm(nn, &dec, c, &m->layers[l], &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_glm = {
    .name = "glm",
    .model_types = model_types,
    .config = glm_config,
    .vector_floats = glm_vector_floats,
    .load = glm_load,
    .forward = glm_forward,
    .packs = mhv_family_packs_always,
};
