/* unigram.h - the Unigram model of Hugging Face tokenizers (T5, XLM-R, ALBERT, DeBERTa-v3,
 * converted SentencePiece unigram models): Viterbi over the scored pieces, unknown
 * characters fused into one unk token, byte fallback. */
#ifndef MHV_UNIGRAM_H
#define MHV_UNIGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tok/vocab.h"
#include "tok/wordpiece.h" /* mhv_toklist */

struct cJSON;
typedef struct mhv_unigram mhv_unigram;

/* From tokenizer.json's "model" (type "Unigram": vocab [[piece, score], ...], unk_id,
 * byte_fallback); the vocabulary is created and handed to the caller as for BPE
 * (added tokens must reuse their vocabulary ids or extend them). mhaviz's own documents
 * may add "output_ids" (the id handed out for each piece) and "output_vocab" (the pieces
 * by those ids): the vocabulary handed to the caller is then output_vocab, the lattice
 * still the pieces (MarianTokenizer: source.spm's pieces, vocab.json's ids). */
mhv_status mhv_unigram_from_json(const struct cJSON *model, const struct cJSON *added,
                                 const char *file, mhv_vocab **vocab, mhv_unigram **out,
                                 mhv_error *err);
void mhv_unigram_free(mhv_unigram *u);

/* Tokenizes one word, cp (n,) from original characters orig (n,). */
mhv_status mhv_unigram_word(const mhv_unigram *u, const uint32_t *cp, const int32_t *orig,
                            size_t n, mhv_toklist *out, mhv_error *err);

#endif
