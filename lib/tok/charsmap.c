/* charsmap.c - SentencePiece precompiled charsmap (spm_precompiled, as tokenizers uses it). */
#include "tok/charsmap.h"

#include <stdlib.h>
#include <string.h>

#include "text/unicode.h"

struct mhv_charsmap {
    uint32_t *units;   /* (n_units,) Darts double-array */
    size_t n_units;
    char *strings;     /* (n_str,) replacement strings, NUL-terminated each */
    size_t n_str;
};

void mhv_charsmap_free(mhv_charsmap *m)
{
    if (!m)
        return;
    free(m->units);
    free(m->strings);
    free(m);
}

mhv_status mhv_charsmap_new(const unsigned char *blob, size_t len, const char *file,
                            mhv_charsmap **out, mhv_error *err)
{
    *out = NULL;
    if (len < 4)
        return mhv_fail(err, MHV_EFORMAT, file, "precompiled_charsmap is shorter than 4 bytes");
    size_t tsize = (size_t)blob[0] | (size_t)blob[1] << 8 | (size_t)blob[2] << 16 |
                   (size_t)blob[3] << 24;
    if (tsize > len - 4 || tsize % 4 != 0)
        return mhv_fail(err, MHV_EFORMAT, file, "precompiled_charsmap trie size %zu is wrong",
                        tsize);
    mhv_charsmap *m = calloc(1, sizeof *m);
    if (!m)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    m->n_units = tsize / 4;
    m->n_str = len - 4 - tsize;
    m->units = malloc((m->n_units ? m->n_units : 1) * sizeof *m->units);
    m->strings = malloc(m->n_str + 1);
    if (!m->units || !m->strings) {
        mhv_charsmap_free(m);
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    }
    for (size_t i = 0; i < m->n_units; i++) {
        const unsigned char *u = blob + 4 + 4 * i;
        m->units[i] = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
                      (uint32_t)u[3] << 24;
    }
    memcpy(m->strings, blob + 4 + tsize, m->n_str);
    m->strings[m->n_str] = '\0';
    if (!mhv_utf8_valid(m->strings, m->n_str, NULL)) {
        mhv_charsmap_free(m);
        return mhv_fail(err, MHV_EFORMAT, file, "precompiled_charsmap strings are not UTF-8");
    }
    *out = m;
    return MHV_OK;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

mhv_status mhv_charsmap_from_base64(const char *b64, const char *file, mhv_charsmap **out,
                                    mhv_error *err)
{
    *out = NULL;
    size_t len = strlen(b64);
    unsigned char *buf = malloc(len / 4 * 3 + 3);
    if (!buf)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        if (b64[i] == '=') {
            pad++;
            continue;
        }
        int v = b64val(b64[i]);
        if (v < 0 || pad) {
            free(buf);
            return mhv_fail(err, MHV_EFORMAT, file, "precompiled_charsmap is not base64");
        }
        acc = (acc << 6 | (uint32_t)v) & 0xFFFFFFu;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (unsigned char)(acc >> bits);
        }
    }
    mhv_status st = mhv_charsmap_new(buf, n, file, out, err);
    free(buf);
    return st;
}

#define OFFSET(u) (((u) >> 10) << (((u) & (1u << 9)) >> 6))
#define LABEL(u) ((u) & ((1u << 31) | 0xFFu))
#define HAS_LEAF(u) (((u) >> 8) & 1u)
#define VALUE(u) ((u) & ((1u << 31) - 1))

/* Darts common-prefix search: calls hit(ctx, length, value) for each key that is a prefix of
 * key (len,), shortest first, until it returns 0; values are checked against the strings. */
static void prefixes(const mhv_charsmap *m, const unsigned char *key, size_t len,
                     int (*hit)(void *, size_t, size_t), void *ctx)
{
    if (m->n_units == 0)
        return;
    size_t pos = 0;
    uint32_t unit = m->units[0];
    pos ^= OFFSET(unit);
    for (size_t i = 0; i < len; i++) {
        unsigned c = key[i];
        if (c == 0)
            break;
        pos ^= c;
        if (pos >= m->n_units)
            return;
        unit = m->units[pos];
        if (LABEL(unit) != c)
            return;
        pos ^= OFFSET(unit);
        if (HAS_LEAF(unit)) {
            if (pos >= m->n_units)
                return;
            size_t v = VALUE(m->units[pos]);
            if (v > m->n_str || !hit(ctx, i + 1, v))
                return;
        }
    }
}
#undef OFFSET
#undef LABEL
#undef HAS_LEAF
#undef VALUE

static int first_hit(void *ctx, size_t length, size_t value)
{
    (void)length;
    *(long *)ctx = (long)value;
    return 0;
}

/* The first (shortest) hit, as spm_precompiled takes it: offset into strings, or -1. */
static long first_prefix(const mhv_charsmap *m, const unsigned char *key, size_t len)
{
    long v = -1;
    prefixes(m, key, len, first_hit, &v);
    return v;
}

typedef struct {
    size_t length, value;
    int hits;
} longest_ctx;

static int longest_hit(void *ctx, size_t length, size_t value)
{
    longest_ctx *c = ctx;
    if (c->hits == 0 || length > c->length)
        c->length = length, c->value = value;
    return ++c->hits < 32; /* sentencepiece's result buffer holds 32 */
}

const char *mhv_charsmap_longest(const mhv_charsmap *m, const unsigned char *key, size_t len,
                                 size_t *matched)
{
    longest_ctx c = {0, 0, 0};
    prefixes(m, key, len, longest_hit, &c);
    *matched = c.length;
    return c.hits ? m->strings + c.value : NULL;
}

/* Extended grapheme clusters, approximated: a character with the marks, joiners and
 * variation selectors after it, CR LF, and emoji joined by ZWJ. Only clusters shorter than
 * 6 bytes are looked up whole, so what matters is a base plus one or two marks. */
static int extends(uint32_t c)
{
    return mhv_uc_is_nonspacing_mark(c) || mhv_uc_ccc(c) != 0 || c == 0x200D || c == 0x200C ||
           (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0x1F3FB && c <= 0x1F3FF) ||
           (c >= 0xE0020 && c <= 0xE007F) || (c >= 0x0903 && c <= 0x0903);
}

static size_t grapheme_end(const uint32_t *cp, size_t n, size_t i)
{
    if (cp[i] == '\r' && i + 1 < n && cp[i + 1] == '\n')
        return i + 2;
    if (cp[i] == '\r' || cp[i] == '\n' || (cp[i] < 0x20) || cp[i] == 0x7F)
        return i + 1;
    size_t j = i + 1;
    while (j < n && extends(cp[j]) && cp[j] != '\r' && cp[j] != '\n') {
        if (cp[j] == 0x200D && j + 1 < n && cp[j + 1] >= 0x1F000 && j > i)
            j++; /* ZWJ then a pictograph: one emoji sequence */
        j++;
    }
    return j;
}

static int emit(mhv_normtext *o, const char *s, int32_t orig)
{
    size_t len = strlen(s), k = 0;
    while (k < len) {
        uint32_t c;
        int w = mhv_utf8_decode(s + k, len - k, &c);
        if (w <= 0)
            return 0;
        if (!mhv_normtext_push(o, c, orig))
            return -1;
        k += (size_t)w;
    }
    return 1;
}

mhv_status mhv_charsmap_apply(const mhv_charsmap *m, mhv_normtext *t, mhv_error *err)
{
    mhv_normtext o = {0};
    unsigned char key[8 * 4];
    size_t i = 0;
    while (i < t->n) {
        size_t e = grapheme_end(t->cp, t->n, i), klen = 0;
        int whole = 1;
        for (size_t j = i; j < e && whole; j++) {
            if (klen + 4 > sizeof key)
                whole = 0;
            else
                klen += (size_t)mhv_utf8_encode(t->cp[j], (char *)key + klen);
        }
        long v = whole && klen < 6 ? first_prefix(m, key, klen) : -1;
        if (v >= 0) {
            if (emit(&o, m->strings + v, t->orig[i]) < 0)
                goto oom;
            i = e;
            continue;
        }
        for (; i < e; i++) {
            char u[4];
            int w = mhv_utf8_encode(t->cp[i], u);
            v = first_prefix(m, (const unsigned char *)u, (size_t)w);
            if (v >= 0) {
                if (emit(&o, m->strings + v, t->orig[i]) < 0)
                    goto oom;
            } else if (!mhv_normtext_push(&o, t->cp[i], t->orig[i])) {
                goto oom;
            }
        }
    }
    mhv_normtext_free(t);
    *t = o;
    return MHV_OK;
oom:
    mhv_normtext_free(&o);
    return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
}
