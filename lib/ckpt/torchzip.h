/* torchzip.h - the zip container of torch.save (PyTorch >= 1.6), read in place.
 *
 * torch.save writes an uncompressed ("stored") zip: <archive>/data.pkl, <archive>/data/<key>
 * for each storage, a few small records, and (always, since PyTorch's miniz writer asks for
 * it) zip64 end records. This reader takes the central directory as the truth, checks every
 * entry's local header against it, and refuses what torch.save never writes: compressed or
 * encrypted entries, multi-disk archives, entries that overlap or leave the data area. Only
 * the entry table is allocated; entry data are views into the caller's buffer. */
#ifndef MHV_TORCHZIP_H
#define MHV_TORCHZIP_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef struct {
    const char *name;  /* into the buffer (the central directory), not NUL-terminated */
    size_t name_len;
    const uint8_t *data;
    uint64_t size;
} mhv_zip_entry;

typedef struct mhv_zip mhv_zip;

/* Reads the entry table of the zip archive buf[0..size). `label` names the file in errors.
 * buf must outlive the handle. */
mhv_status mhv_zip_open(const uint8_t *buf, size_t size, const char *label, mhv_zip **out,
                        mhv_error *err);
void mhv_zip_free(mhv_zip *z);

/* Entries in the order of the central directory. */
size_t mhv_zip_count(const mhv_zip *z);
const mhv_zip_entry *mhv_zip_at(const mhv_zip *z, size_t i);
/* The entry named name[0..len), or NULL. */
const mhv_zip_entry *mhv_zip_find(const mhv_zip *z, const char *name, size_t len);

#endif
