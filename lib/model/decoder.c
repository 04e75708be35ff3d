/* decoder.c - GPT-2 and llama-family forward pass, llama2.c style: one run state, a loop
 * over layers, shapes on every buffer.
 *
 *   GPT-2:  x = wte[id] + wpe[pos]; per layer x += attn(LN1(x)); x += MLP_gelu(LN2(x))
 *   llama:  x = embed[id];          per layer x += attn(RMS1(x)); x += down(silu(gate)*up)(RMS2(x))
 *           with RoPE on q and k, grouped-query attention (query head h reads kv head
 *           h / (num_heads / num_kv_heads) through a pointer offset, never a copy) and
 *           Mistral/Qwen2's sliding window.
 * Attention is causal. Layers above the last selected head are not computed, and in that
 * last layer only the selected heads' probabilities are (no V, no output). */
#include "model/decoder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/parlinear.h"
#include "nn/rope.h"

typedef struct {
    float *x;      /* (n, hidden) residual stream */
    float *xb;     /* (n, hidden) normalised x */
    float *q;      /* (n, num_heads * head_dim) */
    float *k;      /* (n, num_kv_heads * head_dim) */
    float *v;      /* (n, num_kv_heads * head_dim) */
    float *ctx;    /* (n, num_heads * head_dim) attention output before o */
    float *tmp;    /* (n, hidden) */
    float *gate;   /* (n, intermediate) SwiGLU gate, or GPT-2's MLP hidden */
    float *up;     /* (n, intermediate) SwiGLU up (llama family) */
    float *row;    /* (hidden,) position embedding row */
    float *cos_t;  /* (n, head_dim/2) RoPE table */
    float *sin_t;  /* (n, head_dim/2) */
    float *inv_freq; /* (head_dim/2,) */
    float *scratch;  /* (threads, scratch_stride) attention scratch */
    size_t scratch_stride;
    float *xp;       /* (mhv_plin_xp_floats(n, widest input),) packed input of a linear layer,
                      * or NULL */
    float *arena;
} dec_state;

/* The kernels of K with the scalar entry wherever K has none (a table that predates the
 * decoder entries). */
typedef struct {
    mhv_kernels k;
    const mhv_kernels *scalar;
    mhv_pool *pool;
    int threads;
} dec_ctx;

static mhv_status state_alloc(dec_state *s, const dec_ctx *dc, const mhv_config *c, int n,
                              mhv_error *err)
{
    size_t N = (size_t)n, H = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    size_t QD = (size_t)c->num_heads * (size_t)c->head_dim;
    size_t KVD = (size_t)c->num_kv_heads * (size_t)c->head_dim;
    size_t half = (size_t)c->head_dim / 2;
    size_t sa = dc->k.attention_scratch(n, c->head_dim);
    size_t sb = dc->scalar->attention_scratch(n, c->head_dim);
    s->scratch_stride = ((sa > sb ? sa : sb) + 15) / 16 * 16;
    int widest = c->intermediate_size > c->hidden_size ? c->intermediate_size : c->hidden_size;
    if ((int)QD > widest)
        widest = (int)QD;
    size_t nxp = (mhv_plin_xp_floats(&dc->k, n, widest) + 15) / 16 * 16;
    size_t floats = N * (3 * H + 2 * QD + 2 * KVD + 2 * I) + H + 2 * N * half + half +
                    s->scratch_stride * (size_t)dc->threads + nxp;
    s->arena = malloc(floats * sizeof(float));
    if (!s->arena)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for activations (%d tokens)", n);
    float *p = s->arena;
    s->x = p, p += N * H;
    s->xb = p, p += N * H;
    s->tmp = p, p += N * H;
    s->q = p, p += N * QD;
    s->ctx = p, p += N * QD;
    s->k = p, p += N * KVD;
    s->v = p, p += N * KVD;
    s->gate = p, p += N * I;
    s->up = p, p += N * I;
    s->row = p, p += H;
    s->cos_t = p, p += N * half;
    s->sin_t = p, p += N * half;
    s->inv_freq = p, p += half;
    s->scratch = p, p += s->scratch_stride * (size_t)dc->threads;
    s->xp = nxp ? p : NULL;
    return MHV_OK;
}

/* The linear layers' view of the context (lib/parlinear.c): kernels, pool, packed x. */
static mhv_plin plin(const dec_ctx *dc, const dec_state *s)
{
    return (mhv_plin){&dc->k, dc->pool, dc->threads, s->xp};
}

/* y(n, w.rows) = x(n, w.cols) · W^T + b over the pool */
static void linear(const dec_ctx *dc, const dec_state *s, float *y, const float *x,
                   const mhv_mat *w, const float *b, int n)
{
    mhv_plin p = plin(dc, s);
    mhv_plin_run(&p, y, x, w, b, n, 0, w->rows, MHV_PLIN_NO_ACT);
}

/* ---- attention over the pool, one task per head ---- */

typedef struct {
    const mhv_kernels *K;
    mhv_attn_args base; /* head 0 / kv head 0 */
    int group;          /* query heads per kv head */
    int d;
    const int *heads;   /* (tasks,) head of each task */
    float **probs;      /* (tasks,) where its probabilities go, or NULL */
    float *scratch;
    size_t scratch_stride;
} attn_job;

static void attn_task(void *ctx, int task, int worker)
{
    const attn_job *j = ctx;
    int h = j->heads[task];
    mhv_attn_args a = j->base;
    a.q += (size_t)h * (size_t)j->d;
    a.k += (size_t)(h / j->group) * (size_t)j->d; /* GQA: the shared kv head, in place */
    if (a.out) {
        a.v += (size_t)(h / j->group) * (size_t)j->d;
        a.out += (size_t)h * (size_t)j->d;
    }
    a.probs = j->probs[task];
    a.scratch = j->scratch + (size_t)worker * j->scratch_stride;
    j->K->attention(&a);
}

static void norm(const dec_ctx *dc, const mhv_config *c, float *x, const float *g,
                 const float *b, int n)
{
    if (c->arch == MHV_ARCH_GPT2)
        dc->k.layernorm(x, g, b, n, c->hidden_size, c->layer_norm_eps);
    else
        dc->k.rmsnorm(x, g, n, c->hidden_size, c->layer_norm_eps);
}

static void embed(const mhv_model *m, const int32_t *ids, int n, dec_state *s, const dec_ctx *dc)
{
    int H = m->cfg.hidden_size;
    for (int i = 0; i < n; i++) {
        float *xi = s->x + (size_t)i * (size_t)H;
        mhv_mat_row(&m->word_emb, ids[i], xi);
        if (m->cfg.arch == MHV_ARCH_GPT2) { /* learned positions */
            mhv_mat_row(&m->pos_emb, i, s->row);
            dc->k.add(xi, s->row, (size_t)H);
        }
    }
}

/* Attention of layer l: q, k (, v) from s->xb, probabilities of selected heads into out's
 * slots, s->ctx = P·V of every head unless l is the last layer computed. */
static void attention(const dec_ctx *dc, const mhv_model *m, int l, int is_last, int n,
                      dec_state *s, const mhv_heads *sel, mhv_attn *out, int *next_slot,
                      int *heads_buf, float **probs_buf)
{
    const mhv_config *c = &m->cfg;
    const mhv_layer *ly = &m->layers[l];
    int d = c->head_dim, QD = c->num_heads * d, KVD = c->num_kv_heads * d;
    /* q: (n, QD), k and v: (n, KVD), one pool job over one packed xb */
    mhv_plin p = plin(dc, s);
    mhv_plin_part parts[3] = {
        {s->q, &ly->q, ly->q_b, 0, ly->q.rows, MHV_PLIN_NO_ACT},
        {s->k, &ly->k, ly->k_b, 0, ly->k.rows, MHV_PLIN_NO_ACT},
        {s->v, &ly->v, ly->v_b, 0, ly->v.rows, MHV_PLIN_NO_ACT},
    };
    mhv_plin_run_parts(&p, parts, is_last ? 2 : 3, s->xb, n);
    if (c->arch != MHV_ARCH_GPT2) {
        mhv_rope_apply(s->q, n, c->num_heads, d / 2, (size_t)QD, s->cos_t, s->sin_t);
        mhv_rope_apply(s->k, n, c->num_kv_heads, d / 2, (size_t)KVD, s->cos_t, s->sin_t);
    }
    int window = c->sliding_window > 0 && l >= c->window_from_layer ? c->sliding_window : 0;
    attn_job j = {
        .K = &dc->k,
        .base = {.q = s->q, .k = s->k, .v = s->v, .n = n, .d = d, .ld_q = (size_t)QD,
                 .ld_k = (size_t)KVD, .ld_v = (size_t)KVD,
                 .scale = (float)(1.0 / sqrt((double)d)), .causal = 1, .window = window,
                 .out = is_last ? NULL : s->ctx, .ld_out = (size_t)QD},
        .group = c->num_heads / c->num_kv_heads, .d = d, .heads = heads_buf, .probs = probs_buf,
        .scratch = s->scratch, .scratch_stride = s->scratch_stride,
    };
    int tasks = 0;
    for (int h = 0; h < c->num_heads; h++) {
        int want = sel && mhv_heads_has(sel, l, h);
        if (!want && is_last)
            continue; /* nothing reads this head's output */
        heads_buf[tasks] = h;
        probs_buf[tasks] = want ? out->heads[(*next_slot)++].w : NULL;
        tasks++;
    }
    mhv_pool_run(dc->pool, tasks, attn_task, &j);
}

/* Everything after the attention probabilities of layer l: o projection, MLP, residuals;
 * leaves the next layer's normalised input in s->xb. */
static void finish_layer(const dec_ctx *dc, const mhv_model *m, int l, int n, dec_state *s)
{
    const mhv_config *c = &m->cfg;
    const mhv_layer *ly = &m->layers[l];
    size_t nh = (size_t)n * (size_t)c->hidden_size, ni = (size_t)n * (size_t)c->intermediate_size;
    linear(dc, s, s->tmp, s->ctx, &ly->o, ly->o_b, n);      /* tmp: (n, H) */
    dc->k.add(s->x, s->tmp, nh);
    memcpy(s->xb, s->x, nh * sizeof *s->x);
    norm(dc, c, s->xb, ly->ln_ffn_g, ly->ln_ffn_b, n);
    if (c->arch == MHV_ARCH_GPT2) {
        /* gate: (n, I), activated as it is computed */
        mhv_plin p = plin(dc, s);
        mhv_plin_run(&p, s->gate, s->xb, &ly->ffn_up, ly->ffn_up_b, n, 0, ly->ffn_up.rows,
                     (int)c->act);
    } else {
        /* gate, up: (n, I) each */
        mhv_plin p = plin(dc, s);
        mhv_plin_part parts[2] = {
            {s->gate, &ly->ffn_gate, ly->ffn_gate_b, 0, ly->ffn_gate.rows, (int)c->act},
            {s->up, &ly->ffn_up, ly->ffn_up_b, 0, ly->ffn_up.rows, MHV_PLIN_NO_ACT},
        };
        mhv_plin_run_parts(&p, parts, 2, s->xb, n);
        for (size_t t = 0; t < ni; t++)
            s->gate[t] *= s->up[t];
    }
    linear(dc, s, s->tmp, s->gate, &ly->ffn_down, ly->ffn_down_b, n);  /* tmp: (n, H) */
    dc->k.add(s->x, s->tmp, nh);
}

static void ctx_init(dec_ctx *dc, const mhv_kernels *K, mhv_pool *pool)
{
    dc->k = *K;
    dc->scalar = mhv_kernels_scalar();
    /* tables written before the decoder entries existed leave them NULL */
    if (!dc->k.rmsnorm)
        dc->k.rmsnorm = dc->scalar->rmsnorm;
    if (!dc->k.linear_t_cols)
        dc->k.linear_t_cols = dc->scalar->linear_t_cols;
    if (!dc->k.linear_cols)
        dc->k.linear_cols = dc->scalar->linear_cols;
    if (!dc->k.attention_scratch)
        dc->k.attention_scratch = dc->scalar->attention_scratch;
    dc->pool = pool;
    dc->threads = pool ? mhv_pool_threads(pool) : 1;
}

/* Layers 0..last (all when sel is NULL), then, when logits is non-NULL, the final norm and
 * lm_head. */
static mhv_status run(const dec_ctx *dc, const mhv_model *m, const int32_t *ids, int n,
                      const mhv_heads *sel, mhv_attn *out, float *logits, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    dec_state s = {0};
    mhv_status st = state_alloc(&s, dc, c, n, err);
    if (st)
        return st;
    int *heads_buf = malloc((size_t)c->num_heads * sizeof *heads_buf);
    float **probs_buf = malloc((size_t)c->num_heads * sizeof *probs_buf);
    if (!heads_buf || !probs_buf) {
        free(heads_buf);
        free(probs_buf);
        free(s.arena);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    if (c->arch != MHV_ARCH_GPT2) {
        mhv_rope r = {c->rope_theta, c->rope_kind, c->rope_factor, c->rope_low_freq_factor,
                      c->rope_high_freq_factor, c->rope_original_max_positions};
        mhv_rope_inv_freq(&r, c->head_dim, s.inv_freq);
        mhv_rope_table(s.inv_freq, c->head_dim / 2, n, s.cos_t, s.sin_t);
    }
    if (out && mhv_arch_has_kv_heads(c->arch))
        out->kv_group = c->num_heads / c->num_kv_heads;
    size_t nh = (size_t)n * (size_t)c->hidden_size;
    embed(m, ids, n, &s, dc);
    int last = sel ? mhv_heads_last_layer(sel) : c->num_layers - 1, slot = 0;
    for (int l = 0; l <= last; l++) {
        const mhv_layer *ly = &m->layers[l];
        memcpy(s.xb, s.x, nh * sizeof *s.x);
        norm(dc, c, s.xb, ly->ln_attn_g, ly->ln_attn_b, n);
        attention(dc, m, l, l == last && !logits, n, &s, sel, out, &slot, heads_buf, probs_buf);
        if (l < last || logits)
            finish_layer(dc, m, l, n, &s);
    }
    if (logits) {
        norm(dc, c, s.x, m->norm_g, m->norm_b, n);
        linear(dc, &s, logits, s.x, &m->lm_head, NULL, n);  /* logits: (n, vocab) */
    }
    free(heads_buf);
    free(probs_buf);
    free(s.arena);
    return MHV_OK;
}

mhv_status mhv_decoder_run(const mhv_kernels *K, mhv_pool *pool, const mhv_model *m,
                           const int32_t *ids, int n, const mhv_heads *sel, mhv_attn *out,
                           mhv_error *err)
{
    dec_ctx dc;
    ctx_init(&dc, K, pool);
    return run(&dc, m, ids, n, sel, out, NULL, err);
}

mhv_status mhv_decoder_logits(const mhv_model *m, const int32_t *ids, int n, float *logits,
                              mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    if (!mhv_arch_is_decoder(c->arch))
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir, "logits need a decoder model, not %s",
                        mhv_arch_name(c->arch));
    if (!m->lm_head.data)
        return mhv_fail(err, MHV_EUNSUPPORTED, m->dir,
                        "no lm_head.weight and tie_word_embeddings is false: a base model has "
                        "no logits");
    if (n < 1 || n > c->max_positions)
        return mhv_fail(err, MHV_EUSAGE, "", "%d tokens: need 1 to %d", n, c->max_positions);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return mhv_fail(err, MHV_EUSAGE, "", "token id %d outside the model's vocabulary (0-%d)",
                            (int)ids[i], c->vocab_size - 1);
    dec_ctx dc;
    ctx_init(&dc, mhv_kernels_select(NULL), NULL);
    return run(&dc, m, ids, n, NULL, NULL, logits, err);
}
