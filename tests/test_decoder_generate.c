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

/* The logits of the token after seq(len) from the whole pass (its last row) into want. */
static void whole_row(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *seq, int len,
                      float *all, float *want)
{
    mhv_error err = {0};
    size_t V = (size_t)m->cfg.vocab_size;
    if (mhv_forward_logits(fc, m, seq, len, all, &err))
        fail_msg("%s: %s", m->dir, err.msg);
    memcpy(want, all + (size_t)(len - 1) * V, V * sizeof *want);
}

/* The fixtures whose passes cannot continue a cached sequence (their steps rerun it whole):
 * MLA's own projections (DeepSeek-V2/V3), longrope's factors and MPT's ALiBi offsets that
 * follow the sequence's length (Phi-3 su/longrope, PhiMoE, MPT). Any other fixture (BLOOM's
 * and Falcon's ALiBi among them) must run its steps from the cache. */
static int may_refuse(const char *dir)
{
    static const char *const names[] = {"deepseek", "longrope", "phi3-lm-bf16-su", "phimoe",
                                        "mpt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strstr(dir, names[i]))
            return 1;
    return 0;
}

/* Decoding steps from the key/value caches give the whole pass's last row bytewise, for
 * every causal-LM fixture: the prompt's pass, greedy steps, then two beams forked from one
 * and reordered (each continuing the other's slot), on 2 threads and with the scalar
 * kernels. A fixture whose steps fall back to whole passes must be one that may. */
static void test_cached_steps(void **state)
{
    (void)state;
    static const struct {
        int threads;
        const char *kernel;
    } runs[] = {{2, NULL}, {1, "scalar"}, {2, "avx2"}};
    int checked = 0, refused = 0;
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        DIR *d = opendir("tests/fixtures");
        assert_non_null(d);
        struct dirent *e;
        mhv_forward_params p = {.threads = runs[r].threads, .kernel = runs[r].kernel};
        mhv_forward_ctx *fc;
        mhv_error err = {0};
        assert_int_equal(mhv_forward_ctx_new(&p, &fc, &err), MHV_OK);
        while ((e = readdir(d))) {
            char dir[512];
            snprintf(dir, sizeof dir, "tests/fixtures/%s", e->d_name);
            mhv_model *m;
            if (e->d_name[0] == '.' || mhv_model_open(dir, &m, &err) != MHV_OK)
                continue;
            const mhv_config *c = &m->cfg;
            int32_t seq[2][16] = {{5, 9, 17, 4, 30, 11, 8, 2, 21}};
            int V = c->vocab_size, n = 9;
            if (!c->causal || c->enc_dec || c->vision || !m->lm_head.data ||
                c->image_in_text || c->max_positions < 16) {
                mhv_model_close(m);
                continue;
            }
            for (int i = 0; i < n; i++)
                seq[0][i] %= V;
            float *all = malloc((size_t)16 * (size_t)V * sizeof *all);
            float *want = malloc((size_t)V * sizeof *want);
            float *got = malloc((size_t)2 * (size_t)V * sizeof *got);
            mhv_forward_kv *kv;
            if (mhv_forward_kv_new(m, 2, 16, &kv, &err))
                fail_msg("%s: %s", dir, err.msg);
            /* the prompt, then greedy steps up to 13 tokens */
            for (; n <= 13; n++) {
                if (mhv_forward_kv_next(fc, m, kv, seq[0], 1, n, got, &err))
                    fail_msg("%s: %s", dir, err.msg);
                whole_row(fc, m, seq[0], n, all, want);
                if (memcmp(got, want, (size_t)V * sizeof *want) != 0)
                    fail_msg("%s (%s): the cached step's logits at %d tokens are not the whole "
                             "pass's", dir, runs[r].kernel ? runs[r].kernel : "2 threads", n);
                int best = 0;
                for (int v = 1; v < V; v++)
                    best = want[v] > want[best] ? v : best;
                seq[0][n] = best;
            }
            /* two beams forked from the one (14 tokens each), then each continued by the
             * other's next step (15 tokens): the slots swap */
            memcpy(seq[1], seq[0], sizeof seq[0]);
            seq[1][13] = (seq[0][13] + 1) % V;
            for (int len = 14; len <= 15; len++) {
                int32_t both[2 * 15];
                if (len == 15) { /* beam 0 continues beam 1's sequence and the other way */
                    int32_t t[16];
                    memcpy(t, seq[0], sizeof t);
                    memcpy(seq[0], seq[1], sizeof t), memcpy(seq[1], t, sizeof t);
                    seq[0][14] = 3 % V, seq[1][14] = 7 % V;
                }
                memcpy(both, seq[0], (size_t)len * sizeof *both);
                memcpy(both + len, seq[1], (size_t)len * sizeof *both);
                if (mhv_forward_kv_next(fc, m, kv, both, 2, len, got, &err))
                    fail_msg("%s: %s", dir, err.msg);
                for (int b = 0; b < 2; b++) {
                    whole_row(fc, m, seq[b], len, all, want);
                    if (memcmp(got + (size_t)b * (size_t)V, want, (size_t)V * sizeof *want))
                        fail_msg("%s (%s): beam %d's cached logits at %d tokens are not the "
                                 "whole pass's", dir, runs[r].kernel ? runs[r].kernel : "2 threads",
                                 b, len);
                }
            }
            long cached, whole;
            mhv_forward_kv_stats(kv, &cached, &whole);
            if (whole) {
                refused++;
                if (!may_refuse(dir))
                    fail_msg("%s: its steps ran whole passes, not from the cache", dir);
            } else {
                /* the prompt once, then one position a step and beam */
                assert_int_equal(cached, 9 + 4 + 2 + 2);
            }
            mhv_forward_kv_free(kv);
            free(all), free(want), free(got);
            mhv_model_close(m);
            checked++;
        }
        closedir(d);
        mhv_forward_ctx_free(fc);
    }
    print_message("cached steps: %d fixture runs, %d of them with whole passes\n", checked,
                  refused);
    assert_true(checked >= 300);
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
        cmocka_unit_test(test_cached_steps),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_goldens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
