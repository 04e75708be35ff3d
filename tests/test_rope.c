/* YaRN rope scaling against transformers bit for bit: each case of
 * tests/fixtures/goldens/yarn-inv-freq.json (made by tests/gen/fam_yarn.py) is read as a
 * Llama config.json; its inverse frequencies must equal transformers' fp32 ones exactly
 * (within two ulps on the pairs where torch's vectorised pow is not correctly rounded) and
 * its attention scaling transformers' double. Plus the settings yarn refuses by name. The
 * forward passes with yarn are checked by test_families (fam-yarn-*). */
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

#include "model/config.h"

#include "testutil.h"

static mhv_status parse(const char *text, mhv_config *c, mhv_error *err)
{
    memset(err, 0, sizeof *err);
    return mhv_config_parse(text, strlen(text), "config.json", c, err);
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static void test_inv_freq_goldens(void **state)
{
    (void)state;
    cJSON *g = tu_read_json("tests/fixtures/goldens/yarn-inv-freq.json");
    const cJSON *cases = cJSON_GetObjectItem(g, "cases"), *cs;
    int count = 0;
    cJSON_ArrayForEach(cs, cases)
    {
        int dim = cJSON_GetObjectItem(cs, "head_dim")->valueint;
        char *params = cJSON_PrintUnformatted(cJSON_GetObjectItem(cs, "rope_parameters"));
        char text[2048];
        snprintf(text, sizeof text,
                 "{\"model_type\": \"llama\", \"hidden_size\": %d, \"num_attention_heads\": 2,"
                 " \"num_hidden_layers\": 1, \"intermediate_size\": 8, \"vocab_size\": 8,"
                 " \"head_dim\": %d, \"max_position_embeddings\": %d, \"rope_parameters\": %s}",
                 2 * dim, dim, cJSON_GetObjectItem(cs, "max_position_embeddings")->valueint,
                 params);
        free(params);
        mhv_config c;
        mhv_error err;
        if (parse(text, &c, &err))
            fail_msg("%s: %s", text, err.msg);
        assert_int_equal(c.rope.kind, MHV_ROPE_YARN);
        double att = cJSON_GetObjectItem(cs, "attention_scaling")->valuedouble;
        if (fabs(c.rope.attention - att) > 1e-15 * fabs(att))
            fail_msg("case %d: attention %.17g, transformers %.17g", count, c.rope.attention,
                     att);
        const cJSON *hex = cJSON_GetObjectItem(cs, "inv_freq_f32_hex");
        assert_int_equal(cJSON_GetArraySize(hex), dim / 2);
        float inv[512];
        mhv_rope_inv_freq(&c.rope, dim, inv);
        /* exact, except where torch's vectorised pow was not correctly rounded: there the
         * power differs by an ulp, the frequency by at most two */
        const cJSON *inexact = cJSON_GetObjectItem(cs, "torch_pow_inexact_pairs"), *it;
        int slack[256] = {0};
        cJSON_ArrayForEach(it, inexact) slack[it->valueint] = 2;
        for (int j = 0; j < dim / 2; j++) {
            uint32_t want = (uint32_t)strtoul(cJSON_GetArrayItem(hex, j)->valuestring, NULL, 16);
            uint32_t got = f32_bits(inv[j]);
            if ((got > want ? got - want : want - got) > (uint32_t)slack[j])
                fail_msg("case %d pair %d: inv_freq %08x, transformers %08x", count, j,
                         (unsigned)f32_bits(inv[j]), (unsigned)want);
        }
        /* cos and sin times the attention scaling, in fp32 */
        float cs_t[2] = {0.5f, -0.25f}, sn_t[2] = {1.0f, 0.75f};
        mhv_rope_table_scale(&c.rope, 2, cs_t, sn_t);
        assert_true(cs_t[0] == 0.5f * (float)att && sn_t[1] == 0.75f * (float)att);
        count++;
    }
    assert_true(count >= 10);
    cJSON_Delete(g);
}

#define SIZES                                                                         \
    "\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4, " \
    "\"num_hidden_layers\": 1, \"intermediate_size\": 8, \"vocab_size\": 8"

static void refused(const char *text, mhv_status want, const char *needle)
{
    mhv_config c;
    mhv_error err;
    mhv_status st = parse(text, &c, &err);
    if (st != want)
        fail_msg("%s: status %d, want %d (%s)", text, (int)st, (int)want, err.msg);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_yarn_settings(void **state)
{
    (void)state;
    mhv_config c;
    mhv_error err;
    /* rope_scaling's older spelling; original context from max_position_embeddings; a
     * top-level original_max_position_embeddings wins over the settings' */
    assert_int_equal(parse("{" SIZES ", \"max_position_embeddings\": 4096, \"rope_scaling\": "
                           "{\"type\": \"yarn\", \"factor\": 4}}", &c, &err), MHV_OK);
    assert_int_equal(c.rope.original_max_positions, 4096);
    assert_true(c.rope.beta_fast == 32 && c.rope.beta_slow == 1 && c.rope.truncate == 1);
    assert_true(fabs(c.rope.attention - (0.1 * log(4.0) + 1)) < 1e-15);
    assert_int_equal(parse("{" SIZES ", \"original_max_position_embeddings\": 512, "
                           "\"rope_scaling\": {\"type\": \"yarn\", \"factor\": 2, "
                           "\"original_max_position_embeddings\": 1024, \"beta_fast\": 0}}", &c,
                           &err), MHV_OK);
    assert_int_equal(c.rope.original_max_positions, 512);
    assert_true(c.rope.beta_fast == 32);
    /* factor <= 1: no attention scaling */
    assert_int_equal(parse("{" SIZES ", \"rope_parameters\": {\"rope_type\": \"yarn\", "
                           "\"factor\": 1, \"original_max_position_embeddings\": 64}}", &c, &err),
                     MHV_OK);
    assert_true(c.rope.attention == 1.0);
    refused("{" SIZES ", \"rope_parameters\": {\"rope_type\": \"yarn\", "
            "\"original_max_position_embeddings\": 64}}", MHV_EFORMAT, "missing field 'factor'");
    refused("{" SIZES ", \"rope_parameters\": {\"rope_type\": \"yarn\", \"factor\": 2}}",
            MHV_EFORMAT, "original_max_position_embeddings");
    refused("{" SIZES ", \"max_position_embeddings\": 64, \"rope_parameters\": {\"rope_type\": "
            "\"yarn\", \"factor\": 2, \"beta_slow\": -1}}", MHV_EFORMAT, "beta_slow is negative");
    refused("{" SIZES ", \"max_position_embeddings\": 64, \"rope_parameters\": {\"rope_type\": "
            "\"yarn\", \"factor\": 2, \"rope_theta\": 1}}", MHV_EFORMAT,
            "rope_theta must not be 1");
    refused("{" SIZES ", \"max_position_embeddings\": 64, \"rope_parameters\": {\"rope_type\": "
            "\"yarn\", \"factor\": 2, \"partial_rotary_factor\": 0.5}}", MHV_EUNSUPPORTED,
            "partial_rotary_factor");
    refused("{" SIZES ", \"max_position_embeddings\": 64, \"rope_parameters\": {\"rope_type\": "
            "\"yarn\", \"factor\": 2, \"truncate\": 3}}", MHV_EFORMAT, "truncate");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inv_freq_goldens),
        cmocka_unit_test(test_yarn_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
