/* bpe.c - the BPE model of Hugging Face tokenizers (models::bpe): the vocabulary and merges
 * of tokenizer.json or of vocab.json + merges.txt, and the merging of one word, with byte
 * fallback, unk fusing and ignore_merges; every token keeps the span of original characters
 * it came from.
 *
 * Merging uses HF's algorithm: a min-heap of candidate merges ordered by (rank, position),
 * stale entries skipped when popped, so a word of n symbols costs O(n log n) and a 100 kB
 * "word" of one repeated letter does not hang. */
#include "tok/bpe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/fileio.h"
#include "base/hash.h"
#include "base/json.h"
#include "text/unicode.h"

#define MAX_MERGES (1 << 24)
#define MAX_FILE (512u << 20)

struct mhv_bpe {
    const mhv_vocab *vocab;
    /* merges: open addressing on the pair of ids; cap a power of two >= 2 * n */
    uint64_t *mkey;   /* (mcap,) (left << 32 | right) + 1, 0 = empty */
    int32_t *mrank;   /* (mcap,) */
    int32_t *mnew;    /* (mcap,) id of the merged piece */
    uint32_t mcap;
    int32_t unk_id;   /* -1 when the model has no unk token */
    int byte_fallback, fuse_unk, ignore_merges;
    int32_t byte_tok[256]; /* ids of "<0x00>".."<0xFF>" for byte fallback, -1 if absent */
    int32_t n_model;       /* ids >= n_model are added tokens, not the model's pieces */
    char eow[32];          /* end_of_word_suffix (CLIP's "</w>"): the last character's piece
                            * is looked up with it, "" for none */
    size_t eow_len;
    char file[512];
};

/* A piece of the model's own vocabulary (added tokens beyond it are not), -1 if absent. */
static int32_t lookup(const mhv_bpe *b, const char *s, size_t len)
{
    int32_t id = mhv_vocab_lookup(b->vocab, s, len);
    return id < b->n_model ? id : -1;
}

/* ---- merge table ---- */

static uint32_t pair_hash(uint64_t k)
{
    return (uint32_t)mhv_hash_u64(k); /* keyed: merges crafted to collide cannot be */
}

static mhv_status merges_alloc(mhv_bpe *b, size_t n, mhv_error *err)
{
    if (n > MAX_MERGES)
        return mhv_fail(err, MHV_ENOMEM, b->file, "%zu merges is too many", n);
    b->mcap = 16;
    while (b->mcap < 2 * n + 2)
        b->mcap <<= 1;
    b->mkey = calloc(b->mcap, sizeof *b->mkey);
    b->mrank = malloc(b->mcap * sizeof *b->mrank);
    b->mnew = malloc(b->mcap * sizeof *b->mnew);
    if (!b->mkey || !b->mrank || !b->mnew)
        return mhv_fail(err, MHV_ENOMEM, b->file, "out of memory");
    return MHV_OK;
}

static uint32_t merge_slot(const mhv_bpe *b, int32_t l, int32_t r)
{
    uint64_t k = ((uint64_t)(uint32_t)l << 32 | (uint32_t)r) + 1;
    uint32_t mask = b->mcap - 1, i = pair_hash(k) & mask;
    while (b->mkey[i] && b->mkey[i] != k)
        i = (i + 1) & mask;
    return i;
}

static int merge_get(const mhv_bpe *b, int32_t l, int32_t r, int32_t *rank, int32_t *id)
{
    uint32_t s = merge_slot(b, l, r);
    if (!b->mkey[s])
        return 0;
    *rank = b->mrank[s];
    *id = b->mnew[s];
    return 1;
}

/* A merge "a b": both parts and their concatenation must be in the vocabulary (HF refuses the
 * file otherwise). A pair listed twice keeps its later rank, as HF's HashMap collect does. */
static mhv_status add_merge(mhv_bpe *b, const char *a, size_t alen, const char *c, size_t clen,
                            int32_t rank, mhv_error *err)
{
    int32_t l = lookup(b, a, alen), r = lookup(b, c, clen);
    if (l < 0 || r < 0)
        return mhv_fail(err, MHV_EFORMAT, b->file, "merge %d: '%.*s' is not in the vocabulary",
                        (int)rank + 1,
                        (int)(l < 0 ? (alen > 60 ? 60 : alen) : (clen > 60 ? 60 : clen)),
                        l < 0 ? a : c);
    char buf[1024];
    if (alen + clen > sizeof buf)
        return mhv_fail(err, MHV_EFORMAT, b->file, "merge %d is too long", (int)rank + 1);
    memcpy(buf, a, alen);
    memcpy(buf + alen, c, clen);
    int32_t m = lookup(b, buf, alen + clen);
    if (m < 0)
        return mhv_fail(err, MHV_EFORMAT, b->file,
                        "merge %d: '%.*s' is not in the vocabulary", (int)rank + 1,
                        (int)(alen + clen > 60 ? 60 : alen + clen), buf);
    uint32_t s = merge_slot(b, l, r);
    b->mkey[s] = ((uint64_t)(uint32_t)l << 32 | (uint32_t)r) + 1;
    b->mrank[s] = rank;
    b->mnew[s] = m;
    return MHV_OK;
}

/* ---- construction ---- */

static mhv_status bpe_new(const char *file, mhv_bpe **out, mhv_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    mhv_bpe *b = *out;
    snprintf(b->file, sizeof b->file, "%s", file);
    b->unk_id = -1;
    return MHV_OK;
}

void mhv_bpe_free(mhv_bpe *b)
{
    if (!b)
        return;
    free(b->mkey);
    free(b->mrank);
    free(b->mnew);
    free(b);
}

static void find_byte_tokens(mhv_bpe *b)
{
    for (int i = 0; i < 256; i++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", i);
        b->byte_tok[i] = lookup(b, name, 6);
    }
}

/* A string member that must be absent, null or empty (affixes mhaviz does not implement). */
static mhv_status jempty(const cJSON *o, const char *key, const char *file, mhv_error *err)
{
    const char *s;
    mhv_status st = mhv_json_str(o, key, "", &s, file, err);
    if (!st && s[0])
        st = mhv_fail(err, MHV_EUNSUPPORTED, file, "BPE '%s' is not supported", key);
    return st;
}

/* The vocabulary: model.vocab's ids, plus added tokens whose id lies beyond it (Qwen2's
 * <|endoftext|> is 151643, the model vocabulary 0..151642). Ids must end up dense. */
static mhv_status build_vocab(const cJSON *vocab, const cJSON *added, const char *file,
                              mhv_vocab **out, int32_t *n_model, mhv_error *err)
{
    if (!cJSON_IsObject(vocab))
        return mhv_fail(err, MHV_EFORMAT, file, "'model.vocab' is missing or not an object");
    double max = -1;
    for (const cJSON *e = vocab->child; e; e = e->next) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble >= (1 << 24) ||
            e->valuedouble != floor(e->valuedouble))
            return mhv_fail(err, MHV_EFORMAT, file, "vocabulary entry '%.60s' has no valid id",
                            e->string);
        if (e->valuedouble > max)
            max = e->valuedouble;
    }
    double model_max = max;
    *n_model = (int32_t)max + 1;
    if (cJSON_IsArray(added))
        for (const cJSON *a = added->child; a; a = a->next) {
            const cJSON *id = mhv_json_get(a, "id"), *c = mhv_json_get(a, "content");
            if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= (1 << 24) ||
                id->valuedouble != floor(id->valuedouble) || !cJSON_IsString(c))
                return mhv_fail(err, MHV_EFORMAT, file, "an added token lacks 'id' or 'content'");
            if (id->valuedouble > max)
                max = id->valuedouble;
        }
    if (max < 0)
        return mhv_fail(err, MHV_EFORMAT, file, "empty vocabulary");
    mhv_status st = mhv_vocab_new((int32_t)max + 1, file, out, err);
    for (const cJSON *e = vocab->child; e && !st; e = e->next)
        st = mhv_vocab_set(*out, (int32_t)e->valuedouble, e->string, strlen(e->string), err);
    if (cJSON_IsArray(added))
        for (const cJSON *a = added->child; a && !st; a = a->next) {
            int32_t id = (int32_t)mhv_json_get(a, "id")->valuedouble;
            const char *c = mhv_json_get(a, "content")->valuestring;
            if (id > model_max)
                st = mhv_vocab_set(*out, id, c, strlen(c), err);
            else if (strcmp(mhv_vocab_piece(*out, id) ? mhv_vocab_piece(*out, id) : "", c) != 0)
                st = mhv_fail(err, MHV_EUNSUPPORTED, file,
                              "added token '%.60s' reuses id %d of another piece", c, (int)id);
        }
    if (!st)
        st = mhv_vocab_finish(*out, err);
    return st;
}

static mhv_status parse_merges_json(mhv_bpe *b, const cJSON *merges, mhv_error *err)
{
    if (!cJSON_IsArray(merges))
        return mhv_fail(err, MHV_EFORMAT, b->file, "'model.merges' is missing or not an array");
    mhv_status st = merges_alloc(b, (size_t)cJSON_GetArraySize(merges), err);
    int32_t rank = 0;
    for (const cJSON *m = merges->child; m && !st; m = m->next, rank++) {
        if (cJSON_IsString(m)) {
            /* "a b": exactly one space, as HF's convert_merges_to_hashmap */
            const char *s = m->valuestring, *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' '))
                return mhv_fail(err, MHV_EFORMAT, b->file,
                                "merge %d is not two pieces separated by one space", (int)rank + 1);
            st = add_merge(b, s, (size_t)(sp - s), sp + 1, strlen(sp + 1), rank, err);
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 &&
                   cJSON_IsString(m->child) && cJSON_IsString(m->child->next)) {
            const char *x = m->child->valuestring, *y = m->child->next->valuestring;
            st = add_merge(b, x, strlen(x), y, strlen(y), rank, err);
        } else {
            return mhv_fail(err, MHV_EFORMAT, b->file,
                            "merge %d is neither \"a b\" nor [\"a\", \"b\"]", (int)rank + 1);
        }
    }
    return st;
}

static mhv_status parse_bpe_model(mhv_bpe *b, const cJSON *model, mhv_error *err)
{
    const char *f = b->file, *unk;
    mhv_status st;
    const cJSON *drop = mhv_json_get(model, "dropout");
    if (drop && !(cJSON_IsNumber(drop) && drop->valuedouble == 0))
        return mhv_fail(err, MHV_EUNSUPPORTED, f, "BPE dropout is not supported");
    const char *eow;
    if ((st = jempty(model, "continuing_subword_prefix", f, err)) ||
        (st = mhv_json_str(model, "end_of_word_suffix", "", &eow, f, err)) ||
        (st = mhv_json_bool(model, "fuse_unk", 0, &b->fuse_unk, f, err)) ||
        (st = mhv_json_bool(model, "byte_fallback", 0, &b->byte_fallback, f, err)) ||
        (st = mhv_json_bool(model, "ignore_merges", 0, &b->ignore_merges, f, err)) ||
        (st = mhv_json_str(model, "unk_token", "", &unk, f, err)))
        return st;
    b->eow_len = strlen(eow);
    if (b->eow_len >= sizeof b->eow)
        return mhv_fail(err, MHV_EUNSUPPORTED, f, "BPE 'end_of_word_suffix' is too long");
    if (b->eow_len && b->byte_fallback) /* HF falls back to the suffixed piece's bytes */
        return mhv_fail(err, MHV_EUNSUPPORTED, f, "BPE 'end_of_word_suffix' with "
                        "'byte_fallback' is not supported");
    memcpy(b->eow, eow, b->eow_len + 1);
    if (unk[0]) {
        b->unk_id = lookup(b, unk, strlen(unk));
        if (b->unk_id < 0)
            return mhv_fail(err, MHV_EFORMAT, f, "unknown token '%.60s' is not in the vocabulary",
                            unk);
    }
    find_byte_tokens(b);
    return parse_merges_json(b, mhv_json_get(model, "merges"), err);
}

mhv_status mhv_bpe_from_json(const cJSON *model, const cJSON *added, const char *file,
                             mhv_vocab **vocab, mhv_bpe **out, mhv_error *err)
{
    *vocab = NULL;
    *out = NULL;
    mhv_bpe *b;
    mhv_status st = bpe_new(file, &b, err);
    if (st)
        return st;
    st = build_vocab(mhv_json_get(model, "vocab"), added, file, vocab, &b->n_model, err);
    if (!st) {
        b->vocab = *vocab;
        st = parse_bpe_model(b, model, err);
    }
    if (st) {
        mhv_bpe_free(b);
        mhv_vocab_free(*vocab);
        *vocab = NULL;
        return st;
    }
    *out = b;
    return MHV_OK;
}

/* ---- vocab.json + merges.txt ---- */

static mhv_status load_vocab_json(const char *path, const int32_t *extra_ids,
                                  const char *const *extra, int n_extra, mhv_vocab **out,
                                  int32_t *n_model, mhv_error *err)
{
    cJSON *j;
    mhv_status st = mhv_json_load(path, MAX_FILE, &j, err);
    if (st)
        return st;
    /* the same shape as tokenizer.json's model.vocab + added_tokens */
    cJSON *added = cJSON_CreateArray();
    for (int i = 0; added && i < n_extra; i++) {
        cJSON *a = cJSON_CreateObject();
        if (!a || !cJSON_AddNumberToObject(a, "id", extra_ids[i]) ||
            !cJSON_AddStringToObject(a, "content", extra[i])) {
            cJSON_Delete(a);
            cJSON_Delete(added);
            added = NULL;
            break;
        }
        cJSON_AddItemToArray(added, a);
    }
    if (!added)
        st = mhv_fail(err, MHV_ENOMEM, path, "out of memory");
    else
        st = build_vocab(j, added, path, out, n_model, err);
    cJSON_Delete(added);
    cJSON_Delete(j);
    return st;
}

static mhv_status load_merges_txt(mhv_bpe *b, const char *path, mhv_error *err)
{
    char *buf;
    size_t len;
    mhv_status st = mhv_read_file(path, MAX_FILE, &buf, &len, err);
    if (st)
        return st;
    snprintf(b->file, sizeof b->file, "%s", path);
    if (memchr(buf, '\0', len)) {
        free(buf);
        return mhv_fail(err, MHV_EFORMAT, path, "NUL byte in the file");
    }
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    if ((st = merges_alloc(b, lines, err))) {
        free(buf);
        return st;
    }
    size_t pos = 0;
    int32_t rank = 0;
    for (int line = 1; pos < len && !st; line++) {
        char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len, e = end;
        if (e > pos && buf[e - 1] == '\r')
            e--;
        const char *s = buf + pos;
        size_t n = e - pos;
        pos = end + 1;
        if ((line == 1 && n >= 8 && memcmp(s, "#version", 8) == 0) || (n == 0 && pos >= len))
            continue; /* the header, and the empty "line" after the final newline */
        const char *sp = memchr(s, ' ', n);
        if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp - s) - 1) || sp == s || sp + 1 == s + n)
            st = mhv_fail(err, MHV_EFORMAT, path,
                          "line %d is not two pieces separated by one space", line);
        else if (!mhv_utf8_valid(s, n, NULL))
            st = mhv_fail(err, MHV_EFORMAT, path, "line %d is not valid UTF-8", line);
        else
            st = add_merge(b, s, (size_t)(sp - s), sp + 1, (size_t)(s + n - sp - 1), rank++, err);
    }
    free(buf);
    return st;
}

mhv_status mhv_bpe_from_files(const char *vocab_json, const char *merges_txt,
                              const int32_t *extra_ids, const char *const *extra_pieces,
                              int n_extra, mhv_vocab **vocab, mhv_bpe **out, mhv_error *err)
{
    *vocab = NULL;
    *out = NULL;
    mhv_bpe *b;
    mhv_status st = bpe_new(vocab_json, &b, err);
    if (st)
        return st;
    st = load_vocab_json(vocab_json, extra_ids, extra_pieces, n_extra, vocab, &b->n_model, err);
    if (!st) {
        b->vocab = *vocab;
        find_byte_tokens(b);
        st = load_merges_txt(b, merges_txt, err);
    }
    if (st) {
        mhv_bpe_free(b);
        mhv_vocab_free(*vocab);
        *vocab = NULL;
        return st;
    }
    *out = b;
    return MHV_OK;
}

/* ---- encoding ---- */

/* One word: code points with the original character each came from. */
typedef struct {
    const uint32_t *cp; /* (n,) */
    const int32_t *orig; /* (n,) */
    size_t n;
} text;

/* Merge candidates: HF's heap orders by lowest rank, then leftmost position. */
typedef struct {
    int32_t rank, pos, id;
} cand;

static int cand_less(const cand *a, const cand *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(cand *h, size_t *n, cand c)
{
    size_t i = (*n)++;
    while (i > 0 && cand_less(&c, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = c;
}

static cand heap_pop(cand *h, size_t *n)
{
    cand top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && cand_less(&h[c + 1], &h[c]))
            c++;
        if (!cand_less(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0)
        h[i] = last;
    return top;
}

typedef struct {
    int32_t id;
    int32_t prev, next; /* symbol indices, -1 at the ends */
    int32_t c0, c1;     /* characters [c0, c1) of the word; c1 == -1 once merged away */
} sym;

static mhv_status push_token(const text *w, mhv_toklist *out, int32_t id, int32_t c0, int32_t c1,
                             mhv_error *err)
{
    int32_t s = w->orig[c0], e = w->orig[c1 - 1] + 1;
    return mhv_toklist_push(out, id, s, e < s ? s : e, err);
}

/* Initial symbols of a word: one per character when the vocabulary has it, else its bytes
 * as <0xXX> tokens (byte_fallback), else unk (consecutive unknowns fused when fuse_unk). */
static mhv_status word_symbols(const mhv_bpe *b, const text *w, sym *s, int32_t *ns,
                               mhv_error *err)
{
    (void)err;
    int32_t n = 0, unk_c0 = -1, unk_c1 = -1;
    for (size_t i = 0; i < w->n; i++) {
        char u[4 + sizeof b->eow];
        int k = mhv_utf8_encode(w->cp[i], u);
        size_t klen = (size_t)k;
        if (i + 1 == w->n && b->eow_len) { /* the word's end: its piece with the suffix */
            memcpy(u + k, b->eow, b->eow_len);
            klen += b->eow_len;
        }
        int32_t id = lookup(b, u, klen);
        int bytes_ok = 0;
        if (id < 0 && b->byte_fallback) {
            bytes_ok = 1;
            for (int j = 0; j < k; j++)
                bytes_ok &= b->byte_tok[(unsigned char)u[j]] >= 0;
        }
        if (id >= 0 || bytes_ok) {
            if (unk_c0 >= 0) {
                s[n++] = (sym){b->unk_id, 0, 0, unk_c0, unk_c1};
                unk_c0 = -1;
            }
            if (id >= 0)
                s[n++] = (sym){id, 0, 0, (int32_t)i, (int32_t)i + 1};
            else
                for (int j = 0; j < k; j++)
                    s[n++] = (sym){b->byte_tok[(unsigned char)u[j]], 0, 0, (int32_t)i,
                                   (int32_t)i + 1};
            continue;
        }
        if (b->unk_id < 0)
            continue; /* HF drops a character it cannot represent when there is no unk */
        if (unk_c0 >= 0 && !b->fuse_unk) {
            s[n++] = (sym){b->unk_id, 0, 0, unk_c0, unk_c1};
            unk_c0 = -1;
        }
        if (unk_c0 < 0)
            unk_c0 = (int32_t)i;
        unk_c1 = (int32_t)i + 1;
    }
    if (unk_c0 >= 0)
        s[n++] = (sym){b->unk_id, 0, 0, unk_c0, unk_c1};
    for (int32_t i = 0; i < n; i++) {
        s[i].prev = i - 1;
        s[i].next = i + 1 < n ? i + 1 : -1;
    }
    *ns = n;
    return MHV_OK;
}

mhv_status mhv_bpe_word(const mhv_bpe *b, const uint32_t *cp, const int32_t *orig,
                        size_t n_cp, mhv_toklist *out, mhv_error *err)
{
    const text word = {cp, orig, n_cp}, *w = &word;
    if (w->n == 0)
        return MHV_OK;
    if (w->n > INT32_MAX / 8)
        return mhv_fail(err, MHV_EUSAGE, "", "word too long");
    if (b->ignore_merges) {
        /* Llama-3 style: a word that is itself in the vocabulary is not merged up */
        char *u = malloc(4 * w->n);
        if (!u)
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        size_t len = 0;
        for (size_t i = 0; i < w->n; i++)
            len += (size_t)mhv_utf8_encode(w->cp[i], u + len);
        int32_t id = lookup(b, u, len);
        free(u);
        if (id >= 0)
            return push_token(w, out, id, 0, (int32_t)w->n, err);
    }
    sym *s = malloc(4 * w->n * sizeof *s);           /* up to 4 byte-fallback symbols a char */
    cand *h = malloc((3 * 4 * w->n + 1) * sizeof *h); /* n initial pairs + 2 per merge */
    mhv_status st = MHV_OK;
    if (!s || !h) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        goto out;
    }
    int32_t n;
    size_t nh = 0;
    if ((st = word_symbols(b, w, s, &n, err)))
        goto out;
    for (int32_t i = 0; i + 1 < n; i++) {
        cand c = {0, i, 0};
        if (merge_get(b, s[i].id, s[i + 1].id, &c.rank, &c.id))
            heap_push(h, &nh, c);
    }
    while (nh > 0) {
        cand c = heap_pop(h, &nh);
        sym *l = &s[c.pos];
        if (l->c1 < 0 || l->next < 0)
            continue;
        sym *r = &s[l->next];
        int32_t rank, id;
        if (!merge_get(b, l->id, r->id, &rank, &id) || rank != c.rank || id != c.id)
            continue; /* stale: one side was merged since this candidate was pushed */
        l->id = c.id;
        l->c1 = r->c1;
        l->next = r->next;
        r->c1 = -1;
        if (l->next >= 0)
            s[l->next].prev = c.pos;
        cand d = {0, 0, 0};
        if (l->prev >= 0 && merge_get(b, s[l->prev].id, l->id, &d.rank, &d.id)) {
            d.pos = l->prev;
            heap_push(h, &nh, d);
        }
        if (l->next >= 0 && merge_get(b, l->id, s[l->next].id, &d.rank, &d.id)) {
            d.pos = c.pos;
            heap_push(h, &nh, d);
        }
    }
    for (int32_t i = n > 0 ? 0 : -1; i >= 0 && !st; i = s[i].next)
        st = push_token(w, out, s[i].id, s[i].c0, s[i].c1, err);
out:
    free(s);
    free(h);
    return st;
}

/* Byte-level: each UTF-8 byte of [a, b) becomes its bytes_to_unicode character, all aligned
 * to the character the byte belongs to; then BPE. */
