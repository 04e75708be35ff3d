/* pretok.h - the pieces of byte-level BPE pre-tokenization: the GPT-2 and Qwen2 split
 * patterns as hand-written matchers (the fast path of those two regexes: pretokenize.c uses
 * them instead of Oniguruma, and fuzz_regex checks that they cut text the same way) and
 * GPT-2's byte-to-unicode alphabet. */
#ifndef MHV_PRETOK_H
#define MHV_PRETOK_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MHV_PRETOK_GPT2 = 0, /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
    MHV_PRETOK_QWEN2     /* (?i:'s|...|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
                            \s*[\r\n]+|\s+(?!\S)|\s+ */
} mhv_pretok_kind;

/* The pattern strings exactly as tokenizer.json spells them (after JSON unescaping). */
extern const char *const mhv_pretok_pattern_gpt2;
extern const char *const mhv_pretok_pattern_qwen2;

/* Which matcher a Split regex is; 0 for a pattern mhaviz does not implement. */
int mhv_pretok_from_pattern(const char *pattern, mhv_pretok_kind *kind);

/* End of the match that starts at cp[i] (i < n): both patterns match every input somewhere, so
 * the result is always in i+1..n, and the pieces of a text are the successive matches. */
size_t mhv_pretok_match(mhv_pretok_kind kind, const uint32_t *cp, size_t n, size_t i);

/* GPT-2's bytes_to_unicode: the character that spells byte b in byte-level vocabularies. */
uint32_t mhv_bytelevel_char(unsigned char b);
/* Its inverse: the byte a character spells, -1 for a character outside the alphabet. */
int mhv_bytelevel_byte(uint32_t cp);

#endif
