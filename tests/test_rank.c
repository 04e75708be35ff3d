/* rank: word spans to tokens, scores and ordering on hand-built attention with known answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "analysis/rank.h"
#include "text/unicode.h"

#define WORDS MHV_RANK_WORDS
#define SUB MHV_RANK_SUBSTRING

/* An encoding with the given spans (pairs of character offsets, -1 -1 for specials). */
static mhv_encoding enc_of(int n, int32_t *spans)
{
    mhv_encoding e = {0};
    e.n = n;
    e.spans = spans;
    return e;
}

static const char seed[] = "苹果从树上掉下来，小明把它捡起来了。";

/* CJK characters are words of their own: both modes find the same. */
static void find_char_tokens(mhv_rank_match how)
{
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
    assert_int_equal(mhv_rank_find(seed, strlen(seed), &e, "它", 1, how, &t0, &t1), 1);
    assert_int_equal(t0, 13); /* 它 is character 12, token 13 */
    assert_int_equal(t1, 14);
    assert_int_equal(mhv_rank_find(seed, strlen(seed), &e, "苹果", 1, how, &t0, &t1), 1);
    assert_int_equal(t0, 1);
    assert_int_equal(t1, 3);
    /* absent: 0 occurrences, outputs untouched */
    t0 = t1 = -7;
    assert_int_equal(mhv_rank_find(seed, strlen(seed), &e, "猫", 1, how, &t0, &t1), 0);
    assert_int_equal(t0, -7);
    /* a second occurrence that is not there: the count found */
    assert_int_equal(mhv_rank_find(seed, strlen(seed), &e, "来", 3, how, &t0, &t1), 2);
    assert_int_equal(mhv_rank_find(seed, strlen(seed), &e, "来", 2, how, &t0, &t1), 2);
    assert_int_equal(t0, 16); /* 起来: 来 is character 15 */
    assert_int_equal(mhv_rank_find(seed, strlen(seed), &e, "", 1, how, &t0, &t1), 0);
}

static void test_find_char_tokens(void **state)
{
    (void)state;
    find_char_tokens(MHV_RANK_WORDS);
    find_char_tokens(MHV_RANK_SUBSTRING);
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
    assert_int_equal(mhv_rank_find(text, strlen(text), &e, "它", 1, SUB, &t0, &t1), 1);
    assert_int_equal(t0, 3);
    assert_int_equal(t1, 4);
    assert_int_equal(mhv_rank_find(text, strlen(text), &e, "把", 1, SUB, &t0, &t1), 1);
    assert_int_equal(t0, 3);
    assert_int_equal(t1, 4);
    /* a word split over two tokens, and one spanning the end of a merged token */
    assert_int_equal(mhv_rank_find(text, strlen(text), &e, "cd", 1, SUB, &t0, &t1), 1);
    assert_int_equal(t0, 4);
    assert_int_equal(t1, 6);
    assert_int_equal(mhv_rank_find(text, strlen(text), &e, "它c", 1, SUB, &t0, &t1), 1);
    assert_int_equal(t0, 3);
    assert_int_equal(t1, 5);
    /* a word cut off by truncation maps to no token */
    e.n = 4;
    assert_int_equal(mhv_rank_find(text, strlen(text), &e, "d", 1, SUB, &t0, &t1), 1);
    assert_int_equal(t0, t1);
}

/* A word-level encoding of text for the tests below: [CLS], then one token per run of
 * characters between ASCII spaces, with ASCII punctuation and each character from U+2E80 up
 * (CJK, kana) tokens of their own, then [SEP]. spans: room for 2 * (max + 2). */
static mhv_encoding enc_words(const char *text, int32_t *spans, int max)
{
    mhv_encoding e = {0};
    e.spans = spans;
    spans[0] = spans[1] = -1;
    e.n = 1;
    int32_t ch = 0, open = -1; /* character index; start of the run being read */
    size_t len = strlen(text);
    for (size_t i = 0; i < len; ch++) {
        uint32_t cp;
        int k = mhv_utf8_decode(text + i, len - i, &cp);
        assert_true(k > 0);
        i += (size_t)k;
        int alone = (cp < 0x80 && cp != ' ' && !(cp >= '0' && cp <= '9') &&
                     !((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')) || cp >= 0x2E80;
        if (open >= 0 && (cp == ' ' || alone)) {
            spans[2 * e.n] = open, spans[2 * e.n + 1] = ch, e.n++;
            open = -1;
        }
        if (alone)
            spans[2 * e.n] = ch, spans[2 * e.n + 1] = ch + 1, e.n++;
        else if (cp != ' ' && open < 0)
            open = ch;
        assert_true(e.n <= max);
    }
    if (open >= 0)
        spans[2 * e.n] = open, spans[2 * e.n + 1] = ch, e.n++;
    spans[2 * e.n] = spans[2 * e.n + 1] = -1;
    e.n++;
    return e;
}

/* The token range of the nth occurrence, as t0 * 100 + t1; -(count found) when fewer. */
static int find(const char *text, const char *word, int nth, mhv_rank_match how)
{
    int32_t sp[2 * 66];
    mhv_encoding e = enc_words(text, sp, 64);
    int t0 = -1, t1 = -1;
    int got = mhv_rank_find(text, strlen(text), &e, word, nth, how, &t0, &t1);
    return got == nth ? t0 * 100 + t1 : -got;
}

static void test_words_english(void **state)
{
    (void)state;
    /* [CLS] The trophy did not fit into the suitcase because it was too big . [SEP]
     *   0    1    2     3   4   5   6    7     8       9     10 11  12  13 14   15 */
    const char *t = "The trophy did not fit into the suitcase because it was too big.";
    assert_int_equal(find(t, "it", 1, WORDS), 1011);   /* not the "it" of "fit" */
    assert_int_equal(find(t, "it", 2, WORDS), -1);     /* "it" is there once */
    assert_int_equal(find(t, "it", 1, SUB), 506);      /* f-it */
    assert_int_equal(find(t, "it", 2, SUB), 809);      /* su-it-case */
    assert_int_equal(find(t, "it", 3, SUB), 1011);
    assert_int_equal(find(t, "it", 4, SUB), -3);
    assert_int_equal(find(t, "trophy", 1, WORDS), 203);
    assert_int_equal(find(t, "the", 1, WORDS), 708);   /* case-sensitive: not "The" */
    assert_int_equal(find(t, "big", 1, WORDS), 1314);  /* a full stop ends a word */
    assert_int_equal(find(t, "not fit", 1, WORDS), 406);
    assert_int_equal(find(t, "ot fit", 1, WORDS), 0);
    assert_int_equal(find(t, "ot fit", 1, SUB), 406);
    assert_int_equal(find(t, "T", 1, WORDS), 0);
    /* punctuation ends a word (as the tokenizers split it); digits do not */
    const char *u = "it's (it) it2 2it it_x fit-it";
    assert_int_equal(find(u, "it", 5, WORDS), -4);
    assert_int_equal(find(u, "it", 8, SUB), -7);
    assert_int_equal(find(u, "it", 2, WORDS), 506);    /* [CLS] it ' s ( it ) */
}

static void test_words_german(void **state)
{
    (void)state;
    /* [CLS] Der Hund bellte , weil er müde war . Er schlief über die Straße [SEP] */
    const char *t = "Der Hund bellte, weil er müde war. Er schlief über die Straße";
    assert_int_equal(find(t, "er", 1, WORDS), 607);    /* not in "Der" or "über" */
    assert_int_equal(find(t, "er", 2, WORDS), -1);
    assert_int_equal(find(t, "er", 1, SUB), 102);
    assert_int_equal(find(t, "er", 2, SUB), 607);
    assert_int_equal(find(t, "er", 3, SUB), 1213);     /* üb-er */
    assert_int_equal(find(t, "müde", 1, WORDS), 708);
    assert_int_equal(find(t, "m", 1, WORDS), 0);
    assert_int_equal(find(t, "Stra", 1, WORDS), 0);     /* ß is a letter */
    assert_int_equal(find(t, "Straße", 1, WORDS), 1415);
    assert_int_equal(find(t, "ü", 1, WORDS), 0);
    /* decomposed ü: u + U+0308 COMBINING DIAERESIS, a mark, continues the word */
    const char *d = "Mu\xCC\x88ller und u";
    assert_int_equal(find(d, "Mu", 1, WORDS), 0);
    assert_int_equal(find(d, "u", 1, WORDS), 304);
    assert_int_equal(find(d, "u", 1, SUB), 102);
}

static void test_words_chinese_mixed(void **state)
{
    (void)state;
    /* CJK characters are words wherever they stand */
    const char *z = "它们把它捡起来了。";
    assert_int_equal(find(z, "它", 1, WORDS), 102);
    assert_int_equal(find(z, "它", 2, WORDS), 405);
    assert_int_equal(find(z, "起来", 1, WORDS), 608);
    /* [CLS] 我 用 iPhone 拍 了 它 ， it is GPT4 和 它 的 iPad 。 [SEP] */
    const char *m = "我用iPhone拍了它，it is GPT4和它的iPad。";
    assert_int_equal(find(m, "iPhone", 1, WORDS), 304);
    assert_int_equal(find(m, "Phone", 1, WORDS), 0);
    assert_int_equal(find(m, "Phone", 1, SUB), 304);
    assert_int_equal(find(m, "用iPhone拍", 1, WORDS), 205);
    assert_int_equal(find(m, "it", 1, WORDS), 809);
    assert_int_equal(find(m, "GPT", 1, WORDS), 0);     /* "GPT4" is one word */
    assert_int_equal(find(m, "GPT4", 1, WORDS), 1011);
    assert_int_equal(find(m, "它", 2, WORDS), 1213);
    assert_int_equal(find(m, "iPad", 1, WORDS), 1415);
    assert_int_equal(find(m, "Pad", 1, WORDS), 0);
    /* kana are written without spaces; a Devanagari vowel sign (Mc) continues a word */
    assert_int_equal(find("猫がすき", "が", 1, WORDS), 203);
    const char *h = "कम कमा";
    assert_int_equal(find(h, "कम", 2, WORDS), -1);
    assert_int_equal(find(h, "कम", 2, SUB), 203);
}

static void test_only_unk(void **state)
{
    (void)state;
    int32_t ids[] = {2, 1, 1, 7, 1, 3};
    mhv_encoding e = {.n = 6, .ids = ids};
    assert_int_equal(mhv_rank_only_unk(&e, 1, 3, 1), 1);
    assert_int_equal(mhv_rank_only_unk(&e, 4, 5, 1), 1);
    assert_int_equal(mhv_rank_only_unk(&e, 1, 4, 1), 0);  /* one known token among them */
    assert_int_equal(mhv_rank_only_unk(&e, 3, 4, 1), 0);
    assert_int_equal(mhv_rank_only_unk(&e, 2, 2, 1), 0);  /* no token (truncated) */
    assert_int_equal(mhv_rank_only_unk(&e, 1, 3, -1), 0); /* a tokenizer without unk */
    assert_int_equal(mhv_rank_only_unk(&e, 5, 7, 1), 0);  /* outside the tokens */
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
        cmocka_unit_test(test_words_english),
        cmocka_unit_test(test_words_german),
        cmocka_unit_test(test_words_chinese_mixed),
        cmocka_unit_test(test_only_unk),
        cmocka_unit_test(test_score),
        cmocka_unit_test(test_acc_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
