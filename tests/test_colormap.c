#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "fig/colormap.h"

/* Published values: matplotlib.colors.to_hex(cmap(x)) for x = 0, .25, .5, .75, 1 (the same
 * hex values as the BIDS colormap and cividis papers' reference tables). */
static const struct {
    mhv_cmap c;
    const char *hex[5];
} refs[] = {
    {MHV_CMAP_VIRIDIS, {"#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"}},
    {MHV_CMAP_MAGMA, {"#000004", "#51127c", "#b73779", "#fc8961", "#fcfdbf"}},
    {MHV_CMAP_INFERNO, {"#000004", "#57106e", "#bc3754", "#f98e09", "#fcffa4"}},
    {MHV_CMAP_PLASMA, {"#0d0887", "#7e03a8", "#cc4778", "#f89540", "#f0f921"}},
    {MHV_CMAP_CIVIDIS, {"#00224e", "#434e6c", "#7d7c78", "#bcae6c", "#fee838"}},
    {MHV_CMAP_GRAY, {"#000000", "#404040", "#808080", "#c0c0c0", "#ffffff"}},
};

static void test_reference_points(void **state)
{
    (void)state;
    static const float xs[5] = {0.0f, 0.25f, 0.5f, 0.75f, 1.0f};
    for (size_t r = 0; r < sizeof refs / sizeof refs[0]; r++)
        for (int k = 0; k < 5; k++) {
            uint8_t rgb[3];
            mhv_cmap_rgb(refs[r].c, xs[k], rgb);
            char hex[8];
            snprintf(hex, sizeof hex, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
            if (strcmp(hex, refs[r].hex[k]) != 0)
                fail_msg("%s(%.2f) = %s, expected %s", mhv_cmap_name(refs[r].c), (double)xs[k],
                         hex, refs[r].hex[k]);
        }
}

static void test_exact_table_values(void **state)
{
    (void)state;
    /* matplotlib _cm_listed.py _viridis_data[0], [128], [255] and _magma_data[255] */
    const float *v0 = mhv_cmap_tables[MHV_CMAP_VIRIDIS][0];
    assert_float_equal(v0[0], 0.267004f, 1e-7);
    assert_float_equal(v0[1], 0.004874f, 1e-7);
    assert_float_equal(v0[2], 0.329415f, 1e-7);
    const float *v128 = mhv_cmap_tables[MHV_CMAP_VIRIDIS][128];
    assert_float_equal(v128[0], 0.127568f, 1e-7);
    assert_float_equal(v128[1], 0.566949f, 1e-7);
    assert_float_equal(v128[2], 0.550556f, 1e-7);
    const float *v255 = mhv_cmap_tables[MHV_CMAP_VIRIDIS][255];
    assert_float_equal(v255[0], 0.993248f, 1e-7);
    assert_float_equal(v255[1], 0.906157f, 1e-7);
    assert_float_equal(v255[2], 0.143936f, 1e-7);
    const float *m255 = mhv_cmap_tables[MHV_CMAP_MAGMA][255];
    assert_float_equal(m255[0], 0.987053f, 1e-7);
    assert_float_equal(m255[1], 0.991438f, 1e-7);
    assert_float_equal(m255[2], 0.749504f, 1e-7);
}

static void test_index_and_clamp(void **state)
{
    (void)state;
    assert_int_equal(mhv_cmap_index(0.0f), 0);
    assert_int_equal(mhv_cmap_index(-3.0f), 0);
    assert_int_equal(mhv_cmap_index(0.0f / 0.0f), 0);
    assert_int_equal(mhv_cmap_index(1.0f / 256.0f), 1);
    assert_int_equal(mhv_cmap_index(0.5f), 128);
    assert_int_equal(mhv_cmap_index(0.999f), 255);
    assert_int_equal(mhv_cmap_index(1.0f), 255);
    assert_int_equal(mhv_cmap_index(7.0f), 255);
    /* perceptually uniform maps get lighter monotonically: lightness never drops */
    for (int c = 0; c < MHV_CMAP_COUNT; c++)
        for (int i = 1; i < 256; i++) {
            const float *a = mhv_cmap_tables[c][i - 1], *b = mhv_cmap_tables[c][i];
            float la = 0.2126f * a[0] + 0.7152f * a[1] + 0.0722f * a[2];
            float lb = 0.2126f * b[0] + 0.7152f * b[1] + 0.0722f * b[2];
            assert_true(lb >= la - 1e-3f);
        }
}

static void test_parse(void **state)
{
    (void)state;
    mhv_cmap c;
    mhv_error err = {0};
    assert_int_equal(mhv_cmap_parse("cividis", &c, &err), MHV_OK);
    assert_int_equal(c, MHV_CMAP_CIVIDIS);
    assert_int_equal(mhv_cmap_parse("jet", &c, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "unknown colormap 'jet'"));
    assert_non_null(strstr(err.msg, "viridis"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_points),
        cmocka_unit_test(test_exact_table_values),
        cmocka_unit_test(test_index_and_clamp),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests_name("colormap", tests, NULL, NULL);
}
