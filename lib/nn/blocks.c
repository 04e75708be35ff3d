#include "nn/blocks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/rope.h"

#define MAX_HEADS 1024 /* the config caps heads (MHV_MAX_HEADS) */

void mhv_nn_init(mhv_nn *nn, const mhv_kernels *K, mhv_pool *pool)
{
    memset(nn, 0, sizeof *nn);
    nn->K = K;
    nn->pool = pool;
    nn->threads = pool ? mhv_pool_threads(pool) : 1;
}

void mhv_nn_release(mhv_nn *nn)
{
    free(nn->arena);
    free(nn->bias);
    free(nn->wo_block);
    nn->arena = nn->bias = nn->wo_block = NULL;
    nn->arena_cap = nn->bias_cap = nn->wo_cap = 0;
}

/* Whole 64-byte lines, so buffers never share a cache line. */
static size_t lines(size_t floats)
{
    return (floats + 15) / 16 * 16;
}

mhv_status mhv_nn_begin(mhv_nn *nn, const mhv_nn_shape *sh, const mhv_nn_buf *bufs, int count,
                        mhv_error *err)
{
    size_t T = (size_t)nn->threads;
    size_t row = lines((size_t)sh->width);
    /* sh->n covers queries and keys of every attention, cross-attention's too; the cached
     * keys come before a decoding step's */
    size_t as = lines(nn->K->attention_scratch(sh->n + mhv_nn_past(nn), sh->head_dim));
    size_t xp = lines(mhv_plin_xp_floats(nn->K, sh->n, sh->widest_in));
    size_t pos = lines((size_t)sh->n); /* int32 position rows, one float's room each */
    size_t need = T * row + T * as + xp + pos;
    for (int i = 0; i < count; i++)
        need += lines(bufs[i].floats);
    if (nn->measure) {
        nn->measured = need * sizeof(float);
        return mhv_fail(err, MHV_EUNSUPPORTED, "", "a measuring pass stops here");
    }
    if (need > nn->arena_cap) {
        free(nn->arena);
        nn->arena_cap = 0;
        nn->arena = aligned_alloc(64, need * sizeof(float));
        if (!nn->arena)
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory for activations (%d tokens)",
                            sh->n);
        nn->arena_cap = need;
    }
    float *p = nn->arena;
    for (int i = 0; i < count; i++) {
        *bufs[i].ptr = p;
        p += lines(bufs[i].floats);
    }
    nn->row = p, p += T * row;
    nn->row_width = (int)row;
    nn->attn_scratch = p, p += T * as;
    nn->attn_stride = as;
    nn->xp = xp ? p : NULL;
    p += xp;
    nn->pos = (int32_t *)(void *)p;
    return MHV_OK;
}

mhv_status mhv_nn_reserve_vnorm(mhv_nn *nn, int hidden, int head_dim, mhv_error *err)
{
    size_t stride = lines((size_t)hidden * (size_t)head_dim), need = stride * (size_t)nn->threads;
    if (need > nn->wo_cap) {
        free(nn->wo_block);
        nn->wo_cap = 0;
        if (!(nn->wo_block = aligned_alloc(64, need * sizeof(float))))
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory for value norms");
        nn->wo_cap = need;
    }
    nn->wo_stride = stride;
    return MHV_OK;
}

mhv_status mhv_nn_reserve_bias(mhv_nn *nn, int n, mhv_error *err)
{
    size_t stride = lines((size_t)n * (size_t)(mhv_nn_past(nn) + n)), need;
    if (__builtin_mul_overflow(stride, (size_t)nn->threads, &need))
        return mhv_fail(err, MHV_ENOMEM, "", "score bias maps of %d tokens are too large", n);
    if (need > nn->bias_cap) {
        free(nn->bias);
        nn->bias_cap = 0;
        if (!(nn->bias = aligned_alloc(64, need * sizeof(float))))
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory for score bias maps (%d tokens)",
                            n);
        nn->bias_cap = need;
    }
    nn->bias_stride = stride;
    return MHV_OK;
}

int mhv_nn_packs_rows(const mhv_nn *nn, int n_alone, int n_packed)
{
    /* scalar and AVX-512 round any row count alike; AVX2 takes dot products up to 48 rows
     * and its GEMM above (tests/test_pack.c checks this on every table the CPU has) */
    int s = nn->K->linear_rows_switch;
    return s <= 0 || (n_alone <= s) == (n_packed <= s);
}

/* The sentences of a pass: nn's pack, or the one sentence of n rows kept by cap. */
static mhv_nn_pack pass_pack(const mhv_nn *nn, int n, mhv_capture *cap, int one_off[2])
{
    if (nn->pack)
        return *nn->pack;
    one_off[0] = 0, one_off[1] = n;
    return (mhv_nn_pack){1, one_off, cap};
}

/* ---- work over rows ---- */

typedef void (*rows_fn)(const void *arg, int r0, int r1, int worker);

typedef struct {
    rows_fn fn;
    const void *arg;
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
static void par_rows(mhv_nn *nn, int n, int width, rows_fn fn, const void *arg)
{
    int T = nn->threads;
    if (T <= 1 || n < 2 || (size_t)n * (size_t)width < 4096) {
        fn(arg, 0, n, 0);
        return;
    }
    int tasks = 2 * T < n ? 2 * T : n;
    rows_job j = {fn, arg, n, (n + tasks - 1) / tasks};
    mhv_pool_run(nn->pool, (n + j.per - 1) / j.per, rows_task, &j);
}

typedef struct {
    const mhv_kernels *K;
    float *x;              /* (n, d) */
    const float *y;        /* (n, d) the other operand, or NULL */
    const mhv_norm *norm;  /* or NULL */
    int d;
    enum { ROWS_NORM, ROWS_ADD_NORM, ROWS_ADD, ROWS_MUL, ROWS_SCALE, ROWS_ADD_SCALED,
           ROWS_MUL_SCALAR, ROWS_DIV_SCALAR } op;
    float s;               /* the scalar of the *_SCALED / *_SCALAR ops */
} rows_args;

static void apply_norm(const mhv_kernels *K, const mhv_norm *nm, float *x, int rows, int d)
{
    if (nm->kind == MHV_NORM_RMS) {
        K->rmsnorm(x, nm->g, rows, d, nm->eps);
    } else if (nm->kind == MHV_NORM_AFFINE) { /* the product rounded before the add */
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < d; i++) {
                float p = x[(size_t)r * (size_t)d + (size_t)i] * nm->g[i];
                x[(size_t)r * (size_t)d + (size_t)i] = p + nm->b[i];
            }
    } else
        K->layernorm(x, nm->g, nm->b, rows, d, nm->eps);
}

static void rows_op(const void *arg, int r0, int r1, int worker)
{
    (void)worker;
    const rows_args *a = arg;
    size_t off = (size_t)r0 * (size_t)a->d, len = (size_t)(r1 - r0) * (size_t)a->d;
    float *x = a->x + off;
    switch (a->op) {
    case ROWS_NORM: /* y is the source */
        if (a->y != a->x)
            memcpy(x, a->y + off, len * sizeof *x);
        apply_norm(a->K, a->norm, x, r1 - r0, a->d);
        break;
    case ROWS_ADD_NORM:
        a->K->add(x, a->y + off, len);
        apply_norm(a->K, a->norm, x, r1 - r0, a->d);
        break;
    case ROWS_ADD:
        a->K->add(x, a->y + off, len);
        break;
    case ROWS_MUL:
        for (size_t t = 0; t < len; t++)
            x[t] *= a->y[off + t];
        break;
    case ROWS_SCALE: /* y is one (d,) vector */
        for (size_t t = 0; t < len; t++)
            x[t] *= a->y[t % (size_t)a->d];
        break;
    case ROWS_ADD_SCALED: /* the product rounded to fp32 before the add (no contraction) */
        for (size_t t = 0; t < len; t++) {
            float p = a->y[off + t] * a->s;
            x[t] += p;
        }
        break;
    case ROWS_MUL_SCALAR:
        for (size_t t = 0; t < len; t++)
            x[t] *= a->s;
        break;
    case ROWS_DIV_SCALAR:
        for (size_t t = 0; t < len; t++)
            x[t] /= a->s;
        break;
    }
}

void mhv_nn_norm(mhv_nn *nn, float *y, const float *x, const mhv_norm *nm, int n, int d)
{
    rows_args a = {nn->K, y, x, nm, d, ROWS_NORM, 0};
    par_rows(nn, n, d, rows_op, &a);
}

void mhv_nn_add_norm(mhv_nn *nn, float *x, const float *add, const mhv_norm *nm, int n, int d)
{
    rows_args a = {nn->K, x, add, nm, d, ROWS_ADD_NORM, 0};
    par_rows(nn, n, d, rows_op, &a);
}

void mhv_nn_add(mhv_nn *nn, float *x, const float *add, int n, int d)
{
    rows_args a = {nn->K, x, add, NULL, d, ROWS_ADD, 0};
    par_rows(nn, n, d, rows_op, &a);
}

typedef struct {
    const mhv_kernels *K;
    float *x;
    int d, act;
} act_args;

static void act_op(const void *arg, int r0, int r1, int worker)
{
    (void)worker;
    const act_args *a = arg;
    mhv_plin_activate(a->K, a->act, a->x + (size_t)r0 * (size_t)a->d,
                      (size_t)(r1 - r0) * (size_t)a->d);
}

void mhv_nn_act(mhv_nn *nn, float *x, int act, int n, int d)
{
    act_args a = {nn->K, x, d, act};
    par_rows(nn, n, d, act_op, &a);
}

void mhv_nn_scale(mhv_nn *nn, float *x, const float *g, int n, int d)
{
    rows_args a = {nn->K, x, g, NULL, d, ROWS_SCALE, 0};
    par_rows(nn, n, d, rows_op, &a);
}

void mhv_nn_mul(mhv_nn *nn, float *x, const float *y, int n, int d)
{
    rows_args a = {nn->K, x, y, NULL, d, ROWS_MUL, 0};
    par_rows(nn, n, d, rows_op, &a);
}

void mhv_nn_add_scaled(mhv_nn *nn, float *x, const float *add, float s, int n, int d)
{
    rows_args a = {nn->K, x, add, NULL, d, ROWS_ADD_SCALED, s};
    par_rows(nn, n, d, rows_op, &a);
}

void mhv_nn_mul_scalar(mhv_nn *nn, float *x, float s, int n, int d)
{
    rows_args a = {nn->K, x, NULL, NULL, d, ROWS_MUL_SCALAR, s};
    par_rows(nn, n, d, rows_op, &a);
}

void mhv_nn_div_scalar(mhv_nn *nn, float *x, float s, int n, int d)
{
    rows_args a = {nn->K, x, NULL, NULL, d, ROWS_DIV_SCALAR, s};
    par_rows(nn, n, d, rows_op, &a);
}

typedef struct {
    float *x;
    float cap;
    int d;
} softcap_args;

static void softcap_rows(const void *arg, int r0, int r1, int worker)
{
    (void)worker;
    const softcap_args *a = arg;
    float *x = a->x + (size_t)r0 * (size_t)a->d;
    for (size_t t = 0, len = (size_t)(r1 - r0) * (size_t)a->d; t < len; t++)
        x[t] = tanhf(x[t] / a->cap) * a->cap;
}

void mhv_nn_softcap(mhv_nn *nn, float *x, float cap, int n, int d)
{
    softcap_args a = {x, cap, d};
    par_rows(nn, n, d, softcap_rows, &a);
}

typedef struct {
    float *x;
    const float *p;
    int d;
} xielu_args;

static void xielu_rows(const void *arg, int r0, int r1, int worker)
{
    (void)worker;
    const xielu_args *a = arg;
    float ap = a->p[0], an = a->p[1], beta = a->p[2], eps = a->p[3];
    float *x = a->x + (size_t)r0 * (size_t)a->d;
    for (size_t t = 0, len = (size_t)(r1 - r0) * (size_t)a->d; t < len; t++) {
        float v = x[t], bx = beta * v; /* each product rounded to fp32, as torch's ops */
        if (v > 0) {
            float sq = ap * v;
            sq = sq * v;
            x[t] = sq + bx;
        } else {
            float e = expm1f(v < eps ? v : eps) - v;
            e = e * an;
            x[t] = e + bx;
        }
    }
}

void mhv_nn_xielu(mhv_nn *nn, float *x, const float p[4], int n, int d)
{
    xielu_args a = {x, p, d};
    par_rows(nn, n, d, xielu_rows, &a);
}

/* ---- embeddings ---- */

typedef struct {
    mhv_nn *nn;
    float *x;
    const mhv_embed *e;
    const int32_t *ids;
    int d;
} embed_args;

static void embed_rows(const void *arg, int r0, int r1, int worker)
{
    const embed_args *j = arg;
    const mhv_embed *e = j->e;
    const mhv_kernels *K = j->nn->K;
    size_t d = (size_t)j->d;
    float *row = j->nn->row + (size_t)worker * (size_t)j->nn->row_width; /* (d,) */
    for (int i = r0; i < r1; i++) {
        float *xi = j->x + (size_t)i * d;
        const float *given = j->nn->embed_given;
        if (given && j->nn->embed_given_row[i] >= 0)
            memcpy(xi, given + (size_t)j->nn->embed_given_row[i] * d, d * sizeof *xi);
        else
            mhv_mat_row(e->tok, j->ids[i], xi);
        int scaled = given && j->nn->embed_given_scaled && j->nn->embed_given_row[i] >= 0;
        if (e->scale != 0 && !scaled)
            for (size_t t = 0; t < d; t++)
                xi[t] *= e->scale;
        if (e->pos && e->pos_first) {
            mhv_mat_row(e->pos, j->nn->pos[i], row);
            K->add(xi, row, d);
        }
        if (e->type) {
            mhv_mat_row(e->type, j->nn->type_ids ? j->nn->type_ids[i] : 0, row);
            K->add(xi, row, d);
        }
        if (e->pos && !e->pos_first) {
            mhv_mat_row(e->pos, j->nn->pos[i], row);
            K->add(xi, row, d);
        }
        if (e->task) {
            mhv_mat_row(e->task, 0, row);
            K->add(xi, row, d);
        }
    }
    if (e->norm)
        apply_norm(K, e->norm, j->x + (size_t)r0 * d, r1 - r0, j->d);
}

void mhv_nn_embed(mhv_nn *nn, float *x, const mhv_embed *e, const int32_t *ids, int n, int d)
{
    int one_off[2];
    mhv_nn_pack pk = pass_pack(nn, n, NULL, one_off);
    int past = mhv_nn_past(nn); /* a cached decoding step's first position */
    if (e->pad_id >= 0 && past > 0) { /* RoBERTa's rule counts over the whole sequence */
        mhv_nn_kv_refuse(nn);
        past = 0;
    }
    for (int s = 0; s < pk.count; s++) /* positions count from each sentence's start */
        for (int i = pk.off[s], rank = 0; i < pk.off[s + 1]; i++)
            if (e->pad_id < 0)
                nn->pos[i] = past + i - pk.off[s] + e->pos_offset;
            else
                nn->pos[i] = ids[i] == e->pad_id ? e->pad_id : e->pad_id + 1 + rank++;
    embed_args a = {nn, x, e, ids, d};
    par_rows(nn, n, d, embed_rows, &a);
    if (nn->embed_given)
        nn->embed_given_used = 1;
}

/* ---- linear layers ---- */

static mhv_plin plin(const mhv_nn *nn)
{
    return (mhv_plin){nn->K, nn->pool, nn->threads, nn->xp};
}

void mhv_nn_linear(mhv_nn *nn, float *y, const float *x, const mhv_mat *w, const float *b,
                   int n, int act)
{
    mhv_plin p = plin(nn);
    mhv_plin_run(&p, y, x, w, b, n, 0, w->rows, act);
}

void mhv_nn_linear_grouped(mhv_nn *nn, float *y, const float *x, int in, const mhv_mat *w,
                           const float *b, int n, int groups, int act, float *scratch)
{
    if (groups == 1) {
        mhv_nn_linear(nn, y, x, w, b, n, act);
        return;
    }
    size_t ci = (size_t)(in / groups), co = (size_t)(w->rows / groups), N = (size_t)n;
    float *xg = scratch, *yg = scratch + N * ci; /* (n, ci), (n, co) */
    for (int g = 0; g < groups; g++) {
        for (size_t i = 0; i < N; i++)
            memcpy(xg + i * ci, x + i * (size_t)in + (size_t)g * ci, ci * sizeof *xg);
        mhv_mat wg = mhv_mat_rows(w, g * (int)co, (int)co);
        mhv_nn_linear(nn, yg, xg, &wg, b ? b + (size_t)g * co : NULL, n, act);
        for (size_t i = 0; i < N; i++)
            memcpy(y + i * (size_t)w->rows + (size_t)g * co, yg + i * co, co * sizeof *yg);
    }
}

void mhv_nn_linear_parts(mhv_nn *nn, const mhv_plin_part *parts, int count, const float *x,
                         int n)
{
    mhv_plin p = plin(nn);
    mhv_plin_run_parts(&p, parts, count, x, n);
}

/* ---- mixture of experts ---- */

size_t mhv_nn_moe_floats(const mhv_moe *m, int n, int d)
{
    size_t N = (size_t)n, I = (size_t)(m->inter > m->s_inter ? m->inter : m->s_inter);
    /* router probabilities, top-k weights and experts (as int32), the rows of one expert
     * (int32), its inputs, gate, up and outputs, the shared expert's gate: each on whole
     * cache lines */
    return lines(N * (size_t)m->experts) + 2 * lines(N * (size_t)m->top_k) + lines(N) +
           2 * lines(N * (size_t)d) + 2 * lines(N * I) + lines(N);
}

/* The (token, slot) pairs of tope(N, k) routed to expert e into rows (token * k + slot), and
 * their tokens' rows of x(N, D) into xe(count, D); returns count. */
static int gather_expert(size_t e, const int32_t *tope, size_t N, size_t k, const float *x,
                         size_t D, int32_t *rows, float *xe)
{
    int count = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < k; j++)
            if (tope[i * k + j] == (int32_t)e)
                rows[count++] = (int32_t)(i * k + j);
    for (int r = 0; r < count; r++)
        memcpy(xe + (size_t)r * D, x + (size_t)(rows[r] / (int32_t)k) * D, D * sizeof *x);
    return count;
}

/* The weight of expert `top` among the logits s(E,) within eps2 of the largest, s_top (the
 * others masked, and `skip` too when >= 0): softmax(masked s)[top], as transformers'
 * sparsemixer computes it in fp32 (the sum in double, as the softmax above). */
static float sparse_weight(const float *s, size_t E, size_t top, long skip, float eps2)
{
    float mx = s[top];
    double sum = 0;
    for (size_t e = 0; e < E; e++) {
        float f = fabsf(s[e]) > mx ? fabsf(s[e]) : mx; /* |s|.clamp(min=max) */
        if ((long)e != skip && !((mx - s[e]) / f > eps2))
            sum += (double)expf(s[e] - mx);
    }
    return (float)(1.0 / sum);
}

/* PhiMoE's sparsemixer of one token's router logits s(E,) (E >= 2), in eval mode: the two
 * experts into ix(2,), their weights into w(2,). */
static void sparsemixer(const float *s, size_t E, float eps2, float *w, int32_t *ix)
{
    size_t a = 0; /* the first largest, then b the first largest of the rest (torch.max) */
    for (size_t e = 1; e < E; e++)
        a = s[e] > s[a] ? e : a;
    size_t b = a == 0 ? 1 : 0;
    for (size_t e = 0; e < E; e++)
        b = e != a && s[e] > s[b] ? e : b;
    ix[0] = (int32_t)a, ix[1] = (int32_t)b;
    w[0] = sparse_weight(s, E, a, -1, eps2);
    w[1] = sparse_weight(s, E, b, (long)a, eps2);
}

/* The k largest of v(count) (the lower index first among equals, as torch.topk) into ix. */
static void top_indices(const float *v, size_t count, size_t k, int32_t *ix)
{
    for (size_t j = 0; j < k; j++) {
        int best = -1;
        for (size_t e = 0; e < count; e++) {
            int taken = 0;
            for (size_t t = 0; t < j; t++)
                taken |= ix[t] == (int32_t)e;
            if (!taken && (best < 0 || v[e] > v[best]))
                best = (int)e;
        }
        ix[j] = best;
    }
}

void mhv_nn_topk_softmax(const float *logits, int n, int E, int k, float *w, int32_t *ix)
{
    for (size_t i = 0; i < (size_t)n; i++) {
        const float *s = logits + i * (size_t)E;
        float *wi = w + i * (size_t)k;
        int32_t *xi = ix + i * (size_t)k;
        top_indices(s, (size_t)E, (size_t)k, xi);
        double sum = 0;
        for (int j = 0; j < k; j++)
            sum += (double)(wi[j] = expf(s[xi[j]] - s[xi[0]]));
        for (int j = 0; j < k; j++)
            wi[j] = (float)(wi[j] / sum);
    }
}

/* p(E) = softmax(p) in place: fp32 exponentials summed in double, as the default routing. */
static void softmax_experts(float *p, size_t E)
{
    float mx = p[0];
    for (size_t e = 1; e < E; e++)
        mx = p[e] > mx ? p[e] : mx;
    double sum = 0;
    for (size_t e = 0; e < E; e++)
        sum += (double)(p[e] = expf(p[e] - mx));
    for (size_t e = 0; e < E; e++)
        p[e] = (float)(p[e] / sum);
}

/* The experts of the groups not among gsel(topk_groups) set to fill in choice(G * per). */
static void drop_groups(float *choice, size_t G, size_t per, const int32_t *gsel,
                        int topk_groups, float fill)
{
    for (size_t g = 0; g < G; g++) {
        int kept = 0;
        for (int t = 0; t < topk_groups; t++)
            kept |= gsel[t] == (int32_t)g;
        for (size_t e = 0; e < per && !kept; e++)
            choice[g * per + e] = fill;
    }
}

/* DeepSeek-V3's routing of one token (mhv_moe.groups): logits p(E) become the scores, the
 * chosen experts and weights go to ix(k) and w(k). */
static void sigmoid_groups_route(const mhv_moe *m, float *p, float *w, int32_t *ix)
{
    size_t E = (size_t)m->experts, G = (size_t)m->groups, per = E / G, k = (size_t)m->top_k;
    float choice[MHV_MAX_EXPERTS_MOE], gs[MHV_MAX_EXPERTS_MOE];
    int32_t top[2], gsel[MHV_MAX_EXPERTS_MOE];
    for (size_t e = 0; e < E; e++) {
        p[e] = 1.0f / (1.0f + expf(-p[e]));
        choice[e] = p[e] + (m->choice_bias ? m->choice_bias[e] : 0.0f);
    }
    memset(gs, 0, G * sizeof *gs);
    for (size_t g = 0; g < G; g++) { /* the sum of each group's two best, in fp32 */
        top_indices(choice + g * per, per, 2, top);
        gs[g] = choice[g * per + (size_t)top[0]] + choice[g * per + (size_t)top[1]];
    }
    top_indices(gs, G, (size_t)m->topk_groups, gsel);
    drop_groups(choice, G, per, gsel, m->topk_groups, -INFINITY);
    top_indices(choice, E, k, ix);
    float total = 0;
    for (size_t j = 0; j < k; j++)
        total += (w[j] = p[ix[j]]);
    for (size_t j = 0; j < k; j++) {
        if (m->norm_topk)
            w[j] /= total + 1e-20f;
        w[j] *= m->routed_scale;
    }
}

/* ERNIE 4.5's routing of one token (mhv_moe.softmax_bias): logits p(E) become the softmax
 * (as the default routing computes it), the chosen experts and weights go to ix(k), w(k). */
static void softmax_bias_route(const mhv_moe *m, float *p, float *w, int32_t *ix)
{
    size_t E = (size_t)m->experts, k = (size_t)m->top_k;
    float choice[MHV_MAX_EXPERTS_MOE];
    softmax_experts(p, E);
    for (size_t e = 0; e < E; e++)
        choice[e] = p[e] + (m->choice_bias ? m->choice_bias[e] : 0.0f);
    top_indices(choice, E, k, ix);
    float total = 0;
    for (size_t j = 0; j < k; j++)
        total += (w[j] = p[ix[j]]);
    total = total > m->norm_min ? total : m->norm_min; /* torch.clamp(min=norm_min) */
    for (size_t j = 0; j < k; j++)
        w[j] /= total;
}

/* DeepSeek-V2's routing of one token (mhv_moe.softmax_groups): logits p(E) become the
 * softmax (as the default routing computes it), the chosen experts and weights go to ix(k),
 * w(k). */
static void softmax_groups_route(const mhv_moe *m, float *p, float *w, int32_t *ix)
{
    size_t E = (size_t)m->experts, k = (size_t)m->top_k;
    float choice[MHV_MAX_EXPERTS_MOE], gs[MHV_MAX_EXPERTS_MOE];
    int32_t gsel[MHV_MAX_EXPERTS_MOE];
    softmax_experts(p, E);
    for (size_t e = 0; e < E; e++)
        choice[e] = p[e];
    if (m->groups > 0) { /* group_limited_greedy: each group by its best, the rest zeroed */
        size_t G = (size_t)m->groups, per = E / G;
        memset(gs, 0, G * sizeof *gs);
        for (size_t g = 0; g < G; g++) {
            gs[g] = choice[g * per];
            for (size_t e = 1; e < per; e++)
                gs[g] = choice[g * per + e] > gs[g] ? choice[g * per + e] : gs[g];
        }
        top_indices(gs, G, (size_t)m->topk_groups, gsel);
        drop_groups(choice, G, per, gsel, m->topk_groups, 0.0f);
    }
    top_indices(choice, E, k, ix);
    for (size_t j = 0; j < k; j++)
        w[j] = choice[ix[j]] * m->routed_scale;
}

void mhv_nn_moe(mhv_nn *nn, float *y, const float *x, const mhv_moe *m, int n, int d,
                float *scratch)
{
    size_t N = (size_t)n, D = (size_t)d, E = (size_t)m->experts, k = (size_t)m->top_k;
    size_t I = (size_t)(m->inter > m->s_inter ? m->inter : m->s_inter);
    float *probs = scratch;                              /* (n, experts) */
    float *topw = probs + lines(N * E);                  /* (n, k) weights of the chosen */
    int32_t *tope = (int32_t *)(void *)(topw + lines(N * k)); /* (n, k) their experts */
    int32_t *rows = tope + lines(N * k);                 /* (<= n,) token * k + slot of each
                                                          * row routed to one expert */
    float *xe = (float *)(void *)(rows + lines(N));      /* (rows, d) their inputs */
    float *ge = xe + lines(N * D), *ue = ge + lines(N * I); /* (rows, inter) */
    float *ye = ue + lines(N * I);                       /* (rows, d) */
    float *sg = ye + lines(N * D);                       /* (n, 1) shared expert gate */

    mhv_nn_linear(nn, probs, x, m->router, NULL, n, MHV_NN_NO_ACT);
    for (size_t i = 0; i < N && m->sparsemixer; i++)
        sparsemixer(probs + i * E, E, m->sparse_eps2, topw + i * k, tope + i * k);
    if (m->softmax_topk)
        mhv_nn_topk_softmax(probs, n, (int)E, (int)k, topw, tope);
    for (size_t i = 0; i < N && m->softmax_groups; i++)
        softmax_groups_route(m, probs + i * E, topw + i * k, tope + i * k);
    for (size_t i = 0; i < N && m->groups && !m->softmax_groups; i++)
        sigmoid_groups_route(m, probs + i * E, topw + i * k, tope + i * k);
    for (size_t i = 0; i < N && m->softmax_bias; i++)
        softmax_bias_route(m, probs + i * E, topw + i * k, tope + i * k);
    for (size_t i = 0; i < N && !m->sparsemixer && !m->softmax_topk && !m->groups &&
                       !m->softmax_bias && !m->softmax_groups;
         i++) {
        float *p = probs + i * E;
        softmax_experts(p, E);
        /* top k, largest first, the lower index first among equals (torch.topk) */
        float *w = topw + i * k;
        int32_t *ix = tope + i * k;
        float total = 0;
        top_indices(p, E, k, ix);
        for (size_t j = 0; j < k; j++)
            total += w[j] = p[ix[j]];
        if (m->norm_topk)
            for (size_t j = 0; j < k; j++)
                w[j] /= total;
    }
    memset(y, 0, N * D * sizeof *y);
    for (size_t e = 0; e < E; e++) {
        int count = gather_expert(e, tope, N, k, x, D, rows, xe);
        if (!count)
            continue;
        const mhv_plin_part gate_up[2] = {
            {ge, &m->gate[e], NULL, 0, m->inter, m->act},
            {ue, &m->up[e], NULL, 0, m->inter, MHV_NN_NO_ACT},
        };
        mhv_nn_linear_parts(nn, gate_up, 2, xe, count);
        mhv_nn_mul(nn, ge, ue, count, m->inter);
        mhv_nn_linear(nn, ye, ge, &m->down[e], NULL, count, MHV_NN_NO_ACT);
        for (int r = 0; r < count; r++) {
            float w = topw[rows[r]], *yt = y + (size_t)(rows[r] / (int32_t)k) * D;
            const float *src = ye + (size_t)r * D;
            for (size_t t = 0; t < D; t++)
                yt[t] += src[t] * w;
        }
    }
    if (!m->s_gate)
        return;
    const mhv_plin_part shared[3] = {
        {ge, m->s_gate, m->s_gate_b, 0, m->s_inter, m->act},
        {ue, m->s_up, m->s_up_b, 0, m->s_inter, MHV_NN_NO_ACT},
        {sg, m->s_router, NULL, 0, 1, MHV_NN_NO_ACT},
    };
    mhv_nn_linear_parts(nn, shared, m->s_ungated ? 2 : 3, x, n);
    mhv_nn_mul(nn, ge, ue, n, m->s_inter);
    mhv_nn_linear(nn, ye, ge, m->s_down, m->s_down_b, n, MHV_NN_NO_ACT);
    for (size_t i = 0; i < N; i++) {
        float g = m->s_ungated ? 1.0f : 1.0f / (1.0f + expf(-sg[i]));
        for (size_t t = 0; t < D; t++)
            y[i * D + t] += g * ye[i * D + t];
    }
}

size_t mhv_nn_moe_clamped_floats(const mhv_moe_clamped *m, int n, int d)
{
    size_t N = (size_t)n, I = (size_t)m->inter;
    /* router logits, top-k weights and experts (int32), the rows of one expert (int32),
     * their inputs, gate_up, hidden and outputs */
    size_t decoded = m->gu_blocks ? 2 * I * (size_t)d : 0; /* one expert's matrix at most */
    return lines(N * (size_t)m->experts) + 2 * lines(N * (size_t)m->top_k) + lines(N) +
           2 * lines(N * (size_t)d) + lines(N * 2 * I) + lines(N * I) + lines(decoded);
}

typedef struct {
    const unsigned char *blocks, *scales; /* of the expert's rows */
    int in;
    float *w;                             /* (rows, in) */
} mxfp4_args;

static void mxfp4_rows(const void *arg, int r0, int r1, int worker)
{
    (void)worker;
    static const float lut[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                  -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};
    const mxfp4_args *a = arg;
    size_t G = (size_t)a->in / 32;
    for (size_t r = (size_t)r0; r < (size_t)r1; r++)
        for (size_t g = 0; g < G; g++) {
            /* torch.ldexp: times pow(2.0, e) in fp32, 2^128 overflowing to inf as there */
            int e = (int)a->scales[r * G + g] - 127;
            float p = e > 127 ? INFINITY : ldexpf(1.0f, e);
            const unsigned char *b = a->blocks + (r * G + g) * 16;
            float *w = a->w + r * (size_t)a->in + g * 32;
            for (int t = 0; t < 16; t++)
                w[2 * t] = lut[b[t] & 15] * p, w[2 * t + 1] = lut[b[t] >> 4] * p;
        }
}

/* Expert e's (rows, in) matrix of MXFP4 blocks and scales, decoded into w as fp32. */
static mhv_mat mxfp4_expert(mhv_nn *nn, const unsigned char *blocks, const unsigned char *scales,
                            int e, int rows, int in, float *w)
{
    size_t at = (size_t)e * (size_t)rows * (size_t)(in / 32);
    mxfp4_args a = {blocks + at * 16, scales + at, in, w};
    par_rows(nn, rows, in, mxfp4_rows, &a);
    return (mhv_mat){w, MHV_DT_F32, rows, in, 0, 0};
}

/* h(inter) = GPT-OSS's clamped SwiGLU of gu(2*inter) (gate, up interleaved), in fp32 as
 * PyTorch's element-wise ops. */
static void clamped_swiglu(float *h, const float *gu, int inter, float alpha, float limit)
{
    for (int i = 0; i < inter; i++) {
        float g = gu[2 * i], u = gu[2 * i + 1];
        g = g > limit ? limit : g;
        u = u > limit ? limit : u < -limit ? -limit : u;
        float sig = (float)(1.0 / (1.0 + exp(-(double)(g * alpha))));
        h[i] = (u + 1.0f) * (g * sig);
    }
}

void mhv_nn_moe_clamped(mhv_nn *nn, float *y, const float *x, const mhv_moe_clamped *m, int n,
                        int d, float *scratch)
{
    size_t N = (size_t)n, D = (size_t)d, E = (size_t)m->experts, k = (size_t)m->top_k;
    size_t I = (size_t)m->inter;
    float *logit = scratch;                              /* (n, experts) */
    float *topw = logit + lines(N * E);                  /* (n, k) weights of the chosen */
    int32_t *tope = (int32_t *)(void *)(topw + lines(N * k)); /* (n, k) their experts */
    int32_t *rows = tope + lines(N * k);                 /* (<= n,) token * k + slot */
    float *xe = (float *)(void *)(rows + lines(N));      /* (rows, d) their inputs */
    float *gu = xe + lines(N * D);                       /* (rows, 2 * inter) */
    float *he = gu + lines(N * 2 * I);                   /* (rows, inter) */
    float *ye = he + lines(N * I);                       /* (rows, d) */
    float *wq = ye + lines(N * D);                       /* an MXFP4 expert's matrix */

    mhv_nn_linear(nn, logit, x, m->router, m->router_b, n, MHV_NN_NO_ACT);
    for (size_t i = 0; i < N; i++) {
        const float *p = logit + i * E;
        float *w = topw + i * k;
        int32_t *ix = tope + i * k;
        top_indices(p, E, k, ix); /* top k, largest first */
        double sum = 0, mx = p[ix[0]], ex[MHV_MOE_MAX_TOPK];
        for (size_t j = 0; j < k; j++)
            sum += ex[j] = exp((double)p[ix[j]] - mx);
        for (size_t j = 0; j < k; j++)
            w[j] = (float)(ex[j] / sum);
    }
    memset(y, 0, N * D * sizeof *y);
    for (size_t e = 0; e < E; e++) {
        int count = gather_expert(e, tope, N, k, x, D, rows, xe);
        if (!count)
            continue;
        mhv_mat wm = m->gu_blocks ? mxfp4_expert(nn, m->gu_blocks, m->gu_scales, (int)e,
                                                 2 * m->inter, d, wq)
                                  : m->gate_up[e];
        mhv_nn_linear(nn, gu, xe, &wm, m->gate_up_b + e * 2 * I, count, MHV_NN_NO_ACT);
        for (int r = 0; r < count; r++)
            clamped_swiglu(he + (size_t)r * I, gu + (size_t)r * 2 * I, m->inter, m->alpha,
                           m->limit);
        wm = m->down_blocks ? mxfp4_expert(nn, m->down_blocks, m->down_scales, (int)e, d,
                                           m->inter, wq)
                            : m->down[e];
        mhv_nn_linear(nn, ye, he, &wm, m->down_b + e * D, count, MHV_NN_NO_ACT);
        for (int r = 0; r < count; r++) {
            float w = topw[rows[r]], *yt = y + (size_t)(rows[r] / (int32_t)k) * D;
            const float *src = ye + (size_t)r * D;
            for (size_t t = 0; t < D; t++)
                yt[t] += src[t] * w;
        }
    }
}

/* ---- per-head work over rows: q/k norms, rotary embeddings ---- */

typedef struct {
    const mhv_kernels *K;
    float *x;               /* (n, ld) */
    size_t ld;
    const int *heads;       /* (count,) heads to treat */
    int count, d;
    const mhv_norm *norm;   /* RMSNorm of each head (d,), or NULL */
    const mhv_rotary *r;    /* or NULL */
    int norm_per_head;      /* norm's g and b hold each head's own (d,) weights, by head */
    float clip;             /* > 0: values clamped to [-clip, clip] first */
    float mul;              /* != 0: values multiplied by it before the norm and rotation */
    int norm_late;          /* the norm after the rotation */
    const float *pos_scale; /* (positions,) rows times it after the rotation, or NULL */
    int pos0;               /* the position of row 0 (a cached decoding step's first) */
} heads_args;

static void heads_rows(const void *arg, int r0, int r1, int worker)
{
    (void)worker;
    const heads_args *a = arg;
    size_t off = (size_t)(a->pos0 + r0) * (size_t)(a->r ? a->r->half : 0);
    for (int t = 0; t < a->count; t++) {
        float *x = a->x + (size_t)r0 * a->ld + (size_t)a->heads[t] * (size_t)a->d;
        if (a->clip > 0)
            for (int i = 0; i < r1 - r0; i++)
                for (int e = 0; e < a->d; e++) {
                    float *v = x + (size_t)i * a->ld + e; /* torch.clamp: max, then min */
                    *v = *v < -a->clip ? -a->clip : *v;
                    *v = *v > a->clip ? a->clip : *v;
                }
        if (a->mul != 0)
            for (int i = 0; i < r1 - r0; i++)
                for (int e = 0; e < a->d; e++)
                    x[(size_t)i * a->ld + (size_t)e] *= a->mul;
        mhv_norm own; /* the head's own weights */
        const mhv_norm *nm = a->norm;
        if (nm && a->norm_per_head) {
            size_t o = (size_t)a->heads[t] * (size_t)a->d;
            own = (mhv_norm){nm->kind, nm->g + o, nm->b ? nm->b + o : NULL, nm->eps};
            nm = &own;
        }
        if (nm && !a->norm_late)
            for (int i = 0; i < r1 - r0; i++)
                apply_norm(a->K, nm, x + (size_t)i * a->ld, 1, a->d);
        if (a->r && a->r->interleaved)
            mhv_rope_apply_pairs(x, r1 - r0, 1, a->r->half, a->ld, a->r->cos_t + off,
                                 a->r->sin_t + off);
        else if (a->r)
            mhv_rope_apply(x, r1 - r0, 1, a->r->half, a->ld, a->r->cos_t + off,
                           a->r->sin_t + off);
        if (a->pos_scale)
            for (int i = 0; i < r1 - r0; i++)
                for (int e = 0; e < a->d; e++)
                    x[(size_t)i * a->ld + e] *= a->pos_scale[a->pos0 + r0 + i];
        if (nm && a->norm_late)
            for (int i = 0; i < r1 - r0; i++)
                apply_norm(a->K, nm, x + (size_t)i * a->ld, 1, a->d);
    }
}

/* Each listed head of x(n, ld): clamped (when clip > 0), multiplied by mul (when not 0), its
 * norm (when norm; the head's own weights when norm_per_head), then the rotation (when r). */
static void per_head_late(mhv_nn *nn, float *x, size_t ld, const int *heads, int count, int d,
                          const mhv_norm *norm, const mhv_rotary *r, int n, int norm_per_head,
                          float clip, float mul, int norm_late, const float *pos_scale);

static void per_head(mhv_nn *nn, float *x, size_t ld, const int *heads, int count, int d,
                     const mhv_norm *norm, const mhv_rotary *r, int n, int norm_per_head,
                     float clip, float mul)
{
    per_head_late(nn, x, ld, heads, count, d, norm, r, n, norm_per_head, clip, mul, 0, NULL);
}

/* per_head with the norm after the rotation when norm_late, and the rows times pos_scale
 * (by position, from each sentence's start) after the rotation when given */
static void per_head_late(mhv_nn *nn, float *x, size_t ld, const int *heads, int count, int d,
                          const mhv_norm *norm, const mhv_rotary *r, int n, int norm_per_head,
                          float clip, float mul, int norm_late, const float *pos_scale)
{
    if (!norm && !r && !(clip > 0) && mul == 0 && !pos_scale)
        return;
    int past = mhv_nn_past(nn);
    if (r && past > 0 && r->rows < past + n) { /* the table lacks these positions */
        mhv_nn_kv_refuse(nn);
        r = NULL, pos_scale = NULL; /* the pass is dropped: read nothing past the table */
    }
    int one_off[2];
    mhv_nn_pack pk = pass_pack(nn, n, NULL, one_off);
    for (int s = 0; s < pk.count; s++) { /* rotary positions from each sentence's start */
        heads_args a = {nn->K, x + (size_t)pk.off[s] * ld, ld, heads, count, d, norm, r,
                        norm_per_head, clip, mul, norm_late, pos_scale, past};
        par_rows(nn, pk.off[s + 1] - pk.off[s], count * d, heads_rows, &a);
    }
}

/* ---- fused projections: [q x group, k, v] per key/value head ---- */

typedef struct {
    const float *qkv;       /* (n, kv_heads * (group + 2) * d) */
    float *q, *k, *v;       /* (n, heads*d), (n, kv_heads*d) x2 */
    const int *heads, *kv_heads;
    int count, kv_count, group, d, nh, nkv, with_v;
} split_args;

static void split_rows(const void *arg, int r0, int r1, int worker)
{
    (void)worker;
    const split_args *a = arg;
    size_t d = (size_t)a->d, per = (size_t)(a->group + 2) * d, ld = (size_t)a->nkv * per;
    for (int i = r0; i < r1; i++) {
        const float *row = a->qkv + (size_t)i * ld;
        for (int t = 0; t < a->count; t++) {
            int h = a->heads[t];
            memcpy(a->q + ((size_t)i * (size_t)a->nh + (size_t)h) * d,
                   row + (size_t)(h / a->group) * per + (size_t)(h % a->group) * d, d * sizeof(float));
        }
        for (int t = 0; t < a->kv_count; t++) {
            size_t g = (size_t)a->kv_heads[t], dst = ((size_t)i * (size_t)a->nkv + g) * d;
            memcpy(a->k + dst, row + g * per + (size_t)a->group * d, d * sizeof(float));
            if (a->with_v)
                memcpy(a->v + dst, row + g * per + (size_t)(a->group + 1) * d, d * sizeof(float));
        }
    }
}

/* CodeGen's layout (mhv_attn_layer.fused_mp_blocks): column c of Q (K, V) is column
 * (c / local) * 3 * local + c % local (+ 2 * local for K, + local for V) of qkv. */
typedef struct {
    const float *qkv;       /* (n, 3 * QD) */
    float *q, *k, *v;       /* (n, QD) each */
    int QD, local, with_v;
} mp_split_args;

static void mp_split_rows(const void *arg, int r0, int r1, int worker)
{
    (void)worker;
    const mp_split_args *a = arg;
    size_t QD = (size_t)a->QD, L = (size_t)a->local;
    for (int i = r0; i < r1; i++) {
        const float *row = a->qkv + (size_t)i * 3 * QD;
        size_t dst = (size_t)i * QD;
        for (size_t c = 0; c < QD; c++) {
            size_t src = c / L * 3 * L + c % L;
            a->q[dst + c] = row[src];
            a->k[dst + c] = row[src + 2 * L];
            if (a->with_v)
                a->v[dst + c] = row[src + L];
        }
    }
}

/* ---- the encoder memo of generation ---- */

int mhv_nn_memo_load(const mhv_nn *nn, int slot, float *x, size_t floats)
{
    const mhv_nn_memo *m = nn->enc_memo;
    if (!m || nn->measure || slot < 0 || slot >= MHV_MEMO_SLOTS || !m->x[slot] ||
        m->floats[slot] != floats)
        return 0;
    memcpy(x, m->x[slot], floats * sizeof *x);
    return 1;
}

void mhv_nn_memo_store(mhv_nn *nn, int slot, const float *x, size_t floats)
{
    mhv_nn_memo *m = nn->enc_memo;
    if (!m || nn->measure || slot < 0 || slot >= MHV_MEMO_SLOTS || m->x[slot] ||
        !(m->x[slot] = malloc(floats * sizeof *x)))
        return;
    memcpy(m->x[slot], x, floats * sizeof *x);
    m->floats[slot] = floats;
}

void mhv_nn_memo_free(mhv_nn_memo *m)
{
    for (int i = 0; i < MHV_MEMO_SLOTS; i++)
        free(m->x[i]), m->x[i] = NULL;
}

/* ---- attention, one task per head ---- */

typedef struct {
    const mhv_kernels *K;
    mhv_attn_args base;  /* head 0 / key-value head 0 of row 0 */
    int group, d;        /* query heads per key/value head; head dim */
    const int *heads;    /* (count,) the heads that run, for every sentence */
    const int *rank;     /* (count,) each one's slot among the layer's kept maps, or -1 */
    int count, kept;
    mhv_nn_pack pk;      /* the sentences: task = sentence * count + head index */
    const mhv_nn *nn;
    const mhv_attn_layer *layer;
    int vnorm;           /* MHV_VNORM_* */
    const mhv_head_ablation *ablate; /* or NULL */
    int l;               /* the layer, for ablate */
    mhv_capture *cap;    /* for head_done */
    const mhv_attn_bufs *bufs; /* the global projections (layer->global) */
} attn_job;

/* The head's output columns out(n, ld) (d,) summed into ab->sum and/or replaced (blocks.h). */
static void ablate_head(const mhv_head_ablation *ab, int l, int h, float *out, size_t ld, int n,
                        int d)
{
    if (l >= ab->layers || h >= ab->heads || d != ab->d)
        return;
    size_t c = ((size_t)l * (size_t)ab->heads + (size_t)h) * (size_t)d;
    if (ab->sum)
        for (int i = 0; i < n; i++)
            for (int e = 0; e < d; e++)
                ab->sum[c + (size_t)e] += out[(size_t)i * ld + (size_t)e];
    if (ab->off && ab->off[(size_t)l * (size_t)ab->heads + (size_t)h])
        for (int i = 0; i < n; i++)
            for (int e = 0; e < d; e++)
                out[(size_t)i * ld + (size_t)e] = ab->mean ? ab->mean[c + (size_t)e] : 0.0f;
}

/* vn(n,) = ||v_j|| of the value rows v(n, ld_v) (first d used), or ||v_j W_O^h|| with W_O^h
 * the columns h*d .. h*d+d of wo (hidden, heads*d), converted into w (hidden, d). */
static void value_norms(float *vn, const float *v, size_t ld_v, int n, int d, int kind,
                        const mhv_mat *wo, int h, float *w)
{
    if (kind == MHV_VNORM_VO && !wo) { /* a family that does not say its W_O */
        for (int t = 0; t < n; t++)
            vn[t] = NAN;
        return;
    }
    if (kind == MHV_VNORM_VO) {
        size_t esz = mhv_dtype_size(wo->dtype);
        for (int r = 0; r < wo->rows; r++)
            for (int e = 0; e < d; e++) {
                size_t c = (size_t)h * (size_t)d + (size_t)e;
                size_t at = wo->transposed ? c * wo->ld + (size_t)r : (size_t)r * (size_t)wo->cols + c;
                mhv_dtype_to_f32(w + (size_t)r * (size_t)d + (size_t)e,
                                 (const char *)wo->data + at * esz, wo->dtype, 1);
            }
    }
    for (int t = 0; t < n; t++) {
        const float *vt = v + (size_t)t * ld_v;
        double s = 0;
        if (kind == MHV_VNORM_VO)
            for (int r = 0; r < wo->rows; r++) {
                const float *wr = w + (size_t)r * (size_t)d;
                double f = 0;
                for (int e = 0; e < d; e++)
                    f += (double)vt[e] * wr[e];
                s += f * f;
            }
        else
            for (int e = 0; e < d; e++)
                s += (double)vt[e] * vt[e];
        vn[t] = (float)sqrt(s);
    }
}

/* True when one of the n tokens from global is global. */
static int any_global(const unsigned char *global, int n)
{
    for (int i = 0; i < n; i++)
        if (global[i])
            return 1;
    return 0;
}

/* Longformer's local pass beside global tokens, as a score bias b(n, n): 0 where query i
 * sees key j (|i - j| < window, or j global), -inf elsewhere (probability exactly 0). */
static void global_local_bias(float *b, const unsigned char *global, int window, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int near = window <= 0 || (i - j < window && j - i < window);
            b[(size_t)i * (size_t)n + (size_t)j] = near || global[j] ? 0.0f : -INFINITY;
        }
}

/* The global tokens' rows of one head of one sentence (a: its local pass's arguments, row 0
 * the sentence's first), each query from gq over every key of gk and value of gv (the
 * global projections, at the same offsets as a's q, k, v), overwriting the row's
 * probabilities and output: one kernel call per global token. */
static void global_rows(const mhv_kernels *K, const mhv_attn_args *a, const unsigned char *global,
                        const float *gq, const float *gk, const float *gv)
{
    for (int i = 0; i < a->n; i++) {
        if (!global[i])
            continue;
        mhv_attn_args g = {.q = gq + (size_t)i * a->ld_q, .k = gk, .v = gv, .n = 1, .nk = a->n,
                           .d = a->d, .ld_q = a->ld_q, .ld_k = a->ld_k, .ld_v = a->ld_v,
                           .scale = a->scale, .scratch = a->scratch,
                           .out = a->out ? a->out + (size_t)i * a->ld_out : NULL,
                           .ld_out = a->ld_out};
        if (a->probs && a->prow) /* row i's place among the kept rows */
            g.probs = a->probs, g.prow = a->prow + i;
        else if (a->probs)
            g.probs = a->probs + (size_t)i * (size_t)a->n;
        if (g.out || mhv_attn_prow(&g, 0))
            K->attention(&g);
    }
}

static void attn_task(void *ctx, int task, int worker)
{
    const attn_job *j = ctx;
    int t = task % j->count, h = j->heads[t];
    mhv_capture *cs = &j->pk.caps[task / j->count]; /* the sentence's */
    int r0 = j->pk.off[task / j->count];
    mhv_attn_args a = j->base;
    int g = j->layer->kv_tiled ? h % j->layer->kv_heads : h / j->group;
    size_t kv = (size_t)g * (size_t)j->d; /* the shared kv head, in place */
    const float *v = a.v + (size_t)r0 * a.ld_v + kv;
    a.n = j->pk.off[task / j->count + 1] - r0;
    a.q += (size_t)r0 * a.ld_q + (size_t)h * (size_t)j->d;
    a.k += (size_t)r0 * a.ld_k + kv;
    if (a.out) {
        a.v = v;
        a.out += (size_t)r0 * a.ld_out + (size_t)h * (size_t)j->d;
    }
    a.prow = cs->prow;
    if (j->layer->key_lo) /* one sentence a pass: its rows from r0 */
        a.key_lo = j->layer->key_lo + r0, a.key_hi = j->layer->key_hi + r0;
    float *vn = NULL; /* (n,) the kept head's value norms, or NULL */
    if (j->rank[t] >= 0 && j->cap->head_done) { /* streaming by head: the worker's buffer */
        a.probs = j->cap->head_bufs + (size_t)worker * j->cap->head_stride;
    } else if (j->rank[t] >= 0) {
        int slot = cs->next - j->kept + j->rank[t];
        a.probs = cs->out->heads[slot].w;
        if (j->vnorm)
            vn = cs->out->vnorm + (size_t)slot * (size_t)a.n;
    }
    a.scratch = j->nn->attn_scratch + (size_t)worker * j->nn->attn_stride;
    if (j->layer->sinks)
        a.has_sink = 1, a.sink = j->layer->sinks[h];
    if (j->layer->bias_pos) { /* (n, keys): the cached keys too */
        float *b = j->nn->bias + (size_t)worker * j->nn->bias_stride;
        int keys = mhv_attn_keys(&a);
        j->layer->bias_pos(j->layer->bias_ctx, h, a.q0, a.n, keys, b);
        a.bias = b;
        a.ld_bias = (size_t)keys;
    } else if (j->layer->bias) {
        float *b = j->nn->bias + (size_t)worker * j->nn->bias_stride;
        j->layer->bias(j->layer->bias_ctx, h, a.q, a.ld_q, a.k, a.ld_k, a.n, b);
        a.bias = b;
        a.ld_bias = (size_t)a.n;
    }
    const unsigned char *glob = j->layer->global ? j->layer->global + r0 : NULL;
    if (glob && !any_global(glob, a.n))
        glob = NULL; /* as without global attention */
    if (glob) { /* the window and the global keys through a bias; no sliding window */
        float *b = j->nn->bias + (size_t)worker * j->nn->bias_stride;
        global_local_bias(b, glob, a.window, a.n);
        a.bias = b, a.ld_bias = (size_t)a.n, a.window = 0;
    }
    j->K->attention(&a);
    if (glob) {
        size_t qo = (size_t)r0 * a.ld_q + (size_t)h * (size_t)j->d;
        size_t ko = (size_t)r0 * a.ld_k + kv;
        global_rows(j->K, &a, glob, j->bufs->gq + qo, j->bufs->gk + ko, j->bufs->gv + ko);
    }
    if (a.probs && j->layer->probs_post)
        j->layer->probs_post(j->layer->bias_ctx, a.probs, a.n, a.prow);
    if (vn)
        value_norms(vn, v, j->base.ld_v, a.n, j->d, j->vnorm, j->layer->wo, h,
                    j->nn->wo_block + (size_t)worker * j->nn->wo_stride);
    if (j->ablate && a.out)
        ablate_head(j->ablate, j->l, h, a.out, a.ld_out, a.n, j->d);
    if (a.probs && j->cap->head_done)
        j->cap->head_done(j->cap, j->l, h, a.probs);
}

/* Q for heads qh(qn), K (and V when with_v) for key/value heads kh(kn) from x, as one pool
 * job over x packed once. A column's bytes do not depend on which others are computed, so
 * a done layer computes only the columns of the heads that run. */
static void project_qkv(mhv_nn *nn, const mhv_attn_layer *a, const float *x, int n,
                        const mhv_attn_bufs *b, const int *qh, int qn, const int *kh, int kn,
                        int with_v)
{
    int d = a->head_dim, group = a->heads / a->kv_heads;
    mhv_plin_part parts[3 * MAX_HEADS];
    int np = 0;
    if (a->fused && a->fused_mp_blocks) { /* every row: heads may straddle the blocks */
        const mhv_mat *w = a->fused->w;
        int QD = a->heads * d;
        parts[np++] = (mhv_plin_part){b->qkv, w, NULL, 0, w->rows, MHV_NN_NO_ACT};
        mhv_nn_linear_parts(nn, parts, np, x, n);
        mp_split_args s = {b->qkv, b->q, b->k, b->v, QD, QD / a->fused_mp_blocks, with_v};
        par_rows(nn, n, w->rows, mp_split_rows, &s);
        return;
    }
    if (a->fused) {
        const mhv_mat *w = a->fused->w;
        int per = (group + 2) * d; /* rows of one key/value group */
        if (qn == a->heads && kn == a->kv_heads) {
            parts[np++] = (mhv_plin_part){b->qkv, w, a->fused->b, 0, w->rows, MHV_NN_NO_ACT};
        } else {
            for (int t = 0; t < qn; t++) {
                int o = qh[t] / group * per + qh[t] % group * d;
                parts[np++] = (mhv_plin_part){b->qkv, w, a->fused->b, o, o + d, MHV_NN_NO_ACT};
            }
            for (int t = 0; t < kn; t++) {
                int o = kh[t] * per + group * d;
                parts[np++] = (mhv_plin_part){b->qkv, w, a->fused->b, o, o + (with_v ? 2 : 1) * d,
                                              MHV_NN_NO_ACT};
            }
        }
        mhv_nn_linear_parts(nn, parts, np, x, n);
        split_args s = {b->qkv, b->q, b->k, b->v, qh, kh, qn, kn, group, d, a->heads,
                        a->kv_heads, with_v};
        par_rows(nn, n, w->rows, split_rows, &s);
        return;
    }
    if (a->q_given)
        qn = 0; /* the caller's queries */
    if (a->x_v) { /* the values from their own input: two runs */
        int vp = 0;
        mhv_plin_part vparts[MAX_HEADS];
        for (int t = 0; t < qn; t++)
            parts[np++] = (mhv_plin_part){b->q, a->wq, a->bq, qh[t] * d, qh[t] * d + d,
                                          MHV_NN_NO_ACT};
        for (int t = 0; t < kn; t++) {
            parts[np++] = (mhv_plin_part){b->k, a->wk, a->bk, kh[t] * d, kh[t] * d + d,
                                          MHV_NN_NO_ACT};
            if (with_v)
                vparts[vp++] = (mhv_plin_part){b->v, a->wv, a->bv, kh[t] * d, kh[t] * d + d,
                                               MHV_NN_NO_ACT};
        }
        mhv_nn_linear_parts(nn, parts, np, x, n);
        if (vp)
            mhv_nn_linear_parts(nn, vparts, vp, a->x_v, n);
        return;
    }
    if (qn == a->heads && kn == a->kv_heads) {
        parts[np++] = (mhv_plin_part){b->q, a->wq, a->bq, 0, a->wq->rows, MHV_NN_NO_ACT};
        parts[np++] = (mhv_plin_part){b->k, a->wk, a->bk, 0, a->wk->rows, MHV_NN_NO_ACT};
        if (with_v)
            parts[np++] = (mhv_plin_part){b->v, a->wv, a->bv, 0, a->wv->rows, MHV_NN_NO_ACT};
    } else {
        for (int t = 0; t < qn; t++)
            parts[np++] = (mhv_plin_part){b->q, a->wq, a->bq, qh[t] * d, qh[t] * d + d,
                                          MHV_NN_NO_ACT};
        for (int t = 0; t < kn; t++) {
            parts[np++] = (mhv_plin_part){b->k, a->wk, a->bk, kh[t] * d, kh[t] * d + d,
                                          MHV_NN_NO_ACT};
            if (with_v)
                parts[np++] = (mhv_plin_part){b->v, a->wv, a->bv, kh[t] * d, kh[t] * d + d,
                                              MHV_NN_NO_ACT};
        }
    }
    mhv_nn_linear_parts(nn, parts, np, x, n);
}

/* ---- the key/value cache of generation ---- */

mhv_status mhv_nn_kv_init(mhv_nn_kv *kv, int layers, int cap, mhv_error *err)
{
    memset(kv, 0, sizeof *kv);
    kv->k = calloc((size_t)layers, sizeof *kv->k);
    kv->v = calloc((size_t)layers, sizeof *kv->v);
    kv->width = calloc((size_t)layers, sizeof *kv->width);
    if (!kv->k || !kv->v || !kv->width) {
        mhv_nn_kv_free(kv);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for the key/value cache");
    }
    kv->layers = layers, kv->cap = cap;
    return MHV_OK;
}

void mhv_nn_kv_free(mhv_nn_kv *kv)
{
    for (int l = 0; l < kv->layers && kv->k && kv->v; l++)
        free(kv->k[l]), free(kv->v[l]);
    free(kv->k), free(kv->v), free(kv->width);
    memset(kv, 0, sizeof *kv);
}

/* Room for layer l's keys and values of `width` floats a position; 0 when there is none (out
 * of memory, or the layer's width changed). */
static int kv_layer(mhv_nn_kv *kv, int l, int width)
{
    if (kv->width[l])
        return kv->width[l] == width;
    size_t floats = (size_t)kv->cap * (size_t)width;
    kv->k[l] = malloc(floats * sizeof(float));
    kv->v[l] = malloc(floats * sizeof(float));
    if (!kv->k[l] || !kv->v[l]) {
        free(kv->k[l]), free(kv->v[l]);
        kv->k[l] = kv->v[l] = NULL;
        return 0;
    }
    kv->width[l] = width;
    return 1;
}

mhv_status mhv_nn_kv_copy(mhv_nn_kv *dst, const mhv_nn_kv *src, int rows, mhv_error *err)
{
    dst->past = 0;
    for (int l = 0; l < src->layers && l < dst->layers && rows > 0; l++) {
        if (!src->width[l])
            continue;
        if (!kv_layer(dst, l, src->width[l]))
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory for the key/value cache");
        size_t floats = (size_t)rows * (size_t)src->width[l];
        memcpy(dst->k[l], src->k[l], floats * sizeof(float));
        memcpy(dst->v[l], src->v[l], floats * sizeof(float));
    }
    dst->past = rows;
    return MHV_OK;
}

/* Appends layer l's keys and values of the pass's n positions (b->k, b->v) to kv after its
 * past ones; 0 (kv refused) when a's attention cannot run from the cache. */
static int kv_append(mhv_nn_kv *kv, const mhv_attn_layer *a, int l, const mhv_attn_bufs *b,
                     int n, int partial)
{
    int width = a->kv_heads * a->head_dim;
    /* a score bias of the queries and keys (not of positions alone: bias_pos), queries and
     * keys made by the family or Longformer's global ones count positions in their own way;
     * a done layer or a packed pass computes only some of them */
    if (a->bias || a->probs_post || a->projected || a->x_v || a->global || partial ||
        l >= kv->layers ||
        kv->past + n > kv->cap || !kv_layer(kv, l, width)) {
        kv->refused = 1;
        return 0;
    }
    size_t at = (size_t)kv->past * (size_t)width, floats = (size_t)n * (size_t)width;
    memcpy(kv->k[l] + at, b->k, floats * sizeof(float));
    memcpy(kv->v[l] + at, b->v, floats * sizeof(float));
    kv->appended++;
    return 1;
}

/* Longformer's global projections of x: gq for heads qh(qn), gk (and gv when with_v) for
 * heads kh(kn), as project_qkv's unfused path (heads == kv_heads). */
static void project_global(mhv_nn *nn, const mhv_attn_layer *a, const float *x, int n,
                           const mhv_attn_bufs *b, const int *qh, int qn, const int *kh, int kn,
                           int with_v)
{
    int d = a->head_dim;
    mhv_plin_part parts[3 * MAX_HEADS];
    int np = 0;
    for (int t = 0; t < qn; t++)
        parts[np++] = (mhv_plin_part){b->gq, a->wq_global, a->bq_global, qh[t] * d,
                                      qh[t] * d + d, MHV_NN_NO_ACT};
    for (int t = 0; t < kn; t++) {
        parts[np++] = (mhv_plin_part){b->gk, a->wk_global, a->bk_global, kh[t] * d,
                                      kh[t] * d + d, MHV_NN_NO_ACT};
        if (with_v)
            parts[np++] = (mhv_plin_part){b->gv, a->wv_global, a->bv_global, kh[t] * d,
                                          kh[t] * d + d, MHV_NN_NO_ACT};
    }
    mhv_nn_linear_parts(nn, parts, np, x, n);
}

void mhv_nn_attention(mhv_nn *nn, const mhv_attn_layer *a, const float *x, int n, int l,
                      const mhv_attn_bufs *b, mhv_capture *cap)
{
    int d = a->head_dim, QD = a->heads * d, KVD = a->kv_heads * d;
    int group = a->heads / a->kv_heads, done = mhv_capture_done(cap, l);
    int heads[MAX_HEADS];        /* (count,) heads to run */
    int rank[MAX_HEADS];         /* (count,) their slots among the kept maps, or -1 */
    int kv_heads[MAX_HEADS];     /* (kv_count,) key/value heads they read */
    int count = 0, kv_count = 0, kept = 0;
    for (int h = 0; h < a->heads; h++) {
        int want = cap->sel && mhv_heads_has(cap->sel, l, h);
        if (!want && done)
            continue; /* nothing reads this head's output */
        heads[count] = h;
        rank[count++] = want ? kept++ : -1;
        int g = a->kv_tiled ? h % a->kv_heads : h / group;
        if (!kv_count || kv_heads[kv_count - 1] != g) {
            int seen = 0; /* tiled: not in order */
            for (int t = 0; t < kv_count && a->kv_tiled; t++)
                seen |= kv_heads[t] == g;
            if (!seen)
                kv_heads[kv_count++] = g;
        }
    }
    /* every sentence keeps the same heads: each takes `kept` slots of its maps */
    int one_off[2];
    mhv_nn_pack pk = pass_pack(nn, n, cap, one_off);
    for (int s = 0; s < pk.count && kept && !cap->head_done; s++) {
        mhv_capture *cs = &pk.caps[s];
        if (cs->layer_done)
            cs->next = 0; /* streaming: this layer's maps reuse the slots */
        for (int t = 0; t < count; t++)
            if (rank[t] >= 0) {
                mhv_head_attn *slot = &cs->out->heads[cs->next + rank[t]];
                slot->layer = l, slot->head = heads[t];
            }
        cs->next += kept;
    }
    /* a norm over a whole projection needs every column of it */
    int prune = done && !a->qk_norm_full;
    int all_heads[MAX_HEADS], all_kv[MAX_HEADS];
    for (int h = 0; h < a->heads; h++)
        all_heads[h] = h, all_kv[h] = h;
    const int *qh = prune ? heads : all_heads, *kh = prune ? kv_heads : all_kv;
    int qn = prune ? count : a->heads, kn = prune ? kv_count : a->kv_heads;
    int with_v = !done || cap->vnorm;
    if (!a->projected)
        project_qkv(nn, a, x, n, b, qh, qn, kh, kn, with_v);
    if (a->global && any_global(a->global, n))
        project_global(nn, a, x, n, b, qh, qn, kh, kn, with_v);
    float clip = a->clip; /* after a whole-projection norm (OLMoE), before a head's own */
    if (a->qk_norm_full) {
        mhv_nn_norm(nn, b->q, b->q, a->q_norm, n, QD);
        mhv_nn_norm(nn, b->k, b->k, a->k_norm, n, KVD);
    }
    const mhv_norm *qn_head = a->qk_norm_full ? NULL : a->q_norm;
    const mhv_norm *kn_head = a->qk_norm_full ? NULL : a->k_norm;
    per_head_late(nn, b->q, (size_t)QD, qh, qn, d, qn_head, a->rope, n, a->qk_norm_per_head, clip,
                  a->q_scale, a->qk_norm_late, a->q_pos_scale);
    per_head_late(nn, b->k, (size_t)KVD, kh, kn, d, kn_head, a->rope, n, a->qk_norm_per_head, clip,
                  0, a->qk_norm_late, NULL);
    if (with_v)
        per_head(nn, b->v, (size_t)KVD, kh, kn, d, NULL, a->rope_values ? a->rope : NULL, n, 0,
                 a->clip, 0);
    /* a cached decoding step: these keys and values join the earlier ones */
    const float *keys = b->k, *values = b->v;
    int q0 = 0;
    if (nn->kv && kv_append(nn->kv, a, l, b, n, done || nn->pack))
        keys = nn->kv->k[l], values = nn->kv->v[l], q0 = nn->kv->past;
    attn_job j = {
        .K = nn->K,
        .base = {.q = b->q, .k = keys, .v = values, .d = d, .ld_q = (size_t)QD,
                 .ld_k = (size_t)KVD, .ld_v = (size_t)KVD, .scale = a->scale,
                 .softcap = a->softcap, .causal = a->causal, .window = a->window,
                 .out = done ? NULL : b->ctx, .ld_out = (size_t)QD, .q0 = q0},
        .group = group, .d = d, .heads = heads, .rank = rank, .count = count, .kept = kept,
        .pk = pk, .nn = nn, .layer = a, .vnorm = cap->vnorm, .ablate = cap->ablate, .l = l,
        .cap = cap, .bufs = b,
    };
    if (count)
        mhv_pool_run(nn->pool, pk.count * count, attn_task, &j);
    if (cap->layer_done && kept)
        cap->layer_done(cap, l);
}

/* ---- cross-attention: t queries over s keys, one task per head ---- */

typedef struct {
    const float *q, *k, *v;     /* (t, ld), (s, ld), (s, ld), head 0 */
    float *ctx;                 /* (t, ld) or NULL */
    size_t ld;
    int t, s, d;
    float scale;
    const int *heads;
    float **probs;              /* (tasks,) (t, s) maps or NULL */
    float **vnorms;             /* (tasks,) (s,) the kept heads' value norms, or NULL */
    int vnorm;                  /* MHV_VNORM_* */
    const mhv_mat *wo;          /* the output projection, for MHV_VNORM_VO */
    const mhv_nn *nn;
} cross_job;

/* One head over the (t, s) map, by the kernel table's attention with s keys. */
static void cross_task(void *ctx, int task, int worker)
{
    const cross_job *j = ctx;
    int h = j->heads[task];
    size_t off = (size_t)h * (size_t)j->d;
    if (j->vnorms[task]) /* of the source's value vectors, through this layer's projections */
        value_norms(j->vnorms[task], j->v + off, j->ld, j->s, j->d, j->vnorm, j->wo, h,
                    j->nn->wo_block + (size_t)worker * j->nn->wo_stride);
    mhv_attn_args a = {
        .q = j->q + off, .k = j->k + off, .v = j->v + off, .n = j->t, .nk = j->s, .d = j->d,
        .ld_q = j->ld, .ld_k = j->ld, .ld_v = j->ld, .scale = j->scale,
        .probs = j->probs[task], .out = j->ctx ? j->ctx + off : NULL, .ld_out = j->ld,
        .scratch = j->nn->attn_scratch + (size_t)worker * j->nn->attn_stride,
    };
    j->nn->K->attention(&a);
}

void mhv_nn_cross_attention(mhv_nn *nn, const mhv_attn_layer *a, const float *x, int t,
                            const float *mem, int s, int l, const mhv_attn_bufs *b,
                            mhv_capture *cap, int done)
{
    int heads[MAX_HEADS], count = 0;
    float *probs[MAX_HEADS], *vnorms[MAX_HEADS];
    for (int h = 0; h < a->heads; h++) {
        int want = cap->sel && mhv_heads_has(cap->sel, l, h);
        if (!want && done)
            continue;
        heads[count] = h;
        /* a kept head's value norms: (s,) each, in slot order (attn.h) */
        vnorms[count] = want && cap->vnorm ? cap->out->vnorm + (size_t)cap->next * (size_t)s
                                           : NULL;
        probs[count++] = want ? cap->out->heads[cap->next++].w : NULL;
    }
    if (!count)
        return;
    mhv_nn_linear(nn, b->q, x, a->wq, a->bq, t, MHV_NN_NO_ACT);
    mhv_plin_part parts[2] = {
        {b->k, a->wk, a->bk, 0, a->wk->rows, MHV_NN_NO_ACT},
        {b->v, a->wv, a->bv, 0, a->wv->rows, MHV_NN_NO_ACT},
    };
    /* under generation the source's keys and values of layer l are kept (nn->enc_memo) */
    size_t kv = (size_t)s * (size_t)a->wk->rows;
    int with_v = !done || cap->vnorm, sk = 1 + 2 * l, sv = sk + 1;
    if (!mhv_nn_memo_load(nn, sk, b->k, kv) || (with_v && !mhv_nn_memo_load(nn, sv, b->v, kv))) {
        mhv_nn_linear_parts(nn, parts, with_v ? 2 : 1, mem, s);
        mhv_nn_memo_store(nn, sk, b->k, kv);
        if (with_v)
            mhv_nn_memo_store(nn, sv, b->v, kv);
    }
    cross_job j = {b->q, b->k, b->v, done ? NULL : b->ctx, (size_t)a->heads * (size_t)a->head_dim,
                   t, s, a->head_dim, a->scale, heads, probs, vnorms, cap->vnorm, a->wo, nn};
    mhv_pool_run(nn->pool, count, cross_task, &j);
}
