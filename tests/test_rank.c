/* rank: word spans to tokens, scores and ordering on hand-built attention with known answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "analysis/rank.h"

/* An encoding with the given spans (pairs of character offsets, -1 -1 for specials). */
static mhv_encoding enc_of(int n, int32_t *spans)
{
    mhv_encoding e = {0};
    e.n = n;
    e.spans = spans;
    return e;
}

static const char seed[] = "苹果从树上掉下来，小明把它捡起来了。";

static void test_find_char_tokens(void **state)
{
    (void)state;
    /* [CLS] one token per character (18) [SEP] */
    int32_t sp[2 * 20];
    sp[0] = sp[1] = -1;
    for (int i = 0; i < 18; i++) {
        sp[2 * (i + 1)] = i;
        sp[2 * (i + 1) + 1] = i + 1;
    }
    sp[38] = sp[39] = -1;
    mhv_encoding e = enc_of(20, sp);
    int t0 = -7, t1 = -7;
    assert_int_equal(mhv_rank_find(seed, strlen(seed), &e, "它", 1, &t0, &t1), 1);
    assert_int_equal(t0, 13); /* 它 is character 12, token 13 */
    assert_int_equal(t1, 14);
    assert_int_equal(mhv_rank_find(seed, strlen(seed), &e, "苹果", 1, &t0, &t1), 1);
    assert_int_equal(t0, 1);
    assert_int_equal(t1, 3);
    /* absent: 0 occurrences, outputs untouched */
    t0 = t1 = -7;
    assert_int_equal(mhv_rank_find(seed, strlen(seed), &e, "猫", 1, &t0, &t1), 0);
    assert_int_equal(t0, -7);
    /* a second occurrence that is not there: the count found */
    assert_int_equal(mhv_rank_find(seed, strlen(seed), &e, "来", 3, &t0, &t1), 2);
    assert_int_equal(mhv_rank_find(seed, strlen(seed), &e, "来", 2, &t0, &t1), 2);
    assert_int_equal(t0, 16); /* 起来: 来 is character 15 */
    assert_int_equal(mhv_rank_find(seed, strlen(seed), &e, "", 1, &t0, &t1), 0);
}

static void test_find_merged_and_split(void **state)
{
    (void)state;
    /* "I saw it: 把它 apple" style: text "ab把它cd" where 把它 is one token (covers two words)
     * and "abc" ... : tokens [CLS] "a" "b" "把它" "c" "d" [SEP] */
    const char *text = "ab把它cd";
    int32_t sp[] = {-1, -1, 0, 1, 1, 2, 2, 4, 4, 5, 5, 6, -1, -1};
    mhv_encoding e = enc_of(7, sp);
    int t0, t1;
    assert_int_equal(mhv_rank_find(text, strlen(text), &e, "它", 1, &t0, &t1), 1);
    assert_int_equal(t0, 3);
    assert_int_equal(t1, 4);
    assert_int_equal(mhv_rank_find(text, strlen(text), &e, "把", 1, &t0, &t1), 1);
    assert_int_equal(t0, 3);
    assert_int_equal(t1, 4);
    /* a word split over two tokens, and one spanning the end of a merged token */
    assert_int_equal(mhv_rank_find(text, strlen(text), &e, "cd", 1, &t0, &t1), 1);
    assert_int_equal(t0, 4);
    assert_int_equal(t1, 6);
    assert_int_equal(mhv_rank_find(text, strlen(text), &e, "它c", 1, &t0, &t1), 1);
    assert_int_equal(t0, 3);
    assert_int_equal(t1, 5);
    /* a word cut off by truncation maps to no token */
    e.n = 4;
    assert_int_equal(mhv_rank_find(text, strlen(text), &e, "d", 1, &t0, &t1), 1);
    assert_int_equal(t0, t1);
}

static void test_score(void **state)
{
    (void)state;
    /* n = 4, rows are queries */
    const float w[16] = {
        1.0f, 0.0f, 0.0f, 0.0f,
        0.1f, 0.2f, 0.3f, 0.4f,
        0.5f, 0.1f, 0.1f, 0.3f,
        0.0f, 0.0f, 0.5f, 0.5f,
    };
    /* one from-token, two to-tokens: summed */
    assert_float_equal(mhv_rank_score(w, 4, 1, 2, 2, 4), 0.7, 1e-6);
    /* two from-tokens: averaged: (0.3 + 0.4 + 0.1 + 0.3) / 2 */
    assert_float_equal(mhv_rank_score(w, 4, 1, 3, 2, 4), 0.55, 1e-6);
    assert_float_equal(mhv_rank_score(w, 4, 3, 4, 0, 1), 0.0, 1e-12);
    assert_float_equal(mhv_rank_score(w, 4, 2, 2, 0, 4), 0.0, 1e-12);
}

static void test_acc_order(void **state)
{
    (void)state;
    /* 2 layers x 2 heads, n = 2; from token 1 to token 0 */
    float buf[4 * 4];
    const float from1_to0[4] = {0.2f, 0.9f, 0.5f, 0.25f}; /* heads 0:0 0:1 1:0 1:1 */
    mhv_head_attn hs[4];
    for (int k = 0; k < 4; k++) {
        float *w = buf + 4 * k;
        w[0] = 1, w[1] = 0, w[2] = from1_to0[k], w[3] = 1 - from1_to0[k];
        hs[k] = (mhv_head_attn){.layer = k / 2, .head = k % 2, .w = w};
    }
    mhv_attn a = {.n = 2, .count = 4, .heads = hs};
    mhv_rank_acc acc;
    assert_int_equal(mhv_rank_acc_init(&acc, 2, 2, NULL), MHV_OK);
    mhv_rank_acc_add(&acc, &a, 1, 2, 0, 1);
    /* a second sentence where only head 1:1 is captured, with score 0.75: its mean is 0.5 */
    float w2[4] = {1, 0, 0.75f, 0.25f};
    mhv_head_attn h2 = {.layer = 1, .head = 1, .w = w2};
    mhv_attn b = {.n = 2, .count = 1, .heads = &h2};
    mhv_rank_acc_add(&acc, &b, 1, 2, 0, 1);
    mhv_rank_entry out[4];
    double mean;
    assert_int_equal(mhv_rank_acc_result(&acc, out, &mean), 4);
    /* 0:1 0.9, then 1:0 0.5 and 1:1 0.5 tied (lower layer first, then lower head), 0:0 0.2 */
    int want[4][2] = {{0, 1}, {1, 0}, {1, 1}, {0, 0}};
    double score[4] = {0.9, 0.5, 0.5, 0.2};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(out[i].layer, want[i][0]);
        assert_int_equal(out[i].head, want[i][1]);
        assert_float_equal(out[i].score, score[i], 1e-6);
    }
    assert_float_equal(mean, (0.9 + 0.5 + 0.5 + 0.2) / 4, 1e-6);
    mhv_rank_acc_free(&acc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_char_tokens),
        cmocka_unit_test(test_find_merged_and_split),
        cmocka_unit_test(test_score),
        cmocka_unit_test(test_acc_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
