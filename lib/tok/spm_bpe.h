/* spm_bpe.h - SentencePiece's own encoder for a BPE model (SentencePieceProcessor::Encode,
 * what Python tokenizer classes such as M2M100Tokenizer call): the normalizer spec (the
 * precompiled charsmap's longest rule at each point, extra whitespace removed, a dummy "▁"
 * prefix, spaces as "▁"), then BPE merges by piece score (ties to the leftmost pair), unused
 * pieces split back into what made them, and each run of unknown pieces fused into one;
 * user-defined pieces are taken whole wherever they start, neither normalized nor merged; with
 * byte fallback an unknown piece is its bytes (<0xE8> ...). */
#ifndef MHV_SPM_BPE_H
#define MHV_SPM_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tok/spm.h"

typedef struct mhv_spm_bpe mhv_spm_bpe;

/* From a parsed BPE model; whitespace as a suffix is refused (MHV_EUNSUPPORTED) by name, a
 * duplicate piece or a bad unk id is MHV_EFORMAT. */
mhv_status mhv_spm_bpe_new(const mhv_spm_model *m, const char *file, mhv_spm_bpe **out,
                           mhv_error *err);
void mhv_spm_bpe_free(mhv_spm_bpe *b);

/* One output piece: its text (UTF-8, len bytes, not NUL-terminated) and the original
 * characters [start, end) it came from (start == end for the dummy prefix alone). */
typedef mhv_status (*mhv_spm_piece_fn)(void *ctx, const char *piece, size_t len, int32_t start,
                                       int32_t end, mhv_error *err);

/* Encodes cp (n,), whose first code point is original character base: fn for every piece,
 * in order (nothing for a text that normalizes to nothing). */
mhv_status mhv_spm_bpe_encode(const mhv_spm_bpe *b, const uint32_t *cp, size_t n, int32_t base,
                              mhv_spm_piece_fn fn, void *ctx, mhv_error *err);

/* The normalized text alone (malloc'd, NUL-terminated; *len its bytes). */
mhv_status mhv_spm_bpe_normalize(const mhv_spm_bpe *b, const uint32_t *cp, size_t n,
                                 char **out, size_t *len, mhv_error *err);

#endif
