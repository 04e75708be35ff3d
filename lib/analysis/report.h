/* report.h - the JSON attention report of `mhaviz run --format json` (a stable schema,
 * documented in man/mhaviz.1). Written as a stream: begin, one call per sentence, end. */
#ifndef MHV_REPORT_H
#define MHV_REPORT_H

#include <stdio.h>

#include "base/attn.h"
#include "tok/tokenizer.h"

#define MHV_REPORT_VERSION MHV_VERSION

void mhv_report_begin(FILE *f, const mhv_model_info *m);
/* The report's "model" object alone. */
void mhv_report_model(FILE *f, const mhv_model_info *m);
/* `index` counts sentences from 0 (for the separating commas); tok (may be NULL) gives the
 * tokens' display texts. A generated continuation (enc->generated > 0) adds
 * "prompt_length" and "generated" (per token: true from the first generated one on). */
void mhv_report_sentence(FILE *f, int index, const char *text, size_t len,
                         const mhv_encoding *enc, const mhv_tok *tok, const mhv_attn *attn);
/* The same with layer aggregates (rollout.h) in place of heads: each entry is
 * {"layer": l, "aggregate": "<aggregate>", "weights": ...}. */
void mhv_report_sentence_agg(FILE *f, int index, const char *text, size_t len,
                             const mhv_encoding *enc, const mhv_tok *tok,
                             const mhv_attn *attn, const char *aggregate);
/* Attention weighted by value norms (weighting.h): begin records "weighting": "norm" or
 * "norm-out" after "model" (NULL or "attn": the same bytes as mhv_report_begin). With norms
 * non-NULL ((count, rows, n), mhv_weighting_apply), each head also gets "value_norms" (n,):
 * ||v_j|| or ||v_j W_O^h|| (attn->vnorm), and "norms" (n, n): alpha_ij times that norm,
 * before the rows of "weights" were normalised to sum 1. */
void mhv_report_begin_weighted(FILE *f, const mhv_model_info *m, const char *weighting);
/* The same with "generation": the JSON object `generation` (its text, as model/generate.h's
 * mhv_gen_describe writes it) after "model" and "weighting"; NULL: none. */
void mhv_report_begin_gen(FILE *f, const mhv_model_info *m, const char *weighting,
                          const char *generation);
void mhv_report_sentence_norms(FILE *f, int index, const char *text, size_t len,
                               const mhv_encoding *enc, const mhv_tok *tok,
                               const mhv_attn *attn, const float *norms,
                               const char *aggregate);
/* mhv_report_sentence_norms (aggregate: mhv_report_sentence_agg's) leaving the sentence's
 * object open for members such as mhv_report_contacts; mhv_report_sentence_close ends it. */
void mhv_report_sentence_open(FILE *f, int index, const char *text, size_t len,
                              const mhv_encoding *enc, const mhv_tok *tok,
                              const mhv_attn *attn, const float *norms, const char *aggregate);
/* "contacts": ESM's contact probabilities p(L, L) of the residues, tokens 1 .. L
 * (analysis/contacts.h), a row a line. */
void mhv_report_contacts(FILE *f, const float *p, int L);
void mhv_report_sentence_close(FILE *f);
/* An image read with a sentence (LLaVA): its file, size as preprocessed, patch grid, and
 * the sentence's tokens first .. first + count - 1 that are its features, of the patches
 * patch0, patch0 + 1 ... row by row (patch0 -1: the tower's [CLS] first; 1: the first patch
 * left out, as LLaVA's default strategy leaves out the first token of a tower without
 * [CLS]). */
typedef struct {
    const char *path;
    int width, height, rows, cols;
    int first, count, patch0;
} mhv_report_image;
/* mhv_report_sentence_norms with, after the tokens, "image": {"path", "width", "height",
 * "grid": [rows, cols], "first_token", "tokens", "patches": [[row, col] of each of those
 * tokens, null for [CLS]]}. */
void mhv_report_sentence_image(FILE *f, int index, const char *text, size_t len,
                               const mhv_encoding *enc, const mhv_tok *tok,
                               const mhv_attn *attn, const float *norms,
                               const mhv_report_image *img);
/* A speech encoder's WAV (wav2vec2 ...): its file, sampling rate and samples, and the frames'
 * spacing in seconds. */
typedef struct {
    const char *path;
    int sampling_rate;
    long samples;
    double frame_seconds;
    /* The Audio Spectrogram Transformer's patches instead of frames (grid_rows 0: frames):
     * the filter bank's own frames and max_length, the patch grid (rows: frequency, cols:
     * time) after 2 tokens ([CLS], distillation), the seconds between patch columns and
     * each row's lowest mel bin centre in Hz (row_hz, grid_rows of them) */
    int fbank_frames, max_length, grid_rows, grid_cols;
    double col_seconds;
    const double *row_hz;
} mhv_report_audio;
/* mhv_report_sentence_norms with, after the tokens, "audio": {"path", "sampling_rate",
 * "samples", "seconds", "frame_seconds", "frames", "frame_times": [each frame's start in
 * seconds]}; for AST's patches instead "audio": {"path", "sampling_rate", "samples",
 * "seconds", "fbank_frames", "max_length", "grid": [rows, cols], "first_patch": 2,
 * "patch_seconds", "patch_hz": [each row's lowest bin centre]}. */
void mhv_report_sentence_audio(FILE *f, int index, const char *text, size_t len,
                               const mhv_encoding *enc, const mhv_tok *tok,
                               const mhv_attn *attn, const float *norms,
                               const mhv_report_audio *au);
/* An encoder-decoder sentence: the source's "text", "tokens", "token_texts", "token_ids",
 * "spans"; "target_text" (NULL: written as null, e.g. a generated target), and the decoder
 * input's "target_tokens", "target_token_texts", "target_token_ids", "target_spans"; each
 * attention entry {"stack": "encoder" | "decoder" | "cross", "layer", "head", "weights"}
 * with weights (rows, cols) as mhv_head_attn has them. tok and tgt_tok (either may be NULL:
 * texts are then the pieces) give the source's and the target's token texts. With
 * aggregate ("mean"), attn holds per-layer views and each entry has "aggregate" instead of
 * "head". With norms (mhv_weighting_apply's products) and attn->vnorm, each entry adds
 * "value_norms" (cols,) and "norms" (rows, cols) as mhv_report_sentence_norms does. With
 * rows (attn cut to them: mhv_attn_keep_rows_seq2seq), the sentence adds "rows" (the
 * source positions of the encoder's rows) and "target_rows" (the decoder input's positions
 * of the decoder's and the cross-attention's rows) for the sides it keeps rows of. */
void mhv_report_sentence_seq2seq(FILE *f, int index, const char *text, size_t len,
                                 const mhv_encoding *src, const char *target, size_t tlen,
                                 const mhv_encoding *tgt, const mhv_tok *tok,
                                 const mhv_tok *tgt_tok, const mhv_attn *attn,
                                 const float *norms, const mhv_s2s_rows *rows,
                                 const char *aggregate);
/* The same with extra members (",\n   \"key\": ..." JSON text, or NULL) after the
 * attentions: Whisper's "audio". */
void mhv_report_sentence_seq2seq_extra(FILE *f, int index, const char *text, size_t len,
                                       const mhv_encoding *src, const char *target,
                                       size_t tlen, const mhv_encoding *tgt,
                                       const mhv_tok *tok, const mhv_tok *tgt_tok,
                                       const mhv_attn *attn, const float *norms,
                                       const mhv_s2s_rows *rows, const char *aggregate,
                                       const char *extra);
void mhv_report_end(FILE *f);

#endif
