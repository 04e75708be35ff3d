/* spm_classes.c - the tokenizer.json transformers 5 builds from a SentencePiece model for a
 * tokenizer class (DebertaV2Tokenizer, T5Tokenizer, XLMRobertaTokenizer, AlbertTokenizer,
 * LlamaTokenizer): each class is a short function filling one shared builder, checked against
 * AutoTokenizer on the same files (tests/gen/gen_tok_families.py spm_dirs). */
#include "tok/spm.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/json.h"
#include "text/unicode.h"
#include "tok/vocab.h"

static char *base64(const unsigned char *b, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc(4 * ((n + 2) / 3) + 1), *w = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0) |
                     (i + 2 < n ? b[i + 2] : 0);
        *w++ = tab[v >> 18 & 63];
        *w++ = tab[v >> 12 & 63];
        *w++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *w++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *w = '\0';
    return o;
}

#define MAX_NAMES 8

/* A tokenizer.json under construction: the Unigram vocabulary the class makes of the pieces,
 * its named special tokens, and the normalizer and pre-tokenizer lists it fills. */
typedef struct {
    const char **piece; /* (n,) */
    double *score;      /* (n,) */
    char *control;      /* (n,) a control piece: an added token */
    int n, cap;
    const char *names[MAX_NAMES]; /* bos, eos ... as tokenizer_config.json names them */
    int n_names;
    cJSON *root, *norms, *pres;
} build;

static cJSON *typed(const char *type)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "type", type)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int push(build *b, const char *piece, double score, int control)
{
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 1024;
        const char **p = realloc(b->piece, (size_t)cap * sizeof *p);
        if (p)
            b->piece = p;
        double *s = realloc(b->score, (size_t)cap * sizeof *s);
        if (s)
            b->score = s;
        char *c = realloc(b->control, (size_t)cap);
        if (c)
            b->control = c;
        if (!p || !s || !c)
            return 0;
        b->cap = cap;
    }
    b->piece[b->n] = piece;
    b->score[b->n] = score;
    b->control[b->n++] = (char)control;
    return 1;
}

static int push_pieces(build *b, const mhv_spm_model *m, int from)
{
    for (int i = from; i < m->n; i++)
        if (!push(b, m->pieces[i].piece, m->pieces[i].score, m->pieces[i].type == MHV_SPM_CONTROL))
            return 0;
    return 1;
}

static int find(const build *b, const char *s)
{
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->piece[i], s) == 0)
            return i;
    return -1;
}

/* The special tokens of tokenizer_config.json (a string or {"content": ...}), else defs. */
static int names_from(build *b, const cJSON *cfg, const char *const *keys,
                      const char *const *defs, int n)
{
    for (int k = 0; k < n && k < MAX_NAMES; k++) {
        const cJSON *x = mhv_json_get(cfg, keys[k]);
        if (cJSON_IsObject(x))
            x = mhv_json_get(x, "content");
        if (x && !cJSON_IsString(x))
            return 0;
        b->names[k] = x ? x->valuestring : defs[k];
    }
    b->n_names = n;
    return 1;
}

/* The id a named special gets: its piece, else the next id after the vocabulary (in name
 * order, each name once), as transformers adds missing special tokens. */
static int special_id(const build *b, int k)
{
    int id = find(b, b->names[k]), next = b->n;
    if (id >= 0)
        return id;
    for (int j = 0; j < k; j++) {
        if (strcmp(b->names[j], b->names[k]) == 0)
            return special_id(b, j);
        int dup = 0;
        for (int i = 0; i < j; i++)
            dup |= strcmp(b->names[i], b->names[j]) == 0;
        if (!dup && find(b, b->names[j]) < 0)
            next++;
    }
    return next;
}

/* A Unigram model of the vocabulary. */
static cJSON *unigram_model(const build *b, int unk)
{
    cJSON *model = typed("Unigram"), *vocab = cJSON_CreateArray();
    if (!model || !vocab) {
        cJSON_Delete(model);
        cJSON_Delete(vocab);
        return NULL;
    }
    cJSON_AddItemToObject(model, "vocab", vocab);
    cJSON_AddNumberToObject(model, "unk_id", unk);
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    for (int i = 0; i < b->n; i++) {
        cJSON *e = cJSON_CreateArray();
        cJSON_AddItemToArray(e, cJSON_CreateString(b->piece[i]));
        cJSON_AddItemToArray(e, cJSON_CreateNumber(b->score[i]));
        cJSON_AddItemToArray(vocab, e);
    }
    return model;
}

/* Code points of s (valid UTF-8): byte offsets of each, *n of them. */
static size_t *char_offsets(const char *s, size_t *n)
{
    size_t len = strlen(s), k = 0;
    size_t *o = malloc((len + 1) * sizeof *o);
    if (!o)
        return NULL;
    *n = 0;
    while (k < len) {
        uint32_t c;
        int w = mhv_utf8_decode(s + k, len - k, &c);
        o[(*n)++] = k;
        k += w > 0 ? (size_t)w : 1;
    }
    o[*n] = len;
    return o;
}

/* A BPE model of the vocabulary with byte fallback and fused unknowns, no unk token, and the
 * merges transformers' generate_merges derives from the pieces: every split of a piece into
 * two pieces, ordered by the piece's id, then by the left part's length. */
static cJSON *bpe_model(const build *b)
{
    cJSON *model = typed("BPE"), *vocab = cJSON_CreateObject(), *merges = cJSON_CreateArray();
    mhv_vocab *v = NULL;
    int ok = model && vocab && merges && mhv_vocab_new(b->n, "", &v, NULL) == MHV_OK;
    for (int i = 0; ok && i < b->n; i++)
        ok = mhv_vocab_set(v, i, b->piece[i], strlen(b->piece[i]), NULL) == MHV_OK &&
             cJSON_AddNumberToObject(vocab, b->piece[i], i) != NULL;
    if (ok)
        ok = mhv_vocab_finish(v, NULL) == MHV_OK;
    for (int i = 0; ok && i < b->n; i++) {
        size_t n, *o = char_offsets(b->piece[i], &n);
        if (!o) {
            ok = 0;
            break;
        }
        for (size_t k = 1; k < n; k++) {
            const char *p = b->piece[i];
            if (mhv_vocab_lookup(v, p, o[k]) < 0 ||
                mhv_vocab_lookup(v, p + o[k], o[n] - o[k]) < 0)
                continue;
            cJSON *m = cJSON_CreateArray();
            char *l = strndup(p, o[k]);
            cJSON_AddItemToArray(m, cJSON_CreateString(l ? l : ""));
            cJSON_AddItemToArray(m, cJSON_CreateString(p + o[k]));
            cJSON_AddItemToArray(merges, m);
            free(l);
        }
        free(o);
    }
    mhv_vocab_free(v);
    if (!ok) {
        cJSON_Delete(model);
        cJSON_Delete(vocab);
        cJSON_Delete(merges);
        return NULL;
    }
    cJSON_AddItemToObject(model, "vocab", vocab);
    cJSON_AddItemToObject(model, "merges", merges);
    cJSON_AddBoolToObject(model, "fuse_unk", 1);
    cJSON_AddBoolToObject(model, "byte_fallback", 1);
    return model;
}

/* The whole document: the model, the added tokens (control pieces and named specials, by id,
 * special and not normalized), the normalizer and pre-tokenizer Sequences so far, and the
 * post-processor of the two templates ("%0:0 $A:0 %1:0": %k names[k], :t the type id). */
static cJSON *finish(build *b, cJSON *model, const char *single, const char *pair)
{
    cJSON *added = cJSON_CreateArray(), *pp = typed("TemplateProcessing");
    cJSON *sp = cJSON_CreateObject();
    cJSON_AddItemToObject(b->root, "model", model);
    if (!model || !added || !pp || !sp) {
        cJSON_Delete(added);
        cJSON_Delete(pp);
        cJSON_Delete(sp);
        return NULL;
    }
    cJSON_AddItemToObject(b->root, "added_tokens", added);
    int last = b->n - 1;
    for (int k = 0; k < b->n_names; k++)
        last = special_id(b, k) > last ? special_id(b, k) : last;
    for (int id = 0; id <= last; id++) {
        const char *content = id < b->n && b->control[id] ? b->piece[id] : NULL;
        for (int k = 0; k < b->n_names && !content; k++)
            if (special_id(b, k) == id)
                content = b->names[k];
        if (!content)
            continue;
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", id);
        cJSON_AddStringToObject(a, "content", content);
        cJSON_AddBoolToObject(a, "normalized", 0);
        cJSON_AddBoolToObject(a, "special", 1);
        cJSON_AddItemToArray(added, a);
    }
    cJSON_AddItemToObject(b->root, "post_processor", pp);
    for (int which = 0; which < 2; which++) {
        cJSON *list = cJSON_CreateArray();
        cJSON_AddItemToObject(pp, which ? "pair" : "single", list);
        for (const char *t = which ? pair : single; t[0] && t[1] && t[2] && t[3];) {
            /* "$A:0" or "%k:t", items separated by one space */
            char what = t[1];
            int type = t[3] - '0';
            cJSON *item = cJSON_CreateObject(), *in = cJSON_CreateObject();
            if (t[0] == '$') {
                cJSON_AddStringToObject(in, "id", what == 'A' ? "A" : "B");
                cJSON_AddItemToObject(item, "Sequence", in);
            } else {
                const char *name = b->names[what - '0'];
                cJSON_AddStringToObject(in, "id", name);
                cJSON_AddItemToObject(item, "SpecialToken", in);
                if (!mhv_json_get(sp, name)) {
                    cJSON *e = cJSON_CreateObject(), *il = cJSON_CreateArray();
                    cJSON_AddStringToObject(e, "id", name);
                    cJSON_AddItemToArray(il, cJSON_CreateNumber(special_id(b, what - '0')));
                    cJSON_AddItemToObject(e, "ids", il);
                    cJSON_AddItemToObject(sp, name, e);
                }
            }
            cJSON_AddNumberToObject(in, "type_id", type);
            cJSON_AddItemToArray(list, item);
            t += t[4] == ' ' ? 5 : 4;
        }
    }
    cJSON_AddItemToObject(pp, "special_tokens", sp);
    cJSON *r = b->root;
    b->root = NULL;
    return r;
}

static void add_precompiled(build *b, const mhv_spm_model *m)
{
    if (!m->charsmap)
        return;
    cJSON *pc = typed("Precompiled");
    char *b64 = base64(m->charsmap, m->charsmap_len);
    cJSON_AddStringToObject(pc, "precompiled_charsmap", b64 ? b64 : "");
    free(b64);
    cJSON_AddItemToArray(b->norms, pc);
}

static void add_replace(build *b, const char *kind, const char *from, const char *to)
{
    cJSON *r = typed("Replace"), *pat = cJSON_CreateObject();
    cJSON_AddStringToObject(pat, kind, from);
    cJSON_AddItemToObject(r, "pattern", pat);
    cJSON_AddStringToObject(r, "content", to);
    cJSON_AddItemToArray(b->norms, r);
}

static void add_strip_right(build *b)
{
    cJSON *s = typed("Strip");
    cJSON_AddBoolToObject(s, "strip_left", 0);
    cJSON_AddBoolToObject(s, "strip_right", 1);
    cJSON_AddItemToArray(b->norms, s);
}

static void add_metaspace(build *b, const char *scheme, int split)
{
    cJSON *ms = typed("Metaspace");
    cJSON_AddStringToObject(ms, "replacement", "\xe2\x96\x81");
    cJSON_AddStringToObject(ms, "prepend_scheme", scheme);
    cJSON_AddBoolToObject(ms, "split", split);
    cJSON_AddItemToArray(b->pres, ms);
}

/* transformers 5's DebertaV2Tokenizer: the pieces (unk: the unk token where it is a piece
 * scored 0, else the trainer's), Lowercase if do_lower_case, the charsmap + right Strip +
 * space runs folded (without one: whitespace folding, NFC, Strip), Punctuation if
 * split_by_punct, Metaspace "always" ("first" without add_prefix_space), [CLS] A [SEP]. */
static cJSON *deberta_v2(build *b, const mhv_spm_model *m, const cJSON *cfg, const char **why)
{
    static const char *const keys[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                       "pad_token", "cls_token", "mask_token"};
    static const char *const defs[] = {"[CLS]", "[SEP]", "[UNK]", "[SEP]", "[PAD]", "[CLS]",
                                       "[MASK]"};
    int lower, punct, aps;
    if (mhv_json_bool(cfg, "do_lower_case", 0, &lower, "", NULL) ||
        mhv_json_bool(cfg, "split_by_punct", 0, &punct, "", NULL) ||
        mhv_json_bool(cfg, "add_prefix_space", 1, &aps, "", NULL) ||
        !names_from(b, cfg, keys, defs, 7)) {
        *why = "tokenizer_config.json has a setting of the wrong type";
        return NULL;
    }
    if (!push_pieces(b, m, 0))
        return NULL;
    int unk = -1;
    for (int i = 0; i < b->n && unk < 0; i++)
        if (b->score[i] == 0.0 && strcmp(b->piece[i], b->names[2]) == 0)
            unk = i;
    if (lower)
        cJSON_AddItemToArray(b->norms, typed("Lowercase"));
    if (m->charsmap) {
        add_precompiled(b, m);
        add_strip_right(b);
        add_replace(b, "Regex", " {2,}", " ");
    } else {
        add_replace(b, "Regex", "\\s{2,}|[\\n\\r\\t]", " ");
        cJSON_AddItemToArray(b->norms, typed("NFC"));
        add_strip_right(b);
    }
    if (punct) {
        cJSON *p = typed("Punctuation");
        cJSON_AddStringToObject(p, "behavior", "Isolated");
        cJSON_AddItemToArray(b->pres, p);
    }
    add_metaspace(b, aps ? "always" : "first", 1);
    return finish(b, unigram_model(b, unk >= 0 ? unk : m->unk_id), "%5:0 $A:0 %3:0",
                  "%5:0 $A:0 %3:0 $B:1 %3:1");
}

/* T5Tokenizer: the pieces then <extra_id_{n-1}> ... <extra_id_0> (scored 0, added tokens),
 * unk 2, the charsmap, WhitespaceSplit + Metaspace, A </s> (B </s>). */
static cJSON *t5(build *b, const mhv_spm_model *m, const cJSON *cfg, const char **why)
{
    static const char *const keys[] = {"eos_token", "unk_token", "pad_token"};
    static const char *const defs[] = {"</s>", "<unk>", "<pad>"};
    int extra;
    if (mhv_json_int(cfg, "extra_ids", 100, 0, 100000, &extra, "", NULL) ||
        !names_from(b, cfg, keys, defs, 3)) {
        *why = "tokenizer_config.json has a setting of the wrong type (extra_ids: 0..100000)";
        return NULL;
    }
    if (!push_pieces(b, m, 0))
        return NULL;
    char **made = malloc((size_t)(extra ? extra : 1) * sizeof *made);
    int ok = made != NULL;
    for (int i = extra - 1; ok && i >= 0; i--) {
        char name[32];
        snprintf(name, sizeof name, "<extra_id_%d>", i);
        made[i] = strdup(name);
        ok = made[i] && push(b, made[i], 0, 1);
        if (!made[i])
            for (int k = i + 1; k < extra; k++)
                free(made[k]);
    }
    cJSON *r = NULL;
    if (ok) {
        add_precompiled(b, m);
        cJSON_AddItemToArray(b->pres, typed("WhitespaceSplit"));
        add_metaspace(b, "always", 1);
        r = finish(b, unigram_model(b, 2), "$A:0 %0:0", "$A:0 %0:0 $B:0 %0:0");
        for (int i = 0; i < extra; i++)
            free(made[i]);
    }
    free(made);
    return r;
}

/* XLMRobertaTokenizer (fairseq's ids): <s> <pad> </s> <unk>, the pieces after the first
 * three, <mask>; unk 3; the charsmap; WhitespaceSplit + Metaspace; <s> A </s> (</s> B </s>). */
static cJSON *xlm_roberta(build *b, const mhv_spm_model *m, const cJSON *cfg, const char **why)
{
    static const char *const keys[] = {"bos_token", "pad_token", "eos_token", "unk_token",
                                       "mask_token", "sep_token", "cls_token"};
    static const char *const defs[] = {"<s>", "<pad>", "</s>", "<unk>", "<mask>", "</s>", "<s>"};
    int aps;
    if (mhv_json_bool(cfg, "add_prefix_space", 1, &aps, "", NULL) ||
        !names_from(b, cfg, keys, defs, 7)) {
        *why = "tokenizer_config.json has a setting of the wrong type";
        return NULL;
    }
    if (m->n < 3) {
        *why = "the SentencePiece model has fewer than 3 pieces";
        return NULL;
    }
    for (int k = 0; k < 4; k++)
        if (!push(b, b->names[k], 0, 0))
            return NULL;
    if (!push_pieces(b, m, 3) || !push(b, b->names[4], 0, 0))
        return NULL;
    add_precompiled(b, m);
    cJSON_AddItemToArray(b->pres, typed("WhitespaceSplit"));
    add_metaspace(b, aps ? "always" : "never", 1);
    return finish(b, unigram_model(b, 3), "%0:0 $A:0 %2:0", "%0:0 $A:0 %2:0 %2:0 $B:0 %2:0");
}

/* AlbertTokenizer: the pieces, unk 1; `` and '' as ", NFKD + StripAccents unless keep_accents,
 * Lowercase if do_lower_case, the charsmap; WhitespaceSplit + Metaspace; [CLS] A [SEP]. */
static cJSON *albert(build *b, const mhv_spm_model *m, const cJSON *cfg, const char **why)
{
    static const char *const keys[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                       "pad_token", "cls_token", "mask_token"};
    static const char *const defs[] = {"[CLS]", "[SEP]", "<unk>", "[SEP]", "<pad>", "[CLS]",
                                       "[MASK]"};
    int lower, keep, aps;
    if (mhv_json_bool(cfg, "do_lower_case", 1, &lower, "", NULL) ||
        mhv_json_bool(cfg, "keep_accents", 0, &keep, "", NULL) ||
        mhv_json_bool(cfg, "add_prefix_space", 1, &aps, "", NULL) ||
        !names_from(b, cfg, keys, defs, 7)) {
        *why = "tokenizer_config.json has a setting of the wrong type";
        return NULL;
    }
    if (!push_pieces(b, m, 0))
        return NULL;
    if (find(b, b->names[5]) < 0 || find(b, b->names[3]) < 0) {
        *why = "the SentencePiece model has no [CLS] or [SEP] piece (AlbertTokenizer needs them)";
        return NULL;
    }
    add_replace(b, "String", "``", "\"");
    add_replace(b, "String", "''", "\"");
    if (!keep) {
        cJSON_AddItemToArray(b->norms, typed("NFKD"));
        cJSON_AddItemToArray(b->norms, typed("StripAccents"));
    }
    if (lower)
        cJSON_AddItemToArray(b->norms, typed("Lowercase"));
    add_precompiled(b, m);
    cJSON_AddItemToArray(b->pres, typed("WhitespaceSplit"));
    add_metaspace(b, aps ? "always" : "never", 1);
    return finish(b, unigram_model(b, 1), "%5:0 $A:0 %3:0", "%5:0 $A:0 %3:0 $B:1 %3:1");
}

/* LlamaTokenizer from a SentencePiece BPE model: the pieces as BPE with byte fallback and the
 * merges of generate_merges, no normalizer, Metaspace without splitting ("first", "always"
 * when legacy, "never" without add_prefix_space), <s> / </s> around A (and B, type 1) as
 * add_bos_token / add_eos_token say (both false by default). */
static cJSON *llama(build *b, const mhv_spm_model *m, const cJSON *cfg, const char **why)
{
    static const char *const keys[] = {"unk_token", "bos_token", "eos_token"};
    static const char *const defs[] = {"<unk>", "<s>", "</s>"};
    int legacy, aps, bos, eos;
    if (mhv_json_bool(cfg, "legacy", 0, &legacy, "", NULL) ||
        mhv_json_bool(cfg, "add_prefix_space", 1, &aps, "", NULL) ||
        mhv_json_bool(cfg, "add_bos_token", 0, &bos, "", NULL) ||
        mhv_json_bool(cfg, "add_eos_token", 0, &eos, "", NULL) ||
        !names_from(b, cfg, keys, defs, 3)) {
        *why = "tokenizer_config.json has a setting of the wrong type";
        return NULL;
    }
    if (!push_pieces(b, m, 0))
        return NULL;
    add_metaspace(b, !aps ? "never" : legacy ? "always" : "first", 0);
    char single[64], pair[96];
    snprintf(single, sizeof single, "%s$A:0%s", bos ? "%1:0 " : "", eos ? " %2:0" : "");
    snprintf(pair, sizeof pair, "%s$A:0%s%s $B:1%s", bos ? "%1:0 " : "", eos ? " %2:0" : "",
             bos ? " %1:1" : "", eos ? " %2:1" : "");
    return finish(b, bpe_model(b), single, pair);
}

static int is_class(const char *name, const char *cls)
{
    size_t n = strlen(cls);
    return strncmp(name, cls, n) == 0 && (name[n] == '\0' || strcmp(name + n, "Fast") == 0);
}

const char *mhv_spm_class(const cJSON *config)
{
    const cJSON *cls = mhv_json_get(config, "tokenizer_class");
    const char *name = cJSON_IsString(cls) ? cls->valuestring : "";
    if (is_class(name, "DebertaV2Tokenizer") || is_class(name, "T5Tokenizer") ||
        is_class(name, "XLMRobertaTokenizer") || is_class(name, "AlbertTokenizer") ||
        is_class(name, "LlamaTokenizer"))
        return NULL;
    return name;
}

mhv_status mhv_spm_to_json(const mhv_spm_model *m, const cJSON *config, const char *file,
                           cJSON **out, mhv_error *err)
{
    *out = NULL;
    const char *why = NULL, *other = mhv_spm_class(config);
    if (other && is_class(other, "M2M100Tokenizer")) /* read with vocab.json: tok_m2m100.c */
        return mhv_fail(err, MHV_EUNSUPPORTED, file,
                        "M2M100Tokenizer numbers the SentencePiece pieces by vocab.json, which "
                        "is not beside the model");
    if (other && is_class(other, "PegasusTokenizer")) /* its tokenizer.json is read */
        return mhv_fail(err, MHV_EUNSUPPORTED, file,
                        "PegasusTokenizer's spiece.model (its pieces numbered after <mask_1>, "
                        "<mask_2> and <unk_2> .. <unk_102>) is not read: make tokenizer.json with "
                        "transformers, AutoTokenizer.from_pretrained(DIR).save_pretrained(DIR)");
    if (other && is_class(other, "XGLMTokenizer")) /* its tokenizer.json is read */
        return mhv_fail(err, MHV_EUNSUPPORTED, file,
                        "XGLMTokenizer's sentencepiece.bpe.model (its pieces renumbered after "
                        "<s>, <pad>, </s> and <unk>, then <madeupword0> .. <madeupword6>) is "
                        "not read: it needs its tokenizer.json (transformers 5 does not convert "
                        "the model either)");
    if (other)
        return mhv_fail(err, MHV_EUNSUPPORTED, file,
                        "no tokenizer.json, and a SentencePiece model is read only for "
                        "DebertaV2Tokenizer, T5Tokenizer, XLMRobertaTokenizer, AlbertTokenizer and "
                        "LlamaTokenizer (tokenizer_class '%.40s'): make tokenizer.json with "
                        "transformers, "
                        "AutoTokenizer.from_pretrained(DIR).save_pretrained(DIR)", other);
    const char *name = mhv_json_get(config, "tokenizer_class")->valuestring;
    int want = is_class(name, "LlamaTokenizer") ? 2 : 1;
    if (m->model_type != want)
        return mhv_fail(err, MHV_EUNSUPPORTED, file,
                        "%s needs a SentencePiece %s model, this one is of type %d", name,
                        want == 2 ? "BPE" : "unigram", m->model_type);
    build b = {0};
    cJSON *nz = typed("Sequence"), *pt = typed("Sequence");
    b.root = cJSON_CreateObject();
    b.norms = cJSON_CreateArray();
    b.pres = cJSON_CreateArray();
    if (b.root && nz && pt && b.norms && b.pres) {
        cJSON_AddItemToObject(b.root, "normalizer", nz);
        cJSON_AddItemToObject(nz, "normalizers", b.norms);
        cJSON_AddItemToObject(b.root, "pre_tokenizer", pt);
        cJSON_AddItemToObject(pt, "pretokenizers", b.pres);
        *out = is_class(name, "T5Tokenizer")           ? t5(&b, m, config, &why)
               : is_class(name, "LlamaTokenizer")      ? llama(&b, m, config, &why)
               : is_class(name, "XLMRobertaTokenizer") ? xlm_roberta(&b, m, config, &why)
               : is_class(name, "AlbertTokenizer")     ? albert(&b, m, config, &why)
                                                       : deberta_v2(&b, m, config, &why);
    } else {
        cJSON_Delete(nz);
        cJSON_Delete(pt);
        cJSON_Delete(b.norms);
        cJSON_Delete(b.pres);
    }
    cJSON_Delete(b.root); /* NULL once finish handed it out */
    free(b.piece);
    free(b.score);
    free(b.control);
    if (!*out)
        return why ? mhv_fail(err, MHV_EUNSUPPORTED, file, "%s", why)
                   : mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    return MHV_OK;
}

/* MarianTokenizer's vocab.json {piece: id} as a list of pieces by id (dense 0..n-1). */
static mhv_status marian_names(const cJSON *vocab, const char ***out, int *n,
                               const char *file, mhv_error *err)
{
    *out = NULL;
    *n = cJSON_IsObject(vocab) ? cJSON_GetArraySize(vocab) : 0;
    if (*n <= 0 || *n > (1 << 24))
        return mhv_fail(err, MHV_EFORMAT, file, "vocab.json is not an object of pieces and ids");
    const char **names = calloc((size_t)*n, sizeof *names);
    if (!names)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    for (const cJSON *e = vocab->child; e; e = e->next) {
        double d = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (!(d >= 0 && d < *n) || d != (double)(int)d || names[(int)d]) {
            free(names);
            return mhv_fail(err, MHV_EFORMAT, file, "vocab.json: the id of '%.60s' is not one "
                            "of 0..%d given once", e->string, *n - 1);
        }
        names[(int)d] = e->string;
    }
    *out = names;
    return MHV_OK;
}

static cJSON *special_item(const char *name, int type_id)
{
    cJSON *item = cJSON_CreateObject(), *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "id", name);
    cJSON_AddNumberToObject(in, "type_id", type_id);
    cJSON_AddItemToObject(item, name[0] == '$' ? "Sequence" : "SpecialToken", in);
    if (name[0] == '$')
        cJSON_ReplaceItemInObject(in, "id", cJSON_CreateString(name + 1));
    return item;
}

mhv_status mhv_spm_marian_json(const mhv_spm_model *m, const cJSON *vocab,
                               const cJSON *config, const char *file, cJSON **out,
                               mhv_error *err)
{
    *out = NULL;
    if (m->model_type != 1 || m->byte_fallback)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "MarianTokenizer with a SentencePiece "
                        "model of type %d%s is not supported (unigram without byte fallback)",
                        m->model_type, m->byte_fallback ? " and byte fallback" : "");
    build b = {0};
    static const char *const keys[] = {"eos_token", "unk_token", "pad_token"};
    static const char *const defs[] = {"</s>", "<unk>", "<pad>"};
    if (!names_from(&b, config, keys, defs, 3))
        return mhv_fail(err, MHV_EFORMAT, file, "tokenizer_config.json has a special token of "
                        "the wrong type");
    int n;
    const char **names;
    mhv_status st = marian_names(vocab, &names, &n, file, err);
    if (st)
        return st;
    int32_t special[3];
    for (int k = 0; k < 3; k++) {
        const cJSON *id = mhv_json_get(vocab, b.names[k]);
        if (!cJSON_IsNumber(id)) {
            free(names);
            return mhv_fail(err, MHV_EUNSUPPORTED, file, "vocab.json has no '%.40s' (%s)",
                            b.names[k], keys[k]);
        }
        special[k] = (int32_t)id->valuedouble;
    }
    cJSON *root = cJSON_CreateObject(), *nz = typed("Sequence"), *pt = typed("Sequence");
    cJSON *model = typed("Unigram"), *pieces = cJSON_CreateArray(), *ids = cJSON_CreateArray();
    cJSON *onames = cJSON_CreateArray(), *added = cJSON_CreateArray();
    cJSON *pp = typed("TemplateProcessing"), *single = cJSON_CreateArray();
    cJSON *pair = cJSON_CreateArray(), *sp = cJSON_CreateObject();
    b.norms = cJSON_CreateArray();
    b.pres = cJSON_CreateArray();
    if (!root || !nz || !pt || !model || !pieces || !ids || !onames || !added || !pp ||
        !single || !pair || !sp || !b.norms || !b.pres) {
        cJSON *all[] = {root, nz, pt, model, pieces, ids, onames, added, pp, single, pair, sp,
                        b.norms, b.pres};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++)
            cJSON_Delete(all[i]);
        free(names);
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    }
    /* the lattice is source.spm's (or target.spm's) pieces; vocab.json gives the ids, <unk>
     * for a piece it lacks, as MarianTokenizer._convert_token_to_id does */
    for (int i = 0; i < m->n; i++) {
        cJSON *e = cJSON_CreateArray();
        cJSON_AddItemToArray(e, cJSON_CreateString(m->pieces[i].piece));
        cJSON_AddItemToArray(e, cJSON_CreateNumber(m->pieces[i].score));
        cJSON_AddItemToArray(pieces, e);
        const cJSON *id = mhv_json_get(vocab, m->pieces[i].piece);
        cJSON_AddItemToArray(ids, cJSON_CreateNumber(cJSON_IsNumber(id) ? id->valuedouble
                                                                         : special[1]));
    }
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(onames, cJSON_CreateString(names[i]));
    cJSON_AddItemToObject(model, "vocab", pieces);
    cJSON_AddNumberToObject(model, "unk_id", m->unk_id);
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    cJSON_AddItemToObject(model, "output_ids", ids);
    cJSON_AddItemToObject(model, "output_vocab", onames);
    cJSON_AddItemToObject(root, "model", model);
    b.root = root;
    add_precompiled(&b, m);
    cJSON_AddItemToArray(b.pres, typed("WhitespaceSplit"));
    add_metaspace(&b, "always", 1);
    cJSON_AddItemToObject(root, "normalizer", nz);
    cJSON_AddItemToObject(nz, "normalizers", b.norms);
    cJSON_AddItemToObject(root, "pre_tokenizer", pt);
    cJSON_AddItemToObject(pt, "pretokenizers", b.pres);
    /* the special tokens, and the language codes >>xx<< a multilingual vocabulary has
     * (MarianTokenizer takes one off the start of a text as a token of its own) */
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        int code = len > 4 && strncmp(names[i], ">>", 2) == 0 &&
                   strcmp(names[i] + len - 2, "<<") == 0;
        if (!code && i != special[0] && i != special[1] && i != special[2])
            continue;
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", i);
        cJSON_AddStringToObject(a, "content", names[i]);
        cJSON_AddBoolToObject(a, "normalized", 0);
        cJSON_AddBoolToObject(a, "special", 1);
        cJSON_AddItemToArray(added, a);
    }
    cJSON_AddItemToObject(root, "added_tokens", added);
    /* text </s>, as build_inputs_with_special_tokens appends eos */
    cJSON_AddItemToArray(single, special_item("$A", 0));
    cJSON_AddItemToArray(single, special_item(b.names[0], 0));
    cJSON_AddItemToArray(pair, special_item("$A", 0));
    cJSON_AddItemToArray(pair, special_item("$B", 0));
    cJSON_AddItemToArray(pair, special_item(b.names[0], 0));
    cJSON *e = cJSON_CreateObject(), *il = cJSON_CreateArray();
    cJSON_AddStringToObject(e, "id", b.names[0]);
    cJSON_AddItemToArray(il, cJSON_CreateNumber(special[0]));
    cJSON_AddItemToObject(e, "ids", il);
    cJSON_AddItemToObject(sp, b.names[0], e);
    cJSON_AddItemToObject(pp, "single", single);
    cJSON_AddItemToObject(pp, "pair", pair);
    cJSON_AddItemToObject(pp, "special_tokens", sp);
    cJSON_AddItemToObject(root, "post_processor", pp);
    free(names);
    *out = root;
    return MHV_OK;
}
