/* regex.h - the regular expressions of tokenizer.json (Split pre-tokenizers, Replace
 * normalizers), matched with Oniguruma exactly as Hugging Face tokenizers does (its SysRegex
 * is Oniguruma with the default syntax, UTF-8). */
#ifndef MHV_REGEX_H
#define MHV_REGEX_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef struct mhv_regex mhv_regex;

/* Compiles pattern (UTF-8); a pattern Oniguruma refuses is MHV_EUNSUPPORTED naming it. */
mhv_status mhv_regex_new(const char *pattern, const char *file, mhv_regex **out,
                         mhv_error *err);
void mhv_regex_free(mhv_regex *r);

/* The successive matches in cp (n,), as the onig crate's find_iter yields them (an empty
 * match right after the previous match is skipped): *ranges gets a malloc'd array of
 * (*count, 2) [start, end) code point indices, the caller frees it. */
mhv_status mhv_regex_find_all(const mhv_regex *r, const uint32_t *cp, size_t n,
                              size_t **ranges, size_t *count, mhv_error *err);

#endif
