#include "analysis/rank.h"
#include "analysis/rank_internal.h"

#include <stdlib.h>
#include <string.h>

/* Only lead bytes start a character: spans count Unicode characters, not bytes. */
static int is_lead(unsigned char c)
{
    return (c & 0xC0) != 0x80;
}

static int in_ranges(const mhv_uc_range *r, int n, uint32_t cp)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo)
            hi = mid - 1;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

/* Letters, digits and marks: the characters a word of a spaced script is made of. */
static int is_word_char(uint32_t cp)
{
    return mhv_uc_is_letter(cp) || mhv_uc_is_number(cp) || mhv_uc_is_nonspacing_mark(cp) ||
           in_ranges(mhv_rank_mark_ranges, mhv_rank_mark_ranges_n, cp);
}

/* Scripts written without spaces between words: their characters are words of their own
 * (UAX #29 gives each ideograph its own word too; for Thai and the like it needs a
 * dictionary, so any run of characters may be a word). */
static int is_spaceless(uint32_t cp)
{
    static const mhv_uc_range r[] = {
        {0x0E00, 0x0EFF},   /* Thai, Lao */
        {0x1000, 0x109F},   /* Myanmar */
        {0x1780, 0x17FF},   /* Khmer */
        {0x19E0, 0x19FF},   /* Khmer symbols */
        {0x2E80, 0x2FDF},   /* CJK radicals, Kangxi radicals */
        {0x3000, 0x30FF},   /* CJK symbols (々 〇), hiragana, katakana */
        {0x31C0, 0x31FF},   /* CJK strokes, katakana phonetic extensions */
        {0xFF66, 0xFF9F},   /* halfwidth katakana */
    };
    return mhv_uc_is_chinese_char(cp) || in_ranges(r, (int)(sizeof r / sizeof r[0]), cp);
}

/* The code point that ends just before byte i of text (i > 0, at a character start). */
static uint32_t char_before(const char *text, size_t i)
{
    size_t k = i - 1;
    while (k > 0 && !is_lead((unsigned char)text[k]))
        k--;
    uint32_t cp;
    return mhv_utf8_decode(text + k, i - k, &cp) ? cp : 0xFFFD;
}

static uint32_t char_at(const char *s, size_t len)
{
    uint32_t cp;
    return mhv_utf8_decode(s, len, &cp) ? cp : 0xFFFD;
}

/* 1 when a word may start or end between the characters a and b. */
static int edge_ok(uint32_t a, uint32_t b)
{
    return !is_word_char(a) || !is_word_char(b) || is_spaceless(a) || is_spaceless(b);
}

/* 1 when text[i, i + wl) (== word) is a whole word of text[0, len). */
static int whole_word(const char *text, size_t len, size_t i, const char *word, size_t wl)
{
    if (i > 0 && !edge_ok(char_before(text, i), char_at(word, wl)))
        return 0;
    if (i + wl < len && !edge_ok(char_before(word, wl), char_at(text + i + wl, len - i - wl)))
        return 0;
    return 1;
}

int mhv_rank_find(const char *text, size_t len, const mhv_encoding *enc, const char *word,
                  int nth, mhv_rank_match how, int *t0, int *t1)
{
    size_t wl = strlen(word);
    if (wl == 0 || nth < 1)
        return 0;
    int found = 0;
    size_t chars = 0; /* characters before byte i */
    for (size_t i = 0; i + wl <= len; i++) {
        if (!is_lead((unsigned char)text[i]))
            continue;
        if (memcmp(text + i, word, wl) == 0 &&
            (how == MHV_RANK_SUBSTRING || whole_word(text, len, i, word, wl)) &&
            ++found == nth) {
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

int mhv_rank_only_unk(const mhv_encoding *enc, int t0, int t1, int32_t unk_id)
{
    if (unk_id < 0 || t0 < 0 || t1 > enc->n || t0 >= t1)
        return 0;
    for (int t = t0; t < t1; t++)
        if (enc->ids[t] != unk_id)
            return 0;
    return 1;
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
    int r0 = f0; /* the map row of query f0 */
    if (a->row_ids) {
        r0 = f1 > f0 ? mhv_attn_row_of(a, f0) : 0;
        if (r0 < 0 || (f1 > f0 && mhv_attn_row_of(a, f1 - 1) != r0 + (f1 - f0 - 1)))
            return;
    }
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        if (h->layer >= acc->num_layers || h->head >= acc->num_heads)
            continue;
        size_t c = (size_t)h->layer * (size_t)acc->num_heads + (size_t)h->head;
        acc->sum[c] += mhv_rank_score(h->w, a->n, r0, r0 + (f1 - f0), t0, t1);
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
