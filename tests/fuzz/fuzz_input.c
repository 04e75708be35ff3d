/* fuzz_input.c - an input file of sentences: every sentence accepted is valid UTF-8 without
 * NUL, not blank, and lies inside the buffer. */
#include <string.h>

#include "fuzz.h"
#include "text/input.h"
#include "text/unicode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mhv_input in;
    mhv_error err = {0};
    if (mhv_input_read(fuzz_as_file(data, size), &in, &err) != MHV_OK) {
        FUZZ_CHECK(in.buf == NULL && err.msg[0] && !strchr(err.msg, '\n'));
        return 0;
    }
    FUZZ_CHECK(in.n >= 1);
    for (int i = 0; i < in.n; i++) {
        const mhv_sentence *s = &in.s[i];
        FUZZ_CHECK(s->len <= size && s->text[s->len] == '\0');
        FUZZ_CHECK(memchr(s->text, '\0', s->len) == NULL);
        FUZZ_CHECK(mhv_utf8_valid(s->text, s->len, NULL));
        FUZZ_CHECK(s->line >= 1 && (i == 0 || s->line > in.s[i - 1].line));
    }
    mhv_input_free(&in);
    return 0;
}
