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

/* Resolves every storage to its record: sdata[i] is storage i's bytes. Storages sharing a
 * key must agree on dtype and size. */
static mhv_status resolve_storages(const mhv_zip *z, const char *prefix, size_t plen,
                                   const mhv_pkl_state_dict *sd, const uint8_t **sdata,
                                   char *path, const char *label, mhv_error *err)
{
    size_t n = sd->n_storages;
    if (!n)
        return MHV_OK;
    size_t *order = malloc(n * sizeof *order);
    mhv_status rc = MHV_OK;
    if (!order) {
        rc = mhv_fail(err, MHV_ENOMEM, label, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof *order, storage_cmp, sd->storages);
    const uint8_t *data = NULL;
    for (size_t k = 0; k < n; k++) {
        const mhv_pkl_storage *s = &sd->storages[order[k]];
        const mhv_pkl_storage *prev = k ? &sd->storages[order[k - 1]] : NULL;
        if (prev && bytes_cmp(prev->key, prev->key_len, s->key, s->key_len) == 0) {
            if (prev->dtype != s->dtype || prev->numel != s->numel) {
                rc = mhv_fail(err, MHV_EFORMAT, label,
                              "storage '%.*s' is declared as %llu x %s and as %llu x %s",
                              KEY_ARG(s), (unsigned long long)prev->numel,
                              mhv_dtype_name(prev->dtype), (unsigned long long)s->numel,
                              mhv_dtype_name(s->dtype));
                goto out;
            }
            sdata[order[k]] = data;
            continue;
        }
        const mhv_zip_entry *e = record(z, prefix, plen, "data/", 5, s->key, s->key_len, path);
        if (!e) {
            rc = mhv_fail(err, MHV_EFORMAT, label, "storage '%.*s' has no record '%.*s/data/%.*s'",
                          KEY_ARG(s), (int)(plen > 60 ? 60 : plen), prefix, KEY_ARG(s));
            goto out;
        }
        uint64_t want;
        if (__builtin_mul_overflow(s->numel, (uint64_t)mhv_dtype_size(s->dtype), &want) ||
            want != e->size) {
            rc = mhv_fail(err, MHV_EFORMAT, label,
                          "storage '%.*s' of %llu x %s has a %llu-byte record", KEY_ARG(s),
                          (unsigned long long)s->numel, mhv_dtype_name(s->dtype),
                          (unsigned long long)e->size);
            goto out;
        }
        data = e->data;
        sdata[order[k]] = data;
    }
out:
    free(order);
    return rc;
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

mhv_status mhv_tbin_parse(const uint8_t *buf, size_t size, const char *label, mhv_tbin *out,
                          mhv_error *err)
{
    memset(out, 0, sizeof *out);
    mhv_zip *z = NULL;
    mhv_status rc = mhv_zip_open(buf, size, label, &z, err);
    if (rc)
        return rc;
    const char *prefix = NULL;
    size_t plen = 0;
    mhv_pkl_state_dict sd = {0};
    const uint8_t **sdata = NULL;
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
    if ((rc = mhv_pkl_read_state_dict(e->data, (size_t)e->size, label, &sd, err)))
        goto out;
    if (sd.n_storages && !(sdata = calloc(sd.n_storages, sizeof *sdata))) {
        rc = mhv_fail(err, MHV_ENOMEM, label, "out of memory");
        goto out;
    }
    if ((rc = resolve_storages(z, prefix, plen, &sd, sdata, path, label, err)) ||
        (rc = check_names(&sd, label, err)))
        goto out;
    rc = build_table(&sd, sdata, out, label, err);
out:
    free(path);
    free(sdata);
    mhv_pkl_state_dict_free(&sd);
    mhv_zip_free(z);
    return rc;
}
