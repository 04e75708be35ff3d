#include "analysis/rank.h"

#include <stdlib.h>
#include <string.h>

/* Only lead bytes start a character: spans count Unicode characters, not bytes. */
static int is_lead(unsigned char c)
{
    return (c & 0xC0) != 0x80;
}

int mhv_rank_find(const char *text, size_t len, const mhv_encoding *enc, const char *word,
                  int nth, int *t0, int *t1)
{
    size_t wl = strlen(word);
    if (wl == 0 || nth < 1)
        return 0;
    int found = 0;
    size_t chars = 0; /* characters before byte i */
    for (size_t i = 0; i + wl <= len; i++) {
        if (!is_lead((unsigned char)text[i]))
            continue;
        if (memcmp(text + i, word, wl) == 0 && ++found == nth) {
            size_t wchars = 0;
            for (size_t k = 0; k < wl; k++)
                wchars += (size_t)is_lead((unsigned char)word[k]);
            long s = (long)chars, e = (long)(chars + wchars);
            int a = -1, b = -1;
            for (int t = 0; t < enc->n; t++) {
                long ts = enc->spans[2 * t], te = enc->spans[2 * t + 1];
                if (ts < 0 || te <= s || ts >= e)
                    continue;
                if (a < 0)
                    a = t;
                b = t + 1;
            }
            *t0 = a < 0 ? 0 : a;
            *t1 = a < 0 ? 0 : b;
            return nth;
        }
        chars++;
    }
    return found;
}

double mhv_rank_score(const float *w, int n, int f0, int f1, int t0, int t1)
{
    if (f1 <= f0)
        return 0.0;
    double total = 0.0;
    for (int i = f0; i < f1; i++)
        for (int j = t0; j < t1; j++)
            total += w[(size_t)i * (size_t)n + (size_t)j];
    return total / (f1 - f0);
}

mhv_status mhv_rank_acc_init(mhv_rank_acc *acc, int num_layers, int num_heads, mhv_error *err)
{
    memset(acc, 0, sizeof *acc);
    size_t cells = (size_t)num_layers * (size_t)num_heads;
    acc->sum = calloc(cells ? cells : 1, sizeof *acc->sum);
    acc->count = calloc(cells ? cells : 1, sizeof *acc->count);
    if (!acc->sum || !acc->count) {
        mhv_rank_acc_free(acc);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    acc->num_layers = num_layers;
    acc->num_heads = num_heads;
    return MHV_OK;
}

void mhv_rank_acc_free(mhv_rank_acc *acc)
{
    free(acc->sum);
    free(acc->count);
    memset(acc, 0, sizeof *acc);
}

void mhv_rank_acc_add(mhv_rank_acc *acc, const mhv_attn *a, int f0, int f1, int t0, int t1)
{
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        if (h->layer >= acc->num_layers || h->head >= acc->num_heads)
            continue;
        size_t c = (size_t)h->layer * (size_t)acc->num_heads + (size_t)h->head;
        acc->sum[c] += mhv_rank_score(h->w, a->n, f0, f1, t0, t1);
        acc->count[c]++;
    }
}

static int by_score(const void *pa, const void *pb)
{
    const mhv_rank_entry *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->layer != b->layer)
        return a->layer < b->layer ? -1 : 1;
    return (a->head > b->head) - (a->head < b->head);
}

int mhv_rank_acc_result(const mhv_rank_acc *acc, mhv_rank_entry *out, double *mean)
{
    int k = 0;
    double total = 0.0;
    for (int l = 0; l < acc->num_layers; l++)
        for (int h = 0; h < acc->num_heads; h++) {
            size_t c = (size_t)l * (size_t)acc->num_heads + (size_t)h;
            if (!acc->count[c])
                continue;
            out[k] = (mhv_rank_entry){l, h, acc->sum[c] / acc->count[c]};
            total += out[k].score;
            k++;
        }
    qsort(out, (size_t)k, sizeof *out, by_score);
    *mean = k ? total / k : 0.0;
    return k;
}
