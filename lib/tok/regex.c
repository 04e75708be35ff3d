/* regex.c - Oniguruma behind the find_iter of Hugging Face tokenizers.
 *
 * The Oniguruma inside `tokenizers` knows a newer Unicode than a system libonig (6.9.8 has
 * Unicode 14: 9272 letters and 120 numbers fewer), so the general categories a pattern names
 * (\p{L}, \p{N}, \p{Lu} ... see mhv_uc_regex_props) are given to Oniguruma as user
 * properties from tables probed from `tokenizers` itself, and the pattern is rewritten to use
 * them. */
#include "tok/regex.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oniguruma.h>

#include "text/unicode.h"

struct mhv_regex {
    regex_t *re;
};

static pthread_once_t onig_once = PTHREAD_ONCE_INIT;
static int onig_ok;
static OnigCodePoint *prop_ranges[32]; /* kept for Oniguruma, which does not copy them */

static void regex_init(void)
{
    OnigEncoding enc[1] = {ONIG_ENCODING_UTF8};
    onig_ok = onig_initialize(enc, 1) == ONIG_NORMAL;
    for (int i = 0; onig_ok && i < mhv_uc_regex_props_n && i < 32; i++) {
        const mhv_uc_prop *p = &mhv_uc_regex_props[i];
        OnigCodePoint *r = malloc((2 * (size_t)p->n + 1) * sizeof *r);
        char name[16];
        if (!r) {
            onig_ok = 0;
            break;
        }
        r[0] = (OnigCodePoint)p->n;
        for (int k = 0; k < p->n; k++) {
            r[1 + 2 * k] = p->r[k].lo;
            r[2 + 2 * k] = p->r[k].hi;
        }
        snprintf(name, sizeof name, "Mhv%s", p->name);
        if (onig_unicode_define_user_property(name, r) != ONIG_NORMAL) {
            free(r);
            onig_ok = 0;
            break;
        }
        prop_ranges[i] = r;
    }
}

/* The pattern with \p{X} / \P{X} / \pX for X one of the probed categories written as the user
 * property \p{MhvX}; other escapes are copied as they are. *out is malloc'd. */
static int rewrite(const char *pat, char **out)
{
    size_t len = strlen(pat), o = 0;
    char *w = malloc(3 * len + 1); /* "\pL" (3 bytes) becomes "\p{MhvL}" (8) at most */
    if (!w)
        return 0;
    for (size_t i = 0; i < len;) {
        if (pat[i] != '\\' || i + 1 >= len) {
            w[o++] = pat[i++];
            continue;
        }
        char c = pat[i + 1];
        if (c == 'p' || c == 'P') {
            size_t a = i + 2, b;
            int braces = a < len && pat[a] == '{', neg = 0;
            if (braces) {
                a++;
                if (a < len && pat[a] == '^')
                    neg = 1, a++;
                for (b = a; b < len && pat[b] != '}'; b++)
                    ;
            } else {
                b = a + 1 <= len ? a + 1 : a;
            }
            for (int k = 0; k < mhv_uc_regex_props_n && b <= len; k++) {
                const char *name = mhv_uc_regex_props[k].name;
                if (strlen(name) != b - a || strncmp(pat + a, name, b - a) != 0 ||
                    (braces && b >= len))
                    continue;
                o += (size_t)sprintf(w + o, "\\%c{%sMhv%s}", c, neg ? "^" : "", name);
                i = braces ? b + 1 : b;
                goto next;
            }
        }
        w[o++] = pat[i++]; /* the backslash and what it escapes, verbatim */
        w[o++] = pat[i++];
    next:;
    }
    w[o] = '\0';
    *out = w;
    return 1;
}

mhv_status mhv_regex_new(const char *pattern, const char *file, mhv_regex **out,
                         mhv_error *err)
{
    *out = NULL;
    pthread_once(&onig_once, regex_init);
    if (!onig_ok)
        return mhv_fail(err, MHV_ENOMEM, file, "cannot initialise the regex engine");
    size_t len = strlen(pattern);
    if (!mhv_utf8_valid(pattern, len, NULL))
        return mhv_fail(err, MHV_EFORMAT, file, "regex is not valid UTF-8");
    mhv_regex *r = calloc(1, sizeof *r);
    char *rw = NULL;
    if (!r || !rewrite(pattern, &rw)) {
        free(r);
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    }
    OnigErrorInfo einfo;
    const OnigUChar *p = (const OnigUChar *)rw;
    int rc = onig_new(&r->re, p, p + strlen(rw), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                      ONIG_SYNTAX_DEFAULT, &einfo);
    free(rw);
    if (rc != ONIG_NORMAL) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, rc, &einfo);
        free(r);
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "regex '%.80s': %.120s", pattern,
                        (const char *)msg);
    }
    *out = r;
    return MHV_OK;
}

void mhv_regex_free(mhv_regex *r)
{
    if (!r)
        return;
    onig_free(r->re);
    free(r);
}

mhv_status mhv_regex_find_all(const mhv_regex *r, const uint32_t *cp, size_t n,
                              size_t **ranges, size_t *count, mhv_error *err)
{
    *ranges = NULL;
    *count = 0;
    if (n > (size_t)INT32_MAX / 4)
        return mhv_fail(err, MHV_EUSAGE, "", "text too long for the regex engine");
    /* UTF-8 of the text, and the code point index of every byte offset that starts one */
    char *s = malloc(4 * n + 1);
    size_t *ci = malloc((4 * n + 1) * sizeof *ci);
    size_t *out = malloc((2 * n + 2) * sizeof *out); /* at most n + 1 matches */
    OnigRegion *region = onig_region_new();
    mhv_status st = MHV_OK;
    if (!s || !ci || !out || !region) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        goto done;
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        ci[len] = i;
        len += (size_t)mhv_utf8_encode(cp[i], s + len);
    }
    ci[len] = n;
    const OnigUChar *str = (const OnigUChar *)s, *end = str + len;
    size_t at = 0, k = 0;
    int have_last = 0;
    size_t last_end = 0;
    while (at <= len) {
        onig_region_clear(region);
        int rc = onig_search(r->re, str, end, str + at, end, region, ONIG_OPTION_NONE);
        if (rc == ONIG_MISMATCH)
            break;
        if (rc < 0) {
            st = mhv_fail(err, MHV_EINPUT, "", "regex search failed (%d)", rc);
            goto done;
        }
        size_t a = (size_t)region->beg[0], b = (size_t)region->end[0];
        if (a == b && have_last && last_end == b) {
            /* onig's find_iter: no empty match right after the previous one; step a char */
            if (at >= len)
                break;
            uint32_t c;
            int w = mhv_utf8_decode(s + at, len - at, &c);
            at += w > 0 ? (size_t)w : 1;
            continue;
        }
        at = b;
        have_last = 1;
        last_end = b;
        if (k > n) { /* cannot happen: matches are disjoint and empty ones are spaced */
            st = mhv_fail(err, MHV_EINPUT, "", "too many regex matches");
            goto done;
        }
        out[2 * k] = ci[a];
        out[2 * k + 1] = ci[b];
        k++;
    }
    *ranges = out;
    *count = k;
    out = NULL;
done:
    if (region)
        onig_region_free(region, 1);
    free(s);
    free(ci);
    free(out);
    return st;
}
