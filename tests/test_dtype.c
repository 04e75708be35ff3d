/* test_dtype.c - dtype names and sizes, fp16/bf16 conversions at their edge values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <string.h>

#include "base/dtype.h"

static float fbits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t bitsf(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Bit-exact float comparison, so -0 and 0 differ and the check says which pattern failed. */
#define assert_fbits(f, u) assert_int_equal(bitsf(f), (uint32_t)(u))

static void test_names_and_sizes(void **state)
{
    (void)state;
    static const char *names[] = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8",
                                  "U64", "U32", "U16", "U8", "BOOL", "F8_E4M3", "F8_E5M2"};
    static const size_t sizes[] = {4, 2, 2, 8, 8, 4, 2, 1, 8, 4, 2, 1, 1, 1, 1};
    assert_int_equal(sizeof names / sizeof *names, MHV_DT_COUNT);
    for (int i = 0; i < MHV_DT_COUNT; i++) {
        assert_int_equal(mhv_dtype_from_name(names[i]), i);
        assert_string_equal(mhv_dtype_name((mhv_dtype)i), names[i]);
        assert_int_equal(mhv_dtype_size((mhv_dtype)i), sizes[i]);
    }
    assert_int_equal(mhv_dtype_from_name("Q4"), -1);
    assert_int_equal(mhv_dtype_from_name("f32"), -1); /* the spec's names are upper case */
    assert_int_equal(mhv_dtype_from_name(""), -1);
    assert_int_equal(mhv_dtype_from_name("F32 "), -1);
    assert_int_equal(mhv_dtype_from_name(NULL), -1);
    assert_int_equal(mhv_dtype_size(MHV_DT_COUNT), 0);
    assert_string_equal(mhv_dtype_name(MHV_DT_COUNT), "?");
    assert_true(mhv_dtype_is_float_weight(MHV_DT_F32));
    assert_true(mhv_dtype_is_float_weight(MHV_DT_F16));
    assert_true(mhv_dtype_is_float_weight(MHV_DT_BF16));
    assert_false(mhv_dtype_is_float_weight(MHV_DT_F64));
    assert_false(mhv_dtype_is_float_weight(MHV_DT_I64));
    assert_false(mhv_dtype_is_float_weight(MHV_DT_F8_E4M3));
}

static void test_f16_to_f32_edges(void **state)
{
    (void)state;
    assert_fbits(mhv_f16_to_f32(0x0000), 0x00000000);
    assert_fbits(mhv_f16_to_f32(0x8000), 0x80000000);               /* -0 */
    assert_true(mhv_f16_to_f32(0x0001) == ldexpf(1, -24));            /* smallest subnormal */
    assert_true(mhv_f16_to_f32(0x8001) == -ldexpf(1, -24));
    assert_true(mhv_f16_to_f32(0x03ff) == ldexpf(1023, -24));         /* largest subnormal */
    assert_true(mhv_f16_to_f32(0x0200) == ldexpf(1, -15));
    assert_true(mhv_f16_to_f32(0x0400) == ldexpf(1, -14));            /* smallest normal */
    assert_true(mhv_f16_to_f32(0x3c00) == 1.0f);
    assert_true(mhv_f16_to_f32(0x3c01) == 1.0f + ldexpf(1, -10));
    assert_true(mhv_f16_to_f32(0xc000) == -2.0f);
    assert_true(mhv_f16_to_f32(0x7bff) == 65504.0f);                  /* largest finite */
    assert_true(mhv_f16_to_f32(0xfbff) == -65504.0f);
    assert_true(isinf(mhv_f16_to_f32(0x7c00)) && mhv_f16_to_f32(0x7c00) > 0);
    assert_true(isinf(mhv_f16_to_f32(0xfc00)) && mhv_f16_to_f32(0xfc00) < 0);
    assert_true(isnan(mhv_f16_to_f32(0x7e00)));
    assert_true(isnan(mhv_f16_to_f32(0x7c01))); /* signalling pattern is still nan */
    assert_true(isnan(mhv_f16_to_f32(0xfe00)) && signbit(mhv_f16_to_f32(0xfe00)));
}

/* Every one of the 65536 patterns against a formula independent of the bit shuffling. */
static void test_f16_to_f32_exhaustive(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 0x10000; h++) {
        int exp = (int)((h >> 10) & 0x1f), man = (int)(h & 0x3ff);
        double sign = (h & 0x8000) ? -1.0 : 1.0;
        float got = mhv_f16_to_f32((uint16_t)h);
        if (exp == 31) {
            assert_true(man ? isnan(got) : isinf(got));
            assert_int_equal(!!signbit(got), !!(h & 0x8000));
            continue;
        }
        double want = exp ? ldexp(1024 + man, exp - 25) : ldexp(man, -24);
        assert_true((double)got == sign * want);
        assert_int_equal(!!signbit(got), !!(h & 0x8000));
    }
}

static void test_f32_to_f16_rounding(void **state)
{
    (void)state;
    assert_int_equal(mhv_f32_to_f16(0.0f), 0x0000);
    assert_int_equal(mhv_f32_to_f16(-0.0f), 0x8000);
    assert_int_equal(mhv_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(mhv_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(mhv_f32_to_f16(65519.996f), 0x7bff);  /* just under the halfway point */
    assert_int_equal(mhv_f32_to_f16(65520.0f), 0x7c00);    /* tie, 0x7bff is odd: up to inf */
    assert_int_equal(mhv_f32_to_f16(-65520.0f), 0xfc00);
    assert_int_equal(mhv_f32_to_f16(1e6f), 0x7c00);
    assert_int_equal(mhv_f32_to_f16(FLT_MAX), 0x7c00);
    assert_int_equal(mhv_f32_to_f16(INFINITY), 0x7c00);
    assert_int_equal(mhv_f32_to_f16(-INFINITY), 0xfc00);
    /* ties to even in the normal range */
    assert_int_equal(mhv_f32_to_f16(1.0f + ldexpf(1, -11)), 0x3c00);
    assert_int_equal(mhv_f32_to_f16(1.0f + 3 * ldexpf(1, -11)), 0x3c02);
    assert_int_equal(mhv_f32_to_f16(nextafterf(1.0f + ldexpf(1, -11), 2)), 0x3c01);
    /* subnormal results */
    assert_int_equal(mhv_f32_to_f16(ldexpf(1, -24)), 0x0001);
    assert_int_equal(mhv_f32_to_f16(ldexpf(1, -25)), 0x0000);            /* tie to even 0 */
    assert_int_equal(mhv_f32_to_f16(-ldexpf(1, -25)), 0x8000);
    assert_int_equal(mhv_f32_to_f16(nextafterf(ldexpf(1, -25), 1)), 0x0001);
    assert_int_equal(mhv_f32_to_f16(3 * ldexpf(1, -25)), 0x0002);        /* 1.5 units: even */
    assert_int_equal(mhv_f32_to_f16(5 * ldexpf(1, -25)), 0x0002);        /* 2.5 units: even */
    assert_int_equal(mhv_f32_to_f16(ldexpf(1023, -24)), 0x03ff);
    assert_int_equal(mhv_f32_to_f16(ldexpf(2047, -25)), 0x0400);         /* into the normals */
    assert_int_equal(mhv_f32_to_f16(ldexpf(1, -14)), 0x0400);
    assert_int_equal(mhv_f32_to_f16(FLT_MIN), 0x0000);
    assert_int_equal(mhv_f32_to_f16(fbits(0x00000001)), 0x0000);         /* fp32 subnormal */
    /* nan stays nan, keeps its sign, even when only low payload bits are set */
    uint16_t n = mhv_f32_to_f16(NAN);
    assert_true((n & 0x7c00) == 0x7c00 && (n & 0x3ff) != 0);
    n = mhv_f32_to_f16(fbits(0x7f800001));
    assert_true((n & 0x7c00) == 0x7c00 && (n & 0x3ff) != 0);
    n = mhv_f32_to_f16(fbits(0xff800001));
    assert_true((n & 0xfc00) == 0xfc00 && (n & 0x3ff) != 0);
}

static void test_f16_round_trip(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = mhv_f16_to_f32((uint16_t)h);
        if (isnan(f))
            assert_true(isnan(mhv_f16_to_f32(mhv_f32_to_f16(f))));
        else
            assert_int_equal(mhv_f32_to_f16(f), h);
    }
}

/* A sweep of fp32 patterns against the compiler's own _Float16 conversion (libgcc's soft
 * routine), an implementation independent of ours. */
static void test_f32_to_f16_vs_compiler(void **state)
{
    (void)state;
#if defined(__FLT16_MAX__)
    for (uint64_t u = 0; u <= 0xffffffffu; u += 251) {
        float f = fbits((uint32_t)u);
        _Float16 r = (_Float16)f;
        uint16_t want;
        memcpy(&want, &r, 2);
        uint16_t got = mhv_f32_to_f16(f);
        if (isnan(f))
            assert_true((got & 0x7c00) == 0x7c00 && (got & 0x3ff));
        else if (got != want)
            fail_msg("f32 0x%08x: got 0x%04x want 0x%04x", (unsigned)u, got, want);
    }
#else
    skip();
#endif
}

static void test_bf16_edges(void **state)
{
    (void)state;
    assert_fbits(mhv_bf16_to_f32(0x0000), 0x00000000);
    assert_fbits(mhv_bf16_to_f32(0x8000), 0x80000000);
    assert_true(mhv_bf16_to_f32(0x0001) == ldexpf(1, -133));      /* smallest subnormal */
    assert_true(mhv_bf16_to_f32(0x007f) == ldexpf(127, -133));    /* largest subnormal */
    assert_true(mhv_bf16_to_f32(0x0080) == FLT_MIN);              /* smallest normal */
    assert_true(mhv_bf16_to_f32(0x3f80) == 1.0f);
    assert_true(mhv_bf16_to_f32(0x7f7f) == ldexpf(255, 120));     /* largest finite */
    assert_true(isinf(mhv_bf16_to_f32(0x7f80)) && mhv_bf16_to_f32(0x7f80) > 0);
    assert_true(isinf(mhv_bf16_to_f32(0xff80)) && mhv_bf16_to_f32(0xff80) < 0);
    assert_true(isnan(mhv_bf16_to_f32(0x7fc0)));
    assert_true(isnan(mhv_bf16_to_f32(0x7f81)));

    assert_int_equal(mhv_f32_to_bf16(0.0f), 0x0000);
    assert_int_equal(mhv_f32_to_bf16(-0.0f), 0x8000);
    assert_int_equal(mhv_f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(mhv_f32_to_bf16(1.0f + ldexpf(1, -8)), 0x3f80);      /* tie: even */
    assert_int_equal(mhv_f32_to_bf16(1.0f + 3 * ldexpf(1, -8)), 0x3f82);  /* tie: even */
    assert_int_equal(mhv_f32_to_bf16(nextafterf(1.0f + ldexpf(1, -8), 2)), 0x3f81);
    assert_int_equal(mhv_f32_to_bf16(fbits(0x7f7f7fff)), 0x7f7f);
    assert_int_equal(mhv_f32_to_bf16(fbits(0x7f7f8000)), 0x7f80); /* tie, 0x7f7f odd: inf */
    assert_int_equal(mhv_f32_to_bf16(FLT_MAX), 0x7f80);
    assert_int_equal(mhv_f32_to_bf16(-FLT_MAX), 0xff80);
    assert_int_equal(mhv_f32_to_bf16(INFINITY), 0x7f80);
    assert_int_equal(mhv_f32_to_bf16(-INFINITY), 0xff80);
    assert_int_equal(mhv_f32_to_bf16(fbits(0x00008000)), 0x0000);  /* subnormal tie: even */
    assert_int_equal(mhv_f32_to_bf16(fbits(0x00018000)), 0x0002);
    assert_int_equal(mhv_f32_to_bf16(fbits(0x007fffff)), 0x0080);  /* rounds into normals */
    /* a nan whose payload sits in the dropped half must not become inf */
    assert_int_equal(mhv_f32_to_bf16(fbits(0x7f800001)), 0x7fc0);
    assert_int_equal(mhv_f32_to_bf16(fbits(0xff800001)), 0xffc0);
    assert_int_equal(mhv_f32_to_bf16(NAN) & 0x7fc0, 0x7fc0);
}

/* bf16 -> f32 -> bf16 is the identity, and f32 -> bf16 matches a nearest-by-distance
 * reference computed in double on a sweep of patterns. */
static void test_bf16_round_trip_and_sweep(void **state)
{
    (void)state;
    for (uint32_t b = 0; b < 0x10000; b++) {
        float f = mhv_bf16_to_f32((uint16_t)b);
        if (isnan(f))
            assert_true(isnan(mhv_bf16_to_f32(mhv_f32_to_bf16(f))));
        else
            assert_int_equal(mhv_f32_to_bf16(f), b);
    }
    for (uint64_t u = 0; u <= 0xffffffffu; u += 509) {
        float f = fbits((uint32_t)u);
        if (isnan(f) || isinf(f))
            continue;
        uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1);
        double vlo = mhv_bf16_to_f32(lo);
        /* past the largest finite the next step up is 2^128, which IEEE rounds to inf */
        double vhi = (hi & 0x7fff) == 0x7f80 ? copysign(ldexp(1, 128), f) : mhv_bf16_to_f32(hi);
        double dlo = fabs((double)f - vlo), dhi = fabs((double)f - vhi);
        uint16_t want = dlo < dhi ? lo : dhi < dlo ? hi : (lo & 1) ? hi : lo;
        uint16_t got = mhv_f32_to_bf16(f);
        if (got != want)
            fail_msg("f32 0x%08x: got 0x%04x want 0x%04x", (unsigned)u, got, want);
    }
}

static void test_to_f32_unaligned(void **state)
{
    (void)state;
    uint8_t buf[1 + 4 * 4];
    float out[4];

    const float f32[4] = {1.5f, -0.0f, 65504.0f, ldexpf(1, -140)};
    memcpy(buf + 1, f32, sizeof f32);
    mhv_dtype_to_f32(out, buf + 1, MHV_DT_F32, 4);
    assert_memory_equal(out, f32, sizeof f32);

    const uint16_t f16[4] = {0x3c00, 0x8000, 0x0001, 0x7c00};
    memcpy(buf + 1, f16, sizeof f16);
    mhv_dtype_to_f32(out, buf + 1, MHV_DT_F16, 4);
    assert_true(out[0] == 1.0f);
    assert_fbits(out[1], 0x80000000);
    assert_true(out[2] == ldexpf(1, -24));
    assert_true(isinf(out[3]));

    const uint16_t bf16[4] = {0x3f80, 0xc000, 0x0080, 0x7fc0};
    memcpy(buf + 1, bf16, sizeof bf16);
    mhv_dtype_to_f32(out, buf + 1, MHV_DT_BF16, 4);
    assert_true(out[0] == 1.0f);
    assert_true(out[1] == -2.0f);
    assert_true(out[2] == FLT_MIN);
    assert_true(isnan(out[3]));

    /* a misuse is loud (nan), never plausible numbers */
    mhv_dtype_to_f32(out, buf + 1, MHV_DT_I32, 4);
    for (int i = 0; i < 4; i++)
        assert_true(isnan(out[i]));
    mhv_dtype_to_f32(out, NULL, MHV_DT_F32, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_sizes),
        cmocka_unit_test(test_f16_to_f32_edges),
        cmocka_unit_test(test_f16_to_f32_exhaustive),
        cmocka_unit_test(test_f32_to_f16_rounding),
        cmocka_unit_test(test_f16_round_trip),
        cmocka_unit_test(test_f32_to_f16_vs_compiler),
        cmocka_unit_test(test_bf16_edges),
        cmocka_unit_test(test_bf16_round_trip_and_sweep),
        cmocka_unit_test(test_to_f32_unaligned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
