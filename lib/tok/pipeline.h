/* pipeline.h - one segment of text (the part between added tokens) through a tokenizer.json
 * pipeline other than BERT's: normalizer, pre-tokenizer, then the BPE or Unigram model on
 * every word; every token keeps the span of original characters it came from. */
#ifndef MHV_PIPELINE_H
#define MHV_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tok/vocab.h"
#include "tok/wordpiece.h" /* mhv_toklist, mhv_normtext */

struct cJSON;
typedef struct mhv_pipeline mhv_pipeline;

/* 1 when tokenizer.json's model is one the pipeline runs (BPE, Unigram). */
int mhv_pipeline_handles(const struct cJSON *root);

/* From a parsed tokenizer.json. The vocabulary is created and handed to the caller in
 * *vocab, which owns it and must outlive the pipeline. */
mhv_status mhv_pipeline_from_json(const struct cJSON *root, const char *file, mhv_vocab **vocab,
                                  mhv_pipeline **out, mhv_error *err);
/* Slow-tokenizer layout: vocab.json + merges.txt as GPT2Tokenizer (qwen2 = 0) or
 * Qwen2Tokenizer (qwen2 = 1, NFC and Qwen2's split pattern) build it; extra_* are the added
 * tokens of tokenizer_config.json (see mhv_bpe_from_files). */
mhv_status mhv_pipeline_from_bpe_files(const char *vocab_json, const char *merges_txt, int qwen2,
                                       int add_prefix_space, const int32_t *extra_ids,
                                       const char *const *extra_pieces, int n_extra,
                                       mhv_vocab **vocab, mhv_pipeline **out, mhv_error *err);
void mhv_pipeline_free(mhv_pipeline *p);

/* 1 when pieces are byte-level strings (GPT-2 alphabet), 0 for SentencePiece-style pieces. */
int mhv_pipeline_is_bytelevel(const mhv_pipeline *p);
/* "BPE" or "Unigram". */
const char *mhv_pipeline_model(const mhv_pipeline *p);

/* Tokenizes cps (n,) whose first code point is original character orig_base: normalize, then
 * encode_normalized. */
mhv_status mhv_pipeline_encode(const mhv_pipeline *p, const uint32_t *cps, size_t n,
                               int32_t orig_base, mhv_toklist *out, mhv_error *err);
/* The normalizer alone: appends the normalization of cps (n,) to out. */
mhv_status mhv_pipeline_normalize(const mhv_pipeline *p, const uint32_t *cps, size_t n,
                                  int32_t orig_base, mhv_normtext *out, mhv_error *err);
/* Pre-tokenizer and model on normalized text cp (n,) from original characters orig (n,);
 * start is the original character HF takes as the text's start (Metaspace "first"). */
mhv_status mhv_pipeline_encode_normalized(const mhv_pipeline *p, const uint32_t *cp,
                                          const int32_t *orig, size_t n, int32_t start,
                                          mhv_toklist *out, mhv_error *err);

#endif
