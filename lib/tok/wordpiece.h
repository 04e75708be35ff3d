/* wordpiece.h - the BERT pipeline of Hugging Face tokenizers: BertNormalizer,
 * BertPreTokenizer and the WordPiece model, with spans back to the original characters. */
#ifndef MHV_WORDPIECE_H
#define MHV_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tok/tokenizer.h"
#include "tok/vocab.h"

/* Normalised text: each code point remembers which original character produced it, as HF's
 * alignments do, so a token's span is [orig[first], orig[last] + 1). */
typedef struct {
    uint32_t *cp;  /* (n,) */
    int32_t *orig; /* (n,) original character index */
    size_t n, cap;
} mhv_normtext;

/* Growable token list: the output of the model before post-processing. */
typedef struct {
    int32_t *ids;   /* (n,) */
    int32_t *spans; /* (n, 2) [start, end) in original characters, {-1,-1} for none */
    size_t n, cap;
} mhv_toklist;

typedef struct {
    const mhv_vocab *vocab;
    char prefix[64];        /* continuing_subword_prefix, "##" for BERT */
    size_t prefix_len;
    size_t max_word_chars;  /* max_input_chars_per_word: a longer word becomes unk */
    int32_t unk_id;
    size_t max_piece_bytes; /* longest vocabulary entry: no longer candidate can match */
    int32_t n_model;        /* ids >= n_model are added tokens, not the model's pieces */
} mhv_wordpiece;

void mhv_normtext_free(mhv_normtext *t);
void mhv_toklist_free(mhv_toklist *l);
mhv_status mhv_toklist_push(mhv_toklist *l, int32_t id, int32_t start, int32_t end,
                            mhv_error *err);

/* Appends the normalisation of cps (n,), whose first code point is original character
 * orig_base, to out. HF order: clean_text, handle_chinese_chars, strip_accents (NFD, drop
 * Mn), lowercase; strip_accents must already be resolved (not "unset"). */
mhv_status mhv_bert_normalize(const mhv_bert_norm *nm, const uint32_t *cps, size_t n,
                              int32_t orig_base, mhv_normtext *out, mhv_error *err);

/* Fills wp; prefix must be shorter than sizeof wp->prefix (checked by the caller). */
void mhv_wordpiece_init(mhv_wordpiece *wp, const mhv_vocab *vocab, const char *prefix,
                        size_t max_word_chars, int32_t unk_id);

/* BertPreTokenizer (split on White_Space, isolate each punctuation character) then
 * greedy longest-match-first WordPiece on every word; appends to out. */
mhv_status mhv_wordpiece_encode(const mhv_wordpiece *wp, const mhv_normtext *t,
                                mhv_toklist *out, mhv_error *err);

#endif
