/* pool.h - a persistent pool of worker threads for the forward pass.
 *
 * Threads start once (mhv_pool_new) and wait between jobs, so a run over many sentences pays
 * thread start-up once. A job is `ntasks` independent tasks; the calling thread works on them
 * too. Which thread runs which task is not fixed, so tasks must not depend on it for their
 * results (they may use it to pick per-thread scratch). */
#ifndef MHV_POOL_H
#define MHV_POOL_H

#include "base/status.h"

typedef struct mhv_pool mhv_pool;

/* task in [0, ntasks); worker in [0, mhv_pool_threads(p)) identifies the running thread. */
typedef void (*mhv_pool_fn)(void *ctx, int task, int worker);

/* A pool of `threads` threads in all, the caller included (threads - 1 are started);
 * threads <= 0 means the number of online CPUs. */
mhv_status mhv_pool_new(int threads, mhv_pool **out, mhv_error *err);
void mhv_pool_free(mhv_pool *p);
int mhv_pool_threads(const mhv_pool *p);
/* Runs fn over every task and returns when all are done. p NULL runs them on the caller. */
void mhv_pool_run(mhv_pool *p, int ntasks, mhv_pool_fn fn, void *ctx);
/* The number of online CPUs (at least 1). */
int mhv_pool_online_cpus(void);

#endif
