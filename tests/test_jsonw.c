/* The JSON writer: floats are the bytes printf("%.9g") gives (the fast formatter is checked
 * against it on strided sweeps of two binades, powers of ten and random bit patterns),
 * non-finite values are null, strings are escaped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonw.h"

static void check(float v)
{
    char want[64], got[32];
    if (isfinite(v))
        snprintf(want, sizeof want, "%.9g", (double)v);
    else
        snprintf(want, sizeof want, "null");
    mhv_jsonw_format_float(got, v);
    if (strcmp(want, got) != 0) {
        uint32_t u;
        memcpy(&u, &v, sizeof u);
        fail_msg("float 0x%08x: printf gives %s, jsonw %s", (unsigned)u, want, got);
    }
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void test_floats_match_printf(void **state)
{
    (void)state;
    /* every 11th float of [0.5, 1) and 13th of [2^-10, 2^-9) (attention weights live in
     * (0, 1]; the exhaustive run over every float of both, done once, also passed) */
    for (uint32_t u = 0x3f000000u; u < 0x3f800000u; u += 11)
        check(from_bits(u));
    for (uint32_t u = 0x3a800000u; u < 0x3b000000u; u += 13)
        check(from_bits(u));
    /* random bit patterns over the whole range, both signs */
    uint64_t r = 0x243f6a8885a308d3ull;
    for (int i = 0; i < 500000; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        check(from_bits((uint32_t)(r >> 17)));
    }
    /* powers of ten and their neighbours, where the decimal exponent estimate is tight */
    for (int e = -45; e <= 38; e++) {
        float p = (float)pow(10.0, e);
        uint32_t u;
        memcpy(&u, &p, sizeof u);
        for (int d = -3; d <= 3; d++)
            check(from_bits(u + (uint32_t)d));
    }
    const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 1e-5f, 9.99999994e-05f, 0.0001f,
                             999999999.0f, 1e9f, 123456789.0f, 0.1f, INFINITY, -INFINITY, NAN};
    for (size_t i = 0; i < sizeof special / sizeof *special; i++)
        check(special[i]);
}

static void test_rows_and_strings(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    float row[1000];
    for (int i = 0; i < 1000; i++)
        row[i] = (float)i / 7.0f;
    row[3] = NAN;
    mhv_jsonw_floats(f, row, 1000);
    fputc('\n', f);
    mhv_jsonw_str(f, "a\"b\\\n\x01", 6);
    fclose(f);
    /* the same row through printf */
    char *want = NULL;
    size_t wlen = 0;
    FILE *g = open_memstream(&want, &wlen);
    fputc('[', g);
    for (int i = 0; i < 1000; i++) {
        if (i)
            fputs(", ", g);
        if (i == 3)
            fputs("null", g);
        else
            fprintf(g, "%.9g", (double)row[i]);
    }
    fputs("]\n\"a\\\"b\\\\\\n\\u0001\"", g);
    fclose(g);
    assert_string_equal(text, want);
    free(text);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_floats_match_printf),
        cmocka_unit_test(test_rows_and_strings),
    };
    return cmocka_run_group_tests_name("jsonw", tests, NULL, NULL);
}
