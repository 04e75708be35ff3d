/* gpt_oss.c - GPT-OSS (GptOssModel, GptOssForCausalLM): Llama's layer with biases on every
 * attention projection, a learned sink logit per head in each softmax (the kept maps leave
 * its share out: their rows sum to less than 1), sliding and full layers as layer_types
 * says, YaRN rotary positions by default, and a mixture of experts with a biased top-k
 * router and a clamped SwiGLU (blocks.h mhv_moe_clamped).
 *
 *   x = embed_tokens[id]
 *   per layer: x += o(attn_sinks(rope(q, k), v)(rms_1(x)));  x += moe(rms_2(x))
 *   logits = norm(x) · lm_head^T
 *
 * The experts are read as save_pretrained writes them (F32/F16/BF16) or quantised as the
 * released checkpoints store them (MXFP4 *_blocks / *_scales, quantization_config mxfp4),
 * then decoded to fp32 one expert at a time as transformers dequantises them on a CPU. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"gpt_oss", NULL};

/* layer_types, by default sliding on even layers and full on odd ones (GptOssConfig) */
static mhv_status oss_layer_types(const cJSON *root, mhv_config *c, const char *name,
                                  mhv_error *err)
{
    c->window_by_layer = 1;
    memset(c->window_layers, 0, sizeof c->window_layers);
    for (int l = 0; l < c->num_layers; l++)
        if ((l + 1) % 2 != 0)
            c->window_layers[l / 8] |= (unsigned char)(1u << (l % 8));
    int any;
    mhv_status st = mhv_config_layer_types(root, c, &any, name, err);
    if (st)
        return st;
    if (!any)
        return MHV_OK;
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
    if (sw && cJSON_IsNull(sw))
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "sliding layers with sliding_window null are not supported");
    return mhv_json_int(root, "sliding_window", 128, 1, MHV_MAX_POSITIONS, &c->sliding_window,
                        name, err);
}

/* GptOssConfig's rope: rope_theta 150000 and YaRN (factor 32 over 4096 positions, betas 32
 * and 1, not truncated) unless the file says otherwise */
static mhv_status oss_rope(const cJSON *root, mhv_config *c, const char *name, mhv_error *err)
{
    cJSON *dup = cJSON_Duplicate(root, 1);
    int ok = dup != NULL;
    const cJSON *params = ok ? mhv_json_get(root, "rope_parameters") : NULL;
    if (ok && !params && !mhv_json_get(root, "rope_scaling")) {
        cJSON *p = cJSON_CreateObject();
        ok = p && cJSON_AddStringToObject(p, "rope_type", "yarn") &&
             cJSON_AddNumberToObject(p, "factor", 32.0) &&
             cJSON_AddNumberToObject(p, "beta_fast", 32.0) &&
             cJSON_AddNumberToObject(p, "beta_slow", 1.0) && cJSON_AddFalseToObject(p, "truncate") &&
             cJSON_AddNumberToObject(p, "original_max_position_embeddings", 4096);
        cJSON_DeleteItemFromObjectCaseSensitive(dup, "rope_parameters");
        ok = ok && cJSON_AddItemToObject(dup, "rope_parameters", p);
        if (!ok)
            cJSON_Delete(p);
        params = NULL;
    }
    if (ok && !mhv_json_get(root, "rope_theta") &&
        !(params && cJSON_IsObject(params) && mhv_json_get(params, "rope_theta")))
        ok = cJSON_AddNumberToObject(dup, "rope_theta", 150000.0) != NULL;
    mhv_status st = ok ? mhv_config_rope(dup, &c->rope, name, err)
                       : mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    cJSON_Delete(dup);
    return st;
}

static mhv_status oss_config(const cJSON *root, mhv_config *c, const char *name, mhv_error *err)
{
    /* MXFP4 experts are told by their tensors (oss_load); other quantisations refused */
    const cJSON *q = mhv_json_get(root, "quantization_config");
    if (q) {
        const cJSON *m = cJSON_IsObject(q) ? mhv_json_get(q, "quant_method") : NULL;
        const char *method = m && cJSON_IsString(m) ? m->valuestring : "?";
        if (strcmp(method, "mxfp4") != 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, name,
                            "quantization_config (%.20s) is not supported (only mxfp4)", method);
    }
    mhv_status st;
    const char *experts_key = mhv_json_get(root, "num_local_experts") ? "num_local_experts"
                                                                       : "num_experts";
    static const mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, 2880, 36, 64, 2880, 201088, 131072};
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_config_gqa(root, 8, 64, c, name, err)) ||
        (st = mhv_json_int(root, experts_key, 128, 1, MHV_MAX_EXPERTS, &c->num_experts, name,
                           err)) ||
        (st = mhv_json_int(root, "num_experts_per_tok", 4, 1, MHV_MOE_MAX_TOPK,
                           &c->experts_per_tok, name, err)))
        return st;
    if (c->experts_per_tok > c->num_experts)
        return mhv_fail(err, MHV_EFORMAT, name, "num_experts_per_tok %d exceeds the %d experts",
                        c->experts_per_tok, c->num_experts);
    double eps;
    if ((st = mhv_json_num(root, "rms_norm_eps", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_json_num(root, "swiglu_alpha", 1.702, -1e6, 1e6, &c->swiglu_alpha, name,
                           err)) ||
        (st = mhv_json_num(root, "swiglu_limit", 7.0, -1e6, 1e6, &c->swiglu_limit, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "attention_bias", 1, &c->attn_bias, name, err)) ||
        (st = oss_rope(root, c, name, err)) || (st = oss_layer_types(root, c, name, err)))
        return st;
    c->layer_norm_eps = (float)eps;
    c->attn_out_bias = c->attn_bias;
    c->moe_intermediate_size = c->intermediate_size;
    c->act = MHV_ACT_SILU; /* the experts' gate, whatever hidden_act says (unused there) */
    c->causal = 1;
    c->attn_sinks = 1;
    return MHV_OK;
}

static size_t oss_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim, E = (size_t)c->num_experts;
    size_t I = (size_t)c->intermediate_size;
    /* norms, attention biases, sinks, router bias, expert biases */
    return H + (size_t)c->num_layers * (3 * H + 2 * QD + 2 * KVD + E * (1 + 2 * I + H));
}

/* Each expert's matrix of a (experts, in, out) tensor stored as x · W: a transposed
 * (out, in) view. */
static mhv_status load_experts(mhv_wload *ld, const char *name, int E, int in, int out,
                               mhv_mat *views, mhv_error *err)
{
    const int64_t dims[3] = {E, in, out};
    mhv_mat all;
    mhv_status st = mhv_wload_tensor(ld, name, dims, 3, 0, &all, err);
    if (st)
        return st;
    size_t per = (size_t)in * (size_t)out * mhv_dtype_size(all.dtype);
    for (int e = 0; e < E; e++)
        views[e] = (mhv_mat){(const char *)all.data + (size_t)e * per, all.dtype, out, in, 1,
                             (size_t)out};
    return MHV_OK;
}

/* An fp32 copy of the experts' biases, an (experts, len) tensor. */
static mhv_status load_biases(mhv_wload *ld, const char *name, int E, int len, float **out,
                              mhv_error *err)
{
    const int64_t dims[2] = {E, len};
    mhv_mat all;
    size_t count = (size_t)E * (size_t)len;
    mhv_status st;
    if (count > INT_MAX)
        return mhv_fail(err, MHV_EFORMAT, ld->ckpt_name, "'%.80s' is too large", name);
    if ((st = mhv_wload_tensor(ld, name, dims, 2, 0, &all, err)) ||
        (st = mhv_wload_zeros(ld, (int)count, out, err)))
        return st;
    mhv_dtype_to_f32(*out, all.data, all.dtype, count);
    return MHV_OK;
}

/* A uint8 tensor of exactly the shape dims(ndim), under ld's prefix. */
static mhv_status load_u8(const mhv_model *m, mhv_wload *ld, const char *name,
                          const int64_t *dims, int ndim, const unsigned char **out,
                          mhv_error *err)
{
    char full[240];
    snprintf(full, sizeof full, "%s%s", ld->prefix, name);
    const mhv_tensor *t = mhv_st_find(ld->st, full);
    if (!t)
        return mhv_fail(err, MHV_EFORMAT, ld->ckpt_name, "missing tensor '%s'", full);
    int same = t->dtype == MHV_DT_U8 && t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == dims[i];
    if (!same)
        return mhv_fail(err, MHV_EFORMAT, m->dir,
                        "%s: tensor '%s' is not uint8 of shape (%lld, %lld, %lld%s)", t->file,
                        full, (long long)dims[0], (long long)dims[1], (long long)dims[2],
                        ndim == 4 ? ", 16" : "");
    *out = t->data;
    return MHV_OK;
}

/* Layer l's MXFP4 experts (*_blocks and *_scales of gate_up_proj and down_proj) when the
 * checkpoint has them: *quantised 1. */
static mhv_status load_mxfp4(mhv_model *m, mhv_wload *ld, int l, int *quantised,
                             mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    mhv_layer *ly = &m->layers[l];
    int64_t E = c->num_experts, H = c->hidden_size, I = c->intermediate_size;
    char n[200];
    snprintf(n, sizeof n, "%slayers.%d.mlp.experts.gate_up_proj_blocks", ld->prefix, l);
    *quantised = mhv_st_find(ld->st, n) != NULL;
    if (!*quantised)
        return MHV_OK;
    if (H % 32 || I % 32) /* blocks of 32 values along the input */
        return mhv_fail(err, MHV_EFORMAT, m->dir,
                        "MXFP4 experts need hidden_size and intermediate_size multiples of 32");
    const struct {
        const char *name;
        int64_t out, in;
        const unsigned char **blocks, **scales;
    } parts[2] = {{"gate_up_proj", 2 * I, H, &ly->exp_gu_blocks, &ly->exp_gu_scales},
                  {"down_proj", H, I, &ly->exp_down_blocks, &ly->exp_down_scales}};
    for (int p = 0; p < 2; p++) {
        const int64_t dims[4] = {E, parts[p].out, parts[p].in / 32, 16};
        mhv_status st;
        snprintf(n, sizeof n, "layers.%d.mlp.experts.%s_blocks", l, parts[p].name);
        if ((st = load_u8(m, ld, n, dims, 4, parts[p].blocks, err)))
            return st;
        snprintf(n, sizeof n, "layers.%d.mlp.experts.%s_scales", l, parts[p].name);
        if ((st = load_u8(m, ld, n, dims, 3, parts[p].scales, err)))
            return st;
    }
    return MHV_OK;
}

static mhv_status oss_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* GptOssForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size, E = c->num_experts;
    int QD = c->num_heads * c->head_dim, KVD = c->num_kv_heads * c->head_dim;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "norm.weight", H, 0, &m->norm_g, err)))
        return st;
    /* two views (gate_up, down) per expert, no more than the tensors can hold: each
     * expert's gate, up and down (I x H each) at 4 bits a weight at least (MXFP4) */
    if ((size_t)c->num_layers * 4 > mhv_st_count(m->st))
        return mhv_fail(err, MHV_EFORMAT, m->dir, "the checkpoint has too few tensors");
    if ((st = mhv_decoder_experts_fit(m, ld, c->num_layers, 3 * (uint64_t)H * (uint64_t)I / 4,
                                      err)))
        return st;
    if (!(m->experts = calloc((size_t)c->num_layers * (size_t)E * 2, sizeof *m->experts)))
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        mhv_mat *gu = m->experts + (size_t)l * (size_t)E * 2, *down = gu + E;
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
        int quantised;
        if ((st = load_mxfp4(m, ld, l, &quantised, err)))
            return st;
        if ((st = mhv_wload_vec(ld, N("input_layernorm.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_decoder_load_attn_proj(ld, l, H, QD, KVD, c->attn_bias, ly, err)) ||
            (st = mhv_wload_vec(ld, N("self_attn.sinks"), c->num_heads, 0, &ly->sinks, err)) ||
            (st = mhv_wload_vec(ld, N("post_attention_layernorm.weight"), H, 0, &ly->ln_ffn_g,
                                err)) ||
            (st = mhv_wload_mat(ld, N("mlp.router.weight"), E, H, 0, &ly->router, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.router.bias"), E, 0, &ly->router_b, err)) ||
            (!quantised &&
             (st = load_experts(ld, N("mlp.experts.gate_up_proj"), E, H, 2 * I, gu, err))) ||
            (st = load_biases(ld, N("mlp.experts.gate_up_proj_bias"), E, 2 * I,
                              &ly->exp_gate_up_b, err)) ||
            (!quantised &&
             (st = load_experts(ld, N("mlp.experts.down_proj"), E, I, H, down, err))) ||
            (st = load_biases(ld, N("mlp.experts.down_proj_bias"), E, H, &ly->exp_down_b,
                              err)))
            return st;
        ly->exp_gate = gu, ly->exp_down = down;
#undef N
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

static mhv_status oss_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                              mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, d = c->head_dim, half = d / 2;
    const mhv_decoder dec = {MHV_NORM_RMS, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_PLAIN, NULL};
    mhv_moe_clamped moe = {
        .experts = c->num_experts, .top_k = c->experts_per_tok, .inter = c->intermediate_size,
        .alpha = (float)c->swiglu_alpha, .limit = (float)c->swiglu_limit,
    };
    for (int l = 0; l < c->num_layers && !moe.gu_blocks; l++) /* room to decode experts */
        moe.gu_blocks = m->layers[l].exp_gu_blocks;
    float *scratch; /* the experts' */
    mhv_decoder_scratch s = {
        .rope_half = half,
        .extra = {{&scratch, mhv_nn_moe_clamped_floats(&moe, n, H)}},
    };
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (st)
        return st;
    mhv_rotary rot = mhv_decoder_rope(&p, &c->rope, d, 0);

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, H);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.causal = 1, attn.rope = &rot, attn.sinks = ly->sinks;
        attn.window = mhv_config_layer_slides(c, l) ? c->sliding_window : 0;
        mhv_norm ln1 = {MHV_NORM_RMS, ly->ln_attn_g, NULL, c->layer_norm_eps};
        mhv_norm ln2 = {MHV_NORM_RMS, ly->ln_ffn_g, NULL, c->layer_norm_eps};
        mhv_nn_norm(nn, p.xb, p.x, &ln1, n, H);
        mhv_nn_attention(nn, &attn, p.xb, n, l, &p.attn, cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_nn_linear(nn, p.tmp, p.attn.ctx, &ly->o, ly->o_b, n, MHV_NN_NO_ACT);
        mhv_nn_add(nn, p.x, p.tmp, n, H);
        mhv_nn_norm(nn, p.xb, p.x, &ln2, n, H);
        moe.router = &ly->router, moe.router_b = ly->router_b;
        moe.gate_up = ly->exp_gate, moe.gate_up_b = ly->exp_gate_up_b;
        moe.down = ly->exp_down, moe.down_b = ly->exp_down_b;
        moe.gu_blocks = ly->exp_gu_blocks, moe.gu_scales = ly->exp_gu_scales;
        moe.down_blocks = ly->exp_down_blocks, moe.down_scales = ly->exp_down_scales;
        mhv_nn_moe_clamped(nn, p.tmp, p.xb, &moe, n, H, scratch);
        mhv_nn_add(nn, p.x, p.tmp, n, H);
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_gpt_oss = {
    .name = "gpt_oss",
    .model_types = model_types,
    .config = oss_config,
    .vector_floats = oss_vector_floats,
    .load = oss_load,
    .forward = oss_forward,
    .packs = mhv_family_packs_any_rows,
};
