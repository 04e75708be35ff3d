/* mpt.c - MPT (MptModel, MptForCausalLM) as transformers implements it: ALiBi instead of
 * positions (MPT's slopes, with the default alibi_bias_max 8), one fused Wqkv of [all Q;
 * all K; all V] optionally clamped to [-clip_qkv, clip_qkv], no biases anywhere, LayerNorms
 * without bias (a zero one added), sequential pre-LN layers, an MLP of 4 x hidden with exact
 * GELU.
 *
 *   x = wte[id]
 *   per layer: x += out_proj(attn(norm_1(x)));  x += down_proj(gelu(up_proj(norm_2(x))))
 *   scores(i, j) = q_i k_j * softmax_scale + slope_h * (j - (n - 1))   (causal)
 *   logits = norm_f(x) · lm_head^T
 * transformers builds one model whatever the config says of biases, MLP width, attention
 * type, prefix LM, q/k LayerNorms, ALiBi or the norm's type, and never applies logit_scale
 * nor alibi_bias_max: configs asking for anything else are refused by name, not read as
 * that model. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"mpt", NULL};

enum { MPT_ALIBI_BIAS_MAX = 8 }; /* build_mpt_alibi_tensor's default, the one MptModel uses */

static mhv_status int_alias(const cJSON *root, const char *key, const char *alias, int def,
                            int hi, int *out, const char *name, mhv_error *err)
{
    if (!mhv_json_get(root, key) && mhv_json_get(root, alias))
        key = alias;
    return mhv_json_int(root, key, def, 1, hi, out, name, err);
}

/* A flag of attn_config that transformers' MPT does not implement: refused when set. */
static mhv_status refuse_flag(const cJSON *ac, const char *key, int bad, const char *name,
                              mhv_error *err)
{
    int v;
    mhv_status st = mhv_json_bool(ac, key, !bad, &v, name, err);
    if (st)
        return st;
    if (v == bad)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "attn_config %s %s is not supported", key,
                        bad ? "true" : "false");
    return MHV_OK;
}

/* attn_config (MptAttentionConfig; null or absent: its defaults). */
static mhv_status attn_config(const cJSON *root, mhv_config *c, const char *name,
                              mhv_error *err)
{
    const cJSON *ac = mhv_json_get(root, "attn_config");
    if (ac && !cJSON_IsObject(ac))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'attn_config' is not an object");
    static const cJSON empty = {0};
    if (!ac)
        ac = &empty;
    mhv_status st;
    const char *type;
    if ((st = mhv_json_str(ac, "attn_type", "multihead_attention", &type, name, err)))
        return st;
    if (strcmp(type, "multihead_attention") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "attn_config attn_type '%.40s' is not "
                        "supported (multihead_attention only)", type);
    if ((st = refuse_flag(ac, "prefix_lm", 1, name, err)) ||
        (st = refuse_flag(ac, "qk_ln", 1, name, err)) ||
        (st = refuse_flag(ac, "alibi", 0, name, err)))
        return st;
    double bias_max, scale = 0;
    if ((st = mhv_json_num(ac, "alibi_bias_max", MPT_ALIBI_BIAS_MAX, -1e6, 1e6, &bias_max,
                           name, err)) ||
        (st = mhv_json_num(ac, "clip_qkv", 0, 0, 1e30, &c->clip_qkv, name, err)))
        return st;
    if (bias_max != MPT_ALIBI_BIAS_MAX)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "attn_config alibi_bias_max %g is not "
                        "supported (transformers' MPT always uses %d)", bias_max,
                        MPT_ALIBI_BIAS_MAX);
    if (mhv_json_get(ac, "softmax_scale") &&
        (st = mhv_json_num(ac, "softmax_scale", 0, 1e-30, 1e30, &scale, name, err)))
        return st;
    /* 1 / sqrt(hidden / heads) unless given */
    c->attn_scale = scale > 0 ? scale : 1 / sqrt((double)c->hidden_size / c->num_heads);
    return MHV_OK;
}

static mhv_status mpt_config(const cJSON *root, mhv_config *c, const char *name,
                             mhv_error *err)
{
    mhv_status st;
    int no_bias, ratio;
    double eps;
    const char *norm;
    if ((st = int_alias(root, "d_model", "hidden_size", 2048, MHV_MAX_HIDDEN, &c->hidden_size,
                        name, err)) ||
        (st = int_alias(root, "n_layers", "num_hidden_layers", 24, MHV_MAX_LAYERS,
                        &c->num_layers, name, err)) ||
        (st = int_alias(root, "n_heads", "num_attention_heads", 16, MHV_MAX_HEADS,
                        &c->num_heads, name, err)) ||
        (st = mhv_json_int(root, "vocab_size", 50368, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, "max_seq_len", 2048, 1, MHV_MAX_POSITIONS, &c->max_positions,
                           name, err)) ||
        (st = mhv_json_int(root, "expansion_ratio", 4, 1, 1024, &ratio, name, err)) ||
        (st = mhv_json_num(root, "layer_norm_epsilon", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_json_bool(root, "no_bias", 1, &no_bias, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_str(root, "norm_type", "low_precision_layernorm", &norm, name, err)))
        return st;
    if (c->hidden_size % c->num_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "n_heads %d does not divide d_model %d",
                        c->num_heads, c->hidden_size);
    /* MptMLP is 4 x d_model and every linear layer bias-free, whatever the config says */
    if (ratio != 4)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "expansion_ratio %d is not supported "
                        "(transformers' MPT: 4)", ratio);
    if (!no_bias)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "no_bias false is not supported (transformers' MPT has no biases)");
    if (strcmp(norm, "low_precision_layernorm") != 0 && strcmp(norm, "layernorm") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "norm_type '%.40s' is not supported",
                        norm);
    if (mhv_json_get(root, "logit_scale"))
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "logit_scale is not supported (transformers' MPT ignores it)");
    c->head_dim = c->hidden_size / c->num_heads;
    c->num_kv_heads = c->num_heads;
    c->intermediate_size = 4 * c->hidden_size;
    if ((st = attn_config(root, c, name, err)))
        return st;
    c->layer_norm_eps = (float)eps;
    c->act = MHV_ACT_GELU;
    c->alibi = 1;
    c->causal = 1;
    return MHV_OK;
}

static size_t mpt_vector_floats(const mhv_config *c)
{
    return (size_t)c->hidden_size * (2 + 2 * (size_t)c->num_layers); /* and one zero bias */
}

static mhv_status mpt_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"transformer.", NULL}; /* MptForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size;
    mhv_wload_prefix(ld, prefixes, "wte.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "wte.weight", c->vocab_size, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "norm_f.weight", H, 0, &m->norm_g, err)) ||
        (st = mhv_wload_zeros(ld, H, &m->norm_b, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "blocks.%d.%s", l, suffix), n)
        if ((st = mhv_wload_vec(ld, N("norm_1.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_mat(ld, N("attn.Wqkv.weight"), 3 * H, H, 0, &ly->qkv, err)) ||
            (st = mhv_wload_mat(ld, N("attn.out_proj.weight"), H, H, 0, &ly->o, err)) ||
            (st = mhv_wload_vec(ld, N("norm_2.weight"), H, 0, &ly->ln_ffn_g, err)) ||
            (st = mhv_wload_mat(ld, N("ffn.up_proj.weight"), I, H, 0, &ly->ffn_up, err)) ||
            (st = mhv_wload_mat(ld, N("ffn.down_proj.weight"), H, I, 0, &ly->ffn_down, err)))
            return st;
#undef N
        /* the norms' missing bias: adding zero leaves every value as it is */
        ly->ln_attn_b = ly->ln_ffn_b = m->norm_b;
        /* [all Q; all K; all V] rows: three ordinary matrices */
        ly->q = mhv_mat_rows(&ly->qkv, 0, H);
        ly->k = mhv_mat_rows(&ly->qkv, H, H);
        ly->v = mhv_mat_rows(&ly->qkv, 2 * H, H);
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

/* The score bias of head h: b(i, j) = slope_h * (j - (n - 1)), the last columns of the
 * table transformers builds over max_seq_len (the same for every query). Every row's scores
 * follow the sequence's length n, so a pass cannot continue a cached sequence (its earlier
 * rows' bytes would differ): a bias of the pass (not bias_pos), which the cache refuses. */
static void alibi_bias(const void *ctx, int h, const float *q, size_t ld_q, const float *k,
                       size_t ld_k, int n, float *b)
{
    (void)q, (void)ld_q, (void)k, (void)ld_k;
    float s = ((const float *)ctx)[h];
    for (int j = 0; j < n; j++)
        b[j] = (float)(j - (n - 1)) * s;
    for (int i = 1; i < n; i++)
        memcpy(b + (size_t)i * (size_t)n, b, (size_t)n * sizeof *b);
}

static mhv_status mpt_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                              mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    const mhv_decoder dec = {MHV_NORM_LAYER, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_PLAIN, NULL};
    float *slopes; /* (heads,) */
    mhv_decoder_scratch s = {.extra = {{&slopes, (size_t)c->num_heads}}};
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (!st)
        st = mhv_nn_reserve_bias(nn, n, err);
    if (st)
        return st;
    mhv_family_alibi_slopes_mpt(c->num_heads, MPT_ALIBI_BIAS_MAX, slopes);
    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, c->hidden_size);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.causal = 1, attn.bias = alibi_bias, attn.bias_ctx = slopes;
        attn.scale = (float)c->attn_scale, attn.clip = (float)c->clip_qkv;
        if (mhv_layer_pre_norm(nn, &dec, c, ly, &attn, l, &p, cap))
            break;
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_mpt = {
    .name = "mpt",
    .model_types = model_types,
    .config = mpt_config,
    .vector_floats = mpt_vector_floats,
    .load = mpt_load,
    .forward = mpt_forward,
    .packs = mhv_family_packs_always,
};
