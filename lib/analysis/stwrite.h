/* stwrite.h - one sentence's attention maps as a safetensors file (`run --format
 * safetensors`), written as the forward pass makes the maps: head by head at their places
 * (mhv_stw_head), or layer by layer in order (mhv_stw_layer).
 *
 * One tensor per layer with selected heads, "attn.L05" of shape [heads, rows, S] (the
 * layer's selected heads in order, the kept query rows, every key), in F32, F16 or BF16,
 * and a "__metadata__" of strings, each a JSON text: "tokens", "token_ids", "spans",
 * "rows" (the query position of each row), "heads" ({"attn.L05": [0, 3], ...}), "model"
 * (as the JSON report's "model"), plus "text", "format" ("mhaviz-attention") and
 * "mhaviz_version", and "weighting" ("norm" or "norm-out") when the maps are reweighted
 * (as the JSON report names it: absent for plain attention). Every shape is known before the first layer runs, so the header is
 * written first and each map goes out as it arrives: memory holds one map per thread. */
#ifndef MHV_STWRITE_H
#define MHV_STWRITE_H

#include <stdio.h>

#include "base/attn.h"
#include "base/dtype.h"
#include "base/heads.h"
#include "base/status.h"
#include "tok/tokenizer.h"

typedef struct mhv_stw mhv_stw;

/* What the file describes. Everything is borrowed for the call only. */
typedef struct {
    const mhv_model_info *model;
    const mhv_heads *sel;
    const int *rows;            /* (nrows,) kept query positions, ascending; NULL: all */
    int nrows;
    mhv_dtype dtype;            /* MHV_DT_F32, MHV_DT_F16 or MHV_DT_BF16 */
    const char *text;           /* the sentence (len bytes) */
    size_t len;
    const mhv_encoding *enc;
    const mhv_tok *tok;         /* token display texts, or NULL */
    const char *weighting;      /* metadata "weighting" (--weighting norm, norm-out), or NULL:
                                   the maps are attention weights */
    const char *aggregate;      /* --aggregate's name ("mean", "rollout", "flow"), or NULL:
                                   the file holds one map per layer in place of its heads,
                                   "attn.L05" [1, rows, S], "heads" {"attn.L05": [-1]} (head
                                   -1 as in the encoder-decoder files), metadata "aggregate"
                                   naming it (as each JSON entry's "aggregate") */
    const char *global;         /* metadata "global": JSON text of the positions with global
                                   attention (run --global: "[0, 3]"), or NULL: none */
} mhv_stw_desc;

/* Writes the header to f (name for messages) and returns the writer for the layers. */
mhv_status mhv_stw_begin(FILE *f, const char *name, const mhv_stw_desc *d, mhv_stw **out,
                         mhv_error *err);
/* A sink for mhv_forward_opts: writes one layer's maps (the next layer with selected heads,
 * all of its heads, every kept row; with d->aggregate its one map, head -1), converting to
 * the file's dtype. */
mhv_status mhv_stw_layer(void *w, const mhv_attn *layer, mhv_error *err);
/* A head_sink for mhv_forward_opts: writes one head's map w (rows, n) at its place in the
 * file, from any thread, in any order (positioned writes: f must be a regular file). */
mhv_status mhv_stw_head(void *w, int layer, int head, const float *map, int rows, int n,
                        mhv_error *err);
/* Checks that every tensor was written and frees w (the caller commits or aborts f). */
mhv_status mhv_stw_end(mhv_stw *w, mhv_error *err);
/* Frees w without checks; NULL is a no-op. */
void mhv_stw_free(mhv_stw *w);

/* An encoder-decoder sentence (run --pairs / --generate): everything borrowed. */
typedef struct {
    const mhv_model_info *model;
    mhv_dtype dtype;
    const char *text, *target_text;   /* the source (len bytes), the target (target_len) */
    size_t len, target_len;
    const mhv_encoding *src, *tgt;    /* the source's tokens, the decoder input's */
    const mhv_tok *src_tok, *tgt_tok; /* their display texts, or NULL */
    const mhv_s2s_rows *rows;         /* the kept rows (metadata "rows", "target_rows"), or
                                         NULL: every row */
    const char *weighting;            /* metadata "weighting", or NULL (as mhv_stw_desc) */
    const char *aggregate;            /* metadata "aggregate" ("mean": a's maps are the
                                         per-layer means, head -1), or NULL */
    const char *global;               /* metadata "global": the source's global tokens (as
                                         mhv_stw_desc), or NULL */
} mhv_stw_s2s_desc;

/* Writes the whole file of one encoder-decoder sentence: a tensor per stack and layer with
 * captured heads, "attn.encoder.L05" [heads, S, S], "attn.decoder.L05" [heads, T, T] (zeros
 * above the diagonal), "attn.cross.L05" [heads, T, S] (rows target tokens, columns source
 * tokens); metadata as above for the source plus target_text, target_tokens,
 * target_token_texts, target_token_ids, target_spans, "weighting" when given, and "heads"
 * keyed by those names. */
mhv_status mhv_stw_write_seq2seq(FILE *f, const char *name, const mhv_stw_s2s_desc *d,
                                 const mhv_attn *a, mhv_error *err);

/* The bytes the file will take (header excluded): for --max-memory style estimates. */
uint64_t mhv_stw_data_bytes(const mhv_heads *sel, int n, int nrows, mhv_dtype dt);

#endif
