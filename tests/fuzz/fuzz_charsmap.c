/* fuzz_charsmap.c - SentencePiece's precompiled charsmap (the "Precompiled" normalizer): the
 * input's first two bytes give the blob's length, then the blob (the decoded charsmap: trie
 * size, Darts double-array, replacement strings), then text. Any blob is parsed safely; an
 * accepted one normalizes the text (when it is UTF-8) into UTF-8 whose every code point comes
 * from a character of the text; SentencePiece's longest-rule lookup stays inside the text and
 * the strings. The blob also goes through the base64 path as text. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "text/unicode.h"
#include "tok/charsmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 1 << 20)
        return 0;
    size_t bl = (size_t)data[0] | (size_t)data[1] << 8;
    if (bl > size - 2)
        bl = size - 2;
    const uint8_t *blob = data + 2, *text = blob + bl;
    size_t tl = size - 2 - bl;
    mhv_charsmap *m = NULL;
    mhv_error err = {0};
    if (mhv_charsmap_new(blob, bl, "x", &m, &err) != MHV_OK) {
        FUZZ_CHECK(m == NULL && err.msg[0] && !strchr(err.msg, '\n'));
    } else {
        mhv_normtext t = {0};
        size_t n = 0;
        for (size_t i = 0; i < tl;) {
            uint32_t c;
            int k = mhv_utf8_decode((const char *)text + i, tl - i, &c);
            if (k <= 0)
                break;
            FUZZ_CHECK(mhv_normtext_push(&t, c, (int32_t)n++));
            i += (size_t)k;
        }
        if (mhv_charsmap_apply(m, &t, &err) == MHV_OK) {
            for (size_t i = 0; i < t.n; i++) {
                char u[4];
                FUZZ_CHECK(t.cp[i] <= 0x10FFFF && !(t.cp[i] >= 0xD800 && t.cp[i] <= 0xDFFF));
                FUZZ_CHECK(mhv_utf8_encode(t.cp[i], u) > 0);
                FUZZ_CHECK(t.orig[i] >= 0 && (size_t)t.orig[i] < n);
            }
        }
        mhv_normtext_free(&t);
        /* SentencePiece's own lookup: the longest rule at each point of the text */
        for (size_t i = 0; i < tl;) {
            size_t used = 0;
            const char *r = mhv_charsmap_longest(m, text + i, tl - i, &used);
            FUZZ_CHECK(!r || (used >= 1 && used <= tl - i && strlen(r) < (size_t)1 << 20));
            i += r ? used : 1;
        }
        mhv_charsmap_free(m);
    }
    /* the same bytes as base64 text */
    char *b64 = malloc(bl + 1);
    FUZZ_CHECK(b64);
    memcpy(b64, blob, bl);
    b64[bl] = '\0';
    m = NULL;
    if (mhv_charsmap_from_base64(b64, "x", &m, &err) != MHV_OK)
        FUZZ_CHECK(m == NULL && err.msg[0]);
    mhv_charsmap_free(m);
    free(b64);
    return 0;
}
