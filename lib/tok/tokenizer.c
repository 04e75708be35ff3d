/* tokenizer.c - the tokenizer handle and encoding: added tokens matched in the raw text, the
 * segments between them through WordPiece (wordpiece.c) or a BPE / Unigram pipeline
 * (pipeline.c), then the post-processor's template. Loading is tok_json.c (tokenizer.json)
 * and tok_files.c (vocab.txt, vocab.json + merges.txt); token display text is token_text.c.
 *
 * Sentence limits: mhv_tok_encode accepts any bytes without crashing, but only valid UTF-8
 * without NUL and at most MHV_TOK_MAX_INPUT bytes is encoded; anything else is MHV_EINPUT or
 * MHV_EUSAGE. tokenizer.json's "truncation" and "padding" are ignored on purpose: the caller
 * decides how long a sequence the model takes. */
#include "tok/tokenizer.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/fileio.h"
#include "base/json.h"
#include "text/unicode.h"
#include "tok/tok_impl.h"
#include "tok/vocab.h"
#include "tok/wordpiece.h"

/* ---- building a handle (shared by the loaders) ---- */

const char *tok_token_string(const cJSON *obj, const char *key, const char *dflt)
{
    const cJSON *x = mhv_json_get(obj, key);
    if (cJSON_IsObject(x))
        x = mhv_json_get(x, "content");
    return cJSON_IsString(x) ? x->valuestring : dflt;
}

void tok_mark_special(mhv_tok *t, int32_t id)
{
    if (id >= 0 && id < mhv_vocab_size(t->vocab))
        t->special[id] = 1;
}

mhv_status tok_alloc_special(mhv_tok *t, const char *file, mhv_error *err)
{
    t->special = calloc((size_t)mhv_vocab_size(t->vocab), 1);
    return t->special ? MHV_OK : mhv_fail(err, MHV_ENOMEM, file, "out of memory");
}

mhv_status tok_add_token(mhv_tok *t, const char *content, int32_t id, int lstrip,
                            int rstrip, const char *file, mhv_error *err)
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
    added_token *a = realloc(t->added, ((size_t)t->n_added + 1) * sizeof *a);
    if (!a)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    t->added = a;
    a = &t->added[t->n_added];
    a->content = strdup(content);
    if (!a->content)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    a->len = len;
    a->id = id;
    a->lstrip = lstrip;
    a->rstrip = rstrip;
    t->n_added++;
    return MHV_OK;
}

mhv_status tok_new(mhv_tok **out, const char *file, mhv_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    (*out)->kind = MHV_TOK_WORDPIECE;
    return MHV_OK;
}

mhv_status tok_finish_wordpiece(mhv_tok *t, const char *unk, const char *prefix,
                                size_t max_chars, const char *file, mhv_error *err)
{
    int32_t unk_id = mhv_vocab_lookup(t->vocab, unk, strlen(unk));
    if (unk_id < 0)
        return mhv_fail(err, MHV_EFORMAT, file, "unknown token '%.60s' is not in the vocabulary",
                        unk);
    if (strlen(prefix) >= sizeof t->wp.prefix)
        return mhv_fail(err, MHV_EFORMAT, file, "continuing_subword_prefix is too long");
    mhv_wordpiece_init(&t->wp, t->vocab, prefix, max_chars, unk_id);
    mhv_status st = tok_alloc_special(t, file, err);
    if (!st)
        tok_mark_special(t, unk_id);
    return st;
}


mhv_status tok_template_add(mhv_tok *t, tok_template *tp, int32_t id, int seq, int type_id,
                            const char *file, mhv_error *err)
{
    if (seq < 0 && (id < 0 || id >= mhv_vocab_size(t->vocab)))
        return mhv_fail(err, MHV_EFORMAT, file, "post-processor token id %lld out of range",
                        (long long)id);
    int specials = 0;
    for (int i = 0; i < tp->n; i++)
        specials += tp->item[i].seq < 0;
    if ((seq < 0 && specials >= 2 * MHV_TOK_MAX_SPECIAL) ||
        tp->n >= (int)(sizeof tp->item / sizeof tp->item[0]))
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "post-processor adds too many tokens");
    tp->item[tp->n].id = id;
    tp->item[tp->n].seq = seq;
    tp->item[tp->n++].type_id = type_id;
    if (seq < 0)
        tok_mark_special(t, id);
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

mhv_status tok_sort_added(mhv_tok *t, const char *file, mhv_error *err)
{
    if (t->n_added < 2)
        return MHV_OK;
    size_t n = (size_t)t->n_added;
    int *order = malloc(n * sizeof *order);
    added_token *sorted = malloc(n * sizeof *sorted);
    if (!order || !sorted) {
        free(order);
        free(sorted);
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (int)i;
    qsort_r(order, n, sizeof *order, added_cmp, t->added);
    for (size_t i = 0; i < n; i++)
        sorted[i] = t->added[order[i]];
    free(t->added);
    free(order);
    t->added = sorted;
    return MHV_OK;
}

mhv_status mhv_tok_open_files(const char *tokenizer_json, const char *vocab_txt,
                              const char *tokenizer_config, mhv_tok **out, mhv_error *err)
{
    *out = NULL;
    if (!tokenizer_json && !vocab_txt)
        return mhv_fail(err, MHV_EUSAGE, "", "no tokenizer.json or vocab.txt given");
    mhv_tok *t;
    mhv_status st = tok_new(&t, tokenizer_json ? tokenizer_json : vocab_txt, err);
    if (st)
        return st;
    st = tokenizer_json ? tok_load_json(t, tokenizer_json, err)
                        : tok_load_vocab_txt(t, vocab_txt, tokenizer_config, err);
    if (!st)
        st = tok_sort_added(t, tokenizer_json ? tokenizer_json : vocab_txt, err);
    if (st) {
        mhv_tok_close(t);
        return st;
    }
    *out = t;
    return MHV_OK;
}


mhv_status mhv_tok_open_bpe_files(const char *vocab_json, const char *merges_txt,
                                  const char *tokenizer_config, const char *special_tokens_map,
                                  mhv_tok **out, mhv_error *err)
{
    *out = NULL;
    mhv_tok *t;
    mhv_status st = tok_new(&t, vocab_json, err);
    if (st)
        return st;
    if ((st = tok_load_bpe_files(t, vocab_json, merges_txt, tokenizer_config, special_tokens_map,
                             err)) ||
        (st = tok_sort_added(t, vocab_json, err))) {
        mhv_tok_close(t);
        return st;
    }
    *out = t;
    return MHV_OK;
}

mhv_status mhv_tok_open_dir(const char *dir, mhv_tok **out, mhv_error *err)
{
    *out = NULL;
    char tj[4096], vt[4096], tc[4096];
    if ((size_t)snprintf(tj, sizeof tj, "%s/tokenizer.json", dir) >= sizeof tj ||
        (size_t)snprintf(vt, sizeof vt, "%s/vocab.txt", dir) >= sizeof vt ||
        (size_t)snprintf(tc, sizeof tc, "%s/tokenizer_config.json", dir) >= sizeof tc)
        return mhv_fail(err, MHV_EUSAGE, dir, "path too long");
    if (mhv_path_exists(tj))
        return mhv_tok_open_files(tj, NULL, NULL, out, err);
    if (mhv_path_exists(vt))
        return mhv_tok_open_files(NULL, vt, mhv_path_exists(tc) ? tc : NULL, out, err);
    char vj[4096], mt[4096], sm[4096];
    if ((size_t)snprintf(vj, sizeof vj, "%s/vocab.json", dir) >= sizeof vj ||
        (size_t)snprintf(mt, sizeof mt, "%s/merges.txt", dir) >= sizeof mt ||
        (size_t)snprintf(sm, sizeof sm, "%s/special_tokens_map.json", dir) >= sizeof sm)
        return mhv_fail(err, MHV_EUSAGE, dir, "path too long");
    if (mhv_path_exists(vj) && mhv_path_exists(mt))
        return mhv_tok_open_bpe_files(vj, mt, mhv_path_exists(tc) ? tc : NULL,
                                      mhv_path_exists(sm) ? sm : NULL, out, err);
    return mhv_fail(err, MHV_EIO, dir,
                    "no tokenizer.json, vocab.txt or vocab.json + merges.txt in the directory");
}

void mhv_tok_close(mhv_tok *tok)
{
    if (!tok)
        return;
    for (int i = 0; i < tok->n_added; i++)
        free(tok->added[i].content);
    free(tok->added);
    free(tok->special);
    mhv_pipeline_free(tok->pipe);
    mhv_vocab_free(tok->vocab);
    free(tok);
}

mhv_tok_kind mhv_tok_kind_of(const mhv_tok *tok)
{
    return tok->kind;
}

int mhv_tok_vocab_size(const mhv_tok *tok)
{
    return mhv_vocab_size(tok->vocab);
}

const mhv_bert_norm *mhv_tok_bert_norm(const mhv_tok *tok)
{
    return &tok->norm;
}

const char *mhv_tok_piece(const mhv_tok *tok, int32_t id)
{
    return mhv_vocab_piece(tok->vocab, id);
}

int32_t mhv_tok_lookup(const mhv_tok *tok, const char *piece, size_t len)
{
    return mhv_vocab_lookup(tok->vocab, piece, len);
}

const char *mhv_tok_warning(const mhv_tok *tok)
{
    return tok->warning[0] ? tok->warning : NULL;
}

int mhv_tok_is_special(const mhv_tok *tok, int32_t id)
{
    return id >= 0 && id < mhv_vocab_size(tok->vocab) && tok->special[id];
}

/* ---- encoding ---- */

/* Decoded input: code points and the byte offset of each (n + 1 entries). */
typedef struct {
    uint32_t *cp;  /* (n,) */
    size_t *boff;  /* (n + 1,) */
    size_t n;
} decoded;

static mhv_status decode_input(const char *text, size_t len, decoded *d, mhv_error *err)
{
    memset(d, 0, sizeof *d);
    if (len > MHV_TOK_MAX_INPUT)
        return mhv_fail(err, MHV_EUSAGE, "", "sentence longer than %u MiB",
                        MHV_TOK_MAX_INPUT >> 20);
    if (len && !text)
        return mhv_fail(err, MHV_EUSAGE, "", "no text given");
    d->cp = malloc((len + 1) * sizeof *d->cp);
    d->boff = malloc((len + 1) * sizeof *d->boff);
    if (!d->cp || !d->boff)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    size_t i = 0;
    while (i < len) {
        uint32_t c;
        int k = mhv_utf8_decode(text + i, len - i, &c);
        if (k == 0)
            return mhv_fail(err, MHV_EINPUT, "", "invalid UTF-8 at byte %zu", i);
        if (c == 0)
            return mhv_fail(err, MHV_EINPUT, "", "NUL byte at byte %zu", i);
        d->boff[d->n] = i;
        d->cp[d->n++] = c;
        i += (size_t)k;
    }
    d->boff[d->n] = len;
    return MHV_OK;
}

static void decoded_free(decoded *d)
{
    free(d->cp);
    free(d->boff);
}

/* Leftmost-longest match of an added token at character i; returns its index or -1. */
static int match_added(const mhv_tok *tok, const char *text, const decoded *d, size_t i,
                       size_t *end_char)
{
    /* tok->added is sorted (sort_added): the tokens that start with the text's next k bytes
     * are one run [lo, hi), its shortest member first, so the match walks the text narrowing
     * the run like a trie instead of comparing every added token at every character */
    const unsigned char *s = (const unsigned char *)text + d->boff[i];
    size_t len = d->boff[d->n] - d->boff[i], best_len = 0;
    int best = -1, lo = 0, hi = tok->n_added;
    for (size_t k = 0;; k++) {
        if (lo < hi && tok->added[lo].len == k) {
            if (k > 0) {
                best = lo; /* the whole token matched; a longer one may still */
                best_len = k;
            }
            while (lo < hi && tok->added[lo].len == k)
                lo++;
        }
        if (lo >= hi || k >= len)
            break;
        /* every token in [lo, hi) is longer than k: keep those whose byte k is s[k] */
        int a = lo, z = hi;
        while (a < z) {
            int m = a + (z - a) / 2;
            if ((unsigned char)tok->added[m].content[k] < s[k])
                a = m + 1;
            else
                z = m;
        }
        lo = a;
        z = hi;
        while (a < z) {
            int m = a + (z - a) / 2;
            if ((unsigned char)tok->added[m].content[k] <= s[k])
                a = m + 1;
            else
                z = m;
        }
        hi = a;
    }
    if (best >= 0) {
        size_t j = i;
        while (d->boff[j] < d->boff[i] + best_len)
            j++;
        *end_char = j;
    }
    return best;
}

static mhv_status encode_segment(const mhv_tok *tok, const decoded *d, size_t a, size_t b,
                                 mhv_toklist *out, mhv_error *err)
{
    if (a >= b)
        return MHV_OK;
    if (tok->pipe)
        return mhv_pipeline_encode(tok->pipe, d->cp + a, b - a, (int32_t)a, out, err);
    mhv_normtext nt = {0};
    mhv_status st = mhv_bert_normalize(&tok->norm, d->cp + a, b - a, (int32_t)a, &nt, err);
    if (!st)
        st = mhv_wordpiece_encode(&tok->wp, &nt, out, err);
    mhv_normtext_free(&nt);
    return st;
}

static mhv_status encode_text(const mhv_tok *tok, const char *text, const decoded *d,
                              mhv_toklist *out, mhv_error *err)
{
    mhv_status st = MHV_OK;
    size_t seg = 0, i = 0;
    while (i < d->n && !st) {
        size_t end;
        int k = match_added(tok, text, d, i, &end);
        if (k < 0) {
            i++;
            continue;
        }
        /* lstrip/rstrip: the token swallows the whitespace next to it */
        size_t s = i;
        if (tok->added[k].lstrip)
            while (s > seg && mhv_uc_is_whitespace(d->cp[s - 1]))
                s--;
        if (tok->added[k].rstrip)
            while (end < d->n && mhv_uc_is_whitespace(d->cp[end]))
                end++;
        st = encode_segment(tok, d, seg, s, out, err);
        if (!st)
            st = mhv_toklist_push(out, tok->added[k].id, (int32_t)s, (int32_t)end, err);
        seg = i = end;
    }
    if (!st)
        st = encode_segment(tok, d, seg, d->n, out, err);
    return st;
}

static mhv_status to_encoding(const mhv_tok *tok, const mhv_toklist *l, mhv_encoding *out,
                              mhv_error *err)
{
    if (l->n > INT_MAX)
        return mhv_fail(err, MHV_EUSAGE, "", "too many tokens");
    size_t n = l->n ? l->n : 1;
    out->ids = malloc(n * sizeof *out->ids);
    out->spans = malloc(2 * n * sizeof *out->spans);
    out->pieces = calloc(n, sizeof *out->pieces);
    if (!out->ids || !out->spans || !out->pieces)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    out->n = (int)l->n;
    for (size_t i = 0; i < l->n; i++) {
        out->ids[i] = l->ids[i];
        out->spans[2 * i] = l->spans[2 * i];
        out->spans[2 * i + 1] = l->spans[2 * i + 1];
        out->pieces[i] = strdup(mhv_vocab_piece(tok->vocab, l->ids[i]));
        if (!out->pieces[i])
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    return MHV_OK;
}

/* Every encode shares this ending: on failure the half-built encoding is released. */
static mhv_status finish_encode(const mhv_tok *tok, mhv_status st, mhv_toklist *l,
                                mhv_encoding *out, mhv_error *err)
{
    if (!st)
        st = to_encoding(tok, l, out, err);
    mhv_toklist_free(l);
    if (st)
        mhv_encoding_free(out);
    return st;
}

/* Leading / trailing "Ġ" (a space byte) of a byte-level piece. */
static void count_spaces(const char *p, size_t *lead, size_t *trail)
{
    size_t len = strlen(p), n = 0, k = 0;
    *lead = *trail = 0;
    int in_lead = 1;
    while (k < len) {
        uint32_t c = 0;
        int w = mhv_utf8_decode(p + k, len - k, &c);
        if (w == 0)
            break;
        int sp = c == 0x120 || mhv_uc_is_whitespace(c);
        if (in_lead && sp)
            (*lead)++;
        else
            in_lead = 0;
        n = sp ? n + 1 : 0;
        k += (size_t)w;
    }
    *trail = n;
}

/* HF ByteLevel::process_offsets: spans leave out the spaces a token starts or ends with. */
static void trim_offsets(const mhv_tok *tok, mhv_toklist *l, size_t first, size_t end)
{
    for (size_t i = first; i < end; i++) {
        int32_t *s = &l->spans[2 * i];
        if (s[0] < 0)
            continue;
        size_t lead, trail;
        count_spaces(mhv_vocab_piece(tok->vocab, l->ids[i]), &lead, &trail);
        if (lead > 0) {
            if ((i == first || s[0] == 0) && tok->trim_prefix_space && lead == 1)
                lead = 0;
            s[0] = s[0] + (int32_t)lead < s[1] ? s[0] + (int32_t)lead : s[1];
        }
        if (trail > 0 && s[1] >= (int32_t)trail)
            s[1] = s[1] - (int32_t)trail > s[0] ? s[1] - (int32_t)trail : s[0];
    }
}

/* The post-processor's template around the sequences (text[1] is NULL for one sentence);
 * types (may be NULL) gets each token's type id, *boundary the first token of the second
 * sequence's part of the template. Spans of the second sentence count its own characters. */
static mhv_status encode_template(const mhv_tok *tok, const tok_template *tp,
                                  const char *const text[2], const size_t len[2],
                                  mhv_encoding *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    mhv_toklist l = {0};
    int32_t *types = NULL;
    size_t ntypes = 0;
    int pair = text[1] != NULL, boundary = 0;
    mhv_status st = MHV_OK;
    for (int i = 0; i < tp->n && !st; i++) {
        int seq = tp->item[i].seq;
        size_t first = l.n;
        if (pair && boundary == 0 && (seq == 1 || (i > 0 && tp->item[i].type_id != 0)))
            boundary = (int)l.n;
        if (seq < 0) {
            st = mhv_toklist_push(&l, tp->item[i].id, -1, -1, err);
        } else {
            decoded d;
            if (!(st = decode_input(text[seq], len[seq], &d, err)))
                st = encode_text(tok, text[seq], &d, &l, err);
            decoded_free(&d);
            if (!st && tok->trim_offsets)
                trim_offsets(tok, &l, first, l.n);
        }
        if (!st && pair) {
            int32_t *t = realloc(types, (l.n ? l.n : 1) * sizeof *t);
            if (!t) {
                st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
                break;
            }
            types = t;
            for (; ntypes < l.n; ntypes++)
                types[ntypes] = tp->item[i].type_id;
        }
    }
    st = finish_encode(tok, st, &l, out, err);
    if (!st && pair) {
        out->type_ids = types;
        out->boundary = boundary;
        types = NULL;
    }
    free(types);
    return st;
}

mhv_status mhv_tok_encode(const mhv_tok *tok, const char *text, size_t len, mhv_encoding *out,
                          mhv_error *err)
{
    const char *texts[2] = {text, NULL};
    const size_t lens[2] = {len, 0};
    if (tok->single.n == 0) { /* no post-processor: the sequence alone */
        static const tok_template bare = {.item = {{-1, 0, 0}}, .n = 1};
        return encode_template(tok, &bare, texts, lens, out, err);
    }
    return encode_template(tok, &tok->single, texts, lens, out, err);
}

int mhv_tok_has_pair(const mhv_tok *tok)
{
    return tok->has_pair;
}

mhv_status mhv_tok_encode_pair(const mhv_tok *tok, const char *first, size_t first_len,
                               const char *second, size_t second_len, mhv_encoding *out,
                               mhv_error *err)
{
    const char *texts[2] = {first, second ? second : ""};
    const size_t lens[2] = {first_len, second ? second_len : 0};
    /* without a pair template HF concatenates the two, the second with type id 1 */
    static const tok_template bare = {.item = {{-1, 0, 0}, {-1, 1, 1}}, .n = 2};
    return encode_template(tok, tok->has_pair ? &tok->pair : &bare, texts, lens, out, err);
}

mhv_status mhv_tok_encode_pretokenized(const mhv_tok *tok, const char *text, size_t len,
                                       mhv_encoding *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    mhv_toklist l = {0};
    decoded d;
    mhv_status st = decode_input(text, len, &d, err);
    size_t i = 0;
    while (!st && i < d.n) {
        if (d.cp[i] == ' ' || d.cp[i] == '\t') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < d.n && d.cp[j] != ' ' && d.cp[j] != '\t')
            j++;
        const char *p = text + d.boff[i];
        size_t plen = d.boff[j] - d.boff[i];
        int32_t id = mhv_vocab_lookup(tok->vocab, p, plen);
        if (id < 0)
            st = mhv_fail(err, MHV_EINPUT, "", "piece '%.*s' is not in the vocabulary",
                          (int)(plen > 60 ? 60 : plen), p);
        else
            st = mhv_toklist_push(&l, id, (int32_t)i, (int32_t)j, err);
        i = j;
    }
    decoded_free(&d);
    return finish_encode(tok, st, &l, out, err);
}

mhv_status mhv_tok_encode_ids(const mhv_tok *tok, const char *text, size_t len,
                              mhv_encoding *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    mhv_toklist l = {0};
    mhv_status st = MHV_OK;
    if (len > MHV_TOK_MAX_INPUT)
        st = mhv_fail(err, MHV_EUSAGE, "", "input longer than %u MiB", MHV_TOK_MAX_INPUT >> 20);
    size_t i = 0;
    while (!st && i < len) {
        char c = text[i];
        if (c == ' ' || c == '\t' || c == ',') {
            i++;
            continue;
        }
        size_t j = i;
        int64_t v = 0;
        while (j < len && text[j] >= '0' && text[j] <= '9') {
            if (v <= INT32_MAX)
                v = v * 10 + (text[j] - '0');
            j++;
        }
        if (j == i || (j < len && text[j] != ' ' && text[j] != '\t' && text[j] != ',')) {
            while (j < len && text[j] != ' ' && text[j] != '\t' && text[j] != ',')
                j++;
            st = mhv_fail(err, MHV_EINPUT, "", "'%.*s' is not a token id",
                          (int)(j - i > 30 ? 30 : j - i), text + i);
        } else if (v >= mhv_vocab_size(tok->vocab)) {
            st = mhv_fail(err, MHV_EINPUT, "", "token id %.*s is outside the vocabulary (0..%d)",
                          (int)(j - i > 30 ? 30 : j - i), text + i, mhv_vocab_size(tok->vocab) - 1);
        } else {
            st = mhv_toklist_push(&l, (int32_t)v, -1, -1, err);
        }
        i = j;
    }
    return finish_encode(tok, st, &l, out, err);
}

void mhv_encoding_free(mhv_encoding *enc)
{
    if (!enc)
        return;
    if (enc->pieces)
        for (int i = 0; i < enc->n; i++)
            free(enc->pieces[i]);
    free(enc->ids);
    free(enc->pieces);
    free(enc->spans);
    free(enc->type_ids);
    memset(enc, 0, sizeof *enc);
}

