/* Value norms of encoder-decoder models (mhv_forward_run_seq2seq under
 * mhv_forward_params.value_norms) against tests/fixtures/goldens/vnorm-s2s.json
 * (tests/gen/gen_s2s_vnorm_golden.py: Kobayashi et al.'s equations over transformers'
 * attentions and the value and output projections' weights, in float64): alpha_ij ||v_j||
 * and alpha_ij ||v_j W_O^h|| of every head of the encoder, the decoder and the
 * cross-attention (whose v_j are the source tokens' value vectors through its own value
 * projection) of T5, T5 v1.1, UMT5, BART, mBART, Marian and NLLB, on 1 and 2 threads; then
 * mhv_weighting_apply's rows of such a run. */
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

static int read_ids(const cJSON *a, int32_t *ids, int max)
{
    int n = cJSON_GetArraySize(a);
    assert_true(n <= max);
    for (int i = 0; i < n; i++)
        ids[i] = cJSON_GetArrayItem(a, i)->valueint;
    return n;
}

/* Runs the case's pair with value norms `kind` into *a (the model stays open in *m). */
static void run_case(const cJSON *c, int kind, int threads, mhv_model **m, mhv_attn *a)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s",
             cJSON_GetObjectItem(c, "fixture")->valuestring);
    mhv_error err = {0};
    if (mhv_model_open(path, m, &err))
        fail_msg("%s: %s", err.file, err.msg);
    int32_t src[64], tgt[64];
    int ns = read_ids(cJSON_GetObjectItem(c, "src_ids"), src, 64);
    int nt = read_ids(cJSON_GetObjectItem(c, "tgt_ids"), tgt, 64);
    const mhv_config *cfg = &(*m)->cfg;
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse_seq2seq("all", cfg->num_layers, cfg->dec_layers,
                                             cfg->num_heads, &sel, &err), MHV_OK);
    mhv_forward_params p = {.threads = threads, .value_norms = kind};
    mhv_forward_ctx *fc;
    if (mhv_forward_ctx_new(&p, &fc, &err) ||
        mhv_forward_run_seq2seq(fc, *m, src, ns, tgt, nt, &sel, a, &err))
        fail_msg("%s: %s", path, err.msg);
    mhv_forward_ctx_free(fc);
    mhv_heads_free(&sel);
}

static void check_case(const cJSON *c, int kind, const char *key, int threads)
{
    mhv_model *m;
    mhv_attn a;
    run_case(c, kind, threads, &m, &a);
    assert_non_null(a.vnorm);
    assert_int_equal(a.vnorm_kind, kind);
    const cJSON *want = cJSON_GetObjectItem(c, key);
    double tol = cJSON_GetObjectItem(c, "tolerance")->valuedouble, worst = 0;
    int seen[4] = {0};
    size_t vat = 0; /* head k's first value norm: each head's (cols,) in turn */
    for (int k = 0; k < a.count; k++) {
        const mhv_head_attn *h = &a.heads[k];
        const cJSON *g = cJSON_GetArrayItem(
            cJSON_GetArrayItem(cJSON_GetObjectItem(want, mhv_stack_name(h->stack)), h->layer),
            h->head);
        assert_non_null(g);
        assert_int_equal(cJSON_GetArraySize(g), h->rows);
        for (int i = 0; i < h->rows; i++) {
            const cJSON *row = cJSON_GetArrayItem(g, i);
            assert_int_equal(cJSON_GetArraySize(row), h->cols);
            for (int j = 0; j < h->cols; j++) {
                double w = cJSON_GetArrayItem(row, j)->valuedouble;
                double got = (double)h->w[(size_t)i * (size_t)h->cols + (size_t)j] *
                             a.vnorm[vat + (size_t)j];
                double e = fabs(got - w) / (1 + fabs(w));
                if (!(e <= worst))
                    worst = isnan(e) ? INFINITY : e;
            }
        }
        vat += (size_t)h->cols;
        seen[h->stack]++;
    }
    /* every head of the three stacks */
    int H = m->cfg.num_heads;
    assert_int_equal(seen[MHV_STACK_ENCODER], m->cfg.num_layers * H);
    assert_int_equal(seen[MHV_STACK_DECODER], m->cfg.dec_layers * H);
    assert_int_equal(seen[MHV_STACK_CROSS], m->cfg.dec_layers * H);
    if (worst > tol)
        fail_msg("%s %s (%d threads): weighted attention differs by %.3g (tolerance %.3g)",
                 cJSON_GetObjectItem(c, "fixture")->valuestring, key, threads, worst, tol);
    mhv_attn_free(&a);
    mhv_model_close(m);
}

static void test_vnorm_seq2seq(void **state)
{
    (void)state;
    cJSON *g = tu_read_json("tests/fixtures/goldens/vnorm-s2s.json");
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
    assert_int_equal(cases, 9);
    cJSON_Delete(g);
}

/* mhv_weighting_apply on an encoder-decoder run: every row of every stack is the golden's
 * products divided by their sum; the raw products come back in the maps' layout. */
static void test_weighting_rows(void **state)
{
    (void)state;
    cJSON *g = tu_read_json("tests/fixtures/goldens/vnorm-s2s.json");
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "cases"), 3); /* BART */
    double tol = cJSON_GetObjectItem(c, "tolerance")->valuedouble;
    mhv_model *m;
    mhv_attn a;
    run_case(c, MHV_VNORM_VO, 1, &m, &a);
    float *norms = NULL;
    mhv_error err = {0};
    assert_int_equal(mhv_weighting_apply(&a, MHV_WEIGHT_NORM_OUT, &norms, &err), MHV_OK);
    assert_non_null(norms);
    const cJSON *want = cJSON_GetObjectItem(c, "norm_out");
    size_t at = 0;
    for (int k = 0; k < a.count; k++) {
        const mhv_head_attn *h = &a.heads[k];
        const cJSON *gh = cJSON_GetArrayItem(
            cJSON_GetArrayItem(cJSON_GetObjectItem(want, mhv_stack_name(h->stack)), h->layer),
            h->head);
        for (int i = 0; i < h->rows; i++) {
            const cJSON *row = cJSON_GetArrayItem(gh, i);
            double sum = 0, total = 0;
            for (int j = 0; j < h->cols; j++)
                sum += cJSON_GetArrayItem(row, j)->valuedouble;
            for (int j = 0; j < h->cols; j++) {
                double p = cJSON_GetArrayItem(row, j)->valuedouble;
                float got = h->w[(size_t)i * (size_t)h->cols + (size_t)j];
                assert_true(fabs(got - p / sum) <= 10 * tol);
                assert_true(fabs(norms[at + (size_t)i * (size_t)h->cols + (size_t)j] - p) <=
                            tol * (1 + fabs(p)));
                total += got;
            }
            assert_true(fabs(total - 1) < 1e-5);
        }
        at += (size_t)h->rows * (size_t)h->cols;
    }
    free(norms);
    mhv_attn_free(&a);
    mhv_model_close(m);
    cJSON_Delete(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vnorm_seq2seq),
        cmocka_unit_test(test_weighting_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
