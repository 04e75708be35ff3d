/* Head ablation (nn/blocks.h mhv_head_ablation, mhv_forward_logits_ablated) against
 * tests/fixtures/goldens/ablation.json (tests/gen/gen_ablation_golden.py: transformers in
 * float64, each head's slice of the output projection's input zeroed or replaced by its
 * mean output by a hook): the means collected by a first pass, and the log-probabilities of
 * masked-LM heads (BERT with a stored decoder, RoBERTa tied) and causal LM heads (GPT-2,
 * grouped-query LLaMA) with heads removed. Unused, the hook changes no byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "nn/blocks.h"

#include "testutil.h"

#define TOL 1e-4

static int sentence_ids(const cJSON *s, int32_t *ids)
{
    int n = cJSON_GetArraySize(s);
    for (int i = 0; i < n; i++)
        ids[i] = cJSON_GetArrayItem(s, i)->valueint;
    return n;
}

static void check_case(const cJSON *c, int threads)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s",
             cJSON_GetObjectItem(c, "fixture")->valuestring);
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open(path, &m, &err))
        fail_msg("%s: %s", err.file, err.msg);
    int L = m->cfg.num_layers, H = m->cfg.num_heads, d = m->cfg.head_dim;
    int V = m->cfg.vocab_size;
    mhv_forward_params p = {.threads = threads};
    mhv_forward_ctx *fc;
    if (mhv_forward_ctx_new(&p, &fc, &err))
        fail_msg("%s", err.msg);
    const cJSON *sents = cJSON_GetObjectItem(c, "sentences");
    int ns = cJSON_GetArraySize(sents);
    float *logits = malloc((size_t)64 * (size_t)V * sizeof *logits);
    float *plain = malloc((size_t)64 * (size_t)V * sizeof *plain);
    size_t cells = (size_t)L * (size_t)H * (size_t)d;
    double *sum = calloc(cells, sizeof *sum);
    float *mean = malloc(cells * sizeof *mean);
    unsigned char *off = calloc((size_t)L * (size_t)H, 1);
    assert_true(logits && plain && sum && mean && off);

    /* first pass: every head's output summed; the logits are those of no ablation */
    mhv_head_ablation col = {L, H, d, NULL, NULL, sum};
    long rows = 0;
    for (int s = 0; s < ns; s++) {
        int32_t ids[64];
        int n = sentence_ids(cJSON_GetArrayItem(sents, s), ids);
        if (mhv_forward_logits_ablated(fc, m, ids, n, &col, logits, &err))
            fail_msg("%s: %s", path, err.msg);
        rows += n;
        /* byte-identical to a run without the hook */
        assert_int_equal(mhv_forward_logits_ablated(fc, m, ids, n, NULL, plain, &err), MHV_OK);
        assert_memory_equal(logits, plain, (size_t)n * (size_t)V * sizeof *logits);
        if (m->cfg.causal) {
            assert_int_equal(mhv_forward_logits(fc, m, ids, n, plain, &err), MHV_OK);
            assert_memory_equal(logits, plain, (size_t)n * (size_t)V * sizeof *logits);
        }
    }
    const cJSON *gmean = cJSON_GetObjectItem(c, "mean");
    double worst = 0;
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++)
            for (int e = 0; e < d; e++) {
                size_t k = ((size_t)l * (size_t)H + (size_t)h) * (size_t)d + (size_t)e;
                mean[k] = (float)(sum[k] / (double)rows);
                double g = cJSON_GetArrayItem(
                    cJSON_GetArrayItem(cJSON_GetArrayItem(gmean, l), h), e)->valuedouble;
                double x = fabs(mean[k] - g);
                worst = x > worst ? x : worst;
            }
    if (worst > TOL)
        fail_msg("%s: head means differ by %.3g", path, worst);

    const cJSON *ab;
    int checked = 0;
    cJSON_ArrayForEach(ab, cJSON_GetObjectItem(c, "ablations"))
    {
        memset(off, 0, (size_t)L * (size_t)H);
        const cJSON *hd;
        cJSON_ArrayForEach(hd, cJSON_GetObjectItem(ab, "heads"))
        off[cJSON_GetArrayItem(hd, 0)->valueint * H + cJSON_GetArrayItem(hd, 1)->valueint] = 1;
        int is_mean = strcmp(cJSON_GetObjectItem(ab, "mode")->valuestring, "mean") == 0;
        mhv_head_ablation a = {L, H, d, off, is_mean ? mean : NULL, NULL};
        const cJSON *glp = cJSON_GetObjectItem(ab, "logprobs");
        worst = 0;
        for (int s = 0; s < ns; s++) {
            int32_t ids[64];
            int n = sentence_ids(cJSON_GetArrayItem(sents, s), ids);
            if (mhv_forward_logits_ablated(fc, m, ids, n, &a, logits, &err))
                fail_msg("%s: %s", path, err.msg);
            for (int i = 0; i < n; i++) {
                const float *z = logits + (size_t)i * (size_t)V;
                double mx = z[0], se = 0;
                for (int v = 1; v < V; v++)
                    mx = z[v] > mx ? z[v] : mx;
                for (int v = 0; v < V; v++)
                    se += exp((double)z[v] - mx);
                const cJSON *row = cJSON_GetArrayItem(cJSON_GetArrayItem(glp, s), i);
                assert_int_equal(cJSON_GetArraySize(row), V);
                for (int v = 0; v < V; v++) {
                    double lp = (double)z[v] - mx - log(se);
                    double x = fabs(lp - cJSON_GetArrayItem(row, v)->valuedouble);
                    worst = x > worst || isnan(x) ? (isnan(x) ? INFINITY : x) : worst;
                }
            }
        }
        if (worst > TOL)
            fail_msg("%s, ablation %s (%d threads): log-probabilities differ by %.3g", path,
                     cJSON_GetObjectItem(ab, "name")->valuestring, threads, worst);
        checked++;
    }
    assert_true(checked >= 3);
    free(logits);
    free(plain);
    free(sum);
    free(mean);
    free(off);
    mhv_forward_ctx_free(fc);
    mhv_model_close(m);
}

static void test_golden(void **state)
{
    (void)state;
    cJSON *g = tu_read_json("tests/fixtures/goldens/ablation.json");
    const cJSON *c;
    int cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(g, "cases"))
    {
        check_case(c, 1);
        check_case(c, 2);
        cases++;
    }
    assert_int_equal(cases, 4);
    cJSON_Delete(g);
}

/* Ablated logits are the same bytes on 1 and 3 threads. */
static void test_threads(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0};
    assert_int_equal(mhv_model_open("tests/fixtures/abl-roberta-mlm", &m, &err), MHV_OK);
    int32_t ids[] = {0, 30, 4, 52, 77, 2};
    unsigned char off[8] = {0, 1, 0, 0, 0, 0, 1, 0};
    float mean[8 * 8];
    for (int i = 0; i < 64; i++)
        mean[i] = (float)i / 64.0f - 0.5f;
    mhv_head_ablation a = {2, 4, 8, off, mean, NULL};
    float *out[2];
    for (int t = 0; t < 2; t++) {
        mhv_forward_params p = {.threads = t ? 3 : 1};
        mhv_forward_ctx *fc;
        assert_int_equal(mhv_forward_ctx_new(&p, &fc, &err), MHV_OK);
        out[t] = malloc(6 * 120 * sizeof(float));
        assert_int_equal(mhv_forward_logits_ablated(fc, m, ids, 6, &a, out[t], &err), MHV_OK);
        mhv_forward_ctx_free(fc);
    }
    assert_memory_equal(out[0], out[1], 6 * 120 * sizeof(float));
    free(out[0]);
    free(out[1]);
    mhv_model_close(m);
}

/* Encoders without a masked-LM head and shapes that do not fit are refused. */
static void test_refused(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0};
    assert_int_equal(mhv_model_open("tests/fixtures/bert-f32", &m, &err), MHV_OK);
    mhv_forward_ctx *fc;
    mhv_forward_params p = {.threads = 1};
    assert_int_equal(mhv_forward_ctx_new(&p, &fc, &err), MHV_OK);
    int32_t ids[] = {2, 30, 3};
    float *lg = malloc((size_t)3 * (size_t)m->cfg.vocab_size * sizeof *lg);
    assert_int_equal(mhv_forward_logits_ablated(fc, m, ids, 3, NULL, lg, &err),
                     MHV_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "without a masked-LM head"));
    mhv_model_close(m);
    assert_int_equal(mhv_model_open("tests/fixtures/abl-roberta-mlm", &m, &err), MHV_OK);
    mhv_head_ablation a = {3, 4, 8, NULL, NULL, NULL};
    int32_t ids2[] = {0, 5, 2};
    assert_int_equal(mhv_forward_logits_ablated(fc, m, ids2, 3, &a, lg, &err), MHV_EUSAGE);
    free(lg);
    mhv_forward_ctx_free(fc);
    mhv_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
