#include "base/attn.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Memory for the probability maps. Up to 32 MiB malloc recycles the previous sentence's
 * pages (glibc's adaptive mmap threshold stops there); beyond, every sentence gets fresh
 * pages (at 512 tokens and every head of BERT-base, 150 MB), and faulting those in 4 KiB
 * pages cost more than zeroing them: 2 MiB pages (where transparent huge pages are on
 * "madvise") take 512 times fewer faults. Freed with free(). */
static float *alloc_maps(size_t bytes)
{
    const size_t huge = 2u << 20;
    void *p = NULL;
    if (bytes > 16 * huge) {
        size_t len = (bytes + huge - 1) / huge * huge;
        if (posix_memalign(&p, huge, len) != 0)
            return NULL;
        madvise(p, len, MADV_HUGEPAGE); /* a hint only */
        return p;
    }
    return malloc(bytes);
}

mhv_status mhv_attn_alloc(mhv_attn *out, const mhv_heads *sel, int n, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    out->count = mhv_heads_count(sel);
    size_t cells, bytes;
    if (__builtin_mul_overflow((size_t)out->count, (size_t)n * (size_t)n, &cells) ||
        __builtin_mul_overflow(cells ? cells : 1, sizeof(float), &bytes))
        return mhv_fail(err, MHV_ENOMEM, "", "%d attention maps of %d tokens are too large",
                        out->count, n);
    out->heads = calloc((size_t)out->count + 1, sizeof *out->heads);
    out->buf = alloc_maps(bytes);
    if (!out->heads || !out->buf) {
        mhv_attn_free(out);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for %d attention maps of %d tokens",
                        out->count, n);
    }
    int slot = 0;
    for (int l = 0; l < sel->num_layers; l++)
        for (int h = 0; h < sel->num_heads; h++)
            if (mhv_heads_has(sel, l, h)) {
                out->heads[slot].layer = l;
                out->heads[slot].head = h;
                out->heads[slot].w = out->buf + (size_t)slot * (size_t)n * (size_t)n;
                slot++;
            }
    return MHV_OK;
}

void mhv_attn_free(mhv_attn *a)
{
    if (!a)
        return;
    free(a->heads);
    free(a->buf);
    free(a->vnorm);
    memset(a, 0, sizeof *a);
}
