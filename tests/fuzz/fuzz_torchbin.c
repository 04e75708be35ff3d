/* fuzz_torchbin.c - a whole torch.save checkpoint (zip or legacy) from memory: the zip
 * reader (end records, zip64, central directory, local headers, overlaps), the restricted
 * pickle reader and the storage checks; and the same bytes as a bare pickle, so mutations
 * of the seed pickles (the .pkl files of corpus/torchbin) reach the pickle reader without
 * having to keep a zip consistent. Nothing the readers hand out may point outside the input. */
#include <string.h>

#include "fuzz.h"
#include "ckpt/pickle.h"
#include "ckpt/torchbin.h"

static void check_archive(const uint8_t *data, size_t size)
{
    mhv_tbin tb;
    mhv_error err = {0};
    if (mhv_tbin_parse(data, size, "pytorch_model.bin", &tb, &err) != MHV_OK) {
        FUZZ_CHECK(tb.n == 0 && !tb.t);
        FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
        return;
    }
    for (size_t i = 0; i < tb.n; i++) {
        const mhv_tensor *t = &tb.t[i];
        const uint8_t *p = t->data;
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++)
            numel *= t->shape[d];
        FUZZ_CHECK(t->ndim >= 0 && t->ndim <= MHV_ST_MAX_DIMS && numel == t->numel);
        FUZZ_CHECK(t->nbytes == (size_t)t->numel * mhv_dtype_size(t->dtype));
        FUZZ_CHECK(p >= data && p <= data + size && t->nbytes <= (size_t)(data + size - p));
        volatile uint8_t sink = 0;
        if (t->nbytes) /* touch both ends: ASan checks they are in the buffer */
            sink ^= p[0] ^ p[t->nbytes - 1];
        (void)sink;
        for (size_t k = 0; k < i; k++)
            FUZZ_CHECK(strcmp(tb.t[k].name, t->name) != 0);
    }
    mhv_tbin_free(&tb);
}

static void check_pickle(const uint8_t *data, size_t size)
{
    mhv_pkl_state_dict sd = {0};
    mhv_error err = {0};
    if (mhv_pkl_read_state_dict(data, size, "data.pkl", &sd, &err) != MHV_OK) {
        FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
        return;
    }
    for (size_t i = 0; i < sd.n_tensors; i++) {
        const mhv_pkl_tensor *t = &sd.tensors[i];
        FUZZ_CHECK(t->storage < sd.n_storages);
        FUZZ_CHECK(t->offset + t->numel <= sd.storages[t->storage].numel);
        FUZZ_CHECK((const uint8_t *)t->name >= data && t->name_len <= size &&
                   (const uint8_t *)t->name + t->name_len <= data + size);
    }
    for (size_t i = 0; i < sd.n_storages; i++)
        FUZZ_CHECK((const uint8_t *)sd.storages[i].key + sd.storages[i].key_len <= data + size);
    mhv_pkl_state_dict_free(&sd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy: a NULL or oversized buffer would hide reads past the end */
    uint8_t *buf = malloc(size ? size : 1);
    FUZZ_CHECK(buf);
    if (size)
        memcpy(buf, data, size);
    check_archive(buf, size);
    check_pickle(buf, size);
    free(buf);
    return 0;
}
