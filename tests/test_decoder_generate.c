/* transformers' generate() on decoder-only models against its own output: each golden
 * tests/fixtures/goldens/dgen-*.json (tests/gen/gen_decoder_generate.py) names a causal-LM
 * fixture (GPT-2, Llama, Qwen2, Gemma 2 with soft-capping, GPT-NeoX, Qwen2-MoE, Mixtral) and
 * variants of its generation settings; every case's ids (the prompt, then the generated
 * tokens) must be transformers' exactly (greedy and beam search, the processors over the
 * prompt too, the lengths counting it), on 1 and 2 threads and with the scalar kernels; a
 * variant transformers refuses (sampling) must be refused. Also: the last position's logits
 * a generation step uses are the last row of the whole pass's, and what is not a causal LM
 * with its head is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "model/generate.h"

#include "testutil.h"
#include "gen_expect.h"

/* generate(max_new_tokens=max_new) (max_new < 0: the settings' own lengths) of prompt. */
static mhv_status run_case(mhv_forward_ctx *fc, const mhv_model *m, const mhv_gen_config *g0,
                           const int32_t *prompt, int np, int max_new, int32_t **ids, int *n,
                           mhv_error *err)
{
    mhv_gen_config g;
    mhv_status st = mhv_gen_config_copy(&g, g0, err);
    if (st)
        return st;
    if (max_new >= 0)
        g.max_new_tokens = max_new;
    st = mhv_forward_generate_decoder(fc, m, prompt, np, &g, ids, n, err);
    mhv_gen_config_free(&g);
    return st;
}

static void check_golden(const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "tests/fixtures/goldens/%s", file);
    cJSON *gold = tu_read_json(path);
    const char *fixture = cJSON_GetObjectItem(gold, "fixture")->valuestring;
    snprintf(path, sizeof path, "tests/fixtures/%s", fixture);
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open(path, &m, &err) != MHV_OK)
        fail_msg("%s: %s", path, err.msg);
    static const struct {
        int threads;
        const char *kernel;
    } runs[] = {{1, NULL}, {2, NULL}, {1, "scalar"}};
    int cases = 0;
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        mhv_forward_params p = {.threads = runs[r].threads, .kernel = runs[r].kernel};
        mhv_forward_ctx *fc;
        if (mhv_forward_ctx_new(&p, &fc, &err))
            fail_msg("%s", err.msg);
        const cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(gold, "variants"))
        {
            const char *name = cJSON_GetObjectItem(v, "name")->valuestring;
            const cJSON *mx = cJSON_GetObjectItem(v, "max_new");
            int max_new = cJSON_IsNumber(mx) ? mx->valueint : -1;
            mhv_gen_config g;
            mhv_status st = gen_parse_variant(v, &g, &err);
            const cJSON *c, *want_err = cJSON_GetObjectItem(v, "error");
            if (want_err) { /* refused when read, or when run */
                int32_t *ids = NULL, p0[] = {5, 6, 7};
                int n = 0;
                if (!st)
                    st = run_case(fc, m, &g, p0, 3, max_new, &ids, &n, &err);
                if (!st)
                    fail_msg("%s %s: not refused (transformers: %s)", fixture, name,
                             want_err->valuestring);
                free(ids);
                mhv_gen_config_free(&g);
                continue;
            }
            if (st)
                fail_msg("%s %s: %s", fixture, name, err.msg);
            cJSON_ArrayForEach(c, cJSON_GetObjectItem(v, "cases"))
            {
                int np, n;
                int32_t *prompt = tu_json_ids(cJSON_GetObjectItem(c, "prompt"), &np), *ids;
                if (run_case(fc, m, &g, prompt, np, max_new, &ids, &n, &err))
                    fail_msg("%s %s: %s", fixture, name, err.msg);
                char what[256];
                snprintf(what, sizeof what, "%s %s (%d threads%s)", fixture, name,
                         runs[r].threads, runs[r].kernel ? ", scalar" : "");
                gen_check_ids(what, ids, n, cJSON_GetObjectItem(c, "ids"));
                free(ids), free(prompt);
                cases++;
            }
            mhv_gen_config_free(&g);
        }
        /* the CLI's cases: the fixture's own settings, and num_beams 1 (--greedy) */
        mhv_gen_config own;
        if (mhv_gen_config_read(path, &own, NULL, &err))
            fail_msg("%s: %s", path, err.msg);
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(gold, "cli_cases"))
        {
            for (int greedy = 0; greedy < 2; greedy++) {
                int np, n;
                int32_t *prompt = tu_json_ids(cJSON_GetObjectItem(c, "prompt"), &np), *ids;
                int beams = own.num_beams;
                if (greedy)
                    own.num_beams = 1;
                if (run_case(fc, m, &own, prompt, np, 5, &ids, &n, &err))
                    fail_msg("%s cli: %s", fixture, err.msg);
                own.num_beams = beams;
                gen_check_ids(fixture, ids, n, cJSON_GetObjectItem(c, greedy ? "greedy_ids" : "ids"));
                free(ids), free(prompt);
                cases++;
            }
        }
        mhv_gen_config_free(&own);
        mhv_forward_ctx_free(fc);
    }
    assert_true(cases >= 3 * 20);
    mhv_model_close(m);
    cJSON_Delete(gold);
}

static void test_goldens(void **state)
{
    (void)state;
    DIR *d = opendir("tests/fixtures/goldens");
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "dgen-", 5) == 0 && strstr(e->d_name, ".json")) {
            check_golden(e->d_name);
            n++;
        }
    closedir(d);
    assert_true(n >= 8);
}

/* A generation step's logits (the LM head over the last position alone) are the last row
 * of the whole pass's, bytewise, for every causal-LM fixture (every family's way to its
 * logits: soft-capping, scales, OPT's projection ...); greedy's first token is its argmax. */
static void test_last_row(void **state)
{
    (void)state;
    DIR *d = opendir("tests/fixtures");
    assert_non_null(d);
    struct dirent *e;
    int checked = 0;
    mhv_forward_params p = {.threads = 2};
    mhv_forward_ctx *fc;
    mhv_error err = {0};
    assert_int_equal(mhv_forward_ctx_new(&p, &fc, &err), MHV_OK);
    while ((e = readdir(d))) {
        char dir[512];
        snprintf(dir, sizeof dir, "tests/fixtures/%s", e->d_name);
        mhv_model *m;
        if (e->d_name[0] == '.' || mhv_model_open(dir, &m, &err) != MHV_OK)
            continue; /* not a model (tokenizers, goldens), or one refused on purpose */
        const mhv_config *c = &m->cfg;
        if (!c->causal || c->enc_dec || c->vision || !m->lm_head.data) {
            mhv_model_close(m);
            continue;
        }
        int32_t prompt[] = {5, 9, 17, 4, 30, 11, 8, 2, 21};
        int n = 9, V = c->vocab_size;
        for (int i = 0; i < n; i++)
            prompt[i] %= V;
        float *all = malloc((size_t)n * (size_t)V * sizeof *all);
        float *buf = malloc((size_t)n * (size_t)V * sizeof *buf);
        const float *next;
        mhv_gen_config g;
        mhv_gen_config_init(&g);
        g.max_new_tokens = 1;
        int32_t *ids;
        int got;
        mhv_status want = mhv_forward_logits(fc, m, prompt, n, all, &err);
        if (want) { /* no logits from ids alone (LLaVA wants its image): no generation */
            assert_int_equal(mhv_forward_generate_decoder(fc, m, prompt, n, &g, &ids, &got,
                                                          &err), want);
            free(all), free(buf);
            mhv_model_close(m);
            continue;
        }
        if (mhv_forward_decoder_next(fc, m, prompt, n, buf, &next, &err))
            fail_msg("%s: %s", dir, err.msg);
        const float *last = all + (size_t)(n - 1) * (size_t)V;
        if (memcmp(next, last, (size_t)V * sizeof *last) != 0)
            fail_msg("%s: the step's logits are not the last row's", dir);
        if (mhv_forward_generate_decoder(fc, m, prompt, n, &g, &ids, &got, &err))
            fail_msg("%s: %s", dir, err.msg);
        int best = 0;
        for (int v = 1; v < V; v++)
            if (last[v] > last[best])
                best = v;
        assert_int_equal(got, n + 1);
        assert_int_equal(ids[n], best);
        assert_memory_equal(ids, prompt, sizeof prompt);
        free(ids), free(all), free(buf);
        mhv_model_close(m);
        checked++;
    }
    closedir(d);
    mhv_forward_ctx_free(fc);
    assert_true(checked >= 100);
}

static void test_refusals(void **state)
{
    (void)state;
    mhv_error err = {0};
    mhv_forward_params p = {.threads = 1};
    mhv_forward_ctx *fc;
    assert_int_equal(mhv_forward_ctx_new(&p, &fc, &err), MHV_OK);
    mhv_gen_config g;
    mhv_gen_config_init(&g);
    g.max_new_tokens = 3;
    int32_t prompt[] = {5, 6}, *ids;
    int n;
    static const struct {
        const char *dir, *msg;
    } cases[] = {
        {"tests/fixtures/dec-llama-bf16-gqa2-linear", "a base model has no logits"},
        {"tests/fixtures/s2s-bart-f32", "not a decoder-only"},
        {"tests/fixtures/fam-distilbert-f32", "not a decoder-only"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mhv_model *m;
        if (mhv_model_open(cases[k].dir, &m, &err))
            fail_msg("%s: %s", cases[k].dir, err.msg);
        assert_int_equal(mhv_forward_generate_decoder(fc, m, prompt, 2, &g, &ids, &n, &err),
                         MHV_EUNSUPPORTED);
        if (!strstr(err.msg, cases[k].msg))
            fail_msg("%s: '%s' does not say '%s'", cases[k].dir, err.msg, cases[k].msg);
        assert_null(ids);
        mhv_model_close(m);
    }
    mhv_model *m;
    assert_int_equal(mhv_model_open("tests/fixtures/dec-gpt2-f32", &m, &err), MHV_OK);
    assert_int_equal(mhv_forward_generate_decoder(fc, m, prompt, 0, &g, &ids, &n, &err),
                     MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "empty prompt"));
    /* past the learned positions (32): refused, not cut */
    g.max_new_tokens = 40;
    assert_int_equal(mhv_forward_generate_decoder(fc, m, prompt, 2, &g, &ids, &n, &err),
                     MHV_EUSAGE);
    assert_null(ids);
    g.max_new_tokens = 3;
    g.do_sample = 1;
    assert_int_equal(mhv_forward_generate_decoder(fc, m, prompt, 2, &g, &ids, &n, &err),
                     MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "sampling"));
    mhv_model_close(m);
    mhv_forward_ctx_free(fc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_last_row),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_goldens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
