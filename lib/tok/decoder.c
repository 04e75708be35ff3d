/* decoder.c - tokenizer.json's decoder chain, applied token by token (decoder.h). */
#include "tok/decoder.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "text/unicode.h"
#include "tok/pretok.h"

/* A string field of at most MHV_DEC_TEXT - 1 bytes into dst. */
static mhv_status text_field(const cJSON *d, const char *key, const char *def, char *dst,
                             const char *file, mhv_error *err)
{
    const char *s;
    mhv_status st = mhv_json_str(d, key, def, &s, file, err);
    if (st)
        return st;
    size_t len = strlen(s);
    if (len >= MHV_DEC_TEXT)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "decoder '%s' of %zu bytes is too long",
                        key, len);
    memcpy(dst, s, len + 1);
    return MHV_OK;
}

/* One UTF-8 character (Strip's and Metaspace's "char" fields). */
static mhv_status char_field(const cJSON *d, const char *key, const char *def, char *dst,
                             const char *file, mhv_error *err)
{
    mhv_status st = text_field(d, key, def, dst, file, err);
    uint32_t c;
    size_t len = strlen(dst);
    if (!st && (len == 0 || (size_t)mhv_utf8_decode(dst, len, &c) != len))
        return mhv_fail(err, MHV_EFORMAT, file, "decoder '%s' is not one character", key);
    return st;
}

static mhv_status parse_step(const cJSON *d, mhv_decoder *out, int depth, const char *file,
                             mhv_error *err)
{
    const char *type;
    mhv_status st = mhv_json_str(d, "type", NULL, &type, file, err);
    if (st)
        return st;
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = mhv_json_get(d, "decoders");
        if (!cJSON_IsArray(list) || depth > 4)
            return mhv_fail(err, MHV_EFORMAT, file, "'decoder.decoders' is not an array");
        for (const cJSON *e = list->child; e; e = e->next)
            if ((st = parse_step(e, out, depth + 1, file, err)))
                return st;
        return MHV_OK;
    }
    if (out->n == MHV_DEC_MAX_STEPS)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "more than %d decoder steps",
                        MHV_DEC_MAX_STEPS);
    mhv_dec_step *s = &out->step[out->n];
    memset(s, 0, sizeof *s);
    if (strcmp(type, "ByteLevel") == 0) {
        s->kind = MHV_DEC_BYTELEVEL;
    } else if (strcmp(type, "Metaspace") == 0) {
        s->kind = MHV_DEC_METASPACE;
        const char *scheme;
        int prefix;
        if ((st = char_field(d, "replacement", "\xE2\x96\x81", s->a, file, err)) ||
            (st = mhv_json_bool(d, "add_prefix_space", 1, &prefix, file, err)) ||
            (st = mhv_json_str(d, "prepend_scheme", prefix ? "always" : "never", &scheme, file,
                               err)))
            return st;
        if (strcmp(scheme, "always") && strcmp(scheme, "first") && strcmp(scheme, "never"))
            return mhv_fail(err, MHV_EUNSUPPORTED, file, "Metaspace decoder prepend_scheme "
                            "'%s' is not supported", scheme);
        s->flag = strcmp(scheme, "never") != 0;
    } else if (strcmp(type, "WordPiece") == 0) {
        s->kind = MHV_DEC_WORDPIECE;
        if ((st = text_field(d, "prefix", "##", s->a, file, err)) ||
            (st = mhv_json_bool(d, "cleanup", 1, &s->flag, file, err)))
            return st;
    } else if (strcmp(type, "ByteFallback") == 0) {
        s->kind = MHV_DEC_BYTEFALLBACK;
    } else if (strcmp(type, "Fuse") == 0) {
        s->kind = MHV_DEC_FUSE;
    } else if (strcmp(type, "Strip") == 0) {
        s->kind = MHV_DEC_STRIP;
        if ((st = char_field(d, "content", NULL, s->a, file, err)) ||
            (st = mhv_json_int(d, "start", 0, 0, 1000, &s->start, file, err)) ||
            (st = mhv_json_int(d, "stop", 0, 0, 1000, &s->stop, file, err)))
            return st;
    } else if (strcmp(type, "Replace") == 0) {
        s->kind = MHV_DEC_REPLACE;
        const cJSON *pat = mhv_json_get(d, "pattern");
        if (!cJSON_IsObject(pat) || !mhv_json_get(pat, "String"))
            return mhv_fail(err, MHV_EUNSUPPORTED, file, "Replace decoder with a Regex pattern "
                            "is not supported");
        if ((st = text_field(pat, "String", NULL, s->a, file, err)) ||
            (st = text_field(d, "content", NULL, s->b, file, err)))
            return st;
        if (!s->a[0])
            return mhv_fail(err, MHV_EFORMAT, file, "Replace decoder with an empty pattern");
    } else if (strcmp(type, "BPEDecoder") == 0) {
        s->kind = MHV_DEC_BPE;
        if ((st = text_field(d, "suffix", "</w>", s->a, file, err)))
            return st;
        if (!s->a[0])
            return mhv_fail(err, MHV_EFORMAT, file, "BPEDecoder with an empty suffix");
    } else {
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "decoder type '%.40s' is not supported",
                        type);
    }
    out->n++;
    return MHV_OK;
}

mhv_status mhv_decoder_parse(const cJSON *d, mhv_decoder *out, const char *file,
                             mhv_error *err)
{
    memset(out, 0, sizeof *out);
    if (!d || cJSON_IsNull(d))
        return MHV_OK;
    if (!cJSON_IsObject(d))
        return mhv_fail(err, MHV_EFORMAT, file, "'decoder' is not an object");
    mhv_status st = parse_step(d, out, 0, file, err);
    if (st)
        out->n = 0;
    return st;
}

/* ---- applying the chain -------------------------------------------------------------- */

typedef struct {
    char *p;        /* NUL-terminated */
    size_t len;
} str;

/* s becomes [a, a + alen) + [b, b + blen) + [c, c + clen); -1 when out of memory. */
static int set3(str *s, const char *a, size_t alen, const char *b, size_t blen, const char *c,
                size_t clen)
{
    char *p = malloc(alen + blen + clen + 1);
    if (!p)
        return -1;
    memcpy(p, a, alen);
    memcpy(p + alen, b, blen);
    memcpy(p + alen + blen, c, clen);
    p[alen + blen + clen] = '\0';
    free(s->p);
    s->p = p;
    s->len = alen + blen + clen;
    return 0;
}

/* Every occurrence of pat (not empty) in s replaced by rep. */
static int replace_all(str *s, const char *pat, const char *rep)
{
    size_t pl = strlen(pat), rl = strlen(rep), k = 0;
    for (size_t i = 0; i + pl <= s->len;)
        if (memcmp(s->p + i, pat, pl) == 0)
            k++, i += pl;
        else
            i++;
    if (!k)
        return 0;
    char *p = malloc(s->len + k * rl + 1), *o = p;
    if (!p)
        return -1;
    for (size_t i = 0; i < s->len;) {
        if (i + pl <= s->len && memcmp(s->p + i, pat, pl) == 0) {
            memcpy(o, rep, rl);
            o += rl, i += pl;
        } else {
            *o++ = s->p[i++];
        }
    }
    *o = '\0';
    free(s->p);
    s->p = p;
    s->len = (size_t)(o - p);
    return 0;
}

/* ByteLevel: every character of the byte alphabet to its byte; a token with any other
 * character (an added token's own text) is kept as it is, as tokenizers does. */
static void bytelevel(str *s)
{
    for (size_t i = 0; i < s->len;) {
        uint32_t c;
        int k = mhv_utf8_decode(s->p + i, s->len - i, &c);
        if (k <= 0 || mhv_bytelevel_byte(c) < 0)
            return;
        i += (size_t)k;
    }
    size_t o = 0;
    for (size_t i = 0; i < s->len;) {
        uint32_t c;
        int k = mhv_utf8_decode(s->p + i, s->len - i, &c);
        s->p[o++] = (char)mhv_bytelevel_byte(c);
        i += (size_t)k;
    }
    s->p[o] = '\0';
    s->len = o;
}

/* ByteFallback: "<0xE8>" is the byte 0xE8 (the following ones of a character stay apart). */
static void bytefallback(str *s)
{
    static const char hex[] = "0123456789ABCDEF";
    if (s->len != 6 || strncmp(s->p, "<0x", 3) != 0 || s->p[5] != '>')
        return;
    const char *h = memchr(hex, s->p[3], 16), *l = memchr(hex, s->p[4], 16);
    if (!h || !l)
        return;
    s->p[0] = (char)((h - hex) * 16 + (l - hex));
    s->p[1] = '\0';
    s->len = 1;
}

/* Metaspace: the replacement character is a space, except in the first token when the
 * scheme prepends one (that space is dropped there). */
static int metaspace(str *s, const mhv_dec_step *st, int first)
{
    return replace_all(s, st->a, first && st->flag ? "" : " ");
}

static int wordpiece(str *s, const mhv_dec_step *st, int first)
{
    static const char *const clean[][2] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
        {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    size_t pl = strlen(st->a);
    if (!first) {
        if (pl && s->len >= pl && memcmp(s->p, st->a, pl) == 0) {
            if (set3(s, s->p + pl, s->len - pl, "", 0, "", 0))
                return -1;
        } else if (set3(s, " ", 1, s->p, s->len, "", 0)) {
            return -1;
        }
    }
    for (size_t k = 0; st->flag && k < sizeof clean / sizeof clean[0]; k++)
        if (replace_all(s, clean[k][0], clean[k][1]))
            return -1;
    return 0;
}

/* Strip: up to *left leading and *right trailing copies of c (cl bytes) off s, the counts
 * lowered by what was taken (a fused run goes on into the next token while one is emptied). */
static void strip(str *s, const char *c, size_t cl, int *left, int *right)
{
    size_t a = 0, b = s->len;
    while (*left > 0 && a + cl <= b && memcmp(s->p + a, c, cl) == 0)
        a += cl, (*left)--;
    while (*right > 0 && b >= a + cl && memcmp(s->p + b - cl, c, cl) == 0)
        b -= cl, (*right)--;
    memmove(s->p, s->p + a, b - a);
    s->len = b - a;
    s->p[s->len] = '\0';
}

void mhv_decoder_tokens_free(char **toks, int n)
{
    for (int i = 0; toks && i < n; i++)
        free(toks[i]);
    free(toks);
}

mhv_status mhv_decoder_tokens(const mhv_decoder *d, const char *const *pieces, int n,
                              char ***out, mhv_error *err)
{
    str *t = calloc((size_t)n + 1, sizeof *t);
    int bad = !t;
    for (int i = 0; !bad && i < n; i++)
        bad = set3(&t[i], pieces[i], strlen(pieces[i]), "", 0, "", 0);
    int fused = 0;
    for (int k = 0; !bad && k < d->n; k++) {
        const mhv_dec_step *st = &d->step[k];
        if (st->kind == MHV_DEC_FUSE) {
            fused = 1;
            continue;
        }
        if (st->kind == MHV_DEC_STRIP && fused) { /* on the fused text: its two ends */
            int left = st->start, right = st->stop;
            size_t cl = strlen(st->a);
            for (int i = 0, none = 0; i < n && left > 0; i++) {
                strip(&t[i], st->a, cl, &left, &none);
                if (t[i].len) /* the text starts here */
                    break;
            }
            for (int i = n - 1, none = 0; i >= 0 && right > 0; i--) {
                strip(&t[i], st->a, cl, &none, &right);
                if (t[i].len)
                    break;
            }
            continue;
        }
        for (int i = 0; !bad && i < n; i++) {
            switch (st->kind) {
            case MHV_DEC_BYTELEVEL: bytelevel(&t[i]); break;
            case MHV_DEC_BYTEFALLBACK: bytefallback(&t[i]); break;
            case MHV_DEC_METASPACE: bad = metaspace(&t[i], st, i == 0); break;
            case MHV_DEC_WORDPIECE: bad = wordpiece(&t[i], st, i == 0); break;
            case MHV_DEC_REPLACE: bad = replace_all(&t[i], st->a, st->b); break;
            case MHV_DEC_BPE: bad = replace_all(&t[i], st->a, i == n - 1 ? "" : " "); break;
            case MHV_DEC_STRIP: {
                int left = st->start, right = st->stop;
                strip(&t[i], st->a, strlen(st->a), &left, &right);
                break;
            }
            case MHV_DEC_FUSE: break;
            }
        }
    }
    char **res = bad ? NULL : malloc(((size_t)n + 1) * sizeof *res);
    if (!res) {
        for (int i = 0; t && i < n; i++)
            free(t[i].p);
        free(t);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    for (int i = 0; i < n; i++)
        res[i] = t[i].p;
    free(t);
    *out = res;
    return MHV_OK;
}
