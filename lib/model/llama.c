/* llama.c - the llama family: LLaMA 2/3, Mistral, Qwen2, Qwen3, Phi-3, OLMo 2 (LlamaModel,
 * MistralModel, Qwen2Model, Qwen3Model, Phi3Model, Olmo2Model and their *ForCausalLM):
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
 * qkv_proj ([Q; K; V] rows) and gate/up as one gate_up_proj ([gate; up] rows), and may rotate
 * only the first dimensions of each head (partial_rotary_factor).
 * The model_types differ only in defaults and flags: the rows of `variants`. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "nn/rope.h"

enum { FROM_CONFIG = -1 };

typedef enum {
    WINDOW_NONE,    /* full causal attention */
    WINDOW_ALL,     /* sliding_window on every layer (Mistral) */
    WINDOW_UPPER,   /* with use_sliding_window, on layers >= max_window_layers (Qwen2) */
    WINDOW_OPTIONAL /* sliding_window on every layer when set (Phi-3; default none) */
} window_rule;

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
} variant;

static const variant variants[] = {
    {"llama", 2048, FROM_CONFIG, FROM_CONFIG, FROM_CONFIG, WINDOW_NONE, 0, 0, 0, 0},
    {"mistral", 131072, FROM_CONFIG, FROM_CONFIG, FROM_CONFIG, WINDOW_ALL, 0, 0, 0, 0},
    {"qwen2", 32768, 1, 0, 0, WINDOW_UPPER, 0, 0, 0, 0},
    {"qwen3", 32768, FROM_CONFIG, FROM_CONFIG, 0, WINDOW_UPPER, 128, MHV_QK_NORM_HEAD, 0, 0},
    {"phi3", 4096, 0, 0, 0, WINDOW_OPTIONAL, 0, 0, 0, 1},
    {"olmo2", 2048, FROM_CONFIG, FROM_CONFIG, 0, WINDOW_NONE, 0, MHV_QK_NORM_FULL, 1, 0},
};

static const char *const model_types[] = {"llama", "mistral", "qwen2", "qwen3", "phi3", "olmo2",
                                          NULL};

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

static mhv_status llama_config(const cJSON *root, mhv_config *c, const char *name,
                               mhv_error *err)
{
    const variant *v = variant_of(c);
    mhv_status st;
    if ((st = mhv_json_int(root, "hidden_size", -1, 1, MHV_MAX_HIDDEN, &c->hidden_size, name,
                           err)) ||
        (st = mhv_json_int(root, "num_hidden_layers", -1, 1, MHV_MAX_LAYERS, &c->num_layers,
                           name, err)) ||
        (st = mhv_json_int(root, "num_attention_heads", -1, 1, MHV_MAX_HEADS, &c->num_heads,
                           name, err)) ||
        (st = mhv_json_int(root, "intermediate_size", -1, 1, 4 * MHV_MAX_HIDDEN,
                           &c->intermediate_size, name, err)) ||
        (st = mhv_json_int(root, "vocab_size", -1, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, "max_position_embeddings", v->max_positions, 1,
                           MHV_MAX_POSITIONS, &c->max_positions, name, err)) ||
        (st = mhv_json_int(root, "num_key_value_heads", c->num_heads, 1, MHV_MAX_HEADS,
                           &c->num_kv_heads, name, err)))
        return st;
    if (c->num_heads % c->num_kv_heads != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "num_key_value_heads %d does not divide num_attention_heads %d",
                        c->num_kv_heads, c->num_heads);
    int derived = c->hidden_size % c->num_heads == 0 ? c->hidden_size / c->num_heads : -1;
    if (v->head_dim)
        derived = v->head_dim;
    if ((st = mhv_json_int(root, "head_dim", derived, 2, MHV_MAX_HIDDEN, &c->head_dim, name,
                           err)))
        return st;
    if (c->head_dim % 2 != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "head_dim %d is odd; rotary embeddings need pairs",
                        c->head_dim);
    if ((long)c->head_dim * c->num_heads > 4L * MHV_MAX_HIDDEN)
        return mhv_fail(err, MHV_EFORMAT, name, "num_attention_heads x head_dim is too large");

    double eps;
    if ((st = mhv_json_num(root, "rms_norm_eps", 1e-6, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_SILU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_json_bool(root, "mlp_bias", 0, &c->mlp_bias, name, err)))
        return st;
    if (!v->fused && (st = mhv_config_rope(root, &c->rope, name, err)))
        return st;
    if (v->fused) {
        double partial;
        if ((st = mhv_config_rope_partial(root, &c->rope, &partial, name, err)))
            return st;
        c->rotary_dims = (int)(c->head_dim * partial); /* int(head_dim * factor), as HF */
        if (c->rotary_dims < 2 || c->rotary_dims % 2 != 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, name,
                            "partial_rotary_factor %g gives %d rotated dimensions (need an even "
                            "number >= 2)", partial, c->rotary_dims);
        if (c->rotary_dims == c->head_dim)
            c->rotary_dims = 0;
    }
    c->qk_norm = v->qk_norm;
    c->layer_norm_eps = (float)eps;
    if (v->qkv_bias != FROM_CONFIG)
        c->attn_bias = v->qkv_bias;
    else if ((st = mhv_json_bool(root, "attention_bias", 0, &c->attn_bias, name, err)))
        return st;
    c->attn_out_bias = v->o_bias == FROM_CONFIG ? c->attn_bias : v->o_bias;
    if (v->mlp_bias != FROM_CONFIG)
        c->mlp_bias = v->mlp_bias;
    c->causal = 1;
    c->kv_heads = 1;
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
    }
    return MHV_OK;
}

static size_t llama_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size, QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    /* norms (up to 4 of hidden, q/k of a head or a projection), biases */
    return H + (size_t)c->num_layers * (5 * H + 2 * QD + 3 * KVD + 2 * (size_t)c->intermediate_size);
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
                                       err)) ||
                   (st = mhv_wload_mat(ld, N("mlp.gate_proj.weight"), I, H, 0, &ly->ffn_gate,
                                       err)) ||
                   (st = mhv_wload_mat(ld, N("mlp.up_proj.weight"), I, H, 0, &ly->ffn_up, err)))
            return st;
        int qn = v->qk_norm == MHV_QK_NORM_FULL ? QD : c->head_dim;
        int kn = v->qk_norm == MHV_QK_NORM_FULL ? KVD : c->head_dim;
        if (v->post_norms) {
            if ((st = mhv_wload_vec(ld, N("post_attention_layernorm.weight"), H, 0,
                                    &ly->post_attn_g, err)) ||
                (st = mhv_wload_vec(ld, N("post_feedforward_layernorm.weight"), H, 0,
                                    &ly->post_ffn_g, err)))
                return st;
        } else if ((st = mhv_wload_vec(ld, N("input_layernorm.weight"), H, 0, &ly->ln_attn_g,
                                       err)) ||
                   (st = mhv_wload_vec(ld, N("post_attention_layernorm.weight"), H, 0,
                                       &ly->ln_ffn_g, err)))
            return st;
        if (v->qk_norm &&
            ((st = mhv_wload_vec(ld, N("self_attn.q_norm.weight"), qn, 0, &ly->q_norm_g, err)) ||
             (st = mhv_wload_vec(ld, N("self_attn.k_norm.weight"), kn, 0, &ly->k_norm_g, err))))
            return st;
        if ((st = mhv_wload_mat(ld, N("self_attn.o_proj.weight"), H, QD, 0, &ly->o, err)) ||
            BIAS(ab, "self_attn.q_proj.bias", QD, &ly->q_b) ||
            BIAS(ab, "self_attn.k_proj.bias", KVD, &ly->k_b) ||
            BIAS(ab, "self_attn.v_proj.bias", KVD, &ly->v_b) ||
            BIAS(ob, "self_attn.o_proj.bias", H, &ly->o_b) ||
            (st = mhv_wload_mat(ld, N("mlp.down_proj.weight"), H, I, 0, &ly->ffn_down, err)) ||
            BIAS(mb, "mlp.gate_proj.bias", I, &ly->ffn_gate_b) ||
            BIAS(mb, "mlp.up_proj.bias", I, &ly->ffn_up_b) ||
            BIAS(mb, "mlp.down_proj.bias", H, &ly->ffn_down_b))
            return st;
#undef BIAS
#undef N
    }
    /* lm_head.weight is never under the base-model prefix; tied or absent (a base model
     * saved alone) falls back to the token embedding only when tied. */
    if (c->tie_word_embeddings)
        m->lm_head = m->word_emb;
    else if ((st = mhv_wload_mat(ld, "lm_head.weight", V, H, MHV_W_BARE | MHV_W_OPTIONAL,
                                 &m->lm_head, err)))
        return st;
    return MHV_OK;
}

static mhv_status llama_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, d = c->head_dim;
    int half = (c->rotary_dims ? c->rotary_dims : d) / 2; /* rotated pairs of a head */
    size_t N = (size_t)n, QD = (size_t)c->num_heads * (size_t)d;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)d;
    float *x;        /* (n, H) residual stream */
    float *xb;       /* (n, H) normalised x */
    float *q;        /* (n, QD) */
    float *k;        /* (n, KVD) */
    float *v;        /* (n, KVD) */
    float *ctx;      /* (n, QD) attention output before o_proj */
    float *tmp;      /* (n, H) */
    float *gate;     /* (n, I) SwiGLU gate, then gate * up */
    float *up;       /* (n, I) */
    float *cos_t;    /* (n, half) rotary table */
    float *sin_t;    /* (n, half) */
    float *inv_freq; /* (half,) */
    const mhv_nn_buf bufs[] = {
        {&x, N * (size_t)H},      {&xb, N * (size_t)H}, {&q, N * QD},
        {&k, N * KVD},            {&v, N * KVD},        {&ctx, N * QD},
        {&tmp, N * (size_t)H},    {&gate, N * (size_t)I}, {&up, N * (size_t)I},
        {&cos_t, N * (size_t)half}, {&sin_t, N * (size_t)half}, {&inv_freq, (size_t)half},
    };
    int widest = I > H ? I : H;
    if ((int)QD > widest)
        widest = (int)QD;
    mhv_nn_shape shape = {n, H, widest, d};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st)
        return st;
    mhv_rope_inv_freq(&c->rope, 2 * half, inv_freq);
    mhv_rope_table(inv_freq, half, n, cos_t, sin_t);
    mhv_rotary rot = {cos_t, sin_t, half, 0};

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, x, &emb, ids, n, H);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        mhv_norm rms1 = {MHV_NORM_RMS, ly->ln_attn_g, NULL, c->layer_norm_eps};
        mhv_norm rms2 = {MHV_NORM_RMS, ly->ln_ffn_g, NULL, c->layer_norm_eps};
        mhv_norm post1 = {MHV_NORM_RMS, ly->post_attn_g, NULL, c->layer_norm_eps};
        mhv_norm post2 = {MHV_NORM_RMS, ly->post_ffn_g, NULL, c->layer_norm_eps};
        mhv_norm qn = {MHV_NORM_RMS, ly->q_norm_g, NULL, c->layer_norm_eps};
        mhv_norm kn = {MHV_NORM_RMS, ly->k_norm_g, NULL, c->layer_norm_eps};
        mhv_attn_layer attn = {
            .wo = &ly->o,
            .wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .bq = ly->q_b, .bk = ly->k_b,
            .bv = ly->v_b, .heads = c->num_heads, .kv_heads = c->num_kv_heads, .head_dim = d,
            .scale = (float)(1.0 / sqrt((double)d)), .causal = 1,
            .window = mhv_config_layer_slides(c, l) ? c->sliding_window : 0,
            .rope = &rot,
            .q_norm = ly->q_norm_g ? &qn : NULL, .k_norm = ly->k_norm_g ? &kn : NULL,
            .qk_norm_full = c->qk_norm == MHV_QK_NORM_FULL,
        };
        /* the sublayers read the normalised stream, or the stream itself (post-norms) */
        const float *in = x;
        if (ly->ln_attn_g)
            mhv_nn_norm(nn, xb, x, &rms1, n, H), in = xb;
        mhv_nn_attention(nn, &attn, in, n, l, &(mhv_attn_bufs){.q = q, .k = k, .v = v, .ctx = ctx}, cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_nn_linear(nn, tmp, ctx, &ly->o, ly->o_b, n, MHV_NN_NO_ACT);
        if (ly->post_attn_g)
            mhv_nn_norm(nn, tmp, tmp, &post1, n, H);
        mhv_nn_add(nn, x, tmp, n, H);
        in = x;
        if (ly->ln_ffn_g)
            mhv_nn_norm(nn, xb, x, &rms2, n, H), in = xb;
        const mhv_plin_part gate_up[2] = {
            {gate, &ly->ffn_gate, ly->ffn_gate_b, 0, I, (int)c->act},
            {up, &ly->ffn_up, ly->ffn_up_b, 0, I, MHV_NN_NO_ACT},
        };
        mhv_nn_linear_parts(nn, gate_up, 2, in, n);
        mhv_nn_mul(nn, gate, up, n, I);
        mhv_nn_linear(nn, tmp, gate, &ly->ffn_down, ly->ffn_down_b, n, MHV_NN_NO_ACT);
        if (ly->post_ffn_g)
            mhv_nn_norm(nn, tmp, tmp, &post2, n, H);
        mhv_nn_add(nn, x, tmp, n, H);
    }
    if (logits) {
        mhv_norm norm = {MHV_NORM_RMS, m->norm_g, NULL, c->layer_norm_eps};
        mhv_nn_norm(nn, x, x, &norm, n, H);
        mhv_nn_linear(nn, logits, x, &m->lm_head, NULL, n, MHV_NN_NO_ACT); /* (n, vocab) */
    }
    return MHV_OK;
}

const mhv_family mhv_family_llama = {
    .name = "llama",
    .model_types = model_types,
    .config = llama_config,
    .vector_floats = llama_vector_floats,
    .load = llama_load,
    .forward = llama_forward,
};
