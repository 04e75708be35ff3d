/* rows.h - which query rows a run keeps (--rows SPEC): a comma list of
 *   last        the last token (the next-token position of a decoder)
 *   -K          the last K tokens
 *   I           token I (0-based)
 *   A:B         tokens A..B-1 (either may be left out: A: to the end, :B from the start)
 *   word:W      the tokens of every occurrence of the word W in the sentence (whole words,
 *               as rank --from finds them)
 * resolved per sentence into ascending, distinct token positions. Positions past the end
 * of a short sentence are left out, as Python's slices do. */
#ifndef MHV_ROWS_H
#define MHV_ROWS_H

#include <stddef.h>

#include "base/attn.h"
#include "base/status.h"
#include "tok/tokenizer.h"

/* MHV_EUSAGE naming the bad item when spec is malformed (checked once, up front). */
mhv_status mhv_rows_check(const char *spec, mhv_error *err);

/* The positions spec keeps in a sentence of enc->n tokens (text, len: the sentence, for
 * word:): *rows (caller frees; never NULL on success) and their count *nrows (0 when
 * nothing matched). */
mhv_status mhv_rows_resolve(const char *spec, const char *text, size_t len,
                            const mhv_encoding *enc, int **rows, int *nrows, mhv_error *err);

/* out: the maps of a (every row kept) cut to query rows rows(nrows) (ascending positions
 * < a->n, copied into out->row_ids): what --rows keeps of an aggregate that needs every
 * row to be computed (rollout, flow). */
mhv_status mhv_attn_keep_rows(const mhv_attn *a, const int *rows, int nrows, mhv_attn *out,
                              mhv_error *err);

/* out: an encoder-decoder run's maps (mhv_forward_run_seq2seq, every row) cut to the rows
 * of r: the encoder's to r->src, the decoder's and the cross-attention's to r->tgt (each
 * head's rows the kept count, its columns and value norms as they were). */
mhv_status mhv_attn_keep_rows_seq2seq(const mhv_attn *a, const mhv_s2s_rows *r, mhv_attn *out,
                                      mhv_error *err);

#endif
