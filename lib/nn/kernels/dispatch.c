/* dispatch.c - picks the kernel table for this CPU once. */
#include <pthread.h>
#include <string.h>

#include "kernels.h"

#if defined(__x86_64__)
#include <cpuid.h>

/* A fast table with every entry it leaves NULL taken from the next slower one (AVX-512 from
 * AVX2, AVX2 from scalar), so a kernel added to kernels.h before its fast version exists
 * still runs. The xpack entries are not filled: they belong to the table's own linear. */
static mhv_kernels avx2_filled, avx512_filled;
static pthread_once_t avx2_once = PTHREAD_ONCE_INIT, avx512_once = PTHREAD_ONCE_INIT;

#define FILL(f)                                                                               \
    if (!dst->f)                                                                              \
        dst->f = from->f;

static void fill_from(mhv_kernels *dst, const mhv_kernels *from)
{
    FILL(linear) FILL(describe) FILL(linear_cols) FILL(linear_t_cols) FILL(attention) FILL(attention_scratch)
    FILL(layernorm) FILL(rmsnorm) FILL(gelu_erf) FILL(gelu_tanh) FILL(relu) FILL(silu) FILL(add)
}
#undef FILL

static void fill_avx2(void)
{
    avx2_filled = *mhv_kernels_avx2();
    fill_from(&avx2_filled, mhv_kernels_scalar());
}

static void fill_avx512(void)
{
    pthread_once(&avx2_once, fill_avx2);
    avx512_filled = *mhv_kernels_avx512();
    fill_from(&avx512_filled, &avx2_filled);
}

/* F16C from CPUID leaf 1 (ECX bit 29): clang's __builtin_cpu_supports does not know it. */
static int has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c >> 29 & 1);
}

static int has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
}
#endif

const mhv_kernels *mhv_kernels_avx2_if_supported(void)
{
#if defined(__x86_64__)
    if (has_avx2()) {
        pthread_once(&avx2_once, fill_avx2);
        return &avx2_filled;
    }
#endif
    return NULL;
}

const mhv_kernels *mhv_kernels_avx512_if_supported(void)
{
#if defined(__x86_64__)
    if (has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
        pthread_once(&avx512_once, fill_avx512);
        return &avx512_filled;
    }
#endif
    return NULL;
}

const mhv_kernels *mhv_kernels_select(const char *force)
{
    /* "scalar" forces the reference path (tests compare against it); "avx2" and "avx512" are
     * honoured only on a CPU that has them, since that code would fault elsewhere. By
     * default the widest table the CPU has. */
    if (force && strcmp(force, "scalar") == 0)
        return mhv_kernels_scalar();
    const mhv_kernels *k = NULL;
    if (!force || strcmp(force, "avx2") != 0)
        k = mhv_kernels_avx512_if_supported();
    if (!k)
        k = mhv_kernels_avx2_if_supported();
    return k ? k : mhv_kernels_scalar();
}
