/* safetensors.h - memory-mapped safetensors files, single or sharded, validated before use.
 *
 * A checkpoint is one `model.safetensors` or several shards listed by
 * `model.safetensors.index.json`. Tensors are views into the mappings: nothing is copied.
 * Every header length, offset, shape and dtype is checked against the file size before a
 * tensor is handed out. */
#ifndef MHV_SAFETENSORS_H
#define MHV_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/dtype.h"
#include "base/status.h"

#define MHV_ST_MAX_DIMS 8

typedef struct {
    const char *name;    /* owned by the mhv_st */
    const char *file;    /* base name of the shard holding it, for error messages */
    mhv_dtype dtype;
    int ndim;
    int64_t shape[MHV_ST_MAX_DIMS];
    int64_t numel;
    const void *data;    /* into the mapping; not aligned in general */
    size_t nbytes;
} mhv_tensor;

typedef struct mhv_st mhv_st;

/* Opens a single .safetensors file, or a PyTorch checkpoint when the name ends in ".bin". */
mhv_status mhv_st_open_file(const char *path, mhv_st **out, mhv_error *err);
/* Opens the checkpoint of a model directory: model.safetensors.index.json (sharded) if
 * present, else model.safetensors, else pytorch_model.bin.index.json, else
 * pytorch_model.bin. PyTorch checkpoints (torch.save's zip format) are read without running
 * code (ckpt/torchbin.h) into the same table. */
mhv_status mhv_st_open_dir(const char *dir, mhv_st **out, mhv_error *err);
void mhv_st_close(mhv_st *st);

size_t mhv_st_count(const mhv_st *st);
const mhv_tensor *mhv_st_at(const mhv_st *st, size_t i);
/* NULL when absent. */
const mhv_tensor *mhv_st_find(const mhv_st *st, const char *name);
/* Total bytes of all mapped files. */
uint64_t mhv_st_file_bytes(const mhv_st *st);
/* The file opened, as the path given or built: the index .json of a sharded checkpoint, else
 * the single file ("dir/pytorch_model.bin"). For messages about the checkpoint as a whole
 * ("missing tensor"). "" for sets made by mhv_st_new. */
const char *mhv_st_source(const mhv_st *st);

/* Parses and validates the header of a safetensors file held in memory (buf, size: the
 * whole file), appending its tensors to st (left unchanged on failure). `name` is used in
 * messages. Exposed for the
 * fuzz harness and tests; mhv_st_open_* call it on the mapping. */
mhv_status mhv_st_parse(mhv_st *st, const uint8_t *buf, size_t size, const char *name,
                        mhv_error *err);
/* An empty set to parse into (for tests and fuzzing). */
mhv_st *mhv_st_new(void);

/* A set of some of parent's tensors under other names, as a composite model's part sees its
 * own checkpoint (LLaVA's language model, its vision tower): each tensor whose name starts
 * with renames[k][0] (the first k that matches) is named renames[k][1] + the rest; the
 * others are left out; a name met twice keeps its first tensor. The view's data, files and
 * source are parent's: parent must outlive it. */
mhv_status mhv_st_view(const mhv_st *parent, const char *const (*renames)[2], int count,
                       mhv_st **out, mhv_error *err);

#endif
