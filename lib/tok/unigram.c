/* unigram.c - HF's Unigram::encode_optimized: the best path over the lattice of pieces that
 * start at each character, a piece's score its log probability, an unknown character
 * scoring (lowest piece score - 10); consecutive unknowns fused, then byte fallback. */
#include "tok/unigram.h"

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/hash.h"
#include "base/json.h"
#include "text/unicode.h"

#define MAX_PIECES (1 << 24)
#define UNK_PENALTY 10.0

struct mhv_unigram {
    const mhv_vocab *vocab; /* the pieces of the lattice: the caller's vocabulary, or own */
    mhv_vocab *own;         /* with "output_ids": the pieces, apart from the ids handed out */
    int32_t *out_id;        /* (n_model,) with "output_ids": the id each piece is given (a
                               Marian vocab.json's), else NULL: a piece's own index */
    double *score;        /* (n_pieces,) */
    int32_t unk_id;       /* -1: none */
    int byte_fallback;
    int32_t byte_tok[256];
    double unk_score;
    int32_t n_model;      /* pieces 0..n_model-1; added tokens beyond are not the model's */
    /* byte trie of the pieces: node 0 is the root; edge (node, byte) -> node by hashing */
    int32_t *term;        /* (n_nodes,) piece id ending at the node, -1 */
    uint64_t *ekey;       /* (ecap,) node * 256 + byte + 1, 0 empty */
    int32_t *eval;        /* (ecap,) child node */
    size_t n_nodes, ecap;
};

void mhv_unigram_free(mhv_unigram *u)
{
    if (!u)
        return;
    free(u->score);
    mhv_vocab_free(u->own);
    free(u->out_id);
    free(u->term);
    free(u->ekey);
    free(u->eval);
    free(u);
}

static size_t edge_slot(const mhv_unigram *u, uint64_t key)
{
    uint64_t h = mhv_hash_u64(key); /* keyed: pieces crafted to collide cannot be */
    size_t i = (size_t)h & (u->ecap - 1);
    while (u->ekey[i] && u->ekey[i] != key)
        i = (i + 1) & (u->ecap - 1);
    return i;
}

static int32_t child(const mhv_unigram *u, int32_t node, unsigned char c)
{
    size_t s = edge_slot(u, (uint64_t)node * 256 + c + 1);
    return u->ekey[s] ? u->eval[s] : -1;
}

static mhv_status build_trie(mhv_unigram *u, const char *file, mhv_error *err)
{
    int32_t n = u->n_model;
    size_t bytes = 1;
    for (int32_t id = 0; id < n; id++)
        bytes += strlen(mhv_vocab_piece(u->vocab, id));
    u->ecap = 16;
    while (u->ecap < 2 * bytes)
        u->ecap <<= 1;
    u->term = malloc(bytes * sizeof *u->term);
    u->ekey = calloc(u->ecap, sizeof *u->ekey);
    u->eval = malloc(u->ecap * sizeof *u->eval);
    if (!u->term || !u->ekey || !u->eval)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    u->term[0] = -1;
    u->n_nodes = 1;
    for (int32_t id = 0; id < n; id++) {
        const char *p = mhv_vocab_piece(u->vocab, id);
        int32_t node = 0;
        for (size_t i = 0; p[i]; i++) {
            uint64_t key = (uint64_t)node * 256 + (unsigned char)p[i] + 1;
            size_t s = edge_slot(u, key);
            if (!u->ekey[s]) {
                u->ekey[s] = key;
                u->eval[s] = (int32_t)u->n_nodes;
                u->term[u->n_nodes++] = -1;
            }
            node = u->eval[s];
        }
        if (node > 0)
            u->term[node] = id;
    }
    return MHV_OK;
}

/* "output_ids" (one per piece) and "output_vocab" (the pieces by id handed out) of a model
 * whose ids are not its pieces' indices (MarianTokenizer: source.spm's pieces, vocab.json's
 * ids): *vocab is made of output_vocab, the pieces kept apart in u->own. */
static mhv_status output_ids(mhv_unigram *u, const cJSON *ids, const cJSON *names, int np,
                             int n_out, const char *file, mhv_vocab **vocab, mhv_error *err)
{
    if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) != np || !cJSON_IsArray(names))
        return mhv_fail(err, MHV_EFORMAT, file, "Unigram output_ids is not one id per piece");
    if (!(u->out_id = malloc((size_t)np * sizeof *u->out_id)))
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    int i = 0;
    for (const cJSON *e = ids->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e) || !(e->valuedouble >= 0 && e->valuedouble < n_out) ||
            e->valuedouble != (double)(int32_t)e->valuedouble)
            return mhv_fail(err, MHV_EFORMAT, file, "Unigram output id %d is out of range", i);
        u->out_id[i] = (int32_t)e->valuedouble;
    }
    mhv_status st = mhv_vocab_new(n_out, file, vocab, err);
    i = 0;
    for (const cJSON *e = names->child; e && !st; e = e->next, i++) {
        if (!cJSON_IsString(e))
            return mhv_fail(err, MHV_EFORMAT, file, "Unigram output piece %d is not a string", i);
        st = mhv_vocab_set(*vocab, i, e->valuestring, strlen(e->valuestring), err);
    }
    return st;
}

mhv_status mhv_unigram_from_json(const cJSON *model, const cJSON *added, const char *file,
                                 mhv_vocab **vocab, mhv_unigram **out, mhv_error *err)
{
    *vocab = NULL;
    *out = NULL;
    const cJSON *v = mhv_json_get(model, "vocab");
    const cJSON *oids = mhv_json_get(model, "output_ids");
    const cJSON *onames = mhv_json_get(model, "output_vocab");
    if (!cJSON_IsArray(v))
        return mhv_fail(err, MHV_EFORMAT, file, "'model.vocab' is missing or not an array");
    int np = cJSON_GetArraySize(v);
    if (np <= 0 || np > MAX_PIECES)
        return mhv_fail(err, MHV_EFORMAT, file, "Unigram vocabulary of %d pieces", np);
    int n_ids = np; /* the ids handed out: the pieces', or output_vocab's */
    if (oids || onames) {
        n_ids = cJSON_IsArray(onames) ? cJSON_GetArraySize(onames) : 0;
        if (n_ids <= 0 || n_ids > MAX_PIECES)
            return mhv_fail(err, MHV_EFORMAT, file, "Unigram output_vocab is not a list of "
                            "pieces");
    }
    /* added tokens beyond the pieces extend the vocabulary (as for BPE) */
    int n = n_ids;
    if (cJSON_IsArray(added))
        for (const cJSON *a = added->child; a; a = a->next) {
            int id;
            mhv_status st = mhv_json_int(a, "id", -1, 0, MAX_PIECES - 1, &id, file, err);
            if (st)
                return st;
            if (id >= n)
                n = id + 1;
        }
    mhv_unigram *u = calloc(1, sizeof *u);
    if (!u)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    mhv_vocab *pieces = NULL; /* the lattice's */
    mhv_status st = MHV_OK;
    if (oids || onames) {
        if (!(st = output_ids(u, oids, onames, np, n, file, vocab, err)) &&
            !(st = mhv_vocab_new(np, file, &u->own, err)))
            pieces = u->own;
    } else if (!(st = mhv_vocab_new(n, file, vocab, err))) {
        pieces = *vocab;
    }
    if (!st && !(u->score = malloc((size_t)(n > np ? n : np) * sizeof *u->score)))
        st = mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    double min = INFINITY;
    int id = 0;
    for (const cJSON *e = v->child; e && !st; e = e->next, id++) {
        const cJSON *p = cJSON_GetArrayItem(e, 0), *s = cJSON_GetArrayItem(e, 1);
        if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 || !cJSON_IsString(p) ||
            !cJSON_IsNumber(s) || !isfinite(s->valuedouble)) {
            st = mhv_fail(err, MHV_EFORMAT, file, "Unigram piece %d is not [piece, score]", id);
            break;
        }
        u->score[id] = s->valuedouble;
        if (s->valuedouble < min)
            min = s->valuedouble;
        st = mhv_vocab_set(pieces, id, p->valuestring, strlen(p->valuestring), err);
    }
    if (!st && cJSON_IsArray(added))
        for (const cJSON *a = added->child; a && !st; a = a->next) {
            const char *c;
            int aid;
            if ((st = mhv_json_str(a, "content", NULL, &c, file, err)) ||
                (st = mhv_json_int(a, "id", -1, 0, n - 1, &aid, file, err)))
                break;
            const char *have = mhv_vocab_piece(*vocab, aid);
            if (aid >= n_ids) {
                if (!have || strcmp(have, c) != 0)
                    st = mhv_vocab_set(*vocab, aid, c, strlen(c), err);
                if (!u->out_id)
                    u->score[aid] = 0;
            } else if (strcmp(have, c) != 0) {
                st = mhv_fail(err, MHV_EUNSUPPORTED, file,
                              "added token '%.60s' reuses id %d of another piece", c, aid);
            }
        }
    if (!st)
        st = mhv_vocab_finish(*vocab, err);
    if (!st && u->own)
        st = mhv_vocab_finish(u->own, err);
    if (!st) {
        u->vocab = pieces;
        u->n_model = np;
        u->unk_score = min - UNK_PENALTY;
        int unk;
        if (!(st = mhv_json_int(model, "unk_id", -1, -1, np - 1, &unk, file, err)) &&
            !(st = mhv_json_bool(model, "byte_fallback", 0, &u->byte_fallback, file, err)))
            u->unk_id = unk;
    }
    if (!st)
        st = build_trie(u, file, err);
    if (st) {
        mhv_unigram_free(u);
        mhv_vocab_free(*vocab);
        *vocab = NULL;
        return st;
    }
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        u->byte_tok[b] = mhv_vocab_lookup(u->vocab, name, 6);
        if (u->byte_tok[b] >= u->n_model)
            u->byte_tok[b] = -1;
    }
    *out = u;
    return MHV_OK;
}

typedef struct {
    double score;
    int32_t from; /* character the best path's last piece starts at; -1 unreached */
    int32_t id;
} node;

/* The id handed out for piece id. */
static int32_t out_id(const mhv_unigram *u, int32_t id)
{
    return u->out_id ? u->out_id[id] : id;
}

/* A token for characters [c0, c1) of the word. */
static mhv_status emit(const mhv_unigram *u, const char *s, const size_t *boff,
                       const int32_t *orig, size_t c0, size_t c1, mhv_toklist *out,
                       mhv_error *err)
{
    int32_t a = orig[c0], e = orig[c1 - 1] + 1;
    if (e < a)
        e = a;
    size_t b0 = boff[c0], b1 = boff[c1];
    /* HF looks each piece's text up again: an unknown run that is itself a piece is that */
    int32_t id = mhv_vocab_lookup(u->vocab, s + b0, b1 - b0);
    if (id >= 0 && id < u->n_model)
        return mhv_toklist_push(out, out_id(u, id), a, e, err);
    if (u->byte_fallback) {
        int ok = 1;
        for (size_t k = b0; k < b1; k++)
            ok &= u->byte_tok[(unsigned char)s[k]] >= 0;
        if (ok) {
            mhv_status st = MHV_OK;
            for (size_t k = b0; k < b1 && !st; k++)
                st = mhv_toklist_push(out, out_id(u, u->byte_tok[(unsigned char)s[k]]), a, e, err);
            return st;
        }
    }
    if (u->unk_id < 0)
        return mhv_fail(err, MHV_EINPUT, "", "a character is not in the vocabulary and the "
                                             "model has no unk token");
    return mhv_toklist_push(out, out_id(u, u->unk_id), a, e, err);
}

mhv_status mhv_unigram_word(const mhv_unigram *u, const uint32_t *cp, const int32_t *orig,
                            size_t n, mhv_toklist *out, mhv_error *err)
{
    if (n == 0)
        return MHV_OK;
    if (n > (size_t)INT32_MAX / 8)
        return mhv_fail(err, MHV_EUSAGE, "", "word too long");
    char *s = malloc(4 * n);
    size_t *boff = malloc((n + 1) * sizeof *boff);
    int32_t *cidx = malloc((4 * n + 1) * sizeof *cidx); /* byte -> char, -1 inside one */
    node *best = malloc((n + 1) * sizeof *best);
    size_t *path = malloc(2 * (n + 1) * sizeof *path);
    mhv_status st = MHV_OK;
    if (!s || !boff || !cidx || !best || !path) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        goto done;
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        boff[i] = len;
        int w = mhv_utf8_encode(cp[i], s + len);
        cidx[len] = (int32_t)i;
        for (int k = 1; k < w; k++)
            cidx[len + (size_t)k] = -1;
        len += (size_t)w;
    }
    boff[n] = len;
    cidx[len] = (int32_t)n;
    for (size_t i = 0; i <= n; i++)
        best[i] = (node){0, -1, -1};
    best[0].from = 0;
    for (size_t i = 0; i < n; i++) {
        double here = best[i].score;
        int single = 0;
        int32_t nd = 0;
        for (size_t b = boff[i]; b < len; b++) {
            nd = child(u, nd, (unsigned char)s[b]);
            if (nd < 0)
                break;
            int32_t id = u->term[nd];
            if (id < 0 || cidx[b + 1] < 0)
                continue;
            size_t j = (size_t)cidx[b + 1];
            double c = here + u->score[id];
            if (best[j].from < 0 || c > best[j].score)
                best[j] = (node){c, (int32_t)i, id};
            if (j == i + 1)
                single = 1;
        }
        if (!single) {
            double c = here + u->unk_score;
            if (best[i + 1].from < 0 || c > best[i + 1].score)
                best[i + 1] = (node){c, (int32_t)i, -2}; /* -2: unknown character */
        }
    }
    /* back from the end; a run of unknowns becomes one token (HF's fuse_unk) */
    size_t np = 0, e = n;
    while (e > 0) {
        size_t a = (size_t)best[e].from;
        if (best[e].id == -2 && np > 0 && path[2 * np - 1] == (size_t)-1 &&
            path[2 * (np - 1)] == e) {
            path[2 * (np - 1)] = a; /* extends the unknown run leftwards */
        } else {
            path[2 * np] = a;
            path[2 * np + 1] = best[e].id == -2 ? (size_t)-1 : e;
            np++;
        }
        e = a;
    }
    for (size_t k = np; k-- > 0 && !st;) {
        size_t a = path[2 * k], b = k > 0 ? path[2 * (k - 1)] : n; /* to the next start */
        st = emit(u, s, boff, orig, a, b, out, err);
    }
done:
    free(s);
    free(boff);
    free(cidx);
    free(best);
    free(path);
    return st;
}
