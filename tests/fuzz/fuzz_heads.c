/* fuzz_heads.c - the --heads spec for a model whose size the first two bytes give. */
#include <string.h>

#include "fuzz.h"
#include "base/heads.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int L = data[0] % 48 + 1, H = data[1] % 40 + 1;
    char *spec = malloc(size - 1);
    FUZZ_CHECK(spec);
    memcpy(spec, data + 2, size - 2);
    spec[size - 2] = '\0';
    mhv_heads h;
    mhv_error err = {0};
    if (mhv_heads_parse(spec, L, H, &h, &err) == MHV_OK) {
        int n = mhv_heads_count(&h), last = mhv_heads_last_layer(&h);
        FUZZ_CHECK(n >= 0 && n <= L * H);
        FUZZ_CHECK(last >= -1 && last < L);
        FUZZ_CHECK((n == 0) == (last == -1));
        mhv_heads_free(&h);
    } else {
        FUZZ_CHECK(h.sel == NULL && err.msg[0] && !strchr(err.msg, '\n'));
    }
    free(spec);
    return 0;
}
