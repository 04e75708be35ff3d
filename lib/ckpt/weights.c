#include "ckpt/weights.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void mhv_mat_row(const mhv_mat *m, int r, float *dst)
{
    size_t esz = mhv_dtype_size(m->dtype);
    mhv_dtype_to_f32(dst, (const char *)m->data + (size_t)r * (size_t)m->cols * esz, m->dtype,
                     (size_t)m->cols);
}

mhv_mat mhv_mat_rows(const mhv_mat *w, int r0, int rows)
{
    mhv_mat s = *w;
    s.data = (const char *)w->data + (size_t)r0 * (size_t)w->cols * mhv_dtype_size(w->dtype);
    s.rows = rows;
    return s;
}

void mhv_wstore_free(mhv_wstore *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_copies; i++)
        free(s->copies[i]);
    free(s->copies);
    free(s->vecs);
    memset(s, 0, sizeof *s);
}

mhv_status mhv_wload_init(mhv_wload *ld, const mhv_st *st, const char *dir, size_t vec_floats,
                          mhv_wstore *store, mhv_error *err)
{
    memset(ld, 0, sizeof *ld);
    ld->st = st;
    ld->dir = dir;
    ld->store = store;
    /* the index of a sharded checkpoint, else its one file */
    snprintf(ld->ckpt_name, sizeof ld->ckpt_name, "%s", mhv_st_source(st));
    /* every vector is stored in the checkpoint (2 bytes an element at least), so a config
     * that asks for more than the files hold is refused before allocating */
    if (vec_floats > mhv_st_file_bytes(st) / 2)
        return mhv_fail(err, MHV_EFORMAT, ld->ckpt_name,
                        "checkpoint is too small for the sizes in config.json");
    if (!(store->vecs = malloc((vec_floats ? vec_floats : 1) * sizeof(float))))
        return mhv_fail(err, MHV_ENOMEM, dir, "out of memory");
    store->vec_cap = vec_floats;
    store->vec_used = 0;
    return MHV_OK;
}

void mhv_wload_prefix(mhv_wload *ld, const char *const *candidates, const char *probe)
{
    ld->prefix[0] = '\0';
    for (; *candidates; candidates++) {
        char name[256];
        snprintf(name, sizeof name, "%s%s", *candidates, probe);
        if (mhv_st_find(ld->st, name)) {
            snprintf(ld->prefix, sizeof ld->prefix, "%s", *candidates);
            return;
        }
    }
}

/* Tries prefix+name, then the old LayerNorm spelling (gamma/beta); `found` gets the name
 * found, or the one looked for. */
static const mhv_tensor *lookup(const mhv_wload *ld, const char *name, int flags, char *found,
                                size_t found_size)
{
    static const struct { const char *now, *old; } renames[] = {
        {"LayerNorm.weight", "LayerNorm.gamma"},
        {"LayerNorm.bias", "LayerNorm.beta"},
    };
    snprintf(found, found_size, "%s%s", flags & MHV_W_BARE ? "" : ld->prefix, name);
    const mhv_tensor *t = mhv_st_find(ld->st, found);
    if (t)
        return t;
    size_t len = strlen(found);
    for (size_t i = 0; i < sizeof renames / sizeof renames[0]; i++) {
        size_t nl = strlen(renames[i].now);
        if (len >= nl && strcmp(found + len - nl, renames[i].now) == 0) {
            char old[512];
            snprintf(old, sizeof old, "%.*s%s", (int)(len - nl), found, renames[i].old);
            if ((t = mhv_st_find(ld->st, old))) {
                snprintf(found, found_size, "%s", old);
                return t;
            }
        }
    }
    return NULL;
}

static void shape_str(const int64_t *shape, int ndim, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
}

/* t, found as `full`, checked for a float dtype and the shape (rows, cols; cols 0 for a
 * vector). */
static mhv_status check_tensor(const mhv_wload *ld, const mhv_tensor *t, const char *full,
                               int rows, int cols, mhv_error *err)
{
    char where[4700];
    snprintf(where, sizeof where, "%s/%s", ld->dir, t->file);
    if (!mhv_dtype_is_float_weight(t->dtype))
        return mhv_fail(err, MHV_EUNSUPPORTED, where,
                        "tensor '%s' has dtype %s; only F32, F16 and BF16 are supported", full,
                        mhv_dtype_name(t->dtype));
    int64_t want[2] = {rows, cols};
    int want_ndim = cols ? 2 : 1;
    if (t->ndim != want_ndim || t->shape[0] != want[0] || (cols && t->shape[1] != want[1])) {
        char got_s[128], want_s[64];
        shape_str(t->shape, t->ndim, got_s, sizeof got_s);
        shape_str(want, want_ndim, want_s, sizeof want_s);
        return mhv_fail(err, MHV_EFORMAT, where, "tensor '%s' has shape %s, expected %s", full,
                        got_s, want_s);
    }
    return MHV_OK;
}

/* The tensor `name` checked for dtype and shape; NULL with MHV_OK in *st when absent and
 * optional. */
static const mhv_tensor *find(mhv_wload *ld, const char *name, int rows, int cols, int flags,
                              mhv_status *st, mhv_error *err)
{
    char full[512];
    *st = MHV_OK;
    const mhv_tensor *t = lookup(ld, name, flags, full, sizeof full);
    if (!t) {
        if (!(flags & MHV_W_OPTIONAL))
            *st = mhv_fail(err, MHV_EFORMAT, ld->ckpt_name, "missing tensor '%s'", full);
        return NULL;
    }
    *st = check_tensor(ld, t, full, rows, cols, err);
    return *st ? NULL : t;
}

/* The data of t, or a private aligned copy when the file misaligns it: kernels read
 * elements as aligned floats/halves (the HF writer never misaligns them). */
static const void *aligned_data(mhv_wload *ld, const mhv_tensor *t, mhv_status *st,
                                mhv_error *err)
{
    *st = MHV_OK;
    if ((uintptr_t)t->data % mhv_dtype_size(t->dtype) == 0)
        return t->data;
    mhv_wstore *s = ld->store;
    void *copy = malloc(t->nbytes);
    void **grown = realloc(s->copies, (size_t)(s->n_copies + 1) * sizeof *grown);
    if (grown)
        s->copies = grown;
    if (!copy || !grown) {
        free(copy);
        *st = mhv_fail(err, MHV_ENOMEM, ld->ckpt_name, "out of memory copying '%s'", t->name);
        return NULL;
    }
    memcpy(copy, t->data, t->nbytes);
    s->copies[s->n_copies++] = copy;
    return copy;
}

mhv_status mhv_wload_mat(mhv_wload *ld, const char *name, int rows, int cols, int flags,
                         mhv_mat *mat, mhv_error *err)
{
    mhv_status st;
    memset(mat, 0, sizeof *mat);
    const mhv_tensor *t = find(ld, name, rows, cols, flags, &st, err);
    if (!t)
        return st;
    if (!(mat->data = aligned_data(ld, t, &st, err)))
        return st;
    mat->dtype = t->dtype;
    mat->rows = rows;
    mat->cols = cols;
    return MHV_OK;
}

mhv_status mhv_wload_tensor(mhv_wload *ld, const char *name, const int64_t *dims, int ndim,
                            int flags, mhv_mat *mat, mhv_error *err)
{
    char full[512];
    memset(mat, 0, sizeof *mat);
    const mhv_tensor *t = lookup(ld, name, flags, full, sizeof full);
    if (!t)
        return flags & MHV_W_OPTIONAL
                   ? MHV_OK
                   : mhv_fail(err, MHV_EFORMAT, ld->ckpt_name, "missing tensor '%s'", full);
    int same = t->ndim == ndim;
    for (int i = 0; i < ndim; i++)
        same = same && t->shape[i] == dims[i];
    char got_s[128], where[4700];
    shape_str(t->shape, t->ndim, got_s, sizeof got_s);
    snprintf(where, sizeof where, "%s/%s", ld->dir, t->file);
    if (!same) {
        char want_s[128];
        shape_str(dims, ndim, want_s, sizeof want_s);
        return mhv_fail(err, MHV_EFORMAT, where, "tensor '%s' has shape %s, expected %s", full,
                        got_s, want_s);
    }
    /* the shape is the file's now, whose element count the reader bounded: the product
     * cannot overflow, but the matrix's rows and columns are ints */
    int64_t rest = 1;
    for (int i = 1; i < ndim; i++)
        rest *= t->shape[i];
    if (t->shape[0] > INT_MAX || rest > INT_MAX)
        return mhv_fail(err, MHV_EFORMAT, where,
                        "tensor '%s' has shape %s: a matrix of more than %d rows or columns",
                        full, got_s, INT_MAX);
    mhv_status st;
    if (!mhv_dtype_is_float_weight(t->dtype))
        return check_tensor(ld, t, full, 0, 0, err); /* names the dtype */
    if (!(mat->data = aligned_data(ld, t, &st, err)))
        return st;
    mat->dtype = t->dtype;
    mat->rows = (int)dims[0];
    mat->cols = (int)rest;
    return MHV_OK;
}

mhv_status mhv_wload_vec(mhv_wload *ld, const char *name, int len, int flags, float **vec,
                         mhv_error *err)
{
    mhv_status st;
    *vec = NULL;
    const mhv_tensor *t = find(ld, name, len, 0, flags, &st, err);
    if (!t)
        return st;
    mhv_wstore *s = ld->store;
    if (s->vec_cap - s->vec_used < (size_t)len) /* sized by the family's bound; a guard */
        return mhv_fail(err, MHV_EFORMAT, ld->ckpt_name, "too many vectors");
    *vec = s->vecs + s->vec_used;
    s->vec_used += (size_t)len;
    mhv_dtype_to_f32(*vec, t->data, t->dtype, (size_t)len);
    return MHV_OK;
}

mhv_status mhv_wload_linear(mhv_wload *ld, const char *base, int rows, int cols, mhv_mat *w,
                            float **b, mhv_error *err)
{
    char n[200];
    mhv_status st;
    snprintf(n, sizeof n, "%s.weight", base);
    if ((st = mhv_wload_mat(ld, n, rows, cols, 0, w, err)))
        return st;
    snprintf(n, sizeof n, "%s.bias", base);
    return mhv_wload_vec(ld, n, rows, 0, b, err);
}

mhv_status mhv_wload_pair(mhv_wload *ld, const char *base, int len, int flags, float **w,
                          float **b, mhv_error *err)
{
    char n[200];
    mhv_status st;
    snprintf(n, sizeof n, "%s.weight", base);
    if ((st = mhv_wload_vec(ld, n, len, flags, w, err)))
        return st;
    snprintf(n, sizeof n, "%s.bias", base);
    return mhv_wload_vec(ld, n, len, flags, b, err);
}

mhv_status mhv_wload_scalar(mhv_wload *ld, const char *name, int flags, float *out,
                            mhv_error *err)
{
    char full[512];
    const mhv_tensor *t = lookup(ld, name, flags, full, sizeof full);
    if (!t)
        return flags & MHV_W_OPTIONAL
                   ? MHV_OK
                   : mhv_fail(err, MHV_EFORMAT, ld->ckpt_name, "missing tensor '%s'", full);
    char where[4700];
    snprintf(where, sizeof where, "%s/%s", ld->dir, t->file);
    if (!mhv_dtype_is_float_weight(t->dtype))
        return mhv_fail(err, MHV_EUNSUPPORTED, where,
                        "tensor '%s' has dtype %s; only F32, F16 and BF16 are supported", full,
                        mhv_dtype_name(t->dtype));
    if (t->ndim != 0)
        return mhv_fail(err, MHV_EFORMAT, where, "tensor '%s' is not a scalar (shape ())",
                        full);
    mhv_dtype_to_f32(out, t->data, t->dtype, 1);
    return MHV_OK;
}

mhv_status mhv_wload_zeros(mhv_wload *ld, int len, float **out, mhv_error *err)
{
    mhv_wstore *s = ld->store;
    if (s->vec_cap - s->vec_used < (size_t)len) /* sized by the family's bound; a guard */
        return mhv_fail(err, MHV_EFORMAT, ld->ckpt_name, "too many vectors");
    *out = s->vecs + s->vec_used;
    s->vec_used += (size_t)len;
    memset(*out, 0, (size_t)len * sizeof **out);
    return MHV_OK;
}

mhv_status mhv_wload_conv1d(mhv_wload *ld, const char *name, int in, const int *out_w,
                            int parts, mhv_mat *mats, mhv_error *err)
{
    int total = 0;
    for (int k = 0; k < parts; k++)
        if (__builtin_add_overflow(total, out_w[k], &total))
            return mhv_fail(err, MHV_EFORMAT, ld->ckpt_name,
                            "tensor '%s' would have more than %d columns", name, INT_MAX);
    mhv_status st;
    const mhv_tensor *t = find(ld, name, in, total, 0, &st, err);
    if (!t)
        return st;
    const char *base = aligned_data(ld, t, &st, err);
    if (!base)
        return st;
    size_t esz = mhv_dtype_size(t->dtype), col = 0;
    for (int k = 0; k < parts; k++) {
        mats[k] = (mhv_mat){.data = base + col * esz, .dtype = t->dtype, .rows = out_w[k],
                            .cols = in, .transposed = 1, .ld = (size_t)total};
        col += (size_t)out_w[k];
    }
    return MHV_OK;
}
