/* dispatch.c - picks the kernel table for this CPU once. */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

const mhv_kernels *mhv_kernels_get(void)
{
    /* Only the reference path exists yet; MHAVIZ_KERNEL=scalar is honoured already so that
     * tests and users can rely on it when faster tables are added. */
    const char *force = getenv("MHAVIZ_KERNEL");
    if (force && strcmp(force, "scalar") == 0)
        return mhv_kernels_scalar();
    return mhv_kernels_scalar();
}
