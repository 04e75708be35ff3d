/* fuzz_safetensors.c - a whole safetensors file: header length, JSON header, tensor table
 * validation (dtypes, shapes, offsets tiling the data area). Every tensor handed out must lie
 * inside the buffer and have the byte size its shape and dtype imply. */
#include <string.h>

#include "fuzz.h"
#include "ckpt/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mhv_st *st = mhv_st_new();
    FUZZ_CHECK(st);
    mhv_error err = {0};
    mhv_status rc = mhv_st_parse(st, data, size, "model.safetensors", &err);
    if (rc == MHV_OK) {
        for (size_t i = 0; i < mhv_st_count(st); i++) {
            const mhv_tensor *t = mhv_st_at(st, i);
            const uint8_t *p = t->data;
            FUZZ_CHECK(p >= data && p + t->nbytes <= data + size);
            FUZZ_CHECK(t->nbytes == (size_t)t->numel * mhv_dtype_size(t->dtype));
            FUZZ_CHECK(mhv_st_find(st, t->name) == t);
            volatile uint8_t sink = 0;
            if (t->nbytes) /* touch both ends: ASan checks they are in the buffer */
                sink ^= p[0] ^ p[t->nbytes - 1];
            (void)sink;
        }
        /* a second file into the same set: duplicate names across files are errors */
        mhv_st_parse(st, data, size, "model-2.safetensors", &err);
    } else {
        FUZZ_CHECK(mhv_st_count(st) == 0);
        FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
    }
    mhv_st_close(st);
    return 0;
}
