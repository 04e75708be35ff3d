/* pickle.c - the restricted state-dict pickle reader (see pickle.h).
 *
 * A small stack machine over typed values kept in arrays: it knows the meaning of the few
 * globals torch.save writes and builds tensor descriptions from their arguments, instead of
 * calling anything. Every index is bounded by the stream length (each opcode makes at most
 * one value and pushes at most one), so no allocation can outgrow the input, and nothing
 * recurses. */
#include "ckpt/pickle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_FMT "%.120s"

enum { V_NONE, V_BOOL, V_INT, V_STR, V_TUPLE, V_DICT, V_LIST, V_GLOBAL, V_STORAGE, V_TENSOR };
enum { G_ORDERED_DICT = 1, G_REBUILD_TENSOR_V2, G_REBUILD_PARAMETER, G_STORAGE };

typedef struct {
    uint8_t kind;
    uint8_t glob;   /* V_GLOBAL: G_* */
    uint8_t dtype;  /* V_GLOBAL G_STORAGE: its mhv_dtype */
    uint32_t a;     /* V_STR: offset in the stream; V_TUPLE: first item; V_DICT, V_LIST: first
                     * entry + 1 (0: none); V_STORAGE / V_TENSOR: index into storages /
                     * tensors */
    uint32_t b;     /* V_STR: length; V_TUPLE: item count; V_DICT, V_LIST: last entry + 1 */
    uint32_t count; /* V_DICT, V_LIST: entries */
    int64_t i;      /* V_INT, V_BOOL */
} pval;

typedef struct {
    uint32_t key, val, next; /* next entry + 1, 0 at the end; a list's entries use val */
} dentry;

typedef struct {
    mhv_pkl_tensor t; /* name unset until the dict entry holding it is known */
    int64_t stride[MHV_PKL_MAX_DIMS];
} rawt;

typedef struct {
    const uint8_t *p;
    size_t n, pos, op_pos;
    const char *name;
    mhv_error *err;
    pval *v;
    size_t nv, capv;
    uint32_t *items; /* tuple items, each tuple contiguous */
    size_t nitems, capitems;
    dentry *d;
    size_t nd, capd;
    uint32_t *stack;
    size_t sp, capstack;
    size_t *marks; /* stack heights */
    size_t nmarks, capmarks;
    uint32_t *memo;
    size_t nmemo, capmemo;
    rawt *t;
    size_t nt, capt;
    mhv_pkl_storage *s;
    size_t ns, caps;
    size_t objects; /* values, pushes, marks, memo entries, tuple items, dict entries */
    int legacy;     /* persistent ids of the legacy format: a 6th element, view_metadata */
} vm;

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
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

static mhv_status fail(vm *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static mhv_status fail(vm *m, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mhv_fail(m->err, MHV_EFORMAT, m->name, "%s", msg);
}

static mhv_status nomem(vm *m)
{
    return mhv_fail(m->err, MHV_ENOMEM, m->name, "out of memory reading the pickle");
}

/* Counts k more objects against MHV_PKL_MAX_OBJECTS. */
static mhv_status spend(vm *m, size_t k)
{
    m->objects += k; /* k <= the stack, so this cannot wrap */
    if (m->objects > MHV_PKL_MAX_OBJECTS)
        return fail(m, "pickle holds more than %zu objects, more than a state dict's can",
                    MHV_PKL_MAX_OBJECTS);
    return MHV_OK;
}

/* ---- values and the stack ---- */

static mhv_status new_val(vm *m, pval v, uint32_t *idx)
{
    if (spend(m, 1))
        return MHV_EFORMAT;
    if (grow((void **)&m->v, &m->capv, m->nv + 1, sizeof *m->v))
        return nomem(m);
    m->v[m->nv] = v;
    *idx = (uint32_t)m->nv++;
    return MHV_OK;
}

static mhv_status push(vm *m, uint32_t idx)
{
    if (spend(m, 1))
        return MHV_EFORMAT;
    if (grow((void **)&m->stack, &m->capstack, m->sp + 1, sizeof *m->stack))
        return nomem(m);
    m->stack[m->sp++] = idx;
    return MHV_OK;
}

static mhv_status push_new(vm *m, pval v)
{
    uint32_t idx = 0;
    mhv_status rc = new_val(m, v, &idx);
    return rc ? rc : push(m, idx);
}

/* The lowest stack position the current opcode may pop: above the innermost mark. */
static size_t fence(const vm *m)
{
    return m->nmarks ? m->marks[m->nmarks - 1] : 0;
}

static mhv_status pop(vm *m, uint32_t *idx)
{
    if (m->sp <= fence(m))
        return fail(m, "pickle stack underflow at byte %zu", m->op_pos);
    *idx = m->stack[--m->sp];
    return MHV_OK;
}

/* Pops the innermost mark: *first is the stack position of the first item above it. */
static mhv_status pop_mark(vm *m, size_t *first)
{
    if (!m->nmarks)
        return fail(m, "pickle opcode at byte %zu needs a MARK and there is none", m->op_pos);
    *first = m->marks[--m->nmarks];
    return MHV_OK;
}

/* A tuple of the stack items [first, sp), which are popped. */
static mhv_status make_tuple(vm *m, size_t first)
{
    size_t k = m->sp - first;
    if (spend(m, k))
        return MHV_EFORMAT;
    if (grow((void **)&m->items, &m->capitems, m->nitems + k, sizeof *m->items))
        return nomem(m);
    pval t = {.kind = V_TUPLE, .a = (uint32_t)m->nitems, .b = (uint32_t)k};
    if (k)
        memcpy(m->items + m->nitems, m->stack + first, k * sizeof *m->items);
    m->nitems += k;
    m->sp = first;
    return push_new(m, t);
}

static mhv_status dict_add(vm *m, uint32_t dict, uint32_t key, uint32_t val)
{
    if (spend(m, 1))
        return MHV_EFORMAT;
    if (grow((void **)&m->d, &m->capd, m->nd + 1, sizeof *m->d))
        return nomem(m);
    pval *dv = &m->v[dict];
    m->d[m->nd] = (dentry){key, val, 0};
    uint32_t e = (uint32_t)m->nd++ + 1;
    if (dv->b)
        m->d[dv->b - 1].next = e;
    else
        dv->a = e;
    dv->b = e;
    dv->count++;
    return MHV_OK;
}

static const pval *item(const vm *m, const pval *tuple, uint32_t i)
{
    return &m->v[m->items[tuple->a + i]];
}

static int is_str(const vm *m, const pval *v, const char *s)
{
    size_t len = strlen(s);
    return v->kind == V_STR && v->b == len && memcmp(m->p + v->a, s, len) == 0;
}

/* ---- reading the stream ---- */

static mhv_status need(vm *m, size_t k)
{
    if (m->n - m->pos < k)
        return fail(m, "pickle is truncated (opcode at byte %zu)", m->op_pos);
    return MHV_OK;
}

static uint64_t le(const uint8_t *p, int k)
{
    uint64_t x = 0;
    for (int i = k - 1; i >= 0; i--)
        x = (x << 8) | p[i];
    return x;
}

/* Strict UTF-8 without NUL, as the names must be: Python would refuse the invalid forms
 * (we also refuse encoded surrogates, which its 'surrogatepass' would let through). */
static int utf8_ok(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0)
            k = 1, cp = c & 0x1fu, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            k = 2, cp = c & 0x0fu, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            k = 3, cp = c & 0x07u, min = 0x10000;
        else
            return 0;
        if (len - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

static mhv_status read_str(vm *m, int lenbytes)
{
    mhv_status rc = need(m, (size_t)lenbytes);
    if (rc)
        return rc;
    uint64_t len = le(m->p + m->pos, lenbytes);
    m->pos += (size_t)lenbytes;
    if (len > m->n - m->pos)
        return fail(m, "pickle string at byte %zu runs past the end (%llu bytes)", m->op_pos,
                    (unsigned long long)len);
    if (!utf8_ok(m->p + m->pos, (size_t)len))
        return fail(m, "pickle string at byte %zu is not UTF-8 or contains a NUL byte",
                    m->op_pos);
    pval v = {.kind = V_STR, .a = (uint32_t)m->pos, .b = (uint32_t)len};
    m->pos += (size_t)len;
    return push_new(m, v);
}

/* "module.name" of a refused global, printable ASCII only, for the message. */
static void describe_global(const uint8_t *mod, size_t ml, const uint8_t *nm, size_t nl,
                            char *out, size_t size)
{
    size_t k = 0;
    for (size_t part = 0; part < 2; part++) {
        const uint8_t *s = part ? nm : mod;
        size_t len = part ? nl : ml;
        if (part && k + 1 < size)
            out[k++] = '.';
        for (size_t i = 0; i < len && k + 1 < size; i++)
            out[k++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
    }
    out[k] = '\0';
    if (ml + nl + 1 > size - 1 && size > 4)
        memcpy(out + size - 4, "...", 4);
}

static int eq(const uint8_t *s, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

static mhv_status push_global(vm *m, const uint8_t *mod, size_t ml, const uint8_t *nm,
                              size_t nl)
{
    static const struct {
        const char *name;
        mhv_dtype dtype;
    } storages[] = {
        {"FloatStorage", MHV_DT_F32},  {"HalfStorage", MHV_DT_F16},
        {"BFloat16Storage", MHV_DT_BF16}, {"DoubleStorage", MHV_DT_F64},
        {"LongStorage", MHV_DT_I64},   {"IntStorage", MHV_DT_I32},
        {"ShortStorage", MHV_DT_I16},  {"CharStorage", MHV_DT_I8},
        {"ByteStorage", MHV_DT_U8},    {"BoolStorage", MHV_DT_BOOL},
    };
    pval v = {.kind = V_GLOBAL};
    if (eq(mod, ml, "collections") && eq(nm, nl, "OrderedDict"))
        v.glob = G_ORDERED_DICT;
    else if (eq(mod, ml, "torch._utils") && eq(nm, nl, "_rebuild_tensor_v2"))
        v.glob = G_REBUILD_TENSOR_V2;
    else if (eq(mod, ml, "torch._utils") && eq(nm, nl, "_rebuild_parameter"))
        v.glob = G_REBUILD_PARAMETER;
    else if (eq(mod, ml, "torch"))
        for (size_t i = 0; i < sizeof storages / sizeof storages[0]; i++)
            if (eq(nm, nl, storages[i].name)) {
                v.glob = G_STORAGE;
                v.dtype = (uint8_t)storages[i].dtype;
            }
    if (!v.glob) {
        char g[100];
        describe_global(mod, ml, nm, nl, g, sizeof g);
        return fail(m, "pickle global '%s' is not allowed", g);
    }
    return push_new(m, v);
}

/* GLOBAL: "module\nname\n" */
static mhv_status op_global(vm *m)
{
    const uint8_t *part[2];
    size_t len[2];
    for (int i = 0; i < 2; i++) {
        const uint8_t *s = m->p + m->pos;
        const uint8_t *nl = memchr(s, '\n', m->n - m->pos);
        if (!nl)
            return fail(m, "pickle GLOBAL at byte %zu is truncated", m->op_pos);
        part[i] = s;
        len[i] = (size_t)(nl - s);
        m->pos += len[i] + 1;
    }
    return push_global(m, part[0], len[0], part[1], len[1]);
}

static mhv_status op_stack_global(vm *m)
{
    uint32_t mi = 0, ni = 0;
    mhv_status rc;
    if ((rc = pop(m, &ni)) || (rc = pop(m, &mi)))
        return rc;
    const pval *mod = &m->v[mi], *nm = &m->v[ni];
    if (mod->kind != V_STR || nm->kind != V_STR)
        return fail(m, "pickle STACK_GLOBAL at byte %zu is not given two strings", m->op_pos);
    return push_global(m, m->p + mod->a, mod->b, m->p + nm->a, nm->b);
}

static int is_empty_dict(const pval *v)
{
    return v->kind == V_DICT && v->count == 0;
}

/* A tuple of at most MHV_PKL_MAX_DIMS non-negative ints. */
static int int_tuple(const vm *m, const pval *t, int64_t *out, int *n)
{
    if (t->kind != V_TUPLE || t->b > MHV_PKL_MAX_DIMS)
        return 0;
    for (uint32_t i = 0; i < t->b; i++) {
        const pval *x = item(m, t, i);
        if (x->kind != V_INT || x->i < 0)
            return 0;
        out[i] = x->i;
    }
    *n = (int)t->b;
    return 1;
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks
 * [, metadata]): records the tensor; contiguity and bounds are checked once its name is
 * known. */
static mhv_status rebuild_tensor(vm *m, const pval *args)
{
    if (args->b != 6 && args->b != 7)
        return fail(m, "_rebuild_tensor_v2 at byte %zu has %u arguments, expected 6 or 7",
                    m->op_pos, args->b);
    const pval *stor = item(m, args, 0), *off = item(m, args, 1);
    rawt r = {0};
    int nstride = 0;
    if (stor->kind != V_STORAGE)
        return fail(m, "_rebuild_tensor_v2 at byte %zu: argument 1 is not a storage",
                    m->op_pos);
    if (off->kind != V_INT || off->i < 0)
        return fail(m, "_rebuild_tensor_v2 at byte %zu: storage offset is not a "
                    "non-negative int", m->op_pos);
    if (!int_tuple(m, item(m, args, 2), r.t.shape, &r.t.ndim))
        return fail(m, "_rebuild_tensor_v2 at byte %zu: size is not a tuple of at most %d "
                    "non-negative ints", m->op_pos, MHV_PKL_MAX_DIMS);
    if (!int_tuple(m, item(m, args, 3), r.stride, &nstride) || nstride != r.t.ndim)
        return fail(m, "_rebuild_tensor_v2 at byte %zu: stride is not %d non-negative ints",
                    m->op_pos, r.t.ndim);
    if (item(m, args, 4)->kind != V_BOOL)
        return fail(m, "_rebuild_tensor_v2 at byte %zu: requires_grad is not a bool",
                    m->op_pos);
    if (!is_empty_dict(item(m, args, 5)))
        return fail(m, "_rebuild_tensor_v2 at byte %zu: backward hooks are not supported",
                    m->op_pos);
    if (args->b == 7 && !is_empty_dict(item(m, args, 6)) && item(m, args, 6)->kind != V_NONE)
        return fail(m, "_rebuild_tensor_v2 at byte %zu: tensor metadata is not supported",
                    m->op_pos);
    uint64_t numel = 1;
    for (int i = 0; i < r.t.ndim; i++)
        if (__builtin_mul_overflow(numel, (uint64_t)r.t.shape[i], &numel) ||
            numel > (uint64_t)INT64_MAX)
            return fail(m, "_rebuild_tensor_v2 at byte %zu: element count overflows",
                        m->op_pos);
    r.t.numel = numel;
    r.t.offset = (uint64_t)off->i;
    r.t.storage = stor->a;
    if (grow((void **)&m->t, &m->capt, m->nt + 1, sizeof *m->t))
        return nomem(m);
    m->t[m->nt] = r;
    return push_new(m, (pval){.kind = V_TENSOR, .a = (uint32_t)m->nt++});
}

static mhv_status op_reduce(vm *m)
{
    uint32_t ai = 0, fi = 0;
    mhv_status rc;
    if ((rc = pop(m, &ai)) || (rc = pop(m, &fi)))
        return rc;
    const pval *f = &m->v[fi], *args = &m->v[ai];
    if (f->kind != V_GLOBAL || f->glob == G_STORAGE || args->kind != V_TUPLE)
        return fail(m, "pickle REDUCE at byte %zu calls something other than a tensor "
                    "rebuild or OrderedDict", m->op_pos);
    switch (f->glob) {
    case G_ORDERED_DICT:
        if (args->b != 0)
            return fail(m, "OrderedDict at byte %zu is given arguments", m->op_pos);
        return push_new(m, (pval){.kind = V_DICT});
    case G_REBUILD_TENSOR_V2:
        return rebuild_tensor(m, args);
    default: /* G_REBUILD_PARAMETER(data, requires_grad, backward_hooks) */
        if (args->b != 3 || item(m, args, 0)->kind != V_TENSOR ||
            item(m, args, 1)->kind != V_BOOL || !is_empty_dict(item(m, args, 2)))
            return fail(m, "_rebuild_parameter at byte %zu: arguments are not (tensor, bool, "
                        "empty hooks)", m->op_pos);
        return push(m, m->items[args->a]);
    }
}

/* ('storage', torch.<Type>Storage, key, location, numel) */
static mhv_status op_binpersid(vm *m)
{
    uint32_t pi = 0;
    mhv_status rc = pop(m, &pi);
    if (rc)
        return rc;
    const pval *pid = &m->v[pi];
    if (pid->kind != V_TUPLE || pid->b != (m->legacy ? 6u : 5u) ||
        !is_str(m, item(m, pid, 0), "storage"))
        return fail(m, "persistent id at byte %zu is not a ('storage', type, key, location, "
                    "numel%s) tuple", m->op_pos, m->legacy ? ", view" : "");
    if (m->legacy && item(m, pid, 5)->kind != V_NONE)
        return fail(m, "persistent id at byte %zu is a storage view (pre-1.0 torch.save); "
                    "re-save with torch>=1.6", m->op_pos);
    const pval *type = item(m, pid, 1), *key = item(m, pid, 2), *loc = item(m, pid, 3),
               *numel = item(m, pid, 4);
    if (type->kind != V_GLOBAL || type->glob != G_STORAGE)
        return fail(m, "persistent id at byte %zu: storage type is not a torch storage class",
                    m->op_pos);
    if (key->kind != V_STR || key->b == 0 || memchr(m->p + key->a, '/', key->b))
        return fail(m, "persistent id at byte %zu: storage key is not a plain name",
                    m->op_pos);
    if (loc->kind != V_STR)
        return fail(m, "persistent id at byte %zu: location is not a string", m->op_pos);
    if (numel->kind != V_INT || numel->i < 0)
        return fail(m, "persistent id at byte %zu: element count is not a non-negative int",
                    m->op_pos);
    if (grow((void **)&m->s, &m->caps, m->ns + 1, sizeof *m->s))
        return nomem(m);
    m->s[m->ns] = (mhv_pkl_storage){(const char *)m->p + key->a, key->b, (mhv_dtype)type->dtype,
                                    (uint64_t)numel->i};
    return push_new(m, (pval){.kind = V_STORAGE, .a = (uint32_t)m->ns++});
}

static mhv_status op_setitems(vm *m)
{
    size_t first = 0;
    mhv_status rc = pop_mark(m, &first);
    if (rc)
        return rc;
    if (first <= fence(m) || m->v[m->stack[first - 1]].kind != V_DICT)
        return fail(m, "pickle SETITEMS at byte %zu has no dict to fill", m->op_pos);
    if ((m->sp - first) % 2)
        return fail(m, "pickle SETITEMS at byte %zu has an odd number of items", m->op_pos);
    uint32_t dict = m->stack[first - 1];
    for (size_t i = first; i < m->sp; i += 2)
        if ((rc = dict_add(m, dict, m->stack[i], m->stack[i + 1])))
            return rc;
    m->sp = first;
    return MHV_OK;
}

static mhv_status op_setitem(vm *m)
{
    uint32_t k = 0, val = 0;
    mhv_status rc;
    if ((rc = pop(m, &val)) || (rc = pop(m, &k)))
        return rc;
    if (m->sp <= fence(m) || m->v[m->stack[m->sp - 1]].kind != V_DICT)
        return fail(m, "pickle SETITEM at byte %zu has no dict to fill", m->op_pos);
    return dict_add(m, m->stack[m->sp - 1], k, val);
}

/* A list keeps its items as dict entries with no key. */
static mhv_status op_append(vm *m)
{
    uint32_t val = 0;
    mhv_status rc = pop(m, &val);
    if (rc)
        return rc;
    if (m->sp <= fence(m) || m->v[m->stack[m->sp - 1]].kind != V_LIST)
        return fail(m, "pickle APPEND at byte %zu has no list to fill", m->op_pos);
    return dict_add(m, m->stack[m->sp - 1], 0, val);
}

static mhv_status op_appends(vm *m)
{
    size_t first = 0;
    mhv_status rc = pop_mark(m, &first);
    if (rc)
        return rc;
    if (first <= fence(m) || m->v[m->stack[first - 1]].kind != V_LIST)
        return fail(m, "pickle APPENDS at byte %zu has no list to fill", m->op_pos);
    for (size_t i = first; i < m->sp; i++)
        if ((rc = dict_add(m, m->stack[first - 1], 0, m->stack[i])))
            return rc;
    m->sp = first;
    return MHV_OK;
}

/* DICT: a new dict of the key/value pairs above the mark. */
static mhv_status op_dict(vm *m)
{
    size_t first = 0;
    mhv_status rc = pop_mark(m, &first);
    if (rc)
        return rc;
    if ((m->sp - first) % 2)
        return fail(m, "pickle DICT at byte %zu has an odd number of items", m->op_pos);
    uint32_t dict = 0;
    if ((rc = new_val(m, (pval){.kind = V_DICT}, &dict)))
        return rc;
    for (size_t i = first; i < m->sp; i += 2)
        if ((rc = dict_add(m, dict, m->stack[i], m->stack[i + 1])))
            return rc;
    m->sp = first;
    return push(m, dict);
}

/* BUILD on an OrderedDict sets its attributes (the state dict's `_metadata`): data we do
 * not need, so it is checked to be a dict and dropped. */
static mhv_status op_build(vm *m)
{
    uint32_t si = 0;
    mhv_status rc = pop(m, &si);
    if (rc)
        return rc;
    if (m->sp <= fence(m) || m->v[m->stack[m->sp - 1]].kind != V_DICT ||
        (m->v[si].kind != V_DICT && m->v[si].kind != V_NONE))
        return fail(m, "pickle BUILD at byte %zu sets state on something other than a dict",
                    m->op_pos);
    return MHV_OK;
}

static mhv_status memo_put(vm *m, uint64_t idx)
{
    if (m->sp <= fence(m))
        return fail(m, "pickle memo put at byte %zu with an empty stack", m->op_pos);
    /* the CPython pickler numbers memo entries 0, 1, 2 ...: anything else is not its output */
    if (idx > m->nmemo)
        return fail(m, "pickle memo index %llu at byte %zu skips ahead of %zu",
                    (unsigned long long)idx, m->op_pos, m->nmemo);
    if (idx == m->nmemo) {
        if (spend(m, 1))
            return MHV_EFORMAT;
        if (grow((void **)&m->memo, &m->capmemo, m->nmemo + 1, sizeof *m->memo))
            return nomem(m);
        m->nmemo++;
    }
    m->memo[idx] = m->stack[m->sp - 1];
    return MHV_OK;
}

static mhv_status memo_get(vm *m, uint64_t idx)
{
    if (idx >= m->nmemo)
        return fail(m, "pickle memo index %llu at byte %zu was never set",
                    (unsigned long long)idx, m->op_pos);
    return push(m, m->memo[idx]);
}

static mhv_status op_long1(vm *m)
{
    mhv_status rc = need(m, 1);
    if (rc)
        return rc;
    size_t k = m->p[m->pos++];
    if ((rc = need(m, k)))
        return rc;
    if (k > 8)
        return fail(m, "pickle integer at byte %zu is wider than 64 bits", m->op_pos);
    uint64_t u = le(m->p + m->pos, (int)k);
    if (k && k < 8 && (m->p[m->pos + k - 1] & 0x80)) /* sign-extend */
        u |= ~(uint64_t)0 << (8 * k);
    m->pos += k;
    return push_new(m, (pval){.kind = V_INT, .i = (int64_t)u});
}

static mhv_status op_int(vm *m, int k, int is_signed)
{
    mhv_status rc = need(m, (size_t)k);
    if (rc)
        return rc;
    uint64_t u = le(m->p + m->pos, k);
    m->pos += (size_t)k;
    int64_t x = is_signed ? (int64_t)(int32_t)(uint32_t)u : (int64_t)u;
    return push_new(m, (pval){.kind = V_INT, .i = x});
}

/* Runs the stream to STOP; *result is the value it returns. */
static mhv_status run(vm *m, uint32_t *result)
{
    mhv_status rc = MHV_OK;
    for (;;) {
        if (m->pos >= m->n)
            return fail(m, "pickle ends without STOP (file truncated?)");
        m->op_pos = m->pos;
        uint8_t op = m->p[m->pos++];
        size_t first = 0;
        switch (op) {
        case 0x80: /* PROTO */
            if ((rc = need(m, 1)))
                return rc;
            if (m->p[m->pos] > 5)
                return fail(m, "pickle protocol %u is not supported", m->p[m->pos]);
            m->pos++;
            break;
        case 0x95: /* FRAME: a length hint, nothing to do */
            if ((rc = need(m, 8)))
                return rc;
            m->pos += 8;
            break;
        case '.': /* STOP */
            if ((rc = pop(m, result)))
                return rc;
            if (m->nmarks || m->sp)
                return fail(m, "pickle stops at byte %zu with values left on its stack",
                            m->op_pos);
            return MHV_OK;
        case '(': /* MARK */
            if (spend(m, 1))
                return MHV_EFORMAT;
            if (grow((void **)&m->marks, &m->capmarks, m->nmarks + 1, sizeof *m->marks))
                return nomem(m);
            m->marks[m->nmarks++] = m->sp;
            break;
        case ')': /* EMPTY_TUPLE */
            rc = make_tuple(m, m->sp);
            break;
        case 't': /* TUPLE */
            if (!(rc = pop_mark(m, &first)))
                rc = make_tuple(m, first);
            break;
        case 0x85: case 0x86: case 0x87: { /* TUPLE1..3 */
            size_t k = (size_t)(op - 0x84);
            if (m->sp < fence(m) + k)
                return fail(m, "pickle stack underflow at byte %zu", m->op_pos);
            rc = make_tuple(m, m->sp - k);
            break;
        }
        case ']': /* EMPTY_LIST */
            rc = push_new(m, (pval){.kind = V_LIST});
            break;
        case 'a': /* APPEND */
            rc = op_append(m);
            break;
        case 'e': /* APPENDS */
            rc = op_appends(m);
            break;
        case '}': /* EMPTY_DICT */
            rc = push_new(m, (pval){.kind = V_DICT});
            break;
        case 'd': /* DICT */
            rc = op_dict(m);
            break;
        case 's': /* SETITEM */
            rc = op_setitem(m);
            break;
        case 'u': /* SETITEMS */
            rc = op_setitems(m);
            break;
        case 'X': /* BINUNICODE */
            rc = read_str(m, 4);
            break;
        case 0x8c: /* SHORT_BINUNICODE */
            rc = read_str(m, 1);
            break;
        case 0x8d: /* BINUNICODE8 */
            rc = read_str(m, 8);
            break;
        case 'U': /* SHORT_BINSTRING, BINSTRING: Python 2's str (legacy files saved there) */
            rc = read_str(m, 1);
            break;
        case 'T':
            rc = read_str(m, 4);
            break;
        case 'J': /* BININT */
            rc = op_int(m, 4, 1);
            break;
        case 'K': /* BININT1 */
            rc = op_int(m, 1, 0);
            break;
        case 'M': /* BININT2 */
            rc = op_int(m, 2, 0);
            break;
        case 0x8a: /* LONG1 */
            rc = op_long1(m);
            break;
        case 'N': /* NONE */
            rc = push_new(m, (pval){.kind = V_NONE});
            break;
        case 0x88: /* NEWTRUE */
        case 0x89: /* NEWFALSE */
            rc = push_new(m, (pval){.kind = V_BOOL, .i = op == 0x88});
            break;
        case 'q': /* BINPUT */
            if (!(rc = need(m, 1)))
                rc = memo_put(m, m->p[m->pos++]);
            break;
        case 'r': /* LONG_BINPUT */
            if (!(rc = need(m, 4))) {
                rc = memo_put(m, le(m->p + m->pos, 4));
                m->pos += 4;
            }
            break;
        case 0x94: /* MEMOIZE */
            rc = memo_put(m, m->nmemo);
            break;
        case 'h': /* BINGET */
            if (!(rc = need(m, 1)))
                rc = memo_get(m, m->p[m->pos++]);
            break;
        case 'j': /* LONG_BINGET */
            if (!(rc = need(m, 4))) {
                rc = memo_get(m, le(m->p + m->pos, 4));
                m->pos += 4;
            }
            break;
        case 'c': /* GLOBAL */
            rc = op_global(m);
            break;
        case 0x93: /* STACK_GLOBAL */
            rc = op_stack_global(m);
            break;
        case 'R': /* REDUCE */
            rc = op_reduce(m);
            break;
        case 'Q': /* BINPERSID */
            rc = op_binpersid(m);
            break;
        case 'b': /* BUILD */
            rc = op_build(m);
            break;
        default:
            if (op >= 0x20 && op < 0x7f)
                return fail(m, "pickle opcode 0x%02x ('%c') at byte %zu is not allowed", op,
                            op, m->op_pos);
            return fail(m, "pickle opcode 0x%02x at byte %zu is not allowed", op, m->op_pos);
        }
        if (rc)
            return rc;
    }
}

static void shape_str(const int64_t *v, int n, char *buf, size_t size)
{
    size_t k = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? "," : "", (long long)v[i]);
    if (k < size)
        snprintf(buf + k, size - k, "]");
}

/* Contiguous row-major (PyTorch's rule: strides of size-1 dimensions do not matter, nor do
 * any strides of an empty tensor) and inside its storage. */
static mhv_status check_tensor(vm *m, const rawt *r, const char *name, size_t name_len)
{
    int len = name_len > 120 ? 120 : (int)name_len;
    uint64_t expect = 1;
    for (int i = r->t.ndim - 1; i >= 0 && r->t.numel; i--) {
        if (r->t.shape[i] != 1 && (uint64_t)r->stride[i] != expect) {
            char sh[200], st[200];
            shape_str(r->t.shape, r->t.ndim, sh, sizeof sh);
            shape_str(r->stride, r->t.ndim, st, sizeof st);
            return fail(m, "tensor '%.*s' is not contiguous (shape %s, stride %s); only "
                        "row-major tensors are supported", len, name, sh, st);
        }
        expect *= (uint64_t)r->t.shape[i]; /* <= numel, which did not overflow */
    }
    const mhv_pkl_storage *s = &m->s[r->t.storage];
    uint64_t end;
    if (__builtin_add_overflow(r->t.offset, r->t.numel, &end) || end > s->numel)
        return fail(m, "tensor '%.*s' needs elements %llu..%llu of storage '%.*s', which has "
                    "%llu", len, name, (unsigned long long)r->t.offset,
                    (unsigned long long)r->t.offset + r->t.numel, (int)s->key_len, s->key,
                    (unsigned long long)s->numel);
    return MHV_OK;
}

/* The result must be a dict of string -> tensor. */
static mhv_status collect(vm *m, uint32_t root, mhv_pkl_state_dict *out)
{
    const pval *d = &m->v[root];
    if (d->kind != V_DICT)
        return fail(m, "the pickle is not a state dict (a dict of tensors)");
    mhv_pkl_tensor *ts = d->count ? calloc(d->count, sizeof *ts) : NULL;
    if (d->count && !ts)
        return nomem(m);
    size_t k = 0;
    for (uint32_t e = d->a; e; e = m->d[e - 1].next) {
        const pval *key = &m->v[m->d[e - 1].key], *val = &m->v[m->d[e - 1].val];
        mhv_status rc = MHV_OK;
        if (key->kind != V_STR)
            rc = fail(m, "state dict key %zu is not a string", k);
        else if (val->kind != V_TENSOR)
            rc = fail(m, "state dict entry '%.*s' is not a tensor", key->b > 120 ? 120 : (int)key->b,
                      (const char *)m->p + key->a);
        else
            rc = check_tensor(m, &m->t[val->a], (const char *)m->p + key->a, key->b);
        if (rc) {
            free(ts);
            return rc;
        }
        ts[k] = m->t[val->a].t;
        ts[k].name = (const char *)m->p + key->a;
        ts[k].name_len = key->b;
        k++;
    }
    out->tensors = ts;
    out->n_tensors = k;
    out->storages = m->s;
    out->n_storages = m->ns;
    m->s = NULL;
    return MHV_OK;
}

static void vm_free(vm *m)
{
    free(m->v);
    free(m->items);
    free(m->d);
    free(m->stack);
    free(m->marks);
    free(m->memo);
    free(m->t);
    free(m->s);
}

mhv_status mhv_pkl_read_state_dict(const uint8_t *p, size_t n, const char *name,
                                   mhv_pkl_state_dict *out, mhv_error *err)
{
    if (n > MHV_PKL_MAX_BYTES)
        return mhv_fail(err, MHV_EFORMAT, name, "pickle is %zu bytes, more than a state dict's "
                        "can be", n);
    vm m = {.p = p, .n = n, .name = name, .err = err};
    uint32_t root = 0;
    mhv_status rc = run(&m, &root);
    if (!rc && m.pos != n)
        rc = fail(&m, "%zu bytes after the end of the pickle", n - m.pos);
    if (!rc)
        rc = collect(&m, root, out);
    vm_free(&m);
    return rc;
}

/* ---- the legacy stream ---- */

/* One pickle of the legacy stream starting at *pos (< 2 * MHV_PKL_MAX_BYTES, so offsets
 * into p fit the values' 32 bits); *pos moves past its STOP. check(m, root) accepts the
 * value, or fails. Positions in messages are file offsets. */
static mhv_status legacy_part(const uint8_t *p, size_t n, size_t *pos, const char *name,
                              mhv_status (*check)(vm *, uint32_t, void *), void *ctx,
                              mhv_error *err)
{
    size_t window = n - *pos < MHV_PKL_MAX_BYTES ? n - *pos : MHV_PKL_MAX_BYTES;
    vm m = {.p = p, .n = *pos + window, .pos = *pos, .name = name, .err = err, .legacy = 1};
    uint32_t root = 0;
    mhv_status rc = run(&m, &root);
    if (!rc)
        rc = check(&m, root, ctx);
    if (!rc)
        *pos = m.pos;
    vm_free(&m);
    return rc;
}

static mhv_status check_sys_info(vm *m, uint32_t root, void *ctx)
{
    (void)ctx;
    const pval *d = &m->v[root];
    if (d->kind != V_DICT)
        return fail(m, "legacy header: sys_info is not a dict");
    for (uint32_t e = d->a; e; e = m->d[e - 1].next) {
        const pval *k = &m->v[m->d[e - 1].key], *v = &m->v[m->d[e - 1].val];
        if (is_str(m, k, "little_endian") && !(v->kind == V_BOOL && v->i))
            return fail(m, "checkpoint was saved big-endian; only little-endian checkpoints are "
                        "supported");
    }
    return MHV_OK;
}

typedef struct {
    mhv_pkl_state_dict *out;
} legacy_ctx;

static mhv_status take_state_dict(vm *m, uint32_t root, void *ctx)
{
    legacy_ctx *c = ctx;
    return collect(m, root, c->out);
}

static mhv_status take_keys(vm *m, uint32_t root, void *ctx)
{
    legacy_ctx *c = ctx;
    const pval *l = &m->v[root];
    if (l->kind != V_LIST)
        return fail(m, "legacy storage key list is not a list");
    mhv_pkl_str *keys = l->count ? calloc(l->count, sizeof *keys) : NULL;
    if (l->count && !keys)
        return nomem(m);
    size_t k = 0;
    for (uint32_t e = l->a; e; e = m->d[e - 1].next) {
        const pval *s = &m->v[m->d[e - 1].val];
        if (s->kind != V_STR) {
            free(keys);
            return fail(m, "legacy storage key %zu is not a string", k);
        }
        keys[k].s = (const char *)m->p + s->a;
        keys[k].len = s->b;
        k++;
    }
    c->out->keys = keys;
    c->out->n_keys = k;
    return MHV_OK;
}

mhv_status mhv_pkl_read_legacy(const uint8_t *p, size_t n, const char *name,
                               mhv_pkl_state_dict *out, size_t *data_off, mhv_error *err)
{
    /* the magic number 0x1950a86a20f9469cfc6c and protocol version 1001, each a pickle of
     * its own, as torch writes them with protocol 2 */
    static const uint8_t head[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20,
                                   0x6a, 0xa8, 0x50, 0x19, '.', 0x80, 0x02, 'M', 0xe9, 0x03, '.'};
    if (n < sizeof head || memcmp(p, head, sizeof head) != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "legacy torch.save header is not magic number + protocol 1001");
    size_t pos = sizeof head;
    mhv_pkl_state_dict sd = {0};
    legacy_ctx ctx = {&sd};
    mhv_status rc = legacy_part(p, n, &pos, name, check_sys_info, NULL, err);
    if (!rc)
        rc = legacy_part(p, n, &pos, name, take_state_dict, &ctx, err);
    /* the key list follows the state dict, whose pickle is at most MHV_PKL_MAX_BYTES */
    if (!rc)
        rc = legacy_part(p, n, &pos, name, take_keys, &ctx, err);
    if (rc) {
        mhv_pkl_state_dict_free(&sd);
        return rc;
    }
    *out = sd;
    *data_off = pos;
    return MHV_OK;
}

void mhv_pkl_state_dict_free(mhv_pkl_state_dict *sd)
{
    if (!sd)
        return;
    free(sd->tensors);
    free(sd->storages);
    free(sd->keys);
    sd->tensors = NULL;
    sd->storages = NULL;
    sd->keys = NULL;
    sd->n_tensors = sd->n_storages = sd->n_keys = 0;
}
