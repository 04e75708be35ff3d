/* fuzz_pretok.c - the GPT-2 and Qwen2 split patterns (hand-written matchers) on arbitrary
 * text: every match ends inside i+1..n, so the pieces tile the text. */
#include <string.h>

#include "fuzz.h"
#include "tok/pretok.h"
#include "text/unicode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    mhv_pretok_kind kind = data[0] & 1 ? MHV_PRETOK_QWEN2 : MHV_PRETOK_GPT2;
    const char *s = (const char *)data + 1;
    size_t len = size - 1, n = 0;
    uint32_t *cp = malloc((len + 1) * sizeof *cp);
    FUZZ_CHECK(cp);
    for (size_t i = 0; i < len;) {
        uint32_t c;
        int k = mhv_utf8_decode(s + i, len - i, &c);
        if (k <= 0) { /* the tokenizer only ever sees valid UTF-8; take the byte as Latin-1 */
            c = (unsigned char)s[i];
            k = 1;
        }
        cp[n++] = c;
        i += (size_t)k;
    }
    for (size_t i = 0; i < n;) {
        size_t e = mhv_pretok_match(kind, cp, n, i);
        FUZZ_CHECK(e > i && e <= n);
        i = e;
    }
    for (int b = 0; b < 256; b++)
        FUZZ_CHECK(mhv_bytelevel_byte(mhv_bytelevel_char((unsigned char)b)) == b);
    free(cp);
    return 0;
}
