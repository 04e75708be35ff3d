/* pretokenize.h - the pre-tokenizers of tokenizer.json for BPE and Unigram models: Split
 * (any regex, through Oniguruma, or a literal; every behavior; invert), ByteLevel, Metaspace
 * (every prepend_scheme), WhitespaceSplit, Whitespace, Digits, Punctuation,
 * CharDelimiterSplit, BertPreTokenizer and nested Sequence. They cut normalized text into
 * words; every code point keeps the original character it came from. */
#ifndef MHV_PRETOKENIZE_H
#define MHV_PRETOKENIZE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tok/normalize.h"

struct cJSON;
typedef struct mhv_pretokenizer mhv_pretokenizer;

/* Words: word k is t.cp[w[2k] .. w[2k+1]); start[k] is the original character HF regards
 * as its start (offsets_original().0: the segment start until a split cuts it, then the
 * first character's origin), which Metaspace's prepend_scheme "first" looks at. */
typedef struct {
    mhv_normtext t;
    size_t *w;       /* (n, 2) */
    int32_t *start;  /* (n,) */
    size_t n, cap;
} mhv_words;

void mhv_words_free(mhv_words *w);

/* From tokenizer.json's "pre_tokenizer" (NULL or null: the whole text is one word). */
mhv_status mhv_pretokenizer_from_json(const struct cJSON *pt, const char *file,
                                      mhv_pretokenizer **out, mhv_error *err);
/* What GPT2Tokenizer / Qwen2Tokenizer do without a tokenizer.json: the pattern's split
 * (qwen2: Qwen2's, else GPT-2's) then ByteLevel. */
mhv_status mhv_pretokenizer_bytelevel(int qwen2, int add_prefix_space, mhv_pretokenizer **out,
                                      mhv_error *err);
void mhv_pretokenizer_free(mhv_pretokenizer *p);
/* 1 when the words end up in GPT-2's byte alphabet (a ByteLevel step is present). */
int mhv_pretokenizer_is_bytelevel(const mhv_pretokenizer *p);

/* Cuts t (taken over: the caller's t is emptied) into words; seg_start is the original
 * index of the segment's first character. */
mhv_status mhv_pretokenize(const mhv_pretokenizer *p, mhv_normtext *t, int32_t seg_start,
                           mhv_words *out, mhv_error *err);

#endif
