/* tok_m2m100.c - transformers' M2M100Tokenizer (a Python tokenizer; M2M100 checkpoints ship
 * no tokenizer.json): the text cut at its added tokens, each part through SentencePiece's
 * own encoder (spm_bpe.c), each piece numbered by vocab.json (<unk>'s id when absent), the
 * language codes __xx__ numbered after vocab.json, and src_lang's code before the text,
 * </s> after it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/fileio.h"
#include "base/json.h"
#include "tok/spm.h"
#include "tok/spm_bpe.h"
#include "tok/tok_impl.h"
#include "tok/vocab.h"

/* transformers' FAIRSEQ_LANGUAGE_CODES */
static const char *const m2m100_codes[] = {
    "af", "am", "ar", "ast", "az", "ba", "be", "bg", "bn", "br", "bs", "ca", "ceb", "cs", "cy",
    "da", "de", "el", "en", "es", "et", "fa", "ff", "fi", "fr", "fy", "ga", "gd", "gl", "gu",
    "ha", "he", "hi", "hr", "ht", "hu", "hy", "id", "ig", "ilo", "is", "it", "ja", "jv", "ka",
    "kk", "km", "kn", "ko", "lb", "lg", "ln", "lo", "lt", "lv", "mg", "mk", "ml", "mn", "mr",
    "ms", "my", "ne", "nl", "no", "ns", "oc", "or", "pa", "pl", "ps", "pt", "ro", "ru", "sd",
    "si", "sk", "sl", "so", "sq", "sr", "ss", "su", "sv", "sw", "ta", "th", "tl", "tn", "tr",
    "uk", "ur", "uz", "vi", "wo", "xh", "yi", "yo", "zh", "zu", NULL};
static const char *const wmt21_codes[] = {"en", "ha", "is", "ja", "cs", "ru", "zh", "de", NULL};

#define MAX_VOCAB (1 << 24)

/* vocab.json {piece: id}: ids 0..n-1, each once (*names (n,) borrow vocab's strings). */
static mhv_status vocab_names(const cJSON *vocab, const char ***names, int *n, const char *file,
                              mhv_error *err)
{
    *names = NULL;
    *n = cJSON_IsObject(vocab) ? cJSON_GetArraySize(vocab) : 0;
    if (*n <= 0 || *n > MAX_VOCAB)
        return mhv_fail(err, MHV_EFORMAT, file, "not an object of pieces and ids");
    if (!(*names = calloc((size_t)*n, sizeof **names)))
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    for (const cJSON *e = vocab->child; e; e = e->next) {
        double d = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (!(d >= 0 && d < *n) || d != (double)(int)d || (*names)[(int)d]) {
            free(*names);
            *names = NULL;
            return mhv_fail(err, MHV_EFORMAT, file, "the id of '%.60s' is not one of 0..%d "
                            "given once", e->string, *n - 1);
        }
        (*names)[(int)d] = e->string;
    }
    return MHV_OK;
}

/* What the class reads: tokenizer_config.json, and special_tokens_map.json's keys over it
 * unless the config lists added_tokens_decoder (transformers then ignores the map). */
typedef struct {
    const char *bos, *eos, *sep, *pad, *unk;
    const char *src_lang;
    const char *const *codes;
    int n_codes;
    const cJSON *extra;   /* additional_special_tokens / extra_special_tokens, or NULL */
    const cJSON *decoder; /* added_tokens_decoder, or NULL */
} settings;

/* The map's value over the config's, null included (a null token is no token). */
static const cJSON *setting(const cJSON *cfg, const cJSON *map, const char *key)
{
    const cJSON *v = map ? cJSON_GetObjectItemCaseSensitive(map, key) : NULL;
    return v ? v : cJSON_GetObjectItemCaseSensitive(cfg, key);
}

/* A named special token: its content, dflt when absent, NULL when null (the class then has
 * none). */
static const char *token_name(const cJSON *cfg, const cJSON *map, const char *key,
                              const char *dflt)
{
    const cJSON *v = setting(cfg, map, key);
    if (cJSON_IsObject(v))
        v = mhv_json_get(v, "content");
    if (cJSON_IsNull(v))
        return NULL;
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : dflt;
}

static mhv_status read_settings(const cJSON *cfg, const cJSON *map, const char *file,
                                settings *s, mhv_error *err)
{
    s->decoder = mhv_json_get(cfg, "added_tokens_decoder");
    if (s->decoder)
        map = NULL;
    if (s->decoder && !cJSON_IsObject(s->decoder))
        return mhv_fail(err, MHV_EFORMAT, file, "added_tokens_decoder is not an object");
    s->bos = token_name(cfg, map, "bos_token", "<s>");
    s->eos = token_name(cfg, map, "eos_token", "</s>");
    s->sep = token_name(cfg, map, "sep_token", "</s>");
    s->pad = token_name(cfg, map, "pad_token", "<pad>");
    s->unk = token_name(cfg, map, "unk_token", "<unk>");
    if (!s->eos || !s->unk) /* the class needs both (the suffix, unknown pieces) */
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "%s is null", s->eos ? "unk_token" :
                        "eos_token");
    const cJSON *lc = setting(cfg, map, "language_codes"), *src = setting(cfg, map, "src_lang");
    const char *codes = cJSON_IsString(lc) ? lc->valuestring : lc ? "?" : "m2m100";
    if (strcmp(codes, "m2m100") == 0)
        s->codes = m2m100_codes;
    else if (strcmp(codes, "wmt21") == 0)
        s->codes = wmt21_codes;
    else
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "language_codes '%.40s' is not m2m100 or "
                        "wmt21", cJSON_IsString(lc) ? lc->valuestring : "(not a string)");
    for (s->n_codes = 0; s->codes[s->n_codes];)
        s->n_codes++;
    if (src && !cJSON_IsString(src) && !cJSON_IsNull(src))
        return mhv_fail(err, MHV_EFORMAT, file, "src_lang is not a string");
    s->src_lang = cJSON_IsString(src) ? src->valuestring : "en";
    s->extra = setting(cfg, map, "extra_special_tokens");
    if (!s->extra || cJSON_IsNull(s->extra) ||
        (cJSON_IsArray(s->extra) && cJSON_GetArraySize(s->extra) == 0))
        s->extra = setting(cfg, map, "additional_special_tokens");
    if (cJSON_IsNull(s->extra))
        s->extra = NULL;
    if (s->extra && !cJSON_IsArray(s->extra))
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "additional_special_tokens is not a list");
    return MHV_OK;
}

/* Pieces of the encoder to ids: vocab.json's (and the codes'), else unk. */
typedef struct {
    const mhv_tok *t;
    int32_t unk;
    mhv_toklist *out;
} piece_ctx;

static mhv_status piece_id(void *ctx, const char *piece, size_t len, int32_t start, int32_t end,
                           mhv_error *err)
{
    piece_ctx *c = ctx;
    int32_t id = mhv_vocab_lookup(c->t->vocab, piece, len);
    return mhv_toklist_push(c->out, id >= 0 ? id : c->unk, start, end, err);
}

mhv_status tok_spm_piece(const mhv_tok *t, const uint32_t *cp, size_t n, int32_t base,
                         mhv_toklist *out, mhv_error *err)
{
    piece_ctx c = {t, t->spm_unk, out};
    return mhv_spm_bpe_encode(t->spm, cp, n, base, piece_id, &c, err);
}

/* The id the class gives a token (_convert_token_to_id): a language code's, vocab.json's,
 * else -1 (the class would give unk's). */
static int32_t class_id(const mhv_tok *t, const char *s)
{
    return mhv_vocab_lookup(t->vocab, s, strlen(s));
}

/* The added tokens: the named special tokens, the extra special tokens, the entries of
 * added_tokens_decoder (each at the id the class gives it). */
static mhv_status add_tokens(mhv_tok *t, const settings *s, const char *file, mhv_error *err)
{
    const char *named[] = {s->bos, s->eos, s->sep, s->pad, s->unk};
    mhv_status st = MHV_OK;
    for (size_t k = 0; k < 5 && !st; k++) {
        int dup = !named[k];
        for (size_t j = 0; j < k && !dup; j++)
            dup = named[j] && strcmp(named[j], named[k]) == 0;
        if (dup)
            continue;
        int32_t id = class_id(t, named[k]);
        if (id < 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, file, "special token '%.40s' is not in "
                            "vocab.json", named[k]);
        tok_mark_special(t, id);
        st = tok_add_token(t, named[k], id, 0, 0, 0, 0, file, err);
    }
    for (const cJSON *e = s->extra ? s->extra->child : NULL; e && !st; e = e->next) {
        const cJSON *c = cJSON_IsObject(e) ? mhv_json_get(e, "content") : e;
        if (!cJSON_IsString(c) || !c->valuestring[0])
            return mhv_fail(err, MHV_EFORMAT, file, "an additional special token is not a "
                            "string");
        int32_t id = class_id(t, c->valuestring);
        if (id < 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, file, "additional special token '%.40s' is "
                            "neither a language code nor in vocab.json", c->valuestring);
        tok_mark_special(t, id);
        st = tok_add_token(t, c->valuestring, id, 0, 0, 0, 0, file, err);
    }
    for (const cJSON *e = s->decoder ? s->decoder->child : NULL; e && !st; e = e->next) {
        const cJSON *c = mhv_json_get(e, "content");
        char *end;
        long key = strtol(e->string, &end, 10);
        int lstrip, rstrip, single;
        if (!cJSON_IsString(c) || !c->valuestring[0] || *end || end == e->string)
            return mhv_fail(err, MHV_EFORMAT, file, "added_tokens_decoder entry '%.20s' is not "
                            "an id with a content", e->string);
        if ((st = mhv_json_bool(e, "lstrip", 0, &lstrip, file, err)) ||
            (st = mhv_json_bool(e, "rstrip", 0, &rstrip, file, err)) ||
            (st = mhv_json_bool(e, "single_word", 0, &single, file, err)))
            return st;
        int32_t id = class_id(t, c->valuestring);
        if (id != key)
            return mhv_fail(err, MHV_EUNSUPPORTED, file, "added token '%.40s' has id %ld, "
                            "M2M100Tokenizer's is %d: tokens added to the vocabulary are not "
                            "supported", c->valuestring, key, (int)id);
        if (single) /* the Python tokenizer glues it to its neighbours: not reproduced */
            return mhv_fail(err, MHV_EUNSUPPORTED, file, "added token '%.40s' with single_word "
                            "is not supported", c->valuestring);
        int special;
        if ((st = mhv_json_bool(e, "special", 0, &special, file, err)))
            return st;
        if (special)
            tok_mark_special(t, id);
        st = tok_add_token(t, c->valuestring, id, lstrip, rstrip, 0, 0, file, err);
    }
    return st;
}

/* vocab.json's pieces, then the codes __xx__ (ids from len(vocab.json), in the class's
 * order). */
static mhv_status build_vocab(mhv_tok *t, const cJSON *vocab, const settings *s,
                              const char *file, mhv_error *err)
{
    const char **names;
    int n;
    mhv_status st = vocab_names(vocab, &names, &n, file, err);
    if (st)
        return st;
    if ((st = mhv_vocab_new(n + s->n_codes, file, &t->vocab, err))) {
        free(names);
        return st;
    }
    char code[16];
    for (int i = 0; i < s->n_codes && !st; i++) {
        snprintf(code, sizeof code, "__%s__", s->codes[i]);
        if (mhv_json_get(vocab, code))
            st = mhv_fail(err, MHV_EUNSUPPORTED, file, "vocab.json has the language code '%s' "
                          "(M2M100Tokenizer numbers them after the vocabulary)", code);
        else
            st = mhv_vocab_set(t->vocab, n + i, code, strlen(code), err);
    }
    for (int i = 0; i < n && !st; i++)
        st = mhv_vocab_set(t->vocab, i, names[i], strlen(names[i]), err);
    free(names);
    if (!st)
        st = mhv_vocab_finish(t->vocab, err);
    if (!st)
        st = tok_alloc_special(t, file, err);
    for (int i = 0; i < s->n_codes && !st; i++)
        tok_mark_special(t, n + i);
    return st;
}

/* The template: src_lang's code, the text (then the second), </s>. */
static mhv_status build_template(mhv_tok *t, const settings *s, const char *file,
                                 mhv_error *err)
{
    char code[64];
    snprintf(code, sizeof code, "__%.40s__", s->src_lang);
    int known = 0;
    for (int i = 0; i < s->n_codes; i++)
        known |= strcmp(s->codes[i], s->src_lang) == 0;
    int32_t lang = class_id(t, code), eos = class_id(t, s->eos);
    if (!known)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "src_lang '%.40s' is not one of the "
                        "language codes", s->src_lang);
    mhv_status st = MHV_OK;
    for (int pair = 0; pair < 2 && !st; pair++) {
        tok_template *tp = pair ? &t->pair : &t->single;
        if (!(st = tok_template_add(t, tp, lang, -1, 0, file, err)) &&
            !(st = tok_template_add(t, tp, -1, 0, 0, file, err)) &&
            !(st = pair ? tok_template_add(t, tp, -1, 1, 0, file, err) : MHV_OK))
            st = tok_template_add(t, tp, eos, -1, 0, file, err);
    }
    t->has_pair = 1;
    return st;
}

mhv_status mhv_tok_open_m2m100(const char *spm, const char *vocab_json,
                               const char *tokenizer_config, const char *special_tokens_map,
                               mhv_tok **out, mhv_error *err)
{
    *out = NULL;
    cJSON *cfg = NULL, *map = NULL, *vocab = NULL;
    char *buf = NULL;
    size_t len;
    mhv_spm_model m = {0};
    mhv_tok *t = NULL;
    settings s = {0};
    mhv_status st = MHV_OK;
    if (tokenizer_config)
        st = mhv_json_load(tokenizer_config, MHV_TOK_MAX_JSON, &cfg, err);
    else if (!(cfg = cJSON_CreateObject()))
        st = mhv_fail(err, MHV_ENOMEM, spm, "out of memory");
    if (!st && special_tokens_map)
        st = mhv_json_load(special_tokens_map, MHV_TOK_MAX_JSON, &map, err);
    if (!st)
        st = read_settings(cfg, map, tokenizer_config ? tokenizer_config : spm, &s, err);
    if (!st)
        st = mhv_json_load(vocab_json, MHV_TOK_MAX_JSON, &vocab, err);
    if (!st)
        st = mhv_read_file(spm, MHV_TOK_MAX_JSON, &buf, &len, err);
    if (!st)
        st = mhv_spm_parse((const unsigned char *)buf, len, spm, &m, err);
    if (!st)
        st = tok_new(&t, spm, err);
    if (!st)
        st = mhv_spm_bpe_new(&m, spm, &t->spm, err);
    if (!st)
        st = build_vocab(t, vocab, &s, vocab_json, err);
    if (!st && (t->spm_unk = class_id(t, s.unk)) < 0)
        st = mhv_fail(err, MHV_EUNSUPPORTED, vocab_json, "no '%.40s' (unk_token)", s.unk);
    if (!st)
        st = add_tokens(t, &s, tokenizer_config ? tokenizer_config : vocab_json, err);
    if (!st)
        st = build_template(t, &s, tokenizer_config ? tokenizer_config : vocab_json, err);
    if (!st)
        st = tok_sort_added(t, spm, err);
    if (!st)
        t->kind = MHV_TOK_SENTENCEPIECE_BPE;
    if (st)
        mhv_tok_close(t);
    else
        *out = t;
    cJSON_Delete(cfg);
    cJSON_Delete(map);
    cJSON_Delete(vocab);
    mhv_spm_free(&m);
    free(buf);
    return st;
}
