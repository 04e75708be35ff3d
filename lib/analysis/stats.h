/* stats.h - what every head does over a corpus (`mhaviz stats`).
 *
 * Each statistic is first a mean over the query rows of one sentence, then a mean over
 * sentences. The running sums are fixed-point integers, not floats, so adding sentences in
 * any order, on any number of threads, or in shards merged later gives the same bytes. */
#ifndef MHV_STATS_H
#define MHV_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "base/attn.h"
#include "base/status.h"

typedef enum {
    MHV_STAT_ENTROPY = 0, /* bits: -sum_j w log2 w */
    MHV_STAT_DISTANCE,    /* sum_j w |i - j|, in tokens; vision models (mhv_stats_acc
                           * patch_grid): the 2-D distance in patches, see below */
    MHV_STAT_FIRST,       /* w[i][0]: the [CLS] / BOS token */
    MHV_STAT_SEP,         /* sum of w[i][j] over the caller's separator tokens ([SEP], EOS) */
    MHV_STAT_PREV,        /* w[i][i-1], rows i >= 1 */
    MHV_STAT_NEXT,        /* w[i][i+1], rows i <= n-2 */
    MHV_STAT_SELF,        /* w[i][i] */
    MHV_STAT_COUNT
} mhv_stat;

/* "entropy", "distance", "first", "sep", "prev", "next", "self". */
const char *mhv_stat_name(mhv_stat s);
/* log2 of the fixed-point step of a statistic's sums (-24: steps of 2^-24). */
int mhv_stat_quantum_log2(mhv_stat s);

/* One head on one sentence: v[s] is the mean over the rows that have statistic s; has[s]
 * is 0 when no row has it (PREV/NEXT with one token, SEP with no separator token).
 * w: (n, n) rows are queries; sep: (n,) 1 for separator tokens, may be NULL. */
typedef struct {
    double v[MHV_STAT_COUNT];
    unsigned char has[MHV_STAT_COUNT];
} mhv_stat_values;

void mhv_stats_head(const float *w, int n, const unsigned char *sep, mhv_stat_values *out);
/* The same over the query rows rows(nrows) only (--rows): w (nrows, n), row r holding query
 * rows[r]; rows NULL: every row, as mhv_stats_head. */
void mhv_stats_head_rows(const float *w, int n, const int *rows, int nrows,
                         const unsigned char *sep, mhv_stat_values *out);

/* A cross-attention head on one sentence: w (rows, cols), target rows x source columns;
 * sep: (cols,) the source's separators, may be NULL. Entropy, first and sep as for square
 * maps; distance is from the diagonal of the rectangle, sum_j w[i][j] |j - d_i| with
 * d_i = (i + 1/2) cols / rows - 1/2 (|i - j| when rows == cols), in source tokens; prev,
 * next and self compare a query's position with a key's of the same sequence and have no
 * meaning here (has 0). */
void mhv_stats_head_cross(const float *w, int rows, int cols, const unsigned char *sep,
                          mhv_stat_values *out);

/* The mean attention distance of a vision model's head in patches (Dosovitskiy et al. 2021,
 * fig. 7): over the patch query rows i of w (n, n), sum over patch keys j of
 * w[i][j] * ||pos_i - pos_j|| (Euclidean, in patches, on a patch grid `cols` wide after
 * `extra` tokens: the n - extra patches row by row), averaged over the rows; the weight on
 * [CLS], [DIST] and register keys adds no distance (it is not renormalised away). *has = 0
 * when there is no patch. */
double mhv_stats_patch_distance(const float *w, int n, int extra, int cols, int *has);

typedef struct {
    int num_layers, num_heads;
    int64_t *sum;          /* (num_layers, num_heads, MHV_STAT_COUNT) fixed-point sums */
    int64_t *count;        /* (num_layers, num_heads, MHV_STAT_COUNT) sentences in each sum */
    int64_t sentences;
    int64_t log2n_sum;     /* sum over sentences of log2(tokens), step 2^-24: the entropy of
                              uniform attention, for the "broad" rule */
    int shard_n;           /* the N of `--shard I/N` when the sums are shards, else 0 */
    int n_shards;
    int32_t *shards;       /* (n_shards,) the I of each shard summed, ascending */
    int weighting;         /* mhv_weighting (weighting.h) of the maps summed: 0 attention;
                              JSON "weighting", and --merge adds only equal ones */
    char rows[256];        /* the --rows SPEC of the maps summed, "" for every row: JSON
                              "rows", and --merge adds only equal ones */
    char stack[16];        /* encoder-decoder models: "encoder", "decoder" or "cross", the stack
                              whose heads are summed; "" for the others: JSON "stack", and
                              --merge adds only equal ones */
    int patch_grid, patch_extra; /* vision models: distance 2-D over a patch_grid^2 grid after
                              patch_extra tokens (mhv_stats_patch_distance), and no
                              "first" without an extra token (SigLIP); 0: 1-D in tokens. JSON "patch_grid", "patch_extra"; --merge adds only
                              equal ones. patch_grid is the model's own grid side */
    int audio;             /* a speech encoder's maps over audio frames (distances in frames):
                              JSON "input": "audio"; --merge adds only equal ones */
    int patch_cols;        /* the columns of the next maps' grid when it is not patch_grid's
                              (an image of another size); 0: patch_grid. Not in JSON */
} mhv_stats_acc;

mhv_status mhv_stats_acc_init(mhv_stats_acc *acc, int num_layers, int num_heads,
                              mhv_error *err);
void mhv_stats_acc_free(mhv_stats_acc *acc);
/* Adds one sentence: every head captured in a (cross-attention heads, stack MHV_STACK_CROSS,
 * by mhv_stats_head_cross over their rows x cols, with a->n their source tokens).
 * MHV_EUSAGE if a sum would leave the range
 * where it stays exact (2^53 steps: about 10^7 sentences; split the corpus with shards). */
mhv_status mhv_stats_acc_add(mhv_stats_acc *acc, const mhv_attn *a, const unsigned char *sep,
                             mhv_error *err);
/* dst += src. MHV_EFORMAT when the shapes differ, when both are shards of different N, or
 * when a shard of src is already in dst (a part merged twice); dst is then unchanged. */
mhv_status mhv_stats_acc_merge(mhv_stats_acc *dst, const mhv_stats_acc *src, mhv_error *err);
/* Records that acc holds shard i of n (n = 1: the whole corpus, nothing recorded). */
mhv_status mhv_stats_acc_set_shard(mhv_stats_acc *acc, int i, int n, mhv_error *err);

/* Mean of statistic s for (layer, head); 0 when no sentence had it (*ok = 0). */
double mhv_stats_mean(const mhv_stats_acc *acc, int layer, int head, mhv_stat s, int *ok);

/* The head's kind, decided in this order from the means:
 *   the largest of self, prev, next and sink = first + sep, when it is >= 0.5:
 *     "self", "positional-previous", "positional-next" or "sink";
 *   else "broad" when entropy >= 0.75 * mean log2(tokens) (near-uniform attention);
 *   else "mixed". */
const char *mhv_stats_kind(const mhv_stats_acc *acc, int layer, int head);

typedef enum { MHV_STATS_TABLE = 0, MHV_STATS_JSON, MHV_STATS_CSV } mhv_stats_format;

/* Writes the means (and, in JSON, the exact sums that --merge reads back). `model` is the
 * model directory recorded in JSON. */
void mhv_stats_write(FILE *f, mhv_stats_format fmt, const mhv_stats_acc *acc,
                     const char *model);
/* Reads a JSON file written by mhv_stats_write into acc (initialised here) and its model
 * field into model (size bytes; may be NULL). Every number is checked against the file's
 * own counts: a head per layer and head, counts at most the sentences (at least one), no
 * sum without a count, sums within what the statistic can reach; shard ids in range. */
mhv_status mhv_stats_read_json(const char *path, mhv_stats_acc *acc, char *model, size_t size,
                               mhv_error *err);

#endif
