/* ESM's contact prediction against transformers: tests/fixtures/goldens/esm-contacts.json
 * (tests/gen/gen_esm_contacts.py: EsmForMaskedLM.predict_contacts of a tiny model with a
 * random contact head, float64) within its tolerance, from the maps of 1 and 2 threads
 * (the same bytes) and of the scalar kernels; the head's weights as loaded; a checkpoint
 * without the head has none; maps missing a head or rows are refused. */
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

#include "analysis/contacts.h"
#include "model/forward.h"
#include "model/model.h"

#include "testutil.h"

/* The contacts of ids(n) from a pass with `threads` threads and `kernel`, into out. */
static void contacts_with(const mhv_model *m, const char *kernel, int threads,
                          const int32_t *ids, int n, float *out)
{
    int L = m->cfg.num_layers, H = m->cfg.num_heads;
    mhv_forward_params p = {.threads = threads, .kernel = kernel};
    mhv_forward_ctx *c;
    mhv_error err = {0};
    mhv_heads all;
    mhv_attn a;
    float *w = malloc((size_t)(L * H) * sizeof *w);
    mhv_mat_row(&m->contact_w, 0, w);
    if (mhv_heads_parse("all", L, H, &all, &err) || mhv_forward_ctx_new(&p, &c, &err) ||
        mhv_forward_run_opts(c, m, ids, NULL, n, &all, &(mhv_forward_opts){0}, &a, &err) ||
        mhv_contacts_compute(&a, L, H, ids, w, m->contact_b[0], out, &err))
        fail_msg("contacts: %s", err.msg);
    mhv_attn_free(&a);
    mhv_forward_ctx_free(c);
    mhv_heads_free(&all);
    free(w);
}

static void test_against_transformers(void **state)
{
    (void)state;
    cJSON *g = tu_read_json("tests/fixtures/goldens/esm-contacts.json");
    assert_non_null(g);
    double tol = cJSON_GetObjectItem(g, "tolerance")->valuedouble;
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open("tests/fixtures/fam-esm2-contacts-f32", &m, &err))
        fail_msg("open: %s", err.msg);
    assert_non_null(m->contact_w.data);
    assert_int_equal(m->contact_w.cols, m->cfg.num_layers * m->cfg.num_heads);
    const cJSON *s;
    int count = 0, residues = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(g, "sentences")) {
        const cJSON *jids = cJSON_GetObjectItem(s, "token_ids"),
                    *want = cJSON_GetObjectItem(s, "contacts");
        int n = cJSON_GetArraySize(jids), L = mhv_contacts_len(n);
        assert_int_equal(cJSON_GetArraySize(want), L);
        int32_t ids[64];
        assert_true(n <= 64);
        for (int i = 0; i < n; i++)
            ids[i] = cJSON_GetArrayItem(jids, i)->valueint;
        size_t LL = (size_t)L * (size_t)L + 1;
        float *p1 = calloc(LL, sizeof *p1), *p2 = calloc(LL, sizeof *p2),
              *ps = calloc(LL, sizeof *ps);
        contacts_with(m, NULL, 1, ids, n, p1);
        contacts_with(m, NULL, 2, ids, n, p2);
        contacts_with(m, "scalar", 1, ids, n, ps);
        if (memcmp(p1, p2, LL * sizeof *p1) != 0)
            fail_msg("sentence %d: 1 and 2 threads differ", count);
        double worst = 0, worst_s = 0;
        for (int i = 0; i < L; i++)
            for (int j = 0; j < L; j++) {
                double v = cJSON_GetArrayItem(cJSON_GetArrayItem(want, i), j)->valuedouble;
                worst = fmax(worst, fabs(v - p1[i * L + j]));
                worst_s = fmax(worst_s, fabs(v - ps[i * L + j]));
                /* symmetric by construction, as transformers' */
                assert_true(p1[i * L + j] == p1[j * L + i]);
            }
        if (!(worst <= tol) || !(worst_s <= tol))
            fail_msg("sentence %d: contacts differ by %.3g (scalar %.3g) > %.3g", count, worst,
                     worst_s, tol);
        residues += L;
        free(p1), free(p2), free(ps);
        count++;
    }
    assert_int_equal(count, 4);
    assert_true(residues > 30);
    mhv_model_close(m);
    cJSON_Delete(g);
}

static void test_no_head(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open("tests/fixtures/esm-nocontact", &m, &err))
        fail_msg("open: %s", err.msg);
    assert_null(m->contact_w.data);
    assert_null(m->contact_b);
    mhv_model_close(m);
}

/* Maps of fewer heads, or of kept rows, are refused rather than used. */
static void test_needs_every_head(void **state)
{
    (void)state;
    mhv_heads sel;
    mhv_attn a;
    mhv_error err = {0};
    assert_int_equal(mhv_heads_parse("0:*", 2, 2, &sel, &err), MHV_OK);
    assert_int_equal(mhv_attn_alloc(&a, &sel, 4, &err), MHV_OK);
    int32_t ids[4] = {0, 5, 6, 2};
    float w[4] = {1, 1, 1, 1}, out[4];
    assert_int_equal(mhv_contacts_compute(&a, 2, 2, ids, w, 0, out, &err), MHV_EUSAGE);
    mhv_attn_free(&a);
    mhv_heads_free(&sel);
}

/* A hand-checked case: one head, 4 tokens, its 2 residues' map [[a, b], [c, d]]:
 * S = [[2a, b+c], [b+c, 2d]], r = (2a+b+c, b+c+2d), t = r0 + r1; the eos mask zeroes a
 * residue whose id is 2. */
static void test_by_hand(void **state)
{
    (void)state;
    mhv_heads sel;
    mhv_attn a;
    mhv_error err = {0};
    assert_int_equal(mhv_heads_parse("all", 1, 1, &sel, &err), MHV_OK);
    assert_int_equal(mhv_attn_alloc(&a, &sel, 4, &err), MHV_OK);
    const float map[16] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.25f, 0.125f, 0.125f,
                           0.0f, 0.5f, 0.25f, 0.25f, 0.3f, 0.3f, 0.2f, 0.2f};
    memcpy(a.heads[0].w, map, sizeof map);
    int32_t ids[4] = {0, 5, 6, 2};
    float w = 1.5f, out[4];
    assert_int_equal(mhv_contacts_compute(&a, 1, 1, ids, &w, -0.25f, out, &err), MHV_OK);
    double A = 0.25, B = 0.125, C = 0.5, D = 0.25;
    double S[2][2] = {{2 * A, B + C}, {B + C, 2 * D}};
    double r[2] = {S[0][0] + S[0][1], S[1][0] + S[1][1]}, t = r[0] + r[1];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double x = -0.25 + 1.5 * (S[i][j] - r[i] * r[j] / t);
            assert_float_equal(out[i * 2 + j], 1 / (1 + exp(-x)), 1e-7);
        }
    ids[2] = 2; /* residue 1 is an <eos>: its row and column zeroed */
    assert_int_equal(mhv_contacts_compute(&a, 1, 1, ids, &w, -0.25f, out, &err), MHV_OK);
    /* S = [[2A, 0], [0, 0]], r = (2A, 0), t = 2A: every N is 0, P = sigmoid(bias) */
    for (int k = 0; k < 4; k++)
        assert_float_equal(out[k], 1 / (1 + exp(0.25)), 1e-7);
    mhv_attn_free(&a);
    mhv_heads_free(&sel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_transformers),
        cmocka_unit_test(test_no_head),
        cmocka_unit_test(test_needs_every_head),
        cmocka_unit_test(test_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
