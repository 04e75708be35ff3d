/* safetensors.c - mmap and validate safetensors files and sharded checkpoints.
 *
 * Validation follows the reference implementation (huggingface/safetensors, Rust): the header
 * is at most 100 MB of UTF-8 JSON; tensors sorted by data_offsets must tile the data area
 * exactly, starting at 0, with no overlap, no hole and nothing after the last tensor. Being as
 * strict as the reference costs nothing on real checkpoints (anything transformers can load
 * passes) and means every byte of a file we accept is accounted for. Unknown fields inside a
 * tensor entry are ignored, as the reference does. */
#include "ckpt/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/hash.h"
#include "base/json.h"
#include "ckpt/torchbin.h"

/* Same limit as the reference: a bigger header is an attack, not a checkpoint. */
#define ST_MAX_HEADER ((uint64_t)100000000)
/* JSON numbers are doubles: integers above 2^53 are not exact, so no offset or dimension
 * may exceed it (no file is that large anyway). */
#define ST_MAX_JSON_INT ((uint64_t)1 << 53)
/* An index.json is a few hundred KB even for the largest models. */
#define ST_MAX_INDEX_BYTES ((size_t)64 << 20)
/* Tensor names quoted in messages are cut so one hostile name cannot fill the line. */
#define NAME_FMT "%.120s"

typedef struct {
    char *name;        /* base name used in tensor.file; the path for mhv_st_open_file */
    void *map;         /* NULL when the buffer belongs to the caller (mhv_st_parse) */
    size_t map_size;
} st_file;

struct mhv_st {
    mhv_tensor *t;     /* t[i].name is malloc'd and owned here */
    size_t n, cap;
    st_file *files;
    size_t nfiles, files_cap;
    size_t *slots;     /* open-addressing table of tensor index + 1; 0 = empty */
    size_t nslots;     /* power of two, kept at least twice n */
    uint64_t file_bytes;
    char *source;      /* the index or single file opened, for mhv_st_source */
};

/* ---- the name table ---- */

/* Returns the slot holding `name`, or the empty slot where it would go. */
static size_t slot_of(const mhv_st *st, const char *name)
{
    size_t mask = st->nslots - 1;
    size_t i = (size_t)mhv_hash(name, strlen(name)) & mask; /* keyed: no crafted collisions */
    while (st->slots[i] && strcmp(st->t[st->slots[i] - 1].name, name) != 0)
        i = (i + 1) & mask;
    return i;
}

/* Rebuilds the table for the first st->n tensors, sized for `want` entries. Duplicates are
 * not expected here: callers insert through table_add, which rejects them. */
static int table_rebuild(mhv_st *st, size_t want)
{
    size_t ns = 16;
    while (ns < want * 2) {
        if (ns > SIZE_MAX / 4)
            return -1;
        ns *= 2;
    }
    size_t *slots = calloc(ns, sizeof *slots);
    if (!slots)
        return -1;
    free(st->slots);
    st->slots = slots;
    st->nslots = ns;
    for (size_t k = 0; k < st->n; k++)
        st->slots[slot_of(st, st->t[k].name)] = k + 1;
    return 0;
}

/* ---- small validation helpers ---- */

/* Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF) and no NUL, which
 * cJSON would otherwise accept inside strings and silently cut names at. Returns the offset
 * of the first bad byte, or len when all is well. */
static size_t utf8_check(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            need = 1, cp = c & 0x1fu, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            need = 2, cp = c & 0x0fu, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            need = 3, cp = c & 0x07u, min = 0x10000;
        } else {
            return i;
        }
        if (len - i <= need)
            return i;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += need + 1;
    }
    return len;
}

/* A JSON number that is a non-negative integer we can represent exactly. */
static int json_uint(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return -1;
    double d = v->valuedouble;
    if (!isfinite(d) || d < 0 || d != floor(d) || d > (double)ST_MAX_JSON_INT)
        return -1;
    *out = (uint64_t)d;
    return 0;
}

/* ---- parsing one file ---- */

typedef struct {
    uint64_t begin, end;
    size_t idx; /* into st->t */
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static mhv_status check_metadata(const cJSON *meta, const char *name, mhv_error *err)
{
    if (!cJSON_IsObject(meta))
        return mhv_fail(err, MHV_EFORMAT, name, "header '__metadata__' is not an object");
    for (const cJSON *m = meta->child; m; m = m->next)
        if (!cJSON_IsString(m))
            return mhv_fail(err, MHV_EFORMAT, name,
                            "header '__metadata__' value '" NAME_FMT "' is not a string",
                            m->string);
    return MHV_OK;
}

/* Fills t (except name/file) and the span from one header entry. data is the data area. */
static mhv_status parse_entry(const cJSON *e, const uint8_t *data, uint64_t data_size,
                              mhv_tensor *t, span *sp, const char *name, mhv_error *err)
{
    const char *tn = e->string;
    if (!cJSON_IsObject(e))
        return mhv_fail(err, MHV_EFORMAT, name, "tensor '" NAME_FMT "' entry is not an object",
                        tn);

    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    if (!dt)
        return mhv_fail(err, MHV_EFORMAT, name, "tensor '" NAME_FMT "' has no 'dtype'", tn);
    if (!cJSON_IsString(dt))
        return mhv_fail(err, MHV_EFORMAT, name, "tensor '" NAME_FMT "' 'dtype' is not a string",
                        tn);
    int d = mhv_dtype_from_name(dt->valuestring);
    if (d < 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "tensor '" NAME_FMT "' has unknown dtype '%.40s'", tn, dt->valuestring);
    t->dtype = (mhv_dtype)d;

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    if (!shape)
        return mhv_fail(err, MHV_EFORMAT, name, "tensor '" NAME_FMT "' has no 'shape'", tn);
    if (!cJSON_IsArray(shape))
        return mhv_fail(err, MHV_EFORMAT, name, "tensor '" NAME_FMT "' 'shape' is not an array",
                        tn);
    uint64_t numel = 1;
    int nd = 0;
    for (const cJSON *s = shape->child; s; s = s->next) {
        if (nd == MHV_ST_MAX_DIMS)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "tensor '" NAME_FMT "' has more than %d dimensions", tn,
                            MHV_ST_MAX_DIMS);
        uint64_t dim;
        if (json_uint(s, &dim) != 0)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "tensor '" NAME_FMT "' shape[%d] is not a non-negative integer", tn,
                            nd);
        if (__builtin_mul_overflow(numel, dim, &numel) || numel > (uint64_t)INT64_MAX)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "tensor '" NAME_FMT "' element count overflows", tn);
        t->shape[nd++] = (int64_t)dim;
    }
    t->ndim = nd;
    t->numel = (int64_t)numel;

    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!off)
        return mhv_fail(err, MHV_EFORMAT, name, "tensor '" NAME_FMT "' has no 'data_offsets'",
                        tn);
    uint64_t b, en;
    if (!cJSON_IsArray(off) || !off->child || !off->child->next || off->child->next->next ||
        json_uint(off->child, &b) != 0 || json_uint(off->child->next, &en) != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "tensor '" NAME_FMT "' 'data_offsets' is not two non-negative integers",
                        tn);
    if (b > en)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "tensor '" NAME_FMT "' data_offsets begin %llu is after end %llu", tn,
                        (unsigned long long)b, (unsigned long long)en);
    if (en > data_size)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "tensor '" NAME_FMT "' data ends at %llu, beyond the %llu-byte data area "
                        "(file truncated?)",
                        tn, (unsigned long long)en, (unsigned long long)data_size);
    uint64_t nbytes;
    if (__builtin_mul_overflow(numel, (uint64_t)mhv_dtype_size(t->dtype), &nbytes))
        return mhv_fail(err, MHV_EFORMAT, name, "tensor '" NAME_FMT "' byte size overflows", tn);
    if (en - b != nbytes)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "tensor '" NAME_FMT "' has %llu data bytes, but its shape and dtype %s "
                        "need %llu",
                        tn, (unsigned long long)(en - b), mhv_dtype_name(t->dtype),
                        (unsigned long long)nbytes);
    /* en <= data_size <= the buffer size, so these fit size_t */
    t->data = data + b;
    t->nbytes = (size_t)nbytes;
    sp->begin = b;
    sp->end = en;
    return MHV_OK;
}

/* The reference's rule: sorted by offsets, each tensor starts where the previous ended. */
static mhv_status check_tiling(const mhv_st *st, span *sp, size_t n, uint64_t data_size,
                               const char *name, mhv_error *err)
{
    if (n > 1)
        qsort(sp, n, sizeof *sp, span_cmp);
    uint64_t pos = 0;
    const char *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *tn = st->t[sp[i].idx].name;
        if (sp[i].begin < pos)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "tensors '" NAME_FMT "' and '" NAME_FMT "' overlap", prev, tn);
        if (sp[i].begin > pos)
            return mhv_fail(err, MHV_EFORMAT, name,
                            "%llu unused bytes before tensor '" NAME_FMT "' at offset %llu",
                            (unsigned long long)(sp[i].begin - pos), tn,
                            (unsigned long long)sp[i].begin);
        pos = sp[i].end;
        prev = tn;
    }
    if (pos != data_size)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "%llu unused bytes after the last tensor (data area is %llu bytes)",
                        (unsigned long long)(data_size - pos), (unsigned long long)data_size);
    return MHV_OK;
}

/* Validates the length prefix; on success *hlen is the JSON length. */
static mhv_status check_prefix(const uint8_t *buf, size_t size, const char *name,
                               uint64_t *hlen, mhv_error *err)
{
    if (size == 0)
        return mhv_fail(err, MHV_EFORMAT, name, "file is empty");
    if (size < 8)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "file is %zu bytes, too short for the 8-byte header length", size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | buf[i];
    if (n < 2)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "header length is %llu, too small for a JSON object",
                        (unsigned long long)n);
    if (n > ST_MAX_HEADER)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "header length %llu exceeds the %llu-byte limit", (unsigned long long)n,
                        (unsigned long long)ST_MAX_HEADER);
    /* n <= 1e8, so 8 + n cannot overflow */
    if (n > size - 8)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "header length %llu goes beyond the end of the %zu-byte file",
                        (unsigned long long)n, size);
    *hlen = n;
    return MHV_OK;
}

static mhv_status parse_json_header(const uint8_t *h, size_t n, const char *name, cJSON **out,
                                    mhv_error *err)
{
    size_t bad = utf8_check(h, n);
    if (bad != n && h[bad] == 0)
        return mhv_fail(err, MHV_EFORMAT, name, "header contains a NUL byte (byte %zu)", bad);
    if (bad != n)
        return mhv_fail(err, MHV_EFORMAT, name, "header is not valid UTF-8 (byte %zu)", bad);
    /* A terminated copy: cJSON is then safe even if some path of it reads one byte past
     * `length`, which on a caller's exact-size buffer would be out of bounds. */
    char *copy = malloc(n + 1);
    if (!copy)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory for a %zu-byte header", n);
    memcpy(copy, h, n);
    copy[n] = '\0';
    /* the shared reader: trailing bytes, \u0000 in names, duplicate names, parse cost */
    cJSON *root;
    mhv_status rc = mhv_json_parse_doc(copy, n, name, "header", &root, err);
    free(copy);
    if (rc)
        return rc;
    *out = root;
    return MHV_OK;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > SIZE_MAX / 2)
            return -1;
        nc *= 2;
    }
    size_t bytes;
    if (__builtin_mul_overflow(nc, elem, &bytes))
        return -1;
    void *q = realloc(*p, bytes);
    if (!q)
        return -1;
    *p = q;
    *cap = nc;
    return 0;
}

/* Drops tensors appended after `keep` so a failed parse leaves st as it was. */
static void rollback(mhv_st *st, size_t keep)
{
    for (size_t i = keep; i < st->n; i++)
        free((char *)st->t[i].name);
    st->n = keep;
    if (st->slots) {
        /* open addressing cannot delete in place; re-inserting the survivors into the
         * same (large enough) table needs no allocation, so rollback cannot fail */
        memset(st->slots, 0, st->nslots * sizeof *st->slots);
        for (size_t k = 0; k < st->n; k++)
            st->slots[slot_of(st, st->t[k].name)] = k + 1;
    }
}

/* Registers `name` as a file of st; the tensor `file` fields point at the stored copy. */
static const char *add_file(mhv_st *st, const char *name, void *map, size_t map_size)
{
    if (grow((void **)&st->files, &st->files_cap, st->nfiles + 1, sizeof *st->files) != 0)
        return NULL;
    char *copy = strdup(name);
    if (!copy)
        return NULL;
    st->files[st->nfiles++] = (st_file){copy, map, map_size};
    return copy;
}

/* The whole of mhv_st_parse except the file registration, so the caller decides who owns
 * the buffer. */
static mhv_status parse_into(mhv_st *st, const uint8_t *buf, size_t size, const char *name,
                             const char *file_label, mhv_error *err)
{
    uint64_t hlen = 0;
    mhv_status rc = check_prefix(buf, size, name, &hlen, err);
    if (rc != MHV_OK)
        return rc;
    cJSON *root = NULL;
    rc = parse_json_header(buf + 8, (size_t)hlen, name, &root, err);
    if (rc != MHV_OK)
        return rc;

    const uint8_t *data = buf + 8 + hlen;
    uint64_t data_size = (uint64_t)size - 8 - hlen;
    size_t keep = st->n;
    size_t ntens = 0;
    span *sp = NULL;
    int seen_meta = 0;

    for (const cJSON *e = root->child; e; e = e->next)
        ntens++;
    if (ntens && !(sp = calloc(ntens, sizeof *sp))) {
        rc = mhv_fail(err, MHV_ENOMEM, name, "out of memory for %zu tensors", ntens);
        goto out;
    }
    size_t want;
    if (__builtin_add_overflow(st->n, ntens, &want) ||
        grow((void **)&st->t, &st->cap, want, sizeof *st->t) != 0 ||
        (want * 2 > st->nslots && table_rebuild(st, want) != 0)) {
        rc = mhv_fail(err, MHV_ENOMEM, name, "out of memory for %zu tensors", ntens);
        goto out;
    }

    size_t ns = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (seen_meta) {
                rc = mhv_fail(err, MHV_EFORMAT, name, "header has two '__metadata__' entries");
                goto out;
            }
            seen_meta = 1;
            if ((rc = check_metadata(e, name, err)) != MHV_OK)
                goto out;
            continue;
        }
        mhv_tensor t = {0};
        if ((rc = parse_entry(e, data, data_size, &t, &sp[ns], name, err)) != MHV_OK)
            goto out;
        size_t slot = slot_of(st, e->string);
        if (st->slots[slot]) {
            const mhv_tensor *o = &st->t[st->slots[slot] - 1];
            if (st->slots[slot] - 1 >= keep)
                rc = mhv_fail(err, MHV_EFORMAT, name,
                              "duplicate tensor name '" NAME_FMT "' in header", e->string);
            else
                rc = mhv_fail(err, MHV_EFORMAT, name,
                              "tensor '" NAME_FMT "' is also in '%s'", e->string, o->file);
            goto out;
        }
        if (!(t.name = strdup(e->string))) {
            rc = mhv_fail(err, MHV_ENOMEM, name, "out of memory");
            goto out;
        }
        t.file = file_label;
        sp[ns].idx = st->n;
        st->t[st->n] = t;
        st->slots[slot] = ++st->n;
        ns++;
    }
    rc = check_tiling(st, sp, ns, data_size, name, err);

out:
    if (rc != MHV_OK)
        rollback(st, keep);
    free(sp);
    cJSON_Delete(root);
    return rc;
}

/* The tensors of a torch.save checkpoint (pytorch_model.bin), read by ckpt/torchbin.h,
 * under the same rules as a safetensors header's. */
static mhv_status parse_torch_into(mhv_st *st, const uint8_t *buf, size_t size,
                                   const char *name, const char *file_label, mhv_error *err)
{
    mhv_tbin tb;
    mhv_status rc = mhv_tbin_parse(buf, size, name, &tb, err);
    if (rc != MHV_OK)
        return rc;
    size_t keep = st->n, want;
    if (__builtin_add_overflow(st->n, tb.n, &want) ||
        grow((void **)&st->t, &st->cap, want, sizeof *st->t) != 0 ||
        (want * 2 > st->nslots && table_rebuild(st, want) != 0)) {
        rc = mhv_fail(err, MHV_ENOMEM, name, "out of memory for %zu tensors", tb.n);
        goto out;
    }
    for (size_t i = 0; i < tb.n; i++) {
        mhv_tensor t = tb.t[i];
        size_t slot = slot_of(st, t.name);
        if (st->slots[slot]) { /* duplicates within the file were refused by torchbin */
            rc = mhv_fail(err, MHV_EFORMAT, name, "tensor '" NAME_FMT "' is also in '%s'",
                          t.name, st->t[st->slots[slot] - 1].file);
            goto out;
        }
        if (!(t.name = strdup(t.name))) {
            rc = mhv_fail(err, MHV_ENOMEM, name, "out of memory");
            goto out;
        }
        t.file = file_label;
        st->t[st->n] = t;
        st->slots[slot] = ++st->n;
    }
out:
    if (rc != MHV_OK)
        rollback(st, keep);
    mhv_tbin_free(&tb);
    return rc;
}

/* PyTorch checkpoints (pytorch_model.bin and its shards) are read as such; everything else
 * as safetensors. */
static int is_torch_file(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcmp(path + n - 4, ".bin") == 0;
}

/* ---- public API ---- */

mhv_st *mhv_st_new(void)
{
    return calloc(1, sizeof(mhv_st));
}

void mhv_st_close(mhv_st *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        free((char *)st->t[i].name);
    for (size_t i = 0; i < st->nfiles; i++) {
        if (st->files[i].map)
            munmap(st->files[i].map, st->files[i].map_size);
        free(st->files[i].name);
    }
    free(st->files);
    free(st->t);
    free(st->slots);
    free(st->source);
    free(st);
}

mhv_status mhv_st_parse(mhv_st *st, const uint8_t *buf, size_t size, const char *name,
                        mhv_error *err)
{
    if (!st || (!buf && size))
        return mhv_fail(err, MHV_EUSAGE, name, "mhv_st_parse: no set or buffer");
    const char *label = add_file(st, name ? name : "", NULL, 0);
    if (!label)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    mhv_status rc = parse_into(st, buf ? buf : (const uint8_t *)"", size, name, label, err);
    if (rc != MHV_OK) {
        /* the label was the last one added and no tensor refers to it any more */
        free(st->files[--st->nfiles].name);
        return rc;
    }
    st->file_bytes += size;
    return MHV_OK;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* Maps `path` and parses it into st, the tensors labelled with the file's base name.
 * *missing is set when the file does not exist, so sharded loading can say which shard. */
static mhv_status open_into(mhv_st *st, const char *path, int *missing, mhv_error *err)
{
    /* O_NONBLOCK so a FIFO named like a checkpoint cannot hang the open */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (missing)
            *missing = errno == ENOENT;
        return mhv_fail(err, MHV_EIO, path, "cannot open: %s", strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return mhv_fail(err, MHV_EIO, path, "cannot stat: %s", strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return mhv_fail(err, MHV_EIO, path, "is a directory, not a safetensors file");
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return mhv_fail(err, MHV_EIO, path, "is not a regular file");
    }
    if (sb.st_size <= 0) {
        close(fd);
        return mhv_fail(err, MHV_EFORMAT, path, "file is empty");
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return mhv_fail(err, MHV_ENOMEM, path, "file is too large to map");
    }
    size_t size = (size_t)sb.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd); /* the mapping keeps the file alive */
    if (map == MAP_FAILED)
        return mhv_fail(err, MHV_EIO, path, "cannot map: %s", strerror(e));

    const char *label = add_file(st, base_name(path), map, size);
    if (!label) {
        munmap(map, size);
        return mhv_fail(err, MHV_ENOMEM, path, "out of memory");
    }
    mhv_status rc = is_torch_file(path) ? parse_torch_into(st, map, size, path, label, err)
                                        : parse_into(st, map, size, path, label, err);
    if (rc != MHV_OK) {
        st->nfiles--;
        free(st->files[st->nfiles].name);
        munmap(map, size);
        return rc;
    }
    st->file_bytes += size;
    return MHV_OK;
}

mhv_status mhv_st_open_file(const char *path, mhv_st **out, mhv_error *err)
{
    *out = NULL;
    mhv_st *st = mhv_st_new();
    if (!st)
        return mhv_fail(err, MHV_ENOMEM, path, "out of memory");
    mhv_status rc = open_into(st, path, NULL, err);
    if (rc == MHV_OK && !(st->source = strdup(path)))
        rc = mhv_fail(err, MHV_ENOMEM, path, "out of memory");
    if (rc != MHV_OK) {
        mhv_st_close(st);
        return rc;
    }
    *out = st;
    return MHV_OK;
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/')
        p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}

/* A shard must be a file inside the model directory, never a path out of it. */
static int plain_file_name(const char *s)
{
    return s[0] && !strchr(s, '/') && !strstr(s, "..");
}

/* Opens every distinct shard named by the weight_map, then checks each entry. */
static mhv_status open_shards(mhv_st *st, const char *dir, const char *ipath,
                              const cJSON *wm, mhv_error *err)
{
    mhv_status rc = MHV_OK;
    for (const cJSON *e = wm->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            return mhv_fail(err, MHV_EFORMAT, ipath,
                            "weight_map entry '" NAME_FMT "' is not a string", e->string);
        if (!plain_file_name(e->valuestring))
            return mhv_fail(err, MHV_EFORMAT, ipath,
                            "shard name '" NAME_FMT "' is not a plain file name",
                            e->valuestring);
        int seen = 0;
        for (size_t i = 0; i < st->nfiles && !seen; i++)
            seen = strcmp(st->files[i].name, e->valuestring) == 0;
        if (seen)
            continue;
        char *path = join(dir, e->valuestring);
        if (!path)
            return mhv_fail(err, MHV_ENOMEM, ipath, "out of memory");
        int missing = 0;
        rc = open_into(st, path, &missing, err);
        free(path);
        if (rc != MHV_OK) {
            if (missing)
                rc = mhv_fail(err, MHV_EIO, ipath, "shard '" NAME_FMT "' is missing",
                              e->valuestring);
            return rc;
        }
    }
    for (const cJSON *e = wm->child; e; e = e->next) {
        const mhv_tensor *t = mhv_st_find(st, e->string);
        if (!t)
            return mhv_fail(err, MHV_EFORMAT, ipath,
                            "tensor '" NAME_FMT "' is not in shard '" NAME_FMT "'", e->string,
                            e->valuestring);
        if (strcmp(t->file, e->valuestring) != 0)
            return mhv_fail(err, MHV_EFORMAT, ipath,
                            "tensor '" NAME_FMT "' is in shard '%s', not '" NAME_FMT "'",
                            e->string, t->file, e->valuestring);
    }
    return rc;
}

static mhv_status open_index(const char *dir, const char *ipath, mhv_st **out, mhv_error *err)
{
    char *text = NULL;
    size_t len = 0;
    mhv_status rc = mhv_read_file(ipath, ST_MAX_INDEX_BYTES, &text, &len, err);
    if (rc != MHV_OK)
        return rc;
    cJSON *root;
    rc = mhv_json_parse(text, len, ipath, &root, err);
    free(text);
    if (rc != MHV_OK)
        return rc;
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    mhv_st *st = NULL;
    if (!cJSON_IsObject(root))
        rc = mhv_fail(err, MHV_EFORMAT, ipath, "not a JSON object");
    else if (!wm)
        rc = mhv_fail(err, MHV_EFORMAT, ipath, "no 'weight_map'");
    else if (!cJSON_IsObject(wm))
        rc = mhv_fail(err, MHV_EFORMAT, ipath, "'weight_map' is not an object");
    else if (!wm->child)
        rc = mhv_fail(err, MHV_EFORMAT, ipath, "'weight_map' is empty");
    else if (!(st = mhv_st_new()))
        rc = mhv_fail(err, MHV_ENOMEM, ipath, "out of memory");
    else
        rc = open_shards(st, dir, ipath, wm, err);
    cJSON_Delete(root);
    if (rc == MHV_OK && !(st->source = strdup(ipath)))
        rc = mhv_fail(err, MHV_ENOMEM, ipath, "out of memory");
    if (rc != MHV_OK) {
        mhv_st_close(st);
        return rc;
    }
    *out = st;
    return MHV_OK;
}

mhv_status mhv_st_open_dir(const char *dir, mhv_st **out, mhv_error *err)
{
    *out = NULL;
    /* transformers' order: safetensors first, then the PyTorch checkpoint */
    char *ipath = join(dir, "model.safetensors.index.json");
    char *spath = join(dir, "model.safetensors");
    char *bipath = join(dir, "pytorch_model.bin.index.json");
    char *bpath = join(dir, "pytorch_model.bin");
    mhv_status rc;
    struct stat sb;
    if (!ipath || !spath || !bipath || !bpath)
        rc = mhv_fail(err, MHV_ENOMEM, dir, "out of memory");
    /* lstat: a dangling link or a link loop is there, and fails to open saying why */
    else if (lstat(ipath, &sb) == 0)
        rc = open_index(dir, ipath, out, err);
    else if (lstat(spath, &sb) == 0)
        rc = mhv_st_open_file(spath, out, err);
    else if (lstat(bipath, &sb) == 0)
        rc = open_index(dir, bipath, out, err);
    else if (lstat(bpath, &sb) == 0)
        rc = mhv_st_open_file(bpath, out, err);
    else
        rc = mhv_fail(err, MHV_EIO, dir, "no model.safetensors, model.safetensors.index.json, "
                      "pytorch_model.bin or pytorch_model.bin.index.json");
    /* a checkpoint without tensors ("{}") is the file's fault, not config.json's sizes' */
    if (rc == MHV_OK && (*out)->n == 0) {
        rc = mhv_fail(err, MHV_EFORMAT, (*out)->source ? (*out)->source : dir,
                      "holds no tensors");
        mhv_st_close(*out);
        *out = NULL;
    }
    free(ipath);
    free(spath);
    free(bipath);
    free(bpath);
    return rc;
}

size_t mhv_st_count(const mhv_st *st)
{
    return st ? st->n : 0;
}

const mhv_tensor *mhv_st_at(const mhv_st *st, size_t i)
{
    return st && i < st->n ? &st->t[i] : NULL;
}

const mhv_tensor *mhv_st_find(const mhv_st *st, const char *name)
{
    if (!st || !name || !st->nslots)
        return NULL;
    size_t s = st->slots[slot_of(st, name)];
    return s ? &st->t[s - 1] : NULL;
}

mhv_status mhv_st_view(const mhv_st *parent, const char *const (*renames)[2], int count,
                       mhv_st **out, mhv_error *err)
{
    *out = NULL;
    mhv_st *v = mhv_st_new();
    const char *src = mhv_st_source(parent);
    if (!v || !(v->source = strdup(src)) ||
        grow((void **)&v->t, &v->cap, parent->n ? parent->n : 1, sizeof *v->t) != 0 ||
        table_rebuild(v, parent->n ? parent->n : 1) != 0) {
        mhv_st_close(v);
        return mhv_fail(err, MHV_ENOMEM, src, "out of memory");
    }
    v->file_bytes = parent->file_bytes;
    for (size_t i = 0; i < parent->n; i++) {
        const mhv_tensor *t = &parent->t[i];
        int k = 0;
        size_t from = 0;
        while (k < count && strncmp(t->name, renames[k][0], from = strlen(renames[k][0])) != 0)
            k++;
        if (k == count)
            continue;
        size_t to = strlen(renames[k][1]), rest = strlen(t->name + from);
        char *name = malloc(to + rest + 1);
        if (!name) {
            mhv_st_close(v);
            return mhv_fail(err, MHV_ENOMEM, src, "out of memory");
        }
        memcpy(name, renames[k][1], to);
        memcpy(name + to, t->name + from, rest + 1);
        size_t slot = slot_of(v, name);
        if (v->slots[slot]) {
            free(name);
            continue;
        }
        v->t[v->n] = *t;
        v->t[v->n].name = name;
        v->slots[slot] = ++v->n;
    }
    *out = v;
    return MHV_OK;
}

uint64_t mhv_st_file_bytes(const mhv_st *st)
{
    return st ? st->file_bytes : 0;
}

const char *mhv_st_source(const mhv_st *st)
{
    return st && st->source ? st->source : "";
}
