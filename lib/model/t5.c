/* t5.c - T5, mT5 and UMT5 (T5ForConditionalGeneration, T5Model, MT5*, UMT5*): an encoder and
 * a decoder of pre-norm layers with RMSNorm without mean, no position embeddings but a
 * relative position bias added to the (unscaled) scores, and a feed-forward layer that is
 * ReLU (T5) or gated GELU (T5 v1.1, mT5, UMT5).
 *
 *   encoder: x = shared[src];  per layer: x += O·attn(rms(x)) + bias;  x += wo(act(wi(rms(x))))
 *            e = rms_final(x)
 *   decoder: y = shared[tgt];  per layer: y += O·attn_causal(rms(y)) + bias;
 *            y += O·cross(rms(y), e);  y += ffn(rms(y))
 *   logits = lm_head(rms_final(y) * (d_model**-0.5 when tied))
 * The bias of head h for query i and key j is rel[bucket(j - i)][h]: buckets bidirectional
 * in the encoder, causal in the decoder; T5 and mT5 compute it in the first layer of each
 * stack and share it, UMT5 has one per layer. Cross-attention has no bias. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"

static const char *const model_types[] = {"t5", "mt5", "umt5", NULL};

typedef struct {
    const char *model_type;
    int vocab, d_model, d_kv, d_ff, layers, heads; /* transformers' config defaults */
    const char *ffn;                               /* feed_forward_proj default */
    int per_layer_bias;                            /* UMT5 */
    int scale_if_tied;                             /* rescale before a tied LM head */
} variant;

static const variant variants[] = {
    {"t5", 32128, 512, 64, 2048, 6, 8, "relu", 0, 1},
    {"mt5", 250112, 512, 64, 1024, 8, 6, "gated-gelu", 0, 0},
    {"umt5", 250112, 512, 64, 1024, 8, 6, "gated-gelu", 1, 1},
};

static const variant *variant_of(const mhv_config *c)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        if (strcmp(variants[i].model_type, c->arch) == 0)
            return &variants[i];
    return &variants[0];
}

static mhv_status t5_config(const cJSON *root, mhv_config *c, const char *name, mhv_error *err)
{
    const variant *v = variant_of(c);
    mhv_status st;
    const char *ffn;
    double eps;
    int tie;
    if ((st = mhv_json_int(root, "vocab_size", v->vocab, 1, MHV_MAX_VOCAB, &c->vocab_size, name,
                           err)) ||
        (st = mhv_json_int(root, "d_model", v->d_model, 1, MHV_MAX_HIDDEN, &c->hidden_size, name,
                           err)) ||
        (st = mhv_json_int(root, "d_kv", v->d_kv, 1, MHV_MAX_HIDDEN, &c->head_dim, name, err)) ||
        (st = mhv_json_int(root, "d_ff", v->d_ff, 1, 4 * MHV_MAX_HIDDEN, &c->intermediate_size,
                           name, err)) ||
        (st = mhv_json_int(root, "num_layers", v->layers, 1, MHV_MAX_LAYERS, &c->num_layers,
                           name, err)) ||
        (st = mhv_json_int(root, "num_decoder_layers", c->num_layers, 1, MHV_MAX_LAYERS,
                           &c->dec_layers, name, err)) ||
        (st = mhv_json_int(root, "num_heads", v->heads, 1, MHV_MAX_HEADS, &c->num_heads, name,
                           err)) ||
        (st = mhv_json_int(root, "relative_attention_num_buckets", 32, 2, 1 << 20,
                           &c->rel_pos_buckets, name, err)) ||
        (st = mhv_json_int(root, "relative_attention_max_distance", 128, 1, MHV_MAX_POSITIONS,
                           &c->rel_pos_max_distance, name, err)) ||
        (st = mhv_json_num(root, "layer_norm_epsilon", 1e-6, 0, 1, &eps, name, err)) ||
        (st = mhv_json_str(root, "feed_forward_proj", v->ffn, &ffn, name, err)) ||
        (st = mhv_json_int(root, "decoder_start_token_id", 0, 0, MHV_MAX_VOCAB - 1,
                           &c->decoder_start_id, name, err)) ||
        (st = mhv_json_bool(root, "tie_word_embeddings", 1, &tie, name, err)))
        return st;
    if ((long long)c->num_heads * c->head_dim > MHV_MAX_HIDDEN)
        return mhv_fail(err, MHV_EFORMAT, name, "num_heads x d_kv exceeds %d", MHV_MAX_HIDDEN);
    /* the logarithmic buckets start at num_buckets / 2 (decoder) or / 4 (encoder): a
     * max_distance not beyond them makes transformers' logarithm divide by zero or less */
    if (c->rel_pos_max_distance <= c->rel_pos_buckets / 2)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "relative_attention_max_distance %d not above half of "
                        "relative_attention_num_buckets %d is not supported",
                        c->rel_pos_max_distance, c->rel_pos_buckets);
    /* eos_token_id: a number, or a list whose first entry generation stops at */
    const cJSON *eos = mhv_json_get(root, "eos_token_id");
    if (cJSON_IsArray(eos))
        eos = cJSON_GetArrayItem(eos, 0);
    c->eos_id = 1;
    if (eos && cJSON_IsNumber(eos))
        c->eos_id = eos->valueint;
    else if (eos)
        return mhv_fail(err, MHV_EFORMAT, name, "field 'eos_token_id' is not a number");
    /* feed_forward_proj: ACT or gated-ACT; gated-gelu means gelu_new */
    c->gated_ffn = strncmp(ffn, "gated-", 6) == 0;
    const char *act = c->gated_ffn ? ffn + 6 : ffn;
    int a = strcmp(ffn, "gated-gelu") == 0 ? (int)MHV_ACT_GELU_NEW : mhv_act_from_name(act);
    if (a < 0 || strchr(act, '-'))
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported feed_forward_proj '%.64s'",
                        ffn);
    c->act = (mhv_act)a;
    c->layer_norm_eps = (float)eps;
    c->num_kv_heads = c->num_heads;
    c->enc_dec = 1;
    c->causal = 0;
    c->dec_vocab_size = c->vocab_size;
    c->dec_intermediate_size = c->intermediate_size;
    c->embedding_size = c->hidden_size;
    c->max_positions = MHV_MAX_POSITIONS; /* relative positions: no limit of their own */
    c->rel_pos_per_layer = v->per_layer_bias;
    c->tie_word_embeddings = tie;
    if (v->scale_if_tied && tie)
        c->out_scale = 1.0 / sqrt((double)c->hidden_size);
    return MHV_OK;
}

static size_t t5_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    return 2 * H + (size_t)c->num_layers * 2 * H + (size_t)c->dec_layers * 3 * H;
}

/* The attention of one T5 layer: q, k, v, o under `at` ("SelfAttention", "EncDecAttention"). */
static mhv_status load_attn(mhv_wload *ld, const char *base, const char *at, int H, int I,
                            mhv_mat *q, mhv_mat *k, mhv_mat *v, mhv_mat *o, mhv_error *err)
{
    char n[200];
    mhv_status st;
#define N(w) (snprintf(n, sizeof n, "%s.%s.%s.weight", base, at, w), n)
    if ((st = mhv_wload_mat(ld, N("q"), I, H, 0, q, err)) ||
        (st = mhv_wload_mat(ld, N("k"), I, H, 0, k, err)) ||
        (st = mhv_wload_mat(ld, N("v"), I, H, 0, v, err)) ||
        (st = mhv_wload_mat(ld, N("o"), H, I, 0, o, err)))
        return st;
#undef N
    return MHV_OK;
}

static mhv_status load_ffn(mhv_wload *ld, const mhv_config *c, const char *base, mhv_layer *ly,
                           mhv_error *err)
{
    char n[200];
    int H = c->hidden_size, F = c->intermediate_size;
    mhv_status st;
#define N(w) (snprintf(n, sizeof n, "%s.DenseReluDense.%s.weight", base, w), n)
    if (c->gated_ffn) {
        if ((st = mhv_wload_mat(ld, N("wi_0"), F, H, 0, &ly->ffn_gate, err)) ||
            (st = mhv_wload_mat(ld, N("wi_1"), F, H, 0, &ly->ffn_up, err)))
            return st;
    } else if ((st = mhv_wload_mat(ld, N("wi"), F, H, 0, &ly->ffn_up, err))) {
        return st;
    }
    if ((st = mhv_wload_mat(ld, N("wo"), H, F, 0, &ly->ffn_down, err)))
        return st;
#undef N
    snprintf(n, sizeof n, "%s.layer_norm.weight", base);
    return mhv_wload_vec(ld, n, H, 0, &ly->ln_ffn_g, err);
}

static mhv_status t5_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->num_heads * c->head_dim, V = c->vocab_size;
    int Le = c->num_layers, Ld = c->dec_layers;
    mhv_layer *all = realloc(m->layers, (size_t)(Le + Ld) * sizeof *all);
    if (!all)
        return mhv_fail(err, MHV_ENOMEM, m->dir, "out of memory");
    memset(all + Le, 0, (size_t)Ld * sizeof *all);
    m->layers = all;
    m->dec_layers = all + Le;
    mhv_status st;
    /* shared.weight; T5EncoderModel-style files may hold only encoder.embed_tokens */
    if ((st = mhv_wload_mat(ld, "shared.weight", V, H, MHV_W_OPTIONAL, &m->word_emb, err)))
        return st;
    if (!m->word_emb.data &&
        (st = mhv_wload_mat(ld, "encoder.embed_tokens.weight", V, H, 0, &m->word_emb, err)))
        return st;
    if ((st = mhv_wload_mat(ld, "decoder.embed_tokens.weight", V, H, MHV_W_OPTIONAL,
                            &m->dec_word_emb, err)))
        return st;
    if (!m->dec_word_emb.data)
        m->dec_word_emb = m->word_emb;
    if ((st = mhv_wload_vec(ld, "encoder.final_layer_norm.weight", H, 0, &m->enc_norm_g, err)) ||
        (st = mhv_wload_vec(ld, "decoder.final_layer_norm.weight", H, 0, &m->norm_g, err)))
        return st;
    char base[120], n[200];
    for (int l = 0; l < Le + Ld; l++) {
        int dec = l >= Le, i = dec ? l - Le : l;
        mhv_layer *ly = &all[l];
        const char *stack = dec ? "decoder" : "encoder";
        snprintf(base, sizeof base, "%s.block.%d.layer.0", stack, i);
        if ((st = load_attn(ld, base, "SelfAttention", H, I, &ly->q, &ly->k, &ly->v, &ly->o,
                            err)))
            return st;
        snprintf(n, sizeof n, "%s.SelfAttention.relative_attention_bias.weight", base);
        if ((i == 0 || c->rel_pos_per_layer) &&
            (st = mhv_wload_mat(ld, n, c->rel_pos_buckets, c->num_heads, 0, &ly->rel_bias, err)))
            return st;
        snprintf(n, sizeof n, "%s.layer_norm.weight", base);
        if ((st = mhv_wload_vec(ld, n, H, 0, &ly->ln_attn_g, err)))
            return st;
        if (dec) {
            snprintf(base, sizeof base, "decoder.block.%d.layer.1", i);
            if ((st = load_attn(ld, base, "EncDecAttention", H, I, &ly->xq, &ly->xk, &ly->xv,
                                &ly->xo, err)))
                return st;
            snprintf(n, sizeof n, "%s.layer_norm.weight", base);
            if ((st = mhv_wload_vec(ld, n, H, 0, &ly->ln_cross_g, err)))
                return st;
        }
        snprintf(base, sizeof base, "%s.block.%d.layer.%d", stack, i, dec ? 2 : 1);
        if ((st = load_ffn(ld, c, base, ly, err)))
            return st;
    }
    /* lm_head.weight when stored (untied, or saved anyway), else the shared embedding; a
     * T5Model (no lm_head, tie_word_embeddings false) has no logits */
    if ((st = mhv_wload_mat(ld, "lm_head.weight", V, H, MHV_W_OPTIONAL, &m->lm_head, err)))
        return st;
    if (!m->lm_head.data && c->tie_word_embeddings)
        m->lm_head = m->word_emb;
    return MHV_OK;
}

typedef struct {
    const float *table;     /* (buckets, heads) */
    const int32_t *bucket;  /* (n, keys) */
    int heads;
} rel_ctx;

/* b(n, keys) of head h from the pass's buckets (made for its q0 by fill_buckets) */
static void rel_bias(const void *ctx, int h, int q0, int n, int keys, float *b)
{
    (void)q0;
    const rel_ctx *r = ctx;
    for (size_t i = 0; i < (size_t)n * (size_t)keys; i++)
        b[i] = r->table[(size_t)r->bucket[i] * (size_t)r->heads + (size_t)h];
}

/* bk(n, q0 + n): the buckets of queries at positions q0 .. q0+n-1 over every key */
static void fill_buckets(const mhv_config *c, int32_t *bk, int q0, int n, int bidirectional)
{
    int keys = q0 + n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < keys; j++)
            bk[(size_t)i * (size_t)keys + (size_t)j] = mhv_family_t5_bucket(
                j - (q0 + i), bidirectional, c->rel_pos_buckets, c->rel_pos_max_distance);
}

static void fill_table(const mhv_mat *rel, float *table)
{
    for (int r = 0; r < rel->rows; r++)
        mhv_mat_row(rel, r, table + (size_t)r * (size_t)rel->cols);
}

static mhv_norm rms(const float *g, float eps)
{
    return (mhv_norm){MHV_NORM_RMS, g, NULL, eps};
}

/* x(n, H) += ffn(rms(x)) with xb, ffn, gate and tmp as scratch. */
static void t5_ffn(mhv_nn *nn, const mhv_config *c, const mhv_layer *ly, float *x, float *xb,
                   float *ffn, float *gate, float *tmp, int n)
{
    int H = c->hidden_size, F = c->intermediate_size;
    mhv_norm ln = rms(ly->ln_ffn_g, c->layer_norm_eps);
    mhv_nn_norm(nn, xb, x, &ln, n, H);
    if (c->gated_ffn) {
        mhv_plin_part parts[2] = {{gate, &ly->ffn_gate, NULL, 0, F, (int)c->act},
                                  {ffn, &ly->ffn_up, NULL, 0, F, MHV_NN_NO_ACT}};
        mhv_nn_linear_parts(nn, parts, 2, xb, n);
        mhv_nn_mul(nn, ffn, gate, n, F);
    } else {
        mhv_nn_linear(nn, ffn, xb, &ly->ffn_up, NULL, n, (int)c->act);
    }
    mhv_nn_linear(nn, tmp, ffn, &ly->ffn_down, NULL, n, MHV_NN_NO_ACT);
    mhv_nn_add(nn, x, tmp, n, H);
}

static mhv_status t5_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                             mhv_capture *cap, float *logits, mhv_error *err)
{
    (void)nn, (void)ids, (void)n, (void)cap, (void)logits;
    return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "%s is an encoder-decoder model",
                    m->cfg.arch);
}

static mhv_status t5_seq2seq(mhv_nn *nn, const mhv_model *m, const int32_t *src, int ns,
                             const int32_t *tgt, int nt, mhv_capture *cap, float *logits,
                             mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->num_heads * c->head_dim, F = c->intermediate_size;
    int N = ns > nt ? ns : nt, B = c->rel_pos_buckets, NH = c->num_heads;
    size_t n = (size_t)N;
    float *xe;    /* (ns, H) encoder stream, then its output */
    float *xd;    /* (nt, H) decoder stream */
    float *xb;    /* (N, H) normalised stream */
    float *q, *k, *v, *ctx; /* (N, I) */
    float *tmp;   /* (N, H) */
    float *ffn, *gate; /* (N, F) */
    float *bke, *bkd;  /* (ns, ns), (nt, past + nt) int32 buckets */
    int past = mhv_nn_past(nn); /* a cached decoding step's first position */
    float *table; /* (buckets, heads) the relative bias in use */
    const mhv_nn_buf bufs[] = {
        {&xe, (size_t)ns * (size_t)H}, {&xd, (size_t)nt * (size_t)H}, {&xb, n * (size_t)H},
        {&q, n * (size_t)I}, {&k, n * (size_t)I}, {&v, n * (size_t)I}, {&ctx, n * (size_t)I},
        {&tmp, n * (size_t)H}, {&ffn, n * (size_t)F}, {&gate, c->gated_ffn ? n * (size_t)F : 0},
        {&bke, (size_t)ns * (size_t)ns}, {&bkd, (size_t)nt * (size_t)(past + nt)},
        {&table, (size_t)B * (size_t)NH}};
    int widest = F > I ? F : I;
    mhv_nn_shape shape = {N, H, widest > H ? widest : H, c->head_dim};
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]), err);
    if (st || (st = mhv_nn_reserve_bias(nn, N, err)))
        return st;
    const mhv_attn_bufs ab = {.q = q, .k = k, .v = v, .ctx = ctx};

    /* encoder (under generation once per source: nn's encoder memo) */
    int32_t *bucket_e = (int32_t *)(void *)bke, *bucket_d = (int32_t *)(void *)bkd;
    rel_ctx rc = {table, bucket_e, NH};
    size_t enc_floats = (size_t)ns * (size_t)H;
    mhv_nn_kv *kv = nn->kv; /* the decoder's key/value cache, not the encoder's */
    nn->kv = NULL;
    if (mhv_nn_memo_load(nn, 0, xe, enc_floats))
        goto decoder;
    mhv_embed e = {.tok = &m->word_emb, .pad_id = -1};
    mhv_nn_embed(nn, xe, &e, src, ns, H);
    fill_buckets(c, bucket_e, 0, ns, 1);
    for (int l = 0; l <= cap[0].last; l++) {
        const mhv_layer *ly = &m->layers[l];
        if (ly->rel_bias.data)
            fill_table(&ly->rel_bias, table);
        mhv_norm ln = rms(ly->ln_attn_g, c->layer_norm_eps);
        mhv_attn_layer attn = {.wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .heads = NH,
                               .kv_heads = NH, .head_dim = c->head_dim, .scale = 1.0f,
                               .bias_pos = rel_bias, .bias_ctx = &rc, .wo = &ly->o};
        mhv_nn_norm(nn, xb, xe, &ln, ns, H);
        mhv_nn_attention(nn, &attn, xb, ns, l, &ab, &cap[0]);
        if (mhv_capture_done(&cap[0], l))
            break;
        mhv_nn_linear(nn, tmp, ctx, &ly->o, NULL, ns, MHV_NN_NO_ACT);
        mhv_nn_add(nn, xe, tmp, ns, H);
        t5_ffn(nn, c, ly, xe, xb, ffn, gate, tmp, ns);
    }
    if (cap[1].last < 0 && !logits) {
        nn->kv = kv;
        return MHV_OK;
    }
    mhv_norm fe = rms(m->enc_norm_g, c->layer_norm_eps);
    mhv_nn_norm(nn, xe, xe, &fe, ns, H);
    mhv_nn_memo_store(nn, 0, xe, enc_floats);

decoder:;
    nn->kv = kv;
    mhv_embed d = {.tok = &m->dec_word_emb, .pad_id = -1};
    mhv_nn_embed(nn, xd, &d, tgt, nt, H);
    fill_buckets(c, bucket_d, past, nt, 0);
    rc.bucket = bucket_d;
    int last = logits ? c->dec_layers - 1 : cap[1].last;
    for (int l = 0; l <= last; l++) {
        const mhv_layer *ly = &m->dec_layers[l];
        if (ly->rel_bias.data)
            fill_table(&ly->rel_bias, table);
        mhv_norm ln = rms(ly->ln_attn_g, c->layer_norm_eps);
        mhv_attn_layer attn = {.wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .heads = NH,
                               .kv_heads = NH, .head_dim = c->head_dim, .scale = 1.0f,
                               .causal = 1, .bias_pos = rel_bias, .bias_ctx = &rc,
                               .wo = &ly->o};
        mhv_nn_norm(nn, xb, xd, &ln, nt, H);
        mhv_nn_attention(nn, &attn, xb, nt, l, &ab, &cap[1]);
        mhv_nn_linear(nn, tmp, ctx, &ly->o, NULL, nt, MHV_NN_NO_ACT);
        mhv_nn_add(nn, xd, tmp, nt, H);
        mhv_norm lx = rms(ly->ln_cross_g, c->layer_norm_eps);
        mhv_attn_layer cross = {.wq = &ly->xq, .wk = &ly->xk, .wv = &ly->xv, .heads = NH,
                                .kv_heads = NH, .head_dim = c->head_dim, .scale = 1.0f,
                                .wo = &ly->xo};
        int done = !logits && l == last;
        mhv_nn_norm(nn, xb, xd, &lx, nt, H);
        mhv_nn_cross_attention(nn, &cross, xb, nt, xe, ns, l, &ab, &cap[2], done);
        if (done)
            break;
        mhv_nn_linear(nn, tmp, ctx, &ly->xo, NULL, nt, MHV_NN_NO_ACT);
        mhv_nn_add(nn, xd, tmp, nt, H);
        t5_ffn(nn, c, ly, xd, xb, ffn, gate, tmp, nt);
    }
    if (logits) {
        int lr = mhv_nn_logit_rows(nn, nt); /* the last lr positions */
        float *xl = xd + (size_t)(nt - lr) * (size_t)H;
        mhv_norm fd = rms(m->norm_g, c->layer_norm_eps);
        mhv_nn_norm(nn, xl, xl, &fd, lr, H);
        if (c->out_scale > 0)
            for (size_t i = 0; i < (size_t)lr * (size_t)H; i++)
                xl[i] = (float)(xl[i] * c->out_scale);
        mhv_nn_linear(nn, logits, xl, &m->lm_head, NULL, lr, MHV_NN_NO_ACT);
    }
    return MHV_OK;
}

const mhv_family mhv_family_t5 = {
    .name = "t5",
    .model_types = model_types,
    .config = t5_config,
    .vector_floats = t5_vector_floats,
    .load = t5_load,
    .forward = t5_forward,
    .seq2seq = t5_seq2seq,
    .caches = mhv_family_caches_always, /* relative buckets from a cached step's positions */
};
