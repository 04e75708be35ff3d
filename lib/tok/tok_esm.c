/* tok_esm.c - EsmTokenizer (transformers' Python class; no tokenizer.json exists for it):
 * vocab.txt read as load_vocab_file reads it (Python's splitlines, each line strip()ped, id =
 * line), every vocabulary entry a token that is never split. Text is cut by transformers'
 * Trie.split over those entries (its greedy longest-first matching, ported as written), each
 * part that is not a special or added token is split on Python's whitespace (str.split) and
 * each piece looked up, <unk> when absent; then <cls> A <eos> (pairs <cls> A <eos> B <eos>).
 * So "MKT<mask>A" is <cls> M K T <mask> A <eos>, "mk" one <unk>, spaces vanish. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/fileio.h"
#include "base/json.h"
#include "text/unicode.h"
#include "tok/tok_impl.h"
#include "tok/vocab.h"

/* Python's str.isspace (what str.split and str.strip take for whitespace): the White_Space
 * characters and the information separators U+001C..U+001F. */
static int py_space(uint32_t c)
{
    return (c >= 0x1c && c <= 0x1f) || mhv_uc_is_whitespace(c);
}

/* Python's str.splitlines boundaries (\r\n counts as one). */
static int py_line_break(uint32_t c)
{
    return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) ||
           c == 0x85 || c == 0x2028 || c == 0x2029;
}

/* ---- the trie of the never-split tokens (transformers' Trie over code points) ---- */

typedef struct {
    uint32_t cp;
    int child, sibling; /* first child and next sibling node, -1: none */
    int terminal;       /* a token ends here */
} trie_node;

struct mhv_esm_trie {
    trie_node *node;    /* node 0 is the root */
    int n, cap;
    int32_t unk;        /* the id of a piece the vocabulary lacks */
};

static int trie_child(const struct mhv_esm_trie *t, int at, uint32_t c)
{
    for (int k = t->node[at].child; k >= 0; k = t->node[k].sibling)
        if (t->node[k].cp == c)
            return k;
    return -1;
}

static int trie_new_node(struct mhv_esm_trie *t, uint32_t c)
{
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        trie_node *nn = realloc(t->node, (size_t)cap * sizeof *nn);
        if (!nn)
            return -1;
        t->node = nn, t->cap = cap;
    }
    t->node[t->n] = (trie_node){c, -1, -1, 0};
    return t->n++;
}

/* Adds the UTF-8 token s[0..len) (valid; the empty one is ignored, as Trie.add ignores it). */
static mhv_status trie_add(struct mhv_esm_trie *t, const char *s, size_t len, const char *file,
                           mhv_error *err)
{
    if (t->n == 0 && trie_new_node(t, 0) < 0)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    if (len == 0)
        return MHV_OK;
    int at = 0;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        int k = mhv_utf8_decode(s + i, len - i, &c);
        i += (size_t)(k > 0 ? k : 1);
        int next = trie_child(t, at, c);
        if (next < 0) {
            if ((next = trie_new_node(t, c)) < 0)
                return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
            t->node[next].sibling = t->node[at].child;
            t->node[at].child = next;
        }
        at = next;
    }
    t->node[at].terminal = 1;
    return MHV_OK;
}

void tok_esm_free(struct mhv_esm_trie *t)
{
    if (t)
        free(t->node);
    free(t);
}

/* Trie.split: the cut offsets (count into *n_off) of text cp(n), as transformers computes them
 * (offsets 0, the start and end of each match, later cut_text adds n). */
static mhv_status trie_offsets(const struct mhv_esm_trie *t, const uint32_t *cp, size_t n,
                               size_t **off, size_t *n_off, mhv_error *err)
{
    /* the partial matches in order of their start: start, trie node */
    size_t *st_start = malloc((n + 1) * sizeof *st_start);
    int *st_node = malloc((n + 1) * sizeof *st_node);
    unsigned char *drop = malloc(n + 1);
    *off = malloc((2 * n + 2) * sizeof **off);
    if (!st_start || !st_node || !drop || !*off) {
        free(st_start), free(st_node), free(drop), free(*off);
        *off = NULL;
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    size_t ns = 0, no = 0, skip = 0;
    (*off)[no++] = 0;
    for (size_t cur = 0; cur < n; cur++) {
        if (skip && cur < skip)
            continue;
        int reset = 0;
        memset(drop, 0, ns);
        for (size_t s = 0; s < ns; s++) {
            if (t->node[st_node[s]].terminal) {
                /* lookahead: the longest match among the partial matches starting no later */
                size_t start = st_start[s], end = 0;
                for (size_t l = 0; l < ns; l++) {
                    size_t lstart = st_start[l], look;
                    if (lstart > start)
                        break;
                    look = end = lstart < start ? cur + 1 : cur;
                    int ln = st_node[l];
                    if (t->node[ln].terminal)
                        start = lstart, end = look, skip = look;
                    while (look < n) {
                        int next = trie_child(t, ln, cp[look]);
                        if (next < 0)
                            break;
                        ln = next;
                        look++;
                        if (t->node[ln].terminal)
                            start = lstart, end = look, skip = look;
                        if (look == n)
                            break;
                    }
                }
                (*off)[no++] = start;
                (*off)[no++] = end;
                reset = 1;
                break;
            }
            int next = trie_child(t, st_node[s], cp[cur]);
            if (next >= 0)
                st_node[s] = next;
            else
                drop[s] = 1;
        }
        if (reset) {
            ns = 0;
        } else {
            size_t k = 0;
            for (size_t s = 0; s < ns; s++)
                if (!drop[s])
                    st_start[k] = st_start[s], st_node[k++] = st_node[s];
            ns = k;
        }
        int first = trie_child(t, 0, cp[cur]);
        if (cur >= skip && first >= 0)
            st_start[ns] = cur, st_node[ns++] = first;
    }
    for (size_t s = 0; s < ns; s++)
        if (t->node[st_node[s]].terminal) {
            (*off)[no++] = st_start[s];
            (*off)[no++] = n;
            break;
        }
    free(st_start), free(st_node), free(drop);
    *n_off = no;
    return MHV_OK;
}

/* ---- encoding ---- */

/* The id of cp[a..b) as an added (special) token, else -1. */
static int32_t added_id(const mhv_tok *tok, const uint32_t *cp, size_t a, size_t b)
{
    for (int i = 0; i < tok->n_added; i++) {
        const added_token *t = &tok->added[i];
        size_t k = 0, at = 0;
        for (; at < t->len && a + k < b; k++) {
            uint32_t c;
            int w = mhv_utf8_decode(t->content + at, t->len - at, &c);
            if (w <= 0 || c != cp[a + k])
                break;
            at += (size_t)w;
        }
        if (at == t->len && a + k == b)
            return t->id;
    }
    return -1;
}

/* A part between cuts, from character base: an added token whole, else its whitespace-split
 * pieces looked up (<unk> when absent). */
static mhv_status encode_part(const mhv_tok *tok, const uint32_t *cp, size_t a, size_t b,
                              int32_t base, mhv_toklist *out, mhv_error *err)
{
    int32_t id = added_id(tok, cp, a, b);
    if (id >= 0)
        return mhv_toklist_push(out, id, base + (int32_t)a, base + (int32_t)b, err);
    char *buf = malloc(4 * (b - a) + 1); /* a piece's UTF-8 */
    if (!buf)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    mhv_status st = MHV_OK;
    for (size_t i = a; i < b && !st;) {
        if (py_space(cp[i])) {
            i++;
            continue;
        }
        size_t j = i, len = 0;
        for (; j < b && !py_space(cp[j]); j++)
            len += (size_t)mhv_utf8_encode(cp[j], buf + len);
        int32_t pid = mhv_vocab_lookup(tok->vocab, buf, len);
        st = mhv_toklist_push(out, pid >= 0 ? pid : tok->esm->unk, base + (int32_t)i,
                              base + (int32_t)j, err);
        i = j;
    }
    free(buf);
    return st;
}

mhv_status tok_esm_encode(const mhv_tok *tok, const uint32_t *cp, size_t n, int32_t base,
                          mhv_toklist *out, mhv_error *err)
{
    size_t *off = NULL, n_off = 0;
    mhv_status st = trie_offsets(tok->esm, cp, n, &off, &n_off, err);
    if (st)
        return st;
    off[n_off++] = n; /* cut_text: cuts that go back are skipped, empty parts dropped */
    size_t start = 0;
    for (size_t k = 0; k < n_off && !st; k++) {
        size_t end = off[k];
        if (start >= end)
            continue;
        st = encode_part(tok, cp, start, end, base, out, err);
        start = end;
    }
    free(off);
    return st;
}

/* ---- loading ---- */

/* vocab.txt as load_vocab_file: Python's splitlines, each line strip()ped. */
static mhv_status read_vocab(mhv_tok *t, const char *path, mhv_error *err)
{
    char *text = NULL;
    size_t len = 0;
    mhv_status st = mhv_read_file(path, MHV_VOCAB_MAX_FILE, &text, &len, err);
    if (st)
        return st;
    size_t chars;
    if (!mhv_utf8_valid(text, len, &chars) || memchr(text, 0, len)) {
        free(text);
        return mhv_fail(err, MHV_EFORMAT, path, "not UTF-8 text without NUL bytes");
    }
    /* line starts and ends in bytes; pass 0 counts, pass 1 fills the vocabulary */
    int32_t lines = 0;
    for (int pass = 0; pass < 2 && !st; pass++) {
        int32_t line = 0;
        size_t i = 0;
        while (i < len && !st) {
            size_t a = i, b;
            uint32_t c = 0;
            int w = 0;
            while (i < len && (w = mhv_utf8_decode(text + i, len - i, &c)) > 0 &&
                   !py_line_break(c))
                i += (size_t)w;
            b = i;
            if (i < len) { /* the break: \r\n is one */
                i += (size_t)w;
                if (c == '\r' && i < len && text[i] == '\n')
                    i++;
            }
            if (pass == 1) {
                /* strip(): whitespace at both ends */
                while (a < b && mhv_utf8_decode(text + a, b - a, &c) > 0 && py_space(c))
                    a += (size_t)mhv_utf8_decode(text + a, b - a, &c);
                while (b > a) {
                    size_t p = b - 1;
                    while (p > a && ((unsigned char)text[p] & 0xC0) == 0x80)
                        p--;
                    if (mhv_utf8_decode(text + p, b - p, &c) <= 0 || !py_space(c))
                        break;
                    b = p;
                }
                if (mhv_vocab_lookup(t->vocab, text + a, b - a) >= 0)
                    st = mhv_fail(err, MHV_EUNSUPPORTED, path, "line %d repeats the entry "
                                  "'%.*s' (not supported for EsmTokenizer)", (int)line + 1,
                                  (int)(b - a > 40 ? 40 : b - a), text + a);
                else
                    st = mhv_vocab_set(t->vocab, line, text + a, b - a, err);
            }
            line++;
        }
        if (pass == 0) {
            lines = line;
            if (lines == 0)
                st = mhv_fail(err, MHV_EFORMAT, path, "the vocabulary is empty");
            else
                st = mhv_vocab_new(lines, path, &t->vocab, err);
        }
    }
    free(text);
    return st ? st : mhv_vocab_finish(t->vocab, err);
}

/* A special token's string: special_tokens_map.json's, else tokenizer_config.json's, else
 * EsmTokenizer's default; it must be an entry of vocab.txt (transformers would add it). */
static mhv_status special_id(mhv_tok *t, const cJSON *cfg, const cJSON *stm, const char *key,
                             const char *def, const char *vocab_txt, int32_t *id,
                             const char **s, mhv_error *err)
{
    *s = tok_token_string(stm, key, tok_token_string(cfg, key, def));
    if ((*id = mhv_vocab_lookup(t->vocab, *s, strlen(*s))) < 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, vocab_txt, "EsmTokenizer's %s '%.40s' is not in "
                        "the vocabulary (transformers would add it)", key, *s);
    return MHV_OK;
}

/* Options of tokenizer_config.json that change the tokens and are not implemented. */
static mhv_status refuse_options(const cJSON *cfg, const char *file, mhv_error *err)
{
    int split = 0;
    mhv_status st = mhv_json_bool(cfg, "split_special_tokens", 0, &split, file, err);
    if (st)
        return st;
    if (split)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "split_special_tokens is not supported");
    static const char *const lists[] = {"additional_special_tokens", "extra_special_tokens"};
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
        const cJSON *l = mhv_json_get(cfg, lists[i]);
        if (l && !cJSON_IsNull(l) && cJSON_GetArraySize(l) > 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, file, "%s is not supported for "
                            "EsmTokenizer", lists[i]);
    }
    /* added_tokens_decoder: the special tokens at their vocabulary ids, without single_word */
    const cJSON *dec = mhv_json_get(cfg, "added_tokens_decoder");
    for (const cJSON *e = dec && cJSON_IsObject(dec) ? dec->child : NULL; e; e = e->next) {
        int single = 0;
        if ((st = mhv_json_bool(e, "single_word", 0, &single, file, err)))
            return st;
        if (single)
            return mhv_fail(err, MHV_EUNSUPPORTED, file, "added token '%.40s' with single_word "
                            "is not supported", tok_token_string(e, "content", "?"));
    }
    return MHV_OK;
}

/* Entries of added_tokens_decoder must be vocabulary entries at their own ids (the files
 * EsmTokenizer saves); tokens added beyond the vocabulary are refused. */
static mhv_status check_added(const mhv_tok *t, const cJSON *cfg, const char *file,
                              mhv_error *err)
{
    const cJSON *dec = mhv_json_get(cfg, "added_tokens_decoder");
    if (dec && !cJSON_IsNull(dec) && !cJSON_IsObject(dec))
        return mhv_fail(err, MHV_EFORMAT, file, "'added_tokens_decoder' is not an object");
    for (const cJSON *e = dec && cJSON_IsObject(dec) ? dec->child : NULL; e; e = e->next) {
        const char *s = tok_token_string(e, "content", NULL);
        char *end;
        long id = strtol(e->string, &end, 10);
        if (!s || *end || end == e->string)
            return mhv_fail(err, MHV_EFORMAT, file, "added_tokens_decoder entry '%.30s' has no "
                            "id or content", e->string);
        if (id < 0 || id >= mhv_vocab_size(t->vocab) ||
            strcmp(mhv_vocab_piece(t->vocab, (int32_t)id), s) != 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, file, "added token '%.40s' (id %ld) is not "
                            "the vocabulary's entry of that id: tokens added to EsmTokenizer "
                            "are not supported", s, id);
    }
    return MHV_OK;
}

mhv_status tok_load_esm(mhv_tok *t, const char *vocab_txt, const char *config,
                        const char *special_map, mhv_error *err)
{
    cJSON *cfg = NULL, *stm = NULL;
    mhv_status st;
    if ((config && (st = mhv_json_load(config, MHV_TOK_MAX_JSON, &cfg, err))) ||
        (special_map && (st = mhv_json_load(special_map, MHV_TOK_MAX_JSON, &stm, err))) ||
        (cfg && (st = refuse_options(cfg, config, err))) ||
        (st = read_vocab(t, vocab_txt, err)) ||
        (cfg && (st = check_added(t, cfg, config, err))))
        goto out;
    t->kind = MHV_TOK_ESM;
    if ((st = tok_alloc_special(t, vocab_txt, err)))
        goto out;
    if (!(t->esm = calloc(1, sizeof *t->esm))) {
        st = mhv_fail(err, MHV_ENOMEM, vocab_txt, "out of memory");
        goto out;
    }
    int32_t n = mhv_vocab_size(t->vocab);
    for (int32_t i = 0; i < n && !st; i++) {
        const char *p = mhv_vocab_piece(t->vocab, i);
        st = trie_add(t->esm, p, strlen(p), vocab_txt, err);
    }
    static const char *const keys[5] = {"cls_token", "pad_token", "eos_token", "unk_token",
                                        "mask_token"};
    static const char *const defs[5] = {"<cls>", "<pad>", "<eos>", "<unk>", "<mask>"};
    int32_t id[5];
    for (int k = 0; k < 5 && !st; k++) {
        const char *s;
        if (!(st = special_id(t, cfg, stm, keys[k], defs[k], vocab_txt, &id[k], &s, err)) &&
            !(st = tok_add_token(t, s, id[k], 0, 0, 0, 0, vocab_txt, err)))
            tok_mark_special(t, id[k]);
    }
    if (st)
        goto out;
    t->esm->unk = id[3];
    /* the other entries of added_tokens_decoder are taken whole too (check_added: each is
     * its id's vocabulary entry) */
    const cJSON *dec = mhv_json_get(cfg, "added_tokens_decoder");
    for (const cJSON *e = cJSON_IsObject(dec) ? dec->child : NULL; e && !st; e = e->next) {
        int32_t aid = (int32_t)strtol(e->string, NULL, 10);
        int known = 0;
        for (int k = 0; k < 5; k++)
            known |= id[k] == aid;
        if (known)
            continue;
        const char *s = mhv_vocab_piece(t->vocab, aid);
        int sp;
        if (!(st = mhv_json_bool(e, "special", 0, &sp, config, err)) &&
            !(st = tok_add_token(t, s, aid, 0, 0, 0, 0, vocab_txt, err)) && sp)
            tok_mark_special(t, aid);
    }
    if (st)
        goto out;
    /* build_inputs_with_special_tokens: <cls> A <eos>, <cls> A <eos> B <eos> (no type ids:
     * every token 0) */
    const int32_t cls = id[0], eos = id[2];
    const int32_t single[3][2] = {{cls, -1}, {-1, 0}, {eos, -1}};
    const int32_t pair[5][2] = {{cls, -1}, {-1, 0}, {eos, -1}, {-1, 1}, {eos, -1}};
    for (int i = 0; i < 3 && !st; i++)
        st = tok_template_add(t, &t->single, single[i][0], single[i][1], 0, vocab_txt, err);
    for (int i = 0; i < 5 && !st; i++)
        st = tok_template_add(t, &t->pair, pair[i][0], pair[i][1], 0, vocab_txt, err);
    t->has_pair = !st;
out:
    cJSON_Delete(cfg);
    cJSON_Delete(stm);
    return st;
}
