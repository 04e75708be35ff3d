/* pickle.h - a restricted reader of the pickle stream torch.save writes for a state dict.
 *
 * This is not a pickle interpreter: nothing is ever called or imported. It accepts only the
 * opcodes and globals torch.save produces for a dict (or OrderedDict) of tensors -
 * torch._utils._rebuild_tensor_v2 / _rebuild_parameter, collections.OrderedDict, the
 * persistent ids ('storage', torch.<Type>Storage, key, location, numel), tuples, ints,
 * strings, bools, None, (metadata) dicts and (the legacy format's key list) lists - and
 * refuses anything else with one line naming the opcode or global. Every tensor must be
 * contiguous row-major and lie inside the storage its persistent id declares; the storages'
 * bytes are checked against the archive by the caller (ckpt/torchbin.h). */
#ifndef MHV_PICKLE_H
#define MHV_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/dtype.h"
#include "base/status.h"

#define MHV_PKL_MAX_DIMS 8
/* A state dict's pickle is ~100 bytes and ~30 objects (values, stack pushes, marks, memo
 * entries, tuple items, dict entries) a tensor: these are far above any real one (a few MB for 50000 tensors) and
 * bound the memory and time a hostile pickle can take (about 400 MB at worst). */
#define MHV_PKL_MAX_BYTES ((size_t)256 << 20)
#define MHV_PKL_MAX_OBJECTS ((size_t)1 << 24)

/* One persistent id: a storage of `numel` elements of `dtype`, record data/<key>. */
typedef struct {
    const char *key;     /* into the pickle buffer, not NUL-terminated */
    size_t key_len;
    mhv_dtype dtype;
    uint64_t numel;
} mhv_pkl_storage;

/* One entry of the state dict. */
typedef struct {
    const char *name;    /* into the pickle buffer, not NUL-terminated; valid UTF-8, no NUL */
    size_t name_len;
    size_t storage;      /* index into storages */
    uint64_t offset;     /* in elements */
    int ndim;
    int64_t shape[MHV_PKL_MAX_DIMS];
    uint64_t numel;
} mhv_pkl_tensor;

typedef struct {
    const char *s;       /* not NUL-terminated */
    size_t len;
} mhv_pkl_str;

typedef struct {
    mhv_pkl_tensor *tensors;
    size_t n_tensors;
    /* one per persistent id in the stream, in order: the same key may appear several times
     * (tensors sharing a storage), always with the same dtype and numel */
    mhv_pkl_storage *storages;
    size_t n_storages;
    /* legacy format only: the storage keys in the order their bytes follow the pickles */
    mhv_pkl_str *keys;
    size_t n_keys;
} mhv_pkl_state_dict;

/* Reads the pickle p[0..n) as a state dict. `name` labels errors ("pytorch_model.bin"). The
 * result points into p, which must outlive it. On failure *out is untouched. */
mhv_status mhv_pkl_read_state_dict(const uint8_t *p, size_t n, const char *name,
                                   mhv_pkl_state_dict *out, mhv_error *err);
void mhv_pkl_state_dict_free(mhv_pkl_state_dict *sd);

/* The legacy (pre-1.6, or _use_new_zipfile_serialization=False) torch.save stream p[0..n):
 * pickles of the magic number, protocol 1001, sys_info (must say little-endian), the state
 * dict (persistent ids with a 6th element, view_metadata, which must be None) and the list of
 * storage keys (out->keys). *data_off receives where the storages' bytes begin: for each key
 * in order, its element count (int64 little-endian) and its bytes. */
mhv_status mhv_pkl_read_legacy(const uint8_t *p, size_t n, const char *name,
                               mhv_pkl_state_dict *out, size_t *data_off, mhv_error *err);

#endif
