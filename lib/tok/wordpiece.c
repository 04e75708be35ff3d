/* wordpiece.c - BertNormalizer, BertPreTokenizer and WordPiece as Hugging Face tokenizers
 * implements them (tokenizers/src/{normalizers/bert.rs,pre_tokenizers/bert.rs,
 * models/wordpiece/mod.rs}). */
#include "tok/wordpiece.h"

#include <stdlib.h>
#include <string.h>

#include "text/unicode.h"

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    size_t c = *cap ? *cap : 64;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return 0;
        c *= 2;
    }
    size_t bytes;
    if (__builtin_mul_overflow(c, elem, &bytes))
        return 0;
    void *q = realloc(*p, bytes);
    if (!q)
        return 0;
    *p = q;
    *cap = c;
    return 1;
}

void mhv_normtext_free(mhv_normtext *t)
{
    free(t->cp);
    free(t->orig);
    memset(t, 0, sizeof *t);
}

void mhv_toklist_free(mhv_toklist *l)
{
    free(l->ids);
    free(l->spans);
    memset(l, 0, sizeof *l);
}

mhv_status mhv_toklist_push(mhv_toklist *l, int32_t id, int32_t start, int32_t end,
                            mhv_error *err)
{
    if (l->n == l->cap) {
        size_t c1 = l->cap, c2 = l->cap;
        if (!grow((void **)&l->ids, &c1, l->n + 1, sizeof *l->ids) ||
            !grow((void **)&l->spans, &c2, l->n + 1, 2 * sizeof *l->spans))
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        l->cap = c1 < c2 ? c1 : c2;
    }
    l->ids[l->n] = id;
    l->spans[2 * l->n] = start;
    l->spans[2 * l->n + 1] = end;
    l->n++;
    return MHV_OK;
}

static int norm_push(mhv_normtext *t, uint32_t cp, int32_t orig)
{
    if (t->n == t->cap) {
        size_t c1 = t->cap, c2 = t->cap;
        if (!grow((void **)&t->cp, &c1, t->n + 1, sizeof *t->cp) ||
            !grow((void **)&t->orig, &c2, t->n + 1, sizeof *t->orig))
            return 0;
        t->cap = c1 < c2 ? c1 : c2;
    }
    t->cp[t->n] = cp;
    t->orig[t->n] = orig;
    t->n++;
    return 1;
}

static int push_lower(const mhv_bert_norm *nm, uint32_t c, int32_t orig, mhv_normtext *out)
{
    uint32_t lo[MHV_UC_MAX_EXPANSION];
    int nl = 1;
    lo[0] = c;
    if (nm->lowercase)
        nl = mhv_uc_to_lower(c, lo);
    for (int j = 0; j < nl; j++)
        if (!norm_push(out, lo[j], orig))
            return 0;
    return 1;
}

/* NFD's canonical reordering: each run of non-starters is sorted by combining class (stable;
 * insertion sort, runs are a few marks long). t->orig moves with its code point. */
static void canonical_reorder(mhv_normtext *t)
{
    size_t i = 0;
    while (i < t->n) {
        if (mhv_uc_ccc(t->cp[i]) == 0) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < t->n && mhv_uc_ccc(t->cp[j]) != 0)
            j++;
        for (size_t k = i + 1; k < j; k++) {
            uint32_t c = t->cp[k];
            int32_t o = t->orig[k];
            int cc = mhv_uc_ccc(c);
            size_t m = k;
            while (m > i && mhv_uc_ccc(t->cp[m - 1]) > cc) {
                t->cp[m] = t->cp[m - 1];
                t->orig[m] = t->orig[m - 1];
                m--;
            }
            t->cp[m] = c;
            t->orig[m] = o;
        }
        i = j;
    }
}

/* HF's NFD alignments: the first code point of each decomposition "consumes" the next
 * character of the text before NFD, the others are insertions sharing the previous output's
 * span; reordering moves those roles with the code points. On entry t->orig holds the
 * character's index for a consumer and -1 for an insertion; on exit, real indices. */
static int nfd_alignments(mhv_normtext *t)
{
    size_t nc = 0;
    for (size_t i = 0; i < t->n; i++)
        nc += t->orig[i] >= 0;
    int32_t *cons = malloc((nc ? nc : 1) * sizeof *cons); /* (nc,) in text order */
    if (!cons)
        return 0;
    nc = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->orig[i] >= 0)
            cons[nc++] = t->orig[i];
    canonical_reorder(t);
    size_t k = 0;
    int32_t prev = -1;
    for (size_t i = 0; i < t->n; i++) {
        if (t->orig[i] >= 0 || prev < 0)
            prev = cons[k < nc ? (t->orig[i] >= 0 ? k++ : k) : nc - 1];
        t->orig[i] = prev;
    }
    free(cons);
    return 1;
}

/* clean_text and handle_chinese_chars, then the decomposition when stripping accents. */
static int norm_head(const mhv_bert_norm *nm, uint32_t c, int32_t orig, mhv_normtext *out)
{
    uint32_t d[MHV_UC_MAX_EXPANSION];
    int nd = 1;
    d[0] = c;
    if (nm->strip_accents)
        nd = mhv_uc_decompose(c, d);
    for (int i = 0; i < nd; i++)
        if (!(nm->strip_accents ? norm_push(out, d[i], i == 0 ? orig : -1)
                                : push_lower(nm, d[i], orig, out)))
            return 0;
    return 1;
}

mhv_status mhv_bert_normalize(const mhv_bert_norm *nm, const uint32_t *cps, size_t n,
                              int32_t orig_base, mhv_normtext *out, mhv_error *err)
{
    /* Stripping needs the whole decomposed text before marks go (reordering crosses
     * characters), so it goes through tmp; otherwise straight to out. */
    mhv_normtext tmp = {0};
    mhv_normtext *dst = nm->strip_accents ? &tmp : out;
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        uint32_t c = cps[i];
        int32_t orig = orig_base + (int32_t)i;
        if (nm->clean_text) {
            if (c == 0 || c == 0xFFFD || mhv_uc_is_control(c))
                continue;
            if (mhv_uc_is_whitespace(c))
                c = ' ';
        }
        if (nm->handle_chinese_chars && mhv_uc_is_chinese_char(c))
            ok = norm_push(dst, ' ', orig) && norm_head(nm, c, orig, dst) &&
                 norm_push(dst, ' ', orig);
        else
            ok = norm_head(nm, c, orig, dst);
    }
    if (ok && nm->strip_accents && (ok = nfd_alignments(&tmp))) {
        for (size_t i = 0; i < tmp.n && ok; i++)
            if (!mhv_uc_is_nonspacing_mark(tmp.cp[i]))
                ok = push_lower(nm, tmp.cp[i], tmp.orig[i], out);
    }
    mhv_normtext_free(&tmp);
    if (!ok)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    return MHV_OK;
}

void mhv_wordpiece_init(mhv_wordpiece *wp, const mhv_vocab *vocab, const char *prefix,
                        size_t max_word_chars, int32_t unk_id)
{
    memset(wp, 0, sizeof *wp);
    wp->vocab = vocab;
    wp->prefix_len = strlen(prefix);
    if (wp->prefix_len >= sizeof wp->prefix)
        wp->prefix_len = sizeof wp->prefix - 1;
    memcpy(wp->prefix, prefix, wp->prefix_len);
    wp->max_word_chars = max_word_chars;
    wp->unk_id = unk_id;
    wp->n_model = mhv_vocab_size(vocab);
    for (int32_t i = 0; i < mhv_vocab_size(vocab); i++) {
        size_t l = strlen(mhv_vocab_piece(vocab, i));
        if (l > wp->max_piece_bytes)
            wp->max_piece_bytes = l;
    }
}

static int is_bert_punct(uint32_t c)
{
    return mhv_uc_is_punctuation(c);
}

typedef struct {
    char *buf;        /* (cap,) prefix + UTF-8 of the word */
    size_t cap;
    size_t *boff;     /* (n_chars + 1,) byte offset of each char after the prefix */
    size_t boff_cap;
} wp_scratch;

/* One word: normalised code points t->cp[a..b). HF: a word longer than max_word_chars, or
 * one some position of which no vocabulary entry covers, is a single unk token. */
static mhv_status encode_word(const mhv_wordpiece *wp, const mhv_normtext *t, size_t a,
                              size_t b, wp_scratch *s, mhv_toklist *out, mhv_error *err)
{
    size_t nch = b - a;
    int32_t span0 = t->orig[a], span1 = t->orig[b - 1] + 1;
    if (nch > wp->max_word_chars)
        return mhv_toklist_push(out, wp->unk_id, span0, span1, err);
    size_t need;
    if (__builtin_mul_overflow(nch, 4, &need) || __builtin_add_overflow(need, wp->prefix_len, &need) ||
        !grow((void **)&s->buf, &s->cap, need, 1) ||
        !grow((void **)&s->boff, &s->boff_cap, nch + 1, sizeof *s->boff))
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    char *w = s->buf + wp->prefix_len;
    memcpy(s->buf, wp->prefix, wp->prefix_len);
    size_t nb = 0;
    for (size_t i = 0; i < nch; i++) {
        s->boff[i] = nb;
        nb += (size_t)mhv_utf8_encode(t->cp[a + i], w + nb);
    }
    s->boff[nch] = nb;

    size_t first = out->n, start = 0;
    while (start < nch) {
        int32_t id = -1;
        /* a character is at least one byte, so no piece spans more than max_piece_bytes
         * characters: starting there keeps a long word (max_input_chars_per_word is the
         * file's to set) linear instead of quadratic */
        size_t end = nch - start > wp->max_piece_bytes ? start + wp->max_piece_bytes : nch;
        for (; end > start; end--) {
            size_t len = s->boff[end] - s->boff[start];
            const char *p = w + s->boff[start];
            if (start > 0) {
                /* the prefix sits right before the word; copy it next to this piece */
                p -= wp->prefix_len;
                len += wp->prefix_len;
            }
            if (len > wp->max_piece_bytes)
                continue; /* cannot be in the vocabulary: saves the hashing */
            if (start > 0)
                memcpy((char *)p, wp->prefix, wp->prefix_len);
            id = mhv_vocab_lookup(wp->vocab, p, len);
            if (id >= wp->n_model)
                id = -1;
            if (id >= 0)
                break;
        }
        if (id < 0) {
            out->n = first;
            return mhv_toklist_push(out, wp->unk_id, span0, span1, err);
        }
        mhv_status st = mhv_toklist_push(out, id, t->orig[a + start], t->orig[a + end - 1] + 1, err);
        if (st)
            return st;
        start = end;
    }
    return MHV_OK;
}

mhv_status mhv_wordpiece_encode(const mhv_wordpiece *wp, const mhv_normtext *t,
                                mhv_toklist *out, mhv_error *err)
{
    wp_scratch s = {0};
    mhv_status st = MHV_OK;
    size_t i = 0;
    while (i < t->n && st == MHV_OK) {
        uint32_t c = t->cp[i];
        if (mhv_uc_is_whitespace(c)) {
            i++;
            continue;
        }
        size_t j = i + 1;
        if (!is_bert_punct(c))
            while (j < t->n && !mhv_uc_is_whitespace(t->cp[j]) && !is_bert_punct(t->cp[j]))
                j++;
        st = encode_word(wp, t, i, j, &s, out, err);
        i = j;
    }
    free(s.buf);
    free(s.boff);
    return st;
}
