/* tokenizer.c - loading a BERT WordPiece tokenizer (tokenizer.json, or vocab.txt with
 * tokenizer_config.json) and encoding sentences as Hugging Face tokenizers does.
 *
 * Sentence limits: mhv_tok_encode accepts any bytes without crashing, but only valid UTF-8
 * without NUL and at most MHV_TOK_MAX_INPUT bytes is encoded; anything else is MHV_EINPUT or
 * MHV_EUSAGE. tokenizer.json's "truncation" and "padding" are ignored on purpose: the caller
 * decides how long a sequence the model takes. */
#include "tok/tokenizer.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tok/bpe.h"
#include "base/fileio.h"
#include "tok/pretok.h"
#include "text/unicode.h"
#include "tok/vocab.h"
#include "tok/wordpiece.h"

#define MHV_TOK_MAX_INPUT (64u << 20)
#define MHV_TOK_MAX_JSON (512u << 20)
#define MHV_TOK_MAX_SPECIAL 8 /* ids a post-processor may add before or after the text */

typedef struct {
    char *content;   /* NUL-terminated UTF-8 */
    size_t len;      /* bytes */
    int32_t id;
    int lstrip, rstrip;
} added_token;

struct mhv_tok {
    mhv_tok_kind kind;
    mhv_vocab *vocab;
    mhv_bert_norm norm;
    mhv_wordpiece wp;
    added_token *added; /* (n_added,) matched in the raw text, before normalisation */
    int n_added;
    int32_t pre[MHV_TOK_MAX_SPECIAL], post[MHV_TOK_MAX_SPECIAL]; /* [CLS] / [SEP] */
    int n_pre, n_post;
    unsigned char *special; /* (vocab size,) 1 for special tokens */
    mhv_bpe *bpe;           /* BPE kinds: normalizer, pre-tokenizer and model */
    int trim_offsets;       /* ByteLevel post-processor: spans leave out leading/trailing Ġ */
    int trim_prefix_space;  /* ... except the one space add_prefix_space put at the start */
    char warning[700];      /* mhv_tok_warning; empty when none */
};

/* ---- file and JSON helpers ---- */

static mhv_status load_json(const char *path, cJSON **out, mhv_error *err)
{
    char *buf;
    size_t len = 0;
    mhv_status st = mhv_read_file(path, MHV_TOK_MAX_JSON, &buf, &len, err);
    if (st)
        return st;
    /* cJSON recurses per nesting level, bounded by its CJSON_NESTING_LIMIT (1000) */
    cJSON *j = cJSON_ParseWithLength(buf, len);
    free(buf);
    if (!j)
        return mhv_fail(err, MHV_EFORMAT, path, "not valid JSON");
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return mhv_fail(err, MHV_EFORMAT, path, "top level is not a JSON object");
    }
    *out = j;
    return MHV_OK;
}

static const cJSON *jget(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* A present, non-null member must be a boolean; *v keeps its default otherwise. */
static mhv_status jbool(const cJSON *obj, const char *key, int *v, const char *file,
                        mhv_error *err)
{
    const cJSON *x = jget(obj, key);
    if (!x || cJSON_IsNull(x))
        return MHV_OK;
    if (!cJSON_IsBool(x))
        return mhv_fail(err, MHV_EFORMAT, file, "'%s' is not a boolean", key);
    *v = cJSON_IsTrue(x);
    return MHV_OK;
}

static int jint(const cJSON *x, double lo, double hi, int64_t *v)
{
    if (!cJSON_IsNumber(x))
        return 0;
    double d = x->valuedouble;
    if (!(d >= lo && d <= hi) || d != floor(d))
        return 0;
    *v = (int64_t)d;
    return 1;
}

/* Special-token strings in tokenizer_config.json are either "x" or {"content": "x", ...}. */
static const char *jtoken_string(const cJSON *obj, const char *key, const char *dflt)
{
    const cJSON *x = jget(obj, key);
    if (cJSON_IsObject(x))
        x = jget(x, "content");
    return cJSON_IsString(x) ? x->valuestring : dflt;
}

/* ---- loading ---- */

static mhv_status mark_special(mhv_tok *t, int32_t id)
{
    if (id >= 0 && id < mhv_vocab_size(t->vocab))
        t->special[id] = 1;
    return MHV_OK;
}

/* Every mhv_tok_open_* calls sort_added after its last add_token: match_added needs it. */
static mhv_status add_token(mhv_tok *t, const char *content, int32_t id, int lstrip,
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

static mhv_status tok_new(mhv_tok **out, const char *file, mhv_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    (*out)->kind = MHV_TOK_WORDPIECE;
    return MHV_OK;
}

static mhv_status finish_vocab(mhv_tok *t, const char *unk, const char *prefix,
                               size_t max_chars, const char *file, mhv_error *err)
{
    int32_t unk_id = mhv_vocab_lookup(t->vocab, unk, strlen(unk));
    if (unk_id < 0)
        return mhv_fail(err, MHV_EFORMAT, file, "unknown token '%.60s' is not in the vocabulary",
                        unk);
    if (strlen(prefix) >= sizeof t->wp.prefix)
        return mhv_fail(err, MHV_EFORMAT, file, "continuing_subword_prefix is too long");
    mhv_wordpiece_init(&t->wp, t->vocab, prefix, max_chars, unk_id);
    t->special = calloc((size_t)mhv_vocab_size(t->vocab), 1);
    if (!t->special)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    return mark_special(t, unk_id);
}

static mhv_status parse_model(mhv_tok *t, const cJSON *model, const char *file, mhv_error *err)
{
    if (!cJSON_IsObject(model))
        return mhv_fail(err, MHV_EFORMAT, file, "'model' is missing or not an object");
    const cJSON *type = jget(model, "type");
    if (type && !cJSON_IsString(type))
        return mhv_fail(err, MHV_EFORMAT, file, "'model.type' is not a string");
    /* Files written by older tokenizers omit the type (bert-base-chinese's): WordPiece is
     * implied unless BPE merges are there. */
    if (!type && jget(model, "merges"))
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "unsupported tokenizer model 'BPE'");
    if (type && strcmp(type->valuestring, "WordPiece") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "unsupported tokenizer model '%.60s'",
                        type->valuestring);

    const cJSON *vocab = jget(model, "vocab");
    if (!cJSON_IsObject(vocab))
        return mhv_fail(err, MHV_EFORMAT, file, "'model.vocab' is missing or not an object");
    int n = cJSON_GetArraySize(vocab);
    mhv_status st = mhv_vocab_new(n, file, &t->vocab, err);
    if (st)
        return st;
    for (const cJSON *e = vocab->child; e; e = e->next) {
        int64_t id;
        if (!jint(e, 0, (double)n - 1, &id))
            return mhv_fail(err, MHV_EFORMAT, file,
                            "vocabulary entry '%.60s' has no id in 0..%d", e->string, n - 1);
        st = mhv_vocab_set(t->vocab, (int32_t)id, e->string, strlen(e->string), err);
        if (st)
            return st;
    }
    if ((st = mhv_vocab_finish(t->vocab, err)))
        return st;

    const char *unk = "[UNK]", *prefix = "##";
    const cJSON *x = jget(model, "unk_token");
    if (x && !cJSON_IsNull(x)) {
        if (!cJSON_IsString(x))
            return mhv_fail(err, MHV_EFORMAT, file, "'model.unk_token' is not a string");
        unk = x->valuestring;
    }
    x = jget(model, "continuing_subword_prefix");
    if (x && !cJSON_IsNull(x)) {
        if (!cJSON_IsString(x))
            return mhv_fail(err, MHV_EFORMAT, file,
                            "'model.continuing_subword_prefix' is not a string");
        prefix = x->valuestring;
    }
    int64_t max_chars = 100;
    x = jget(model, "max_input_chars_per_word");
    if (x && !cJSON_IsNull(x) && !jint(x, 0, 9007199254740992.0, &max_chars))
        return mhv_fail(err, MHV_EFORMAT, file,
                        "'model.max_input_chars_per_word' is not a non-negative integer");
    return finish_vocab(t, unk, prefix, (size_t)max_chars, file, err);
}

static mhv_status parse_normalizer(mhv_tok *t, const cJSON *nz, const char *file,
                                   mhv_error *err)
{
    memset(&t->norm, 0, sizeof t->norm);
    if (!nz || cJSON_IsNull(nz))
        return MHV_OK;
    const cJSON *type = jget(nz, "type");
    if (!cJSON_IsObject(nz) || !cJSON_IsString(type))
        return mhv_fail(err, MHV_EFORMAT, file, "'normalizer' has no type");
    if (strcmp(type->valuestring, "BertNormalizer") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "unsupported normalizer '%.60s'",
                        type->valuestring);
    mhv_bert_norm *b = &t->norm;
    b->clean_text = b->handle_chinese_chars = b->lowercase = 1; /* HF defaults */
    b->strip_accents = -1;
    mhv_status st;
    if ((st = jbool(nz, "clean_text", &b->clean_text, file, err)) ||
        (st = jbool(nz, "handle_chinese_chars", &b->handle_chinese_chars, file, err)) ||
        (st = jbool(nz, "lowercase", &b->lowercase, file, err)) ||
        (st = jbool(nz, "strip_accents", &b->strip_accents, file, err)))
        return st;
    if (b->strip_accents < 0)
        b->strip_accents = b->lowercase;
    return MHV_OK;
}

static mhv_status parse_pre_tokenizer(const cJSON *pt, const char *file, mhv_error *err)
{
    const cJSON *type = jget(pt, "type");
    if (!cJSON_IsObject(pt) || !cJSON_IsString(type))
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "'pre_tokenizer' is missing or has no type");
    if (strcmp(type->valuestring, "BertPreTokenizer") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "unsupported pre-tokenizer '%.60s'",
                        type->valuestring);
    return MHV_OK;
}

static mhv_status push_special(mhv_tok *t, int32_t *ids, int *n, int64_t id, const char *file,
                               mhv_error *err)
{
    if (id < 0 || id >= mhv_vocab_size(t->vocab))
        return mhv_fail(err, MHV_EFORMAT, file, "post-processor token id %lld out of range",
                        (long long)id);
    if (*n >= MHV_TOK_MAX_SPECIAL)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "post-processor adds too many tokens");
    ids[(*n)++] = (int32_t)id;
    return mark_special(t, (int32_t)id);
}

/* TemplateProcessing "single": [SpecialToken..., Sequence A, SpecialToken...]. */
static mhv_status parse_template(mhv_tok *t, const cJSON *pp, const char *file, mhv_error *err)
{
    const cJSON *single = jget(pp, "single"), *specials = jget(pp, "special_tokens");
    if (!cJSON_IsArray(single))
        return mhv_fail(err, MHV_EFORMAT, file, "'post_processor.single' is not an array");
    int seen_seq = 0;
    for (const cJSON *it = single->child; it; it = it->next) {
        const cJSON *sp = jget(it, "SpecialToken"), *seq = jget(it, "Sequence");
        if (cJSON_IsObject(seq)) {
            if (seen_seq)
                return mhv_fail(err, MHV_EUNSUPPORTED, file, "template repeats the sequence");
            seen_seq = 1;
            continue;
        }
        const cJSON *name = jget(sp, "id");
        if (!cJSON_IsObject(sp) || !cJSON_IsString(name))
            return mhv_fail(err, MHV_EFORMAT, file, "template item is neither a special token "
                                                    "nor a sequence");
        const cJSON *def = jget(specials, name->valuestring), *ids = jget(def, "ids");
        int32_t *dst = seen_seq ? t->post : t->pre;
        int *dn = seen_seq ? &t->n_post : &t->n_pre;
        if (cJSON_IsArray(ids)) {
            for (const cJSON *e = ids->child; e; e = e->next) {
                int64_t id;
                if (!jint(e, 0, INT32_MAX, &id))
                    return mhv_fail(err, MHV_EFORMAT, file, "special token '%.60s' has a bad id",
                                    name->valuestring);
                mhv_status st = push_special(t, dst, dn, id, file, err);
                if (st)
                    return st;
            }
        } else {
            /* no ids listed: the token is looked up by name */
            int32_t id = mhv_vocab_lookup(t->vocab, name->valuestring, strlen(name->valuestring));
            if (id < 0)
                return mhv_fail(err, MHV_EFORMAT, file,
                                "special token '%.60s' is not in the vocabulary",
                                name->valuestring);
            mhv_status st = push_special(t, dst, dn, id, file, err);
            if (st)
                return st;
        }
    }
    if (!seen_seq)
        return mhv_fail(err, MHV_EFORMAT, file, "template has no sequence");
    return MHV_OK;
}

/* BertProcessing / RobertaProcessing: "cls": ["[CLS]", 101], "sep": ["[SEP]", 102]. */
static mhv_status parse_pair_processor(mhv_tok *t, const cJSON *pp, const char *file,
                                       mhv_error *err)
{
    const char *keys[2] = {"cls", "sep"};
    for (int k = 0; k < 2; k++) {
        const cJSON *a = jget(pp, keys[k]);
        int64_t id;
        if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 2 ||
            !jint(cJSON_GetArrayItem(a, 1), 0, INT32_MAX, &id))
            return mhv_fail(err, MHV_EFORMAT, file, "'post_processor.%s' is not [token, id]",
                            keys[k]);
        mhv_status st = k == 0 ? push_special(t, t->pre, &t->n_pre, id, file, err)
                               : push_special(t, t->post, &t->n_post, id, file, err);
        if (st)
            return st;
    }
    return MHV_OK;
}

static mhv_status parse_post_processor(mhv_tok *t, const cJSON *pp, const char *file,
                                       mhv_error *err)
{
    if (!pp || cJSON_IsNull(pp))
        return MHV_OK; /* HF adds nothing then */
    const cJSON *type = jget(pp, "type");
    if (!cJSON_IsObject(pp) || !cJSON_IsString(type))
        return mhv_fail(err, MHV_EFORMAT, file, "'post_processor' has no type");
    if (strcmp(type->valuestring, "TemplateProcessing") == 0)
        return parse_template(t, pp, file, err);
    if (strcmp(type->valuestring, "ByteLevel") == 0 && t->bpe) {
        /* adds no token; trim_offsets shortens spans (HF ByteLevel::process_offsets) */
        mhv_status st = jbool(pp, "trim_offsets", &t->trim_offsets, file, err);
        return st ? st : jbool(pp, "add_prefix_space", &t->trim_prefix_space, file, err);
    }
    if (strcmp(type->valuestring, "Sequence") == 0 && t->bpe) {
        /* Llama-3: ByteLevel then TemplateProcessing; nested sequences are refused */
        const cJSON *l = jget(pp, "processors");
        if (!cJSON_IsArray(l))
            return mhv_fail(err, MHV_EFORMAT, file, "'post_processor.processors' is not an array");
        for (const cJSON *p = l->child; p; p = p->next) {
            const cJSON *pt = jget(p, "type");
            if (cJSON_IsString(pt) && strcmp(pt->valuestring, "Sequence") == 0)
                return mhv_fail(err, MHV_EUNSUPPORTED, file, "nested post-processor sequences");
            mhv_status st = parse_post_processor(t, p, file, err);
            if (st)
                return st;
        }
        return MHV_OK;
    }
    if (strcmp(type->valuestring, "BertProcessing") == 0 ||
        strcmp(type->valuestring, "RobertaProcessing") == 0)
        return parse_pair_processor(t, pp, file, err);
    return mhv_fail(err, MHV_EUNSUPPORTED, file, "unsupported post-processor '%.60s'",
                    type->valuestring);
}

static mhv_status parse_added(mhv_tok *t, const cJSON *arr, const char *file, mhv_error *err)
{
    if (!arr || cJSON_IsNull(arr))
        return MHV_OK;
    if (!cJSON_IsArray(arr))
        return mhv_fail(err, MHV_EFORMAT, file, "'added_tokens' is not an array");
    for (const cJSON *a = arr->child; a; a = a->next) {
        const cJSON *content = jget(a, "content");
        int64_t id;
        if (!cJSON_IsObject(a) || !cJSON_IsString(content) || !jint(jget(a, "id"), 0, INT32_MAX, &id))
            return mhv_fail(err, MHV_EFORMAT, file, "an added token lacks 'id' or 'content'");
        int special = 0, normalized = 1, lstrip = 0, rstrip = 0, single_word = 0;
        mhv_status st;
        if ((st = jbool(a, "special", &special, file, err)) ||
            (st = jbool(a, "normalized", &normalized, file, err)) ||
            (st = jbool(a, "lstrip", &lstrip, file, err)) ||
            (st = jbool(a, "rstrip", &rstrip, file, err)) ||
            (st = jbool(a, "single_word", &single_word, file, err)))
            return st;
        /* normalized tokens are matched in the raw text: the same text when the normalizer
         * is absent or NFC (GPT-2, Qwen2); WordPiece lowercases, so it refuses them */
        if ((normalized && !t->bpe) || single_word)
            return mhv_fail(err, MHV_EUNSUPPORTED, file,
                            "added token '%.60s': %s matching is not supported",
                            content->valuestring, normalized ? "normalized" : "single_word");
        if ((st = add_token(t, content->valuestring, (int32_t)id, lstrip, rstrip, file, err)))
            return st;
        if (special)
            mark_special(t, (int32_t)id);
    }
    return MHV_OK;
}

static mhv_status alloc_special(mhv_tok *t, const char *file, mhv_error *err)
{
    t->special = calloc((size_t)mhv_vocab_size(t->vocab), 1);
    return t->special ? MHV_OK : mhv_fail(err, MHV_ENOMEM, file, "out of memory");
}

/* BPE tokenizer.json: bpe.c reads model, normalizer and pre-tokenizer; added tokens and the
 * post-processor are shared with WordPiece. */
static mhv_status load_bpe_json(mhv_tok *t, const cJSON *j, const char *path, mhv_error *err)
{
    mhv_status st = mhv_bpe_from_json(j, path, &t->vocab, &t->bpe, err);
    if (st)
        return st;
    t->kind = mhv_bpe_is_bytelevel(t->bpe) ? MHV_TOK_BYTELEVEL_BPE : MHV_TOK_SENTENCEPIECE_BPE;
    if (!(st = alloc_special(t, path, err)) &&
        !(st = parse_added(t, jget(j, "added_tokens"), path, err)))
        st = parse_post_processor(t, jget(j, "post_processor"), path, err);
    return st;
}

static int is_bpe(const cJSON *model)
{
    const cJSON *type = jget(model, "type");
    return cJSON_IsString(type) ? strcmp(type->valuestring, "BPE") == 0
                                : !type && jget(model, "merges") != NULL;
}

static mhv_status load_tokenizer_json(mhv_tok *t, const char *path, mhv_error *err)
{
    cJSON *j;
    mhv_status st = load_json(path, &j, err);
    if (st)
        return st;
    if (is_bpe(jget(j, "model")))
        st = load_bpe_json(t, j, path, err);
    else if (!(st = parse_model(t, jget(j, "model"), path, err)) &&
        !(st = parse_normalizer(t, jget(j, "normalizer"), path, err)) &&
        !(st = parse_pre_tokenizer(jget(j, "pre_tokenizer"), path, err)) &&
        !(st = parse_added(t, jget(j, "added_tokens"), path, err)))
        st = parse_post_processor(t, jget(j, "post_processor"), path, err);
    cJSON_Delete(j);
    return st;
}

/* vocab.txt path: what transformers' BertTokenizer builds from tokenizer_config.json. */
static mhv_status load_vocab_txt(mhv_tok *t, const char *vocab_txt, const char *config,
                                 mhv_error *err)
{
    mhv_status st = mhv_vocab_load_txt(vocab_txt, &t->vocab, err);
    if (st)
        return st;
    cJSON *cfg = NULL;
    if (config && (st = load_json(config, &cfg, err)))
        return st;
    int lower = 1, strip = -1, chinese = 1;
    const char *names[5] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};
    if (cfg) {
        const char *keys[5] = {"unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};
        for (int i = 0; i < 5; i++)
            names[i] = jtoken_string(cfg, keys[i], names[i]);
        if ((st = jbool(cfg, "do_lower_case", &lower, config, err)) ||
            (st = jbool(cfg, "strip_accents", &strip, config, err)) ||
            (st = jbool(cfg, "tokenize_chinese_chars", &chinese, config, err)))
            goto out;
    }
    int32_t dup_first, dup_last;
    if (mhv_vocab_duplicate(t->vocab, &dup_first, &dup_last)) {
        const char *p = mhv_vocab_piece(t->vocab, dup_last);
        snprintf(t->warning, sizeof t->warning,
                 "%.500s: piece '%.60s' is on lines %d and %d; the later line is used, as "
                 "Hugging Face does", vocab_txt, p, (int)dup_first + 1, (int)dup_last + 1);
    }
    t->norm.clean_text = 1;
    t->norm.handle_chinese_chars = chinese;
    t->norm.lowercase = lower;
    t->norm.strip_accents = strip < 0 ? lower : strip;
    if ((st = finish_vocab(t, names[0], "##", 100, vocab_txt, err)))
        goto out;
    for (int i = 0; i < 5; i++) {
        int32_t id = mhv_vocab_lookup(t->vocab, names[i], strlen(names[i]));
        if (id < 0) {
            if (i == 1 || i == 3) {
                st = mhv_fail(err, MHV_EFORMAT, vocab_txt,
                              "special token '%.60s' is not in the vocabulary", names[i]);
                goto out;
            }
            continue; /* an absent [PAD] or [MASK] is simply never produced */
        }
        if ((st = add_token(t, names[i], id, 0, 0, vocab_txt, err)))
            goto out;
        mark_special(t, id);
        if (i == 3)
            t->pre[t->n_pre++] = id;
        if (i == 1)
            t->post[t->n_post++] = id;
    }
out:
    cJSON_Delete(cfg);
    return st;
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

static mhv_status sort_added(mhv_tok *t, const char *file, mhv_error *err)
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
    st = tokenizer_json ? load_tokenizer_json(t, tokenizer_json, err)
                        : load_vocab_txt(t, vocab_txt, tokenizer_config, err);
    if (!st)
        st = sort_added(t, tokenizer_json ? tokenizer_json : vocab_txt, err);
    if (st) {
        mhv_tok_close(t);
        return st;
    }
    *out = t;
    return MHV_OK;
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fclose(f);
    return 1;
}

#define MHV_TOK_MAX_ADDED 65536

/* Entries of tokenizer_config.json's added_tokens_decoder: {"151643": {"content": ...}}. */
static mhv_status config_added(const cJSON *cfg, const char *file, int32_t **ids,
                               const char ***pieces, int *n, mhv_error *err)
{
    const cJSON *dec = jget(cfg, "added_tokens_decoder");
    *n = 0;
    if (!dec || cJSON_IsNull(dec))
        return MHV_OK;
    if (!cJSON_IsObject(dec))
        return mhv_fail(err, MHV_EFORMAT, file, "'added_tokens_decoder' is not an object");
    int k = cJSON_GetArraySize(dec);
    if (k > MHV_TOK_MAX_ADDED)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "more than %d added tokens",
                        MHV_TOK_MAX_ADDED);
    *ids = malloc((size_t)(k ? k : 1) * sizeof **ids);
    *pieces = malloc((size_t)(k ? k : 1) * sizeof **pieces);
    if (!*ids || !*pieces)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    for (const cJSON *e = dec->child; e; e = e->next) {
        char *end;
        errno = 0;
        long id = strtol(e->string, &end, 10);
        const cJSON *c = jget(e, "content");
        if (errno || *end || end == e->string || id < 0 || id >= (1 << 24) ||
            !cJSON_IsString(c))
            return mhv_fail(err, MHV_EFORMAT, file,
                            "added_tokens_decoder entry '%.30s' has no id or content", e->string);
        (*ids)[*n] = (int32_t)id;
        (*pieces)[(*n)++] = c->valuestring;
    }
    return MHV_OK;
}

/* vocab.json + merges.txt: what transformers' GPT2Tokenizer / Qwen2Tokenizer build from
 * tokenizer_config.json and special_tokens_map.json. */
static mhv_status load_bpe_files(mhv_tok *t, const char *vj, const char *mt, const char *cfgp,
                                 const char *stmp, mhv_error *err)
{
    cJSON *cfg = NULL, *stm = NULL;
    int32_t *ids = NULL;
    const char **pieces = NULL;
    int n = 0, aps = 0, add_bos = 0, add_eos = 0;
    mhv_status st = MHV_OK;
    if ((cfgp && (st = load_json(cfgp, &cfg, err))) || (stmp && (st = load_json(stmp, &stm, err))))
        goto out;
    const char *cls = jtoken_string(cfg, "tokenizer_class", "GPT2Tokenizer");
    int qwen2 = strncmp(cls, "Qwen2Tokenizer", 14) == 0;
    if (!qwen2 && strncmp(cls, "GPT2Tokenizer", 13) != 0) {
        st = mhv_fail(err, MHV_EUNSUPPORTED, cfgp ? cfgp : vj,
                      "tokenizer_class '%.60s' without a tokenizer.json is not supported "
                      "(GPT2Tokenizer and Qwen2Tokenizer are)", cls);
        goto out;
    }
    if (cfg && ((st = jbool(cfg, "add_prefix_space", &aps, cfgp, err)) ||
                (st = jbool(cfg, "add_bos_token", &add_bos, cfgp, err)) ||
                (st = jbool(cfg, "add_eos_token", &add_eos, cfgp, err)) ||
                (st = config_added(cfg, cfgp, &ids, &pieces, &n, err))))
        goto out;
    if ((st = mhv_bpe_from_files(vj, mt, qwen2, aps, ids, pieces, n, &t->vocab, &t->bpe, err)))
        goto out;
    t->kind = MHV_TOK_BYTELEVEL_BPE;
    if ((st = alloc_special(t, vj, err)))
        goto out;
    const cJSON *e = n ? jget(cfg, "added_tokens_decoder")->child : NULL;
    for (int i = 0; i < n && !st; i++, e = e->next) {
        int special = 0, lstrip = 0, rstrip = 0, single = 0;
        if ((st = jbool(e, "special", &special, cfgp, err)) ||
            (st = jbool(e, "lstrip", &lstrip, cfgp, err)) ||
            (st = jbool(e, "rstrip", &rstrip, cfgp, err)) ||
            (st = jbool(e, "single_word", &single, cfgp, err)))
            break;
        if (single)
            st = mhv_fail(err, MHV_EUNSUPPORTED, cfgp,
                          "added token '%.60s': single_word matching is not supported", pieces[i]);
        else if (!(st = add_token(t, pieces[i], ids[i], lstrip, rstrip, cfgp, err)) && special)
            mark_special(t, ids[i]);
    }
    /* special tokens named in the two files are matched in the text like added tokens */
    const char *keys[4] = {"bos_token", "eos_token", "unk_token", "pad_token"};
    int32_t named[4];
    for (int k = 0; k < 4 && !st; k++) {
        const char *s = jtoken_string(stm, keys[k], jtoken_string(cfg, keys[k], NULL));
        named[k] = s ? mhv_vocab_lookup(t->vocab, s, strlen(s)) : -1;
        if (named[k] >= 0 && !(st = add_token(t, s, named[k], 0, 0, vj, err)))
            mark_special(t, named[k]);
    }
    if (!st && (add_bos || add_eos)) {
        for (int k = 0; k < 2; k++)
            if ((k == 0 ? add_bos : add_eos) && named[k] < 0)
                st = mhv_fail(err, MHV_EFORMAT, cfgp, "%s is set but the token is not in the "
                                                      "vocabulary", k ? "add_eos_token" : "add_bos_token");
        if (!st && add_bos)
            t->pre[t->n_pre++] = named[0];
        if (!st && add_eos)
            t->post[t->n_post++] = named[1];
    }
out:
    free(ids);
    free(pieces);
    cJSON_Delete(cfg);
    cJSON_Delete(stm);
    return st;
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
    if ((st = load_bpe_files(t, vocab_json, merges_txt, tokenizer_config, special_tokens_map,
                             err)) ||
        (st = sort_added(t, vocab_json, err))) {
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
    if (file_exists(tj))
        return mhv_tok_open_files(tj, NULL, NULL, out, err);
    if (file_exists(vt))
        return mhv_tok_open_files(NULL, vt, file_exists(tc) ? tc : NULL, out, err);
    char vj[4096], mt[4096], sm[4096];
    if ((size_t)snprintf(vj, sizeof vj, "%s/vocab.json", dir) >= sizeof vj ||
        (size_t)snprintf(mt, sizeof mt, "%s/merges.txt", dir) >= sizeof mt ||
        (size_t)snprintf(sm, sizeof sm, "%s/special_tokens_map.json", dir) >= sizeof sm)
        return mhv_fail(err, MHV_EUSAGE, dir, "path too long");
    if (file_exists(vj) && file_exists(mt))
        return mhv_tok_open_bpe_files(vj, mt, file_exists(tc) ? tc : NULL,
                                      file_exists(sm) ? sm : NULL, out, err);
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
    mhv_bpe_free(tok->bpe);
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
    if (tok->bpe)
        return mhv_bpe_encode(tok->bpe, d->cp + a, b - a, (int32_t)a, a == 0, out, err);
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
static void trim_offsets(const mhv_tok *tok, mhv_toklist *l, size_t first)
{
    for (size_t i = first; i < l->n; i++) {
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

mhv_status mhv_tok_encode(const mhv_tok *tok, const char *text, size_t len, mhv_encoding *out,
                          mhv_error *err)
{
    memset(out, 0, sizeof *out);
    mhv_toklist l = {0};
    decoded d;
    mhv_status st = decode_input(text, len, &d, err);
    for (int i = 0; i < tok->n_pre && !st; i++)
        st = mhv_toklist_push(&l, tok->pre[i], -1, -1, err);
    if (!st)
        st = encode_text(tok, text, &d, &l, err);
    if (!st && tok->trim_offsets)
        trim_offsets(tok, &l, (size_t)tok->n_pre);
    for (int i = 0; i < tok->n_post && !st; i++)
        st = mhv_toklist_push(&l, tok->post[i], -1, -1, err);
    decoded_free(&d);
    return finish_encode(tok, st, &l, out, err);
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
    memset(enc, 0, sizeof *enc);
}

/* ---- token text ---- */

/* "<0xE8>" -> 0xE8; -1 for anything else. */
static int byte_piece(const char *p)
{
    static const char hex[] = "0123456789ABCDEF";
    if (strlen(p) != 6 || strncmp(p, "<0x", 3) != 0 || p[5] != '>')
        return -1;
    const char *h = strchr(hex, p[3]), *l = strchr(hex, p[4]);
    if (!h || !l || !p[3] || !p[4])
        return -1;
    return (int)((h - hex) * 16 + (l - hex));
}

size_t mhv_tok_piece_bytes(mhv_tok_kind kind, const char *p, unsigned char *buf, size_t cap)
{
    size_t len = strlen(p), n = 0, i = 0;
#define PUT(b) do { if (n < cap) buf[n] = (unsigned char)(b); n++; } while (0)
    if (kind == MHV_TOK_WORDPIECE) {
        if (len > 2 && p[0] == '#' && p[1] == '#')
            i = 2;
        for (; i < len; i++)
            PUT(p[i]);
        return n;
    }
    if (kind == MHV_TOK_SENTENCEPIECE_BPE) {
        int b = byte_piece(p);
        if (b >= 0) {
            PUT(b);
            return n;
        }
    }
    while (i < len) {
        uint32_t c;
        int k = mhv_utf8_decode(p + i, len - i, &c);
        if (k == 0) { /* not UTF-8 (only a malformed file has it): the byte itself */
            PUT(p[i]);
            i++;
            continue;
        }
        int b = kind == MHV_TOK_BYTELEVEL_BPE ? mhv_bytelevel_byte(c) : -1;
        if (b >= 0)
            PUT(b);
        else if (kind == MHV_TOK_SENTENCEPIECE_BPE && c == 0x2581)
            PUT(' ');
        else /* an added token's own text, outside the byte alphabet */
            for (int j = 0; j < k; j++)
                PUT(p[i + (size_t)j]);
        i += (size_t)k;
    }
#undef PUT
    return n;
}

size_t mhv_tok_token_bytes(const mhv_tok *tok, int32_t id, unsigned char *buf, size_t cap)
{
    const char *p = mhv_vocab_piece(tok->vocab, id);
    if (!p)
        return 0;
    if (!tok->special[id])
        return mhv_tok_piece_bytes(tok->kind, p, buf, cap);
    size_t len = strlen(p);
    if (cap)
        memcpy(buf, p, len < cap ? len : cap);
    return len;
}

void mhv_tok_token_text(const mhv_tok *tok, int32_t id, char *buf, size_t size)
{
    unsigned char raw[1024];
    size_t n = mhv_tok_token_bytes(tok, id, raw, sizeof raw), o = 0, i = 0;
    if (n > sizeof raw)
        n = sizeof raw;
    if (size == 0)
        return;
    while (i < n) {
        uint32_t c;
        int k = mhv_utf8_decode((const char *)raw + i, n - i, &c);
        if (k > 0) {
            if (o + (size_t)k >= size)
                break;
            memcpy(buf + o, raw + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
            continue;
        }
        /* a run of bytes that do not decode: "<E8 8B>" */
        char hex[3 * sizeof raw + 2];
        size_t h = 0;
        hex[h++] = '<';
        while (i < n && mhv_utf8_decode((const char *)raw + i, n - i, &c) == 0) {
            h += (size_t)snprintf(hex + h, sizeof hex - h, h > 1 ? " %02X" : "%02X", raw[i]);
            i++;
        }
        hex[h++] = '>';
        if (o + h >= size)
            break;
        memcpy(buf + o, hex, h);
        o += h;
    }
    buf[o] = '\0';
}
