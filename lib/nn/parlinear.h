/* parlinear.h - linear layers over the thread pool, shared by the encoder and decoder
 * passes.
 *
 * The output columns are cut into tasks, so every value is computed exactly as on one
 * thread. With a kernel table that packs x (kernels.h: xpack), x is packed once per call
 * into the caller's buffer and every task reads that. */
#ifndef MHV_PARLINEAR_H
#define MHV_PARLINEAR_H

#include <stddef.h>

#include "base/pool.h"
#include "ckpt/weights.h"
#include "nn/act.h"
#include "nn/kernels/kernels.h"

typedef struct {
    const mhv_kernels *K;
    mhv_pool *pool;     /* NULL: the calling thread only */
    int threads;        /* mhv_pool_threads(pool) */
    float *xp;          /* (mhv_plin_xp_floats(K, n, in),) packed x, or NULL when K has no
                         * xpack */
} mhv_plin;

/* No activation after the linear layer (otherwise an mhv_act). */
#define MHV_PLIN_NO_ACT (-1)

/* x(len) = act(x) element-wise (an mhv_act; MHV_PLIN_NO_ACT: unchanged), as the linear
 * layers apply it. */
void mhv_plin_activate(const mhv_kernels *K, int act, float *x, size_t len);

/* Floats of packed x for n tokens of up to `in` inputs; 0 when K does not pack x. */
size_t mhv_plin_xp_floats(const mhv_kernels *K, int n, int in);

/* y(n, w.rows)[:, o0..o1] = x(n, w.cols) · W^T + b (b may be NULL), then activation act
 * (an mhv_act, or MHV_PLIN_NO_ACT) on those columns. */
void mhv_plin_run(const mhv_plin *p, float *y, const float *x, const mhv_mat *w,
                  const float *b, int n, int o0, int o1, int act);

/* Column ranges of linear layers over the same x (Q, K and V; the selected heads' columns
 * of Q and K; SwiGLU's gate and up) as one pool job, x packed once: parts[i].y(n,
 * w.rows)[:, o0..o1] = x · parts[i].W^T + b, then activation act. */
typedef struct {
    float *y;
    const mhv_mat *w;
    const float *b;     /* or NULL */
    int o0, o1;
    int act;            /* an mhv_act, or MHV_PLIN_NO_ACT */
} mhv_plin_part;

void mhv_plin_run_parts(const mhv_plin *p, const mhv_plin_part *parts, int count,
                        const float *x, int n);

#endif
