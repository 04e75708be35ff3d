#include "model/forward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/decoder.h"
#include "nn/kernels/kernels.h"
#include "nn/parlinear.h"
#include "base/pool.h"

/* Activations of one forward pass, one allocation. */
typedef struct {
    float *x;      /* (n, hidden) residual stream */
    float *q;      /* (n, hidden) */
    float *k;      /* (n, hidden) */
    float *v;      /* (n, hidden) */
    float *ctx;    /* (n, hidden) attention output before the projection */
    float *tmp;    /* (n, hidden) */
    float *ffn;    /* (n, intermediate) */
    float *row;    /* (threads, hidden) embedding scratch, one row per thread */
    float *attn;   /* (threads, attn_stride) attention scratch, one slice per thread */
    size_t attn_stride;
    float *xp;     /* (mhv_plin_xp_floats(n, intermediate),) packed input of a linear layer */
    float *arena;
    size_t arena_cap; /* floats */
} run_state;

struct mhv_forward_ctx {
    const mhv_kernels *K;
    mhv_pool *pool;     /* NULL when single-threaded */
    int threads;
    run_state s;        /* kept across sentences: no page faults on a fresh arena each time */
};

/* Carves the activations of n tokens out of s->arena, growing it when needed. */
static mhv_status state_alloc(run_state *s, const mhv_kernels *K, int threads,
                              const mhv_config *c, int n, mhv_error *err)
{
    size_t nh = (size_t)n * (size_t)c->hidden_size;
    size_t ni = (size_t)n * (size_t)c->intermediate_size;
    size_t nrow = (size_t)threads * (size_t)c->hidden_size;
    /* keep every thread's slice on its own cache lines */
    size_t as = (K->attention_scratch(n, c->head_dim) + 15) / 16 * 16;
    int widest = c->intermediate_size > c->hidden_size ? c->intermediate_size : c->hidden_size;
    size_t nxp = (mhv_plin_xp_floats(K, n, widest) + 15) / 16 * 16;
    size_t need = 6 * nh + ni + nrow + as * (size_t)threads + nxp + 16;
    if (need > s->arena_cap) {
        free(s->arena);
        s->arena_cap = 0;
        s->arena = malloc(need * sizeof(float));
        if (!s->arena)
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory for activations (%d tokens)", n);
        s->arena_cap = need;
    }
    float *p = s->arena;
    s->x = p, p += nh;
    s->q = p, p += nh;
    s->k = p, p += nh;
    s->v = p, p += nh;
    s->ctx = p, p += nh;
    s->tmp = p, p += nh;
    s->ffn = p, p += ni;
    s->row = p, p += nrow;
    s->attn = p, p += as * (size_t)threads;
    s->attn_stride = as;
    s->xp = nxp ? p : NULL;
    return MHV_OK;
}

/* ---- parallel work over rows: embeddings, residual add + LayerNorm ---- */

typedef void (*rows_fn)(void *arg, int r0, int r1, int worker);

typedef struct {
    rows_fn fn;
    void *arg;
    int n, per; /* rows 0..n in tasks of `per` */
} rows_job;

static void rows_task(void *ctx, int task, int worker)
{
    const rows_job *j = ctx;
    int r0 = task * j->per, r1 = r0 + j->per < j->n ? r0 + j->per : j->n;
    j->fn(j->arg, r0, r1, worker);
}

/* fn over rows 0..n (each `width` floats) on the pool. Row operations see whole rows, so
 * how rows are split never changes a byte. */
static void par_rows(mhv_forward_ctx *c, int n, int width, rows_fn fn, void *arg)
{
    int T = c->threads;
    if (T <= 1 || n < 2 || (size_t)n * (size_t)width < 4096) {
        fn(arg, 0, n, 0);
        return;
    }
    int tasks = 2 * T < n ? 2 * T : n;
    rows_job j = {fn, arg, n, (n + tasks - 1) / tasks};
    mhv_pool_run(c->pool, (n + j.per - 1) / j.per, rows_task, &j);
}

typedef struct {
    const mhv_kernels *K;
    float *x;          /* (n, d) residual stream, updated in place */
    const float *add;  /* (n, d) added first, or NULL */
    const float *g, *b;
    int d;
    float eps;
} add_ln_job;

static void add_ln_rows(void *arg, int r0, int r1, int worker)
{
    (void)worker;
    const add_ln_job *j = arg;
    size_t off = (size_t)r0 * (size_t)j->d, len = (size_t)(r1 - r0) * (size_t)j->d;
    if (j->add)
        j->K->add(j->x + off, j->add + off, len);
    j->K->layernorm(j->x + off, j->g, j->b, r1 - r0, j->d, j->eps);
}

/* x(n, d) = LayerNorm(x + add) row by row over the pool; add may be NULL. */
static void par_add_layernorm(mhv_forward_ctx *c, float *x, const float *add, const float *g,
                              const float *b, int n, int d, float eps)
{
    add_ln_job j = {c->K, x, add, g, b, d, eps};
    par_rows(c, n, d, add_ln_rows, &j);
}

typedef struct {
    const mhv_kernels *K;
    mhv_attn_args base;  /* head 0's arguments */
    const int *heads;    /* (count,) head index of each task */
    float **probs;       /* (count,) where each task's probabilities go, or NULL */
    size_t off_per_head; /* columns between heads in q, k, v and out */
    run_state *s;
} attn_job;

static void attn_task(void *ctx, int task, int worker)
{
    const attn_job *j = ctx;
    mhv_attn_args a = j->base;
    size_t off = (size_t)j->heads[task] * j->off_per_head;
    a.q += off, a.k += off, a.v += off;
    if (a.out)
        a.out += off;
    a.probs = j->probs[task];
    a.scratch = j->s->attn + (size_t)worker * j->s->attn_stride;
    j->K->attention(&a);
}

typedef struct {
    const mhv_model *m;
    const mhv_kernels *K;
    const int32_t *ids;
    run_state *s;
} embed_job;

static void embed_rows(void *arg, int r0, int r1, int worker)
{
    const embed_job *j = arg;
    const mhv_model *m = j->m;
    int H = m->cfg.hidden_size;
    float *row = j->s->row + (size_t)worker * (size_t)H; /* (hidden,) this thread's */
    for (int i = r0; i < r1; i++) {
        float *xi = j->s->x + (size_t)i * (size_t)H;
        mhv_mat_row(&m->word_emb, j->ids[i], xi);
        mhv_mat_row(&m->pos_emb, i, row);
        j->K->add(xi, row, (size_t)H);
        mhv_mat_row(&m->type_emb, 0, row); /* token type 0: one segment */
        j->K->add(xi, row, (size_t)H);
    }
    j->K->layernorm(j->s->x + (size_t)r0 * (size_t)H, m->emb_ln_g, m->emb_ln_b, r1 - r0, H,
                    m->cfg.layer_norm_eps);
}

static void embed(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *ids, int n)
{
    embed_job j = {m, fc->K, ids, &fc->s};
    par_rows(fc, n, m->cfg.hidden_size, embed_rows, &j);
}

/* The linear layers' view of the context: its kernels, pool and packed-x buffer. */
static mhv_plin plin(const mhv_forward_ctx *fc)
{
    return (mhv_plin){fc->K, fc->pool, fc->threads, fc->s.xp};
}

/* Self-attention of layer l over s->x into s->ctx, writing the probabilities of selected
 * heads into their slots of out. In the last layer computed (`last`) nothing reads ctx, so
 * only the selected heads run, without V or P·V, and Q, K only for their columns. */
static void attention(mhv_forward_ctx *fc, const mhv_model *m, int l, int last, int n,
                      const mhv_heads *sel, mhv_attn *out, int *next_slot)
{
    const mhv_config *c = &m->cfg;
    const mhv_layer *ly = &m->layers[l];
    run_state *s = &fc->s;
    int H = c->hidden_size, d = c->head_dim, NH = c->num_heads;
    int heads[MHV_MAX_HEADS];     /* (count,) heads to run */
    float *probs[MHV_MAX_HEADS];  /* (count,) their probability maps, or NULL */
    int count = 0;
    for (int h = 0; h < NH; h++) {
        int want = mhv_heads_has(sel, l, h);
        if (!want && l == last)
            continue;
        heads[count] = h;
        probs[count++] = want ? out->heads[(*next_slot)++].w : NULL;
    }
    mhv_plin pl = plin(fc);
    mhv_plin_part parts[2 * MHV_MAX_HEADS]; /* Q, K (, V) columns this layer needs */
    int np = 0;
    if (l == last) {
        for (int t = 0; t < count; t++) {
            int o0 = heads[t] * d;
            parts[np++] = (mhv_plin_part){s->q, &ly->q, ly->q_b, o0, o0 + d, 
                                          MHV_PLIN_NO_ACT};
            parts[np++] = (mhv_plin_part){s->k, &ly->k, ly->k_b, o0, o0 + d, 
                                          MHV_PLIN_NO_ACT};
        }
    } else {
        parts[np++] = (mhv_plin_part){s->q, &ly->q, ly->q_b, 0, H, MHV_PLIN_NO_ACT};
        parts[np++] = (mhv_plin_part){s->k, &ly->k, ly->k_b, 0, H, MHV_PLIN_NO_ACT};
        parts[np++] = (mhv_plin_part){s->v, &ly->v, ly->v_b, 0, H, MHV_PLIN_NO_ACT};
    }
    mhv_plin_run_parts(&pl, parts, np, s->x, n);
    attn_job j = {
        .K = fc->K,
        .base = {
            .q = s->q, .k = s->k, .v = s->v,
            .n = n, .d = d, .ld_q = (size_t)H, .ld_k = (size_t)H, .ld_v = (size_t)H,
            .scale = (float)(1.0 / sqrt((double)d)), .causal = c->causal,
            .out = l == last ? NULL : s->ctx, .ld_out = (size_t)H,
        },
        .heads = heads, .probs = probs, .off_per_head = (size_t)d, .s = s,
    };
    mhv_pool_run(fc->pool, count, attn_task, &j);
}

/* Everything after the attention probabilities: output projection, FFN, LayerNorms. */
static void finish_layer(mhv_forward_ctx *fc, const mhv_model *m, int l, int n)
{
    run_state *s = &fc->s;
    const mhv_config *c = &m->cfg;
    const mhv_layer *ly = &m->layers[l];
    int H = c->hidden_size, I = c->intermediate_size;
    mhv_plin pl = plin(fc);
    mhv_plin_run(&pl, s->tmp, s->ctx, &ly->o, ly->o_b, n, 0, H, MHV_PLIN_NO_ACT);
    par_add_layernorm(fc, s->x, s->tmp, ly->ln_attn_g, ly->ln_attn_b, n, H, c->layer_norm_eps);
    mhv_plin_run(&pl, s->ffn, s->x, &ly->ffn_up, ly->ffn_up_b, n, 0, I, (int)c->act);
    mhv_plin_run(&pl, s->tmp, s->ffn, &ly->ffn_down, ly->ffn_down_b, n, 0, H, MHV_PLIN_NO_ACT);
    par_add_layernorm(fc, s->x, s->tmp, ly->ln_ffn_g, ly->ln_ffn_b, n, H, c->layer_norm_eps);
}

mhv_forward_params mhv_forward_default_params(void)
{
    return (mhv_forward_params){.threads = 0, .kernel = NULL};
}

mhv_status mhv_forward_ctx_new(const mhv_forward_params *p, mhv_forward_ctx **out,
                               mhv_error *err)
{
    *out = NULL;
    mhv_forward_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    c->K = mhv_kernels_select(p ? p->kernel : NULL);
    int threads = p && p->threads > 0 ? p->threads : mhv_pool_online_cpus();
    c->threads = 1;
    if (threads > 1) {
        mhv_status st = mhv_pool_new(threads, &c->pool, err);
        if (st) {
            free(c);
            return st;
        }
        c->threads = mhv_pool_threads(c->pool);
    }
    *out = c;
    return MHV_OK;
}

void mhv_forward_ctx_free(mhv_forward_ctx *c)
{
    if (!c)
        return;
    mhv_pool_free(c->pool);
    free(c->s.arena);
    free(c);
}

int mhv_forward_ctx_threads(const mhv_forward_ctx *c)
{
    return c->threads;
}

const char *mhv_forward_ctx_kernel(const mhv_forward_ctx *c)
{
    return c->K->name;
}

mhv_status mhv_forward(const mhv_model *m, const int32_t *ids, int n, const mhv_heads *sel,
                       mhv_attn *out, mhv_error *err)
{
    mhv_forward_params p = {.threads = 1};
    mhv_forward_ctx *c;
    memset(out, 0, sizeof *out);
    mhv_status st = mhv_forward_ctx_new(&p, &c, err);
    if (st)
        return st;
    st = mhv_forward_run(c, m, ids, n, sel, out, err);
    mhv_forward_ctx_free(c);
    return st;
}

mhv_status mhv_forward_run(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *ids, int n,
                           const mhv_heads *sel, mhv_attn *out, mhv_error *err)
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

    mhv_status st = mhv_attn_alloc(out, sel, n, err);
    if (st)
        return st;
    if (mhv_arch_is_decoder(c->arch)) { /* GPT-2, llama family: lib/decoder.c */
        if ((st = mhv_decoder_run(fc->K, fc->pool, m, ids, n, sel, out, err)))
            mhv_attn_free(out);
        return st;
    }
    if ((st = state_alloc(&fc->s, fc->K, fc->threads, c, n, err))) {
        mhv_attn_free(out);
        return st;
    }
    embed(fc, m, ids, n);
    /* Attention probabilities of layer l depend only on layers 0..l, so the work stops at
     * the last selected layer's softmax. */
    int last = mhv_heads_last_layer(sel), slot = 0;
    for (int l = 0; l <= last; l++) {
        attention(fc, m, l, last, n, sel, out, &slot);
        if (l < last)
            finish_layer(fc, m, l, n);
    }
    return MHV_OK;
}
