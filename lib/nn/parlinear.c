#include "nn/parlinear.h"

#include <math.h>

size_t mhv_plin_xp_floats(const mhv_kernels *K, int n, int in)
{
    return K->xpack ? K->xpack_floats(n, in) : 0;
}

typedef struct {
    const mhv_kernels *K;
    float *y;
    const float *x;     /* row-major x, or (with xp) unused by the kernels */
    const float *xp;    /* packed x, or NULL */
    const mhv_mat *w;
    const float *b;
    int n;
    int o0, o1, chunk;  /* columns o0..o1 in tasks of `chunk` */
    int act;
} job;

void mhv_plin_activate(const mhv_kernels *K, int act, float *x, size_t len)
{
    switch (act) {
    case MHV_ACT_GELU: K->gelu_erf(x, len); break;
    case MHV_ACT_GELU_NEW: K->gelu_tanh(x, len); break;
    case MHV_ACT_RELU: K->relu(x, len); break;
    case MHV_ACT_SILU: K->silu(x, len); break;
    case MHV_ACT_QUICK_GELU: /* rare (CLIP): plain C, as transformers computes it in fp32 */
        for (size_t t = 0; t < len; t++)
            x[t] = x[t] * (1.0f / (1.0f + expf(-1.702f * x[t])));
        break;
    case MHV_ACT_RELU2: /* rare (Nemotron): torch.square(relu(x)) in fp32 */
        for (size_t t = 0; t < len; t++) {
            float r = x[t] > 0 ? x[t] : 0.0f;
            x[t] = r * r;
        }
        break;
    default: break;
    }
}

/* Columns a..e of y, then the activation on them while they are in cache: element-wise, so
 * the bytes are those of activating the whole matrix afterwards. */
static void run_range(const job *j, int a, int e)
{
    const mhv_mat *w = j->w;
    int in = w->cols, out = w->rows;
    if (w->transposed)
        j->K->linear_t_cols(j->y, j->x, w->data, w->dtype, w->ld, j->b, j->n, in, out, a, e);
    else if (j->xp)
        j->K->linear_xp_cols(j->y, j->xp, w->data, w->dtype, j->b, j->n, in, out, a, e);
    else
        j->K->linear_cols(j->y, j->x, w->data, w->dtype, j->b, j->n, in, out, a, e);
    if (j->act != MHV_PLIN_NO_ACT)
        for (int i = 0; i < j->n; i++)
            mhv_plin_activate(j->K, j->act, j->y + (size_t)i * (size_t)out + (size_t)a, (size_t)(e - a));
}

static void run_task(void *ctx, int task, int worker)
{
    (void)worker;
    const job *j = ctx;
    int a = j->o0 + task * j->chunk, e = a + j->chunk < j->o1 ? a + j->chunk : j->o1;
    run_range(j, a, e);
}

/* Columns per task when `cols` are split over T threads: about four tasks per thread, so a
 * thread that loses its core to another process is made up by the others, in multiples of
 * 48 columns (whole register tiles of both fast tables: 16 columns in AVX2, 12 in
 * AVX-512). */
static int chunk_for(int cols, int T)
{
    int chunk = ((cols + 4 * T - 1) / (4 * T) + 47) / 48 * 48;
    return chunk < 48 ? 48 : chunk;
}

/* Worth a pool job: enough columns and work to pay the wake-up. */
static int split_pays(const mhv_plin *p, int n, int in, int cols)
{
    return p->threads > 1 && cols >= 64 && (double)n * in * cols >= 2e5;
}

typedef struct {
    const mhv_kernels *K;
    float *xp;
    const float *x;
    int n, in, rows; /* x(n, in) in tasks of `rows` rows */
} pack_job;

static void pack_task(void *ctx, int task, int worker)
{
    (void)worker;
    const pack_job *j = ctx;
    int r0 = task * j->rows, r1 = r0 + j->rows < j->n ? r0 + j->rows : j->n;
    size_t off = (size_t)r0 * (size_t)j->in;
    j->K->xpack(j->xp + off, j->x + off, r1 - r0, j->in);
}

/* Packs x when the table wants it (not for transposed weights), in row blocks over the pool
 * when there are several panels; returns the packed x or NULL. */
static const float *pack(const mhv_plin *p, const mhv_mat *w, const float *x, int n)
{
    if (!p->K->xpack || !p->xp || w->transposed)
        return NULL;
    int pr = p->K->xpack_rows > 0 ? p->K->xpack_rows : n, panels = (n + pr - 1) / pr;
    if (p->threads <= 1 || panels < 2 || (size_t)n * (size_t)w->cols < 16384) {
        p->K->xpack(p->xp, x, n, w->cols);
        return p->xp;
    }
    int per = (panels + 2 * p->threads - 1) / (2 * p->threads); /* panels per task */
    pack_job j = {p->K, p->xp, x, n, w->cols, per * pr};
    mhv_pool_run(p->pool, (n + j.rows - 1) / j.rows, pack_task, &j);
    return p->xp;
}

typedef struct {
    const mhv_plin *p;
    const mhv_plin_part *parts;
    int count;
    const float *x, *xp;
    int n;
} parts_job;

static int part_chunk(const mhv_plin *p, const mhv_plin_part *q)
{
    return chunk_for(q->o1 - q->o0, p->threads);
}

static void parts_task(void *ctx, int task, int worker)
{
    (void)worker;
    const parts_job *g = ctx;
    for (int i = 0; i < g->count; i++) {
        const mhv_plin_part *q = &g->parts[i];
        int chunk = part_chunk(g->p, q), tasks = (q->o1 - q->o0 + chunk - 1) / chunk;
        if (task < tasks) {
            job j = {g->p->K, q->y, g->x, g->xp, q->w, q->b, g->n, q->o0, q->o1, chunk, q->act};
            run_task(&j, task, worker);
            return;
        }
        task -= tasks;
    }
}

void mhv_plin_run_parts(const mhv_plin *p, const mhv_plin_part *parts, int count,
                        const float *x, int n)
{
    int same = count > 0;
    for (int i = 1; same && i < count; i++)
        same = parts[i].w->cols == parts[0].w->cols &&
               parts[i].w->transposed == parts[0].w->transposed;
    if (!same) { /* one packed x each */
        for (int i = 0; i < count; i++)
            mhv_plin_run_parts(p, &parts[i], 1, x, n);
        return;
    }
    parts_job g = {p, parts, count, x, pack(p, parts[0].w, x, n), n};
    int cols = 0, tasks = 0;
    for (int i = 0; i < count; i++) {
        cols += parts[i].o1 - parts[i].o0;
        int chunk = part_chunk(p, &parts[i]);
        tasks += (parts[i].o1 - parts[i].o0 + chunk - 1) / chunk;
    }
    if (!split_pays(p, n, parts[0].w->cols, cols)) {
        for (int i = 0; i < count; i++) {
            job j = {p->K, parts[i].y, x, g.xp, parts[i].w, parts[i].b, n, parts[i].o0,
                     parts[i].o1, 0, parts[i].act};
            run_range(&j, parts[i].o0, parts[i].o1);
        }
        return;
    }
    mhv_pool_run(p->pool, tasks, parts_task, &g);
}

void mhv_plin_run(const mhv_plin *p, float *y, const float *x, const mhv_mat *w,
                  const float *b, int n, int o0, int o1, int act)
{
    mhv_plin_part part = {y, w, b, o0, o1, act};
    mhv_plin_run_parts(p, &part, 1, x, n);
}
