/* test_tokenizer.c - tokenizer, WordPiece, vocabulary and Unicode tests; the goldens come from
 * the Hugging Face tokenizers library (tests/gen/gen_tok_goldens.py). Run from the repo root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tok/tokenizer.h"
#include "text/unicode.h"
#include "tok/vocab.h"

#include "testutil.h"

/* The real bert-base-chinese tokenizer and llama.cpp's vectors are public data read in place
 * from ../shared/data (see its INDEX.md); a test that needs them is skipped without it. */
static const char *shared(const char *rel)
{
    static char buf[4][512];
    static int k;
    char *b = buf[k++ % 4];
    if (!tu_shared(rel, b, 512))
        skip();
    return b;
}
#define CHINESE shared("bert-base-chinese")
#define MINILM "tests/fixtures/tok-minilm"

static mhv_tok *open_txt(const char *dir)
{
    char v[512], c[512];
    snprintf(v, sizeof v, "%s/vocab.txt", dir);
    snprintf(c, sizeof c, "%s/tokenizer_config.json", dir);
    mhv_tok *t = NULL;
    mhv_error err = {{0}, {0}};
    if (mhv_tok_open_files(NULL, v, c, &t, &err))
        fail_msg("%s: %s", err.file, err.msg);
    return t;
}

static void encode(const mhv_tok *t, const char *s, mhv_encoding *e)
{
    mhv_error err = {{0}, {0}};
    if (mhv_tok_encode(t, s, strlen(s), e, &err))
        fail_msg("encode '%s': %s", s, err.msg);
}

/* Pieces joined by spaces, without [CLS]/[SEP], for compact expectations. */
static void pieces_str(const mhv_encoding *e, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int i = 1; i + 1 < e->n; i++) {
        if (i > 1)
            strncat(buf, " ", size - strlen(buf) - 1);
        strncat(buf, e->pieces[i], size - strlen(buf) - 1);
    }
}

static void expect_pieces(const mhv_tok *t, const char *s, const char *want)
{
    mhv_encoding e;
    char got[4096];
    encode(t, s, &e);
    pieces_str(&e, got, sizeof got);
    if (strcmp(got, want) != 0)
        fail_msg("'%s': got [%s], want [%s]", s, got, want);
    mhv_encoding_free(&e);
}

/* ---- goldens ---- */

static void run_goldens(const char *dir, const char *golden, int via_txt)
{
    mhv_tok *t = via_txt ? open_txt(dir) : tu_open_tok_dir(dir);
    const char *label = via_txt ? "vocab.txt" : "tokenizer.json";
    tu_run_goldens(t, golden, label, 1);
    /* sentence pairs: [CLS] A [SEP] B [SEP], B's token type 1 */
    cJSON *j = tu_read_json(golden);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "pairs")) >= 30);
    assert_true(mhv_tok_has_pair(t));
    assert_int_equal(tu_check_pair_goldens(t, j, label), 0);
    cJSON_Delete(j);
    mhv_tok_close(t);
}

static void test_golden_chinese_json(void **state)
{
    (void)state;
    run_goldens(CHINESE, "tests/fixtures/tok-goldens-bert-base-chinese.json", 0);
}

static void test_golden_chinese_txt(void **state)
{
    (void)state;
    run_goldens(CHINESE, "tests/fixtures/tok-goldens-bert-base-chinese.json", 1);
}

static void test_golden_minilm_json(void **state)
{
    (void)state;
    run_goldens(MINILM, "tests/fixtures/tok-goldens-minilm.json", 0);
}

static void test_golden_minilm_txt(void **state)
{
    (void)state;
    run_goldens(MINILM, "tests/fixtures/tok-goldens-minilm.json", 1);
}

/* llama.cpp's bge vectors (no special tokens) with the same uncased vocabulary as MiniLM. */
static void test_llamacpp_bge(void **state)
{
    (void)state;
    const char *inp = shared("llamacpp-tokenizer-testvectors/ggml-vocab-bert-bge.gguf.inp");
    const char *out = shared("llamacpp-tokenizer-testvectors/ggml-vocab-bert-bge.gguf.out");
    mhv_tok *t = tu_open_tok_dir(MINILM);
    tu_run_llamacpp(t, inp, out, "llama.cpp", 1);
    mhv_tok_close(t);
}

/* ---- unit cases ---- */

static void test_settings(void **state)
{
    (void)state;
    mhv_tok *c = tu_open_tok_dir(CHINESE), *m = tu_open_tok_dir(MINILM), *ct = open_txt(CHINESE);
    const mhv_bert_norm *n = mhv_tok_bert_norm(c);
    assert_int_equal(n->lowercase, 0);
    assert_int_equal(n->strip_accents, 0); /* unset: follows lowercase */
    assert_int_equal(n->handle_chinese_chars, 1);
    assert_int_equal(n->clean_text, 1);
    n = mhv_tok_bert_norm(m);
    assert_int_equal(n->lowercase, 1);
    assert_int_equal(n->strip_accents, 1);
    assert_int_equal(memcmp(mhv_tok_bert_norm(ct), mhv_tok_bert_norm(c), sizeof *n), 0);
    assert_int_equal(mhv_tok_vocab_size(c), 21128);
    assert_int_equal(mhv_tok_vocab_size(m), 30522);
    assert_int_equal(mhv_tok_kind_of(c), MHV_TOK_WORDPIECE);
    assert_int_equal(mhv_tok_lookup(c, "[CLS]", 5), 101);
    assert_int_equal(mhv_tok_lookup(c, "它", strlen("它")), 2124);
    assert_int_equal(mhv_tok_lookup(c, "no-such-piece", 13), -1);
    assert_string_equal(mhv_tok_piece(c, 102), "[SEP]");
    assert_null(mhv_tok_piece(c, 21128));
    assert_null(mhv_tok_piece(c, -1));
    assert_true(mhv_tok_is_special(c, 101) && mhv_tok_is_special(c, 100) &&
                mhv_tok_is_special(c, 0) && mhv_tok_is_special(c, 103));
    assert_false(mhv_tok_is_special(c, 2124));
    assert_false(mhv_tok_is_special(c, 999999));
    mhv_tok_close(c);
    mhv_tok_close(m);
    mhv_tok_close(ct);
    mhv_tok_close(NULL);
}

static void test_cases_chinese(void **state)
{
    (void)state;
    mhv_tok *t = tu_open_tok_dir(CHINESE);
    expect_pieces(t, "它是苹果", "它 是 苹 果");
    /* this vocabulary lacks curly quotes: HF gives [UNK] for them too */
    expect_pieces(t, "。，“”（）《》", "。 ， [UNK] [UNK] （ ） 《 》");
    expect_pieces(t, "GPT-4", "[UNK] - 4"); /* cased vocabulary without "GPT" */
    expect_pieces(t, "", "");
    expect_pieces(t, "\x01\x7f", "");
    /* no stripping here: the accented letter survives */
    expect_pieces(t, "café", "[UNK]");
    mhv_encoding e;
    encode(t, "它是 苹果", &e);
    assert_int_equal(e.n, 6);
    assert_int_equal(e.ids[0], 101);
    assert_int_equal(e.ids[5], 102);
    assert_int_equal(e.spans[0], -1);
    assert_int_equal(e.spans[1], -1);
    int want[4][2] = {{0, 1}, {1, 2}, {3, 4}, {4, 5}};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(e.spans[2 * (i + 1)], want[i][0]);
        assert_int_equal(e.spans[2 * (i + 1) + 1], want[i][1]);
    }
    mhv_encoding_free(&e);
    mhv_encoding_free(&e); /* a freed encoding is empty: freeing again is harmless */
    mhv_tok_close(t);
}

static void test_cases_minilm(void **state)
{
    (void)state;
    mhv_tok *t = tu_open_tok_dir(MINILM);
    expect_pieces(t, "GPT-4", "gp ##t - 4");
    expect_pieces(t, "Café NAÏVE", "cafe naive");
    expect_pieces(t, "a\tb\x01" "c\r\nd", "a bc d");
    expect_pieces(t, "unaffable", "una ##ffa ##ble"); /* greedy, not best */
    expect_pieces(t, "hello [MASK] world", "hello [MASK] world");
    char word[102];
    memset(word, 'a', 101);
    word[101] = '\0';
    expect_pieces(t, word, "[UNK]");
    word[100] = '\0';
    char want[512] = "aaa"; /* 3 + 48 * 2 + 1 = 100 characters */
    for (int i = 0; i < 48; i++)
        strcat(want, " ##aa");
    strcat(want, " ##a");
    expect_pieces(t, word, want);
    /* a word some position of which nothing covers is one [UNK] spanning the word */
    mhv_encoding e;
    encode(t, "ok x\xe2\x98\x83y ok", &e); /* x☃y */
    assert_int_equal(e.n, 5);
    assert_string_equal(e.pieces[2], "[UNK]");
    assert_int_equal(e.spans[4], 3);
    assert_int_equal(e.spans[5], 6);
    mhv_encoding_free(&e);
    /* spans count characters of the original text across expansions and deletions */
    encode(t, "\xc3\x89t\xc3\xa9 \x01\xe4\xb8\xad!", &e); /* Été \x01中! */
    assert_int_equal(e.n, 6);
    const char *want_p[4] = {"et", "##e", "\xe4\xb8\xad", "!"};
    int want_s[4][2] = {{0, 2}, {2, 3}, {5, 6}, {6, 7}};
    for (int i = 0; i < 4; i++) {
        assert_string_equal(e.pieces[i + 1], want_p[i]);
        assert_int_equal(e.spans[2 * (i + 1)], want_s[i][0]);
        assert_int_equal(e.spans[2 * (i + 1) + 1], want_s[i][1]);
    }
    mhv_encoding_free(&e);
    mhv_tok_close(t);
}

static void test_bad_input(void **state)
{
    (void)state;
    mhv_tok *t = tu_open_tok_dir(MINILM);
    mhv_encoding e;
    mhv_error err = {{0}, {0}};
    const char *bad[] = {"\xff", "a\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe4\xb8",
                         "\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(mhv_tok_encode(t, bad[i], strlen(bad[i]), &e, &err), MHV_EINPUT);
        assert_int_equal(e.n, 0);
        assert_null(e.ids);
    }
    assert_int_equal(mhv_tok_encode(t, "a\0b", 3, &e, &err), MHV_EINPUT);
    assert_non_null(strstr(err.msg, "NUL"));
    mhv_tok_close(t);
}

static void test_pretokenized_and_ids(void **state)
{
    (void)state;
    mhv_tok *t = tu_open_tok_dir(MINILM);
    mhv_encoding e;
    mhv_error err = {{0}, {0}};
    const char *s = "[CLS] hello\t##s  [SEP]";
    assert_int_equal(mhv_tok_encode_pretokenized(t, s, strlen(s), &e, &err), MHV_OK);
    assert_int_equal(e.n, 4);
    assert_int_equal(e.ids[0], 101);
    assert_string_equal(e.pieces[2], "##s");
    assert_int_equal(e.spans[2], 6);
    assert_int_equal(e.spans[3], 11);
    mhv_encoding_free(&e);
    s = "hello zzzqqqxxx";
    assert_int_equal(mhv_tok_encode_pretokenized(t, s, strlen(s), &e, &err), MHV_EINPUT);
    assert_non_null(strstr(err.msg, "zzzqqqxxx"));
    s = "101, 7592\t102";
    assert_int_equal(mhv_tok_encode_ids(t, s, strlen(s), &e, &err), MHV_OK);
    assert_int_equal(e.n, 3);
    assert_string_equal(e.pieces[1], "hello");
    assert_int_equal(e.spans[2], -1);
    mhv_encoding_free(&e);
    const char *bad[] = {"30522", "12x", "-1", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(mhv_tok_encode_ids(t, bad[i], strlen(bad[i]), &e, &err), MHV_EINPUT);
    mhv_tok_close(t);
}

/* ---- malformed files ---- */

static char tmpdir[64];

static const char *write_tmp(const char *name, const char *data, size_t len)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

static mhv_status open_json(const char *json, mhv_error *err)
{
    const char *p = write_tmp("tokenizer.json", json, strlen(json));
    mhv_tok *t = NULL;
    mhv_status st = mhv_tok_open_files(p, NULL, NULL, &t, err);
    mhv_tok_close(t);
    return st;
}

static void test_bad_tokenizer_json(void **state)
{
    (void)state;
    mhv_error err = {{0}, {0}};
    assert_int_equal(open_json("{\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}", &err),
                     MHV_EUNSUPPORTED);
    assert_string_equal(err.msg, "unsupported tokenizer model 'WordLevel'");
    assert_non_null(strstr(err.file, "tokenizer.json"));
    /* an untyped model with merges is BPE (tests/test_bpe.c); this one has no vocabulary */
    assert_int_equal(open_json("{\"model\":{\"vocab\":{}, \"merges\":[]}}", &err),
                     MHV_EFORMAT);
    assert_string_equal(err.msg, "empty vocabulary");
    assert_int_equal(open_json("{\"model\":", &err), MHV_EFORMAT);
    assert_int_equal(open_json("[1]", &err), MHV_EFORMAT);
    assert_int_equal(open_json("{\"model\":{\"vocab\":{\"[UNK]\":0,\"a\":2}},"
                               "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"}}", &err),
                     MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "0..1"));
    assert_int_equal(open_json("{\"model\":{\"vocab\":{\"[UNK]\":0,\"a\":\"1\"}}}", &err),
                     MHV_EFORMAT);
    assert_int_equal(open_json("{\"model\":{\"vocab\":{\"[UNK]\":0,\"a\":0}}}", &err),
                     MHV_EFORMAT);
    assert_int_equal(open_json("{\"model\":{\"vocab\":{\"x\":0}},"
                               "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"}}", &err),
                     MHV_EFORMAT); /* no [UNK] */
    assert_int_equal(open_json("{\"model\":{\"vocab\":{\"[UNK]\":0}},"
                               "\"normalizer\":{\"type\":\"BertNormalizer\",\"lowercase\":1},"
                               "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"}}", &err),
                     MHV_EFORMAT);
    assert_int_equal(open_json("{\"model\":{\"vocab\":{\"[UNK]\":0},\"max_input_chars_per_word\":-1},"
                               "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"}}", &err),
                     MHV_EFORMAT);
    assert_int_equal(open_json("{\"model\":{\"vocab\":{\"[UNK]\":0}},"
                               "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
                               "\"post_processor\":{\"type\":\"BertProcessing\","
                               "\"cls\":[\"[CLS]\",5],\"sep\":[\"[SEP]\",0]}}", &err),
                     MHV_EFORMAT);
    /* a minimal valid one, with a custom prefix and no post-processor */
    assert_int_equal(open_json("{\"model\":{\"vocab\":{\"[UNK]\":0,\"ab\":1,\"@@c\":2},"
                               "\"continuing_subword_prefix\":\"@@\"},"
                               "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"}}", &err),
                     MHV_OK);
    mhv_tok *t;
    const char *p = write_tmp("tokenizer.json", "", 0);
    assert_int_equal(mhv_tok_open_files(p, NULL, NULL, &t, &err), MHV_EFORMAT);
    assert_int_equal(mhv_tok_open_dir("/nonexistent-dir", &t, &err), MHV_EIO);
    assert_null(t);
}

static mhv_status open_vocab(const char *data, size_t len, mhv_vocab **v, mhv_error *err)
{
    return mhv_vocab_load_txt(write_tmp("vocab.txt", data, len), v, err);
}

static void test_vocab_txt(void **state)
{
    (void)state;
    mhv_error err = {{0}, {0}};
    mhv_vocab *v;
    assert_int_equal(open_vocab("", 0, &v, &err), MHV_EFORMAT);
    assert_int_equal(open_vocab("a\nb\0c\n", 6, &v, &err), MHV_EFORMAT);
    assert_int_equal(open_vocab("a\n\xff\n", 4, &v, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "line 2"));
    assert_int_equal(open_vocab("a\r\nb\nc", 6, &v, &err), MHV_OK);
    assert_int_equal(mhv_vocab_size(v), 3);
    assert_string_equal(mhv_vocab_piece(v, 0), "a");
    assert_int_equal(mhv_vocab_lookup(v, "c", 1), 2);
    assert_false(mhv_vocab_duplicate(v, NULL, NULL));
    mhv_vocab_free(v);
    /* duplicates: HF's dict keeps the last line, and we say so */
    assert_int_equal(open_vocab("x\ny\nx\n", 6, &v, &err), MHV_OK);
    int32_t a, b;
    assert_true(mhv_vocab_duplicate(v, &a, &b));
    assert_int_equal(a, 0);
    assert_int_equal(b, 2);
    assert_int_equal(mhv_vocab_lookup(v, "x", 1), 2);
    mhv_vocab_free(v);
    mhv_vocab_free(NULL);
    /* a vocab.txt without [SEP] cannot post-process */
    const char *p = write_tmp("vocab.txt", "[UNK]\n[CLS]\n", 12);
    mhv_tok *t;
    assert_int_equal(mhv_tok_open_files(NULL, p, NULL, &t, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "[SEP]"));
}

static void test_utf8_unicode(void **state)
{
    (void)state;
    uint32_t cp, out[MHV_UC_MAX_EXPANSION];
    assert_int_equal(mhv_utf8_decode("\xc3\xa9", 2, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(mhv_utf8_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(mhv_utf8_decode("\xe0\x80\xaf", 3, &cp), 0);     /* overlong */
    assert_int_equal(mhv_utf8_decode("\xf0\x80\x80\xaf", 4, &cp), 0); /* overlong */
    assert_int_equal(mhv_utf8_decode("\xed\xbf\xbf", 3, &cp), 0);     /* surrogate */
    assert_int_equal(mhv_utf8_decode("\xf4\x90\x80\x80", 4, &cp), 0); /* > U+10FFFF */
    assert_int_equal(mhv_utf8_decode("\xc3", 1, &cp), 0);
    char buf[4];
    assert_int_equal(mhv_utf8_encode(0x10FFFF, buf), 4);
    assert_int_equal(mhv_utf8_decode(buf, 4, &cp), 4);
    assert_int_equal(cp, 0x10FFFF);
    assert_true(mhv_uc_is_whitespace(0x3000) && mhv_uc_is_whitespace('\t'));
    assert_false(mhv_uc_is_whitespace(0x200B));
    assert_true(mhv_uc_is_control(0x7F) && mhv_uc_is_control(0x200B) && mhv_uc_is_control(0xAD));
    assert_false(mhv_uc_is_control('\n') || mhv_uc_is_control(0x378)); /* Cn is not, in HF */
    assert_true(mhv_uc_is_punctuation('$') && mhv_uc_is_punctuation(0x3002) &&
                mhv_uc_is_punctuation(0xFF0C));
    assert_false(mhv_uc_is_punctuation('a') || mhv_uc_is_punctuation(0x4E2D));
    assert_true(mhv_uc_is_chinese_char(0x4E2D) && mhv_uc_is_chinese_char(0x20000));
    assert_false(mhv_uc_is_chinese_char(0x3042));
    assert_true(mhv_uc_is_nonspacing_mark(0x301));
    assert_int_equal(mhv_uc_to_lower(0x130, out), 2);
    assert_int_equal(out[0], 'i');
    assert_int_equal(out[1], 0x307);
    assert_int_equal(mhv_uc_to_lower(0x3A3, out), 1);
    assert_int_equal(out[0], 0x3C3); /* no final-sigma context */
    assert_int_equal(mhv_uc_decompose(0xE9, out), 2);
    assert_int_equal(out[1], 0x301);
    assert_int_equal(mhv_uc_decompose(0xD55C, out), 3); /* 한 */
    assert_int_equal(out[0], 0x1112);
    assert_int_equal(out[1], 0x1161);
    assert_int_equal(out[2], 0x11AB);
    assert_int_equal(mhv_uc_decompose(0xAC00, out), 2);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mhv-test-tok.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_unicode),
        cmocka_unit_test(test_vocab_txt),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_cases_chinese),
        cmocka_unit_test(test_cases_minilm),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_pretokenized_and_ids),
        cmocka_unit_test(test_bad_tokenizer_json),
        cmocka_unit_test(test_golden_chinese_json),
        cmocka_unit_test(test_golden_chinese_txt),
        cmocka_unit_test(test_golden_minilm_json),
        cmocka_unit_test(test_golden_minilm_txt),
        cmocka_unit_test(test_llamacpp_bge),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/tokenizer.json", tmpdir);
    unlink(path);
    snprintf(path, sizeof path, "%s/vocab.txt", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    return rc;
}
