/* pretok.c - GPT-2 / Qwen2 pre-tokenization patterns, matched by hand.
 *
 * Oniguruma (what HF tokenizers runs) tries the alternatives in order at each position and
 * takes the first that matches, with backtracking inside an alternative; each function below
 * is one alternative written out, returning the match end or 0 for no match. \s is the
 * Unicode White_Space property, \p{L} / \p{N} the regex engine's own tables (unicode.h). */
#include "tok/pretok.h"

#include <string.h>

#include "text/unicode.h"

const char *const mhv_pretok_pattern_gpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const char *const mhv_pretok_pattern_qwen2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

int mhv_pretok_from_pattern(const char *pattern, mhv_pretok_kind *kind)
{
    if (strcmp(pattern, mhv_pretok_pattern_gpt2) == 0) {
        *kind = MHV_PRETOK_GPT2;
        return 1;
    }
    if (strcmp(pattern, mhv_pretok_pattern_qwen2) == 0) {
        *kind = MHV_PRETOK_QWEN2;
        return 1;
    }
    return 0;
}

static int is_ws(uint32_t c) { return mhv_uc_is_whitespace(c); }
static int is_l(uint32_t c) { return mhv_uc_is_letter(c); }
static int is_n(uint32_t c) { return mhv_uc_is_number(c); }
static int is_other(uint32_t c) { return !is_ws(c) && !is_l(c) && !is_n(c); }
static int is_crlf(uint32_t c) { return c == '\r' || c == '\n'; }

/* Case-insensitive ASCII letter test for Qwen2's (?i:...): simple case folding also maps
 * U+017F LATIN SMALL LETTER LONG S to 's' (checked against tokenizers). */
static int fold_eq(uint32_t c, char want, int icase)
{
    if (c == (uint32_t)want)
        return 1;
    if (!icase)
        return 0;
    if (c == (uint32_t)(want - 32))
        return 1;
    return want == 's' && c == 0x17F;
}

/* 's|'t|'re|'ve|'m|'ll|'d */
static size_t contraction(const uint32_t *cp, size_t n, size_t i, int icase)
{
    if (cp[i] != '\'' || i + 1 >= n)
        return 0;
    uint32_t a = cp[i + 1];
    if (fold_eq(a, 's', icase) || fold_eq(a, 't', icase))
        return i + 2;
    if (i + 2 < n) {
        uint32_t b = cp[i + 2];
        if ((fold_eq(a, 'r', icase) && fold_eq(b, 'e', icase)) ||
            (fold_eq(a, 'v', icase) && fold_eq(b, 'e', icase)) ||
            (fold_eq(a, 'l', icase) && fold_eq(b, 'l', icase)))
            return i + 3;
    }
    if (fold_eq(a, 'm', icase) || fold_eq(a, 'd', icase))
        return i + 2;
    return 0;
}

static size_t run(const uint32_t *cp, size_t n, size_t i, int (*cls)(uint32_t))
{
    while (i < n && cls(cp[i]))
        i++;
    return i;
}

/* " ?X+" for a class X: the optional space is taken only when X follows it. */
static size_t opt_space_run(const uint32_t *cp, size_t n, size_t i, int (*cls)(uint32_t))
{
    if (cp[i] == ' ' && i + 1 < n && cls(cp[i + 1]))
        return run(cp, n, i + 1, cls);
    if (cls(cp[i]))
        return run(cp, n, i, cls);
    return 0;
}

/* \s+(?!\S) then \s+: a whitespace run, minus its last character when a non-space follows
 * (that character then goes with the next word), unless the run is one character long. */
static size_t space_runs(const uint32_t *cp, size_t n, size_t i)
{
    if (!is_ws(cp[i]))
        return 0;
    size_t j = run(cp, n, i, is_ws);
    if (j == n || j - i == 1)
        return j;
    return j - 1;
}

static size_t match_gpt2(const uint32_t *cp, size_t n, size_t i)
{
    size_t e;
    if ((e = contraction(cp, n, i, 0)) || (e = opt_space_run(cp, n, i, is_l)) ||
        (e = opt_space_run(cp, n, i, is_n)) || (e = opt_space_run(cp, n, i, is_other)) ||
        (e = space_runs(cp, n, i)))
        return e;
    return i + 1; /* unreachable: every character is \s, \p{L}, \p{N} or other */
}

static int not_crlf_l_n(uint32_t c) { return !is_crlf(c) && !is_l(c) && !is_n(c); }

static size_t match_qwen2(const uint32_t *cp, size_t n, size_t i)
{
    size_t e;
    if ((e = contraction(cp, n, i, 1)))
        return e;
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (not_crlf_l_n(cp[i]) && i + 1 < n && is_l(cp[i + 1]))
        return run(cp, n, i + 1, is_l);
    if (is_l(cp[i]))
        return run(cp, n, i, is_l);
    /* \p{N} */
    if (is_n(cp[i]))
        return i + 1;
    /* ?[^\s\p{L}\p{N}]+[\r\n]* */
    if ((e = opt_space_run(cp, n, i, is_other)))
        return run(cp, n, e, is_crlf);
    /* \s*[\r\n]+: the longest whitespace run, cut after its last \r or \n */
    if (is_ws(cp[i])) {
        size_t j = run(cp, n, i, is_ws);
        for (size_t k = j; k > i; k--)
            if (is_crlf(cp[k - 1]))
                return k;
    }
    if ((e = space_runs(cp, n, i)))
        return e;
    return i + 1;
}

size_t mhv_pretok_match(mhv_pretok_kind kind, const uint32_t *cp, size_t n, size_t i)
{
    return kind == MHV_PRETOK_QWEN2 ? match_qwen2(cp, n, i) : match_gpt2(cp, n, i);
}

/* Printable Latin-1 bytes stand for themselves; the other 68 are moved to U+0100.. in byte
 * order, so that no vocabulary string holds a control character or a space. */
static int printable(unsigned b)
{
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

uint32_t mhv_bytelevel_char(unsigned char b)
{
    /* the non-printable bytes in order: 0-32, 127-160, 173 */
    if (printable(b))
        return b;
    if (b <= 32)
        return 256u + b;
    if (b >= 127 && b <= 160)
        return 256u + 33u + (b - 127u);
    return 256u + 67u; /* 173 */
}

int mhv_bytelevel_byte(uint32_t cp)
{
    if (cp < 256)
        return printable(cp) ? (int)cp : -1;
    if (cp >= 256 + 68)
        return -1;
    uint32_t k = cp - 256;
    for (unsigned b = 0; b < 256; b++)
        if (!printable(b) && k-- == 0)
            return (int)b;
    return -1;
}
