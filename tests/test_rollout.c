/* rollout: layer means and attention rollout of tests/fixtures/bert-f32 against a golden made
 * with numpy from Hugging Face's attentions (tests/gen/gen_rollout_golden.py); attention flow
 * against networkx's maximum flow on small attentions and on bert-f32
 * (tests/gen/gen_flow_golden.py). */
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

#include "base/fileio.h"
#include "model/forward.h"
#include "analysis/rollout.h"

#define TOL 1e-5

/* Max |ours - golden|; golden is [layer][i][j]. */
static double compare(const mhv_attn *a, const cJSON *golden)
{
    double worst = 0;
    int n = a->n;
    assert_int_equal(cJSON_GetArraySize(golden), a->count);
    for (int l = 0; l < a->count; l++) {
        assert_int_equal(a->heads[l].layer, l);
        assert_int_equal(a->heads[l].head, -1);
        const cJSON *g = cJSON_GetArrayItem(golden, l);
        for (int i = 0; i < n; i++) {
            const cJSON *row = cJSON_GetArrayItem(g, i);
            assert_int_equal(cJSON_GetArraySize(row), n);
            for (int j = 0; j < n; j++) {
                double d = fabs(a->heads[l].w[i * n + j] - cJSON_GetArrayItem(row, j)->valuedouble);
                if (d > worst)
                    worst = d;
            }
        }
    }
    return worst;
}

static void test_golden(void **state)
{
    (void)state;
    char *text;
    size_t len;
    mhv_error err = {0};
    if (mhv_read_file("tests/fixtures/goldens/rollout-bert-f32.json", 64u << 20, &text, &len,
                      &err) != MHV_OK)
        fail_msg("%s: %s", err.file, err.msg);
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    assert_non_null(j);
    mhv_model *m;
    if (mhv_model_open("tests/fixtures/bert-f32", &m, &err) != MHV_OK)
        fail_msg("%s: %s", err.file, err.msg);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, &err),
                     MHV_OK);
    const cJSON *s;
    int count = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(j, "sentences")) {
        const cJSON *ids_j = cJSON_GetObjectItem(s, "token_ids");
        int n = cJSON_GetArraySize(ids_j);
        int32_t *ids = malloc((size_t)n * sizeof *ids);
        for (int i = 0; i < n; i++)
            ids[i] = (int32_t)cJSON_GetArrayItem(ids_j, i)->valueint;
        mhv_attn a, mean, roll;
        assert_int_equal(mhv_forward(m, ids, n, &sel, &a, &err), MHV_OK);
        assert_int_equal(mhv_aggregate(&a, m->cfg.num_layers, m->cfg.num_heads, MHV_AGG_MEAN,
                                       &mean, &err), MHV_OK);
        assert_int_equal(mhv_aggregate(&a, m->cfg.num_layers, m->cfg.num_heads,
                                       MHV_AGG_ROLLOUT, &roll, &err), MHV_OK);
        double dm = compare(&mean, cJSON_GetObjectItem(s, "mean"));
        double dr = compare(&roll, cJSON_GetObjectItem(s, "rollout"));
        if (dm > TOL || dr > TOL)
            fail_msg("sentence %d: max |diff| mean %.3g, rollout %.3g (tolerance %g)", count, dm,
                     dr, TOL);
        mhv_attn_free(&a);
        mhv_attn_free(&mean);
        mhv_attn_free(&roll);
        free(ids);
        count++;
    }
    assert_int_equal(count, 3);
    mhv_heads_free(&sel);
    mhv_model_close(m);
    cJSON_Delete(j);
}

static cJSON *read_json(const char *path)
{
    char *text;
    size_t len;
    mhv_error err = {0};
    if (mhv_read_file(path, 64u << 20, &text, &len, &err) != MHV_OK)
        fail_msg("%s: %s", err.file, err.msg);
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    assert_non_null(j);
    return j;
}

/* Flow of hand-made attentions (layers, heads, n, n) against networkx. */
static void test_flow_cases(void **state)
{
    (void)state;
    cJSON *j = read_json("tests/fixtures/goldens/flow.json");
    const cJSON *c;
    int count = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "cases")) {
        int L = cJSON_GetObjectItem(c, "layers")->valueint;
        int H = cJSON_GetObjectItem(c, "heads")->valueint;
        int n = cJSON_GetObjectItem(c, "n")->valueint;
        size_t nn = (size_t)n * (size_t)n;
        float *buf = malloc((size_t)(L * H) * nn * sizeof *buf);
        mhv_head_attn *hs = malloc((size_t)(L * H) * sizeof *hs);
        assert_true(buf && hs);
        const cJSON *att = cJSON_GetObjectItem(c, "attention");
        for (int l = 0; l < L; l++)
            for (int h = 0; h < H; h++) {
                float *w = buf + (size_t)(l * H + h) * nn;
                const cJSON *m = cJSON_GetArrayItem(cJSON_GetArrayItem(att, l), h);
                for (int i = 0; i < n; i++)
                    for (int k = 0; k < n; k++)
                        w[i * n + k] = (float)cJSON_GetArrayItem(cJSON_GetArrayItem(m, i), k)
                                           ->valuedouble;
                hs[l * H + h] = (mhv_head_attn){.layer = l, .head = h, .w = w};
            }
        mhv_attn a = {.n = n, .count = L * H, .heads = hs}, flow;
        mhv_error err = {0};
        assert_int_equal(mhv_aggregate(&a, L, H, MHV_AGG_FLOW, &flow, &err), MHV_OK);
        double d = compare(&flow, cJSON_GetObjectItem(c, "flow"));
        if (d > 1e-6)
            fail_msg("case %s: max |diff| %.3g", cJSON_GetObjectItem(c, "name")->valuestring, d);
        mhv_attn_free(&flow);
        free(hs);
        free(buf);
        count++;
    }
    assert_int_equal(count, 4);
    cJSON_Delete(j);
}

/* Flow of bert-f32's own attentions on one sentence against networkx on HF's. */
static void test_flow_bert(void **state)
{
    (void)state;
    cJSON *j = read_json("tests/fixtures/goldens/flow.json");
    const cJSON *s = cJSON_GetObjectItem(j, "bert-f32");
    assert_non_null(s);
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open("tests/fixtures/bert-f32", &m, &err) != MHV_OK)
        fail_msg("%s: %s", err.file, err.msg);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, &err),
                     MHV_OK);
    const cJSON *ids_j = cJSON_GetObjectItem(s, "token_ids");
    int n = cJSON_GetArraySize(ids_j);
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < n; i++)
        ids[i] = (int32_t)cJSON_GetArrayItem(ids_j, i)->valueint;
    mhv_attn a, flow;
    assert_int_equal(mhv_forward(m, ids, n, &sel, &a, &err), MHV_OK);
    assert_int_equal(mhv_aggregate(&a, m->cfg.num_layers, m->cfg.num_heads, MHV_AGG_FLOW,
                                   &flow, &err), MHV_OK);
    double d = compare(&flow, cJSON_GetObjectItem(s, "flow"));
    if (d > TOL)
        fail_msg("bert-f32: max |diff| %.3g (tolerance %g)", d, TOL);
    mhv_attn_free(&a);
    mhv_attn_free(&flow);
    free(ids);
    mhv_heads_free(&sel);
    mhv_model_close(m);
    cJSON_Delete(j);
}

static void test_missing_head(void **state)
{
    (void)state;
    float w[4] = {1, 0, 0.5f, 0.5f};
    mhv_head_attn h = {.layer = 0, .head = 0, .w = w};
    mhv_attn a = {.n = 2, .count = 1, .heads = &h};
    mhv_attn out;
    mhv_error err = {0};
    assert_int_equal(mhv_aggregate(&a, 1, 2, MHV_AGG_MEAN, &out, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "0:1"));
    /* one layer, one head: rollout is 0.5 A + 0.5 I */
    assert_int_equal(mhv_aggregate(&a, 1, 1, MHV_AGG_ROLLOUT, &out, &err), MHV_OK);
    assert_float_equal(out.heads[0].w[0], 1.0, 1e-7);
    assert_float_equal(out.heads[0].w[2], 0.25, 1e-7);
    assert_float_equal(out.heads[0].w[3], 0.75, 1e-7);
    mhv_attn_free(&out);
    /* one layer: the flow from i to j is the one edge between them, A itself */
    assert_int_equal(mhv_aggregate(&a, 1, 1, MHV_AGG_FLOW, &out, &err), MHV_OK);
    assert_float_equal(out.heads[0].w[0], 1.0, 1e-7);
    assert_float_equal(out.heads[0].w[1], 0.0, 1e-7);
    assert_float_equal(out.heads[0].w[2], 0.25, 1e-7);
    assert_float_equal(out.heads[0].w[3], 0.75, 1e-7);
    mhv_attn_free(&out);
    assert_int_equal(mhv_aggregate(&a, 1, 2, MHV_AGG_FLOW, &out, &err), MHV_EUSAGE);
}

static void test_parse(void **state)
{
    (void)state;
    mhv_agg k;
    mhv_error err = {0};
    assert_int_equal(mhv_agg_parse("flow", &k, &err), MHV_OK);
    assert_int_equal(k, MHV_AGG_FLOW);
    assert_string_equal(mhv_agg_name(k), "flow");
    assert_int_equal(mhv_agg_parse("rollout", &k, &err), MHV_OK);
    assert_string_equal(mhv_agg_name(k), "rollout");
    assert_int_equal(mhv_agg_parse("max", &k, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "mean, rollout or flow"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_flow_cases),
        cmocka_unit_test(test_flow_bert),
        cmocka_unit_test(test_missing_head),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
