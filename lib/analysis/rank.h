/* rank.h - which heads link one piece of a sentence to another (`mhaviz rank`).
 *
 * Words are found in the sentence text, not among the tokens, and mapped to the tokens
 * whose character spans overlap them, so "苹果" finds one token or two and "它" finds the
 * token "把它" of a tokenizer that merged them. */
#ifndef MHV_RANK_H
#define MHV_RANK_H

#include <stddef.h>
#include <stdint.h>

#include "base/attn.h"
#include "base/status.h"
#include "tok/tokenizer.h"

/* How --from / --to words are found in the sentence text:
 *   MHV_RANK_WORDS      whole words: an occurrence counts only where it does not continue a
 *                       word of a script written with spaces, i.e. unless, at its start or
 *                       end, the characters on both sides of the edge are word characters
 *                       (letters L*, digits N*, marks M*) and neither is of a script written
 *                       without spaces (CJK ideographs, kana, Thai, Lao, Khmer, Myanmar),
 *                       whose characters match wherever they are. "it" is not found in "fit"
 *                       or "it2", it is in "it's" and "(it)"; "它" is found in "它们".
 *   MHV_RANK_SUBSTRING  any occurrence, even inside a word. */
typedef enum { MHV_RANK_WORDS = 0, MHV_RANK_SUBSTRING } mhv_rank_match;

/* Token range [t0, t1) covering the nth (1-based) occurrence of word (UTF-8, non-empty) in
 * text, counting occurrences as `how` says. Returns the number of occurrences of word in text
 * when fewer than nth (0 = absent) and leaves t0/t1 untouched; returns nth when found. An
 * occurrence that overlaps no token (cut off by truncation) gives t0 == t1. */
int mhv_rank_find(const char *text, size_t len, const mhv_encoding *enc, const char *word,
                  int nth, mhv_rank_match how, int *t0, int *t1);

/* 1 when the tokens [t0, t1) are not empty and every one of them is unk_id (the tokenizer's
 * unknown token; -1 = it has none, never true): a word the vocabulary cannot spell. */
int mhv_rank_only_unk(const mhv_encoding *enc, int t0, int t1, int32_t unk_id);

/* Attention mass of one head from the tokens [f0, f1) (mean over them) to the tokens
 * [t0, t1) (sum over them); w: (n, n) rows are queries. */
double mhv_rank_score(const float *w, int n, int f0, int f1, int t0, int t1);

/* Per-head running sums over sentences. */
typedef struct {
    int num_layers, num_heads;
    double *sum;        /* (num_layers, num_heads) summed scores */
    int *count;         /* (num_layers, num_heads) sentences seen by each head */
} mhv_rank_acc;

mhv_status mhv_rank_acc_init(mhv_rank_acc *acc, int num_layers, int num_heads, mhv_error *err);
void mhv_rank_acc_free(mhv_rank_acc *acc);
/* Adds the score of every head captured in a for the ranges given. When a keeps only some
 * query rows (row_ids), f0..f1-1 must be among them, in a run; a head whose map lacks them
 * is not scored. */
void mhv_rank_acc_add(mhv_rank_acc *acc, const mhv_attn *a, int f0, int f1, int t0, int t1);

typedef struct {
    int layer, head;
    double score;       /* mean over the sentences the head saw */
} mhv_rank_entry;

/* The heads seen at least once, best first (ties: lower layer, then lower head), into
 * out (room for num_layers * num_heads). Returns how many; *mean gets the average score
 * over them (0 when none). */
int mhv_rank_acc_result(const mhv_rank_acc *acc, mhv_rank_entry *out, double *mean);

#endif
