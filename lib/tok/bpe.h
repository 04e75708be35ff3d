/* bpe.h - the BPE pipeline of Hugging Face tokenizers for decoder models: byte-level BPE
 * (GPT-2, Qwen2) and SentencePiece-style BPE with byte fallback (LLaMA, Mistral).
 *
 * One segment of text (the part between added tokens) goes through the normalizer (NFC,
 * Prepend, Replace, in the file's order), the pre-tokenizer (ByteLevel with the GPT-2 or Qwen2
 * split pattern, or Metaspace) and the BPE model; every token keeps the span of original
 * characters it came from. */
#ifndef MHV_BPE_H
#define MHV_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tok/vocab.h"
#include "tok/wordpiece.h" /* mhv_toklist */

struct cJSON;
typedef struct mhv_bpe mhv_bpe;

/* Builds the model from a parsed tokenizer.json whose model.type is "BPE". The vocabulary
 * (model.vocab plus the ids of added_tokens beyond it) is created here and handed to the
 * caller in *vocab, which owns it and must outlive the model. */
mhv_status mhv_bpe_from_json(const struct cJSON *root, const char *file, mhv_vocab **vocab,
                             mhv_bpe **out, mhv_error *err);

/* Slow-tokenizer layout: vocab.json + merges.txt. tokenizer_class in tokenizer_config.json
 * picks the split pattern (Qwen2Tokenizer: Qwen2's and NFC; GPT2Tokenizer or none: GPT-2's);
 * extra_ids (n_extra,) / extra_pieces are the added tokens of tokenizer_config.json, placed
 * in the vocabulary when their id is beyond vocab.json's. */
mhv_status mhv_bpe_from_files(const char *vocab_json, const char *merges_txt, int qwen2,
                              int add_prefix_space, const int32_t *extra_ids,
                              const char *const *extra_pieces, int n_extra, mhv_vocab **vocab,
                              mhv_bpe **out, mhv_error *err);

void mhv_bpe_free(mhv_bpe *b);

/* 1 when pieces are byte-level strings (GPT-2 alphabet), 0 for SentencePiece pieces. */
int mhv_bpe_is_bytelevel(const mhv_bpe *b);

/* Tokenizes cps (n,) whose first code point is original character orig_base; at_start says
 * whether the segment starts the sentence (Metaspace's prepend_scheme "first"). */
mhv_status mhv_bpe_encode(const mhv_bpe *b, const uint32_t *cps, size_t n, int32_t orig_base,
                          int at_start, mhv_toklist *out, mhv_error *err);

#endif
