/* Value norms (mhv_forward_params.value_norms) against tests/fixtures/goldens/vnorm.json
 * (tests/gen/gen_vnorm_golden.py: Kobayashi et al.'s equations over transformers' modules in
 * float64): alpha_ij ||v_j|| and alpha_ij ||v_j W_O^h|| for every head of BERT (PyTorch
 * weights), GPT-2 (Conv1D: the transposed layout) and a grouped-query LLaMA. */
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

#include "testutil.h"

static void check_case(const cJSON *c, int kind, const char *key, int threads)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s", cJSON_GetObjectItem(c, "fixture")->valuestring);
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open(path, &m, &err))
        fail_msg("%s: %s", err.file, err.msg);
    const cJSON *idj = cJSON_GetObjectItem(c, "token_ids");
    int n = cJSON_GetArraySize(idj);
    int32_t ids[64];
    for (int i = 0; i < n; i++)
        ids[i] = cJSON_GetArrayItem(idj, i)->valueint;
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL), 0);
    mhv_forward_params p = {.threads = threads, .value_norms = kind};
    mhv_forward_ctx *fc;
    mhv_attn a;
    if (mhv_forward_ctx_new(&p, &fc, &err) || mhv_forward_run(fc, m, ids, n, &sel, &a, &err))
        fail_msg("%s: %s", path, err.msg);
    assert_non_null(a.vnorm);
    assert_int_equal(a.vnorm_kind, kind);
    const cJSON *want = cJSON_GetObjectItem(c, key);
    double worst = 0;
    for (int k = 0; k < a.count; k++) {
        const cJSON *g = cJSON_GetArrayItem(cJSON_GetArrayItem(want, a.heads[k].layer),
                                            a.heads[k].head);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double w = cJSON_GetArrayItem(cJSON_GetArrayItem(g, i), j)->valuedouble;
                double got = (double)a.heads[k].w[i * n + j] * a.vnorm[(size_t)k * n + (size_t)j];
                double e = fabs(got - w) / (1 + fabs(w));
                if (!(e <= worst))
                    worst = isnan(e) ? INFINITY : e;
            }
    }
    if (worst > 1e-5)
        fail_msg("%s %s (%d threads): weighted attention differs by %.3g", path, key, threads,
                 worst);
    mhv_attn_free(&a);
    mhv_forward_ctx_free(fc);
    mhv_heads_free(&sel);
    mhv_model_close(m);
}

static void test_vnorm(void **state)
{
    (void)state;
    cJSON *g = tu_read_json("tests/fixtures/goldens/vnorm.json");
    const cJSON *c;
    int cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(g, "cases"))
    {
        for (int t = 1; t <= 2; t++) {
            check_case(c, MHV_VNORM_V, "norm", t);
            check_case(c, MHV_VNORM_VO, "norm_out", t);
        }
        cases++;
    }
    assert_int_equal(cases, 3);
    cJSON_Delete(g);
}

/* A run without value norms leaves vnorm NULL. */
static void test_default_none(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0};
    assert_int_equal(mhv_model_open("tests/fixtures/bert-f32", &m, &err), MHV_OK);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("0:0", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL), 0);
    int32_t ids[] = {2, 30, 3};
    mhv_attn a;
    assert_int_equal(mhv_forward(m, ids, 3, &sel, &a, &err), MHV_OK);
    assert_null(a.vnorm);
    mhv_attn_free(&a);
    mhv_heads_free(&sel);
    mhv_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vnorm),
        cmocka_unit_test(test_default_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
