/* deberta.c - DeBERTa v1 (DebertaModel, DebertaForMaskedLM ...) and v2 / v3
 * (DebertaV2Model, DebertaV2ForMaskedLM ...): BERT's post-norm layers with disentangled
 * attention. The probabilities users see are the softmax over the three terms together:
 *
 *   s(i, j) = [ q_i·k_j + q_i·Kr[c2p(i, j)] + k_j·Qr[p2c(i, j)] ] / sqrt(d · terms)
 *
 * Kr, Qr: the relative position embeddings (LayerNorm'd when norm_rel_ebd says so) through
 * the key and query projections (share_att_key) or their own; c2p(i, j) = bucket(i - j) + span
 * and p2c(i, j) = span - bucket(j - i), clamped to the table, with transformers' log buckets
 * (make_log_bucket_position) when position_buckets > 0.
 *
 * v1 ("deberta") is the same computation with other weights: one bias-free in_proj whose
 * rows hold [q, k, v] per head, q_bias and v_bias apart, pos_proj (no bias) and pos_q_proj
 * for Kr and Qr, no buckets, no shared keys, no norm of the relative embeddings; its terms
 * are 1 + every pos_att_type entry. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"
#include "model/layers.h"

static const char *const model_types[] = {"deberta-v2", "deberta", NULL};

static int is_v1(const mhv_config *c)
{
    return strcmp(c->arch, "deberta") == 0;
}

/* One entry of v1's pos_att_type into c: c2p or p2c, once each (every entry counts in the
 * scale, so anything else, or an entry twice, would change it without a term). */
static mhv_status v1_term(mhv_config *c, const char *e, const char *name, mhv_error *err)
{
    int *flag = strcmp(e, "c2p") == 0 ? &c->rel_c2p : strcmp(e, "p2c") == 0 ? &c->rel_p2c : NULL;
    if (!flag)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported pos_att_type '%.20s'", e);
    if (*flag)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "pos_att_type lists '%s' twice", e);
    *flag = 1;
    c->rel_scale_terms++;
    return MHV_OK;
}

/* v1's pos_att_type as DebertaConfig keeps it: a list, or a "c2p|p2c" string split on '|',
 * each field stripped and lowercased. */
static mhv_status v1_pos_att_type(const cJSON *root, mhv_config *c, const char *name,
                                  mhv_error *err)
{
    const cJSON *pat = mhv_json_get(root, "pos_att_type");
    c->rel_scale_terms = 1;
    mhv_status st = MHV_OK;
    if (!pat || cJSON_IsNull(pat))
        return MHV_OK;
    if (cJSON_IsArray(pat)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, pat)
        {
            if (!cJSON_IsString(it))
                return mhv_fail(err, MHV_EFORMAT, name, "field 'pos_att_type' holds a non-string");
            if ((st = v1_term(c, it->valuestring, name, err)))
                return st;
        }
        return MHV_OK;
    }
    if (!cJSON_IsString(pat))
        return mhv_fail(err, MHV_EFORMAT, name, "field 'pos_att_type' is not a list");
    for (const char *p = pat->valuestring; p && !st;) {
        const char *end = strchr(p, '|');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && strchr(" \t\n\r\f\v", p[len - 1])) /* Python's strip() */
            len--;
        while (len && strchr(" \t\n\r\f\v", *p))
            p++, len--;
        char e[24];
        size_t k = 0;
        for (; k < len && k < sizeof e - 1; k++)
            e[k] = (char)(p[k] >= 'A' && p[k] <= 'Z' ? p[k] - 'A' + 'a' : p[k]);
        e[k] = '\0';
        st = v1_term(c, e, name, err);
        p = end ? end + 1 : NULL;
    }
    return st;
}

/* DebertaConfig (v1): transformers reads no buckets, shared keys, norm of the relative
 * embeddings, head size or convolution for it, so neither does this. */
static mhv_status v1_config(const cJSON *root, mhv_config *c, const char *name, mhv_error *err)
{
    mhv_status st;
    double eps;
    int rel = 0, talking = 0;
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       768, 12, 12, 3072, 50265, 512};
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (st = mhv_json_int(root, "type_vocab_size", 0, 0, 1024, &c->type_vocab_size, name,
                           err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", 1e-7, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "relative_attention", 0, &rel, name, err)) ||
        (st = mhv_json_bool(root, "position_biased_input", 1, &c->pos_input, name, err)) ||
        (st = mhv_json_bool(root, "talking_head", 0, &talking, name, err)) ||
        (st = mhv_json_int(root, "max_relative_positions", -1, -1, MHV_MAX_POSITIONS,
                           &c->rel_max, name, err)) ||
        (st = mhv_json_int(root, "embedding_size", c->hidden_size, 1, MHV_MAX_HIDDEN,
                           &c->embedding_size, name, err)) ||
        (st = v1_pos_att_type(root, c, name, err)))
        return st;
    if (talking)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "talking_head is not supported (scores "
                        "and probabilities mixed across heads)");
    c->layer_norm_eps = (float)eps;
    c->rel_attention = rel;
    if (!rel)
        c->rel_c2p = c->rel_p2c = 0; /* the terms need relative_attention; the scale not */
    if (c->rel_max < 1)
        c->rel_max = c->max_positions;
    c->rel_span = c->rel_max, c->rel_buckets = 0;
    return MHV_OK;
}

static mhv_status deberta_config(const cJSON *root, mhv_config *c, const char *name,
                                 mhv_error *err)
{
    if (is_v1(c))
        return v1_config(root, c, name, err);
    mhv_status st;
    double eps;
    int rel = 0, conv = 0, head_size;
    static const mhv_size_keys keys = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "vocab_size", "max_position_embeddings",
                                       1536, 24, 24, 6144, 128100, 512};
    if ((st = mhv_config_sizes(root, &keys, 1, c, name, err)) ||
        (st = mhv_json_int(root, "type_vocab_size", 0, 0, 1024, &c->type_vocab_size, name,
                           err)) ||
        (st = mhv_json_num(root, "layer_norm_eps", 1e-7, -1e-300, 1, &eps, name, err)) ||
        (st = mhv_config_act(root, "hidden_act", MHV_ACT_GELU, &c->act, name, err)) ||
        (st = mhv_json_bool(root, "relative_attention", 0, &rel, name, err)) ||
        (st = mhv_json_bool(root, "position_biased_input", 1, &c->pos_input, name, err)) ||
        (st = mhv_json_bool(root, "share_att_key", 0, &c->rel_share_key, name, err)) ||
        (st = mhv_json_int(root, "max_relative_positions", -1, -1, MHV_MAX_POSITIONS,
                           &c->rel_max, name, err)) ||
        (st = mhv_json_int(root, "position_buckets", -1, -1, MHV_MAX_POSITIONS,
                           &c->rel_buckets, name, err)) ||
        (st = mhv_json_int(root, "conv_kernel_size", 0, 0, 1024, &conv, name, err)))
        return st;
    c->layer_norm_eps = (float)eps;
    if ((st = mhv_json_int(root, "attention_head_size", c->hidden_size / c->num_heads, 1,
                           MHV_MAX_HIDDEN, &head_size, name, err)))
        return st;
    if (head_size != c->hidden_size / c->num_heads)
        return mhv_fail(err, MHV_EUNSUPPORTED, name, "attention_head_size %d is not supported "
                        "(only hidden_size / num_attention_heads)", head_size);
    if (conv > 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, name,
                        "conv_kernel_size %d is not supported (the convolution after the first "
                        "layer of DeBERTa-v2-xlarge)", conv);
    if ((st = mhv_json_int(root, "embedding_size", c->hidden_size, 1, MHV_MAX_HIDDEN,
                           &c->embedding_size, name, err)))
        return st;
    if (c->rel_buckets < 1)
        c->rel_buckets = 0;

    /* pos_att_type: a list, or the old "p2c|c2p" string */
    const cJSON *pat = mhv_json_get(root, "pos_att_type");
    if (pat && cJSON_IsString(pat)) {
        c->rel_c2p = strstr(pat->valuestring, "c2p") != NULL;
        c->rel_p2c = strstr(pat->valuestring, "p2c") != NULL;
    } else if (pat && cJSON_IsArray(pat)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, pat)
        {
            if (!cJSON_IsString(it))
                return mhv_fail(err, MHV_EFORMAT, name, "field 'pos_att_type' holds a non-string");
            if (strcmp(it->valuestring, "c2p") == 0)
                c->rel_c2p = 1;
            else if (strcmp(it->valuestring, "p2c") == 0)
                c->rel_p2c = 1;
            else
                return mhv_fail(err, MHV_EUNSUPPORTED, name, "unsupported pos_att_type '%.20s'",
                                it->valuestring);
        }
    } else if (pat) {
        return mhv_fail(err, MHV_EFORMAT, name, "field 'pos_att_type' is not a list");
    }
    c->rel_attention = rel;
    c->rel_scale_terms = 1 + c->rel_c2p + c->rel_p2c; /* with or without relative_attention */
    if (!rel)
        c->rel_c2p = c->rel_p2c = 0; /* the terms need relative_attention */
    if (c->rel_max < 1)
        c->rel_max = c->max_positions;
    c->rel_span = c->rel_buckets > 0 ? c->rel_buckets : c->rel_max;
    if (rel) {
        const char *norm = "none";
        if ((st = mhv_json_str(root, "norm_rel_ebd", "none", &norm, name, err)))
            return st;
        c->rel_norm = strstr(norm, "layer_norm") != NULL;
    }
    return MHV_OK;
}

static size_t deberta_vector_floats(const mhv_config *c)
{
    size_t H = (size_t)c->hidden_size;
    /* v1: q_bias, v_bias and the fused bias made of them (3H) in place of three biases */
    return 4 * H + (size_t)c->num_layers * ((is_v1(c) ? 12 : 11) * H +
                                            (size_t)c->intermediate_size);
}

/* v1's layer l: the fused in_proj with the bias [q_bias, 0, v_bias] per head (transformers
 * adds them after the projection), Kr's and Qr's projections, then BERT's sublayers. */
static mhv_status v1_load_layer(mhv_wload *ld, const mhv_config *c, int l, mhv_layer *ly,
                                mhv_error *err)
{
    int H = c->hidden_size, I = c->intermediate_size;
    size_t d = (size_t)c->head_dim;
    char n[160];
#define N(suffix) (snprintf(n, sizeof n, "encoder.layer.%d.%s", l, suffix), n)
    float *qb, *vb;
    mhv_status st;
    if ((st = mhv_wload_mat(ld, N("attention.self.in_proj.weight"), 3 * H, H, 0, &ly->qkv,
                            err)) ||
        (st = mhv_wload_vec(ld, N("attention.self.q_bias"), H, 0, &qb, err)) ||
        (st = mhv_wload_vec(ld, N("attention.self.v_bias"), H, 0, &vb, err)) ||
        (st = mhv_wload_zeros(ld, 3 * H, &ly->qkv_b, err)))
        return st;
    for (size_t h = 0; h < (size_t)c->num_heads; h++) {
        memcpy(ly->qkv_b + 3 * h * d, qb + h * d, d * sizeof *qb);
        memcpy(ly->qkv_b + (3 * h + 2) * d, vb + h * d, d * sizeof *vb);
    }
    ly->q = ly->qkv; /* the model's dtype is read from layer 0's q */
    if ((c->rel_c2p && (st = mhv_wload_mat(ld, N("attention.self.pos_proj.weight"), H, H, 0,
                                           &ly->pos_k, err))) ||
        (c->rel_p2c &&
         ((st = mhv_wload_mat(ld, N("attention.self.pos_q_proj.weight"), H, H, 0, &ly->pos_q,
                              err)) ||
          (st = mhv_wload_vec(ld, N("attention.self.pos_q_proj.bias"), H, 0, &ly->pos_q_b,
                              err)))) ||
        (st = mhv_wload_mat(ld, N("attention.output.dense.weight"), H, H, 0, &ly->o, err)) ||
        (st = mhv_wload_vec(ld, N("attention.output.dense.bias"), H, 0, &ly->o_b, err)) ||
        (st = mhv_wload_vec(ld, N("attention.output.LayerNorm.weight"), H, 0, &ly->ln_attn_g,
                            err)) ||
        (st = mhv_wload_vec(ld, N("attention.output.LayerNorm.bias"), H, 0, &ly->ln_attn_b,
                            err)) ||
        (st = mhv_wload_mat(ld, N("intermediate.dense.weight"), I, H, 0, &ly->ffn_up, err)) ||
        (st = mhv_wload_vec(ld, N("intermediate.dense.bias"), I, 0, &ly->ffn_up_b, err)) ||
        (st = mhv_wload_mat(ld, N("output.dense.weight"), H, I, 0, &ly->ffn_down, err)) ||
        (st = mhv_wload_vec(ld, N("output.dense.bias"), H, 0, &ly->ffn_down_b, err)) ||
        (st = mhv_wload_vec(ld, N("output.LayerNorm.weight"), H, 0, &ly->ln_ffn_g, err)) ||
        (st = mhv_wload_vec(ld, N("output.LayerNorm.bias"), H, 0, &ly->ln_ffn_b, err)))
        return st;
#undef N
    return MHV_OK;
}

static mhv_status deberta_load(mhv_model *m, mhv_wload *ld, mhv_error *err)
{
    static const char *const prefixes[] = {"deberta.", NULL}; /* Deberta(V2)For* heads */
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, E = c->embedding_size;
    mhv_wload_prefix(ld, prefixes, "embeddings.word_embeddings.weight");
    mhv_status st;
    if ((st = mhv_wload_mat(ld, "embeddings.word_embeddings.weight", c->vocab_size, E, 0,
                            &m->word_emb, err)) ||
        (c->pos_input &&
         (st = mhv_wload_mat(ld, "embeddings.position_embeddings.weight", c->max_positions, E,
                             0, &m->pos_emb, err))) ||
        (c->type_vocab_size > 0 &&
         (st = mhv_wload_mat(ld, "embeddings.token_type_embeddings.weight", c->type_vocab_size,
                             E, 0, &m->type_emb, err))) ||
        (E != H && (st = mhv_wload_mat(ld, "embeddings.embed_proj.weight", H, E, 0, &m->emb_proj,
                                       err))) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.weight", H, 0, &m->emb_ln_g, err)) ||
        (st = mhv_wload_vec(ld, "embeddings.LayerNorm.bias", H, 0, &m->emb_ln_b, err)))
        return st;
    if (c->rel_attention &&
        ((st = mhv_wload_mat(ld, "encoder.rel_embeddings.weight", 2 * c->rel_span, H, 0,
                             &m->rel_emb, err)) ||
         (c->rel_norm &&
          ((st = mhv_wload_vec(ld, "encoder.LayerNorm.weight", H, 0, &m->rel_ln_g, err)) ||
           (st = mhv_wload_vec(ld, "encoder.LayerNorm.bias", H, 0, &m->rel_ln_b, err))))))
        return st;
    static const mhv_dense_names names = {
        "attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj",
        "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
        "output.dense", "output.LayerNorm"};
    for (int l = 0; l < c->num_layers; l++) {
        mhv_layer *ly = &m->layers[l];
        if (is_v1(c)) {
            if ((st = v1_load_layer(ld, c, l, ly, err)))
                return st;
            continue;
        }
        char n[160];
#define N(suffix) (snprintf(n, sizeof n, "encoder.layer.%d.%s", l, suffix), n)
        snprintf(n, sizeof n, "encoder.layer.%d.", l);
        if ((st = mhv_layer_load_dense(ld, n, &names, H, I, ly, err)))
            return st;
        if (c->rel_share_key) {
            ly->pos_k = ly->k, ly->pos_k_b = ly->k_b;
            ly->pos_q = ly->q, ly->pos_q_b = ly->q_b;
        } else if ((c->rel_c2p &&
                    ((st = mhv_wload_mat(ld, N("attention.self.pos_key_proj.weight"), H, H, 0,
                                         &ly->pos_k, err)) ||
                     (st = mhv_wload_vec(ld, N("attention.self.pos_key_proj.bias"), H, 0,
                                         &ly->pos_k_b, err)))) ||
                   (c->rel_p2c &&
                    ((st = mhv_wload_mat(ld, N("attention.self.pos_query_proj.weight"), H, H, 0,
                                         &ly->pos_q, err)) ||
                     (st = mhv_wload_vec(ld, N("attention.self.pos_query_proj.bias"), H, 0,
                                         &ly->pos_q_b, err))))) {
            return st;
        }
#undef N
    }
    return MHV_OK;
}

/* transformers' make_log_bucket_position for one relative position, in float32 as torch
 * computes it: exact below bucket_size / 2, logarithmic beyond. */
static int log_bucket(int rel, int bucket_size, int max_position)
{
    int mid = bucket_size / 2;
    int abs_pos = rel < mid && rel > -mid ? mid - 1 : abs(rel);
    if (abs_pos <= mid)
        return rel;
    float a = logf((float)abs_pos / (float)mid);
    float b = logf((float)((double)(max_position - 1) / mid));
    float lp = ceilf(a / b * (float)(mid - 1)) + (float)mid;
    return (int)(rel < 0 ? -lp : lp);
}

/* What the score bias of one layer reads. */
typedef struct {
    const float *pos_k, *pos_q; /* (rows, H): Kr and Qr over the table rows r0..r0+rows */
    int r0, rows, span, d, H;
    const int *bucket;          /* bucket(delta) at bucket[delta], for |delta| < the pass's
                                 * tokens (its sentences are no longer) */
    int c2p, p2c;
    double scale;               /* 1 / sqrt(d · terms) */
} rel_ctx;

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* b(n, n) = (q_i·Kr[c2p(i, j)] + k_j·Qr[p2c(i, j)]) / sqrt(d · terms) for head h. */
static void rel_bias(const void *ctx, int h, const float *q, size_t ld_q, const float *k,
                     size_t ld_k, int n, float *b)
{
    const rel_ctx *r = ctx;
    size_t off = (size_t)h * (size_t)r->d;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            if (r->c2p) {
                int row = clampi(r->bucket[i - j] + r->span, 0, 2 * r->span - 1) - r->r0;
                const float *qi = q + (size_t)i * ld_q, *kr = r->pos_k + (size_t)row * r->H + off;
                double t = 0;
                for (int e = 0; e < r->d; e++)
                    t += (double)qi[e] * kr[e];
                s += (float)t * r->scale;
            }
            if (r->p2c) {
                int row = clampi(r->span - r->bucket[j - i], 0, 2 * r->span - 1) - r->r0;
                const float *kj = k + (size_t)j * ld_k, *qr = r->pos_q + (size_t)row * r->H + off;
                double t = 0;
                for (int e = 0; e < r->d; e++)
                    t += (double)kj[e] * qr[e];
                s += (float)t * r->scale;
            }
            b[(size_t)i * (size_t)n + (size_t)j] = (float)s;
        }
}

static mhv_status deberta_forward(mhv_nn *nn, const mhv_model *m, const int32_t *ids, int n,
                                  mhv_capture *cap, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (logits)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "logits need a decoder model, not %s",
                        c->arch);
    int H = c->hidden_size, I = c->intermediate_size, E = c->embedding_size, d = c->head_dim;
    int rel = c->rel_c2p || c->rel_p2c, span = c->rel_span;
    /* the table rows the sentence reaches: buckets of -(n-1) .. n-1 around span */
    int *bucket = malloc((size_t)(2 * n - 1) * sizeof *bucket), reach = 0;
    if (!bucket)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    for (int delta = -(n - 1); delta <= n - 1; delta++) {
        int bk = c->rel_buckets > 0 ? log_bucket(delta, c->rel_buckets, c->rel_max) : delta;
        bucket[delta + n - 1] = bk;
        reach = abs(bk) > reach ? abs(bk) : reach;
    }
    int r0 = clampi(span - reach, 0, 2 * span - 1), r1 = clampi(span + reach, 0, 2 * span - 1) + 1;
    int rows = rel ? r1 - r0 : 0;
    size_t nh = (size_t)n * (size_t)H, rh = (size_t)rows * (size_t)H;
    float *emb;                       /* (n, E) embeddings before embed_proj */
    float *x, *q, *k, *v, *ctx, *tmp; /* (n, H) each */
    float *ffn;                       /* (n, I) */
    float *relE, *pos_k, *pos_q;      /* (rows, H): relative embeddings, Kr, Qr */
    float *qkv = NULL;                /* (n, 3H) v1's fused projection */
    const mhv_nn_buf bufs[] = {{&emb, (size_t)n * (size_t)E}, {&x, nh}, {&q, nh}, {&k, nh},
                               {&v, nh}, {&ctx, nh}, {&tmp, nh}, {&ffn, (size_t)n * (size_t)I},
                               {&relE, rh}, {&pos_k, rh}, {&pos_q, rh}, {&qkv, 3 * nh}};
    int widest = I > H ? I : H, v1 = is_v1(c);
    mhv_nn_shape shape = {rows > n ? rows : n, E > H ? E : H, E > widest ? E : widest, d};
    /* qkv, the last, for v1 only */
    mhv_status st = mhv_nn_begin(nn, &shape, bufs, (int)(sizeof bufs / sizeof bufs[0]) - !v1,
                                 err);
    if (!st && rel)
        st = mhv_nn_reserve_bias(nn, n, err);
    if (st) {
        free(bucket);
        return st;
    }

    /* word + position + type (as transformers adds them), embed_proj, then the LayerNorm */
    mhv_norm emb_ln = {MHV_NORM_LAYER, m->emb_ln_g, m->emb_ln_b, c->layer_norm_eps};
    mhv_embed e = {.tok = &m->word_emb, .pos = c->pos_input ? &m->pos_emb : NULL,
                   .type = c->type_vocab_size > 0 ? &m->type_emb : NULL,
                   .norm = E == H ? &emb_ln : NULL, .pad_id = -1, .pos_first = 1};
    if (E == H) {
        mhv_nn_embed(nn, x, &e, ids, n, H);
    } else {
        mhv_nn_embed(nn, emb, &e, ids, n, E);
        mhv_nn_linear(nn, x, emb, &m->emb_proj, NULL, n, MHV_NN_NO_ACT);
        mhv_nn_norm(nn, x, x, &emb_ln, n, H);
    }
    if (rel) {
        for (int r = 0; r < rows; r++)
            mhv_mat_row(&m->rel_emb, r0 + r, relE + (size_t)r * (size_t)H);
        if (c->rel_norm) {
            mhv_norm rel_ln = {MHV_NORM_LAYER, m->rel_ln_g, m->rel_ln_b, c->layer_norm_eps};
            mhv_nn_norm(nn, relE, relE, &rel_ln, rows, H);
        }
    }
    double scale = 1.0 / sqrt((double)d * c->rel_scale_terms);
    for (int l = 0; l <= cap->last; l++) {
        const mhv_layer *ly = &m->layers[l];
        if (c->rel_c2p)
            mhv_nn_linear(nn, pos_k, relE, &ly->pos_k, ly->pos_k_b, rows, MHV_NN_NO_ACT);
        if (c->rel_p2c)
            mhv_nn_linear(nn, pos_q, relE, &ly->pos_q, ly->pos_q_b, rows, MHV_NN_NO_ACT);
        rel_ctx rc = {pos_k, pos_q, r0, rows, span, d, H, bucket + n - 1, c->rel_c2p, c->rel_p2c,
                      scale};
        mhv_attn_layer attn = {
            .wo = &ly->o,
            .wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .bq = ly->q_b, .bk = ly->k_b,
            .bv = ly->v_b, .heads = c->num_heads, .kv_heads = c->num_heads, .head_dim = d,
            .scale = (float)scale, .bias = rel ? rel_bias : NULL, .bias_ctx = &rc,
        };
        mhv_qkv_grouped fused = {&ly->qkv, ly->qkv_b};
        if (v1)
            attn.fused = &fused;
        mhv_nn_attention(nn, &attn, x, n, l,
                         &(mhv_attn_bufs){.q = q, .k = k, .v = v, .ctx = ctx, .qkv = qkv}, cap);
        if (mhv_capture_done(cap, l))
            break;
        mhv_layer_post_norm(nn, ly, c, x, ctx, tmp, ffn, n);
    }
    free(bucket);
    return MHV_OK;
}

/* The relative-position table's rows (Kr, Qr) are as many as the pass's length reaches. */
static int deberta_packs(const mhv_config *c)
{
    return c->rel_c2p || c->rel_p2c ? MHV_PACKS_ANY_ROWS : MHV_PACKS_ROWS;
}

const mhv_family mhv_family_deberta = {
    .name = "deberta",
    .model_types = model_types,
    .config = deberta_config,
    .vector_floats = deberta_vector_floats,
    .load = deberta_load,
    .forward = deberta_forward,
    .packs = deberta_packs,
};
