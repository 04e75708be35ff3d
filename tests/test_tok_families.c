/* test_tok_families.c - tokenizers of the families made by tests/gen/gen_tok_families.py
 * (Split regexes of Llama-3, DeepSeek, Tekken; GPT-NeoX/OLMo ByteLevel; RoBERTa; a zoo of
 * normalizers and pre-tokenizers; SentencePiece Unigram models converted by transformers for
 * T5, XLM-R, ALBERT, DeBERTa-v2): ids, pieces and spans equal HF's on every golden sentence,
 * sentence pairs equal tokenizer.encode(a, b) (ids and type ids); and the hand matchers of
 * the GPT-2 / Qwen2 patterns agree with Oniguruma on the same patterns. */
#include <pthread.h>
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
#include "tok/charsmap.h"
#include "tok/pretok.h"
#include "tok/regex.h"

/* One golden case: HF's [0, 0] is our {-1, -1} (a special token) or an empty span at 0. */
static int check_case(const mhv_tok *t, const cJSON *c, const char *label)
{
    const char *s = cJSON_GetObjectItem(c, "sentence")->valuestring;
    const cJSON *ids = cJSON_GetObjectItem(c, "ids"), *toks = cJSON_GetObjectItem(c, "tokens"),
                *offs = cJSON_GetObjectItem(c, "offsets");
    mhv_encoding e;
    mhv_error err = {0};
    if (mhv_tok_encode(t, s, strlen(s), &e, &err)) {
        print_error("%s: '%s': %s\n", label, s, err.msg);
        return 1;
    }
    int n = cJSON_GetArraySize(ids), bad = e.n != n;
    for (int i = 0; !bad && i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(offs, i);
        int a = e.spans[2 * i] < 0 ? 0 : e.spans[2 * i];
        int b = e.spans[2 * i + 1] < 0 ? 0 : e.spans[2 * i + 1];
        bad = e.ids[i] != cJSON_GetArrayItem(ids, i)->valueint ||
              strcmp(e.pieces[i], cJSON_GetArrayItem(toks, i)->valuestring) != 0 ||
              a != cJSON_GetArrayItem(o, 0)->valueint || b != cJSON_GetArrayItem(o, 1)->valueint;
    }
    if (bad) {
        print_error("%s: '%.80s' differs from HF:\n  ours:", label, s);
        for (int i = 0; i < e.n; i++)
            print_error(" %d'%s'[%d,%d)", e.ids[i], e.pieces[i], e.spans[2 * i],
                        e.spans[2 * i + 1]);
        print_error("\n  HF:  ");
        for (int i = 0; i < n; i++) {
            const cJSON *o = cJSON_GetArrayItem(offs, i);
            print_error(" %d'%s'[%d,%d)", cJSON_GetArrayItem(ids, i)->valueint,
                        cJSON_GetArrayItem(toks, i)->valuestring,
                        cJSON_GetArrayItem(o, 0)->valueint,
                        cJSON_GetArrayItem(o, 1)->valueint);
        }
        print_error("\n");
    }
    mhv_encoding_free(&e);
    return bad;
}

static void family(const char *name, int min_cases)
{
    char dir[256], golden[256];
    snprintf(dir, sizeof dir, "tests/fixtures/tok-%s", name);
    snprintf(golden, sizeof golden, "tests/fixtures/tok-goldens-%s.json", name);
    mhv_tok *t = tu_open_tok_dir(dir);
    cJSON *j = tu_read_json(golden);
    const cJSON *cases = cJSON_GetObjectItem(j, "cases");
    assert_true(cJSON_GetArraySize(cases) >= min_cases);
    int bad = 0;
    for (const cJSON *c = cases->child; c; c = c->next)
        bad += check_case(t, c, name);
    bad += tu_check_pair_goldens(t, j, name);
    cJSON_Delete(j);
    mhv_tok_close(t);
    assert_int_equal(bad, 0);
}

/* A SentencePiece model without tokenizer.json, as transformers' AutoTokenizer builds it. */
static void spm_family(const char *name, const char *file, const char *suffix)
{
    char model[256], cfg[256], golden[256], label[128];
    snprintf(model, sizeof model, "tests/fixtures/tok-%s/%s", name, file);
    snprintf(cfg, sizeof cfg, "tests/fixtures/tok-%s/tokenizer_config%s.json", name, suffix);
    snprintf(golden, sizeof golden, "tests/fixtures/tok-goldens-%s%s.json", name, suffix);
    snprintf(label, sizeof label, "%s%s", name, suffix);
    mhv_tok *t = NULL;
    mhv_error err = {0};
    if (mhv_tok_open_spm(model, cfg, &t, &err))
        fail_msg("%s: %s: %s", label, err.file, err.msg);
    assert_string_equal(mhv_tok_model_type(t), strstr(name, "llama") ? "BPE" : "Unigram");
    cJSON *j = tu_read_json(golden);
    const cJSON *cases = cJSON_GetObjectItem(j, "cases");
    assert_true(cJSON_GetArraySize(cases) >= 100);
    int bad = 0;
    for (const cJSON *c = cases->child; c; c = c->next)
        bad += check_case(t, c, label);
    bad += tu_check_pair_goldens(t, j, label);
    cJSON_Delete(j);
    mhv_tok_close(t);
    assert_int_equal(bad, 0);
}

/* The tokenizers of data2vec-text (RobertaTokenizer) and Megatron-BERT (BertTokenizer) as
 * transformers' AutoTokenizer opens their directories (tests/gen/gen_tok_enc5.py). */
static void test_enc5(void **state)
{
    (void)state;
    family("data2vec-text", 100);
    family("megatron-bert", 100);
}

/* The tokenizers of OLMoE (GPTNeoXTokenizer), CodeGen (CodeGenTokenizer), EXAONE 4
 * (GPT2Tokenizer) and GLM-4 (a tokenizer.json of its shape) as transformers' AutoTokenizer
 * opens their directories (tests/gen/gen_tok_dec5.py). */
static void test_dec5(void **state)
{
    (void)state;
    family("olmoe", 100);
    family("codegen", 100);
    family("exaone4", 100);
    family("glm4", 100);
}

static void test_spm_models(void **state)
{
    (void)state;
    spm_family("debertav2-spm", "spm.model", "");
    spm_family("debertav2-spm", "spm.model", "-lower");
    spm_family("debertav2-spm-identity", "spm.model", "");
    spm_family("debertav2-spm-identity", "spm.model", "-lower");
    spm_family("t5-spm", "spiece.model", "");        /* 100 extra ids */
    spm_family("t5-spm", "spiece.model", "-extra3");
    spm_family("xlmr-spm", "sentencepiece.bpe.model", "");
    spm_family("xlmr-spm", "sentencepiece.bpe.model", "-noprefix");
    spm_family("albert-spm", "spiece.model", "");
    spm_family("albert-spm", "spiece.model", "-cased");
    spm_family("llama-spm", "tokenizer.model", "");
    spm_family("llama-spm", "tokenizer.model", "-bos-eos-legacy");
    spm_family("llama-spm", "tokenizer.model", "-noprefix");
    /* DeBERTa-v3's own layout: tokenizer_config.json names no class, config.json's
     * model_type does (AutoTokenizer maps deberta-v2 to DebertaV2Tokenizer) */
    char dir[] = "/tmp/mhv-tok-XXXXXX", p[256];
    assert_non_null(mkdtemp(dir));
    size_t n;
    char *model = tu_read_file("tests/fixtures/tok-debertav2-spm/spm.model", &n);
    static const char *const files[3][2] = {
        {"tokenizer_config.json", "{\"do_lower_case\": false, \"vocab_type\": \"spm\"}"},
        {"config.json", "{\"model_type\": \"deberta-v2\"}"}, {"spm.model", NULL}};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i][0]);
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        if (files[i][1])
            fputs(files[i][1], f);
        else
            assert_int_equal(fwrite(model, 1, n, f), n);
        fclose(f);
    }
    free(model);
    mhv_tok *d = tu_open_tok_dir(dir);
    cJSON *g = tu_read_json("tests/fixtures/tok-goldens-debertav2-spm.json");
    int bad = 0;
    for (const cJSON *c = cJSON_GetObjectItem(g, "cases")->child; c; c = c->next)
        bad += check_case(d, c, "deberta-v3 layout");
    cJSON_Delete(g);
    mhv_tok_close(d);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i][0]);
        remove(p);
    }
    rmdir(dir);
    assert_int_equal(bad, 0);
    /* mhv_tok_open_dir finds spm.model when nothing else is there */
    mhv_tok *t = tu_open_tok_dir("tests/fixtures/tok-debertav2-spm-identity");
    assert_int_equal(mhv_tok_vocab_size(t), 701); /* 700 pieces and [MASK] */
    assert_int_equal(mhv_tok_lookup(t, "[MASK]", 6), 700);
    mhv_tok_close(t);
}

static void test_llama3(void **s) { (void)s; family("llama3", 100); }
static void test_deepseek(void **s) { (void)s; family("deepseek", 100); }
static void test_tekken(void **s) { (void)s; family("tekken", 100); }
static void test_o200k(void **s) { (void)s; family("o200k", 100); }
static void test_olmo(void **s) { (void)s; family("olmo", 100); }
/* Command-R: NFC, digits one by one, then byte-level BPE; <BOS_TOKEN> first */
static void test_cohere(void **s) { (void)s; family("cohere", 100); }
static void test_roberta(void **s) { (void)s; family("roberta", 100); }
static void test_zoo(void **s) { (void)s; family("zoo", 100); }
static void test_whitespace(void **s) { (void)s; family("whitespace", 100); }
static void test_t5(void **s) { (void)s; family("t5", 100); }
static void test_xlmr(void **s) { (void)s; family("xlmr", 100); }
static void test_albert(void **s) { (void)s; family("albert", 100); }
static void test_debertav2(void **s) { (void)s; family("debertav2", 100); }
/* DeBERTa v1's DebertaTokenizer: its tokenizer.json, and the hub's vocab.json + merges.txt
 * whose class only config.json's model_type names (with add_prefix_space too) */
static void test_debertav1(void **s)
{
    (void)s;
    family("debertav1", 100);
    family("debertav1-files", 100);
    family("debertav1-aps", 100);
}
static void test_llamaspm(void **s) { (void)s; family("llamaspm", 100); }
static void test_gemma(void **s) { (void)s; family("gemma", 100); }
static void test_nfkc(void **s) { (void)s; family("nfkc", 100); }
static void test_added_bpe(void **s) { (void)s; family("added-bpe", 100); }
static void test_added_wordpiece(void **s) { (void)s; family("added-wordpiece", 100); }
static void test_mpnet(void **s) { (void)s; family("mpnet", 100); }
static void test_unigram_nfkd(void **s) { (void)s; family("unigram-nfkd", 100); }
static void test_unigram_bytes(void **s) { (void)s; family("unigram-bytefallback", 100); }

/* SentencePiece's precompiled charsmap (a small one made from a few rules) normalizes as HF's
 * Precompiled normalizer, graphemes and the shortest-prefix quirk included. */
static void test_precompiled(void **state)
{
    (void)state;
    cJSON *j = tu_read_json("tests/fixtures/tok-goldens-charsmap.json");
    mhv_charsmap *m;
    mhv_error err = {0};
    assert_int_equal(mhv_charsmap_from_base64(cJSON_GetObjectItem(j, "charsmap")->valuestring, "",
                                              &m, &err), MHV_OK);
    int bad = 0, n = 0;
    for (const cJSON *c = cJSON_GetObjectItem(j, "cases")->child; c; c = c->next, n++) {
        const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
        const char *want = cJSON_GetObjectItem(c, "normalized")->valuestring;
        mhv_normtext t = {0};
        size_t len = strlen(text), k = 0;
        while (k < len) {
            uint32_t cp;
            int w = mhv_utf8_decode(text + k, len - k, &cp);
            assert_true(w > 0 && mhv_normtext_push(&t, cp, (int32_t)t.n));
            k += (size_t)w;
        }
        assert_int_equal(mhv_charsmap_apply(m, &t, &err), MHV_OK);
        char got[4096];
        size_t o = 0;
        for (size_t i = 0; i < t.n && o + 4 < sizeof got; i++)
            o += (size_t)mhv_utf8_encode(t.cp[i], got + o);
        got[o] = '\0';
        if (strcmp(got, want) != 0) {
            print_error("precompiled: '%s' -> '%s', HF '%s'\n", text, got, want);
            bad++;
        }
        mhv_normtext_free(&t);
    }
    assert_true(n >= 60);
    assert_int_equal(bad, 0);
    mhv_charsmap_free(m);
    cJSON_Delete(j);
}

/* Display texts: the SentencePiece decoders ("▁" a space, "<0xF0>" its byte, a character's
 * split bytes in hex), WordPiece's "##" dropped. */
static void test_token_text(void **state)
{
    (void)state;
    mhv_tok *t = tu_open_tok_dir("tests/fixtures/tok-debertav2");
    assert_string_equal(mhv_tok_model_type(t), "Unigram");
    assert_int_equal(mhv_tok_kind_of(t), MHV_TOK_SENTENCEPIECE_BPE);
    mhv_tok_close(t);
    t = tu_open_tok_dir("tests/fixtures/tok-llamaspm"); /* byte fallback */
    mhv_encoding e;
    mhv_error err = {0};
    const char *s = "Hello 🦀";
    assert_int_equal(mhv_tok_encode(t, s, strlen(s), &e, &err), MHV_OK);
    char all[256] = "", buf[64];
    for (int i = 0; i < e.n; i++) {
        mhv_tok_token_text(t, e.ids[i], buf, sizeof buf);
        strncat(all, buf, sizeof all - strlen(all) - 1);
        strncat(all, "|", sizeof all - strlen(all) - 1);
    }
    /* the emoji is four byte-fallback tokens; each alone is not a character */
    assert_non_null(strstr(all, "<F0>|<9F>|<A6>|<80>|"));
    assert_non_null(strstr(all, " H|")); /* "▁H" */
    mhv_encoding_free(&e);
    mhv_tok_close(t);
    t = tu_open_tok_dir("tests/fixtures/tok-added-wordpiece");
    assert_string_equal(mhv_tok_model_type(t), "WordPiece");
    int32_t id = mhv_tok_lookup(t, "##ing", 5);
    if (id >= 0) {
        mhv_tok_token_text(t, id, buf, sizeof buf);
        assert_string_equal(buf, "ing");
    }
    mhv_tok_close(t);
    t = tu_open_tok_dir("tests/fixtures/tok-llama3");
    assert_string_equal(mhv_tok_model_type(t), "BPE");
    assert_int_equal(mhv_tok_kind_of(t), MHV_TOK_BYTELEVEL_BPE);
    mhv_tok_close(t);
}

/* A directory with only a SentencePiece model: the error names it and how to get
 * tokenizer.json. */
static void test_spm_only_dir(void **state)
{
    (void)state;
    char dir[] = "/tmp/mhv-tok-XXXXXX", p[256];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/spm.model", dir);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs("not read", f);
    fclose(f);
    mhv_tok *t = NULL;
    mhv_error err = {0};
    assert_int_equal(mhv_tok_open_dir(dir, &t, &err), MHV_EUNSUPPORTED);
    assert_null(t);
    assert_non_null(strstr(err.file, "spm.model"));
    assert_non_null(strstr(err.msg, "save_pretrained"));
    remove(p);
    rmdir(dir);
}

/* One tokenizer shared by threads (`stats` encodes on its workers): every thread gets HF's
 * ids for every golden sentence. */
typedef struct {
    const mhv_tok *tok;
    const cJSON *cases;
    int bad;
} thread_job;

static void *encode_all(void *arg)
{
    thread_job *j = arg;
    for (int rep = 0; rep < 3; rep++)
        for (const cJSON *c = j->cases->child; c; c = c->next) {
            const char *s = cJSON_GetObjectItem(c, "sentence")->valuestring;
            const cJSON *ids = cJSON_GetObjectItem(c, "ids");
            mhv_encoding e;
            mhv_error err = {0};
            if (mhv_tok_encode(j->tok, s, strlen(s), &e, &err)) {
                j->bad++;
                continue;
            }
            int diff = e.n != cJSON_GetArraySize(ids);
            for (int i = 0; !diff && i < e.n; i++)
                diff = e.ids[i] != cJSON_GetArrayItem(ids, i)->valueint;
            j->bad += diff;
            mhv_encoding_free(&e);
        }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    static const char *const names[] = {"llama3", "t5", "added-wordpiece", "o200k"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        char dir[128], golden[128];
        snprintf(dir, sizeof dir, "tests/fixtures/tok-%s", names[k]);
        snprintf(golden, sizeof golden, "tests/fixtures/tok-goldens-%s.json", names[k]);
        mhv_tok *t = tu_open_tok_dir(dir);
        cJSON *j = tu_read_json(golden);
        thread_job jobs[4];
        pthread_t tids[4];
        for (int i = 0; i < 4; i++) {
            jobs[i] = (thread_job){t, cJSON_GetObjectItem(j, "cases"), 0};
            assert_int_equal(pthread_create(&tids[i], NULL, encode_all, &jobs[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
            pthread_join(tids[i], NULL);
            assert_int_equal(jobs[i].bad, 0);
        }
        cJSON_Delete(j);
        mhv_tok_close(t);
    }
}

/* The hand matchers are Oniguruma's matches of their patterns on varied text. */
static void agree(mhv_pretok_kind kind, const char *pattern, const char *text)
{
    size_t len = strlen(text), n = 0;
    uint32_t *cp = malloc((len + 1) * sizeof *cp);
    for (size_t i = 0; i < len;) {
        int k = mhv_utf8_decode(text + i, len - i, &cp[n]);
        assert_true(k > 0);
        n++;
        i += (size_t)k;
    }
    mhv_regex *re;
    mhv_error err = {0};
    assert_int_equal(mhv_regex_new(pattern, "", &re, &err), MHV_OK);
    size_t *r, count;
    assert_int_equal(mhv_regex_find_all(re, cp, n, &r, &count, &err), MHV_OK);
    size_t i = 0, k = 0;
    while (i < n) {
        size_t e = mhv_pretok_match(kind, cp, n, i);
        if (k >= count || r[2 * k] != i || r[2 * k + 1] != e)
            fail_msg("'%s': hand match [%zu, %zu), regex [%zu, %zu)", text, i, e,
                     k < count ? r[2 * k] : 0, k < count ? r[2 * k + 1] : 0);
        i = e;
        k++;
    }
    assert_int_equal(k, count);
    free(r);
    free(cp);
    mhv_regex_free(re);
}

static void test_hand_matchers_agree(void **state)
{
    (void)state;
    cJSON *j = tu_read_json("tests/fixtures/tok-goldens-llama3.json");
    const cJSON *cases = cJSON_GetObjectItem(j, "cases");
    for (const cJSON *c = cases->child; c; c = c->next) {
        const char *s = cJSON_GetObjectItem(c, "sentence")->valuestring;
        agree(MHV_PRETOK_GPT2, mhv_pretok_pattern_gpt2, s);
        agree(MHV_PRETOK_QWEN2, mhv_pretok_pattern_qwen2, s);
    }
    static const char *const extra[] = {"'S 'T 'RE ſ's \u017f", "a\r\n\r\n b", " \t\n x",
                                        "x  \n  y", "١٢٣ ⅻ ½", "\u2028\u2029\xc2\x85"};
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) {
        agree(MHV_PRETOK_GPT2, mhv_pretok_pattern_gpt2, extra[i]);
        agree(MHV_PRETOK_QWEN2, mhv_pretok_pattern_qwen2, extra[i]);
    }
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama3),     cmocka_unit_test(test_deepseek),
        cmocka_unit_test(test_tekken),     cmocka_unit_test(test_cohere), cmocka_unit_test(test_olmo),
        cmocka_unit_test(test_o200k),
        cmocka_unit_test(test_roberta),    cmocka_unit_test(test_zoo),
        cmocka_unit_test(test_whitespace), cmocka_unit_test(test_t5),
        cmocka_unit_test(test_xlmr),       cmocka_unit_test(test_albert),
        cmocka_unit_test(test_debertav2),  cmocka_unit_test(test_debertav1),  cmocka_unit_test(test_llamaspm),
        cmocka_unit_test(test_gemma),      cmocka_unit_test(test_nfkc),
        cmocka_unit_test(test_unigram_nfkd), cmocka_unit_test(test_precompiled),
        cmocka_unit_test(test_added_bpe),  cmocka_unit_test(test_added_wordpiece),
        cmocka_unit_test(test_mpnet),      cmocka_unit_test(test_enc5), cmocka_unit_test(test_dec5),
        cmocka_unit_test(test_spm_only_dir), cmocka_unit_test(test_token_text),
        cmocka_unit_test(test_spm_models), cmocka_unit_test(test_unigram_bytes),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_hand_matchers_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
