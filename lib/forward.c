#include "forward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

/* Activations of one forward pass, one allocation. */
typedef struct {
    float *x;      /* (n, hidden) residual stream */
    float *q;      /* (n, hidden) */
    float *k;      /* (n, hidden) */
    float *v;      /* (n, hidden) */
    float *ctx;    /* (n, hidden) attention output before the projection */
    float *tmp;    /* (n, hidden) */
    float *ffn;    /* (n, intermediate) */
    float *row;    /* (max(n, hidden),) softmax / embedding scratch */
    float *arena;
} run_state;

static mhv_status state_alloc(run_state *s, const mhv_config *c, int n, mhv_error *err)
{
    size_t nh = (size_t)n * (size_t)c->hidden_size;
    size_t ni = (size_t)n * (size_t)c->intermediate_size;
    size_t nrow = (size_t)(n > c->hidden_size ? n : c->hidden_size);
    s->arena = malloc((6 * nh + ni + nrow) * sizeof(float));
    if (!s->arena)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for activations (%d tokens)", n);
    float *p = s->arena;
    s->x = p, p += nh;
    s->q = p, p += nh;
    s->k = p, p += nh;
    s->v = p, p += nh;
    s->ctx = p, p += nh;
    s->tmp = p, p += nh;
    s->ffn = p, p += ni;
    s->row = p;
    return MHV_OK;
}

static void embed(const mhv_model *m, const mhv_kernels *K, const int32_t *ids, int n,
                  run_state *s)
{
    int H = m->cfg.hidden_size;
    for (int i = 0; i < n; i++) {
        float *xi = s->x + (size_t)i * (size_t)H;
        mhv_mat_row(&m->word_emb, ids[i], xi);
        mhv_mat_row(&m->pos_emb, i, s->row);
        K->add(xi, s->row, (size_t)H);
        mhv_mat_row(&m->type_emb, 0, s->row); /* token type 0: one segment */
        K->add(xi, s->row, (size_t)H);
    }
    K->layernorm(s->x, m->emb_ln_g, m->emb_ln_b, n, H, m->cfg.layer_norm_eps);
}

static void activate(const mhv_kernels *K, mhv_act act, float *x, size_t len)
{
    switch (act) {
    case MHV_ACT_GELU: K->gelu_erf(x, len); break;
    case MHV_ACT_GELU_NEW: K->gelu_tanh(x, len); break;
    case MHV_ACT_RELU: K->relu(x, len); break;
    case MHV_ACT_SILU: K->silu(x, len); break;
    }
}

/* Self-attention of layer l over s->x into s->ctx, writing the probabilities of selected
 * heads into their slots of out. */
static void attention(const mhv_model *m, const mhv_kernels *K, int l, int n, run_state *s,
                      const mhv_heads *sel, mhv_attn *out, int *next_slot)
{
    const mhv_config *c = &m->cfg;
    const mhv_layer *ly = &m->layers[l];
    int H = c->hidden_size, d = c->head_dim;
    K->linear(s->q, s->x, ly->q.data, ly->q.dtype, ly->q_b, n, H, H);
    K->linear(s->k, s->x, ly->k.data, ly->k.dtype, ly->k_b, n, H, H);
    K->linear(s->v, s->x, ly->v.data, ly->v.dtype, ly->v_b, n, H, H);
    for (int h = 0; h < c->num_heads; h++) {
        size_t off = (size_t)h * (size_t)d;
        mhv_attn_args a = {
            .q = s->q + off, .k = s->k + off, .v = s->v + off,
            .n = n, .d = d, .ld_q = (size_t)H, .ld_k = (size_t)H, .ld_v = (size_t)H,
            .scale = (float)(1.0 / sqrt((double)d)), .causal = c->causal,
            .probs = NULL, .scratch = s->row, .out = s->ctx + off, .ld_out = (size_t)H,
        };
        if (mhv_heads_has(sel, l, h))
            a.probs = out->heads[(*next_slot)++].w;
        K->attention(&a);
    }
}

/* Everything after the attention probabilities: output projection, FFN, LayerNorms. */
static void finish_layer(const mhv_model *m, const mhv_kernels *K, int l, int n, run_state *s)
{
    const mhv_config *c = &m->cfg;
    const mhv_layer *ly = &m->layers[l];
    int H = c->hidden_size, I = c->intermediate_size;
    size_t nh = (size_t)n * (size_t)H;
    K->linear(s->tmp, s->ctx, ly->o.data, ly->o.dtype, ly->o_b, n, H, H);
    K->add(s->x, s->tmp, nh);
    K->layernorm(s->x, ly->ln_attn_g, ly->ln_attn_b, n, H, c->layer_norm_eps);
    K->linear(s->ffn, s->x, ly->ffn_up.data, ly->ffn_up.dtype, ly->ffn_up_b, n, H, I);
    activate(K, c->act, s->ffn, (size_t)n * (size_t)I);
    K->linear(s->tmp, s->ffn, ly->ffn_down.data, ly->ffn_down.dtype, ly->ffn_down_b, n, I, H);
    K->add(s->x, s->tmp, nh);
    K->layernorm(s->x, ly->ln_ffn_g, ly->ln_ffn_b, n, H, c->layer_norm_eps);
}

static mhv_status attn_alloc(mhv_attn *out, const mhv_heads *sel, int n, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    out->count = mhv_heads_count(sel);
    size_t cells = (size_t)out->count * (size_t)n * (size_t)n;
    out->heads = calloc((size_t)out->count + 1, sizeof *out->heads);
    out->buf = malloc((cells ? cells : 1) * sizeof(float));
    if (!out->heads || !out->buf) {
        mhv_attn_free(out);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for %d attention maps of %d tokens",
                        out->count, n);
    }
    int slot = 0;
    for (int l = 0; l < sel->num_layers; l++)
        for (int h = 0; h < sel->num_heads; h++)
            if (mhv_heads_has(sel, l, h)) {
                out->heads[slot].layer = l;
                out->heads[slot].head = h;
                out->heads[slot].w = out->buf + (size_t)slot * (size_t)n * (size_t)n;
                slot++;
            }
    return MHV_OK;
}

mhv_status mhv_forward(const mhv_model *m, const int32_t *ids, int n, const mhv_heads *sel,
                       mhv_attn *out, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    memset(out, 0, sizeof *out);
    if (n < 1)
        return mhv_fail(err, MHV_EUSAGE, "", "no tokens to run");
    if (n > c->max_positions)
        return mhv_fail(err, MHV_EUSAGE, "",
                        "%d tokens exceed the model's %d positions (use --truncate)", n,
                        c->max_positions);
    if (sel->num_layers != c->num_layers || sel->num_heads != c->num_heads)
        return mhv_fail(err, MHV_EUSAGE, "", "head selection does not match the model");
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return mhv_fail(err, MHV_EUSAGE, "", "token id %d outside the model's vocabulary (0-%d)",
                            (int)ids[i], c->vocab_size - 1);

    mhv_status st = attn_alloc(out, sel, n, err);
    if (st)
        return st;
    run_state s = {0};
    if ((st = state_alloc(&s, c, n, err))) {
        mhv_attn_free(out);
        return st;
    }
    const mhv_kernels *K = mhv_kernels_get();
    embed(m, K, ids, n, &s);
    /* Attention probabilities of layer l depend only on layers 0..l, so the work stops at
     * the last selected layer's softmax. */
    int last = mhv_heads_last_layer(sel), slot = 0;
    for (int l = 0; l <= last; l++) {
        attention(m, K, l, n, &s, sel, out, &slot);
        if (l < last)
            finish_layer(m, K, l, n, &s);
    }
    free(s.arena);
    return MHV_OK;
}

void mhv_attn_free(mhv_attn *a)
{
    if (!a)
        return;
    free(a->heads);
    free(a->buf);
    memset(a, 0, sizeof *a);
}
