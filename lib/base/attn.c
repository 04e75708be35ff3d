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
    return mhv_attn_alloc_rows(out, sel, n, NULL, 0, 0, err);
}

mhv_status mhv_attn_alloc_rows(mhv_attn *out, const mhv_heads *sel, int n, const int *row_ids,
                               int nrows, int per_layer, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    out->rows = row_ids ? nrows : n;
    out->count = mhv_heads_count(sel);
    if (per_layer) {
        out->count = 0;
        for (int l = 0; l < sel->num_layers; l++) {
            int c = 0;
            for (int h = 0; h < sel->num_heads; h++)
                c += mhv_heads_has(sel, l, h);
            if (c > out->count)
                out->count = c;
        }
    }
    for (int r = 0; row_ids && r < nrows; r++)
        if (row_ids[r] < 0 || row_ids[r] >= n || (r && row_ids[r] <= row_ids[r - 1]))
            return mhv_fail(err, MHV_EUSAGE, "", "query rows must ascend within 0-%d", n - 1);
    size_t map = (size_t)out->rows * (size_t)n, cells, bytes;
    if (__builtin_mul_overflow((size_t)out->count, map, &cells) ||
        __builtin_mul_overflow(cells ? cells : 1, sizeof(float), &bytes))
        return mhv_fail(err, MHV_ENOMEM, "", "%d attention maps of %d tokens are too large",
                        out->count, n);
    out->heads = calloc((size_t)out->count + 1, sizeof *out->heads);
    out->buf = alloc_maps(bytes);
    if (row_ids) {
        out->row_ids = malloc(((size_t)nrows + 1) * sizeof *out->row_ids);
        if (out->row_ids)
            memcpy(out->row_ids, row_ids, (size_t)nrows * sizeof *out->row_ids);
    }
    if (!out->heads || !out->buf || (row_ids && !out->row_ids)) {
        int count = out->count; /* (mhv_attn_free clears it) */
        mhv_attn_free(out);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory for %d attention maps of %d tokens",
                        count, n);
    }
    for (int slot = 0; slot < out->count; slot++) {
        out->heads[slot].w = out->buf + (size_t)slot * map;
        out->heads[slot].rows = out->rows;
        out->heads[slot].cols = n;
    }
    int slot = 0;
    for (int l = 0; l < sel->num_layers && !per_layer; l++)
        for (int h = 0; h < sel->num_heads; h++)
            if (mhv_heads_has(sel, l, h)) {
                out->heads[slot].layer = l;
                out->heads[slot].head = h;
                slot++;
            }
    return MHV_OK;
}

int mhv_attn_row_of(const mhv_attn *a, int i)
{
    if (!a->row_ids)
        return i >= 0 && i < a->n ? i : -1;
    int lo = 0, hi = a->rows; /* binary search: row_ids ascend */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (a->row_ids[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < a->rows && a->row_ids[lo] == i ? lo : -1;
}

void mhv_attn_free(mhv_attn *a)
{
    if (!a)
        return;
    free(a->heads);
    free(a->buf);
    free(a->row_ids);
    free(a->vnorm);
    memset(a, 0, sizeof *a);
}

mhv_status mhv_attn_alloc_seq2seq(mhv_attn *out, const mhv_heads *sel, int enc_layers,
                                  int dec_layers, int ns, int nt, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    out->n = out->n_src = out->rows = ns;
    out->n_tgt = nt;
    out->count = mhv_heads_count(sel);
    size_t cells = 0, ss = (size_t)ns * (size_t)ns, tt = (size_t)nt * (size_t)nt,
           ts = (size_t)nt * (size_t)ns, bytes;
    for (int l = 0; l < sel->num_layers; l++)
        for (int h = 0; h < sel->num_heads; h++)
            if (mhv_heads_has(sel, l, h))
                cells += l < enc_layers ? ss : l < enc_layers + dec_layers ? tt : ts;
    if (__builtin_mul_overflow(cells ? cells : 1, sizeof(float), &bytes))
        return mhv_fail(err, MHV_ENOMEM, "", "%d attention maps of %d and %d tokens are too large",
                        out->count, ns, nt);
    out->heads = calloc((size_t)out->count + 1, sizeof *out->heads);
    out->buf = alloc_maps(bytes);
    if (!out->heads || !out->buf) {
        int count = out->count; /* (mhv_attn_free clears it) */
        mhv_attn_free(out);
        return mhv_fail(err, MHV_ENOMEM, "",
                        "out of memory for %d attention maps of %d and %d tokens", count, ns, nt);
    }
    int slot = 0;
    size_t off = 0;
    for (int l = 0; l < sel->num_layers; l++)
        for (int h = 0; h < sel->num_heads; h++)
            if (mhv_heads_has(sel, l, h)) {
                mhv_head_attn *a = &out->heads[slot++];
                a->head = h;
                if (l < enc_layers)
                    a->stack = MHV_STACK_ENCODER, a->layer = l, a->rows = a->cols = ns;
                else if (l < enc_layers + dec_layers)
                    a->stack = MHV_STACK_DECODER, a->layer = l - enc_layers,
                    a->rows = a->cols = nt;
                else
                    a->stack = MHV_STACK_CROSS, a->layer = l - enc_layers - dec_layers,
                    a->rows = nt, a->cols = ns;
                a->w = out->buf + off;
                off += (size_t)a->rows * (size_t)a->cols;
            }
    return MHV_OK;
}

const char *mhv_stack_name(mhv_stack s)
{
    switch (s) {
    case MHV_STACK_ENCODER: return "encoder";
    case MHV_STACK_DECODER: return "decoder";
    case MHV_STACK_CROSS: return "cross";
    default: return "self";
    }
}
