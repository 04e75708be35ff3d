/* test_tok_m2m100.c - M2M100Tokenizer without tokenizer.json (tests/gen/gen_tok_m2m100.py):
 * SentencePiece's own BPE encoder on the model trained there (nmt_nfkc charsmap; and one with
 * no charsmap, whitespace kept, no dummy prefix), pieces numbered by a vocab.json in another
 * order with pieces missing, the language codes after it; ids and tokens equal
 * transformers' M2M100Tokenizer on every golden sentence and pair, for the hub's
 * tokenizer_config.json, language codes listed as special tokens, save_pretrained's files,
 * wmt21's codes, null bos and pad tokens, a model with unused pieces, one with rules of our
 * own (the longest rule wins) and user-defined pieces, one with byte fallback;
 * mhv_tok_open_dir picks the class; hostile files are one-line errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "tok/spm.h"
#include "tok/spm_bpe.h"

static int check_ids(const mhv_tok *t, const char *label, const char *what, const mhv_encoding *e,
                     const cJSON *ids, const cJSON *toks)
{
    int n = cJSON_GetArraySize(ids), bad = e->n != n;
    for (int i = 0; !bad && i < n; i++)
        bad = e->ids[i] != cJSON_GetArrayItem(ids, i)->valueint ||
              (toks && strcmp(e->pieces[i], cJSON_GetArrayItem(toks, i)->valuestring) != 0);
    if (bad) {
        print_error("%s: '%.80s' differs from M2M100Tokenizer:\n  ours:", label, what);
        for (int i = 0; i < e->n; i++)
            print_error(" %d'%s'", e->ids[i], e->pieces[i]);
        print_error("\n  HF:  ");
        for (int i = 0; i < n; i++)
            print_error(" %d'%s'", cJSON_GetArrayItem(ids, i)->valueint,
                        mhv_tok_piece(t, cJSON_GetArrayItem(ids, i)->valueint));
        print_error("\n");
    }
    return bad;
}

/* Spans: none for the code and </s> around the text, the others in order within it. */
static int check_spans(const mhv_encoding *e, const char *s)
{
    int32_t chars = 0, last = 0;
    for (const char *p = s; *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    if (e->spans[0] != -1 || e->spans[2 * e->n - 2] != -1)
        return 1;
    for (int i = 1; i < e->n - 1; i++) {
        int32_t a = e->spans[2 * i], b = e->spans[2 * i + 1];
        if (a < 0) /* an added token in the text keeps its span too */
            return 1;
        if (a < last || b < a || b > chars) {
            print_error("span %d [%d,%d) of '%.60s'\n", i, a, b, s);
            return 1;
        }
        last = a;
    }
    return 0;
}

/* Every golden of tok-goldens-<golden>.json through the tokenizer of dir's files. */
static void goldens(const char *dir, const char *golden, const char *cfg, const char *map)
{
    char spm[256], vj[256], tc[256], sm[256], path[256];
    snprintf(spm, sizeof spm, "tests/fixtures/%s/sentencepiece.bpe.model", dir);
    snprintf(vj, sizeof vj, "tests/fixtures/%s/vocab.json", dir);
    snprintf(tc, sizeof tc, "tests/fixtures/%s/%s", dir, cfg);
    snprintf(sm, sizeof sm, "tests/fixtures/%s/%s", dir, map);
    mhv_tok *t = NULL;
    mhv_error err = {0};
    if (mhv_tok_open_m2m100(spm, vj, tc, sm, &t, &err))
        fail_msg("%s: %s: %s", golden, err.file, err.msg);
    assert_string_equal(mhv_tok_model_type(t), "BPE");
    assert_int_equal(mhv_tok_kind_of(t), MHV_TOK_SENTENCEPIECE_BPE);
    snprintf(path, sizeof path, "tests/fixtures/tok-goldens-%s.json", golden);
    cJSON *j = tu_read_json(path);
    const cJSON *cases = cJSON_GetObjectItem(j, "cases"), *pairs = cJSON_GetObjectItem(j, "pairs");
    assert_true(cJSON_GetArraySize(cases) >= 150);
    int bad = 0;
    for (const cJSON *c = cases->child; c; c = c->next) {
        const char *s = cJSON_GetObjectItem(c, "sentence")->valuestring;
        mhv_encoding e;
        if (mhv_tok_encode(t, s, strlen(s), &e, &err)) {
            print_error("%s: '%s': %s\n", golden, s, err.msg);
            bad++;
            continue;
        }
        bad += check_ids(t, golden, s, &e, cJSON_GetObjectItem(c, "ids"),
                         cJSON_GetObjectItem(c, "tokens"));
        bad += check_spans(&e, s);
        mhv_encoding_free(&e);
    }
    for (const cJSON *c = pairs->child; c; c = c->next) {
        const char *a = cJSON_GetObjectItem(c, "first")->valuestring;
        const char *b = cJSON_GetObjectItem(c, "second")->valuestring;
        mhv_encoding e;
        if (mhv_tok_encode_pair(t, a, strlen(a), b, strlen(b), &e, &err)) {
            print_error("%s: pair '%s': %s\n", golden, a, err.msg);
            bad++;
            continue;
        }
        /* the ids only: M2M100 takes no token type ids (not in the class's
         * model_input_names; its bert_style types split the pair where its own comment
         * calls the split approximate) */
        bad += check_ids(t, golden, a, &e, cJSON_GetObjectItem(c, "ids"), NULL);
        mhv_encoding_free(&e);
    }
    assert_int_equal(mhv_tok_vocab_size(t) >= cJSON_GetObjectItem(j, "vocab_size")->valueint, 1);
    cJSON_Delete(j);
    mhv_tok_close(t);
    assert_int_equal(bad, 0);
}

static void test_hub(void **s)
{
    (void)s;
    goldens("tok-m2m100", "m2m100", "tokenizer_config.json", "special_tokens_map.json");
}

static void test_codes(void **s)
{
    (void)s;
    goldens("tok-m2m100", "m2m100-codes", "tokenizer_config-codes.json",
            "special_tokens_map-codes.json");
}

static void test_saved(void **s)
{
    (void)s;
    goldens("tok-m2m100", "m2m100-saved", "tokenizer_config-saved.json",
            "special_tokens_map-codes.json");
}

static void test_wmt21(void **s)
{
    (void)s;
    goldens("tok-m2m100", "m2m100-wmt21", "tokenizer_config-wmt21.json",
            "special_tokens_map-wmt21.json");
}

static void test_nobos(void **s)
{
    (void)s;
    goldens("tok-m2m100", "m2m100-nobos", "tokenizer_config-nobos.json",
            "special_tokens_map-nobos.json");
}

static void test_rules(void **s)
{
    (void)s;
    goldens("tok-m2m100-rules", "m2m100-rules", "tokenizer_config.json",
            "special_tokens_map.json");
}

static void test_bytes(void **s)
{
    (void)s;
    goldens("tok-m2m100-bytes", "m2m100-bytes", "tokenizer_config.json",
            "special_tokens_map.json");
}

static void test_unused(void **s)
{
    (void)s;
    goldens("tok-m2m100-unused", "m2m100-unused", "tokenizer_config.json",
            "special_tokens_map.json");
}

static void test_identity(void **s)
{
    (void)s;
    goldens("tok-m2m100-identity", "m2m100-identity", "tokenizer_config.json",
            "special_tokens_map.json");
}

/* mhv_tok_open_dir finds the class (tokenizer_config.json, else config.json's model_type). */
static void test_open_dir(void **state)
{
    (void)state;
    mhv_tok *t = tu_open_tok_dir("tests/fixtures/tok-m2m100");
    mhv_encoding e;
    mhv_error err = {0};
    assert_int_equal(mhv_tok_encode(t, "Hello world", 11, &e, &err), MHV_OK);
    assert_string_equal(e.pieces[0], "__en__");
    assert_string_equal(e.pieces[e.n - 1], "</s>");
    assert_true(mhv_tok_is_special(t, e.ids[0]));
    /* figure labels: "▁" as a space, as for the other SentencePiece tokenizers */
    char text[64];
    mhv_tok_token_text(t, mhv_tok_lookup(t, "\xe2\x96\x81" "c", 4), text, sizeof text);
    assert_string_equal(text, " c");
    mhv_encoding_free(&e);
    mhv_tok_close(t);

    char dir[] = "/tmp/mhv-m2m-XXXXXX", p[256];
    assert_non_null(mkdtemp(dir));
    static const char *const files[] = {"sentencepiece.bpe.model", "vocab.json"};
    for (int i = 0; i < 2; i++) {
        size_t n;
        char src[256], *buf;
        snprintf(src, sizeof src, "tests/fixtures/tok-m2m100/%s", files[i]);
        buf = tu_read_file(src, &n);
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, n, f), n);
        fclose(f);
        free(buf);
    }
    snprintf(p, sizeof p, "%s/config.json", dir);
    FILE *f = fopen(p, "w");
    fputs("{\"model_type\": \"m2m_100\"}", f);
    fclose(f);
    t = tu_open_tok_dir(dir);
    assert_int_equal(mhv_tok_encode(t, "", 0, &e, &err), MHV_OK);
    assert_int_equal(e.n, 2);
    assert_string_equal(e.pieces[0], "__en__");
    mhv_encoding_free(&e);
    mhv_tok_close(t);
    /* another class with these files is not read as M2M100's */
    snprintf(p, sizeof p, "%s/tokenizer_config.json", dir);
    f = fopen(p, "w");
    fputs("{\"tokenizer_class\": \"NllbTokenizer\"}", f);
    fclose(f);
    assert_int_not_equal(mhv_tok_open_dir(dir, &t, &err), MHV_OK);
    assert_non_null(strstr(err.msg, "NllbTokenizer"));
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/config.json", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/tokenizer_config.json", dir);
    unlink(p);
    rmdir(dir);
}

/* The normalizer alone: the charsmap's longest rule, whitespace runs folded, "▁". */
static void test_normalize(void **state)
{
    (void)state;
    size_t n;
    char *buf = tu_read_file("tests/fixtures/tok-m2m100/sentencepiece.bpe.model", &n);
    mhv_spm_model m;
    mhv_error err = {0};
    assert_int_equal(mhv_spm_parse((unsigned char *)buf, n, "m", &m, &err), MHV_OK);
    assert_int_equal(m.add_dummy_prefix && m.remove_extra_whitespaces && m.escape_whitespaces, 1);
    mhv_spm_bpe *b;
    assert_int_equal(mhv_spm_bpe_new(&m, "m", &b, &err), MHV_OK);
    const uint32_t text[] = {' ', ' ', 0xFB01, '\t', ' ', 0xFF21, 0x2460, ' ', ' '};
    char *out;
    size_t len;
    assert_int_equal(mhv_spm_bpe_normalize(b, text, 9, &out, &len, &err), MHV_OK);
    assert_string_equal(out, "\xe2\x96\x81" "fi" "\xe2\x96\x81" "A1");
    free(out);
    assert_int_equal(mhv_spm_bpe_normalize(b, text, 2, &out, &len, &err), MHV_OK);
    assert_int_equal(len, 0);
    free(out);
    mhv_spm_bpe_free(b);
    m.model_type = 1; /* a unigram model is not this encoder's */
    assert_int_equal(mhv_spm_bpe_new(&m, "m", &b, &err), MHV_EUNSUPPORTED);
    m.model_type = 2;
    m.whitespace_as_suffix = 1;
    assert_int_equal(mhv_spm_bpe_new(&m, "m", &b, &err), MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "treat_whitespace_as_suffix"));
    mhv_spm_free(&m);
    free(buf);
}

/* Hostile files: one-line errors naming the problem. */
static void expect_error(const char *name, const char *vocab, const char *cfg, const char *want)
{
    char dir[] = "/tmp/mhv-m2m-XXXXXX", vj[256], tc[256];
    assert_non_null(mkdtemp(dir));
    snprintf(vj, sizeof vj, "%s/vocab.json", dir);
    snprintf(tc, sizeof tc, "%s/tokenizer_config.json", dir);
    FILE *f = fopen(vj, "w");
    fputs(vocab, f);
    fclose(f);
    f = fopen(tc, "w");
    fputs(cfg, f);
    fclose(f);
    mhv_tok *t = NULL;
    mhv_error err = {0};
    mhv_status st = mhv_tok_open_m2m100(
        "tests/fixtures/tok-m2m100-identity/sentencepiece.bpe.model", vj, tc, NULL, &t, &err);
    if (st == MHV_OK || !strstr(err.msg, want) || strchr(err.msg, '\n'))
        fail_msg("%s: status %d, '%s', wanted '%s'", name, st, err.msg, want);
    assert_null(t);
    unlink(vj);
    unlink(tc);
    rmdir(dir);
}

static void test_hostile(void **state)
{
    (void)state;
    const char *v = "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3, \"a\": 4}";
    expect_error("array", "[1, 2]", "{}", "not a JSON object");
    expect_error("empty", "{}", "{}", "not an object of pieces and ids");
    expect_error("sparse", "{\"<s>\": 0, \"<unk>\": 5}", "{}", "is not one of 0..1 given once");
    expect_error("twice", "{\"<s>\": 0, \"<unk>\": 0}", "{}", "given once");
    expect_error("fraction", "{\"<s>\": 0.5}", "{}", "given once");
    expect_error("no unk", "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2}", "{}", "'<unk>'");
    expect_error("code", "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3, \"__en__\": 4}",
                 "{}", "language code '__en__'");
    expect_error("src_lang", v, "{\"src_lang\": \"xx\"}", "src_lang 'xx' is not one of");
    expect_error("codes", v, "{\"language_codes\": \"all\"}", "language_codes 'all'");
    expect_error("extra", v, "{\"additional_special_tokens\": [\"<new>\"]}",
                 "'<new>' is neither a language code nor in vocab.json");
    expect_error("moved", v, "{\"added_tokens_decoder\": {\"9\": {\"content\": \"__en__\"}}}",
                 "has id 9, M2M100Tokenizer's is 23");
    expect_error("single word", v, "{\"added_tokens_decoder\": {\"23\": {\"content\": \"__en__\", "
                 "\"single_word\": true}}}", "single_word");
    expect_error("not json", v, "{", "not valid JSON");
    expect_error("null eos", v, "{\"eos_token\": null}", "eos_token is null");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hub),       cmocka_unit_test(test_codes),
        cmocka_unit_test(test_saved),     cmocka_unit_test(test_wmt21),
        cmocka_unit_test(test_identity),  cmocka_unit_test(test_nobos),
        cmocka_unit_test(test_unused),    cmocka_unit_test(test_rules),
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_open_dir),
        cmocka_unit_test(test_normalize), cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
