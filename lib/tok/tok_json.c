/* tok_json.c - loading tokenizer.json: WordPiece (BertNormalizer, BertPreTokenizer) here,
 * BPE and Unigram pipelines through pipeline.c; added tokens and the post-processor for all. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/json.h"
#include "text/unicode.h"
#include "tok/pipeline.h"
#include "tok/tok_impl.h"
#include "tok/vocab.h"
#include "tok/wordpiece.h"

#define MAX_ID (1 << 24)

static mhv_status parse_wordpiece(mhv_tok *t, const cJSON *model, const cJSON *added,
                                  const char *file, mhv_error *err)
{
    if (!cJSON_IsObject(model))
        return mhv_fail(err, MHV_EFORMAT, file, "'model' is missing or not an object");
    const cJSON *type = mhv_json_get(model, "type");
    if (type && !cJSON_IsString(type))
        return mhv_fail(err, MHV_EFORMAT, file, "'model.type' is not a string");
    /* files written by older tokenizers omit the type (bert-base-chinese's): WordPiece */
    if (type && strcmp(type->valuestring, "WordPiece") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "unsupported tokenizer model '%.60s'",
                        type->valuestring);

    const cJSON *vocab = mhv_json_get(model, "vocab");
    if (!cJSON_IsObject(vocab))
        return mhv_fail(err, MHV_EFORMAT, file, "'model.vocab' is missing or not an object");
    int n = cJSON_GetArraySize(vocab), total = n;
    /* added tokens beyond the model's vocabulary extend it (tokenizer.add_tokens) */
    for (const cJSON *a = cJSON_IsArray(added) ? added->child : NULL; a; a = a->next) {
        const cJSON *id = mhv_json_get(a, "id");
        if (cJSON_IsNumber(id) && id->valuedouble >= total && id->valuedouble < MAX_ID &&
            id->valuedouble == (double)(int32_t)id->valuedouble)
            total = (int)id->valuedouble + 1;
    }
    mhv_status st = mhv_vocab_new(total, file, &t->vocab, err);
    if (st)
        return st;
    for (const cJSON *e = vocab->child; e; e = e->next) {
        double d = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (!(d >= 0 && d <= n - 1) || d != (double)(int32_t)d)
            return mhv_fail(err, MHV_EFORMAT, file,
                            "vocabulary entry '%.60s' has no id in 0..%d", e->string, n - 1);
        st = mhv_vocab_set(t->vocab, (int32_t)d, e->string, strlen(e->string), err);
        if (st)
            return st;
    }
    for (const cJSON *a = cJSON_IsArray(added) ? added->child : NULL; a && total > n; a = a->next) {
        const cJSON *id = mhv_json_get(a, "id"), *c = mhv_json_get(a, "content");
        if (cJSON_IsNumber(id) && id->valuedouble >= n && cJSON_IsString(c) &&
            (st = mhv_vocab_set(t->vocab, (int32_t)id->valuedouble, c->valuestring,
                                strlen(c->valuestring), err)))
            return st;
    }
    if ((st = mhv_vocab_finish(t->vocab, err)))
        return st;

    const char *unk, *prefix;
    int max_chars;
    if ((st = mhv_json_str(model, "unk_token", "[UNK]", &unk, file, err)) ||
        (st = mhv_json_str(model, "continuing_subword_prefix", "##", &prefix, file, err)) ||
        (st = mhv_json_int(model, "max_input_chars_per_word", 100, 0, INT32_MAX, &max_chars,
                           file, err)))
        return st;
    st = tok_finish_wordpiece(t, unk, prefix, (size_t)max_chars, file, err);
    t->wp.n_model = n;
    return st;
}

static mhv_status parse_bert_normalizer(mhv_tok *t, const cJSON *nz, const char *file,
                                        mhv_error *err)
{
    memset(&t->norm, 0, sizeof t->norm);
    if (!nz)
        return MHV_OK;
    const char *type;
    mhv_status st = mhv_json_str(nz, "type", NULL, &type, file, err);
    if (st)
        return st;
    if (strcmp(type, "BertNormalizer") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "unsupported normalizer '%.60s'", type);
    mhv_bert_norm *b = &t->norm;
    /* HF defaults; strip_accents unset means "same as lowercase" */
    if ((st = mhv_json_bool(nz, "clean_text", 1, &b->clean_text, file, err)) ||
        (st = mhv_json_bool(nz, "handle_chinese_chars", 1, &b->handle_chinese_chars, file,
                            err)) ||
        (st = mhv_json_bool(nz, "lowercase", 1, &b->lowercase, file, err)) ||
        (st = mhv_json_bool(nz, "strip_accents", b->lowercase, &b->strip_accents, file, err)))
        return st;
    return MHV_OK;
}

static mhv_status parse_bert_pre_tokenizer(const cJSON *pt, const char *file, mhv_error *err)
{
    const char *type;
    if (!pt)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "'pre_tokenizer' is missing or has no type");
    mhv_status st = mhv_json_str(pt, "type", NULL, &type, file, err);
    if (st)
        return st;
    if (strcmp(type, "BertPreTokenizer") != 0)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "unsupported pre-tokenizer '%.60s'", type);
    return MHV_OK;
}

/* A template's special token: its ids from "special_tokens", else looked up by name. */
static mhv_status template_special(mhv_tok *t, tok_template *tp, const cJSON *specials,
                                   const char *name, int type_id, const char *file,
                                   mhv_error *err)
{
    const cJSON *ids = mhv_json_get(mhv_json_get(specials, name), "ids");
    if (!cJSON_IsArray(ids)) {
        int32_t id = mhv_vocab_lookup(t->vocab, name, strlen(name));
        if (id < 0)
            return mhv_fail(err, MHV_EFORMAT, file,
                            "special token '%.60s' is not in the vocabulary", name);
        return tok_template_add(t, tp, id, -1, type_id, file, err);
    }
    for (const cJSON *e = ids->child; e; e = e->next) {
        double d = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (!(d >= 0 && d < MAX_ID) || d != (double)(int32_t)d)
            return mhv_fail(err, MHV_EFORMAT, file, "special token '%.60s' has a bad id", name);
        mhv_status st = tok_template_add(t, tp, (int32_t)d, -1, type_id, file, err);
        if (st)
            return st;
    }
    return MHV_OK;
}

/* TemplateProcessing "single" / "pair": [{SpecialToken: {id, type_id}} | {Sequence: {id: A|B,
 * type_id}}, ...]. */
static mhv_status parse_template(mhv_tok *t, tok_template *tp, const cJSON *list,
                                 const cJSON *specials, int pair, const char *file,
                                 mhv_error *err)
{
    if (!cJSON_IsArray(list))
        return mhv_fail(err, MHV_EFORMAT, file, "'post_processor.%s' is not an array",
                        pair ? "pair" : "single");
    static const char *const seqs[] = {"A", "B"};
    int seen[2] = {0, 0};
    tp->n = 0;
    for (const cJSON *it = list->child; it; it = it->next) {
        const cJSON *sp = mhv_json_get(it, "SpecialToken"), *seq = mhv_json_get(it, "Sequence");
        const cJSON *x = cJSON_IsObject(seq) ? seq : sp;
        int type_id, which;
        const char *name;
        mhv_status st;
        if (!cJSON_IsObject(x))
            return mhv_fail(err, MHV_EFORMAT, file, "template item is neither a special token "
                                                    "nor a sequence");
        if ((st = mhv_json_int(x, "type_id", 0, 0, 255, &type_id, file, err)))
            return st;
        if (x == sp) {
            if ((st = mhv_json_str(sp, "id", NULL, &name, file, err)) ||
                (st = template_special(t, tp, specials, name, type_id, file, err)))
                return st;
            continue;
        }
        if ((st = mhv_json_enum(seq, "id", seqs, 2, -1, &which, file, err)))
            return st;
        if (seen[which] || (which == 1 && !pair))
            return mhv_fail(err, MHV_EUNSUPPORTED, file, "template repeats the sequence");
        seen[which] = 1;
        if ((st = tok_template_add(t, tp, -1, which, type_id, file, err)))
            return st;
    }
    if (!seen[0] || (pair && !seen[1]))
        return mhv_fail(err, MHV_EFORMAT, file, "template has no sequence");
    return MHV_OK;
}

/* BertProcessing / RobertaProcessing: "cls": ["[CLS]", 101], "sep": ["[SEP]", 102].
 * Single: cls A sep. Pair: cls A sep B sep (BERT, B with type 1) or cls A sep sep B sep
 * (RoBERTa, all type 0). */
static mhv_status parse_cls_sep(mhv_tok *t, const cJSON *pp, int roberta, const char *file,
                                mhv_error *err)
{
    const char *keys[2] = {"cls", "sep"};
    int32_t ids[2];
    for (int k = 0; k < 2; k++) {
        const cJSON *a = mhv_json_get(pp, keys[k]);
        const cJSON *v = cJSON_GetArrayItem(a, 1);
        double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 2 || !(d >= 0 && d < MAX_ID) ||
            d != (double)(int32_t)d)
            return mhv_fail(err, MHV_EFORMAT, file, "'post_processor.%s' is not [token, id]",
                            keys[k]);
        ids[k] = (int32_t)d;
    }
    int b = roberta ? 0 : 1;
    struct { int32_t id; int seq, type; } single[] = {{ids[0], -1, 0}, {-1, 0, 0}, {ids[1], -1, 0}};
    struct { int32_t id; int seq, type; } pair[] = {{ids[0], -1, 0}, {-1, 0, 0}, {ids[1], -1, 0},
                                                     {ids[1], -1, b}, {-1, 1, b}, {ids[1], -1, b}};
    mhv_status st = MHV_OK;
    t->single.n = t->pair.n = 0;
    for (int i = 0; i < 3 && !st; i++)
        st = tok_template_add(t, &t->single, single[i].id, single[i].seq, single[i].type, file,
                              err);
    for (int i = 0; i < 6 && !st; i++) {
        if (!roberta && i == 3)
            continue; /* BERT: one [SEP] between the two */
        st = tok_template_add(t, &t->pair, pair[i].id, pair[i].seq, pair[i].type, file, err);
    }
    t->has_pair = 1;
    return st;
}

static mhv_status parse_post_processor(mhv_tok *t, const cJSON *pp, int depth,
                                       const char *file, mhv_error *err)
{
    if (!pp)
        return MHV_OK; /* HF adds nothing then */
    const char *type;
    mhv_status st = mhv_json_str(pp, "type", NULL, &type, file, err);
    if (st)
        return st;
    if (strcmp(type, "TemplateProcessing") == 0) {
        const cJSON *specials = mhv_json_get(pp, "special_tokens");
        if ((st = parse_template(t, &t->single, mhv_json_get(pp, "single"), specials, 0, file,
                                 err)))
            return st;
        const cJSON *pair = mhv_json_get(pp, "pair");
        if (!pair)
            return MHV_OK;
        t->has_pair = 1;
        return parse_template(t, &t->pair, pair, specials, 1, file, err);
    }
    if (strcmp(type, "ByteLevel") == 0 && t->pipe) {
        /* adds no token; trim_offsets shortens spans (HF ByteLevel::process_offsets) */
        if ((st = mhv_json_bool(pp, "trim_offsets", 1, &t->trim_offsets, file, err)))
            return st;
        return mhv_json_bool(pp, "add_prefix_space", 1, &t->trim_prefix_space, file, err);
    }
    if (strcmp(type, "Sequence") == 0 && t->pipe) {
        /* Llama-3: ByteLevel then TemplateProcessing */
        const cJSON *l = mhv_json_get(pp, "processors");
        if (!cJSON_IsArray(l))
            return mhv_fail(err, MHV_EFORMAT, file, "'post_processor.processors' is not an array");
        if (depth > 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, file, "nested post-processor sequences");
        for (const cJSON *p = l->child; p; p = p->next)
            if ((st = parse_post_processor(t, p, depth + 1, file, err)))
                return st;
        return MHV_OK;
    }
    if (strcmp(type, "BertProcessing") == 0)
        return parse_cls_sep(t, pp, 0, file, err);
    if (strcmp(type, "RobertaProcessing") == 0) {
        /* its trim_offsets / add_prefix_space act as ByteLevel's (on WordPiece too: MPNet) */
        if ((st = mhv_json_bool(pp, "trim_offsets", 1, &t->trim_offsets, file, err)) ||
            (st = mhv_json_bool(pp, "add_prefix_space", 1, &t->trim_prefix_space, file, err)))
            return st;
        return parse_cls_sep(t, pp, 1, file, err);
    }
    return mhv_fail(err, MHV_EUNSUPPORTED, file, "unsupported post-processor '%.60s'", type);
}

static mhv_status parse_added(mhv_tok *t, const cJSON *arr, const char *file, mhv_error *err)
{
    if (!arr)
        return MHV_OK;
    if (!cJSON_IsArray(arr))
        return mhv_fail(err, MHV_EFORMAT, file, "'added_tokens' is not an array");
    for (const cJSON *a = arr->child; a; a = a->next) {
        const char *content;
        int id, special, normalized, lstrip, rstrip, single_word;
        mhv_status st;
        if (!cJSON_IsObject(a))
            return mhv_fail(err, MHV_EFORMAT, file, "an added token lacks 'id' or 'content'");
        if ((st = mhv_json_str(a, "content", NULL, &content, file, err)) ||
            (st = mhv_json_int(a, "id", -1, 0, INT32_MAX, &id, file, err)) ||
            (st = mhv_json_bool(a, "special", 0, &special, file, err)) ||
            (st = mhv_json_bool(a, "normalized", 1, &normalized, file, err)) ||
            (st = mhv_json_bool(a, "lstrip", 0, &lstrip, file, err)) ||
            (st = mhv_json_bool(a, "rstrip", 0, &rstrip, file, err)) ||
            (st = mhv_json_bool(a, "single_word", 0, &single_word, file, err)))
            return st;
        /* normalized tokens are matched in the normalized text (tok_sort_added normalizes
         * their contents once the normalizer is loaded) */
        if ((st = tok_add_token(t, content, (int32_t)id, lstrip, rstrip, single_word, normalized,
                                file, err)))
            return st;
        if (special)
            tok_mark_special(t, (int32_t)id);
    }
    return MHV_OK;
}

/* BPE / Unigram tokenizer.json: pipeline.c reads model, normalizer and pre-tokenizer. */
static mhv_status load_pipeline(mhv_tok *t, const cJSON *j, const char *path, mhv_error *err)
{
    mhv_status st = mhv_pipeline_from_json(j, path, &t->vocab, &t->pipe, err);
    if (st)
        return st;
    t->kind = mhv_pipeline_is_bytelevel(t->pipe) ? MHV_TOK_BYTELEVEL_BPE
                                                 : MHV_TOK_SENTENCEPIECE_BPE;
    if (!(st = tok_alloc_special(t, path, err)) &&
        !(st = parse_added(t, mhv_json_get(j, "added_tokens"), path, err)))
        st = parse_post_processor(t, mhv_json_get(j, "post_processor"), 0, path, err);
    return st;
}

mhv_status tok_load_json(mhv_tok *t, const char *path, mhv_error *err)
{
    cJSON *j;
    mhv_status st = mhv_json_load(path, MHV_TOK_MAX_JSON, &j, err);
    if (st)
        return st;
    st = tok_load_json_doc(t, j, path, err);
    cJSON_Delete(j);
    return st;
}

mhv_status tok_load_json_doc(mhv_tok *t, const cJSON *j, const char *path, mhv_error *err)
{
    mhv_status st = mhv_decoder_parse(mhv_json_get(j, "decoder"), &t->dec, path, err);
    if (st)
        return st;
    if (mhv_pipeline_handles(j))
        st = load_pipeline(t, j, path, err);
    else if (!(st = parse_wordpiece(t, mhv_json_get(j, "model"), mhv_json_get(j, "added_tokens"),
                                     path, err)) &&
             !(st = parse_bert_normalizer(t, mhv_json_get(j, "normalizer"), path, err)) &&
             !(st = parse_bert_pre_tokenizer(mhv_json_get(j, "pre_tokenizer"), path, err)) &&
             !(st = parse_added(t, mhv_json_get(j, "added_tokens"), path, err)))
        st = parse_post_processor(t, mhv_json_get(j, "post_processor"), 0, path, err);
    return st;
}
