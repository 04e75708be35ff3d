/* zoom.h - long sentences made drawable: a window of tokens at full resolution
 * (run --window A:B), or blocks of tokens pooled into one cell (run --max-pixels). Both give
 * ordinary attention maps and encodings for the figure writers. */
#ifndef MHV_ZOOM_H
#define MHV_ZOOM_H

#include "base/attn.h"
#include "base/status.h"
#include "tok/tokenizer.h"

/* Tokens t0..t1-1 of every map of a (queries and keys) into out, and of enc into wenc
 * (pieces, ids, spans copied). 0 <= t0 < t1 <= a->n. When a keeps only some rows (row_ids),
 * out keeps those within t0..t1-1 (none is MHV_EUSAGE) and their row_ids stay sentence
 * positions, while out->n and the columns count from t0. */
mhv_status mhv_zoom_window(const mhv_attn *a, const mhv_encoding *enc, int t0, int t1,
                           mhv_attn *out, mhv_encoding *wenc, mhv_error *err);

typedef enum { MHV_POOL_MAX = 0, MHV_POOL_MEAN } mhv_pool_kind;

/* Blocks of b x b cells (queries x keys; the last ones smaller) of every map of a into one
 * cell each, their maximum or mean, into out ((n + b - 1) / b tokens); benc labels the
 * blocks: the first token position (first + block start) of every `every`-th block, ""
 * between, ids -1 and no spans. When a keeps only some rows, those stay rows (row_ids
 * copied) and only their keys are pooled, in blocks of b. */
mhv_status mhv_zoom_pool(const mhv_attn *a, int b, mhv_pool_kind kind, int first, int every,
                         mhv_attn *out, mhv_encoding *benc, mhv_error *err);

/* An encoder-decoder run's maps (mhv_forward_run_seq2seq) pooled as mhv_zoom_pool pools a
 * square map: source tokens in blocks of bs, target tokens in blocks of bt (encoder maps
 * bs x bs, decoder bt x bt, cross-attention bt rows x bs columns); out's n_src and n_tgt
 * count the blocks. With kept (not NULL), the maps keep only those rows of a side
 * (mhv_attn_keep_rows_seq2seq), which stay rows: only their keys are pooled. */
mhv_status mhv_zoom_pool_seq2seq(const mhv_attn *a, int bs, int bt, mhv_pool_kind kind,
                                 const mhv_s2s_rows *kept, mhv_attn *out, mhv_error *err);
/* --window on an encoder-decoder run's maps: source tokens t0..t1-1 (0 <= t0 < t1 <= a's
 * source tokens) as the encoder's queries and keys and as the cross-attention's keys (its
 * rows, the target tokens, all kept); the decoder's maps as they are. wsrc gets those source
 * tokens. With kept (a cut to those rows: mhv_attn_keep_rows_seq2seq), the encoder keeps
 * its kept rows inside the window, *wkept says which (pointing into kept->src; none is
 * allowed: no encoder row is drawn). */
mhv_status mhv_zoom_window_seq2seq(const mhv_attn *a, const mhv_encoding *src, int t0, int t1,
                                   const mhv_s2s_rows *kept, mhv_attn *out,
                                   mhv_encoding *wsrc, mhv_s2s_rows *wkept, mhv_error *err);
/* The labels of n tokens in blocks of b, as mhv_zoom_pool gives them in benc. */
mhv_status mhv_zoom_labels(int n, int b, int first, int every, mhv_encoding *benc,
                           mhv_error *err);

#endif
