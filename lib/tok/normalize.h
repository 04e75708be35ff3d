/* normalize.h - the normalizers of tokenizer.json for BPE and Unigram models (NFC, NFD, NFKC,
 * NFKD, Lowercase, Strip, StripAccents, Replace, Prepend, Precompiled, nested Sequence), applied
 * to text whose every code point remembers the original character it came from. */
#ifndef MHV_NORMALIZE_H
#define MHV_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tok/wordpiece.h" /* mhv_normtext */

struct cJSON;
typedef struct mhv_normalizer mhv_normalizer;

/* Growing a mhv_normtext: 0 when out of memory. */
int mhv_normtext_reserve(mhv_normtext *t, size_t more);
int mhv_normtext_push(mhv_normtext *t, uint32_t cp, int32_t orig);
/* HF NormalizedString::prepend: the new code points take the first one's origin; an empty
 * text stays empty. */
int mhv_normtext_prepend(mhv_normtext *t, const uint32_t *p, size_t k);

/* From tokenizer.json's "normalizer" (nz may be NULL or null: no normalization). An
 * unsupported normalizer is MHV_EUNSUPPORTED naming it. */
mhv_status mhv_normalizer_from_json(const struct cJSON *nz, const char *file,
                                    mhv_normalizer **out, mhv_error *err);
/* A normalizer of the given steps, for the slow-tokenizer layouts: "NFC" or "". */
mhv_status mhv_normalizer_nfc(int nfc, mhv_normalizer **out, mhv_error *err);
void mhv_normalizer_free(mhv_normalizer *nz);
/* Applies every step in order; t is replaced. */
mhv_status mhv_normalizer_apply(const mhv_normalizer *nz, mhv_normtext *t, mhv_error *err);

#endif
