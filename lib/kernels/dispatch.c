/* dispatch.c - picks the kernel table for this CPU once. */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

const mhv_kernels *mhv_kernels_avx2_if_supported(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("f16c"))
        return mhv_kernels_avx2();
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
