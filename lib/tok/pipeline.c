/* pipeline.c - normalizer, pre-tokenizer and model of a BPE / Unigram tokenizer.json. */
#include "tok/pipeline.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/json.h"
#include "tok/bpe.h"
#include "tok/normalize.h"
#include "tok/pretokenize.h"
#include "tok/unigram.h"

struct mhv_pipeline {
    mhv_normalizer *norm;
    mhv_pretokenizer *pre;
    mhv_bpe *bpe;         /* one of the two models */
    mhv_unigram *unigram;
};

static const char *model_type(const cJSON *model)
{
    const cJSON *type = mhv_json_get(model, "type");
    if (cJSON_IsString(type))
        return type->valuestring;
    /* files written by older tokenizers omit the type: merges mean BPE */
    return mhv_json_get(model, "merges") ? "BPE" : NULL;
}

int mhv_pipeline_handles(const cJSON *root)
{
    const char *t = model_type(mhv_json_get(root, "model"));
    return t && (strcmp(t, "BPE") == 0 || strcmp(t, "Unigram") == 0);
}

void mhv_pipeline_free(mhv_pipeline *p)
{
    if (!p)
        return;
    mhv_normalizer_free(p->norm);
    mhv_pretokenizer_free(p->pre);
    mhv_bpe_free(p->bpe);
    mhv_unigram_free(p->unigram);
    free(p);
}

mhv_status mhv_pipeline_from_json(const cJSON *root, const char *file, mhv_vocab **vocab,
                                  mhv_pipeline **out, mhv_error *err)
{
    *vocab = NULL;
    *out = NULL;
    mhv_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    const cJSON *model = mhv_json_get(root, "model"), *added = mhv_json_get(root, "added_tokens");
    const char *type = model_type(model);
    mhv_status st;
    if (!cJSON_IsObject(model))
        st = mhv_fail(err, MHV_EFORMAT, file, "'model' is missing or not an object");
    else if (type && strcmp(type, "BPE") == 0)
        st = mhv_bpe_from_json(model, added, file, vocab, &p->bpe, err);
    else if (type && strcmp(type, "Unigram") == 0)
        st = mhv_unigram_from_json(model, added, file, vocab, &p->unigram, err);
    else
        st = mhv_fail(err, MHV_EUNSUPPORTED, file, "unsupported tokenizer model '%.60s'",
                      type ? type : "?");
    if (!st)
        st = mhv_normalizer_from_json(mhv_json_get(root, "normalizer"), file, &p->norm, err);
    if (!st)
        st = mhv_pretokenizer_from_json(mhv_json_get(root, "pre_tokenizer"), file, &p->pre, err);
    if (st) {
        mhv_pipeline_free(p);
        mhv_vocab_free(*vocab);
        *vocab = NULL;
        return st;
    }
    *out = p;
    return MHV_OK;
}

mhv_status mhv_pipeline_from_bpe_files(const char *vocab_json, const char *merges_txt, int qwen2,
                                       int add_prefix_space, const int32_t *extra_ids,
                                       const char *const *extra_pieces, int n_extra,
                                       mhv_vocab **vocab, mhv_pipeline **out, mhv_error *err)
{
    *vocab = NULL;
    *out = NULL;
    mhv_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return mhv_fail(err, MHV_ENOMEM, vocab_json, "out of memory");
    /* what transformers' GPT2Tokenizer / Qwen2Tokenizer do in Python */
    mhv_status st = mhv_bpe_from_files(vocab_json, merges_txt, extra_ids, extra_pieces, n_extra,
                                       vocab, &p->bpe, err);
    if (!st)
        st = mhv_normalizer_nfc(qwen2, &p->norm, err);
    if (!st)
        st = mhv_pretokenizer_bytelevel(qwen2, add_prefix_space, &p->pre, err);
    if (st) {
        mhv_pipeline_free(p);
        mhv_vocab_free(*vocab);
        *vocab = NULL;
        return st;
    }
    *out = p;
    return MHV_OK;
}

int mhv_pipeline_is_bytelevel(const mhv_pipeline *p)
{
    return mhv_pretokenizer_is_bytelevel(p->pre);
}

const char *mhv_pipeline_model(const mhv_pipeline *p)
{
    return p->bpe ? "BPE" : "Unigram";
}

mhv_status mhv_pipeline_normalize(const mhv_pipeline *p, const uint32_t *cps, size_t n,
                                  int32_t orig_base, mhv_normtext *out, mhv_error *err)
{
    mhv_normtext t = {0};
    if (!mhv_normtext_reserve(&t, n + 1))
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    for (size_t i = 0; i < n; i++) {
        t.cp[i] = cps[i];
        t.orig[i] = orig_base + (int32_t)i;
    }
    t.n = n;
    mhv_status st = mhv_normalizer_apply(p->norm, &t, err);
    if (!st && t.n == 0) {
        mhv_normtext_free(&t);
        return MHV_OK;
    }
    if (!st && out->n == 0) {
        mhv_normtext_free(out);
        *out = t;
        return MHV_OK;
    }
    if (!st && !mhv_normtext_reserve(out, t.n))
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (!st) {
        memcpy(out->cp + out->n, t.cp, t.n * sizeof *t.cp);
        memcpy(out->orig + out->n, t.orig, t.n * sizeof *t.orig);
        out->n += t.n;
    }
    mhv_normtext_free(&t);
    return st;
}

mhv_status mhv_pipeline_encode_normalized(const mhv_pipeline *p, const uint32_t *cp,
                                          const int32_t *orig, size_t n, int32_t start,
                                          mhv_toklist *out, mhv_error *err)
{
    mhv_normtext t = {0};
    mhv_words w = {0};
    if (n == 0)
        return MHV_OK;
    if (!mhv_normtext_reserve(&t, n + 1))
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    memcpy(t.cp, cp, n * sizeof *cp);
    memcpy(t.orig, orig, n * sizeof *orig);
    t.n = n;
    mhv_status st = mhv_pretokenize(p->pre, &t, start, &w, err);
    for (size_t k = 0; k < w.n && !st; k++) {
        const uint32_t *wc = w.t.cp + w.w[2 * k];
        const int32_t *wo = w.t.orig + w.w[2 * k];
        size_t len = w.w[2 * k + 1] - w.w[2 * k];
        st = p->bpe ? mhv_bpe_word(p->bpe, wc, wo, len, out, err)
                    : mhv_unigram_word(p->unigram, wc, wo, len, out, err);
    }
    mhv_normtext_free(&t);
    mhv_words_free(&w);
    return st;
}

mhv_status mhv_pipeline_encode(const mhv_pipeline *p, const uint32_t *cps, size_t n,
                               int32_t orig_base, mhv_toklist *out, mhv_error *err)
{
    mhv_normtext t = {0};
    mhv_status st = mhv_pipeline_normalize(p, cps, n, orig_base, &t, err);
    if (!st)
        st = mhv_pipeline_encode_normalized(p, t.cp, t.orig, t.n, orig_base, out, err);
    mhv_normtext_free(&t);
    return st;
}
