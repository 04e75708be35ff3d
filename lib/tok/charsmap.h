/* charsmap.h - SentencePiece's precompiled normalization map (tokenizer.json's "Precompiled"
 * normalizer, base64 in "precompiled_charsmap"), applied as Hugging Face tokenizers does:
 * each grapheme shorter than 6 bytes is looked up whole, else each of its characters; a hit
 * replaces the whole chunk by the value of the shortest matching prefix. */
#ifndef MHV_CHARSMAP_H
#define MHV_CHARSMAP_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tok/normalize.h"

typedef struct mhv_charsmap mhv_charsmap;

/* Parses the decoded blob (uint32 trie size, the Darts double-array, the NUL-separated
 * replacement strings); every index is checked when used, so any bytes are safe. */
mhv_status mhv_charsmap_new(const unsigned char *blob, size_t len, const char *file,
                            mhv_charsmap **out, mhv_error *err);
/* Decodes base64 text (standard alphabet, '=' padding) and parses it. */
mhv_status mhv_charsmap_from_base64(const char *b64, const char *file, mhv_charsmap **out,
                                    mhv_error *err);
void mhv_charsmap_free(mhv_charsmap *m);

/* SentencePiece's own lookup (Normalizer::NormalizePrefix): the longest of the first 32
 * keys that are prefixes of key (len,); its replacement (NUL-terminated, possibly empty; not
 * checked to be whole characters) and *matched its length in bytes, or NULL when none. */
const char *mhv_charsmap_longest(const mhv_charsmap *m, const unsigned char *key, size_t len,
                                 size_t *matched);
/* Normalizes t in place (origins as HF's alignments: produced characters take the origin of
 * the first character they replace). */
mhv_status mhv_charsmap_apply(const mhv_charsmap *m, mhv_normtext *t, mhv_error *err);

#endif
