/* bpe.h - the BPE model of Hugging Face tokenizers (GPT-2, Qwen2, LLaMA, Mistral, Llama-3 ...):
 * vocabulary, merges, byte fallback, unk fusing, ignore_merges. Normalizers and
 * pre-tokenizers are normalize.h's and pretokenize.h's; pipeline.h puts them together. */
#ifndef MHV_BPE_H
#define MHV_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tok/vocab.h"
#include "tok/wordpiece.h" /* mhv_toklist */

struct cJSON;
typedef struct mhv_bpe mhv_bpe;

/* Builds the model from tokenizer.json's "model" object (type "BPE") and "added_tokens"
 * (may be NULL). The vocabulary (model.vocab plus the ids of added tokens beyond it) is
 * created here and handed to the caller in *vocab, which owns it and must outlive the model. */
mhv_status mhv_bpe_from_json(const struct cJSON *model, const struct cJSON *added,
                             const char *file, mhv_vocab **vocab, mhv_bpe **out, mhv_error *err);

/* Slow-tokenizer layout: vocab.json + merges.txt; extra_ids (n_extra,) / extra_pieces are the
 * added tokens of tokenizer_config.json, placed in the vocabulary when their id is beyond
 * vocab.json's. */
mhv_status mhv_bpe_from_files(const char *vocab_json, const char *merges_txt,
                              const int32_t *extra_ids, const char *const *extra_pieces,
                              int n_extra, mhv_vocab **vocab, mhv_bpe **out, mhv_error *err);

void mhv_bpe_free(mhv_bpe *b);

/* Tokenizes one word, cp (n,) whose code points came from original characters orig (n,). */
mhv_status mhv_bpe_word(const mhv_bpe *b, const uint32_t *cp, const int32_t *orig, size_t n,
                        mhv_toklist *out, mhv_error *err);

#endif
