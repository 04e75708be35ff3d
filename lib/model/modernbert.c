/* modernbert.c - ModernBERT (ModernBertModel, ModernBertForMaskedLM): a pre-norm encoder with
 * rotary positions, global layers (every global_attn_every_n_layers-th, rotary base
 * global_rope_theta) between local ones that see keys within local_attention / 2 on either
 * side (rotary base local_rope_theta), GeGLU feed-forward, no biases by default.
 *
 *   x = LN(tok[id])
 *   per layer: x += Wo(attn(rope(q, k), v)(LN_attn(x)))   (layer 0: no LN_attn)
 *              x += Wo_mlp(act(in) * gate),  [in; gate] = Wi(LN_mlp(x)) */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"
#include "nn/rope.h"

static const char *const model_types[] = {"modernbert", NULL};

/* The rotary base of one layer type: rope_parameters[type].rope_theta (transformers 5), else
 * the old top-level key, else ModernBertConfig's default; only default rotation. */
static mhv_status type_rope(const cJSON *root, const char *type, const char *old_key,
                            double def, mhv_rope *r, const char *name, mhv_error *err)
{
    const cJSON *params = mhv_json_get(root, "rope_parameters");
    const cJSON *sub = params && cJSON_IsObject(params) ? mhv_json_get(params, type) : NULL;
    const char *kind = "default";
    mhv_status st;
    memset(r, 0, sizeof *r);
    if ((st = mhv_json_num(root, old_key, def, 0, 1e12, &r->theta, name, err)))
        return st;
    if (sub && ((st = mhv_json_num(sub, "rope_theta", r->theta, 0, 1e12, &r->theta, name, err)) ||
                (st = mhv_json_str(sub, "rope_type", "default", &kind, name, err))))
        return st;
    if (strcmp(kind, "default") != 0 || mhv_json_get(root, "rope_scaling"))
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "rope scaling of ModernBERT's %s layers is not supported", type);
    r->kind = MHV_ROPE_NONE;
    return MHV_OK;
}

static mhv_status modernbert_config(const cJSON *root, mhv_config *c, const char *name,
                                    mhv_error *err)
{
    mhv_status st;
    double eps;
    int every, local;
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       768, 22, 12, 1152, 50368, 8192};
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (st = mhv_json_num(root, "norm_eps", 1e-5, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_json_bool(root, "norm_bias", 0, &c->norm_bias, name, err)) ||
        (st = mhv_json_bool(root, "attention_bias", 0, &c->attn_bias, name, err)) ||
        (st = mhv_json_bool(root, "mlp_bias", 0, &c->mlp_bias, name, err)) ||
        (st = mhv_config_act(root, "hidden_activation", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_int(root, "local_attention", 128, 2, MHV_MAX_POSITIONS, &local, name,
                           err)) ||
        (st = mhv_json_int(root, "global_attn_every_n_layers", 3, 1, MHV_MAX_LAYERS, &every,
                           name, err)) ||
        (st = type_rope(root, "full_attention", "global_rope_theta", 160000.0, &c->rope, name,
                        err)) ||
        (st = type_rope(root, "sliding_attention", "local_rope_theta", 10000.0, &c->rope_local,
                        name, err)))
        return st;
    if (c->head_dim % 2)
        return mhv_fail(err, MHV_EFORMAT, name, "head_dim %d is odd; rotary embeddings need pairs",
                        c->head_dim);
    c->layer_norm_eps = (float)eps;
    c->attn_out_bias = c->attn_bias;
    c->two_ropes = 1;
    /* local layers see keys within local_attention / 2: |i - j| < window */
    c->sliding_window = local / 2 + 1;
    c->window_by_layer = 1;
    const cJSON *lt = mhv_json_get(root, "layer_types");
    if (lt && (!cJSON_IsArray(lt) || cJSON_GetArraySize(lt) != c->num_layers))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'layer_types' is not a list of %d names",
                        c->num_layers);
    for (int l = 0; l < c->num_layers; l++) {
        int sliding = l % every != 0;
        if (lt) {
            const cJSON *it = cJSON_GetArrayItem(lt, l);
            if (!cJSON_IsString(it))
                return mhv_fail(err, MHV_EFORMAT, name, "field 'layer_types' holds a non-string");
            sliding = strcmp(it->valuestring, "sliding_attention") == 0;
            if (!sliding && strcmp(it->valuestring, "full_attention") != 0)
                return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported layer type '%.40s'",
                                it->valuestring);
        }
        if (sliding)
            c->window_layers[l / 8] |= (unsigned char)(1u << (l % 8));
    }
    return MHV_OK;
}

static size_t modernbert_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    return 2 * H + (size_t)c->num_layers * (9 * H + 2 * I);
}

/* A LayerNorm's weight, and its bias or zeros (norm_bias false). */
static mhv_status layernorm_of(mhv_wload *ld, const mhv_config *c, const char *prefix, float **g,
                               float **b, mhv_error *err)
{
    char n[200];
    int H = c->hidden_size;
    mhv_status st;
    snprintf(n, sizeof n, "%s.weight", prefix);
    if ((st = mhv_wload_vec(ld, n, H, 0, g, err)))
        return st;
    snprintf(n, sizeof n, "%s.bias", prefix);
    return c->norm_bias ? mhv_wload_vec(ld, n, H, 0, b, err) : mhv_wload_zeros(ld, H, b, err);
}

static mhv_status modernbert_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* ModernBertForMaskedLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size;
    int ab = c->attn_bias ? 0 : MHV_W_OPTIONAL, mb = c->mlp_bias ? 0 : MHV_W_OPTIONAL;
    mhv_wload_prefix(ld, prefixes, "embeddings.tok_embeddings.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embeddings.tok_embeddings.weight", c->vocab_size, H, 0,
                            &m->word_emb, err)) ||
        (st = layernorm_of(ld, c, "embeddings.norm", &m->emb_ln_g, &m->emb_ln_b, err)))
        return st;
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        mhv_mat qkv, wi;
        float *qkv_b = NULL, *wi_b = NULL;
        char n[160], p[64];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
#define P(suffix) (snprintf(p, sizeof p, "layers.%d.%s", l, suffix), p)
        if ((l > 0 && (st = layernorm_of(ld, c, P("attn_norm"), &ly->ln_attn_g, &ly->ln_attn_b,
                                         err))) ||
            (st = mhv_wload_mat(ld, N("attn.Wqkv.weight"), 3 * H, H, 0, &qkv, err)) ||
            (!ab && (st = mhv_wload_vec(ld, N("attn.Wqkv.bias"), 3 * H, 0, &qkv_b, err))) ||
            (st = mhv_wload_mat(ld, N("attn.Wo.weight"), H, H, 0, &ly->o, err)) ||
            (!ab && (st = mhv_wload_vec(ld, N("attn.Wo.bias"), H, 0, &ly->o_b, err))) ||
            (st = layernorm_of(ld, c, P("mlp_norm"), &ly->ln_ffn_g, &ly->ln_ffn_b, err)) ||
            (st = mhv_wload_mat(ld, N("mlp.Wi.weight"), 2 * I, H, 0, &wi, err)) ||
            (!mb && (st = mhv_wload_vec(ld, N("mlp.Wi.bias"), 2 * I, 0, &wi_b, err))) ||
            (st = mhv_wload_mat(ld, N("mlp.Wo.weight"), H, I, 0, &ly->ffn_down, err)) ||
            (!mb && (st = mhv_wload_vec(ld, N("mlp.Wo.bias"), H, 0, &ly->ffn_down_b, err))))
            return st;
#undef P
#undef N
        /* Wqkv rows are [Q; K; V], Wi rows [input; gate] */
        ly->q = mhv_mat_rows(&qkv, 0, H), ly->k = mhv_mat_rows(&qkv, H, H);
        ly->v = mhv_mat_rows(&qkv, 2 * H, H);
        ly->q_b = qkv_b, ly->k_b = qkv_b ? qkv_b + H : NULL, ly->v_b = qkv_b ? qkv_b + 2 * H : NULL;
        ly->ffn_up = mhv_mat_rows(&wi, 0, I), ly->ffn_gate = mhv_mat_rows(&wi, I, I);
        ly->ffn_up_b = wi_b, ly->ffn_gate_b = wi_b ? wi_b + I : NULL;
    }
    return MHV_OK;
}

static mhv_status modernbert_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                     mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (logits)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "logits need a decoder model, not %s",
                        c->arch);
    int H = c->hidden_size, I = c->intermediate_size, d = c->head_dim, half = d / 2;
    size_t N = (size_t)n, nh = N * (size_t)H, NH = N * (size_t)half;
    float *x, *xb, *q, *k, *v, *ctx, *tmp; /* (n, H) each */
    float *in, *gate;                      /* (n, I): act(input), gate */
    float *cos_g, *sin_g, *cos_l, *sin_l;  /* (n, half) rotary tables, global and local */
    float *inv_freq;                       /* (half,) */
    const mhv_nn_buf bufs[] = {
        {&x, nh},     {&xb, nh},    {&q, nh},     {&k, nh},    {&v, nh},
        {&ctx, nh},   {&tmp, nh},   {&in, N * (size_t)I},      {&gate, N * (size_t)I},
        {&cos_g, NH}, {&sin_g, NH}, {&cos_l, NH}, {&sin_l, NH}, {&inv_freq, (size_t)half},
    };
    mhv_nn_shape shape = {n, H, I > H ? I : H, d};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st)
        return st;
    mhv_rope_inv_freq(&c->rope, d, inv_freq);
    mhv_rope_table(inv_freq, half, n, cos_g, sin_g);
    mhv_rope_inv_freq(&c->rope_local, d, inv_freq);
    mhv_rope_table(inv_freq, half, n, cos_l, sin_l);
    mhv_rotary rot_g = {cos_g, sin_g, half, 0, n}, rot_l = {cos_l, sin_l, half, 0, n};

    mhv_norm emb_ln = {MHV_NORM_LAYER, m->emb_ln_g, m->emb_ln_b, c->layer_norm_eps};
    mhv_embed e = {.tok = &m->word_emb, .norm = &emb_ln, .pad_id = -1};
    mhv_nn_embed(nn, x, &e, ids, n, H);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        int slides = mhv_config_layer_slides(c, l);
        mhv_attn_layer attn = {
            .wo = &ly->o,
            .wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .bq = ly->q_b, .bk = ly->k_b,
            .bv = ly->v_b, .heads = c->num_heads, .kv_heads = c->num_heads, .head_dim = d,
            .scale = (float)(1.0 / sqrt((double)d)), .window = slides ? c->sliding_window : 0,
            .rope = slides ? &rot_l : &rot_g,
        };
        if (l > 0) {
            mhv_norm ln = {MHV_NORM_LAYER, ly->ln_attn_g, ly->ln_attn_b, c->layer_norm_eps};
            mhv_nn_norm(nn, xb, x, &ln, n, H);
        }
        mhv_nn_attention(nn, &attn, l > 0 ? xb : x, n, l,
                         &(mhv_attn_bufs){.q = q, .k = k, .v = v, .ctx = ctx}, cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_norm ln2 = {MHV_NORM_LAYER, ly->ln_ffn_g, ly->ln_ffn_b, c->layer_norm_eps};
        mhv_nn_linear(nn, tmp, ctx, &ly->o, ly->o_b, n, MHV_NN_NO_ACT);
        mhv_nn_add(nn, x, tmp, n, H);
        mhv_nn_norm(nn, xb, x, &ln2, n, H);
        const mhv_plin_part in_gate[2] = {
            {in, &ly->ffn_up, ly->ffn_up_b, 0, I, (int)c->act},
            {gate, &ly->ffn_gate, ly->ffn_gate_b, 0, I, MHV_NN_NO_ACT},
        };
        mhv_nn_linear_parts(nn, in_gate, 2, xb, n);
        mhv_nn_mul(nn, in, gate, n, I);
        mhv_nn_linear(nn, tmp, in, &ly->ffn_down, ly->ffn_down_b, n, MHV_NN_NO_ACT);
        mhv_nn_add(nn, x, tmp, n, H);
    }
    return MHV_OK;
}

const mhv_family mhv_family_modernbert = {
    .name = "modernbert",
    .model_types = model_types,
    .config = modernbert_config,
    .vector_floats = modernbert_vector_floats,
    .load = modernbert_load,
    .forward = modernbert_forward,
    .packs = mhv_family_packs_always,
};
