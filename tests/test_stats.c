/* stats: each statistic on hand-built attention with known answers, the kind rule, and
 * exactness: sums added in shards and merged (also through JSON) equal the unsharded ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/stats.h"

#define N 4

static void identity(float *w, int n)
{
    memset(w, 0, sizeof(float) * (size_t)(n * n));
    for (int i = 0; i < n; i++)
        w[i * n + i] = 1;
}

static void test_identity(void **state)
{
    (void)state;
    float w[N * N];
    identity(w, N);
    unsigned char sep[N] = {0, 0, 0, 1};
    mhv_stat_values v;
    mhv_stats_head(w, N, sep, &v);
    assert_float_equal(v.v[MHV_STAT_ENTROPY], 0.0, 1e-12);
    assert_float_equal(v.v[MHV_STAT_DISTANCE], 0.0, 1e-12);
    assert_float_equal(v.v[MHV_STAT_FIRST], 0.25, 1e-12);
    assert_float_equal(v.v[MHV_STAT_SEP], 0.25, 1e-12);
    assert_float_equal(v.v[MHV_STAT_SELF], 1.0, 1e-12);
    assert_float_equal(v.v[MHV_STAT_PREV], 0.0, 1e-12);
    assert_float_equal(v.v[MHV_STAT_NEXT], 0.0, 1e-12);
    for (int s = 0; s < MHV_STAT_COUNT; s++)
        assert_true(v.has[s]);
    /* no separator token: sep is undefined, not 0 */
    mhv_stats_head(w, N, NULL, &v);
    assert_false(v.has[MHV_STAT_SEP]);
    /* one token: no previous or next */
    float one = 1;
    mhv_stats_head(&one, 1, NULL, &v);
    assert_false(v.has[MHV_STAT_PREV]);
    assert_false(v.has[MHV_STAT_NEXT]);
    assert_true(v.has[MHV_STAT_SELF]);
}

/* A [CLS] and a 2 x 2 patch grid: (0,0) all on (1,1) (sqrt 2), (0,1) on itself (0),
 * (1,0) on [CLS] (no distance), (1,1) half on (0,0) and half on (0,1) (sqrt 2 / 2 + 1/2);
 * the [CLS] row is not averaged. Through an accumulator: the grid's distance replaces the
 * 1-D one, it merges only with the same grid, and SigLIP's grid (no extra) has no "first". */
static void test_patch_distance(void **state)
{
    (void)state;
    float w[25] = {0};
    w[0 * 5 + 3] = 1;             /* [CLS] row: would add distance if averaged */
    w[1 * 5 + 4] = 1;
    w[2 * 5 + 2] = 1;
    w[3 * 5 + 0] = 1;
    w[4 * 5 + 1] = 0.5f, w[4 * 5 + 2] = 0.5f;
    int has;
    double want = (sqrt(2.0) + 0 + 0 + (sqrt(2.0) / 2 + 0.5)) / 4;
    assert_float_equal(mhv_stats_patch_distance(w, 5, 1, 2, &has), want, 1e-7);
    assert_true(has);
    /* a grid 2 rows x 3 columns (an image of another shape): r0c0 looks at r1c2, the rest at
     * themselves */
    float w6[49] = {0};
    w6[0 * 7 + 0] = 1;
    w6[1 * 7 + 6] = 1;
    for (int i = 2; i < 7; i++)
        w6[i * 7 + i] = 1;
    assert_float_equal(mhv_stats_patch_distance(w6, 7, 1, 3, &has), sqrt(5.0) / 6, 1e-7);
    assert_true(has);
    mhv_stats_acc a, b;
    mhv_error err = {0};
    assert_int_equal(mhv_stats_acc_init(&a, 1, 1, &err), 0);
    assert_int_equal(mhv_stats_acc_init(&b, 1, 1, &err), 0);
    a.patch_grid = 2, a.patch_extra = 1;
    mhv_head_attn h = {.layer = 0, .head = 0, .w = w, .rows = 5, .cols = 5};
    mhv_attn at = {.n = 5, .count = 1, .heads = &h};
    assert_int_equal(mhv_stats_acc_add(&a, &at, NULL, &err), 0);
    int ok;
    assert_float_equal(mhv_stats_mean(&a, 0, 0, MHV_STAT_DISTANCE, &ok), want, 1e-4);
    assert_float_equal(mhv_stats_mean(&a, 0, 0, MHV_STAT_FIRST, &ok), 0.2, 1e-6);
    assert_int_equal(mhv_stats_acc_merge(&b, &a, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "2x2 patch grid"));
    mhv_stats_acc_free(&a);
    assert_int_equal(mhv_stats_acc_init(&a, 1, 1, &err), 0);
    a.patch_grid = 2, a.patch_extra = 0; /* the same map read as 5 patches' first 4 */
    assert_int_equal(mhv_stats_acc_add(&a, &at, NULL, &err), 0);
    mhv_stats_mean(&a, 0, 0, MHV_STAT_FIRST, &ok);
    assert_false(ok);
    mhv_stats_acc_free(&a);
    mhv_stats_acc_free(&b);
}

/* A 2 x 4 cross map: target row 0 on source 0 and 1, row 1 on source 3 (the diagonal of
 * the rectangle passes 0.5 and 2.5); no prev, next or self. */
static void test_cross(void **state)
{
    (void)state;
    const float w[2 * 4] = {0.5f, 0.5f, 0, 0, 0, 0, 0, 1};
    unsigned char sep[4] = {0, 0, 0, 1};
    mhv_stat_values v;
    mhv_stats_head_cross(w, 2, 4, sep, &v);
    assert_float_equal(v.v[MHV_STAT_ENTROPY], 0.5, 1e-12);
    assert_float_equal(v.v[MHV_STAT_DISTANCE], (0.5 + 0.5) / 2, 1e-12);
    assert_float_equal(v.v[MHV_STAT_FIRST], 0.25, 1e-12);
    assert_float_equal(v.v[MHV_STAT_SEP], 0.5, 1e-12);
    assert_true(v.has[MHV_STAT_ENTROPY] && v.has[MHV_STAT_DISTANCE] && v.has[MHV_STAT_SEP]);
    assert_false(v.has[MHV_STAT_PREV] || v.has[MHV_STAT_NEXT] || v.has[MHV_STAT_SELF]);
    /* a square cross map measures distance as a square one does */
    float id[N * N];
    identity(id, N);
    id[1 * N + 1] = 0, id[1 * N + 3] = 1;
    mhv_stat_values a, b;
    mhv_stats_head_cross(id, N, N, NULL, &a);
    mhv_stats_head(id, N, NULL, &b);
    assert_float_equal(a.v[MHV_STAT_DISTANCE], b.v[MHV_STAT_DISTANCE], 1e-12);
    assert_false(a.has[MHV_STAT_SEP]);
}

static void test_uniform_and_previous(void **state)
{
    (void)state;
    float w[N * N];
    for (int i = 0; i < N * N; i++)
        w[i] = 0.25f;
    mhv_stat_values v;
    mhv_stats_head(w, N, NULL, &v);
    assert_float_equal(v.v[MHV_STAT_ENTROPY], 2.0, 1e-9); /* log2 4 bits */
    /* rows: 1.5, 1, 1, 1.5 */
    assert_float_equal(v.v[MHV_STAT_DISTANCE], 1.25, 1e-9);
    assert_float_equal(v.v[MHV_STAT_PREV], 0.25, 1e-9);
    assert_float_equal(v.v[MHV_STAT_NEXT], 0.25, 1e-9);

    /* previous-token head: row 0 on itself, row i on i-1 */
    memset(w, 0, sizeof w);
    w[0] = 1;
    for (int i = 1; i < N; i++)
        w[i * N + i - 1] = 1;
    mhv_stats_head(w, N, NULL, &v);
    assert_float_equal(v.v[MHV_STAT_PREV], 1.0, 1e-12);          /* rows 1..3 only */
    assert_float_equal(v.v[MHV_STAT_DISTANCE], 0.75, 1e-12);     /* (0+1+1+1)/4 */
    assert_float_equal(v.v[MHV_STAT_SELF], 0.25, 1e-12);
    assert_float_equal(v.v[MHV_STAT_FIRST], 0.5, 1e-12);         /* rows 0 and 1 */

    /* a half/half row: entropy 1 bit */
    memset(w, 0, sizeof w);
    for (int i = 0; i < N; i++)
        w[i * N] = w[i * N + N - 1] = 0.5f;
    mhv_stats_head(w, N, NULL, &v);
    assert_float_equal(v.v[MHV_STAT_ENTROPY], 1.0, 1e-9);
}

/* One sentence of 2 layers x 3 heads with the given matrices (n, n each). */
static void add_sentence(mhv_stats_acc *acc, float *bufs, int n, const unsigned char *sep)
{
    mhv_head_attn hs[6];
    for (int k = 0; k < 6; k++)
        hs[k] = (mhv_head_attn){.layer = k / 3, .head = k % 3, .w = bufs + k * n * n};
    mhv_attn a = {.n = n, .count = 6, .heads = hs};
    assert_int_equal(mhv_stats_acc_add(acc, &a, sep, NULL), MHV_OK);
}

/* 8 tokens: with 4, uniform attention already puts half its mass on [CLS] + [SEP] */
#define K 8

static void test_kinds(void **state)
{
    (void)state;
    float w[6][K * K];
    memset(w, 0, sizeof w);
    identity(w[0], K); /* self */
    w[1][0] = 1;       /* previous */
    for (int i = 1; i < K; i++)
        w[1][i * K + i - 1] = 1;
    for (int i = 0; i < K - 1; i++) /* next */
        w[2][i * K + i + 1] = 1;
    w[2][K * K - 1] = 1;
    for (int i = 0; i < K; i++) { /* sink: half on [CLS], half on [SEP] */
        w[3][i * K] = 0.5f;
        w[3][i * K + K - 1] = 0.5f;
    }
    for (int i = 0; i < K * K; i++) /* broad */
        w[4][i] = 1.0f / K;
    for (int i = 0; i < K; i++) { /* mixed: 0.4 on the word two ahead, the rest on itself */
        w[5][i * K + i] = 0.6f;
        w[5][i * K + (i + 2) % K] += 0.4f;
    }
    unsigned char sep[K] = {0};
    sep[K - 1] = 1;
    mhv_stats_acc acc;
    assert_int_equal(mhv_stats_acc_init(&acc, 2, 3, NULL), MHV_OK);
    add_sentence(&acc, &w[0][0], K, sep);
    assert_string_equal(mhv_stats_kind(&acc, 0, 0), "self");
    assert_string_equal(mhv_stats_kind(&acc, 0, 1), "positional-previous");
    assert_string_equal(mhv_stats_kind(&acc, 0, 2), "positional-next");
    assert_string_equal(mhv_stats_kind(&acc, 1, 0), "sink");
    assert_string_equal(mhv_stats_kind(&acc, 1, 1), "broad");
    assert_string_equal(mhv_stats_kind(&acc, 1, 2), "self"); /* 0.6 on itself */
    int ok;
    assert_float_equal(mhv_stats_mean(&acc, 1, 0, MHV_STAT_SEP, &ok), 0.5, 1e-6);
    assert_true(ok);
    mhv_stats_acc_free(&acc);
}

/* Random row-stochastic matrices for sentence s (deterministic). */
static int fill_random(float *bufs, int s, unsigned *seed)
{
    int n = 3 + s % 7;
    for (int k = 0; k < 6; k++)
        for (int i = 0; i < n; i++) {
            float *row = bufs + (size_t)(k * n * n + i * n);
            float sum = 0;
            for (int j = 0; j < n; j++)
                sum += row[j] = (float)rand_r(seed) / (float)RAND_MAX + 1e-3f;
            for (int j = 0; j < n; j++)
                row[j] /= sum;
        }
    return n;
}

static void assert_acc_equal(const mhv_stats_acc *a, const mhv_stats_acc *b)
{
    size_t cells = (size_t)a->num_layers * (size_t)a->num_heads * MHV_STAT_COUNT;
    assert_int_equal(a->num_layers, b->num_layers);
    assert_int_equal(a->num_heads, b->num_heads);
    assert_int_equal(a->sentences, b->sentences);
    assert_int_equal(a->log2n_sum, b->log2n_sum);
    assert_memory_equal(a->sum, b->sum, cells * sizeof *a->sum);
    assert_memory_equal(a->count, b->count, cells * sizeof *a->count);
}

static void test_merge_exact(void **state)
{
    (void)state;
    enum { SENTENCES = 50, SHARDS = 3 };
    float bufs[6 * 9 * 9];
    unsigned char sep[9] = {0};
    mhv_stats_acc all, part[SHARDS], merged;
    assert_int_equal(mhv_stats_acc_init(&all, 2, 3, NULL), MHV_OK);
    for (int p = 0; p < SHARDS; p++)
        assert_int_equal(mhv_stats_acc_init(&part[p], 2, 3, NULL), MHV_OK);
    for (int s = 0; s < SENTENCES; s++) {
        unsigned seed = (unsigned)s * 2654435761u + 1;
        int n = fill_random(bufs, s, &seed);
        memset(sep, 0, sizeof sep);
        sep[n - 1] = 1;
        add_sentence(&all, bufs, n, sep);
        add_sentence(&part[s % SHARDS], bufs, n, sep);
    }
    /* merged in another order than the sentences were added */
    assert_int_equal(mhv_stats_acc_init(&merged, 2, 3, NULL), MHV_OK);
    for (int p = SHARDS - 1; p >= 0; p--)
        assert_int_equal(mhv_stats_acc_merge(&merged, &part[p], NULL), MHV_OK);
    assert_acc_equal(&all, &merged);

    /* and through the JSON files that --merge reads */
    char path[] = "/tmp/mhv-test-stats.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    mhv_stats_write(f, MHV_STATS_JSON, &part[0], "model");
    fclose(f);
    mhv_stats_acc back;
    char model[64];
    mhv_error err = {0};
    assert_int_equal(mhv_stats_read_json(path, &back, model, sizeof model, &err), MHV_OK);
    assert_string_equal(model, "model");
    assert_acc_equal(&part[0], &back);
    unlink(path);

    /* shapes must agree */
    mhv_stats_acc other;
    assert_int_equal(mhv_stats_acc_init(&other, 3, 3, NULL), MHV_OK);
    assert_int_equal(mhv_stats_acc_merge(&other, &all, &err), MHV_EFORMAT);

    mhv_stats_acc_free(&other);
    mhv_stats_acc_free(&back);
    mhv_stats_acc_free(&merged);
    mhv_stats_acc_free(&all);
    for (int p = 0; p < SHARDS; p++)
        mhv_stats_acc_free(&part[p]);
}

static void test_read_errors(void **state)
{
    (void)state;
    char path[] = "/tmp/mhv-test-stats.XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("{\"mhaviz_stats\": 1, \"num_layers\": 1, \"num_heads\": 1, \"heads\": []}", f);
    fclose(f);
    mhv_stats_acc acc;
    mhv_error err = {0};
    assert_int_equal(mhv_stats_read_json(path, &acc, NULL, 0, &err), MHV_EFORMAT);
    assert_string_equal(err.file, path);
    f = fopen(path, "w");
    fputs("[1, 2]", f);
    fclose(f);
    assert_int_equal(mhv_stats_read_json(path, &acc, NULL, 0, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "not a JSON object"));
    unlink(path);
}

/* A part whose numbers its own counts cannot produce is refused, naming what is wrong. */
static void expect_part_error(const char *sentences, const char *shards, const char *sums,
                              const char *counts, const char *needle)
{
    char path[] = "/tmp/mhv-test-stats.XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"mhaviz_stats\": 1, \"model\": \"m\", \"num_layers\": 1, \"num_heads\": 1, "
            "\"sentences\": %s, %s\"log2_tokens_sum\": 0, \"log2_tokens_step_log2\": -24, "
            "\"step_log2\": {", sentences, shards);
    for (int s = 0; s < MHV_STAT_COUNT; s++)
        fprintf(f, "%s\"%s\": %d", s ? ", " : "", mhv_stat_name((mhv_stat)s),
                mhv_stat_quantum_log2((mhv_stat)s));
    fprintf(f, "}, \"heads\": [{\"layer\": 0, \"head\": 0, \"sums\": [%s], \"counts\": [%s]}]}",
            sums, counts);
    fclose(f);
    mhv_stats_acc acc;
    mhv_error err = {0};
    mhv_status st = mhv_stats_read_json(path, &acc, NULL, 0, &err);
    unlink(path);
    if (!needle) {
        assert_int_equal(st, MHV_OK);
        mhv_stats_acc_free(&acc);
        return;
    }
    assert_int_equal(st, MHV_EFORMAT);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_read_validation(void **state)
{
    (void)state;
    const char *ok_sums = "0, 0, 0, 0, 0, 0, 0", *ok_counts = "2, 2, 2, 0, 1, 1, 2";
    expect_part_error("2", "", ok_sums, ok_counts, NULL);
    expect_part_error("0", "", ok_sums, "0, 0, 0, 0, 0, 0, 0", "0 sentences");
    expect_part_error("2", "", "0, 0, 0, 0, 0, 0, 0", "3, 2, 2, 0, 1, 1, 2", "entropy sum 0 over 3 of 2");
    expect_part_error("2", "", "0, -5, 0, 0, 0, 0, 0", ok_counts, "distance sum -5");
    expect_part_error("2", "", "0, 0, 0, 7, 0, 0, 0", ok_counts, "sep sum 7 over 0");
    /* a mass of 1 per sentence at most */
    expect_part_error("2", "", "0, 0, 900000000, 0, 0, 0, 0", ok_counts, "first sum 900000000");
    expect_part_error("2", "\"shard_n\": 3, \"shards\": [3], ", ok_sums, ok_counts, "shards[0]");
    expect_part_error("2", "\"shard_n\": 3, \"shards\": [1, 1], ", ok_sums, ok_counts, "shards[1]");
    /* 4096 x 4096 heads claimed by a small file: refused before allocating them */
    char path[] = "/tmp/mhv-test-stats.XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("{\"mhaviz_stats\": 1, \"num_layers\": 4096, \"num_heads\": 4096, \"heads\": [{}]}", f);
    fclose(f);
    mhv_stats_acc acc;
    mhv_error err = {0};
    assert_int_equal(mhv_stats_read_json(path, &acc, NULL, 0, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "lists 1 heads, not the 16777216"));
    unlink(path);
}

/* The same shard merged twice is refused and leaves the sum as it was. */
static void test_merge_shard_twice(void **state)
{
    (void)state;
    mhv_stats_acc a, b, c;
    mhv_error err = {0};
    assert_int_equal(mhv_stats_acc_init(&a, 1, 1, NULL), MHV_OK);
    assert_int_equal(mhv_stats_acc_init(&b, 1, 1, NULL), MHV_OK);
    assert_int_equal(mhv_stats_acc_init(&c, 1, 1, NULL), MHV_OK);
    a.sentences = b.sentences = c.sentences = 1;
    assert_int_equal(mhv_stats_acc_set_shard(&a, 0, 3, NULL), MHV_OK);
    assert_int_equal(mhv_stats_acc_set_shard(&b, 2, 3, NULL), MHV_OK);
    assert_int_equal(mhv_stats_acc_set_shard(&c, 2, 4, NULL), MHV_OK);
    assert_int_equal(mhv_stats_acc_merge(&a, &b, &err), MHV_OK);
    assert_int_equal(a.n_shards, 2);
    assert_int_equal(mhv_stats_acc_merge(&a, &b, &err), MHV_EFORMAT);
    assert_string_equal(err.msg, "shard 2/3 is already in the merge");
    assert_true(a.sentences == 2);
    assert_int_equal(mhv_stats_acc_merge(&a, &c, &err), MHV_EFORMAT);
    assert_string_equal(err.msg, "shards of 4 cannot be merged with shards of 3");
    mhv_stats_acc_free(&a);
    mhv_stats_acc_free(&b);
    mhv_stats_acc_free(&c);
}

/* --rows: statistics of kept rows are those rows' values, averaged; every row listed gives
 * the bytes of mhv_stats_head. */
#define R 7
static void test_rows(void **state)
{
    (void)state;
    float w[R * R], sub[3 * R];
    unsigned char sep[R] = {0, 0, 0, 0, 0, 0, 1};
    unsigned seed = 5;
    for (int i = 0; i < R; i++) {
        double sum = 0;
        for (int j = 0; j < R; j++) {
            seed = seed * 1103515245u + 12345u;
            w[i * R + j] = (float)((seed >> 8) % 1000 + 1);
            sum += w[i * R + j];
        }
        for (int j = 0; j < R; j++)
            w[i * R + j] = (float)(w[i * R + j] / sum);
    }
    int all[R];
    for (int i = 0; i < R; i++)
        all[i] = i;
    mhv_stat_values a, b;
    mhv_stats_head(w, R, sep, &a);
    mhv_stats_head_rows(w, R, all, R, sep, &b);
    assert_memory_equal(&a, &b, sizeof a);
    const int rows[3] = {0, 3, 6}; /* the first row has no prev, the last no next */
    for (int r = 0; r < 3; r++)
        memcpy(sub + r * R, w + rows[r] * R, sizeof(float) * R);
    mhv_stats_head_rows(sub, R, rows, 3, sep, &b);
    double self = 0, first = 0, dist = 0;
    for (int r = 0; r < 3; r++) {
        const float *row = w + rows[r] * R;
        self += row[rows[r]], first += row[0];
        for (int j = 0; j < R; j++)
            dist += row[j] * fabs((double)(rows[r] - j));
    }
    assert_true(fabs(b.v[MHV_STAT_SELF] - self / 3) < 1e-12);
    assert_true(fabs(b.v[MHV_STAT_FIRST] - first / 3) < 1e-12);
    assert_true(fabs(b.v[MHV_STAT_DISTANCE] - dist / 3) < 1e-12);
    assert_true(fabs(b.v[MHV_STAT_PREV] - ((double)w[3 * R + 2] + w[6 * R + 5]) / 2.0) < 1e-12);
    assert_true(fabs(b.v[MHV_STAT_NEXT] - ((double)w[0 * R + 1] + w[3 * R + 4]) / 2.0) < 1e-12);
    assert_true(fabs(b.v[MHV_STAT_SEP] - ((double)w[0 * R + 6] + w[3 * R + 6] + w[6 * R + 6]) / 3.0) <
                1e-12);
    const int last[1] = {R - 1};
    mhv_stats_head_rows(w + (R - 1) * R, R, last, 1, sep, &b);
    assert_false(b.has[MHV_STAT_NEXT]);
    assert_true(b.has[MHV_STAT_PREV]);
    mhv_stats_head_rows(w, R, last, 0, sep, &b); /* no row kept: no statistic */
    for (int k = 0; k < MHV_STAT_COUNT; k++)
        assert_false(b.has[k]);
}
#undef R

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_cross),
        cmocka_unit_test(test_patch_distance),
        cmocka_unit_test(test_uniform_and_previous),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_merge_exact),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_read_validation),
        cmocka_unit_test(test_merge_shard_twice),
        cmocka_unit_test(test_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
