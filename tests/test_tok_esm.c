/* test_tok_esm.c - EsmTokenizer (tests/gen/gen_tok_esm.py): ids and tokens equal
 * transformers' on every golden sentence of the saved, hub-layout and odd vocabularies (masks,
 * unknown and lowercase letters, every Python whitespace, partial special tokens, overlapping
 * entries through Trie.split, the empty string), pairs <cls> A <eos> B <eos>; each token
 * read from the text spans exactly its piece (an <unk> spans what it stands for); and the
 * files and options that are not supported are refused by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "text/unicode.h"

/* The characters [a, b) of text s as UTF-8 into buf. */
static void slice(const char *s, int a, int b, char *buf, size_t size)
{
    size_t len = strlen(s), i = 0, o = 0;
    int k = 0;
    while (i < len) {
        uint32_t c;
        int w = mhv_utf8_decode(s + i, len - i, &c);
        assert_true(w > 0);
        if (k >= a && k < b && o + (size_t)w < size) {
            memcpy(buf + o, s + i, (size_t)w);
            o += (size_t)w;
        }
        i += (size_t)w, k++;
    }
    buf[o] = '\0';
}

static int check_case(const mhv_tok *t, const cJSON *c, const char *label)
{
    const char *s = cJSON_GetObjectItem(c, "sentence")->valuestring;
    const cJSON *ids = cJSON_GetObjectItem(c, "ids"), *toks = cJSON_GetObjectItem(c, "tokens");
    mhv_encoding e;
    mhv_error err = {0};
    if (mhv_tok_encode(t, s, strlen(s), &e, &err)) {
        print_error("%s: '%s': %s\n", label, s, err.msg);
        return 1;
    }
    int n = cJSON_GetArraySize(ids), bad = e.n != n;
    int32_t unk = mhv_tok_lookup(t, "<unk>", 5);
    for (int i = 0; !bad && i < n; i++) {
        bad = e.ids[i] != cJSON_GetArrayItem(ids, i)->valueint ||
              strcmp(e.pieces[i], cJSON_GetArrayItem(toks, i)->valuestring) != 0;
        int a = e.spans[2 * i], b = e.spans[2 * i + 1];
        if (!bad && a >= 0 && e.ids[i] != unk) { /* the text it came from is its piece */
            char buf[2048];
            slice(s, a, b, buf, sizeof buf);
            bad = strcmp(buf, e.pieces[i]) != 0;
        }
        if (!bad && a < 0) /* only <cls> and <eos> come from no text */
            bad = i != 0 && i != n - 1;
    }
    if (bad) {
        print_error("%s: '%.80s' differs from HF:\n  ours:", label, s);
        for (int i = 0; i < e.n; i++)
            print_error(" %d'%s'[%d,%d)", e.ids[i], e.pieces[i], e.spans[2 * i],
                        e.spans[2 * i + 1]);
        print_error("\n  HF:  ");
        for (int i = 0; i < n; i++)
            print_error(" %d'%s'", cJSON_GetArrayItem(ids, i)->valueint,
                        cJSON_GetArrayItem(toks, i)->valuestring);
        print_error("\n");
    }
    mhv_encoding_free(&e);
    return bad;
}

static void golden(const char *name, int size)
{
    char dir[256], file[256];
    snprintf(dir, sizeof dir, "tests/fixtures/tok-%s", name);
    snprintf(file, sizeof file, "tests/fixtures/tok-goldens-%s.json", name);
    mhv_tok *t = tu_open_tok_dir(dir);
    assert_string_equal(mhv_tok_model_type(t), "Esm");
    assert_int_equal(mhv_tok_kind_of(t), MHV_TOK_ESM);
    assert_int_equal(mhv_tok_vocab_size(t), size);
    cJSON *j = tu_read_json(file);
    const cJSON *cases = cJSON_GetObjectItem(j, "cases");
    assert_true(cJSON_GetArraySize(cases) >= 300);
    int bad = 0;
    for (const cJSON *c = cases->child; c; c = c->next)
        bad += check_case(t, c, name);
    bad += tu_check_pair_goldens(t, j, name);
    /* the special tokens, and only they, are special */
    for (int32_t id = 0; id < mhv_tok_vocab_size(t); id++) {
        const char *p = mhv_tok_piece(t, id);
        int want = !strcmp(p, "<cls>") || !strcmp(p, "<pad>") || !strcmp(p, "<eos>") ||
                   !strcmp(p, "<unk>") || !strcmp(p, "<mask>");
        bad += mhv_tok_is_special(t, id) != want;
    }
    cJSON_Delete(j);
    mhv_tok_close(t);
    assert_int_equal(bad, 0);
}

static void test_saved(void **s) { (void)s; golden("esm", 33); }
static void test_hub(void **s) { (void)s; golden("esm-hub", 33); }
static void test_odd(void **s) { (void)s; golden("esm-odd", 50); }

/* A directory of vocab (the ESM vocabulary's first lines and what follows), a
 * tokenizer_config.json and maybe a config.json; opened, the error's message must hold
 * want (NULL: opens). */
static void dir_case(const char *vocab, const char *tok_cfg, const char *cfg, const char *want)
{
    char dir[] = "/tmp/mhv-esm-XXXXXX", p[512];
    assert_non_null(mkdtemp(dir));
    const char *files[3][2] = {{"vocab.txt", vocab}, {"tokenizer_config.json", tok_cfg},
                               {"config.json", cfg}};
    for (int i = 0; i < 3; i++) {
        if (!files[i][1])
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, files[i][0]);
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        fputs(files[i][1], f);
        fclose(f);
    }
    mhv_tok *t = NULL;
    mhv_error err = {0};
    mhv_status st = mhv_tok_open_dir(dir, &t, &err);
    if (!want) {
        if (st)
            fail_msg("%s", err.msg);
        assert_int_equal(mhv_tok_kind_of(t), MHV_TOK_ESM);
    } else if (!st || !strstr(err.msg, want)) {
        fail_msg("want '%s', got %d '%s'", want, st, err.msg);
    }
    assert_true(!st || (t == NULL && !strchr(err.msg, '\n')));
    mhv_tok_close(t);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i][0]);
        unlink(p);
    }
    rmdir(dir);
}

#define V "<cls>\n<pad>\n<eos>\n<unk>\nL\nA\n<mask>\n"
#define CLS "{\"tokenizer_class\": \"EsmTokenizer\""

static void test_refused(void **state)
{
    (void)state;
    dir_case(V, CLS "}", NULL, NULL);
    dir_case(V, NULL, "{\"model_type\": \"esm\"}", NULL); /* the class from model_type */
    dir_case(V "L\n", CLS "}", NULL, "repeats the entry 'L'");
    dir_case("<cls>\n<eos>\n<unk>\nL\n<mask>\n", CLS "}", NULL, "pad_token '<pad>' is not in");
    dir_case(V, CLS ", \"split_special_tokens\": true}", NULL, "split_special_tokens");
    dir_case(V, CLS ", \"additional_special_tokens\": [\"L\"]}", NULL,
             "additional_special_tokens is not supported");
    dir_case(V, CLS ", \"added_tokens_decoder\": {\"7\": {\"content\": \"<new>\"}}}", NULL,
             "tokens added to EsmTokenizer are not supported");
    dir_case(V, CLS ", \"added_tokens_decoder\": {\"5\": {\"content\": \"A\", "
             "\"single_word\": true}}}", NULL, "single_word");
    dir_case("<cls>\n\xff\n", CLS "}", NULL, "not UTF-8");
    dir_case("", CLS "}", NULL, "empty");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_saved),
        cmocka_unit_test(test_hub),
        cmocka_unit_test(test_odd),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
