/* disentangled.c - DeBERTa's disentangled attention (see disentangled.h). */
#include "model/disentangled.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

/* One entry of pos_att_type into c: c2p or p2c, once each (transformers counts every entry
 * in the scale, so anything else, or an entry twice, would change it without a term). */
static mhv_status pos_att_term(mhv_config *c, const char *e, const char *name, mhv_error *err)
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

mhv_status mhv_disent_pos_att_type(const cJSON *root, int def_c2p, int def_p2c, mhv_config *c,
                                   const char *name, mhv_error *err)
{
    const cJSON *pat = mhv_json_get(root, "pos_att_type");
    c->rel_c2p = c->rel_p2c = 0;
    c->rel_scale_terms = 1;
    mhv_status st = MHV_OK;
    if (!pat) {
        c->rel_c2p = def_c2p, c->rel_p2c = def_p2c;
        c->rel_scale_terms = 1 + def_c2p + def_p2c;
        return MHV_OK;
    }
    if (cJSON_IsArray(pat)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, pat)
        {
            if (!cJSON_IsString(it))
                return mhv_fail(err, MHV_EFORMAT, name, "field 'pos_att_type' holds a non-string");
            if ((st = pos_att_term(c, it->valuestring, name, err)))
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
        st = pos_att_term(c, e, name, err);
        p = end ? end + 1 : NULL;
    }
    return st;
}

mhv_status mhv_disent_config(const cJSON *root, int rel, const mhv_disent_defaults *def,
                             mhv_config *c, const char *name, mhv_error *err)
{
    mhv_status st;
    if (c->rel_buckets < 1)
        c->rel_buckets = 0;
    if ((st = mhv_disent_pos_att_type(root, def->c2p, def->p2c, c, name, err)))
        return st;
    c->rel_attention = rel;
    if (!rel)
        c->rel_c2p = c->rel_p2c = 0; /* the terms need relative_attention */
    if (c->rel_max < 1)
        c->rel_max = c->max_positions;
    c->rel_span = c->rel_buckets > 0 ? c->rel_buckets : c->rel_max;
    if (rel) {
        const char *norm = def->norm_rel_ebd;
        if ((st = mhv_json_str(root, "norm_rel_ebd", def->norm_rel_ebd, &norm, name, err)))
            return st;
        c->rel_norm = strstr(norm, "layer_norm") != NULL;
    }
    return MHV_OK;
}

mhv_status mhv_disent_load_table(mhv_model *m, mhv_wload *ld, const char *table,
                                 const char *norm, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size;
    char n[160];
    mhv_status st;
    if (!c->rel_attention)
        return MHV_OK;
    if ((st = mhv_wload_mat(ld, table, 2 * c->rel_span, H, 0, &m->rel_emb, err)))
        return st;
    if (!c->rel_norm)
        return MHV_OK;
    snprintf(n, sizeof n, "%s.weight", norm);
    if ((st = mhv_wload_vec(ld, n, H, 0, &m->rel_ln_g, err)))
        return st;
    snprintf(n, sizeof n, "%s.bias", norm);
    return mhv_wload_vec(ld, n, H, 0, &m->rel_ln_b, err);
}

mhv_status mhv_disent_load_layer(mhv_wload *ld, const mhv_config *c, const char *prefix,
                                 mhv_layer *ly, mhv_error *err)
{
    int H = c->hidden_size;
    char n[200];
    mhv_status st;
#define N(suffix) (snprintf(n, sizeof n, "%s%s", prefix, suffix), n)
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

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

mhv_status mhv_disent_begin(const mhv_config *c, int n, mhv_disent_pass *p, mhv_error *err)
{
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
    *p = (mhv_disent_pass){bucket, n, r0, rel ? r1 - r0 : 0};
    return MHV_OK;
}

void mhv_disent_end(mhv_disent_pass *p)
{
    free(p->bucket);
    p->bucket = NULL;
}

void mhv_disent_table(mhv_nn *nn, const mhv_model *m, const mhv_disent_pass *p, float *relE)
{
    const mhv_config *c = &m->cfg;
    int H = c->hidden_size;
    if (!p->rows)
        return;
    for (int r = 0; r < p->rows; r++)
        mhv_mat_row(&m->rel_emb, p->r0 + r, relE + (size_t)r * (size_t)H);
    if (c->rel_norm) {
        mhv_norm rel_ln = {MHV_NORM_LAYER, m->rel_ln_g, m->rel_ln_b, c->layer_norm_eps};
        mhv_nn_norm(nn, relE, relE, &rel_ln, p->rows, H);
    }
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

void mhv_disent_attention(mhv_nn *nn, const mhv_config *c, const mhv_layer *ly,
                          const mhv_qkv_grouped *fused, const mhv_disent_pass *p,
                          const float *relE, float *pos_k, float *pos_q, const float *x, int l,
                          const mhv_attn_bufs *b, mhv_capture *cap)
{
    int d = c->head_dim, rel = c->rel_c2p || c->rel_p2c, n = p->n;
    double scale = 1.0 / sqrt((double)d * c->rel_scale_terms);
    if (c->rel_c2p)
        mhv_nn_linear(nn, pos_k, relE, &ly->pos_k, ly->pos_k_b, p->rows, MHV_NN_NO_ACT);
    if (c->rel_p2c)
        mhv_nn_linear(nn, pos_q, relE, &ly->pos_q, ly->pos_q_b, p->rows, MHV_NN_NO_ACT);
    rel_ctx rc = {pos_k, pos_q, p->r0, p->rows, c->rel_span, d, c->hidden_size,
                  p->bucket + n - 1, c->rel_c2p, c->rel_p2c, scale};
    mhv_attn_layer attn = {
        .wo = &ly->o,
        .wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .bq = ly->q_b, .bk = ly->k_b,
        .bv = ly->v_b, .heads = c->num_heads, .kv_heads = c->num_heads, .head_dim = d,
        .scale = (float)scale, .bias = rel ? rel_bias : NULL, .bias_ctx = &rc,
        .fused = fused,
    };
    mhv_nn_attention(nn, &attn, x, n, l, b, cap);
}
