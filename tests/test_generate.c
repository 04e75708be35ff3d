/* transformers' generate() against its own output: each golden
 * tests/fixtures/goldens/gen-*.json (tests/gen/gen_generate.py) names an encoder-decoder
 * fixture and variants of its generation settings (a generation_config.json, or a config.json
 * read for its generation fields); every case's generated ids must be transformers' exactly
 * (greedy and beam search, the logits processors, the lengths), on 1 and 2 threads and with
 * the scalar kernels; a variant transformers refuses must be refused. Also: the settings'
 * reader (which file wins, refusals by name) and the lengths. */
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

/* One case: generate as the CLI does (the settings' start token, max_new_tokens N or the
 * settings' own lengths) on fc; *ids (caller frees). */
static mhv_status run_case(mhv_forward_ctx *fc, const mhv_model *m, const mhv_gen_config *g0,
                           const int32_t *src, int ns, int max_new, int32_t start_override,
                           int32_t forced_bos, int32_t **ids, int *n, mhv_error *err)
{
    mhv_gen_config g;
    mhv_status st = mhv_gen_config_copy(&g, g0, err);
    if (st)
        return st;
    g.max_new_tokens = max_new;
    if (forced_bos >= 0)
        g.forced_bos = forced_bos;
    int32_t start = start_override;
    if (start < 0)
        st = mhv_gen_start(&g, "generation_config.json", &start, err);
    if (!st)
        st = mhv_forward_generate_with(fc, m, src, ns, &start, 1, &g, ids, n, err);
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
                int32_t *ids = NULL;
                int n = 0, src0[] = {5, 6, 7};
                if (!st)
                    st = run_case(fc, m, &g, src0, 3, max_new, -1, -1, &ids, &n, &err);
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
                int ns, n;
                int32_t *src = tu_json_ids(cJSON_GetObjectItem(c, "src_ids"), &ns), *ids;
                if (run_case(fc, m, &g, src, ns, max_new, -1, -1, &ids, &n, &err))
                    fail_msg("%s %s: %s", fixture, name, err.msg);
                char what[256];
                snprintf(what, sizeof what, "%s %s (%d threads%s)", fixture, name,
                         runs[r].threads, runs[r].kernel ? ", scalar" : "");
                gen_check_ids(what, ids, n, cJSON_GetObjectItem(c, "ids"));
                free(ids), free(src);
                cases++;
            }
            mhv_gen_config_free(&g);
        }
        /* language codes: the target's as decoder start (mBART) or forced first (NLLB);
         * text cases under the model's own settings */
        mhv_gen_config own;
        snprintf(path, sizeof path, "tests/fixtures/%s", fixture);
        if (mhv_gen_config_read(path, &own, NULL, &err))
            fail_msg("%s: %s", path, err.msg);
        const cJSON *c;
        for (int list = 0; list < 2; list++)
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(gold, list ? "text_cases" : "lang_cases"))
        {
            int ns, n;
            int32_t *src = tu_json_ids(cJSON_GetObjectItem(c, "src_ids"), &ns), *ids;
            const cJSON *start = cJSON_GetObjectItem(c, "start"),
                        *forced = cJSON_GetObjectItem(c, "forced");
            if (run_case(fc, m, &own, src, ns, 6, start ? start->valueint : -1,
                         forced ? forced->valueint : -1, &ids, &n, &err))
                fail_msg("%s lang: %s", fixture, err.msg);
            gen_check_ids(fixture, ids, n, cJSON_GetObjectItem(c, "ids"));
            free(ids), free(src);
            cases++;
        }
        mhv_gen_config_free(&own);
        mhv_forward_ctx_free(fc);
    }
    assert_true(cases > 0);
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
        if (strncmp(e->d_name, "gen-", 4) == 0 && strstr(e->d_name, ".json")) {
            check_golden(e->d_name);
            n++;
        }
    closedir(d);
    assert_true(n >= 10);
}

static mhv_status parse(const char *text, int model_config, mhv_gen_config *g, mhv_error *err)
{
    return mhv_gen_config_parse(text, strlen(text), "generation_config.json", model_config, g,
                                err);
}

static void expect_refused(const char *text, const char *what)
{
    mhv_gen_config g;
    mhv_error err = {0};
    if (parse(text, 0, &g, &err) == MHV_OK)
        fail_msg("%s: accepted", text);
    if (!strstr(err.msg, what))
        fail_msg("%s: '%s' does not say '%s'", text, err.msg, what);
    mhv_gen_config_free(&g);
}

/* What is not greedy or beam search, or needs more than the ids, is refused by name. */
static void test_refusals(void **state)
{
    (void)state;
    expect_refused("{\"sequence_bias\": [[[5], 1.0]]}", "sequence_bias is not supported");
    expect_refused("{\"stop_strings\": [\"x\"]}", "stop_strings is not supported");
    expect_refused("{\"max_time\": 1.5}", "max_time is not supported");
    expect_refused("{\"guidance_scale\": 1.5}", "guidance_scale is not supported");
    expect_refused("{\"num_beam_groups\": 2, \"num_beams\": 4}", "group beam search");
    expect_refused("{\"penalty_alpha\": 0.6, \"top_k\": 4}", "contrastive search");
    expect_refused("{\"constraints\": []}", "constraints is not supported");
    expect_refused("{\"dola_layers\": \"low\"}", "dola_layers is not supported");
    expect_refused("{\"early_stopping\": \"sometimes\"}", "early_stopping");
    expect_refused("{\"max_new_tokens\": 0}", "max_new_tokens");
    expect_refused("{\"bad_words_ids\": [[]]}", "bad_words_ids");
    expect_refused("{\"eos_token_id\": [2, -1]}", "eos_token_id");
    expect_refused("{\"decoder_start_token_id\": [2, 3]}", "decoder_start_token_id");
    expect_refused("{\"repetition_penalty\": 0}", "repetition penalty");
    mhv_gen_config g;
    mhv_error err = {0};
    /* penalty_alpha alone, or with sampling, is not contrastive search; sampling settings
     * are ignored when greedy */
    assert_int_equal(parse("{\"penalty_alpha\": 0.6, \"top_k\": 1, \"temperature\": 0.3}", 0,
                           &g, &err), MHV_OK);
    mhv_gen_config_free(&g);
    /* do_sample is read, and refused when generating */
    assert_int_equal(parse("{\"do_sample\": true, \"decoder_start_token_id\": 0}", 0, &g, &err),
                     MHV_OK);
    assert_true(g.do_sample);
    mhv_gen_config_free(&g);
    /* config.json: a decoder sub-config fills what the file leaves unset; the old
     * force_bos_token_to_be_generated */
    assert_int_equal(parse("{\"num_beams\": 3, \"decoder\": {\"num_beams\": 5, \"min_length\": 4}, "
                           "\"bos_token_id\": 7, \"force_bos_token_to_be_generated\": true}",
                           1, &g, &err), MHV_OK);
    assert_int_equal(g.num_beams, 3);
    assert_int_equal(g.min_length, 4);
    assert_int_equal(g.forced_bos, 7);
    mhv_gen_config_free(&g);
    assert_int_equal(parse("{\"force_bos_token_to_be_generated\": true, \"bos_token_id\": 7}", 0,
                           &g, &err), MHV_OK);
    assert_int_equal(g.forced_bos, -1); /* only from a model config */
    int32_t start;
    assert_int_equal(mhv_gen_start(&g, "generation_config.json", &start, &err), MHV_OK);
    assert_int_equal(start, 7);
    mhv_gen_config_free(&g);
    assert_int_equal(parse("{\"eos_token_id\": 1}", 0, &g, &err), MHV_OK);
    assert_int_equal(mhv_gen_start(&g, "generation_config.json", &start, &err),
                     MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "neither decoder_start_token_id nor bos_token_id"));
    mhv_gen_config_free(&g);
}

/* _prepare_generated_length: max_new_tokens over max_length, the default 20 new tokens
 * within max_position_embeddings, min_new_tokens over min_length. */
static void test_lengths(void **state)
{
    (void)state;
    mhv_gen_config g;
    mhv_gen_config_init(&g);
    mhv_error err;
    int mx, mn;
    assert_int_equal(mhv_gen_lengths(&g, 1, 0, &mx, &mn, &err), MHV_OK);
    assert_int_equal(mx, 21);
    assert_int_equal(mn, 0);
    assert_int_equal(mhv_gen_lengths(&g, 1, 12, &mx, &mn, &err), MHV_OK);
    assert_int_equal(mx, 12);
    g.max_length = 30, g.min_length = 4;
    assert_int_equal(mhv_gen_lengths(&g, 2, 12, &mx, &mn, &err), MHV_OK);
    assert_int_equal(mx, 30);
    assert_int_equal(mn, 4);
    g.max_new_tokens = 5, g.min_new_tokens = 2;
    assert_int_equal(mhv_gen_lengths(&g, 2, 12, &mx, &mn, &err), MHV_OK);
    assert_int_equal(mx, 7);
    assert_int_equal(mn, 4);
    g.max_new_tokens = -1, g.max_length = 2;
    assert_int_equal(mhv_gen_lengths(&g, 2, 0, &mx, &mn, &err), MHV_EUSAGE);
}

/* A counting model for the search alone: the next token's logits favour (last + 1) % V
 * strongly, then (last + 2) % V, so a run's tokens are predictable. */
static mhv_status toy_logits(void *ctx, const int32_t *seqs, int n_seq, int len, float *out,
                             mhv_error *err)
{
    (void)err;
    int V = *(int *)ctx;
    for (int i = 0; i < n_seq; i++) {
        int last = seqs[(size_t)i * (size_t)len + (size_t)len - 1];
        for (int v = 0; v < V; v++)
            out[i * V + v] = (float)-v * 0.01f;
        out[i * V + (last + 1) % V] = 5.0f;
        out[i * V + (last + 2) % V] = 4.0f;
    }
    return MHV_OK;
}

static void toy(const char *cfg, const int32_t *want, int nw)
{
    mhv_gen_config g;
    mhv_error err = {0};
    if (parse(cfg, 0, &g, &err))
        fail_msg("%s: %s", cfg, err.msg);
    int V = 10;
    int32_t prompt[] = {0}, enc[] = {3, 4, 5};
    mhv_gen_input in = {.prompt = prompt, .n_prompt = 1, .encoder_ids = enc, .n_encoder = 3,
                        .vocab = V, .logits = toy_logits, .ctx = &V};
    int32_t *ids;
    int n;
    if (mhv_generate(&g, &in, &ids, &n, &err))
        fail_msg("%s: %s", cfg, err.msg);
    char what[300];
    snprintf(what, sizeof what, "toy %s", cfg);
    cJSON *w = cJSON_CreateIntArray((const int *)want, nw);
    gen_check_ids(what, ids, n, w);
    cJSON_Delete(w);
    free(ids);
    mhv_gen_config_free(&g);
}

static void test_toy(void **state)
{
    (void)state;
    toy("{\"max_new_tokens\": 4}", (const int32_t[]){0, 1, 2, 3, 4}, 5);
    toy("{\"max_new_tokens\": 6, \"eos_token_id\": [9, 3]}", (const int32_t[]){0, 1, 2, 3}, 4);
    toy("{\"max_new_tokens\": 6, \"eos_token_id\": 3, \"min_length\": 4}",
        (const int32_t[]){0, 1, 2, 4, 5, 6, 7}, 7);
    toy("{\"max_new_tokens\": 3, \"suppress_tokens\": [2], \"forced_bos_token_id\": 7}",
        (const int32_t[]){0, 7, 8, 9}, 4);
    toy("{\"max_new_tokens\": 3, \"forced_eos_token_id\": [6, 5]}",
        (const int32_t[]){0, 1, 2, 5}, 4);
    toy("{\"max_new_tokens\": 4, \"encoder_no_repeat_ngram_size\": 1}",
        (const int32_t[]){0, 1, 2, 0, 1}, 5);
    toy("{\"max_new_tokens\": 3, \"bad_words_ids\": [[1, 2], [9]]}",
        (const int32_t[]){0, 1, 3, 4}, 4);
    toy("{\"max_new_tokens\": 3, \"begin_suppress_tokens\": [1]}",
        (const int32_t[]){0, 2, 3, 4}, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toy),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_goldens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
