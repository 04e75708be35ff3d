/* dispatch.c - picks the kernel table for this CPU once. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#if defined(__x86_64__)
/* The AVX2 table with any entry it leaves NULL taken from the scalar one, so a kernel added
 * to kernels.h before its AVX2 version exists still runs (on the reference path). */
static mhv_kernels avx2_filled;
static pthread_once_t avx2_once = PTHREAD_ONCE_INIT;

#define FILL(f)                                                                               \
    if (!avx2_filled.f)                                                                       \
        avx2_filled.f = s->f;

static void fill_avx2(void)
{
    const mhv_kernels *s = mhv_kernels_scalar();
    avx2_filled = *mhv_kernels_avx2();
    FILL(linear) FILL(linear_cols) FILL(linear_t_cols) FILL(attention) FILL(attention_scratch)
    FILL(layernorm) FILL(rmsnorm) FILL(gelu_erf) FILL(gelu_tanh) FILL(relu) FILL(silu) FILL(add)
}
#undef FILL
#endif

const mhv_kernels *mhv_kernels_avx2_if_supported(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("f16c")) {
        pthread_once(&avx2_once, fill_avx2);
        return &avx2_filled;
    }
#endif
    return NULL;
}

const mhv_kernels *mhv_kernels_get(void)
{
    /* MHAVIZ_KERNEL=scalar forces the reference path (tests compare against it); "avx2" is
     * honoured only on a CPU that has it, since that code would fault elsewhere. */
    const char *force = getenv("MHAVIZ_KERNEL");
    if (force && strcmp(force, "scalar") == 0)
        return mhv_kernels_scalar();
    const mhv_kernels *k = mhv_kernels_avx2_if_supported();
    return k ? k : mhv_kernels_scalar();
}
