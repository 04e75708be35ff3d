/* pool.c - persistent pthread pool: workers spin briefly, then sleep on a condition variable,
 * between jobs; a job is handed out task by task from an atomic counter. */
#include "base/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Spinning this long before sleeping keeps the wake-up of back-to-back jobs (the dozens of
 * matrix multiplies of one forward pass) in the microseconds instead of a futex round trip. */
#define SPIN_ROUNDS 20000
/* ... but yielding every YIELD_EVERY rounds: when the CPUs are shared with other work, a
 * spinning thread may sit on the CPU of the thread it waits for (the main thread, or a
 * worker preempted in its task); without a yield each hand-off then waited out a scheduler
 * time slice (generation on a busy 2-CPU machine: 7-9 s -> 1.3-2.2 s with 2 threads). On
 * an idle CPU sched_yield returns at once. */
#define YIELD_EVERY 64

typedef struct {
    mhv_pool *pool;
    int id;
    pthread_t th;
} worker;

struct mhv_pool {
    int threads;
    worker *w;             /* (threads - 1,) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int sleepers;          /* workers waiting on cv; under mu */
    atomic_uint gen;       /* bumped once per job */
    atomic_int stop;
    /* the current job, written before gen is bumped */
    mhv_pool_fn fn;
    void *ctx;
    int ntasks;
    atomic_int next;       /* next task to hand out */
    atomic_int done;       /* workers finished with the current job */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void work(mhv_pool *p, int id)
{
    int t;
    while ((t = atomic_fetch_add(&p->next, 1)) < p->ntasks)
        p->fn(p->ctx, t, id);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    mhv_pool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned g = atomic_load(&p->gen);
        for (int i = 0; g == seen && i < SPIN_ROUNDS && !atomic_load(&p->stop); i++) {
            cpu_relax();
            if (i % YIELD_EVERY == YIELD_EVERY - 1)
                sched_yield();
            g = atomic_load(&p->gen);
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->stop)) {
                p->sleepers++;
                pthread_cond_wait(&p->cv, &p->mu);
                p->sleepers--;
            }
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = g;
        work(p, w->id);
        atomic_fetch_add(&p->done, 1);
    }
}

int mhv_pool_online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

mhv_status mhv_pool_new(int threads, mhv_pool **out, mhv_error *err)
{
    *out = NULL;
    if (threads <= 0)
        threads = mhv_pool_online_cpus();
    mhv_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->w = calloc((size_t)threads, sizeof *p->w))) {
        free(p);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for a pool of %d threads", threads);
    }
    p->threads = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* the matrix multiply keeps its packed panels (~222 KiB) on the stack */
    pthread_attr_setstacksize(&attr, 8u << 20);
    for (int i = 1; i < threads; i++) {
        worker *w = &p->w[i - 1];
        w->pool = p;
        w->id = i;
        int rc = pthread_create(&w->th, &attr, worker_main, w);
        if (rc) {
            pthread_attr_destroy(&attr);
            mhv_pool_free(p);
            return mhv_fail(err, MHV_ENOMEM, "", "cannot start thread %d of %d: %s", i + 1,
                            threads, strerror(rc));
        }
        p->threads++;
    }
    pthread_attr_destroy(&attr);
    *out = p;
    return MHV_OK;
}

void mhv_pool_free(mhv_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->threads; i++)
        pthread_join(p->w[i - 1].th, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->w);
    free(p);
}

int mhv_pool_threads(const mhv_pool *p)
{
    return p ? p->threads : 1;
}

void mhv_pool_run(mhv_pool *p, int ntasks, mhv_pool_fn fn, void *ctx)
{
    if (!p || p->threads == 1 || ntasks <= 1) {
        for (int t = 0; t < ntasks; t++)
            fn(ctx, t, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    atomic_store(&p->next, 0);
    atomic_store(&p->done, 0);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->gen, 1);
    if (p->sleepers)
        pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    work(p, 0);
    for (int i = 0; atomic_load(&p->done) < p->threads - 1; i++) {
        if (i < SPIN_ROUNDS && i % YIELD_EVERY != YIELD_EVERY - 1)
            cpu_relax();
        else
            sched_yield();
    }
}
