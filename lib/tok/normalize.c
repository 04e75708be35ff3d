/* normalize.c - tokenizer.json normalizers with HF's alignments (see normalize.h). */
#include "tok/normalize.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/json.h"
#include "text/unicode.h"
#include "tok/charsmap.h"
#include "tok/regex.h"

#define MAX_STEPS 32
#define MAX_DEPTH 4 /* Sequence inside Sequence */

typedef enum {
    NZ_NFC, NZ_NFD, NZ_NFKC, NZ_NFKD, NZ_LOWER, NZ_STRIP, NZ_STRIP_ACCENTS, NZ_REPLACE,
    NZ_PREPEND, NZ_PRECOMPILED
} nz_kind;

typedef struct {
    nz_kind kind;
    int left, right;       /* STRIP */
    uint32_t *text;        /* PREPEND: the prefix; REPLACE: the content */
    size_t n_text;
    uint32_t *pat;         /* REPLACE with a string pattern */
    size_t n_pat;
    mhv_regex *re;         /* REPLACE with a regex pattern */
    mhv_charsmap *map;     /* PRECOMPILED */
} nz_step;

struct mhv_normalizer {
    nz_step steps[MAX_STEPS];
    int n;
};

/* ---- mhv_normtext ---- */

int mhv_normtext_reserve(mhv_normtext *t, size_t more)
{
    if (t->n + more <= t->cap)
        return 1;
    size_t cap = t->cap ? t->cap : 64;
    while (cap < t->n + more)
        cap *= 2;
    uint32_t *c = realloc(t->cp, cap * sizeof *c);
    if (!c)
        return 0;
    t->cp = c;
    int32_t *o = realloc(t->orig, cap * sizeof *o);
    if (!o)
        return 0;
    t->orig = o;
    t->cap = cap;
    return 1;
}

int mhv_normtext_push(mhv_normtext *t, uint32_t cp, int32_t orig)
{
    if (!mhv_normtext_reserve(t, 1))
        return 0;
    t->cp[t->n] = cp;
    t->orig[t->n++] = orig;
    return 1;
}

int mhv_normtext_prepend(mhv_normtext *t, const uint32_t *p, size_t k)
{
    if (t->n == 0 || k == 0)
        return 1;
    if (!mhv_normtext_reserve(t, k))
        return 0;
    memmove(t->cp + k, t->cp, t->n * sizeof *t->cp);
    memmove(t->orig + k, t->orig, t->n * sizeof *t->orig);
    for (size_t i = 0; i < k; i++) {
        t->cp[i] = p[i];
        t->orig[i] = t->orig[k];
    }
    t->n += k;
    return 1;
}

/* ---- parsing ---- */

/* A JSON string as code points (malloc'd; *n may be 0). */
static mhv_status utf32(const char *s, const char *file, uint32_t **out, size_t *n,
                        mhv_error *err)
{
    size_t len = strlen(s), k = 0;
    *out = malloc((len + 1) * sizeof **out);
    *n = 0;
    if (!*out)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    while (k < len) {
        int w = mhv_utf8_decode(s + k, len - k, &(*out)[*n]);
        if (w <= 0)
            return mhv_fail(err, MHV_EFORMAT, file, "normalizer text is not UTF-8");
        (*n)++;
        k += (size_t)w;
    }
    return MHV_OK;
}

static void step_free(nz_step *s)
{
    free(s->text);
    free(s->pat);
    mhv_regex_free(s->re);
    mhv_charsmap_free(s->map);
}

void mhv_normalizer_free(mhv_normalizer *nz)
{
    if (!nz)
        return;
    for (int i = 0; i < nz->n; i++)
        step_free(&nz->steps[i]);
    free(nz);
}

static const char *const nz_names[] = {"NFC",          "NFD",     "NFKC",    "NFKD",
                                       "Lowercase",    "Strip",   "StripAccents",
                                       "Replace",      "Prepend", "Precompiled",
                                       "Sequence"};
enum { N_NAMES = sizeof nz_names / sizeof nz_names[0] };

static mhv_status add_step(mhv_normalizer *nz, const cJSON *j, int depth, const char *file,
                           mhv_error *err)
{
    const char *type;
    mhv_status st = mhv_json_str(j, "type", NULL, &type, file, err);
    if (st)
        return st;
    int k = -1;
    for (int i = 0; i < N_NAMES; i++)
        if (strcmp(type, nz_names[i]) == 0)
            k = i;
    if (k < 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "unsupported normalizer '%.60s'", type);
    if (k == N_NAMES - 1) {
        const cJSON *list = mhv_json_get(j, "normalizers");
        if (!cJSON_IsArray(list))
            return mhv_fail(err, MHV_EFORMAT, file, "'normalizers' is not an array");
        if (depth >= MAX_DEPTH)
            return mhv_fail(err, MHV_EUNSUPPORTED, file, "normalizer sequences nested deeper "
                                                         "than %d", MAX_DEPTH);
        for (const cJSON *x = list->child; x; x = x->next)
            if ((st = add_step(nz, x, depth + 1, file, err)))
                return st;
        return MHV_OK;
    }
    if (nz->n >= MAX_STEPS)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "more than %d normalizers", MAX_STEPS);
    nz_step *s = &nz->steps[nz->n++];
    memset(s, 0, sizeof *s);
    s->kind = (nz_kind)k;
    const char *str;
    switch (s->kind) {
    case NZ_STRIP:
        if ((st = mhv_json_bool(j, "strip_left", 1, &s->left, file, err)) ||
            (st = mhv_json_bool(j, "strip_right", 1, &s->right, file, err)))
            return st;
        break;
    case NZ_PREPEND:
        if ((st = mhv_json_str(j, "prepend", NULL, &str, file, err)))
            return st;
        return utf32(str, file, &s->text, &s->n_text, err);
    case NZ_PRECOMPILED:
        if ((st = mhv_json_str(j, "precompiled_charsmap", NULL, &str, file, err)))
            return st;
        return mhv_charsmap_from_base64(str, file, &s->map, err);
    case NZ_REPLACE: {
        const cJSON *pat = mhv_json_get(j, "pattern");
        const char *content;
        if ((st = mhv_json_str(j, "content", NULL, &content, file, err)) ||
            (st = utf32(content, file, &s->text, &s->n_text, err)))
            return st;
        const cJSON *ps = mhv_json_get(pat, "String"), *pr = mhv_json_get(pat, "Regex");
        if (cJSON_IsString(ps))
            return utf32(ps->valuestring, file, &s->pat, &s->n_pat, err);
        if (cJSON_IsString(pr))
            return mhv_regex_new(pr->valuestring, file, &s->re, err);
        return mhv_fail(err, MHV_EFORMAT, file, "Replace normalizer has no String or Regex "
                                                "pattern");
    }
    default:
        break;
    }
    return MHV_OK;
}

mhv_status mhv_normalizer_from_json(const cJSON *j, const char *file, mhv_normalizer **out,
                                    mhv_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    if (!j || cJSON_IsNull(j))
        return MHV_OK;
    if (!cJSON_IsObject(j))
        return mhv_fail(err, MHV_EFORMAT, file, "'normalizer' is not an object");
    return add_step(*out, j, 0, file, err);
}

mhv_status mhv_normalizer_nfc(int nfc, mhv_normalizer **out, mhv_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (nfc)
        (*out)->steps[(*out)->n++].kind = NZ_NFC;
    return MHV_OK;
}

/* ---- applying ---- */

/* Matches of a literal (non-overlapping, left to right), as HF's &str Pattern. */
static mhv_status literal_matches(const nz_step *s, const mhv_normtext *t, size_t **r,
                                  size_t *count, mhv_error *err)
{
    *count = 0;
    *r = malloc((2 * t->n + 2) * sizeof **r);
    if (!*r)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (s->n_pat == 0)
        return MHV_OK;
    for (size_t i = 0; i + s->n_pat <= t->n;) {
        if (memcmp(t->cp + i, s->pat, s->n_pat * sizeof *s->pat) == 0) {
            (*r)[2 * *count] = i;
            (*r)[2 * *count + 1] = i + s->n_pat;
            (*count)++;
            i += s->n_pat;
        } else {
            i++;
        }
    }
    return MHV_OK;
}

/* Replace: each match becomes the content, aligned with the match's last character (HF's
 * transform_range inserts after the removed characters). */
static mhv_status replace(const nz_step *s, mhv_normtext *t, mhv_error *err)
{
    size_t *r, count;
    mhv_status st = s->re ? mhv_regex_find_all(s->re, t->cp, t->n, &r, &count, err)
                          : literal_matches(s, t, &r, &count, err);
    if (st)
        return st;
    mhv_normtext o = {0};
    size_t at = 0;
    for (size_t m = 0; m <= count && !st; m++) {
        size_t a = m < count ? r[2 * m] : t->n, b = m < count ? r[2 * m + 1] : t->n;
        for (; at < a; at++)
            if (!mhv_normtext_push(&o, t->cp[at], t->orig[at]))
                st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        if (m == count || a == b)
            continue;
        for (size_t k = 0; k < s->n_text && !st; k++)
            if (!mhv_normtext_push(&o, s->text[k], t->orig[b - 1]))
                st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        at = b;
    }
    free(r);
    if (st) {
        mhv_normtext_free(&o);
        return st;
    }
    mhv_normtext_free(t);
    *t = o;
    return MHV_OK;
}

static mhv_status unicode_form(mhv_normtext *t, nz_kind form, mhv_error *err)
{
    uint32_t *cp;
    int32_t *orig;
    size_t n;
    int (*f)(const uint32_t *, const int32_t *, size_t, uint32_t **, int32_t **, size_t *) =
        form == NZ_NFC ? mhv_uc_nfc : form == NZ_NFD ? mhv_uc_nfd
                                    : form == NZ_NFKC ? mhv_uc_nfkc : mhv_uc_nfkd;
    int rc = f(t->cp, t->orig, t->n, &cp, &orig, &n);
    if (rc)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    mhv_normtext_free(t);
    t->cp = cp;
    t->orig = orig;
    t->n = t->cap = n;
    return MHV_OK;
}

static mhv_status lowercase(mhv_normtext *t, mhv_error *err)
{
    mhv_normtext o = {0};
    for (size_t i = 0; i < t->n; i++) {
        uint32_t lo[MHV_UC_MAX_EXPANSION];
        int k = mhv_uc_to_lower(t->cp[i], lo);
        for (int j = 0; j < k; j++)
            if (!mhv_normtext_push(&o, lo[j], t->orig[i])) {
                mhv_normtext_free(&o);
                return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
            }
    }
    mhv_normtext_free(t);
    *t = o;
    return MHV_OK;
}

static void filter(mhv_normtext *t, int strip_accents, int left, int right)
{
    size_t a = 0, b = t->n, w = 0;
    if (left)
        while (a < b && mhv_uc_is_whitespace(t->cp[a]))
            a++;
    if (right)
        while (b > a && mhv_uc_is_whitespace(t->cp[b - 1]))
            b--;
    for (size_t i = a; i < b; i++) {
        if (strip_accents && mhv_uc_is_mark(t->cp[i]))
            continue;
        t->cp[w] = t->cp[i];
        t->orig[w++] = t->orig[i];
    }
    t->n = w;
}

mhv_status mhv_normalizer_apply(const mhv_normalizer *nz, mhv_normtext *t, mhv_error *err)
{
    mhv_status st = MHV_OK;
    for (int i = 0; nz && i < nz->n && !st; i++) {
        const nz_step *s = &nz->steps[i];
        switch (s->kind) {
        case NZ_NFC:
        case NZ_NFD:
        case NZ_NFKC:
        case NZ_NFKD: st = unicode_form(t, s->kind, err); break;
        case NZ_LOWER: st = lowercase(t, err); break;
        case NZ_STRIP: filter(t, 0, s->left, s->right); break;
        case NZ_STRIP_ACCENTS: filter(t, 1, 0, 0); break;
        case NZ_REPLACE: st = replace(s, t, err); break;
        case NZ_PRECOMPILED: st = mhv_charsmap_apply(s->map, t, err); break;
        case NZ_PREPEND:
            if (!mhv_normtext_prepend(t, s->text, s->n_text))
                st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
            break;
        }
    }
    return st;
}
