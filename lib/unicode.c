/* unicode.c - UTF-8 and the Unicode properties of BERT tokenization (tables generated). */
#include "unicode.h"

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

int mhv_uc_decompose(uint32_t cp, uint32_t out[MHV_UC_MAX_EXPANSION])
{
    /* Hangul syllables: the algorithm of Unicode 3.12 instead of 11172 table rows. */
    enum { SB = 0xAC00, LB = 0x1100, VB = 0x1161, TB = 0x11A7, VN = 21, TN = 28, SN = 11172 };
    if (cp >= SB && cp < SB + SN) {
        uint32_t s = cp - SB;
        out[0] = LB + s / (VN * TN);
        out[1] = VB + (s % (VN * TN)) / TN;
        if (s % TN == 0)
            return 2;
        out[2] = TB + s % TN;
        return 3;
    }
    if (cp < 0xC0) {
        out[0] = cp;
        return 1;
    }
    const mhv_uc_map *m = find_map(mhv_uc_decomp_map, mhv_uc_decomp_map_n, cp);
    if (m)
        return copy_map(m, out);
    out[0] = cp;
    return 1;
}
