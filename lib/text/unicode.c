/* unicode.c - UTF-8 and the Unicode properties of BERT tokenization (tables generated). */
#include "text/unicode.h"

#include <stdlib.h>
#include <string.h>

int mhv_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len == 0)
        return 0;
    unsigned char b = u[0];
    int n;
    uint32_t c, min;
    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
        n = 2; c = b & 0x1Fu; min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3; c = b & 0x0Fu; min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4; c = b & 0x07u; min = 0x10000;
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, or > U+10FFFF lead */
    }
    if ((size_t)n > len)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (u[i] & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

int mhv_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int mhv_utf8_valid(const char *s, size_t len, size_t *n_chars)
{
    size_t i = 0, n = 0;
    while (i < len) {
        uint32_t cp;
        int k = mhv_utf8_decode(s + i, len - i, &cp);
        if (k == 0)
            return 0;
        i += (size_t)k;
        n++;
    }
    if (n_chars)
        *n_chars = n;
    return 1;
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

static const mhv_uc_map *find_map(const mhv_uc_map *m, int n, uint32_t cp)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (cp < m[mid].cp)
            hi = mid - 1;
        else if (cp > m[mid].cp)
            lo = mid + 1;
        else
            return &m[mid];
    }
    return NULL;
}

int mhv_uc_is_whitespace(uint32_t cp)
{
    switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
        return 1;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

int mhv_uc_is_control(uint32_t cp)
{
    if (cp == '\t' || cp == '\n' || cp == '\r')
        return 0;
    return in_ranges(mhv_uc_control_ranges, mhv_uc_control_ranges_n, cp);
}

int mhv_uc_is_punctuation(uint32_t cp)
{
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
        (cp >= 123 && cp <= 126))
        return 1;
    return in_ranges(mhv_uc_punct_ranges, mhv_uc_punct_ranges_n, cp);
}

/* HF tokenizers has 0x2B920 where Google's BERT has 0x2B820 (U+2B820..2B91F are not padded
 * with spaces by HF); token ids must equal HF's, so its range is used. */
int mhv_uc_is_chinese_char(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

int mhv_uc_is_nonspacing_mark(uint32_t cp)
{
    return in_ranges(mhv_uc_mn_ranges, mhv_uc_mn_ranges_n, cp);
}

int mhv_uc_ccc(uint32_t cp)
{
    if (cp < 0x300)
        return 0;
    int lo = 0, hi = mhv_uc_ccc_ranges_n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (cp < mhv_uc_ccc_ranges[mid].lo)
            hi = mid - 1;
        else if (cp > mhv_uc_ccc_ranges[mid].hi)
            lo = mid + 1;
        else
            return mhv_uc_ccc_ranges[mid].ccc;
    }
    return 0;
}

static int copy_map(const mhv_uc_map *m, uint32_t out[MHV_UC_MAX_EXPANSION])
{
    int n = m->n < MHV_UC_MAX_EXPANSION ? m->n : MHV_UC_MAX_EXPANSION;
    for (int i = 0; i < n; i++)
        out[i] = m->to[i];
    return n;
}

int mhv_uc_to_lower(uint32_t cp, uint32_t out[MHV_UC_MAX_EXPANSION])
{
    if (cp < 0x80) {
        out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
        return 1;
    }
    const mhv_uc_map *m = find_map(mhv_uc_lower_map, mhv_uc_lower_map_n, cp);
    if (m)
        return copy_map(m, out);
    out[0] = cp;
    return 1;
}

int mhv_uc_is_letter(uint32_t cp)
{
    if (cp < 0x80)
        return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    return in_ranges(mhv_uc_letter_ranges, mhv_uc_letter_ranges_n, cp);
}

int mhv_uc_is_number(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= '0' && cp <= '9';
    return in_ranges(mhv_uc_number_ranges, mhv_uc_number_ranges_n, cp);
}

int mhv_uc_is_mark(uint32_t cp)
{
    return cp >= 0x300 && in_ranges(mhv_uc_mark_ranges, mhv_uc_mark_ranges_n, cp);
}

/* ---- NFC ---- */

enum { H_SB = 0xAC00, H_LB = 0x1100, H_VB = 0x1161, H_TB = 0x11A7, H_LN = 19, H_VN = 21,
       H_TN = 28, H_SN = 11172 };

/* Pure canonical decomposition (mhv_uc_decompose is the BERT one). */
static int nfd_one(uint32_t cp, uint32_t out[MHV_UC_MAX_EXPANSION])
{
    /* Hangul syllables: the algorithm of Unicode 3.12 instead of 11172 table rows. */
    if (cp >= H_SB && cp < H_SB + H_SN) {
        uint32_t s = cp - H_SB;
        out[0] = H_LB + s / (H_VN * H_TN);
        out[1] = H_VB + (s % (H_VN * H_TN)) / H_TN;
        if (s % H_TN == 0)
            return 2;
        out[2] = H_TB + s % H_TN;
        return 3;
    }
    const mhv_uc_map *m = cp < 0xC0 ? NULL : find_map(mhv_uc_nfd_map, mhv_uc_nfd_map_n, cp);
    if (m)
        return copy_map(m, out);
    out[0] = cp;
    return 1;
}

int mhv_uc_decompose(uint32_t cp, uint32_t out[MHV_UC_MAX_EXPANSION])
{
    const mhv_uc_map *m =
        cp < 0xC0 ? NULL : find_map(mhv_uc_decomp_delta, mhv_uc_decomp_delta_n, cp);
    return m ? copy_map(m, out) : nfd_one(cp, out);
}

/* 1 and *c when a followed by b composes (primary composites only). */
static int compose_pair(uint32_t a, uint32_t b, uint32_t *c)
{
    if (a >= H_LB && a < H_LB + H_LN && b >= H_VB && b < H_VB + H_VN) {
        *c = H_SB + ((a - H_LB) * H_VN + (b - H_VB)) * H_TN;
        return 1;
    }
    if (a >= H_SB && a < H_SB + H_SN && (a - H_SB) % H_TN == 0 && b > H_TB && b < H_TB + H_TN) {
        *c = a + (b - H_TB);
        return 1;
    }
    int lo = 0, hi = mhv_uc_compose_pairs_n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const mhv_uc_pair *p = &mhv_uc_compose_pairs[mid];
        if (a < p->a || (a == p->a && b < p->b))
            hi = mid - 1;
        else if (a > p->a || b > p->b)
            lo = mid + 1;
        else {
            *c = p->c;
            return 1;
        }
    }
    return 0;
}

/* Stable sort of a run of marks by combining class, each with its change (see mhv_uc_nfc);
 * counting sort so that a hostile run of thousands of marks stays linear. tcp / tch have
 * room for the run. */
static void sort_marks(uint32_t *cp, int32_t *ch, size_t n, uint32_t *tcp, int32_t *tch)
{
    if (n < 2)
        return;
    size_t count[257] = {0};
    for (size_t i = 0; i < n; i++)
        count[mhv_uc_ccc(cp[i]) + 1]++;
    for (int k = 1; k < 257; k++)
        count[k] += count[k - 1];
    for (size_t i = 0; i < n; i++) {
        size_t at = count[mhv_uc_ccc(cp[i])]++;
        tcp[at] = cp[i];
        tch[at] = ch[i];
    }
    memcpy(cp, tcp, n * sizeof *cp);
    memcpy(ch, tch, n * sizeof *ch);
}

/* Spans follow HF's alignment bookkeeping (NormalizedString::transform fed by the crate
 * unicode-normalization-alignments): every output code point carries a change, 0 when it
 * stands for the next input character, +1 when a decomposition inserted it, and a composition
 * adds up both changes minus one. Reading the output in order, a code point with change c <= 0
 * takes the origin of the next input character and consumes 1 - c of them; an inserted one
 * takes the origin of the last consumed. So origins are positional through the reordering
 * (checked against tokenizers on "a\u0345\u302e", "\u010f\u302f", "\u1e9b\u0323"). */
/* Compatibility decomposition (NFKD of one code point), as HF's NFKD yields it. */
static int nfkd_one(uint32_t cp, uint32_t out[MHV_UC_MAX_EXPANSION])
{
    const mhv_uc_map *m = cp < 0xA0 ? NULL : find_map(mhv_uc_nfkd_delta, mhv_uc_nfkd_delta_n, cp);
    return m ? copy_map(m, out) : nfd_one(cp, out);
}

static int normalize(const uint32_t *cps, const int32_t *orig, size_t n, int compose,
                     int compat, uint32_t **out_cp, int32_t **out_orig, size_t *out_n)
{
    int (*decompose)(uint32_t, uint32_t *) = compat ? nfkd_one : nfd_one;
    *out_cp = NULL;
    *out_orig = NULL;
    *out_n = 0;
    size_t cap = 1; /* decomposed length, counted first so memory is 2x that, not 36x n */
    for (size_t i = 0; i < n; i++) {
        uint32_t buf[MHV_UC_MAX_EXPANSION];
        cap += (size_t)decompose(cps[i], buf);
    }
    uint32_t *d = malloc(2 * cap * sizeof *d); /* second halves: scratch for sort_marks */
    int32_t *ch = malloc(2 * cap * sizeof *ch);
    if (!d || !ch) {
        free(d);
        free(ch);
        return -1;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t buf[MHV_UC_MAX_EXPANSION];
        int k = decompose(cps[i], buf);
        for (int j = 0; j < k; j++) {
            d[m] = buf[j];
            ch[m++] = j > 0;
        }
    }
    for (size_t i = 0; i < m;) {
        if (mhv_uc_ccc(d[i]) == 0) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < m && mhv_uc_ccc(d[j]) != 0)
            j++;
        sort_marks(d + i, ch + i, j - i, d + cap, ch + cap);
        i = j;
    }
    /* Canonical composition (UAX #15): a character joins the last starter unless something
     * between them is a starter or has a class >= its own. */
    size_t w = 0, st = 0;
    int have_st = 0, last = 0;
    if (!compose)
        w = m;
    for (size_t i = 0; compose && i < m; i++) {
        uint32_t c = d[i], comp;
        int cc = mhv_uc_ccc(c);
        if (have_st && (w == st + 1 || (last != 0 && last < cc)) && compose_pair(d[st], c, &comp)) {
            d[st] = comp;
            ch[st] += ch[i] - 1;
            continue;
        }
        if (cc == 0) {
            st = w;
            have_st = 1;
        }
        last = cc;
        d[w] = c;
        ch[w++] = ch[i];
    }
    int32_t *o = malloc((w ? w : 1) * sizeof *o);
    if (!o) {
        free(d);
        free(ch);
        return -1;
    }
    size_t p = 0; /* input characters consumed */
    for (size_t i = 0; i < w; i++) {
        if (ch[i] > 0) {
            o[i] = orig[p > 0 ? p - 1 : 0];
            continue;
        }
        o[i] = orig[p < n ? p : n - 1];
        p += (size_t)(1 - ch[i]);
    }
    free(ch);
    *out_cp = d;
    *out_orig = o;
    *out_n = w;
    return 0;
}

int mhv_uc_nfc(const uint32_t *cps, const int32_t *orig, size_t n, uint32_t **out_cp,
               int32_t **out_orig, size_t *out_n)
{
    return normalize(cps, orig, n, 1, 0, out_cp, out_orig, out_n);
}

int mhv_uc_nfd(const uint32_t *cps, const int32_t *orig, size_t n, uint32_t **out_cp,
               int32_t **out_orig, size_t *out_n)
{
    return normalize(cps, orig, n, 0, 0, out_cp, out_orig, out_n);
}

int mhv_uc_nfkc(const uint32_t *cps, const int32_t *orig, size_t n, uint32_t **out_cp,
                int32_t **out_orig, size_t *out_n)
{
    return normalize(cps, orig, n, 1, 1, out_cp, out_orig, out_n);
}

int mhv_uc_nfkd(const uint32_t *cps, const int32_t *orig, size_t n, uint32_t **out_cp,
                int32_t **out_orig, size_t *out_n)
{
    return normalize(cps, orig, n, 0, 1, out_cp, out_orig, out_n);
}
