/* vocab.c - vocabulary with an open-addressing hash table over one string arena; the hash
 * is keyed per process (base/hash.h) so a crafted file cannot put every piece in one run. */
#include "tok/vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/hash.h"
#include "text/unicode.h"

struct mhv_vocab {
    int32_t n;
    char **piece;       /* (n,) NUL-terminated, NULL until set */
    uint32_t *plen;     /* (n,) byte length of each piece */
    int32_t *slot;      /* (cap,) id or -1; cap a power of two >= 2n */
    uint32_t cap;
    int32_t dup_first, dup_last; /* first duplicate seen in vocab.txt, -1 if none */
    char file[512];
};

mhv_status mhv_vocab_new(int32_t n, const char *file, mhv_vocab **out, mhv_error *err)
{
    *out = NULL;
    if (n <= 0)
        return mhv_fail(err, MHV_EFORMAT, file, "empty vocabulary");
    if (n > (1 << 24))
        return mhv_fail(err, MHV_ENOMEM, file, "vocabulary of %d entries is too large", (int)n);
    mhv_vocab *v = calloc(1, sizeof *v);
    if (!v)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    v->n = n;
    v->cap = 16;
    while (v->cap < 2u * (uint32_t)n)
        v->cap <<= 1;
    v->piece = calloc((size_t)n, sizeof *v->piece);
    v->plen = calloc((size_t)n, sizeof *v->plen);
    v->slot = malloc((size_t)v->cap * sizeof *v->slot);
    if (!v->piece || !v->plen || !v->slot) {
        mhv_vocab_free(v);
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    }
    memset(v->slot, 0xff, (size_t)v->cap * sizeof *v->slot);
    v->dup_first = v->dup_last = -1;
    snprintf(v->file, sizeof v->file, "%s", file ? file : "");
    *out = v;
    return MHV_OK;
}

void mhv_vocab_free(mhv_vocab *v)
{
    if (!v)
        return;
    if (v->piece)
        for (int32_t i = 0; i < v->n; i++)
            free(v->piece[i]);
    free(v->piece);
    free(v->plen);
    free(v->slot);
    free(v);
}

/* Returns the slot holding piece, or the empty slot where it would go. */
static uint32_t find_slot(const mhv_vocab *v, const char *s, size_t len)
{
    uint32_t mask = v->cap - 1, i = (uint32_t)mhv_hash(s, len) & mask;
    for (;;) {
        int32_t id = v->slot[i];
        if (id < 0 || (v->plen[id] == len && memcmp(v->piece[id], s, len) == 0))
            return i;
        i = (i + 1) & mask; /* load factor <= 1/2, so an empty slot exists */
    }
}

/* replace: vocab.txt semantics (a later line wins the lookup) instead of an error. */
static mhv_status vocab_put(mhv_vocab *v, int32_t id, const char *piece, size_t len,
                            int replace, mhv_error *err)
{
    if (id < 0 || id >= v->n)
        return mhv_fail(err, MHV_EFORMAT, v->file, "token id %ld out of range 0..%d",
                        (long)id, (int)v->n - 1);
    if (v->piece[id])
        return mhv_fail(err, MHV_EFORMAT, v->file, "token id %d given twice", (int)id);
    if (len > UINT32_MAX || memchr(piece, '\0', len))
        return mhv_fail(err, MHV_EFORMAT, v->file, "token id %d contains a NUL byte", (int)id);
    if (!mhv_utf8_valid(piece, len, NULL))
        return mhv_fail(err, MHV_EFORMAT, v->file, "token id %d is not valid UTF-8", (int)id);
    uint32_t s = find_slot(v, piece, len);
    if (v->slot[s] >= 0 && !replace)
        return mhv_fail(err, MHV_EFORMAT, v->file, "piece '%.*s' given twice (ids %d and %d)",
                        (int)(len > 60 ? 60 : len), piece, (int)v->slot[s], (int)id);
    char *copy = malloc(len + 1);
    if (!copy)
        return mhv_fail(err, MHV_ENOMEM, v->file, "out of memory");
    memcpy(copy, piece, len);
    copy[len] = '\0';
    v->piece[id] = copy;
    v->plen[id] = (uint32_t)len;
    if (v->slot[s] >= 0 && v->dup_first < 0) {
        v->dup_first = v->slot[s];
        v->dup_last = id;
    }
    v->slot[s] = id;
    return MHV_OK;
}

mhv_status mhv_vocab_set(mhv_vocab *v, int32_t id, const char *piece, size_t len,
                         mhv_error *err)
{
    return vocab_put(v, id, piece, len, 0, err);
}

mhv_status mhv_vocab_finish(mhv_vocab *v, mhv_error *err)
{
    for (int32_t i = 0; i < v->n; i++)
        if (!v->piece[i])
            return mhv_fail(err, MHV_EFORMAT, v->file,
                            "token ids are not dense: id %d is missing", (int)i);
    return MHV_OK;
}

mhv_status mhv_vocab_load_txt(const char *path, mhv_vocab **out, mhv_error *err)
{
    *out = NULL;
    char *buf;
    size_t len = 0;
    mhv_status st = mhv_read_file(path, MHV_VOCAB_MAX_FILE, &buf, &len, err);
    if (st)
        return st;
    if (len == 0) {
        free(buf);
        return mhv_fail(err, MHV_EFORMAT, path, "empty vocabulary file");
    }
    if (memchr(buf, '\0', len)) {
        size_t at = (size_t)((char *)memchr(buf, '\0', len) - buf);
        free(buf);
        return mhv_fail(err, MHV_EFORMAT, path, "NUL byte at offset %zu", at);
    }
    /* transformers' load_vocab: readlines() then rstrip("\n"); a final newline ends the last
     * line rather than starting an empty one. */
    size_t n_lines = 0;
    for (size_t i = 0; i < len; i++)
        n_lines += buf[i] == '\n';
    if (buf[len - 1] != '\n')
        n_lines++;
    mhv_vocab *v;
    st = mhv_vocab_new((int32_t)(n_lines > (1u << 30) ? (1u << 30) : n_lines), path, &v, err);
    if (st) {
        free(buf);
        return st;
    }
    size_t pos = 0;
    for (int32_t id = 0; id < v->n; id++) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t e = end;
        if (e > pos && buf[e - 1] == '\r')
            e--;
        if (!mhv_utf8_valid(buf + pos, e - pos, NULL)) {
            st = mhv_fail(err, MHV_EFORMAT, path, "line %d is not valid UTF-8", (int)id + 1);
            break;
        }
        st = vocab_put(v, id, buf + pos, e - pos, 1, err);
        if (st)
            break;
        pos = end + 1;
    }
    free(buf);
    if (st) {
        mhv_vocab_free(v);
        return st;
    }
    *out = v;
    return MHV_OK;
}

int32_t mhv_vocab_size(const mhv_vocab *v)
{
    return v->n;
}

const char *mhv_vocab_piece(const mhv_vocab *v, int32_t id)
{
    return id >= 0 && id < v->n ? v->piece[id] : NULL;
}

int32_t mhv_vocab_lookup(const mhv_vocab *v, const char *piece, size_t len)
{
    return v->slot[find_slot(v, piece, len)];
}

int mhv_vocab_duplicate(const mhv_vocab *v, int32_t *first, int32_t *last)
{
    if (first)
        *first = v->dup_first;
    if (last)
        *last = v->dup_last;
    return v->dup_first >= 0;
}
