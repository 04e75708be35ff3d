/* test_decode_labels.c - figure labels follow tokenizer.json's "decoder" (issue 13): the
 * per-token texts mhv_tok_decode_tokens gives, joined, equal Hugging Face tokenizers'
 * decode(ids) on every golden sentence of every fixture tokenizer with a decoder
 * (tests/gen/gen_decode_goldens.py); the labels of a few tokens as drawn; decoder steps and
 * options mhaviz does not implement are refused by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "fig/label.h"
#include "tok/decoder.h"

static void test_joined_equals_hf_decode(void **s)
{
    (void)s;
    cJSON *g = tu_read_json("tests/fixtures/decode-goldens.json");
    const cJSON *dec = cJSON_GetObjectItem(g, "decoded");
    int families = 0, bad = 0;
    for (const cJSON *f = dec->child; f; f = f->next, families++) {
        char dir[256], golden[256];
        snprintf(dir, sizeof dir, "tests/fixtures/tok-%s", f->string);
        snprintf(golden, sizeof golden, "tests/fixtures/tok-goldens-%s.json", f->string);
        mhv_tok *t = tu_open_tok_dir(dir);
        assert_true(mhv_tok_labels_decoded(t) || strcmp(f->string, "minilm") == 0);
        cJSON *j = tu_read_json(golden);
        const cJSON *c = cJSON_GetObjectItem(j, "cases")->child, *want = f->child;
        int cases = 0;
        for (; c && want; c = c->next, want = want->next, cases++) {
            const cJSON *idl = cJSON_GetObjectItem(c, "ids");
            int n = cJSON_GetArraySize(idl), k = 0;
            int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
            for (const cJSON *e = idl->child; e; e = e->next)
                ids[k++] = (int32_t)e->valuedouble;
            char **toks;
            mhv_error err = {0};
            assert_int_equal(mhv_tok_decode_tokens(t, ids, n, &toks, &err), MHV_OK);
            size_t len = 0;
            for (int i = 0; i < n; i++)
                len += strlen(toks[i]);
            char *joined = malloc(len + 1);
            joined[0] = '\0';
            for (int i = 0; i < n; i++)
                strcat(joined, toks[i]);
            if (strcmp(joined, want->valuestring) != 0 && bad++ < 5)
                print_message("%s case %d: mhaviz '%s', HF '%s'\n", f->string, cases, joined,
                              want->valuestring);
            free(joined);
            mhv_decoder_tokens_free(toks, n);
            free(ids);
        }
        assert_true(cases >= 60); /* the goldens: 69 sentences for minilm, 100+ others */
        cJSON_Delete(j);
        mhv_tok_close(t);
    }
    assert_true(families >= 18);
    cJSON_Delete(g);
    assert_int_equal(bad, 0);
}

/* The decoded label of token i of text in tokenizer dir, as a figure draws it (parts joined,
 * a word start's "·" included). */
static void label_of(const char *dir, const char *text, int i, char *out, size_t size)
{
    mhv_tok *t = tu_open_tok_dir(dir);
    mhv_encoding e;
    mhv_error err = {0};
    assert_int_equal(mhv_tok_encode(t, text, strlen(text), &e, &err), MHV_OK);
    assert_true(i < e.n);
    char **toks;
    assert_int_equal(mhv_tok_decode_tokens(t, e.ids, e.n, &toks, &err), MHV_OK);
    mhv_label l;
    mhv_label_make(toks[i], MHV_LABEL_DECODED, 0, &l);
    out[0] = '\0';
    for (int p = 0; p < l.n; p++)
        strncat(out, l.part[p].text, size - strlen(out) - 1);
    mhv_decoder_tokens_free(toks, e.n);
    mhv_encoding_free(&e);
    mhv_tok_close(t);
}

static void test_labels(void **s)
{
    (void)s;
    char b[256];
    /* T5 (a tiny vocabulary: "The" is "▁", "T", "h", "e"): Metaspace with prepend_scheme
     * always drops the first token's "▁" (an empty label, drawn as "∅"); a later "▁" is a
     * word start */
    label_of("tests/fixtures/tok-t5", "The cat sat", 0, b, sizeof b);
    assert_string_equal(b, "\xE2\x88\x85");
    label_of("tests/fixtures/tok-t5", "The cat sat", 4, b, sizeof b);
    assert_string_equal(b, "\xC2\xB7");
    label_of("tests/fixtures/tok-t5", "The cat sat", 5, b, sizeof b);
    assert_string_equal(b, "c");
    /* RoBERTa: ByteLevel, "Ġc" is a space and "c" */
    label_of("tests/fixtures/tok-roberta", "The cat", 3, b, sizeof b);
    assert_string_equal(b, "\xC2\xB7" "c");
}

static void test_refused(void **s)
{
    (void)s;
    static const char *const bad[][2] = {
        {"{\"type\": \"CTC\", \"pad_token\": \"<pad>\"}", "decoder type 'CTC' is not supported"},
        {"{\"type\": \"Replace\", \"pattern\": {\"Regex\": \" +\"}, \"content\": \" \"}",
         "Replace decoder with a Regex pattern is not supported"},
        {"{\"type\": \"Metaspace\", \"replacement\": \"_\", \"prepend_scheme\": \"sometimes\"}",
         "prepend_scheme 'sometimes' is not supported"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cJSON *d = cJSON_Parse(bad[k][0]);
        mhv_decoder dec;
        mhv_error err = {0};
        assert_int_equal(mhv_decoder_parse(d, &dec, "t.json", &err), MHV_EUNSUPPORTED);
        assert_non_null(strstr(err.msg, bad[k][1]));
        cJSON_Delete(d);
    }
}

/* The steps on pieces: Fuse then Strip acts on the joined text's first character only;
 * BPEDecoder's suffix is a space except at the end; WordPiece's cleanup. */
static void test_steps(void **s)
{
    (void)s;
    static const struct {
        const char *json;
        const char *pieces[4];
        int n;
        const char *want[4];
    } cases[] = {
        {"{\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": "
         "{\"String\": \"\\u2581\"}, \"content\": \" \"}, {\"type\": \"ByteFallback\"}, "
         "{\"type\": \"Fuse\"}, {\"type\": \"Strip\", \"content\": \" \", \"start\": 1, "
         "\"stop\": 0}]}",
         {"\xE2\x96\x81" "a", "\xE2\x96\x81" "b", "<0xE8>"}, 3, {"a", " b", "\xE8"}},
        {"{\"type\": \"BPEDecoder\", \"suffix\": \"</w>\"}", {"ab</w>", "c", "d</w>"}, 3,
         {"ab ", "c", "d"}},
        {"{\"type\": \"WordPiece\", \"prefix\": \"##\", \"cleanup\": true}",
         {"##x", "don", "##e", "."}, 4, {"##x", " don", "e", "."}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        cJSON *d = cJSON_Parse(cases[k].json);
        mhv_decoder dec;
        mhv_error err = {0};
        assert_int_equal(mhv_decoder_parse(d, &dec, "t.json", &err), MHV_OK);
        char **toks;
        assert_int_equal(mhv_decoder_tokens(&dec, cases[k].pieces, cases[k].n, &toks, &err),
                         MHV_OK);
        for (int i = 0; i < cases[k].n; i++)
            assert_string_equal(toks[i], cases[k].want[i]);
        mhv_decoder_tokens_free(toks, cases[k].n);
        cJSON_Delete(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_joined_equals_hf_decode),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
