/* jetmoe.c - JetMoE (JetMoeModel, JetMoeForCausalLM): a mixture of attention experts and a
 * mixture of MLP experts in every layer, each with its own router (the top
 * num_experts_per_tok logits, softmaxed among themselves) and an output bias.
 *
 *   x = embed_tokens[id]
 *   per layer: h = rms_1(x)  (eps 1e-6, whatever rms_norm_eps says)
 *     attention: token t's experts e_1 .. e_k and weights g_1 .. g_k from its router; query
 *       slot j = input_linear[e_j] h_t (kv heads x kv_channels); k, v = kv_proj h; query head
 *       j * kv_heads + i reads key/value head i; rotary positions on q and k;
 *       x += sum_j g_j output_linear[e_j] ctx_t,j (in expert order) + bias
 *     MLP: h = rms_2(x);  x += sum_j g_j down_e(act(gate_e h) * up_e h) + bias, the experts'
 *       gate and up the two halves of input_linear
 *   logits = norm(x) · lm_head^T  (norm with rms_norm_eps; tied by default)
 * So there are num_experts_per_tok x num_key_value_heads attention heads, and the maps of a
 * head are those of the queries routed to its slot. Value norms through W_O are refused: the
 * output projection of a head differs from token to token. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"jetmoe", NULL};

#define JETMOE_LAYER_EPS 1e-6f /* JetMoeRMSNorm's default: the layers' norms get no eps */

static mhv_status jetmoe_config(const cJSON *root, mhv_config *c, const char *name,
                                mhv_error *err)
{
    static const mhv_size_keys sizes = {MHV_DECODER_SIZE_KEYS, 2048, 12, 32, 5632, 32000, 4096};
    /* kv_channels, written head_dim too (attribute_map) */
    const char *dkey = mhv_json_get(root, "kv_channels") ? "kv_channels" : "head_dim";
    mhv_status st;
    double eps;
    if ((st = mhv_config_sizes(root, &sizes, 0, c, name, err)) ||
        (st = mhv_json_int(root, "num_key_value_heads", 16, 1, MHV_MAX_HEADS, &c->num_kv_heads,
                           name, err)) ||
        (st = mhv_json_int(root, dkey, 128, 2, MHV_MAX_HIDDEN, &c->head_dim, name, err)) ||
        (st = mhv_json_int(root, "num_local_experts", 8, 1, MHV_MAX_EXPERTS, &c->num_experts,
                           name, err)) ||
        (st = mhv_json_int(root, "num_experts_per_tok", 2, 1, MHV_MAX_EXPERTS,
                           &c->experts_per_tok, name, err)) ||
        (st = mhv_json_num(root, "rms_norm_eps", 1e-6, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "activation_function", MHV_ACT_SILU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &c->tie_word_embeddings, name,
                            err)) ||
        (st = mhv_config_rope(root, &c->rope, name, err)))
        return st;
    if (c->experts_per_tok > c->num_experts)
        return mhv_fail(err, MHV_EFORMAT, name, "num_experts_per_tok %d exceeds the %d experts",
                        c->experts_per_tok, c->num_experts);
    if (c->head_dim % 2 != 0)
        return mhv_fail(err, MHV_EFORMAT, name, "kv_channels %d is odd; rotary embeddings need "
                        "pairs", c->head_dim);
    /* JetMoeConfig sets num_attention_heads so, whatever the file says */
    if ((long)c->num_kv_heads * c->experts_per_tok > MHV_MAX_HEADS ||
        (long)c->num_kv_heads * c->experts_per_tok * c->head_dim > 4L * MHV_MAX_HIDDEN)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "num_key_value_heads x num_experts_per_tok x kv_channels is too large");
    c->num_heads = c->num_kv_heads * c->experts_per_tok;
    c->kv_heads = 1, c->kv_tiled = 1; /* head h reads kv head h % kv heads: no kv_head */
    c->moe_intermediate_size = c->intermediate_size;
    c->layer_norm_eps = (float)eps;
    c->causal = 1;
    return MHV_OK;
}

static size_t jetmoe_vector_floats(const mhv_config *c)
{
    /* the final norm; per layer two norms and two output biases */
    return (size_t)c->hidden_size + (size_t)c->num_layers * 4 * (size_t)c->hidden_size;
}

/* E experts' (out, in) matrices of an (E, out, in) tensor, as row blocks of each: part p of
 * `parts` equal ones (the MLP's gate and up halves) into views[p * E + e]. */
static mhv_status load_experts(mhv_wload *ld, const char *name, int E, int out, int in,
                               int parts, mhv_mat *views, mhv_error *err)
{
    const int64_t dims[3] = {E, out, in};
    mhv_mat all;
    mhv_status st = mhv_wload_tensor(ld, name, dims, 3, 0, &all, err);
    if (st)
        return st;
    size_t per = (size_t)out * (size_t)in * mhv_dtype_size(all.dtype);
    int rows = out / parts;
    for (int e = 0; e < E; e++) {
        mhv_mat one = {(const char *)all.data + (size_t)e * per, all.dtype, out, in, 0, 0};
        for (int p = 0; p < parts; p++)
            views[p * E + e] = mhv_mat_rows(&one, p * rows, rows);
    }
    return MHV_OK;
}

/* Views per layer: the attention's input and output experts, the MLP's gate, up and down. */
#define VIEWS 5

static mhv_status jetmoe_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"model.", NULL}; /* JetMoeForCausalLM */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size, E = c->num_experts;
    int KVD = c->num_kv_heads * c->head_dim;
    mhv_wload_prefix(ld, prefixes, "embed_tokens.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embed_tokens.weight", V, H, 0, &m->word_emb, err)) ||
        (st = mhv_wload_vec(ld, "norm.weight", H, 0, &m->norm_g, err)))
        return st;
    /* each expert: the attention's input and output (KVD x H each), the MLP's 3 (I x H) */
    if ((st = mhv_decoder_experts_fit(m, ld, c->num_layers,
                                      (2 * (uint64_t)KVD + 3 * (uint64_t)I) * (uint64_t)H, err)))
        return st;
    if (!(m->experts = calloc((size_t)c->num_layers * (size_t)E * VIEWS, sizeof *m->experts)))
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        /* views: attention in, attention out, MLP gate, MLP up, MLP down */
        mhv_mat *v = m->experts + (size_t)l * (size_t)E * VIEWS, kv;
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), n)
        if ((st = mhv_wload_vec(ld, N("input_layernorm.weight"), H, 0, &ly->ln_attn_g, err)) ||
            (st = mhv_wload_mat(ld, N("self_attention.experts.router.layer.weight"), E, H, 0,
                                &ly->shared_gate, err)) ||
            (st = load_experts(ld, N("self_attention.experts.input_linear.weight"), E, KVD, H, 1,
                               v, err)) ||
            (st = load_experts(ld, N("self_attention.experts.output_linear.weight"), E, H, KVD,
                               1, v + E, err)) ||
            (st = mhv_wload_vec(ld, N("self_attention.experts.bias"), H, 0, &ly->o_b, err)) ||
            (st = mhv_wload_mat(ld, N("self_attention.kv_proj.weight"), 2 * KVD, H, 0, &kv,
                                err)) ||
            (st = mhv_wload_vec(ld, N("post_attention_layernorm.weight"), H, 0, &ly->ln_ffn_g,
                                err)) ||
            (st = mhv_wload_mat(ld, N("mlp.router.layer.weight"), E, H, 0, &ly->router, err)) ||
            (st = load_experts(ld, N("mlp.input_linear.weight"), E, 2 * I, H, 2, v + 2 * E,
                               err)) ||
            (st = load_experts(ld, N("mlp.output_linear.weight"), E, H, I, 1, v + 4 * E, err)) ||
            (st = mhv_wload_vec(ld, N("mlp.bias"), H, 0, &ly->ffn_down_b, err)))
            return st;
#undef N
        ly->k = mhv_mat_rows(&kv, 0, KVD), ly->v = mhv_mat_rows(&kv, KVD, KVD);
        ly->exp_gate = v + 2 * E, ly->exp_up = v + 3 * E, ly->exp_down = v + 4 * E;
    }
    return mhv_decoder_load_lm_head(m, ld, "lm_head.weight", NULL, err);
}

/* The routing of one mixture: logits (n, E), each token's k experts ix (n, k) and weights w
 * (n, k); rows (n,) the (token * k + slot) pairs of one expert, in (n, width) and out (n,
 * width) their rows. */
typedef struct {
    float *logits, *w;
    int32_t *ix, *rows;
    float *in, *out;
} routing;

/* The (token, slot) pairs of ix(n, k) routed to expert e into rows; returns their count. */
static int routed(const int32_t *ix, int n, int k, int e, int32_t *rows)
{
    int count = 0;
    for (int i = 0; i < n * k; i++)
        if (ix[i] == e)
            rows[count++] = i;
    return count;
}

/* The queries q(n, k * KVD): slot j of token t is expert ix[t, j]'s input_linear of h_t. */
static void routed_queries(mhv_nn *nn, const mhv_mat *in_exp, int E, const float *h, int n,
                           int H, int k, int KVD, routing *r, float *q)
{
    for (int e = 0; e < E; e++) {
        int count = routed(r->ix, n, k, e, r->rows);
        if (!count)
            continue;
        for (int i = 0; i < count; i++)
            memcpy(r->in + (size_t)i * (size_t)H, h + (size_t)(r->rows[i] / k) * (size_t)H,
                   (size_t)H * sizeof *h);
        mhv_nn_linear(nn, r->out, r->in, &in_exp[e], NULL, count, MHV_NN_NO_ACT);
        for (int i = 0; i < count; i++) /* slot rows[i] % k of its token */
            memcpy(q + (size_t)r->rows[i] * (size_t)KVD, r->out + (size_t)i * (size_t)KVD,
                   (size_t)KVD * sizeof *q);
    }
}

/* y(n, H) = for each token, sum over its slots in expert order of w * output_linear[e] of the
 * slot's ctx (KVD,), then + bias: transformers' reduce. */
static void routed_outputs(mhv_nn *nn, const mhv_mat *out_exp, int E, const float *ctx, int n,
                           int H, int k, int KVD, const float *bias, routing *r, float *y)
{
    memset(y, 0, (size_t)n * (size_t)H * sizeof *y);
    for (int e = 0; e < E; e++) {
        int count = routed(r->ix, n, k, e, r->rows);
        if (!count)
            continue;
        for (int i = 0; i < count; i++)
            memcpy(r->in + (size_t)i * (size_t)KVD, ctx + (size_t)r->rows[i] * (size_t)KVD,
                   (size_t)KVD * sizeof *ctx);
        mhv_nn_linear(nn, r->out, r->in, &out_exp[e], NULL, count, MHV_NN_NO_ACT);
        for (int i = 0; i < count; i++) {
            float w = r->w[r->rows[i]], *yt = y + (size_t)(r->rows[i] / k) * (size_t)H;
            const float *src = r->out + (size_t)i * (size_t)H;
            for (int t = 0; t < H; t++)
                yt[t] += src[t] * w;
        }
    }
    for (int i = 0; i < n; i++)
        for (int t = 0; t < H; t++)
            y[(size_t)i * (size_t)H + t] += bias[t];
}

/* floats rounded up to whole cache lines, so that the carved buffers stay aligned */
static size_t lines(size_t floats)
{
    return (floats + 15) / 16 * 16;
}

static mhv_status jetmoe_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                 mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (cap->vnorm == MHV_VNORM_VO) /* no one W_O: each token's slots have their experts' */
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "value norms through the output projection (--weighting norm-out) are "
                        "not supported for jetmoe: its output projections are routed per token");
    int H = c->hidden_size, d = c->head_dim, E = c->num_experts, k = c->experts_per_tok;
    int KVD = c->num_kv_heads * d, W = H > KVD ? H : KVD;
    size_t N = (size_t)n;
    const mhv_moe moe = {
        .experts = E, .top_k = k, .inter = c->moe_intermediate_size, .act = (int)c->act,
        .softmax_topk = 1,
    };
    const mhv_decoder dec = {MHV_NORM_RMS, MHV_RESIDUAL_SEQUENTIAL, MHV_MLP_GATED, &moe};
    float *scratch; /* the attention's routing: logits, w, ix, rows, in, out */
    size_t parts[6] = {lines(N * (size_t)E), lines(N * (size_t)k), lines(N * (size_t)k),
                       lines(N), lines(N * (size_t)W), lines(N * (size_t)W)};
    mhv_decoder_scratch s = {
        .rope_half = d / 2,
        .extra = {{&scratch, parts[0] + parts[1] + parts[2] + parts[3] + parts[4] + parts[5]}},
    };
    mhv_decoder_pass p;
    mhv_status st = mhv_decoder_begin(nn, &dec, c, n, &s, &p, err);
    if (st)
        return st;
    routing r = {scratch, scratch + parts[0], (int32_t *)(void *)(scratch + parts[0] + parts[1]),
                 (int32_t *)(void *)(scratch + parts[0] + parts[1] + parts[2]),
                 scratch + parts[0] + parts[1] + parts[2] + parts[3],
                 scratch + parts[0] + parts[1] + parts[2] + parts[3] + parts[4]};
    mhv_rotary rot = mhv_decoder_rope(&p, &c->rope, d, 0);

    mhv_embed emb = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, p.x, &emb, ids, n, H);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        const mhv_mat *v = m->experts + (size_t)l * (size_t)E * VIEWS;
        mhv_norm ln1 = {MHV_NORM_RMS, ly->ln_attn_g, NULL, JETMOE_LAYER_EPS};
        mhv_norm ln2 = {MHV_NORM_RMS, ly->ln_ffn_g, NULL, JETMOE_LAYER_EPS};
        mhv_nn_norm(nn, p.xb, p.x, &ln1, n, H);
        mhv_nn_linear(nn, r.logits, p.xb, &ly->shared_gate, NULL, n, MHV_NN_NO_ACT);
        mhv_nn_topk_softmax(r.logits, n, E, k, r.w, r.ix);
        routed_queries(nn, v, E, p.xb, n, H, k, KVD, &r, p.attn.q);
        mhv_attn_layer attn = mhv_layer_attention(ly, c);
        attn.wq = NULL, attn.wo = NULL, attn.q_given = 1, attn.kv_tiled = 1;
        attn.causal = 1, attn.rope = &rot;
        mhv_nn_attention(nn, &attn, p.xb, n, l, &p.attn, cap);
        if (mhv_capture_done(cap, l))
            break;
        routed_outputs(nn, v + E, E, p.attn.ctx, n, H, k, KVD, ly->o_b, &r, p.tmp);
        mhv_nn_add(nn, p.x, p.tmp, n, H);
        mhv_nn_norm(nn, p.xb, p.x, &ln2, n, H);
        mhv_moe lm = moe;
        lm.router = &ly->router, lm.gate = ly->exp_gate, lm.up = ly->exp_up;
        lm.down = ly->exp_down;
        mhv_nn_moe(nn, p.tmp, p.xb, &lm, n, H, p.moe);
        for (size_t i = 0; i < N; i++) /* + the MLP's bias, then the residual */
            for (int t = 0; t < H; t++)
                p.tmp[i * (size_t)H + (size_t)t] += ly->ffn_down_b[t];
        mhv_nn_add(nn, p.x, p.tmp, n, H);
    }
    if (logits)
        mhv_decoder_logits(nn, &dec, m, p.x, n, logits); /* (n, vocab) */
    return MHV_OK;
}

const mhv_family mhv_family_jetmoe = {
    .name = "jetmoe",
    .model_types = model_types,
    .config = jetmoe_config,
    .vector_floats = jetmoe_vector_floats,
    .load = jetmoe_load,
    .forward = jetmoe_forward,
    .packs = mhv_family_packs_any_rows,
};
