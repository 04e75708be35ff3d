/* cpucache.c - the CPU's cache sizes from sysfs or CPUID (see cpucache.h). */
#include "cpucache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

static mhv_cpu_caches detected;
static const mhv_cpu_caches *overridden;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The first line of a small sysfs file, or "" when it cannot be read. */
static void read_line(const char *path, char *buf, size_t size)
{
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (!fgets(buf, (int)size, f))
        buf[0] = 0;
    fclose(f);
    buf[strcspn(buf, "\n")] = 0;
}

/* sysfs sizes read "48K", "1024K", "32M". */
static size_t parse_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s)
        return 0;
    if (*end == 'K')
        v <<= 10;
    else if (*end == 'M')
        v <<= 20;
    return (size_t)v;
}

/* L1d, L2 and L3 of cpu0 from sysfs; 0 when absent (containers may hide it). */
static int from_sysfs(mhv_cpu_caches *c)
{
    int found = 0;
    for (int i = 0; i < 8; i++) {
        char path[96], level[16], type[32], size[32];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        read_line(path, level, sizeof level);
        if (!level[0])
            break;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
        read_line(path, type, sizeof type);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        read_line(path, size, sizeof size);
        size_t bytes = parse_size(size);
        if (!bytes)
            continue;
        if (level[0] == '1' && strcmp(type, "Data") == 0)
            c->l1d = bytes, found = 1;
        else if (level[0] == '2' && strcmp(type, "Instruction") != 0)
            c->l2 = bytes, found = 1;
        else if (level[0] == '3')
            c->l3 = bytes;
    }
    return found && c->l1d && c->l2;
}

#if defined(__x86_64__)
/* The deterministic cache parameters leaf (4 on Intel, 0x8000001D on AMD): one subleaf per
 * cache, size = ways x partitions x line x sets. */
static int from_cpuid_leaf(mhv_cpu_caches *c, unsigned leaf)
{
    unsigned max = __get_cpuid_max(leaf & 0x80000000u, NULL);
    if (max < leaf)
        return 0;
    for (unsigned i = 0; i < 16; i++) {
        unsigned a, b, cc, d;
        __cpuid_count(leaf, i, a, b, cc, d);
        unsigned type = a & 31, level = a >> 5 & 7;
        if (type == 0)
            break;
        size_t bytes = (size_t)((b >> 22) + 1) * ((b >> 12 & 0x3ff) + 1) * ((b & 0xfff) + 1) *
                       ((size_t)cc + 1);
        if (level == 1 && type == 1)
            c->l1d = bytes;
        else if (level == 2 && type != 2)
            c->l2 = bytes;
        else if (level == 3)
            c->l3 = bytes;
    }
    return c->l1d && c->l2;
}

static void identify(mhv_cpu_caches *c)
{
    unsigned a, b, cc, d;
    if (!__get_cpuid(0, &a, &b, &cc, &d))
        return;
    memcpy(c->vendor, &b, 4), memcpy(c->vendor + 4, &d, 4), memcpy(c->vendor + 8, &cc, 4);
    c->vendor[12] = 0;
    if (__get_cpuid(1, &a, &b, &cc, &d)) {
        int fam = (int)(a >> 8 & 15), mod = (int)(a >> 4 & 15);
        if (fam == 15)
            fam += (int)(a >> 20 & 255);
        if (fam == 6 || fam >= 15)
            mod += (int)(a >> 16 & 15) << 4;
        c->family = fam, c->model = mod;
    }
}

static int from_cpuid(mhv_cpu_caches *c)
{
    if (strcmp(c->vendor, "AuthenticAMD") == 0 || strcmp(c->vendor, "HygonGenuine") == 0) {
        unsigned a, b, cc, d; /* the AMD leaf needs TOPOEXT */
        if (__get_cpuid(0x80000001u, &a, &b, &cc, &d) && (cc >> 22 & 1))
            return from_cpuid_leaf(c, 0x8000001Du);
        return 0;
    }
    return from_cpuid_leaf(c, 4);
}
#endif

static void detect(void)
{
    mhv_cpu_caches c = {.source = "sysfs"};
#if defined(__x86_64__)
    identify(&c);
#endif
    mhv_cpu_caches s = c;
    if (from_sysfs(&s)) {
        detected = s;
        return;
    }
#if defined(__x86_64__)
    s = c;
    s.source = "cpuid";
    if (from_cpuid(&s)) {
        detected = s;
        return;
    }
#endif
    c.source = "default";
    c.l1d = 32 << 10, c.l2 = 512 << 10, c.l3 = 0;
    detected = c;
}

const mhv_cpu_caches *mhv_cpu_caches_get(void)
{
    if (overridden)
        return overridden;
    pthread_once(&once, detect);
    return &detected;
}

void mhv_cpu_caches_override(const mhv_cpu_caches *c)
{
    overridden = c;
}
