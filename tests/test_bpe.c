/* test_bpe.c - byte-level BPE (GPT-2, Qwen2) and SentencePiece-style BPE (LLaMA) tokenizers:
 * ids, pieces and character spans against the Hugging Face tokenizers library
 * (tests/gen/gen_bpe_goldens.py), llama.cpp's test vectors, the vocab.json + merges.txt
 * loading path, token display text and malformed files. Run from the repo root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tok/pretok.h"
#include "tok/tokenizer.h"
#include "text/unicode.h"

#include "testutil.h"

/* The real GPT-2 and Qwen2 tokenizers and llama.cpp's vectors are public data read in place
 * from ../shared/data (see its INDEX.md); a test that needs them is skipped without it. */
#define GPT2 "gpt2-tokenizer"
#define QWEN2 "qwen-tokenizer"
#define LLAMACPP "llamacpp-tokenizer-testvectors"

/* ../shared/data/rel, or the test is skipped */
static const char *shared(const char *rel)
{
    static char buf[8][512];
    static int k;
    char *b = buf[k++ % 8];
    if (!tu_shared(rel, b, 512))
        skip();
    return b;
}
#define LLAMA "tests/fixtures/tok-llama"
#define LLAMA_META "tests/fixtures/tok-llama-metaspace"

static void write_text(const char *path, const char *s, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(s, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ---- goldens ---- */

static void test_golden_gpt2_json(void **state)
{
    (void)state;
    mhv_tok *t = tu_open_tok_dir(shared(GPT2));
    assert_int_equal(mhv_tok_kind_of(t), MHV_TOK_BYTELEVEL_BPE);
    assert_int_equal(mhv_tok_vocab_size(t), 50257);
    tu_run_goldens(t, "tests/fixtures/tok-goldens-gpt2.json", "gpt2 tokenizer.json", 0);
    mhv_tok_close(t);
}

static void test_golden_gpt2_files(void **state)
{
    (void)state;
    mhv_tok *t = NULL;
    mhv_error err = {{0}, {0}};
    if (mhv_tok_open_bpe_files(shared(GPT2 "/vocab.json"), shared(GPT2 "/merges.txt"),
                               shared(GPT2 "/tokenizer_config.json"),
                               shared(GPT2 "/special_tokens_map.json"), &t,
                               &err))
        fail_msg("%s: %s", err.file, err.msg);
    tu_run_goldens(t, "tests/fixtures/tok-goldens-gpt2.json", "gpt2 vocab.json", 0);
    mhv_tok_close(t);
}

static void test_golden_qwen2_json(void **state)
{
    (void)state;
    mhv_tok *t = tu_open_tok_dir(shared(QWEN2));
    assert_int_equal(mhv_tok_vocab_size(t), 151646);
    tu_run_goldens(t, "tests/fixtures/tok-goldens-qwen2.json", "qwen2 tokenizer.json", 0);
    mhv_tok_close(t);
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mhv_test_bpe.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
}

static void tmp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmpdir, name);
}

static void rm_tmpdir(void)
{
    const char *names[] = {"vocab.json", "merges.txt", "tokenizer_config.json",
                           "tokenizer.json", "special_tokens_map.json"};
    char p[256];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        tmp_path(p, sizeof p, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

/* Qwen2's vocab.json + merges.txt are not committed: written here from tokenizer.json, they
 * must give the ids tokenizer.json gives (the slow path: Qwen2Tokenizer's NFC and regex). */
static void test_golden_qwen2_files(void **state)
{
    (void)state;
    const char *qj = shared(QWEN2 "/tokenizer.json");
    const char *qc = shared(QWEN2 "/tokenizer_config.json");
    make_tmpdir();
    cJSON *j = tu_read_json(qj);
    const cJSON *model = cJSON_GetObjectItem(j, "model");
    char *v = cJSON_PrintUnformatted(cJSON_GetObjectItem(model, "vocab"));
    assert_non_null(v);
    char p[256];
    tmp_path(p, sizeof p, "vocab.json");
    write_text(p, v, strlen(v));
    free(v);
    tmp_path(p, sizeof p, "merges.txt");
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs("#version: 0.2\n", f);
    for (const cJSON *m = cJSON_GetObjectItem(model, "merges")->child; m; m = m->next)
        fprintf(f, "%s\n", m->valuestring);
    fclose(f);
    cJSON_Delete(j);
    size_t n;
    char *cfg = tu_read_file(qc, &n);
    tmp_path(p, sizeof p, "tokenizer_config.json");
    write_text(p, cfg, n);
    free(cfg);
    mhv_tok *t = tu_open_tok_dir(tmpdir);
    assert_int_equal(mhv_tok_vocab_size(t), 151646);
    tu_run_goldens(t, "tests/fixtures/tok-goldens-qwen2.json", "qwen2 vocab.json", 0);
    mhv_tok_close(t);
    rm_tmpdir();
}

static void test_golden_llama(void **state)
{
    (void)state;
    mhv_tok *t = tu_open_tok_dir(LLAMA);
    assert_int_equal(mhv_tok_kind_of(t), MHV_TOK_SENTENCEPIECE_BPE);
    tu_run_goldens(t, "tests/fixtures/tok-goldens-llama.json", "llama legacy", 0);
    mhv_tok_close(t);
    t = tu_open_tok_dir(LLAMA_META);
    tu_run_goldens(t, "tests/fixtures/tok-goldens-llama-metaspace.json", "llama metaspace", 0);
    mhv_tok_close(t);
}

/* ---- llama.cpp vectors (no special tokens are added by GPT-2 / Qwen2) ---- */

static void run_llamacpp(const char *dir, const char *name)
{
    char ip_path[256], op_path[256];
    snprintf(ip_path, sizeof ip_path, LLAMACPP "/%s.inp", name);
    snprintf(op_path, sizeof op_path, LLAMACPP "/%s.out", name);
    const char *ip = shared(ip_path), *op = shared(op_path);
    mhv_tok *t = tu_open_tok_dir(shared(dir));
    tu_run_llamacpp(t, ip, op, name, 0);
    mhv_tok_close(t);
}

static void test_llamacpp_gpt2(void **state)
{
    (void)state;
    run_llamacpp(GPT2, "ggml-vocab-gpt-2.gguf");
}

static void test_llamacpp_qwen2(void **state)
{
    (void)state;
    run_llamacpp(QWEN2, "ggml-vocab-qwen2.gguf");
}

/* ---- display text and token bytes ---- */

static void expect_texts(const mhv_tok *t, const char *s, const char *const *want, int n)
{
    mhv_encoding e;
    mhv_error err = {{0}, {0}};
    assert_int_equal(mhv_tok_encode(t, s, strlen(s), &e, &err), MHV_OK);
    if (e.n != n)
        fail_msg("'%s': %d tokens, want %d", s, e.n, n);
    for (int i = 0; i < n; i++) {
        char buf[128];
        mhv_tok_token_text(t, e.ids[i], buf, sizeof buf);
        if (strcmp(buf, want[i]) != 0)
            fail_msg("'%s': token %d ('%s') shows as '%s', want '%s'", s, i, e.pieces[i], buf,
                     want[i]);
    }
    mhv_encoding_free(&e);
}

static void test_token_text(void **state)
{
    (void)state;
    mhv_tok *t = tu_open_tok_dir(shared(QWEN2));
    /* 把它 is split after the first two bytes of 把 (HF: "ĠæĬ" then "Ĭ") */
    const char *q[] = {"苹果", " <E6 8A>", "<8A>", "它"};
    expect_texts(t, "苹果 把它", q, 4);
    const char *q2[] = {"<|endoftext|>", " x"};
    expect_texts(t, "<|endoftext|> x", q2, 2);
    mhv_encoding e;
    mhv_error err = {{0}, {0}};
    assert_int_equal(mhv_tok_encode(t, "苹果 把它", strlen("苹果 把它"), &e, &err), MHV_OK);
    assert_int_equal(e.spans[2], 2); /* "ĠæĬ": the space and 把 */
    assert_int_equal(e.spans[3], 4);
    assert_int_equal(e.spans[4], 3); /* "Ĭ": the rest of 把 */
    assert_int_equal(e.spans[5], 4);
    unsigned char b[8];
    assert_int_equal(mhv_tok_token_bytes(t, e.ids[1], b, sizeof b), 3);
    assert_memory_equal(b, " \xE6\x8A", 3);
    assert_int_equal(mhv_tok_token_bytes(t, e.ids[1], b, 1), 3); /* full length, 1 written */
    mhv_encoding_free(&e);
    mhv_tok_close(t);

    t = tu_open_tok_dir(LLAMA);
    /* 龘 is not in the trained vocabulary: three byte-fallback tokens */
    const char *l[] = {"<s>", " ", "<E9>", "<BE>", "<98>"};
    expect_texts(t, "龘", l, 5);
    assert_int_equal(mhv_tok_lookup(t, "<0xE9>", 6) >= 0, 1);
    mhv_tok_close(t);
}

/* ---- patterns and Unicode ---- */

static void pieces(mhv_pretok_kind k, const char *s, char *out, size_t size)
{
    uint32_t cp[256];
    size_t n = 0, i = 0, len = strlen(s);
    while (i < len && n < 256) {
        int w = mhv_utf8_decode(s + i, len - i, &cp[n++]);
        assert_true(w > 0);
        i += (size_t)w;
    }
    out[0] = '\0';
    size_t o = 0;
    for (size_t a = 0; a < n;) {
        size_t e = mhv_pretok_match(k, cp, n, a);
        assert_true(e > a && e <= n);
        if (a)
            o += (size_t)snprintf(out + o, size - o, "|");
        for (size_t j = a; j < e; j++) {
            char u[4];
            int w = mhv_utf8_encode(cp[j], u);
            o += (size_t)snprintf(out + o, size - o, "%.*s", w, u);
        }
        a = e;
    }
}

static void test_patterns(void **state)
{
    (void)state;
    char buf[512];
    pieces(MHV_PRETOK_GPT2, "it's  a 12ab!! \n\n x", buf, sizeof buf);
    assert_string_equal(buf, "it|'s| | a| 12|ab|!!| \n\n| x");
    pieces(MHV_PRETOK_QWEN2, "it'S 123 把它!?\n\n  x 'Sam", buf, sizeof buf);
    assert_string_equal(buf, "it|'S| |1|2|3| 把它|!?\n\n| | x| '|Sam");
    pieces(MHV_PRETOK_QWEN2, "a  \n b", buf, sizeof buf);
    assert_string_equal(buf, "a|  \n| b");
    mhv_pretok_kind k;
    assert_true(mhv_pretok_from_pattern(mhv_pretok_pattern_qwen2, &k) && k == MHV_PRETOK_QWEN2);
    assert_false(mhv_pretok_from_pattern("\\p{L}+", &k));
    for (int b = 0; b < 256; b++)
        assert_int_equal(mhv_bytelevel_byte(mhv_bytelevel_char((unsigned char)b)), b);
    assert_int_equal(mhv_bytelevel_char(' '), 0x120); /* Ġ */
    assert_int_equal(mhv_bytelevel_char('\n'), 0x10A); /* Ċ */
    assert_true(mhv_uc_is_letter(0x82F9) && mhv_uc_is_letter('z') && !mhv_uc_is_letter('1'));
    assert_true(mhv_uc_is_number(0x0663) && mhv_uc_is_number(0x216B) && !mhv_uc_is_number('x'));

    /* NFC: e + acute composes and keeps the starter's index; Hangul jamo compose */
    uint32_t in[] = {'e', 0x301, 0x1100, 0x1161, 0x11A8, 0x212B};
    int32_t orig[] = {0, 1, 2, 3, 4, 5};
    uint32_t *cp;
    int32_t *o;
    size_t n;
    assert_int_equal(mhv_uc_nfc(in, orig, 6, &cp, &o, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(cp[0], 0xE9);
    assert_int_equal(o[0], 0);
    assert_int_equal(cp[1], 0xAC01);
    assert_int_equal(o[1], 2);
    assert_int_equal(cp[2], 0xC5);
    free(cp);
    free(o);
}

/* ---- hostile and large input ---- */

static void test_long_words(void **state)
{
    (void)state;
    mhv_tok *t = tu_open_tok_dir(shared(QWEN2));
    size_t n = 100000;
    char *s = malloc(3 * n + 1);
    assert_non_null(s);
    const char *parts[] = {"a", "苹", "\xF0\x9F\x8D\x8E"};
    for (int p = 0; p < 3; p++) {
        size_t k = strlen(parts[p]), len = 0;
        while (len + k <= 3 * n && len < n)
            memcpy(s + len, parts[p], k), len += k;
        clock_t c0 = clock();
        mhv_encoding e;
        mhv_error err = {{0}, {0}};
        assert_int_equal(mhv_tok_encode(t, s, len, &e, &err), MHV_OK);
        double sec = (double)(clock() - c0) / CLOCKS_PER_SEC;
        assert_true(e.n > 0);
        assert_true(sec < 20.0); /* generous for ASan; a quadratic merge loop takes minutes */
        mhv_encoding_free(&e);
    }
    free(s);
    mhv_tok_close(t);
}

static mhv_status open_files(const char *vocab, const char *merges, mhv_error *err)
{
    char vp[256], mp[256];
    tmp_path(vp, sizeof vp, "vocab.json");
    tmp_path(mp, sizeof mp, "merges.txt");
    write_text(vp, vocab, strlen(vocab));
    write_text(mp, merges, strlen(merges));
    mhv_tok *t = NULL;
    mhv_status st = mhv_tok_open_bpe_files(vp, mp, NULL, NULL, &t, err);
    mhv_tok_close(t);
    return st;
}

static void expect_fail(mhv_status st, mhv_status want, const mhv_error *err, const char *needle)
{
    if (st != want || !strstr(err->msg, needle))
        fail_msg("status %d (want %d), message '%s' (want '%s')", st, want, err->msg, needle);
    assert_null(strchr(err->msg, '\n'));
}

static void test_bad_files(void **state)
{
    (void)state;
    make_tmpdir();
    mhv_error err = {{0}, {0}};
    const char *v = "{\"a\": 0, \"b\": 1, \"ab\": 2}";
    assert_int_equal(open_files(v, "#version: 0.2\na b\n", &err), MHV_OK);
    assert_int_equal(open_files(v, "a b", &err), MHV_OK); /* no header, no final newline */
    expect_fail(open_files("{\"a\": 0,", "a b\n", &err), MHV_EFORMAT, &err, "not valid JSON");
    expect_fail(open_files("[1, 2]", "a b\n", &err), MHV_EFORMAT, &err, "not a JSON object");
    expect_fail(open_files("{\"a\": 0, \"b\": 1.5}", "", &err), MHV_EFORMAT, &err,
                "no valid id");
    expect_fail(open_files("{\"a\": 0, \"b\": -1}", "", &err), MHV_EFORMAT, &err, "no valid id");
    expect_fail(open_files("{\"a\": 0, \"b\": 0}", "", &err), MHV_EFORMAT, &err, "given twice");
    expect_fail(open_files("{\"a\": 0, \"b\": 2}", "", &err), MHV_EFORMAT, &err, "not dense");
    expect_fail(open_files("{\"a\": 0, \"b\": 99999999}", "", &err), MHV_EFORMAT, &err,
                "no valid id");
    expect_fail(open_files("{}", "", &err), MHV_EFORMAT, &err, "empty vocabulary");
    expect_fail(open_files(v, "a b\nab\n", &err), MHV_EFORMAT, &err, "line 2 is not two pieces");
    expect_fail(open_files(v, "a b c\n", &err), MHV_EFORMAT, &err, "line 1 is not two pieces");
    expect_fail(open_files(v, "a  b\n", &err), MHV_EFORMAT, &err, "not two pieces");
    expect_fail(open_files(v, "a x\n", &err), MHV_EFORMAT, &err, "'x' is not in the vocabulary");
    expect_fail(open_files(v, "b a\n", &err), MHV_EFORMAT, &err, "'ba' is not in the vocab");
    expect_fail(open_files(v, "a b\n\na b\n", &err), MHV_EFORMAT, &err, "line 2");
    char nul[] = "a b\n\0\n";
    char mp[256];
    tmp_path(mp, sizeof mp, "merges.txt");
    write_text(mp, nul, sizeof nul - 1);
    char vp[256];
    tmp_path(vp, sizeof vp, "vocab.json");
    mhv_tok *t = NULL;
    expect_fail(mhv_tok_open_bpe_files(vp, mp, NULL, NULL, &t, &err), MHV_EFORMAT, &err, "NUL");
    expect_fail(mhv_tok_open_bpe_files(vp, "/nonexistent/merges.txt", NULL, NULL, &t, &err),
                MHV_EIO, &err, "cannot open");
    assert_null(t);

    /* tokenizer.json */
    static const struct {
        const char *json, *needle;
        mhv_status st;
    } tj[] = {
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": 5}}",
         "'model.merges' is missing or not an array", MHV_EFORMAT},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": [1], \"merges\": []}}",
         "'model.vocab' is missing", MHV_EFORMAT},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [7]}}",
         "merge 1 is neither", MHV_EFORMAT},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": "
         "[[\"a\", \"b\"]]}}", "'ab' is not in the vocabulary", MHV_EFORMAT},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [],"
         " \"unk_token\": \"<unk>\"}}", "unknown token '<unk>'", MHV_EFORMAT},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [],"
         " \"dropout\": 0.1}}", "dropout", MHV_EUNSUPPORTED},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},"
         " \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\\\\d+\"},"
         " \"behavior\": \"Isolated\"}}", "regex '(\\d+'", MHV_EUNSUPPORTED},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},"
         " \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\","
         " \"pattern\": {\"Regex\": \"\\\\p{N}{1,3}\"}, \"behavior\": \"Sideways\"},"
         " {\"type\": \"ByteLevel\", \"use_regex\": false}]}}",
         "unsupported behavior 'Sideways'", MHV_EUNSUPPORTED},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},"
         " \"normalizer\": {\"type\": \"NFKX\"}}", "unsupported normalizer 'NFKX'",
         MHV_EUNSUPPORTED},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},"
         " \"pre_tokenizer\": {\"type\": \"Metaspace\", \"prepend_scheme\": \"sometimes\"}}",
         "prepend_scheme 'sometimes'", MHV_EUNSUPPORTED},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},"
         " \"added_tokens\": [{\"id\": 5, \"content\": \"<x>\"}]}", "not dense", MHV_EFORMAT},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},"
         " \"added_tokens\": [{\"id\": 0, \"content\": \"<x>\"}]}", "reuses id 0",
         MHV_EUNSUPPORTED},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},"
         " \"post_processor\": {\"type\": \"Sequence\", \"processors\": [{\"type\": "
         "\"Sequence\", \"processors\": []}]}}", "nested", MHV_EUNSUPPORTED},
        {"{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", "Unigram vocabulary of 0 "
         "pieces", MHV_EFORMAT},
        {"{\"model\": {\"type\": \"WordLevel\", \"vocab\": {}}}", "unsupported tokenizer model "
         "'WordLevel'", MHV_EUNSUPPORTED},
    };
    char p[256];
    tmp_path(p, sizeof p, "tokenizer.json");
    for (size_t i = 0; i < sizeof tj / sizeof *tj; i++) {
        write_text(p, tj[i].json, strlen(tj[i].json));
        t = NULL;
        mhv_status st = mhv_tok_open_files(p, NULL, NULL, &t, &err);
        if (st != tj[i].st || !strstr(err.msg, tj[i].needle))
            fail_msg("case %zu: status %d, '%s'; want %d, '%s'", i, st, err.msg, tj[i].st,
                     tj[i].needle);
        assert_null(t);
    }
    /* a minimal valid one: merges as pairs, no pre-tokenizer, unknown characters dropped */
    const char *ok = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2},"
                     " \"merges\": [[\"a\", \"b\"]]}}";
    write_text(p, ok, strlen(ok));
    assert_int_equal(mhv_tok_open_files(p, NULL, NULL, &t, &err), MHV_OK);
    mhv_encoding e;
    assert_int_equal(mhv_tok_encode(t, "abxab", 5, &e, &err), MHV_OK);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.ids[0], 2);
    assert_int_equal(e.spans[2], 3);
    assert_int_equal(e.spans[3], 5);
    mhv_encoding_free(&e);
    assert_int_equal(mhv_tok_encode(t, "a\xE8", 2, &e, &err), MHV_EINPUT);
    mhv_tok_close(t);
    rm_tmpdir();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_token_text),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_llamacpp_gpt2),
        cmocka_unit_test(test_llamacpp_qwen2),
        cmocka_unit_test(test_golden_gpt2_json),
        cmocka_unit_test(test_golden_gpt2_files),
        cmocka_unit_test(test_golden_qwen2_json),
        cmocka_unit_test(test_golden_qwen2_files),
        cmocka_unit_test(test_golden_llama),
        cmocka_unit_test(test_long_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
