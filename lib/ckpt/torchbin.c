/* torchbin.c - a torch.save zip checkpoint as a tensor table (see torchbin.h). */
#include "ckpt/torchbin.h"

#include <stdlib.h>
#include <string.h>

#include "ckpt/pickle.h"
#include "ckpt/torchzip.h"

_Static_assert(MHV_PKL_MAX_DIMS == MHV_ST_MAX_DIMS, "pickle and tensor table ranks differ");

#define KEY_ARG(s) (int)((s)->key_len > 60 ? 60 : (s)->key_len), (s)->key
#define NAME_ARG(t) (int)((t)->name_len > 120 ? 120 : (t)->name_len), (t)->name

void mhv_tbin_free(mhv_tbin *tb)
{
    if (!tb)
        return;
    free(tb->t);
    free(tb->names);
    tb->t = NULL;
    tb->names = NULL;
    tb->n = 0;
}

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al < bl ? -1 : al > bl);
}

static int storage_cmp(const void *a, const void *b, void *ctx)
{
    const mhv_pkl_storage *s = ctx;
    const mhv_pkl_storage *x = &s[*(const size_t *)a], *y = &s[*(const size_t *)b];
    return bytes_cmp(x->key, x->key_len, y->key, y->key_len);
}

static int tensor_cmp(const void *a, const void *b, void *ctx)
{
    const mhv_pkl_tensor *t = ctx;
    const mhv_pkl_tensor *x = &t[*(const size_t *)a], *y = &t[*(const size_t *)b];
    return bytes_cmp(x->name, x->name_len, y->name, y->name_len);
}

/* The archive folder every record is under: the first entry's name up to its '/', as
 * PyTorch's reader takes it ("archive", or the file's stem for files saved by name). */
static mhv_status archive_prefix(const mhv_zip *z, const char *label, const char **prefix,
                                 size_t *len, mhv_error *err)
{
    const mhv_zip_entry *first = mhv_zip_at(z, 0);
    const char *slash = memchr(first->name, '/', first->name_len);
    if (!slash || slash == first->name)
        return mhv_fail(err, MHV_EFORMAT, label,
                        "zip entry '%.*s' is not in an archive folder; not a torch.save "
                        "checkpoint", (int)(first->name_len > 120 ? 120 : first->name_len),
                        first->name);
    *prefix = first->name;
    *len = (size_t)(slash - first->name);
    return MHV_OK;
}

/* The record prefix/a b (a_len + b_len bytes), or NULL. buf holds plen + 1 + a_len + b_len. */
static const mhv_zip_entry *record(const mhv_zip *z, const char *prefix, size_t plen,
                                   const char *a, size_t a_len, const char *b, size_t b_len,
                                   char *buf)
{
    memcpy(buf, prefix, plen);
    buf[plen] = '/';
    memcpy(buf + plen + 1, a, a_len);
    memcpy(buf + plen + 1 + a_len, b, b_len);
    return mhv_zip_find(z, buf, plen + 1 + a_len + b_len);
}

/* The storage indices sorted by key (*order, the caller frees it). Storages sharing a key
 * must agree on dtype and size. */
static mhv_status sort_storages(const mhv_pkl_state_dict *sd, size_t **order, const char *label,
                                mhv_error *err)
{
    size_t n = sd->n_storages;
    size_t *o = malloc((n ? n : 1) * sizeof *o);
    if (!o)
        return mhv_fail(err, MHV_ENOMEM, label, "out of memory");
    for (size_t i = 0; i < n; i++)
        o[i] = i;
    qsort_r(o, n, sizeof *o, storage_cmp, sd->storages);
    for (size_t k = 1; k < n; k++) {
        const mhv_pkl_storage *s = &sd->storages[o[k]], *prev = &sd->storages[o[k - 1]];
        if (bytes_cmp(prev->key, prev->key_len, s->key, s->key_len) == 0 &&
            (prev->dtype != s->dtype || prev->numel != s->numel)) {
            free(o);
            return mhv_fail(err, MHV_EFORMAT, label,
                            "storage '%.*s' is declared as %llu x %s and as %llu x %s",
                            KEY_ARG(s), (unsigned long long)prev->numel,
                            mhv_dtype_name(prev->dtype), (unsigned long long)s->numel,
                            mhv_dtype_name(s->dtype));
        }
    }
    *order = o;
    return MHV_OK;
}

static int same_key(const mhv_pkl_storage *a, const mhv_pkl_storage *b)
{
    return bytes_cmp(a->key, a->key_len, b->key, b->key_len) == 0;
}

/* Zip format: each storage is the record <prefix>/data/<key> of exactly its byte size.
 * sdata[i] receives storage i's bytes. */
static mhv_status zip_storages(const mhv_zip *z, const char *prefix, size_t plen,
                               const mhv_pkl_state_dict *sd, const size_t *order,
                               const uint8_t **sdata, char *path, const char *label,
                               mhv_error *err)
{
    for (size_t k = 0; k < sd->n_storages; k++) {
        const mhv_pkl_storage *s = &sd->storages[order[k]];
        if (k && same_key(&sd->storages[order[k - 1]], s)) {
            sdata[order[k]] = sdata[order[k - 1]];
            continue;
        }
        const mhv_zip_entry *e = record(z, prefix, plen, "data/", 5, s->key, s->key_len, path);
        if (!e)
            return mhv_fail(err, MHV_EFORMAT, label, "storage '%.*s' has no record '%.*s/data/%.*s'",
                            KEY_ARG(s), (int)(plen > 60 ? 60 : plen), prefix, KEY_ARG(s));
        uint64_t want;
        if (__builtin_mul_overflow(s->numel, (uint64_t)mhv_dtype_size(s->dtype), &want) ||
            want != e->size)
            return mhv_fail(err, MHV_EFORMAT, label,
                            "storage '%.*s' of %llu x %s has a %llu-byte record", KEY_ARG(s),
                            (unsigned long long)s->numel, mhv_dtype_name(s->dtype),
                            (unsigned long long)e->size);
        sdata[order[k]] = e->data;
    }
    return MHV_OK;
}

/* Legacy format: after the pickles, for each key of the key list in order, its element count
 * (int64 little-endian) and its bytes, up to the end of the file. */
static mhv_status legacy_storages(const uint8_t *buf, size_t size, size_t pos,
                                  const mhv_pkl_state_dict *sd, const size_t *order,
                                  const uint8_t **sdata, const char *label, mhv_error *err)
{
    size_t n = sd->n_storages;
    for (size_t i = 0; i < sd->n_keys; i++) {
        mhv_pkl_storage key = {.key = sd->keys[i].s, .key_len = sd->keys[i].len};
        const mhv_pkl_storage *s = &key;
        size_t lo = 0, hi = n; /* the first storage whose key is not below this one */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            const mhv_pkl_storage *m = &sd->storages[order[mid]];
            if (bytes_cmp(m->key, m->key_len, key.key, key.key_len) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == n || !same_key(&sd->storages[order[lo]], s))
            return mhv_fail(err, MHV_EFORMAT, label,
                            "storage '%.*s' of the key list is used by no tensor", KEY_ARG(s));
        s = &sd->storages[order[lo]];
        if (sdata[order[lo]])
            return mhv_fail(err, MHV_EFORMAT, label, "storage '%.*s' is listed twice",
                            KEY_ARG(s));
        uint64_t nbytes;
        if (size - pos < 8)
            return mhv_fail(err, MHV_EFORMAT, label,
                            "storage '%.*s' is missing from the end of the file (file "
                            "truncated?)", KEY_ARG(s));
        uint64_t count = 0;
        for (int b = 7; b >= 0; b--)
            count = (count << 8) | buf[pos + (size_t)b];
        if (count != s->numel)
            return mhv_fail(err, MHV_EFORMAT, label,
                            "storage '%.*s' has %llu elements in the file but %llu in the "
                            "pickle", KEY_ARG(s), (unsigned long long)count,
                            (unsigned long long)s->numel);
        pos += 8;
        if (__builtin_mul_overflow(count, (uint64_t)mhv_dtype_size(s->dtype), &nbytes) ||
            nbytes > size - pos)
            return mhv_fail(err, MHV_EFORMAT, label,
                            "storage '%.*s' (%llu x %s) runs past the end of the file (file "
                            "truncated?)", KEY_ARG(s), (unsigned long long)count,
                            mhv_dtype_name(s->dtype));
        for (size_t k = lo; k < n && same_key(&sd->storages[order[k]], s); k++)
            sdata[order[k]] = buf + pos;
        pos += (size_t)nbytes;
    }
    for (size_t i = 0; i < n; i++)
        if (!sdata[i])
            return mhv_fail(err, MHV_EFORMAT, label, "storage '%.*s' is not in the key list",
                            KEY_ARG(&sd->storages[i]));
    if (pos != size)
        return mhv_fail(err, MHV_EFORMAT, label, "%zu bytes after the last storage", size - pos);
    return MHV_OK;
}

static mhv_status check_names(const mhv_pkl_state_dict *sd, const char *label, mhv_error *err)
{
    size_t n = sd->n_tensors;
    if (n < 2)
        return MHV_OK;
    size_t *order = malloc(n * sizeof *order);
    if (!order)
        return mhv_fail(err, MHV_ENOMEM, label, "out of memory");
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof *order, tensor_cmp, sd->tensors);
    mhv_status rc = MHV_OK;
    for (size_t k = 1; k < n && !rc; k++) {
        const mhv_pkl_tensor *a = &sd->tensors[order[k - 1]], *b = &sd->tensors[order[k]];
        if (bytes_cmp(a->name, a->name_len, b->name, b->name_len) == 0)
            rc = mhv_fail(err, MHV_EFORMAT, label,
                          "tensor '%.*s' appears twice in the state dict", NAME_ARG(a));
    }
    free(order);
    return rc;
}

static mhv_status build_table(const mhv_pkl_state_dict *sd, const uint8_t *const *sdata,
                              mhv_tbin *out, const char *label, mhv_error *err)
{
    size_t n = sd->n_tensors, total = 0;
    for (size_t i = 0; i < n; i++)
        total += sd->tensors[i].name_len + 1; /* <= pickle size + n: no overflow */
    out->t = calloc(n ? n : 1, sizeof *out->t);
    out->names = malloc(total ? total : 1);
    if (!out->t || !out->names) {
        mhv_tbin_free(out);
        return mhv_fail(err, MHV_ENOMEM, label, "out of memory for %zu tensors", n);
    }
    char *names = out->names;
    for (size_t i = 0; i < n; i++) {
        const mhv_pkl_tensor *p = &sd->tensors[i];
        const mhv_pkl_storage *s = &sd->storages[p->storage];
        size_t es = mhv_dtype_size(s->dtype);
        mhv_tensor *t = &out->t[i];
        memcpy(names, p->name, p->name_len);
        names[p->name_len] = '\0';
        t->name = names;
        names += p->name_len + 1;
        t->dtype = s->dtype;
        t->ndim = p->ndim;
        memcpy(t->shape, p->shape, sizeof t->shape);
        t->numel = (int64_t)p->numel;
        /* offset + numel <= storage numel (pickle.c), whose byte size matched the record */
        t->data = sdata[p->storage] + p->offset * es;
        t->nbytes = (size_t)(p->numel * es);
    }
    out->n = n;
    return MHV_OK;
}

/* The storages of sd resolved (zip record or legacy data area), the names checked, the
 * table built. pos: where a legacy file's data area starts; z NULL for legacy. */
static mhv_status finish(const uint8_t *buf, size_t size, const mhv_zip *z, const char *prefix,
                         size_t plen, char *path, size_t pos, const mhv_pkl_state_dict *sd,
                         mhv_tbin *out, const char *label, mhv_error *err)
{
    size_t *order = NULL;
    const uint8_t **sdata = calloc(sd->n_storages ? sd->n_storages : 1, sizeof *sdata);
    if (!sdata)
        return mhv_fail(err, MHV_ENOMEM, label, "out of memory");
    mhv_status rc = sort_storages(sd, &order, label, err);
    if (!rc)
        rc = z ? zip_storages(z, prefix, plen, sd, order, sdata, path, label, err)
               : legacy_storages(buf, size, pos, sd, order, sdata, label, err);
    if (!rc)
        rc = check_names(sd, label, err);
    if (!rc)
        rc = build_table(sd, sdata, out, label, err);
    free(order);
    free(sdata);
    return rc;
}

/* The pickle of torch's legacy magic number (0x1950a86a20f9469cfc6c, a LONG1 after PROTO 2):
 * how every pre-1.6 (or _use_new_zipfile_serialization=False) file starts. */
static const uint8_t legacy_magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                       0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

static mhv_status parse_legacy(const uint8_t *buf, size_t size, const char *label, mhv_tbin *out,
                               mhv_error *err)
{
    mhv_pkl_state_dict sd = {0};
    size_t pos = 0;
    mhv_status rc = mhv_pkl_read_legacy(buf, size, label, &sd, &pos, err);
    if (!rc)
        rc = finish(buf, size, NULL, NULL, 0, NULL, pos, &sd, out, label, err);
    mhv_pkl_state_dict_free(&sd);
    return rc;
}

mhv_status mhv_tbin_parse(const uint8_t *buf, size_t size, const char *label, mhv_tbin *out,
                          mhv_error *err)
{
    memset(out, 0, sizeof *out);
    if (size >= sizeof legacy_magic && memcmp(buf, legacy_magic, sizeof legacy_magic) == 0)
        return parse_legacy(buf, size, label, out, err);
    if (size >= 262 && memcmp(buf + 257, "ustar", 5) == 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, label,
                        "tar-format torch.save checkpoints (torch<0.4) are not supported; "
                        "re-save with torch>=1.6");
    mhv_zip *z = NULL;
    mhv_status rc = mhv_zip_open(buf, size, label, &z, err);
    if (rc)
        return rc;
    const char *prefix = NULL;
    size_t plen = 0;
    mhv_pkl_state_dict sd = {0};
    char *path = NULL;
    const mhv_zip_entry *e;
    if ((rc = archive_prefix(z, label, &prefix, &plen, err)))
        goto out;
    if (!(path = malloc(plen + 16))) {
        rc = mhv_fail(err, MHV_ENOMEM, label, "out of memory");
        goto out;
    }
    if ((e = record(z, prefix, plen, "byteorder", 9, "", 0, path)) &&
        !(e->size == 6 && memcmp(e->data, "little", 6) == 0)) {
        rc = mhv_fail(err, MHV_EUNSUPPORTED, label,
                      "byteorder record is '%.*s'; only little-endian checkpoints are supported",
                      (int)(e->size > 20 ? 20 : e->size), (const char *)e->data);
        goto out;
    }
    if (!(e = record(z, prefix, plen, "data.pkl", 8, "", 0, path))) {
        rc = mhv_fail(err, MHV_EFORMAT, label,
                      "no '%.*s/data.pkl' in the archive; not a torch.save checkpoint",
                      (int)(plen > 60 ? 60 : plen), prefix);
        goto out;
    }
    if (e->size == 0) {
        rc = mhv_fail(err, MHV_EFORMAT, label, "data.pkl is empty");
        goto out;
    }
    /* room for prefix/data/<key>: a key is shorter than the pickle, which is shorter than
     * the file (so the sum cannot overflow) */
    char *longer = realloc(path, plen + 16 + (size_t)e->size);
    if (!longer) {
        rc = mhv_fail(err, MHV_ENOMEM, label, "out of memory");
        goto out;
    }
    path = longer;
    if (!(rc = mhv_pkl_read_state_dict(e->data, (size_t)e->size, label, &sd, err)))
        rc = finish(buf, size, z, prefix, plen, path, 0, &sd, out, label, err);
out:
    free(path);
    mhv_pkl_state_dict_free(&sd);
    mhv_zip_free(z);
    return rc;
}
