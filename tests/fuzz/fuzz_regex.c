/* fuzz_regex.c - the Split pre-tokenizer's regexes (Oniguruma). First byte odd: the input is
 * "pattern\0text"; a compiled pattern's matches must be in order, disjoint and inside the
 * text, an empty one never right after the previous match. First byte even: the text goes to
 * the GPT-2 (bit 1 clear) or Qwen2 hand matcher and to Oniguruma with the same pattern, and
 * both must cut it the same way (the hand matchers are the fast path of the regex path). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "text/unicode.h"
#include "tok/pretok.h"
#include "tok/regex.h"

static mhv_regex *hand_re[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    mhv_error err = {0};
    if (mhv_regex_new(mhv_pretok_pattern_gpt2, "gpt2", &hand_re[0], &err) != MHV_OK ||
        mhv_regex_new(mhv_pretok_pattern_qwen2, "qwen2", &hand_re[1], &err) != MHV_OK) {
        fprintf(stderr, "fuzz_regex: %s\n", err.msg);
        exit(1);
    }
    return 0;
}

static uint32_t *to_cp(const uint8_t *s, size_t len, size_t *n)
{
    uint32_t *cp = malloc((len + 1) * sizeof *cp);
    FUZZ_CHECK(cp);
    *n = 0;
    for (size_t i = 0; i < len;) {
        int k = mhv_utf8_decode((const char *)s + i, len - i, &cp[*n]);
        if (k <= 0) {
            i++; /* the tokenizer refuses invalid UTF-8 before this; skip the byte */
            continue;
        }
        (*n)++;
        i += (size_t)k;
    }
    return cp;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384)
        return 0;
    mhv_error err = {0};
    size_t *r = NULL, count = 0, n;
    if (!(data[0] & 1)) {
        int q = (data[0] >> 1) & 1;
        uint32_t *cp = to_cp(data + 1, size - 1, &n);
        FUZZ_CHECK(mhv_regex_find_all(hand_re[q], cp, n, &r, &count, &err) == MHV_OK);
        size_t i = 0, k = 0;
        while (i < n) {
            size_t e = mhv_pretok_match(q ? MHV_PRETOK_QWEN2 : MHV_PRETOK_GPT2, cp, n, i);
            FUZZ_CHECK(k < count && r[2 * k] == i && r[2 * k + 1] == e);
            i = e;
            k++;
        }
        FUZZ_CHECK(k == count);
        free(r);
        free(cp);
        return 0;
    }
    const uint8_t *nul = memchr(data + 1, '\0', size - 1);
    if (!nul)
        return 0;
    size_t pl = (size_t)(nul - data - 1);
    char *pat = malloc(pl + 1);
    FUZZ_CHECK(pat);
    memcpy(pat, data + 1, pl);
    pat[pl] = '\0';
    mhv_regex *re = NULL;
    if (mhv_regex_new(pat, "x", &re, &err) != MHV_OK) {
        FUZZ_CHECK(re == NULL && err.msg[0] && !strchr(err.msg, '\n'));
        free(pat);
        return 0;
    }
    uint32_t *cp = to_cp(nul + 1, size - pl - 2, &n);
    if (mhv_regex_find_all(re, cp, n, &r, &count, &err) == MHV_OK) {
        size_t prev = 0;
        for (size_t k = 0; k < count; k++) {
            FUZZ_CHECK(r[2 * k] >= prev && r[2 * k] <= r[2 * k + 1] && r[2 * k + 1] <= n);
            FUZZ_CHECK(!(k > 0 && r[2 * k] == r[2 * k + 1] && r[2 * k] == r[2 * k - 1]));
            prev = r[2 * k + 1];
        }
        free(r);
    } else {
        FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
    }
    free(cp);
    free(pat);
    mhv_regex_free(re);
    return 0;
}
