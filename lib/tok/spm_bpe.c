/* spm_bpe.c - SentencePiece's own BPE encoder (sentencepiece 0.2: normalizer.cc
 * Normalizer::Normalize, bpe_model.cc Model::Encode, the unknown-run fusion of
 * SentencePieceProcessor::PopulateSentencePieceText). */
#include "tok/spm_bpe.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/unicode.h"
#include "tok/charsmap.h"
#include "tok/vocab.h"

#define SPACE "\xe2\x96\x81" /* U+2581, the escaped space */

struct mhv_spm_bpe {
    mhv_vocab *pieces;     /* every piece of the model, by its index */
    float *score;          /* (n,) */
    unsigned char *type;   /* (n,) MHV_SPM_* */
    int32_t unk_id;
    mhv_charsmap *map;     /* NULL: no charsmap */
    int add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
    int has_unused;        /* some piece is unused: final pieces may need resegmenting */
    int byte_fallback;     /* an unknown piece becomes its bytes, <0xE8> ... */
    int32_t *user;         /* (n_user,) the user-defined pieces: never normalized, never merged */
    int n_user;
};

void mhv_spm_bpe_free(mhv_spm_bpe *b)
{
    if (!b)
        return;
    mhv_vocab_free(b->pieces);
    free(b->score);
    free(b->type);
    mhv_charsmap_free(b->map);
    free(b->user);
    free(b);
}

mhv_status mhv_spm_bpe_new(const mhv_spm_model *m, const char *file, mhv_spm_bpe **out,
                           mhv_error *err)
{
    *out = NULL;
    if (m->model_type != 2)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "the SentencePiece model is of type %d, "
                        "not BPE (2)", m->model_type);
    if (m->whitespace_as_suffix)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "a SentencePiece BPE model with "
                        "treat_whitespace_as_suffix is not supported");
    if (m->unk_id < 0 || m->unk_id >= m->n || m->pieces[m->unk_id].type != MHV_SPM_UNKNOWN)
        return mhv_fail(err, MHV_EFORMAT, file, "the SentencePiece model's unk id %d is not an "
                        "unknown piece", m->unk_id);
    mhv_spm_bpe *b = calloc(1, sizeof *b);
    if (!b || !(b->user = malloc((size_t)m->n * sizeof *b->user))) {
        free(b);
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    }
    for (int i = 0; i < m->n; i++)
        if (m->pieces[i].type == MHV_SPM_USER)
            b->user[b->n_user++] = i;
    b->unk_id = m->unk_id;
    b->byte_fallback = m->byte_fallback;
    b->add_dummy_prefix = m->add_dummy_prefix;
    b->remove_extra_whitespaces = m->remove_extra_whitespaces;
    b->escape_whitespaces = m->escape_whitespaces;
    b->score = malloc((size_t)m->n * sizeof *b->score);
    b->type = malloc((size_t)m->n);
    mhv_status st = b->score && b->type ? mhv_vocab_new(m->n, file, &b->pieces, err)
                                        : mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    for (int i = 0; i < m->n && !st; i++) {
        b->score[i] = m->pieces[i].score;
        b->type[i] = (unsigned char)m->pieces[i].type;
        b->has_unused |= m->pieces[i].type == MHV_SPM_UNUSED;
        st = mhv_vocab_set(b->pieces, i, m->pieces[i].piece, strlen(m->pieces[i].piece), err);
    }
    if (!st)
        st = mhv_vocab_finish(b->pieces, err);
    if (!st && m->charsmap)
        st = mhv_charsmap_new(m->charsmap, m->charsmap_len, file, &b->map, err);
    if (st) {
        mhv_spm_bpe_free(b);
        return st;
    }
    *out = b;
    return MHV_OK;
}

/* ---- the normalizer ---- */

/* Normalized bytes, each with the original characters [start, end) of the rule it came
 * from. */
typedef struct {
    char *s;
    int32_t *start, *end; /* (n,) */
    size_t n, cap;
} ntext;

static void ntext_free(ntext *t)
{
    free(t->s);
    free(t->start);
    free(t->end);
}

static int push(ntext *t, const char *p, size_t k, int32_t a, int32_t e)
{
    if (t->n + k > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap < t->n + k)
            cap *= 2;
        char *s = realloc(t->s, cap + 1);
        if (s)
            t->s = s;
        int32_t *sa = realloc(t->start, cap * sizeof *sa);
        if (sa)
            t->start = sa;
        int32_t *se = realloc(t->end, cap * sizeof *se);
        if (se)
            t->end = se;
        if (!s || !sa || !se)
            return 0;
        t->cap = cap;
    }
    for (size_t i = 0; i < k; i++) {
        t->s[t->n] = p[i];
        t->start[t->n] = a;
        t->end[t->n++] = e;
    }
    return 1;
}

/* The input as UTF-8 with the original character of each byte. */
typedef struct {
    char *s;
    int32_t *ch; /* (len + 1,) */
    size_t len;
} input;

/* PrefixMatcher::PrefixMatch: the length of the longest user-defined piece s (len,) starts
 * with, 0 when none. */
static size_t user_prefix(const mhv_spm_bpe *b, const char *s, size_t len)
{
    size_t best = 0;
    for (int i = 0; i < b->n_user; i++) {
        const char *u = mhv_vocab_piece(b->pieces, b->user[i]);
        size_t n = strlen(u);
        if (n > best && n <= len && memcmp(s, u, n) == 0)
            best = n;
    }
    return best;
}

/* Normalizer::NormalizePrefix: a user-defined piece as it is, else the replacement of the
 * longest rule at s[pos..] (else the character itself, or U+FFFD for one byte that starts no
 * character) and its length. */
static const char *prefix(const mhv_spm_bpe *b, const input *in, size_t pos, size_t *rlen,
                          size_t *used)
{
    const unsigned char *p = (const unsigned char *)in->s + pos;
    size_t left = in->len - pos, user = user_prefix(b, (const char *)p, left);
    if (user) {
        *used = *rlen = user;
        return (const char *)p;
    }
    if (b->map) {
        const char *r = mhv_charsmap_longest(b->map, p, left, used);
        if (r) {
            *rlen = strlen(r);
            return r;
        }
    }
    uint32_t c;
    int w = mhv_utf8_decode((const char *)p, left, &c);
    if (w <= 0) {
        *used = 1;
        *rlen = 3;
        return "\xef\xbf\xbd";
    }
    *used = *rlen = (size_t)w;
    return (const char *)p;
}

static mhv_status normalize(const mhv_spm_bpe *b, const input *in, ntext *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    size_t pos = 0, rlen, used;
    const char *r;
    if (b->remove_extra_whitespaces) /* leading spaces (what the rules make " ") go */
        while (pos < in->len && (r = prefix(b, in, pos, &rlen, &used)) && rlen == 1 &&
               r[0] == ' ')
            pos += used;
    if (pos == in->len)
        return MHV_OK;
    const char *space = b->escape_whitespaces ? SPACE : " ";
    size_t space_len = strlen(space);
    if (b->add_dummy_prefix && !push(out, space, space_len, in->ch[pos], in->ch[pos]))
        goto oom;
    int prev_space = b->remove_extra_whitespaces;
    while (pos < in->len) {
        r = prefix(b, in, pos, &rlen, &used);
        int32_t a = in->ch[pos], e = in->ch[pos + used - 1] + 1;
        if (prev_space)
            while (rlen > 0 && r[0] == ' ')
                r++, rlen--;
        if (rlen > 0) {
            for (size_t k = 0; k < rlen; k++)
                if (!(r[k] == ' ' ? push(out, space, space_len, a, e) : push(out, r + k, 1, a, e)))
                    goto oom;
            prev_space = r[rlen - 1] == ' ';
        }
        pos += used;
        if (!b->remove_extra_whitespaces)
            prev_space = 0;
    }
    if (b->remove_extra_whitespaces)
        while (out->n >= space_len && memcmp(out->s + out->n - space_len, space, space_len) == 0)
            out->n -= space_len;
    if (out->s)
        out->s[out->n] = '\0';
    if (!mhv_utf8_valid(out->s, out->n, NULL)) {
        ntext_free(out);
        memset(out, 0, sizeof *out);
        return mhv_fail(err, MHV_EFORMAT, "", "the SentencePiece charsmap makes text that is "
                        "not UTF-8");
    }
    if (out->n > INT32_MAX / 2) {
        ntext_free(out);
        memset(out, 0, sizeof *out);
        return mhv_fail(err, MHV_EINPUT, "", "sentence too long after normalization");
    }
    return MHV_OK;
oom:
    ntext_free(out);
    memset(out, 0, sizeof *out);
    return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
}

static mhv_status make_input(const uint32_t *cp, size_t n, int32_t base, input *in,
                             mhv_error *err)
{
    in->s = malloc(4 * n + 1);
    in->ch = malloc((4 * n + 1) * sizeof *in->ch);
    in->len = 0;
    if (!in->s || !in->ch)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    for (size_t i = 0; i < n; i++) {
        int w = mhv_utf8_encode(cp[i], in->s + in->len);
        for (int k = 0; k < w; k++)
            in->ch[in->len++] = base + (int32_t)i;
    }
    in->ch[in->len] = base + (int32_t)n;
    return MHV_OK;
}

mhv_status mhv_spm_bpe_normalize(const mhv_spm_bpe *b, const uint32_t *cp, size_t n,
                                 char **out, size_t *len, mhv_error *err)
{
    *out = NULL;
    *len = 0;
    input in;
    ntext t = {0};
    mhv_status st = make_input(cp, n, 0, &in, err);
    if (!st)
        st = normalize(b, &in, &t, err);
    free(in.s);
    free(in.ch);
    if (!st && !(*out = strndup(t.s ? t.s : "", t.n)))
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (!st)
        *len = t.n;
    ntext_free(&t);
    return st;
}

/* ---- BPE ---- */

typedef struct {
    int32_t start, len;  /* bytes of the normalized text; len 0: merged away */
    int32_t prev, next;  /* -1 at the ends */
    int frozen;          /* a user-defined piece: merges with nothing */
} symbol;

typedef struct {
    float score;
    int32_t left, right, size;
} pair;

/* The agenda: a binary heap, highest score first, then the leftmost pair. */
typedef struct {
    pair *h;
    size_t n, cap;
} agenda;

static int before(const pair *a, const pair *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static int agenda_push(agenda *q, pair p)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        pair *h = realloc(q->h, cap * sizeof *h);
        if (!h)
            return 0;
        q->h = h;
        q->cap = cap;
    }
    size_t i = q->n++;
    while (i > 0 && before(&p, &q->h[(i - 1) / 2])) {
        q->h[i] = q->h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->h[i] = p;
    return 1;
}

static pair agenda_pop(agenda *q)
{
    pair top = q->h[0], last = q->h[--q->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->n)
            break;
        if (c + 1 < q->n && before(&q->h[c + 1], &q->h[c]))
            c++;
        if (!before(&q->h[c], &last))
            break;
        q->h[i] = q->h[c];
        i = c;
    }
    if (q->n > 0)
        q->h[i] = last;
    return top;
}

/* How an unused piece was made (bpe_model.cc's rev_merge): the last pair that made it. */
typedef struct {
    int32_t start, len, left_len;
} unmerge;

typedef struct {
    const mhv_spm_bpe *b;
    const char *text;
    symbol *sym;
    agenda q;
    unmerge *um;
    size_t n_um, cap_um;
} bpe_run;

static int32_t piece_id(const mhv_spm_bpe *b, const char *s, size_t len)
{
    return mhv_vocab_lookup(b->pieces, s, len);
}

static int mergeable(const mhv_spm_bpe *b, int32_t id)
{
    return id >= 0 && (b->type[id] == MHV_SPM_NORMAL || b->type[id] == MHV_SPM_UNUSED);
}

/* MaybeAddNewSymbolPair */
static int add_pair(bpe_run *r, int32_t left, int32_t right)
{
    if (left < 0 || right < 0 || r->sym[left].frozen || r->sym[right].frozen)
        return 1;
    const symbol *l = &r->sym[left], *rt = &r->sym[right];
    int32_t size = l->len + rt->len, id = piece_id(r->b, r->text + l->start, (size_t)size);
    if (!mergeable(r->b, id))
        return 1;
    if (!agenda_push(&r->q, (pair){r->b->score[id], left, right, size}))
        return 0;
    if (r->b->type[id] == MHV_SPM_UNUSED) {
        if (r->n_um == r->cap_um) {
            size_t cap = r->cap_um ? 2 * r->cap_um : 16;
            unmerge *u = realloc(r->um, cap * sizeof *u);
            if (!u)
                return 0;
            r->um = u;
            r->cap_um = cap;
        }
        r->um[r->n_um++] = (unmerge){l->start, size, l->len};
    }
    return 1;
}

/* One output piece before unknown runs are fused: bytes [start, start + len). */
typedef struct {
    int32_t start, len;
    int unk;
} outpiece;

typedef struct {
    outpiece *p;
    size_t n, cap;
} outlist;

static int out_push(outlist *o, int32_t start, int32_t len, int unk)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 64;
        outpiece *p = realloc(o->p, cap * sizeof *p);
        if (!p)
            return 0;
        o->p = p;
        o->cap = cap;
    }
    o->p[o->n++] = (outpiece){start, len, unk};
    return 1;
}

/* resegment: an unused piece goes back to the two it was made of, recursively (with a stack
 * of byte ranges, right part pushed first). */
static int resegment(const bpe_run *r, int32_t start, int32_t len, outlist *o)
{
    if (!r->b->has_unused) {
        int32_t id = piece_id(r->b, r->text + start, (size_t)len);
        return out_push(o, start, len, id < 0 || id == r->b->unk_id);
    }
    int32_t *stack = malloc(2 * (size_t)(len + 1) * sizeof *stack);
    size_t n = 0;
    if (!stack)
        return 0;
    stack[n++] = start, stack[n++] = len;
    int ok = 1;
    while (n > 0 && ok) {
        int32_t l = stack[--n], s = stack[--n];
        int32_t id = piece_id(r->b, r->text + s, (size_t)l);
        const unmerge *u = NULL;
        if (id >= 0 && r->b->type[id] == MHV_SPM_UNUSED)
            for (size_t k = r->n_um; k-- > 0 && !u;)
                if (r->um[k].len == l && memcmp(r->text + r->um[k].start, r->text + s,
                                                (size_t)l) == 0)
                    u = &r->um[k];
        if (!u) {
            ok = out_push(o, s, l, id < 0 || id == r->b->unk_id);
            continue;
        }
        int32_t ll = u->left_len; /* 0 < ll < l: the stack stays within 2 (len + 1) */
        stack[n++] = s + ll, stack[n++] = l - ll;
        stack[n++] = s, stack[n++] = ll;
    }
    free(stack);
    return ok;
}

static mhv_status bpe(const mhv_spm_bpe *b, const ntext *t, outlist *o, mhv_error *err)
{
    bpe_run r = {b, t->s, NULL, {0}, NULL, 0, 0};
    int32_t n = 0;
    r.sym = malloc((t->n ? t->n : 1) * sizeof *r.sym);
    int ok = r.sym != NULL;
    for (size_t k = 0; ok && k < t->n; n++) { /* a user-defined piece, else a character */
        uint32_t c;
        size_t user = user_prefix(b, t->s + k, t->n - k);
        int w = user ? (int)user : mhv_utf8_decode(t->s + k, t->n - k, &c);
        r.sym[n] = (symbol){(int32_t)k, w, n - 1, k + (size_t)w < t->n ? n + 1 : -1, user > 0};
        k += (size_t)w;
    }
    for (int32_t i = 1; ok && i < n; i++)
        ok = add_pair(&r, i - 1, i);
    while (ok && r.q.n > 0) {
        pair top = agenda_pop(&r.q);
        symbol *l = &r.sym[top.left], *rt = &r.sym[top.right];
        if (l->len == 0 || rt->len == 0 || l->len + rt->len != top.size)
            continue; /* a pair that merges no longer */
        l->len += rt->len;
        l->next = rt->next;
        if (rt->next >= 0)
            r.sym[rt->next].prev = top.left;
        rt->len = 0;
        ok = add_pair(&r, l->prev, top.left) && add_pair(&r, top.left, l->next);
    }
    for (int32_t i = 0; ok && n > 0 && i >= 0; i = r.sym[i].next)
        ok = resegment(&r, r.sym[i].start, r.sym[i].len, o);
    free(r.sym);
    free(r.q.h);
    free(r.um);
    return ok ? MHV_OK : mhv_fail(err, MHV_ENOMEM, "", "out of memory");
}

mhv_status mhv_spm_bpe_encode(const mhv_spm_bpe *b, const uint32_t *cp, size_t n, int32_t base,
                              mhv_spm_piece_fn fn, void *ctx, mhv_error *err)
{
    input in;
    ntext t = {0};
    outlist o = {0};
    mhv_status st = make_input(cp, n, base, &in, err);
    if (!st)
        st = normalize(b, &in, &t, err);
    if (!st && t.n > 0)
        st = bpe(b, &t, &o, err);
    /* a run of unknown pieces is one piece, or with byte fallback one piece per byte
     * (PopulateSentencePieceText) */
    for (size_t i = 0; i < o.n && !st;) {
        size_t j = i + 1;
        while (o.p[i].unk && j < o.n && o.p[j].unk)
            j++;
        size_t a = (size_t)o.p[i].start, e = (size_t)(o.p[j - 1].start + o.p[j - 1].len);
        if (o.p[i].unk && b->byte_fallback) {
            for (size_t k = a; k < e && !st; k++) {
                char piece[8];
                snprintf(piece, sizeof piece, "<0x%02X>", (unsigned char)t.s[k]);
                st = fn(ctx, piece, 6, t.start[k], t.end[k], err);
            }
        } else {
            st = fn(ctx, t.s + a, e - a, t.start[a], t.end[e - 1], err);
        }
        i = j;
    }
    free(o.p);
    free(in.s);
    free(in.ch);
    ntext_free(&t);
    return st;
}
