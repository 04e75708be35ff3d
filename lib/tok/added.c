/* added.c - added tokens: the two tables (matched in the raw text, or "normalized" ones in the
 * normalized text), kept sorted so a match walks them like a trie, and the split of a text
 * around their matches as Hugging Face's AddedVocabulary does it (leftmost-longest,
 * lstrip / rstrip, single_word). */
#include <stdlib.h>
#include <string.h>

#include "text/unicode.h"
#include "tok/tok_impl.h"

mhv_status tok_add_token(mhv_tok *t, const char *content, int32_t id, int lstrip, int rstrip,
                         int single_word, int normalized, const char *file, mhv_error *err)
{
    size_t len = strlen(content);
    if (len == 0)
        return mhv_fail(err, MHV_EFORMAT, file, "added token %d is empty", (int)id);
    if (!mhv_utf8_valid(content, len, NULL))
        return mhv_fail(err, MHV_EFORMAT, file, "added token %d is not valid UTF-8", (int)id);
    if (id < 0 || id >= mhv_vocab_size(t->vocab))
        return mhv_fail(err, MHV_EUNSUPPORTED, file,
                        "added token '%.60s' has id %d outside the model vocabulary", content,
                        (int)id);
    added_token **tab = normalized ? &t->nadded : &t->added;
    int *n = normalized ? &t->n_nadded : &t->n_added;
    added_token *a = realloc(*tab, ((size_t)*n + 1) * sizeof *a);
    if (!a)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    *tab = a;
    a = &a[*n];
    a->content = strdup(content);
    if (!a->content)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    a->len = len;
    a->id = id;
    a->lstrip = lstrip;
    a->rstrip = rstrip;
    a->single_word = single_word;
    (*n)++;
    return MHV_OK;
}

/* Orders the added tokens by content bytes, a prefix before its extensions, and equal
 * contents in file order (the first one wins a match, as before sorting), for match_added. */
static int added_cmp(const void *x, const void *y, void *arg)
{
    const added_token *all = arg;
    int a = *(const int *)x, b = *(const int *)y;
    size_t la = all[a].len, lb = all[b].len;
    int c = memcmp(all[a].content, all[b].content, la < lb ? la : lb);
    if (c)
        return c;
    if (la != lb)
        return la < lb ? -1 : 1;
    return a < b ? -1 : a > b;
}

static mhv_status sort_table(added_token **tab, int count, const char *file, mhv_error *err)
{
    if (count < 2)
        return MHV_OK;
    size_t n = (size_t)count;
    int *order = malloc(n * sizeof *order);
    added_token *sorted = malloc(n * sizeof *sorted);
    if (!order || !sorted) {
        free(order);
        free(sorted);
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (int)i;
    qsort_r(order, n, sizeof *order, added_cmp, *tab);
    for (size_t i = 0; i < n; i++)
        sorted[i] = (*tab)[order[i]];
    free(*tab);
    free(order);
    *tab = sorted;
    return MHV_OK;
}

/* A normalized token is matched by its normalized content (HF normalizes it too); one the
 * normalizer empties can never match and is dropped. */
static mhv_status normalize_contents(mhv_tok *t, const char *file, mhv_error *err)
{
    int w = 0;
    for (int i = 0; i < t->n_nadded; i++) {
        added_token *a = &t->nadded[i];
        uint32_t *cp = malloc((a->len + 1) * sizeof *cp);
        mhv_normtext nt = {0};
        size_t n = 0;
        if (!cp)
            return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
        for (size_t k = 0; k < a->len;) {
            int b = mhv_utf8_decode(a->content + k, a->len - k, &cp[n++]);
            k += b > 0 ? (size_t)b : 1;
        }
        mhv_status st = tok_normalize(t, cp, n, 0, &nt, err);
        free(cp);
        char *s = st ? NULL : malloc(4 * nt.n + 1);
        if (!st && !s)
            st = mhv_fail(err, MHV_ENOMEM, file, "out of memory");
        if (st) { /* keep every content owned once for mhv_tok_close */
            mhv_normtext_free(&nt);
            for (int k = i; k < t->n_nadded; k++)
                t->nadded[w++] = t->nadded[k];
            t->n_nadded = w;
            return st;
        }
        size_t len = 0;
        for (size_t k = 0; k < nt.n; k++)
            len += (size_t)mhv_utf8_encode(nt.cp[k], s + len);
        s[len] = '\0';
        mhv_normtext_free(&nt);
        free(a->content);
        if (len == 0) {
            free(s);
            continue;
        }
        a->content = s;
        a->len = len;
        t->nadded[w++] = *a;
    }
    t->n_nadded = w;
    return MHV_OK;
}

mhv_status tok_sort_added(mhv_tok *t, const char *file, mhv_error *err)
{
    mhv_status st = normalize_contents(t, file, err);
    if (!st)
        st = sort_table(&t->added, t->n_added, file, err);
    if (!st)
        st = sort_table(&t->nadded, t->n_nadded, file, err);
    return st;
}

/* Leftmost-longest match of an entry of tab (n_tab,) at character i; its index or -1. */
static int match_added(const added_token *tab, int n_tab, const tok_view *v, size_t i,
                       size_t *end_char)
{
    /* tab is sorted (tok_sort_added): the tokens that start with the text's next k bytes are
     * one run [lo, hi), its shortest member first, so the match walks the text narrowing the
     * run like a trie instead of comparing every added token at every character */
    const unsigned char *s = v->bytes + v->boff[i];
    size_t len = v->boff[v->n] - v->boff[i], best_len = 0;
    int best = -1, lo = 0, hi = n_tab;
    for (size_t k = 0;; k++) {
        if (lo < hi && tab[lo].len == k) {
            if (k > 0) {
                best = lo; /* the whole token matched; a longer one may still */
                best_len = k;
            }
            while (lo < hi && tab[lo].len == k)
                lo++;
        }
        if (lo >= hi || k >= len)
            break;
        /* every token in [lo, hi) is longer than k: keep those whose byte k is s[k] */
        int a = lo, z = hi;
        while (a < z) {
            int m = a + (z - a) / 2;
            if ((unsigned char)tab[m].content[k] < s[k])
                a = m + 1;
            else
                z = m;
        }
        lo = a;
        z = hi;
        while (a < z) {
            int m = a + (z - a) / 2;
            if ((unsigned char)tab[m].content[k] <= s[k])
                a = m + 1;
            else
                z = m;
        }
        hi = a;
    }
    if (best >= 0) {
        size_t j = i;
        while (v->boff[j] < v->boff[i] + best_len)
            j++;
        *end_char = j;
    }
    return best;
}

/* HF's single_word test: a word character is alphanumeric or '_'. */
static int word_char(uint32_t c)
{
    return c == '_' || mhv_uc_is_letter(c) || mhv_uc_is_number(c);
}

/* What lies between two added tokens, characters [a, b) of the view; split says whether a
 * token cut the text. */
/* HF AddedVocabulary::split_with_indices: the matches of tab in v become their tokens
 * (lstrip / rstrip swallow the whitespace next to them, a single_word token must not touch a
 * word character), and what lies between goes to piece(). */
mhv_status tok_split_added(const mhv_tok *tok, const added_token *tab, int n_tab,
                           const tok_view *v, tok_piece_fn piece, void *ctx, mhv_toklist *out,
                           mhv_error *err)
{
    mhv_status st = MHV_OK;
    size_t seg = 0, i = 0;
    int split = 0;
    while (i < v->n && !st && n_tab > 0) {
        size_t end;
        int k = match_added(tab, n_tab, v, i, &end);
        if (k < 0) {
            i++;
            continue;
        }
        if (tab[k].single_word && ((i > 0 && word_char(v->cp[i - 1])) ||
                                   (end < v->n && word_char(v->cp[end])))) {
            i = end; /* matches do not overlap: the next one starts after this one */
            continue;
        }
        size_t s = i;
        if (tab[k].lstrip)
            while (s > seg && mhv_uc_is_whitespace(v->cp[s - 1]))
                s--;
        if (tab[k].rstrip)
            while (end < v->n && mhv_uc_is_whitespace(v->cp[end]))
                end++;
        if (s > seg)
            st = piece(tok, ctx, seg, s, 1, out, err);
        int32_t a = v->orig ? v->orig[s] : (int32_t)s;
        int32_t e = v->orig ? v->orig[end - 1] + 1 : (int32_t)end;
        if (!st)
            st = mhv_toklist_push(out, tab[k].id, a, e < a ? a : e, err);
        seg = i = end;
        split = 1;
    }
    if (!st && seg < v->n)
        st = piece(tok, ctx, seg, v->n, split, out, err);
    return st;
}
