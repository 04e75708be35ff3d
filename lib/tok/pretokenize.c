/* pretokenize.c - tokenizer.json pre-tokenizers as Hugging Face tokenizers runs them
 * (PreTokenizedString::split with NormalizedString::split's behaviors; see pretokenize.h). */
#include "tok/pretokenize.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/json.h"
#include "text/unicode.h"
#include "tok/pretok.h"
#include "tok/regex.h"

#define MAX_STEPS 16
#define MAX_DEPTH 4

typedef enum { PT_SPLIT, PT_BYTELEVEL, PT_METASPACE, PT_PRED } pt_kind;
/* SplitDelimiterBehavior, in tokenizer.json's spelling order */
typedef enum { B_REMOVED, B_ISOLATED, B_PREV, B_NEXT, B_CONTIG } behavior;
static const char *const behaviors[] = {"Removed", "Isolated", "MergedWithPrevious",
                                        "MergedWithNext", "Contiguous"};
typedef enum { P_SPACE, P_DIGIT, P_PUNCT, P_CHAR } pred_kind;

typedef struct {
    pt_kind kind;
    behavior beh;
    int invert;
    mhv_regex *re;             /* SPLIT: a regex ... */
    int hand;                  /* ... or one of the hand matchers (same matches, faster) */
    mhv_pretok_kind hand_kind;
    uint32_t *lit;             /* ... or a literal string (n_lit may be 0: no match) */
    size_t n_lit;
    int add_prefix_space, use_regex; /* BYTELEVEL */
    uint32_t rep;              /* METASPACE replacement; P_CHAR delimiter */
    int prepend;               /* METASPACE: 0 never, 1 first, 2 always */
    int split;                 /* METASPACE */
    pred_kind pred;            /* PRED */
} pt_step;

struct mhv_pretokenizer {
    pt_step steps[MAX_STEPS];
    int n;
};

void mhv_words_free(mhv_words *w)
{
    mhv_normtext_free(&w->t);
    free(w->w);
    free(w->start);
    memset(w, 0, sizeof *w);
}

/* Records t[w0, w1) as the next word. */
static int words_bounds(mhv_words *w, size_t w0, size_t w1, int32_t start)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        size_t *b = realloc(w->w, 2 * cap * sizeof *b);
        if (!b)
            return 0;
        w->w = b;
        int32_t *s = realloc(w->start, cap * sizeof *s);
        if (!s)
            return 0;
        w->start = s;
        w->cap = cap;
    }
    w->w[2 * w->n] = w0;
    w->w[2 * w->n + 1] = w1;
    w->start[w->n++] = start;
    return 1;
}

static int words_push(mhv_words *w, const uint32_t *cp, const int32_t *orig, size_t n,
                      int32_t start)
{
    if (n == 0)
        return 1; /* HF drops empty splits */
    if (!mhv_normtext_reserve(&w->t, n))
        return 0;
    memcpy(w->t.cp + w->t.n, cp, n * sizeof *cp);
    memcpy(w->t.orig + w->t.n, orig, n * sizeof *orig);
    w->t.n += n;
    return words_bounds(w, w->t.n - n, w->t.n, start);
}

/* ---- parsing ---- */

static void step_free(pt_step *s)
{
    mhv_regex_free(s->re);
    free(s->lit);
}

void mhv_pretokenizer_free(mhv_pretokenizer *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        step_free(&p->steps[i]);
    free(p);
}

int mhv_pretokenizer_is_bytelevel(const mhv_pretokenizer *p)
{
    for (int i = 0; i < p->n; i++)
        if (p->steps[i].kind == PT_BYTELEVEL)
            return 1;
    return 0;
}

static mhv_status new_step(mhv_pretokenizer *p, pt_kind kind, const char *file, pt_step **s,
                           mhv_error *err)
{
    *s = NULL;
    if (p->n >= MAX_STEPS)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "more than %d pre-tokenizers", MAX_STEPS);
    *s = &p->steps[p->n++];
    memset(*s, 0, sizeof **s);
    (*s)->kind = kind;
    return MHV_OK;
}

static mhv_status one_char(const char *s, const char *file, const char *what, uint32_t *cp,
                           mhv_error *err)
{
    size_t len = strlen(s);
    if (len == 0 || (size_t)mhv_utf8_decode(s, len, cp) != len)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "%s is not one character", what);
    return MHV_OK;
}

static mhv_status regex_step(mhv_pretokenizer *p, const char *pattern, behavior beh, int invert,
                             const char *file, mhv_error *err)
{
    pt_step *s = NULL;
    mhv_status st = new_step(p, PT_SPLIT, file, &s, err);
    if (st)
        return st;
    s->beh = beh;
    s->invert = invert;
    s->hand = mhv_pretok_from_pattern(pattern, &s->hand_kind);
    return s->hand ? MHV_OK : mhv_regex_new(pattern, file, &s->re, err);
}

static mhv_status parse_split(mhv_pretokenizer *p, const cJSON *j, const char *file,
                              mhv_error *err)
{
    int beh, invert;
    mhv_status st;
    if ((st = mhv_json_enum(j, "behavior", behaviors, 5, -1, &beh, file, err)) ||
        (st = mhv_json_bool(j, "invert", 0, &invert, file, err)))
        return st;
    const cJSON *pat = mhv_json_get(j, "pattern");
    const cJSON *rx = mhv_json_get(pat, "Regex"), *str = mhv_json_get(pat, "String");
    if (cJSON_IsString(rx))
        return regex_step(p, rx->valuestring, (behavior)beh, invert, file, err);
    if (!cJSON_IsString(str))
        return mhv_fail(err, MHV_EFORMAT, file, "Split pre-tokenizer has no String or Regex "
                                                "pattern");
    pt_step *s = NULL;
    if ((st = new_step(p, PT_SPLIT, file, &s, err)))
        return st;
    s->beh = (behavior)beh;
    s->invert = invert;
    const char *q = str->valuestring;
    size_t len = strlen(q), k = 0;
    s->lit = malloc((len + 1) * sizeof *s->lit);
    if (!s->lit)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    while (k < len) {
        int w = mhv_utf8_decode(q + k, len - k, &s->lit[s->n_lit]);
        if (w <= 0)
            return mhv_fail(err, MHV_EFORMAT, file, "Split pattern is not UTF-8");
        s->n_lit++;
        k += (size_t)w;
    }
    return MHV_OK;
}

static mhv_status parse_metaspace(mhv_pretokenizer *p, const cJSON *j, const char *file,
                                  mhv_error *err)
{
    pt_step *s = NULL;
    mhv_status st = new_step(p, PT_METASPACE, file, &s, err);
    if (st)
        return st;
    static const char *const schemes[] = {"never", "first", "always"};
    const char *rep;
    int aps, scheme;
    /* files older than tokenizers 0.14 say add_prefix_space instead of prepend_scheme */
    if ((st = mhv_json_str(j, "replacement", "\xe2\x96\x81", &rep, file, err)) ||
        (st = one_char(rep, file, "Metaspace replacement", &s->rep, err)) ||
        (st = mhv_json_bool(j, "split", 1, &s->split, file, err)) ||
        (st = mhv_json_bool(j, "add_prefix_space", 1, &aps, file, err)) ||
        (st = mhv_json_enum(j, "prepend_scheme", schemes, 3, aps ? 2 : 0, &scheme, file, err)))
        return st;
    s->prepend = scheme;
    return MHV_OK;
}

static mhv_status pred_step(mhv_pretokenizer *p, pred_kind pred, behavior beh, uint32_t c,
                            const char *file, mhv_error *err)
{
    pt_step *s = NULL;
    mhv_status st = new_step(p, PT_PRED, file, &s, err);
    if (st)
        return st;
    s->pred = pred;
    s->beh = beh;
    s->rep = c;
    return MHV_OK;
}

static mhv_status add_step(mhv_pretokenizer *p, const cJSON *j, int depth, const char *file,
                           mhv_error *err)
{
    const char *t;
    mhv_status st = mhv_json_str(j, "type", NULL, &t, file, err);
    pt_step *s = NULL;
    if (st)
        return st;
    if (strcmp(t, "Sequence") == 0) {
        const cJSON *l = mhv_json_get(j, "pretokenizers");
        if (!cJSON_IsArray(l))
            return mhv_fail(err, MHV_EFORMAT, file, "'pretokenizers' is not an array");
        if (depth >= MAX_DEPTH)
            return mhv_fail(err, MHV_EUNSUPPORTED, file, "pre-tokenizer sequences nested "
                                                         "deeper than %d", MAX_DEPTH);
        for (const cJSON *x = l->child; x; x = x->next)
            if ((st = add_step(p, x, depth + 1, file, err)))
                return st;
        return MHV_OK;
    }
    if (strcmp(t, "Split") == 0)
        return parse_split(p, j, file, err);
    if (strcmp(t, "Metaspace") == 0)
        return parse_metaspace(p, j, file, err);
    if (strcmp(t, "ByteLevel") == 0) {
        if ((st = new_step(p, PT_BYTELEVEL, file, &s, err)) ||
            (st = mhv_json_bool(j, "add_prefix_space", 1, &s->add_prefix_space, file, err)))
            return st;
        return mhv_json_bool(j, "use_regex", 1, &s->use_regex, file, err);
    }
    if (strcmp(t, "WhitespaceSplit") == 0)
        return pred_step(p, P_SPACE, B_REMOVED, 0, file, err);
    if (strcmp(t, "Whitespace") == 0)
        return regex_step(p, "\\w+|[^\\w\\s]+", B_REMOVED, 1, file, err);
    if (strcmp(t, "BertPreTokenizer") == 0) {
        if ((st = pred_step(p, P_SPACE, B_REMOVED, 0, file, err)))
            return st;
        return pred_step(p, P_PUNCT, B_ISOLATED, 0, file, err);
    }
    if (strcmp(t, "Digits") == 0) {
        int individual;
        if ((st = mhv_json_bool(j, "individual_digits", 0, &individual, file, err)))
            return st;
        return pred_step(p, P_DIGIT, individual ? B_ISOLATED : B_CONTIG, 0, file, err);
    }
    if (strcmp(t, "Punctuation") == 0) {
        int beh;
        if ((st = mhv_json_enum(j, "behavior", behaviors, 5, B_ISOLATED, &beh, file, err)))
            return st;
        return pred_step(p, P_PUNCT, (behavior)beh, 0, file, err);
    }
    if (strcmp(t, "CharDelimiterSplit") == 0) {
        const char *d;
        uint32_t c;
        if ((st = mhv_json_str(j, "delimiter", NULL, &d, file, err)) ||
            (st = one_char(d, file, "CharDelimiterSplit delimiter", &c, err)))
            return st;
        return pred_step(p, P_CHAR, B_REMOVED, c, file, err);
    }
    return mhv_fail(err, MHV_EUNSUPPORTED, file, "unsupported pre-tokenizer '%.60s'", t);
}

mhv_status mhv_pretokenizer_from_json(const cJSON *j, const char *file, mhv_pretokenizer **out,
                                      mhv_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    if (!j || cJSON_IsNull(j))
        return MHV_OK;
    if (!cJSON_IsObject(j))
        return mhv_fail(err, MHV_EFORMAT, file, "'pre_tokenizer' is not an object");
    return add_step(*out, j, 0, file, err);
}

mhv_status mhv_pretokenizer_bytelevel(int qwen2, int add_prefix_space, mhv_pretokenizer **out,
                                      mhv_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    pt_step *s = &(*out)->steps[0];
    s->kind = PT_BYTELEVEL;
    s->add_prefix_space = add_prefix_space;
    s->use_regex = !qwen2;
    (*out)->n = 1;
    if (qwen2) {
        /* Split(Qwen2's pattern) first, then ByteLevel without its own regex */
        (*out)->steps[1] = *s;
        *s = (pt_step){.kind = PT_SPLIT, .beh = B_ISOLATED, .hand = 1,
                       .hand_kind = MHV_PRETOK_QWEN2};
        (*out)->n = 2;
    }
    return MHV_OK;
}

/* ---- applying ---- */

static int pred(const pt_step *s, uint32_t c)
{
    switch (s->pred) {
    case P_SPACE: return mhv_uc_is_whitespace(c);
    case P_DIGIT: return mhv_uc_is_number(c);
    case P_PUNCT: return mhv_uc_is_punctuation(c);
    case P_CHAR: return c == s->rep;
    }
    return 0;
}

/* The matches of a split step in cp (n,), as (start, end) pairs; *r is malloc'd. */
static mhv_status find_matches(const pt_step *s, const uint32_t *cp, size_t n, size_t **r,
                               size_t *count, mhv_error *err)
{
    if (s->re)
        return mhv_regex_find_all(s->re, cp, n, r, count, err);
    *count = 0;
    *r = malloc((2 * n + 2) * sizeof **r);
    if (!*r)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    size_t *m = *r;
    if (s->kind == PT_SPLIT && s->hand) {
        for (size_t i = 0; i < n;) {
            size_t e = mhv_pretok_match(s->hand_kind, cp, n, i);
            m[2 * *count] = i;
            m[2 * *count + 1] = e;
            (*count)++;
            i = e;
        }
    } else if (s->kind == PT_SPLIT) {
        for (size_t i = 0; s->n_lit > 0 && i + s->n_lit <= n;) {
            if (memcmp(cp + i, s->lit, s->n_lit * sizeof *cp) == 0) {
                m[2 * *count] = i;
                m[2 * *count + 1] = i + s->n_lit;
                (*count)++;
                i += s->n_lit;
            } else {
                i++;
            }
        }
    } else {
        for (size_t i = 0; i < n; i++)
            if ((s->kind == PT_METASPACE && cp[i] == s->rep) ||
                (s->kind == PT_PRED && pred(s, cp[i]))) {
                m[2 * *count] = i;
                m[2 * *count + 1] = i + 1;
                (*count)++;
            }
    }
    return MHV_OK;
}

/* NormalizedString::split of cp/orig (n,) by the step's pattern and behavior; the pieces go
 * to out, each starting at its first character's origin. */
static mhv_status split_word(const pt_step *s, behavior beh, const uint32_t *cp,
                             const int32_t *orig, size_t n, mhv_words *out, mhv_error *err)
{
    size_t *m, count;
    mhv_status st = find_matches(s, cp, n, &m, &count, err);
    if (st)
        return st;
    /* (start, end, is_match) over the whole word: the gaps are non-matches */
    size_t *sp = malloc((2 * count + 1) * 3 * sizeof *sp), ns = 0, prev = 0;
    if (!sp) {
        free(m);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    for (size_t k = 0; k < count; k++) {
        if (m[2 * k] != prev) {
            sp[3 * ns] = prev, sp[3 * ns + 1] = m[2 * k], sp[3 * ns + 2] = s->invert;
            ns++;
        }
        sp[3 * ns] = m[2 * k], sp[3 * ns + 1] = m[2 * k + 1], sp[3 * ns + 2] = !s->invert;
        ns++;
        prev = m[2 * k + 1];
    }
    if (prev != n) {
        sp[3 * ns] = prev, sp[3 * ns + 1] = n, sp[3 * ns + 2] = s->invert;
        ns++;
    }
    free(m);
    /* behaviors fold the list into kept pieces kp (start, end) */
    size_t *kp = malloc((ns + 1) * 2 * sizeof *kp), nk = 0;
    if (!kp) {
        free(sp);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    int prev_match = 0;
    if (beh == B_NEXT) {
        /* folded from the right, as HF does, then reversed */
        for (size_t k = ns; k-- > 0;) {
            int is = (int)sp[3 * k + 2];
            if (is && !prev_match && nk > 0)
                kp[2 * (nk - 1)] = sp[3 * k];
            else
                kp[2 * nk] = sp[3 * k], kp[2 * nk + 1] = sp[3 * k + 1], nk++;
            prev_match = is;
        }
        for (size_t a = 0, b = nk; a + 1 < b; a++, b--)
            for (int q = 0; q < 2; q++) {
                size_t t = kp[2 * a + (size_t)q];
                kp[2 * a + (size_t)q] = kp[2 * (b - 1) + (size_t)q];
                kp[2 * (b - 1) + (size_t)q] = t;
            }
    } else {
        for (size_t k = 0; k < ns; k++) {
            size_t a = sp[3 * k], b = sp[3 * k + 1];
            int is = (int)sp[3 * k + 2];
            if (beh == B_REMOVED && is)
                continue;
            if (((beh == B_PREV && is && !prev_match) || (beh == B_CONTIG && is == prev_match)) &&
                nk > 0)
                kp[2 * (nk - 1) + 1] = b;
            else
                kp[2 * nk] = a, kp[2 * nk + 1] = b, nk++;
            prev_match = is;
        }
    }
    free(sp);
    for (size_t k = 0; k < nk && !st; k++) {
        size_t a = kp[2 * k], b = kp[2 * k + 1];
        if (b > a && !words_push(out, cp + a, orig + a, b - a, orig[a]))
            st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    free(kp);
    return st;
}

/* Appends cp/orig [a, e) to out as one word spelled in GPT-2's byte alphabet (every UTF-8
 * byte its character, aligned with the character it belongs to). */
static int push_bytes(mhv_words *out, const uint32_t *cp, const int32_t *orig, size_t a,
                      size_t e, int32_t start)
{
    if (e <= a)
        return 1;
    size_t w0 = out->t.n;
    if (!mhv_normtext_reserve(&out->t, 4 * (e - a)))
        return 0;
    for (size_t i = a; i < e; i++) {
        char u[4];
        int len = mhv_utf8_encode(cp[i], u);
        for (int q = 0; q < len; q++) {
            out->t.cp[out->t.n] = mhv_bytelevel_char((unsigned char)u[q]);
            out->t.orig[out->t.n++] = orig[i];
        }
    }
    return words_bounds(out, w0, out->t.n, start);
}

/* ByteLevel: a prefix space, GPT-2's split (the hand matcher), then the byte alphabet. */
static mhv_status bytelevel_word(const pt_step *s, const uint32_t *cp, const int32_t *orig,
                                 size_t n, int32_t start, mhv_words *out, mhv_error *err)
{
    mhv_normtext w = {0};
    mhv_status st = MHV_OK;
    if (s->add_prefix_space && cp[0] != ' ') {
        if (!mhv_normtext_reserve(&w, n + 1))
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        w.cp[0] = ' ';
        w.orig[0] = orig[0];
        memcpy(w.cp + 1, cp, n * sizeof *cp);
        memcpy(w.orig + 1, orig, n * sizeof *orig);
        w.n = n + 1;
        cp = w.cp;
        orig = w.orig;
        n = w.n;
    }
    if (!s->use_regex) {
        if (!push_bytes(out, cp, orig, 0, n, start))
            st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    } else {
        /* each match is a slice: it starts at its first character's origin */
        for (size_t i = 0; i < n && !st;) {
            size_t e = mhv_pretok_match(MHV_PRETOK_GPT2, cp, n, i);
            if (!push_bytes(out, cp, orig, i, e, orig[i]))
                st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
            i = e;
        }
    }
    mhv_normtext_free(&w);
    return st;
}

/* Metaspace: spaces become the replacement, which is prepended as the scheme says, and the
 * word is cut before each replacement character (MergedWithNext). */
static mhv_status metaspace_word(const pt_step *s, const uint32_t *cp, const int32_t *orig,
                                 size_t n, int32_t start, mhv_words *out, mhv_error *err)
{
    mhv_normtext w = {0};
    mhv_status st = MHV_OK;
    if (!mhv_normtext_reserve(&w, n + 1)) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        goto done;
    }
    if ((s->prepend == 2 || (s->prepend == 1 && start == 0)) && cp[0] != s->rep && cp[0] != ' ') {
        w.cp[w.n] = s->rep;
        w.orig[w.n++] = orig[0];
    }
    for (size_t i = 0; i < n; i++) {
        w.cp[w.n] = cp[i] == ' ' ? s->rep : cp[i];
        w.orig[w.n++] = orig[i];
    }
    if (s->split)
        st = split_word(s, B_NEXT, w.cp, w.orig, w.n, out, err);
    else if (!words_push(out, w.cp, w.orig, w.n, start))
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
done:
    mhv_normtext_free(&w);
    return st;
}

mhv_status mhv_pretokenize(const mhv_pretokenizer *p, mhv_normtext *t, int32_t seg_start,
                           mhv_words *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    mhv_words cur = {0};
    mhv_status st = MHV_OK;
    if (t->n > 0) {
        cur.t = *t;
        memset(t, 0, sizeof *t);
        cur.w = malloc(2 * sizeof *cur.w);
        cur.start = malloc(sizeof *cur.start);
        if (!cur.w || !cur.start) {
            mhv_words_free(&cur);
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        }
        cur.w[0] = 0;
        cur.w[1] = cur.t.n;
        cur.start[0] = seg_start;
        cur.n = cur.cap = 1;
    }
    for (int i = 0; p && i < p->n && !st; i++) {
        const pt_step *s = &p->steps[i];
        mhv_words next = {0};
        for (size_t k = 0; k < cur.n && !st; k++) {
            const uint32_t *cp = cur.t.cp + cur.w[2 * k];
            const int32_t *orig = cur.t.orig + cur.w[2 * k];
            size_t n = cur.w[2 * k + 1] - cur.w[2 * k];
            if (s->kind == PT_BYTELEVEL)
                st = bytelevel_word(s, cp, orig, n, cur.start[k], &next, err);
            else if (s->kind == PT_METASPACE)
                st = metaspace_word(s, cp, orig, n, cur.start[k], &next, err);
            else
                st = split_word(s, s->beh, cp, orig, n, &next, err);
        }
        mhv_words_free(&cur);
        cur = next;
    }
    if (st) {
        mhv_words_free(&cur);
        return st;
    }
    *out = cur;
    return MHV_OK;
}
