/* run_global.h - `mhaviz run --global SPEC`: the tokens given global attention, as
 * transformers' global_attention_mask (Longformer; LED's encoder, over the source), resolved
 * sentence by sentence. SPEC is a comma list of --rows' items (last, -K, I, A:B, word:W:
 * analysis/rows.h) and `question`: the tokens before the first sep_token_id, which
 * LongformerForQuestionAnswering makes global when given no mask. */
#ifndef MHV_RUN_GLOBAL_H
#define MHV_RUN_GLOBAL_H

#include <stddef.h>

#include "model/forward.h"
#include "model/model.h"
#include "tok/tokenizer.h"

/* MHV_EUSAGE naming the bad item when spec is malformed (checked once, up front). */
mhv_status run_global_check(const char *spec, mhv_error *err);

/* MHV_EUSAGE naming m's family when it has no global attention (every family but
 * Longformer's and LED's), or when spec asks LED for `question`. */
mhv_status run_global_model(const char *spec, const mhv_model *m, mhv_error *err);

/* The global tokens of one sentence (text, len: its line; enc: its tokens, an
 * encoder-decoder's source) into fc (mhv_forward_ctx_global), and *pos (caller frees; NULL
 * when none) and *count for the report. MHV_EINPUT (message without the line) when
 * `question` finds not the three sep tokens of a question-answering input. */
mhv_status run_global_set(const char *spec, const mhv_model *m, mhv_forward_ctx *fc,
                          const char *text, size_t len, const mhv_encoding *enc, int **pos,
                          int *count, mhv_error *err);

/* "[p, ...]": their list, as the safetensors metadata's "global" (caller frees; NULL when
 * out of memory). */
char *run_global_list(const int *pos, int count);
/* ",\n   \"global\": [p, ...]": the report's member naming them (caller frees; NULL when
 * out of memory). */
char *run_global_json(const int *pos, int count);

/* The figures' corner note: "global attention: tokens 0, 5-7" (ranges joined; cut with
 * "..." when buf is too small), or "global attention: no token". */
void run_global_note(const int *pos, int count, char *buf, size_t size);

#endif
