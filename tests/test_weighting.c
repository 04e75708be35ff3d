/* Value-norm weighting (analysis/weighting.h) against tests/fixtures/goldens/vnorm.json
 * (tests/gen/gen_vnorm_golden.py: alpha_ij ||v_j|| and alpha_ij ||v_j W_O^h|| from Kobayashi
 * et al.'s equations over transformers' modules in float64, BERT, GPT-2 and grouped-query
 * LLaMA): the raw products match the golden, and each displayed row is the golden row
 * divided by its sum (the normalisation done here, in double, from the golden alone). */
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

#include "analysis/weighting.h"
#include "model/forward.h"

#include "testutil.h"

static void check_case(const cJSON *c, mhv_weighting w, const char *key)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s",
             cJSON_GetObjectItem(c, "fixture")->valuestring);
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
    mhv_forward_params p = {.threads = 1, .value_norms = mhv_weighting_vnorm(w)};
    mhv_forward_ctx *fc;
    mhv_attn a;
    if (mhv_forward_ctx_new(&p, &fc, &err) || mhv_forward_run(fc, m, ids, n, &sel, &a, &err))
        fail_msg("%s: %s", path, err.msg);
    float *norms = NULL;
    assert_int_equal(mhv_weighting_apply(&a, w, &norms, &err), MHV_OK);
    assert_non_null(norms);
    const cJSON *want = cJSON_GetObjectItem(c, key);
    double worst_raw = 0, worst_row = 0;
    for (int k = 0; k < a.count; k++) {
        const cJSON *g = cJSON_GetArrayItem(cJSON_GetArrayItem(want, a.heads[k].layer),
                                            a.heads[k].head);
        for (int i = 0; i < n; i++) {
            const cJSON *row = cJSON_GetArrayItem(g, i);
            double sum = 0, got_sum = 0;
            for (int j = 0; j < n; j++)
                sum += cJSON_GetArrayItem(row, j)->valuedouble;
            for (int j = 0; j < n; j++) {
                double gw = cJSON_GetArrayItem(row, j)->valuedouble;
                double raw = norms[((size_t)k * (size_t)n + (size_t)i) * (size_t)n + (size_t)j];
                double shown = a.heads[k].w[i * n + j];
                double e1 = fabs(raw - gw) / (1 + fabs(gw));
                double e2 = fabs(shown - gw / sum);
                worst_raw = e1 > worst_raw || isnan(e1) ? (isnan(e1) ? INFINITY : e1) : worst_raw;
                worst_row = e2 > worst_row || isnan(e2) ? (isnan(e2) ? INFINITY : e2) : worst_row;
                got_sum += shown;
            }
            assert_true(fabs(got_sum - 1) < 1e-5);
        }
    }
    if (worst_raw > 1e-5 || worst_row > 1e-5)
        fail_msg("%s %s: products differ by %.3g, normalised rows by %.3g", path, key,
                 worst_raw, worst_row);
    free(norms);
    mhv_attn_free(&a);
    mhv_forward_ctx_free(fc);
    mhv_heads_free(&sel);
    mhv_model_close(m);
}

static void test_golden(void **state)
{
    (void)state;
    cJSON *g = tu_read_json("tests/fixtures/goldens/vnorm.json");
    const cJSON *c;
    int cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(g, "cases"))
    {
        check_case(c, MHV_WEIGHT_NORM, "norm");
        check_case(c, MHV_WEIGHT_NORM_OUT, "norm_out");
        cases++;
    }
    assert_int_equal(cases, 3);
    cJSON_Delete(g);
}

static void test_names(void **state)
{
    (void)state;
    mhv_weighting w;
    mhv_error err = {0};
    const char *names[] = {"attn", "norm", "norm-out"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(mhv_weighting_parse(names[i], &w, &err), MHV_OK);
        assert_int_equal((int)w, i);
        assert_string_equal(mhv_weighting_name(w), names[i]);
    }
    assert_int_equal(mhv_weighting_vnorm(MHV_WEIGHT_ATTN), MHV_VNORM_NONE);
    assert_int_equal(mhv_weighting_vnorm(MHV_WEIGHT_NORM), MHV_VNORM_V);
    assert_int_equal(mhv_weighting_vnorm(MHV_WEIGHT_NORM_OUT), MHV_VNORM_VO);
    assert_int_equal(mhv_weighting_parse("norm_out", &w, &err), MHV_EUSAGE);
    assert_string_equal(err.msg, "weighting 'norm_out' is not attn, norm or norm-out");
}

/* Hand-made maps: a key with a zero value vector gets nothing, a row whose keys all have
 * zero norms stays zero, attn changes nothing, and missing or wrong norms are refused. */
static void test_small(void **state)
{
    (void)state;
    float w[2 * 2 * 2] = {0.5f, 0.5f, 0.25f, 0.75f, /* head 0 */ 1, 0, 0.5f, 0.5f};
    float vn[2 * 2] = {0, 2, /* head 1 */ 0, 0};
    mhv_head_attn heads[2] = {{.layer = 0, .head = 0, .w = w},
                              {.layer = 0, .head = 1, .w = w + 4}};
    mhv_attn a = {.n = 2, .count = 2, .heads = heads, .vnorm = vn, .vnorm_kind = MHV_VNORM_V};
    mhv_error err = {0};
    float *norms = (float *)&a; /* set to NULL for attn */
    assert_int_equal(mhv_weighting_apply(&a, MHV_WEIGHT_ATTN, &norms, &err), MHV_OK);
    assert_null(norms);
    assert_true(w[0] == 0.5f && w[3] == 0.75f);
    assert_int_equal(mhv_weighting_apply(&a, MHV_WEIGHT_NORM_OUT, &norms, &err), MHV_EUSAGE);
    assert_int_equal(mhv_weighting_apply(&a, MHV_WEIGHT_NORM, &norms, &err), MHV_OK);
    float want[8] = {0, 1, 0, 1, 0, 0, 0, 0};
    float raw[8] = {0, 1, 0, 1.5f, 0, 0, 0, 0};
    for (int i = 0; i < 8; i++) {
        assert_true(w[i] == want[i]);
        assert_true(norms[i] == raw[i]);
    }
    free(norms);
    a.vnorm = NULL;
    assert_int_equal(mhv_weighting_apply(&a, MHV_WEIGHT_NORM, NULL, &err), MHV_EUSAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
