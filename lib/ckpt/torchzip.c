/* torchzip.c - the stored-entry zip reader of torch.save archives (see torchzip.h).
 *
 * Layout (APPNOTE 6.3): local header + name + extra + data for each entry, the central
 * directory (one record per entry), then for zip64 the zip64 end record and its locator,
 * then the end-of-central-directory record (EOCD) and its comment, which ends the file. */
#include "ckpt/torchzip.h"

#include <stdlib.h>
#include <string.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_Z64_EOCD 0x06064b50u
#define SIG_Z64_LOCATOR 0x07064b50u
#define EOCD_SIZE 22u
#define CENTRAL_SIZE 46u
#define LOCAL_SIZE 30u
#define Z64_LOCATOR_SIZE 20u
#define Z64_EOCD_SIZE 56u
#define NAME_FMT "'%.*s'"
#define NAME_ARG(e) (int)((e)->name_len > 120 ? 120 : (e)->name_len), (e)->name

struct mhv_zip {
    mhv_zip_entry *e;     /* (n,) in central-directory order */
    size_t *by_name;      /* (n,) indices of e sorted by name */
    size_t n;
};

static uint64_t le(const uint8_t *p, int k)
{
    uint64_t x = 0;
    for (int i = k - 1; i >= 0; i--)
        x = (x << 8) | p[i];
    return x;
}
#define U16(p) ((uint32_t)le((p), 2))
#define U32(p) ((uint32_t)le((p), 4))
#define U64(p) le((p), 8)

void mhv_zip_free(mhv_zip *z)
{
    if (!z)
        return;
    free(z->e);
    free(z->by_name);
    free(z);
}

size_t mhv_zip_count(const mhv_zip *z)
{
    return z ? z->n : 0;
}

const mhv_zip_entry *mhv_zip_at(const mhv_zip *z, size_t i)
{
    return z && i < z->n ? &z->e[i] : NULL;
}

static int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

const mhv_zip_entry *mhv_zip_find(const mhv_zip *z, const char *name, size_t len)
{
    if (!z)
        return NULL;
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const mhv_zip_entry *e = &z->e[z->by_name[mid]];
        int c = name_cmp(e->name, e->name_len, name, len);
        if (c == 0)
            return e;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int by_name_cmp(const void *a, const void *b, void *entries)
{
    const mhv_zip_entry *x = &((const mhv_zip_entry *)entries)[*(const size_t *)a];
    const mhv_zip_entry *y = &((const mhv_zip_entry *)entries)[*(const size_t *)b];
    return name_cmp(x->name, x->name_len, y->name, y->name_len);
}

typedef struct {
    uint64_t begin, end; /* local header .. end of data */
    size_t idx;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* The end records: where the central directory is and how many entries it holds.
 * *limit is where the central directory must end by (the first end record). */
static mhv_status find_directory(const uint8_t *buf, size_t size, const char *label,
                                 uint64_t *count, uint64_t *cd_off, uint64_t *cd_size,
                                 uint64_t *limit, mhv_error *err)
{
    /* the EOCD is the last record; only its comment (at most 65535 bytes) may follow */
    size_t eocd = 0;
    int found = 0;
    for (size_t back = 0; back <= 65535 && back + EOCD_SIZE <= size; back++) {
        size_t pos = size - EOCD_SIZE - back;
        if (U32(buf + pos) == SIG_EOCD && U16(buf + pos + 20) == back) {
            eocd = pos;
            found = 1;
            break;
        }
    }
    if (!found)
        return mhv_fail(err, MHV_EFORMAT, label,
                        "no zip end-of-central-directory record (file truncated?)");
    const uint8_t *e = buf + eocd;
    uint32_t disk = U16(e + 4), cd_disk = U16(e + 6);
    uint64_t n_disk = U16(e + 8), n_total = U16(e + 10);
    *cd_size = U32(e + 12);
    *cd_off = U32(e + 16);
    *limit = eocd;
    if (n_total == 0xffff || n_disk == 0xffff || *cd_size == 0xffffffffu ||
        *cd_off == 0xffffffffu || disk == 0xffff || cd_disk == 0xffff) {
        if (eocd < Z64_LOCATOR_SIZE || U32(e - Z64_LOCATOR_SIZE) != SIG_Z64_LOCATOR)
            return mhv_fail(err, MHV_EFORMAT, label,
                            "zip64 end-of-central-directory locator is missing");
        const uint8_t *loc = e - Z64_LOCATOR_SIZE;
        uint64_t z64 = U64(loc + 8);
        if (U32(loc + 4) != 0 || U32(loc + 16) > 1)
            return mhv_fail(err, MHV_EUNSUPPORTED, label,
                            "multi-disk zip archives are not supported");
        uint64_t room = eocd - Z64_LOCATOR_SIZE;
        if (room < Z64_EOCD_SIZE || z64 > room - Z64_EOCD_SIZE)
            return mhv_fail(err, MHV_EFORMAT, label,
                            "zip64 end record offset %llu is outside the file",
                            (unsigned long long)z64);
        const uint8_t *r = buf + z64;
        if (U32(r) != SIG_Z64_EOCD)
            return mhv_fail(err, MHV_EFORMAT, label,
                            "no zip64 end record at offset %llu", (unsigned long long)z64);
        uint64_t rec = U64(r + 4);
        if (rec < Z64_EOCD_SIZE - 12 || rec > room - z64 - 12)
            return mhv_fail(err, MHV_EFORMAT, label, "zip64 end record size %llu is wrong",
                            (unsigned long long)rec);
        disk = U32(r + 16);
        cd_disk = U32(r + 20);
        n_disk = U64(r + 24);
        n_total = U64(r + 32);
        *cd_size = U64(r + 40);
        *cd_off = U64(r + 48);
        *limit = z64;
    }
    if (disk != 0 || cd_disk != 0 || n_disk != n_total)
        return mhv_fail(err, MHV_EUNSUPPORTED, label, "multi-disk zip archives are not supported");
    if (*cd_off > *limit || *cd_size > *limit - *cd_off)
        return mhv_fail(err, MHV_EFORMAT, label,
                        "central directory (%llu bytes at offset %llu) goes beyond its end "
                        "records (file truncated?)",
                        (unsigned long long)*cd_size, (unsigned long long)*cd_off);
    if (n_total == 0)
        return mhv_fail(err, MHV_EFORMAT, label, "zip archive has no entries");
    if (n_total > *cd_size / CENTRAL_SIZE)
        return mhv_fail(err, MHV_EFORMAT, label,
                        "central directory lists %llu entries, more than its %llu bytes hold",
                        (unsigned long long)n_total, (unsigned long long)*cd_size);
    *count = n_total;
    return MHV_OK;
}

/* Replaces the 0xffff... placeholders of a central record with its zip64 extra field. */
static mhv_status zip64_fields(const uint8_t *x, size_t xlen, uint64_t *usize, uint64_t *csize,
                               uint64_t *lho, uint32_t *disk, const mhv_zip_entry *e,
                               const char *label, mhv_error *err)
{
    while (xlen >= 4) {
        uint32_t id = U16(x), len = U16(x + 2);
        if (len > xlen - 4)
            break;
        if (id == 1) {
            const uint8_t *f = x + 4;
            uint32_t left = len;
            uint64_t *wide[3] = {usize, csize, lho};
            for (int i = 0; i < 3; i++) {
                if (*wide[i] != 0xffffffffu)
                    continue;
                if (left < 8)
                    goto bad;
                *wide[i] = U64(f);
                f += 8, left -= 8;
            }
            if (*disk == 0xffff) {
                if (left < 4)
                    goto bad;
                *disk = U32(f);
            }
            return MHV_OK;
        }
        x += 4 + len;
        xlen -= 4 + len;
    }
bad:
    return mhv_fail(err, MHV_EFORMAT, label, "entry " NAME_FMT " lacks its zip64 sizes",
                    NAME_ARG(e));
}

/* One central record at c (room bytes left in the directory); fills e and its span. */
static mhv_status read_entry(const uint8_t *buf, const uint8_t *c, uint64_t room,
                             uint64_t cd_off, mhv_zip_entry *e, span *sp, uint64_t *rec_len,
                             const char *label, mhv_error *err)
{
    if (room < CENTRAL_SIZE || U32(c) != SIG_CENTRAL)
        return mhv_fail(err, MHV_EFORMAT, label,
                        "central directory record at offset %llu is malformed",
                        (unsigned long long)(c - buf));
    uint32_t flags = U16(c + 8), method = U16(c + 10);
    uint64_t csize = U32(c + 20), usize = U32(c + 24), lho = U32(c + 42);
    uint32_t nlen = U16(c + 28), xlen = U16(c + 30), clen = U16(c + 32), disk = U16(c + 34);
    *rec_len = CENTRAL_SIZE + (uint64_t)nlen + xlen + clen;
    if (*rec_len > room)
        return mhv_fail(err, MHV_EFORMAT, label,
                        "central directory record at offset %llu runs past the directory",
                        (unsigned long long)(c - buf));
    e->name = (const char *)c + CENTRAL_SIZE;
    e->name_len = nlen;
    if (nlen == 0 || memchr(e->name, 0, nlen))
        return mhv_fail(err, MHV_EFORMAT, label,
                        "central directory record at offset %llu has an empty or NUL name",
                        (unsigned long long)(c - buf));
    if (usize == 0xffffffffu || csize == 0xffffffffu || lho == 0xffffffffu || disk == 0xffff) {
        mhv_status rc = zip64_fields(c + CENTRAL_SIZE + nlen, xlen, &usize, &csize, &lho, &disk,
                                     e, label, err);
        if (rc)
            return rc;
    }
    if (flags & 1)
        return mhv_fail(err, MHV_EUNSUPPORTED, label, "entry " NAME_FMT " is encrypted",
                        NAME_ARG(e));
    if (method != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, label,
                        "entry " NAME_FMT " is compressed (method %u); torch.save stores "
                        "entries uncompressed",
                        NAME_ARG(e), method);
    if (csize != usize)
        return mhv_fail(err, MHV_EFORMAT, label,
                        "stored entry " NAME_FMT " has %llu bytes in the archive but size %llu",
                        NAME_ARG(e), (unsigned long long)csize, (unsigned long long)usize);
    if (disk != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, label, "multi-disk zip archives are not supported");
    if (lho > cd_off || cd_off - lho < LOCAL_SIZE)
        return mhv_fail(err, MHV_EFORMAT, label,
                        "entry " NAME_FMT " has its local header at offset %llu, outside the "
                        "entries", NAME_ARG(e), (unsigned long long)lho);
    const uint8_t *l = buf + lho;
    if (U32(l) != SIG_LOCAL)
        return mhv_fail(err, MHV_EFORMAT, label,
                        "entry " NAME_FMT " has no local header at offset %llu", NAME_ARG(e),
                        (unsigned long long)lho);
    uint64_t data = lho + LOCAL_SIZE + U16(l + 26) + U16(l + 28); /* no overflow: < 2^33 */
    if (U16(l + 26) != nlen || data > cd_off || memcmp(l + LOCAL_SIZE, e->name, nlen) != 0)
        return mhv_fail(err, MHV_EFORMAT, label,
                        "entry " NAME_FMT ": local header does not match the central directory",
                        NAME_ARG(e));
    if (U16(l + 8) != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, label,
                        "entry " NAME_FMT " is compressed (method %u); torch.save stores "
                        "entries uncompressed", NAME_ARG(e), U16(l + 8));
    if (usize > cd_off - data)
        return mhv_fail(err, MHV_EFORMAT, label,
                        "entry " NAME_FMT " (%llu bytes at offset %llu) runs into the central "
                        "directory (file truncated?)",
                        NAME_ARG(e), (unsigned long long)usize, (unsigned long long)data);
    e->data = buf + data;
    e->size = usize;
    sp->begin = lho;
    sp->end = data + usize;
    return MHV_OK;
}

mhv_status mhv_zip_open(const uint8_t *buf, size_t size, const char *label, mhv_zip **out,
                        mhv_error *err)
{
    *out = NULL;
    if (size < 4 || U32(buf) != SIG_LOCAL)
        return mhv_fail(err, MHV_EFORMAT, label,
                        "not a PyTorch zip checkpoint (no zip local header at the start)");
    uint64_t count = 0, cd_off = 0, cd_size = 0, limit = 0;
    mhv_status rc = find_directory(buf, size, label, &count, &cd_off, &cd_size, &limit, err);
    if (rc)
        return rc;
    (void)limit;
    /* count <= cd_size / 46 <= size / 46: the allocations are bounded by the file */
    mhv_zip *z = calloc(1, sizeof *z);
    span *sp = calloc((size_t)count, sizeof *sp);
    if (z) {
        z->e = calloc((size_t)count, sizeof *z->e);
        z->by_name = calloc((size_t)count, sizeof *z->by_name);
    }
    if (!z || !sp || !z->e || !z->by_name) {
        rc = mhv_fail(err, MHV_ENOMEM, label, "out of memory for %llu zip entries",
                      (unsigned long long)count);
        goto out;
    }
    uint64_t pos = cd_off, end = cd_off + cd_size;
    for (size_t i = 0; i < count; i++) {
        uint64_t rec = 0;
        if ((rc = read_entry(buf, buf + pos, end - pos, cd_off, &z->e[i], &sp[i], &rec, label,
                             err)))
            goto out;
        sp[i].idx = i;
        pos += rec;
        z->n++;
    }
    if (pos != end) {
        rc = mhv_fail(err, MHV_EFORMAT, label,
                      "central directory has %llu bytes after its last entry",
                      (unsigned long long)(end - pos));
        goto out;
    }
    qsort(sp, z->n, sizeof *sp, span_cmp);
    for (size_t i = 1; i < z->n; i++)
        if (sp[i].begin < sp[i - 1].end) {
            rc = mhv_fail(err, MHV_EFORMAT, label, "entries " NAME_FMT " and " NAME_FMT
                          " overlap", NAME_ARG(&z->e[sp[i - 1].idx]), NAME_ARG(&z->e[sp[i].idx]));
            goto out;
        }
    for (size_t i = 0; i < z->n; i++)
        z->by_name[i] = i;
    qsort_r(z->by_name, z->n, sizeof *z->by_name, by_name_cmp, z->e);
    for (size_t i = 1; i < z->n; i++) {
        const mhv_zip_entry *a = &z->e[z->by_name[i - 1]], *b = &z->e[z->by_name[i]];
        if (name_cmp(a->name, a->name_len, b->name, b->name_len) == 0) {
            rc = mhv_fail(err, MHV_EFORMAT, label, "entry " NAME_FMT " appears twice",
                          NAME_ARG(a));
            goto out;
        }
    }
out:
    free(sp);
    if (rc) {
        mhv_zip_free(z);
        return rc;
    }
    *out = z;
    return MHV_OK;
}
