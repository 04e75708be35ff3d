/* cpucache.h - the CPU's identity and cache sizes, read once at run time, from which the
 * kernels size their blocks (instead of constants tuned on one machine).
 *
 * Sources, in order: sysfs (/sys/devices/system/cpu/cpu0/cache/index*), then CPUID's
 * deterministic cache leaves (4 on Intel, 0x8000001D on AMD), then conservative defaults
 * (32 KiB L1d, 512 KiB L2, no L3). */
#ifndef MHV_CPUCACHE_H
#define MHV_CPUCACHE_H

#include <stddef.h>

typedef struct {
    char vendor[16];    /* CPUID's vendor string ("GenuineIntel", "AuthenticAMD"), or "" */
    int family, model;  /* display family and model, as /proc/cpuinfo shows them */
    size_t l1d;         /* bytes of L1 data cache per core */
    size_t l2;          /* bytes of L2 per core */
    size_t l3;          /* bytes of L3 (shared), 0 when there is none or it is unknown */
    const char *source; /* "sysfs", "cpuid" or "default" */
} mhv_cpu_caches;

/* The caches of this CPU (read once; thread-safe). */
const mhv_cpu_caches *mhv_cpu_caches_get(void);

/* Replaces what mhv_cpu_caches_get returns (tests and the bench size blocks for other
 * CPUs this way); NULL goes back to the detected caches. Not thread-safe: call it before
 * kernels run. */
void mhv_cpu_caches_override(const mhv_cpu_caches *c);

#endif
