/* torchbin.h - PyTorch checkpoints (torch.save: pytorch_model.bin and its shards) as a table
 * of tensors, read without running any code.
 *
 * The zip container (PyTorch >= 1.6) is read by ckpt/torchzip.h and the pickle by the
 * restricted reader of ckpt/pickle.h; this module joins them: every storage a tensor uses
 * must be a stored record <archive>/data/<key> of exactly numel x element-size bytes, and
 * every tensor a contiguous row-major slice of its storage. The legacy stream (older torch,
 * or _use_new_zipfile_serialization=False) is read too: its pickles, then each listed
 * storage's element count and bytes, which must account for the rest of the file exactly.
 * Tensors are views into the caller's buffer (the mapped file); nothing is copied. The tar
 * format of torch < 0.4 is refused by name. */
#ifndef MHV_TORCHBIN_H
#define MHV_TORCHBIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "ckpt/safetensors.h"

typedef struct {
    mhv_tensor *t;  /* (n,) in state-dict order; names owned here, file NULL */
    size_t n;
    char *names;    /* the names, one block */
} mhv_tbin;

/* Reads the checkpoint buf[0..size); `label` names the file in errors. On failure *out is
 * left empty. buf must outlive the result. */
mhv_status mhv_tbin_parse(const uint8_t *buf, size_t size, const char *label, mhv_tbin *out,
                          mhv_error *err);
void mhv_tbin_free(mhv_tbin *tb);

#endif
