#include "analysis/rollout.h"
#include "analysis/flow.h"

#include <stdlib.h>
#include <string.h>

mhv_status mhv_agg_parse(const char *s, mhv_agg *out, mhv_error *err)
{
    if (strcmp(s, "mean") == 0)
        *out = MHV_AGG_MEAN;
    else if (strcmp(s, "rollout") == 0)
        *out = MHV_AGG_ROLLOUT;
    else if (strcmp(s, "flow") == 0)
        *out = MHV_AGG_FLOW;
    else
        return mhv_fail(err, MHV_EUSAGE, "", "'%s' is not mean, rollout or flow", s);
    return MHV_OK;
}

const char *mhv_agg_name(mhv_agg a)
{
    return a == MHV_AGG_ROLLOUT ? "rollout" : a == MHV_AGG_FLOW ? "flow" : "mean";
}

/* The captured matrix of (layer, head), NULL when absent. */
static const float *find(const mhv_attn *a, int layer, int head)
{
    for (int k = 0; k < a->count; k++)
        if (a->heads[k].layer == layer && a->heads[k].head == head)
            return a->heads[k].w;
    return NULL;
}

uint64_t mhv_aggregate_bytes(int num_layers, int rows, int n, mhv_agg kind)
{
    /* as mhv_aggregate's mallocs: out->heads, out->buf and out->row_ids; then m, r, t; flow
     * keeps caps while it adds flows and mhv_flow's own, m, r and t freed by then */
    uint64_t L = (uint64_t)num_layers, nn = (uint64_t)rows * (uint64_t)n;
    uint64_t out = L * sizeof(mhv_head_attn) + L * nn * sizeof(float) +
                   ((uint64_t)rows + 1) * sizeof(int);
    uint64_t scratch = 3 * nn * sizeof(double);
    if (kind != MHV_AGG_FLOW)
        return out + scratch;
    uint64_t caps = (L * nn + 1) * sizeof(double);
    uint64_t solve = caps + mhv_flow_bytes(num_layers, n); /* flows: caps' size */
    return out + caps + (scratch > solve ? scratch : solve);
}

mhv_status mhv_aggregate(const mhv_attn *a, int num_layers, int num_heads, mhv_agg kind,
                         mhv_attn *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    if (a->row_ids && kind != MHV_AGG_MEAN) /* row i of a product needs every row below */
        return mhv_fail(err, MHV_EUSAGE, "", "%s needs every query row of every layer",
                        mhv_agg_name(kind));
    size_t n = (size_t)a->n, nn = (size_t)mhv_attn_nrows(a) * n;
    for (int l = 0; l < num_layers; l++)
        for (int h = 0; h < num_heads; h++)
            if (!find(a, l, h))
                return mhv_fail(err, MHV_EUSAGE, "",
                                "aggregates need every head of layers 0..%d; head %d:%d was "
                                "not captured", num_layers - 1, l, h);
    out->heads = calloc((size_t)num_layers, sizeof *out->heads);
    out->buf = malloc((size_t)num_layers * nn * sizeof *out->buf);
    double *m = malloc(nn * sizeof *m);      /* (n, n) this layer's mean, then A_l */
    double *r = malloc(nn * sizeof *r);      /* (n, n) rollout through the layer below */
    double *t = malloc(nn * sizeof *t);      /* (n, n) product scratch */
    double *caps = NULL;                     /* (num_layers, n, n) flow: every A_l, then */
    if (kind == MHV_AGG_FLOW)                /* the flows */
        caps = malloc(((size_t)num_layers * nn + 1) * sizeof *caps);
    if (!out->heads || !out->buf || !m || !r || !t || (kind == MHV_AGG_FLOW && !caps)) {
        free(m);
        free(r);
        free(t);
        free(caps);
        mhv_attn_free(out);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    out->n = a->n;
    out->count = num_layers;
    if (a->row_ids) { /* the head mean of the kept rows */
        out->rows = a->rows;
        if (!(out->row_ids = malloc(((size_t)a->rows + 1) * sizeof *out->row_ids))) {
            free(m);
            free(r);
            free(t);
            mhv_attn_free(out);
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        }
        memcpy(out->row_ids, a->row_ids, (size_t)a->rows * sizeof *out->row_ids);
    }
    for (int l = 0; l < num_layers; l++) {
        memset(m, 0, nn * sizeof *m);
        for (int h = 0; h < num_heads; h++) {
            const float *w = find(a, l, h);
            for (size_t i = 0; i < nn; i++)
                m[i] += w[i];
        }
        for (size_t i = 0; i < nn; i++)
            m[i] /= num_heads;
        if (kind != MHV_AGG_MEAN) {
            /* the residual stream carries each token's own state forward: add I */
            for (size_t i = 0; i < n; i++) {
                double sum = 0.0;
                for (size_t j = 0; j < n; j++) {
                    m[i * n + j] = 0.5 * m[i * n + j] + (i == j ? 0.5 : 0.0);
                    sum += m[i * n + j];
                }
                for (size_t j = 0; j < n; j++)
                    m[i * n + j] /= sum;
            }
            if (kind == MHV_AGG_FLOW) {
                memcpy(caps + (size_t)l * nn, m, nn * sizeof *caps);
            } else if (l == 0) {
                memcpy(r, m, nn * sizeof *r);
            } else {
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < n; j++) {
                        double s = 0.0;
                        for (size_t k = 0; k < n; k++)
                            s += m[i * n + k] * r[k * n + j];
                        t[i * n + j] = s;
                    }
                memcpy(r, t, nn * sizeof *r);
            }
        }
        const double *src = kind == MHV_AGG_ROLLOUT ? r : m;
        float *dst = out->buf + (size_t)l * nn;
        for (size_t i = 0; i < nn; i++)
            dst[i] = (float)src[i];
        out->heads[l] = (mhv_head_attn){.layer = l, .head = -1, .w = dst,
                                        .rows = mhv_attn_nrows(a), .cols = a->n};
    }
    free(m);
    free(r);
    free(t);
    if (kind == MHV_AGG_FLOW) {
        double *flows = malloc(((size_t)num_layers * nn + 1) * sizeof *flows);
        mhv_status st = flows ? mhv_flow(caps, num_layers, a->n, flows, err)
                              : mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        for (size_t i = 0; !st && i < (size_t)num_layers * nn; i++)
            out->buf[i] = (float)flows[i];
        free(flows);
        free(caps);
        if (st)
            mhv_attn_free(out);
        return st;
    }
    return MHV_OK;
}
