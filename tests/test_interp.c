/* PyTorch's bicubic and bilinear resizes (lib/nn/interp.c) against
 * tests/fixtures/goldens/interp.json (tests/gen/gen_interp_goldens.py: F.interpolate in
 * float64, bicubic with antialias off and on, bilinear): every case within 1e-12; and its
 * refusals. */
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

#include "nn/interp.h"

#include "testutil.h"

static double *doubles(const cJSON *arr, int *n)
{
    *n = cJSON_GetArraySize(arr);
    double *v = malloc((size_t)*n * sizeof *v);
    for (int i = 0; i < *n; i++)
        v[i] = cJSON_GetArrayItem(arr, i)->valuedouble;
    return v;
}

static void test_goldens(void **state)
{
    (void)state;
    cJSON *g = tu_read_json("tests/fixtures/goldens/interp.json");
    const cJSON *c;
    int count = 0, aa = 0, lin = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(g, "cases"))
    {
        const cJSON *in = cJSON_GetObjectItem(c, "in"), *out = cJSON_GetObjectItem(c, "out");
        int ih = cJSON_GetArrayItem(in, 0)->valueint, iw = cJSON_GetArrayItem(in, 1)->valueint;
        int oh = cJSON_GetArrayItem(out, 0)->valueint, ow = cJSON_GetArrayItem(out, 1)->valueint;
        int dim = cJSON_GetObjectItem(c, "dim")->valueint, nx, ny;
        int anti = cJSON_IsTrue(cJSON_GetObjectItem(c, "antialias"));
        const cJSON *mode_j = cJSON_GetObjectItem(c, "mode");
        int bilinear = cJSON_IsString(mode_j) && strcmp(mode_j->valuestring, "bilinear") == 0;
        mhv_interp_mode mode = bilinear ? MHV_INTERP_BILINEAR
                               : anti   ? MHV_INTERP_BICUBIC_AA
                                        : MHV_INTERP_BICUBIC;
        double *x = doubles(cJSON_GetObjectItem(c, "x"), &nx);
        double *want = doubles(cJSON_GetObjectItem(c, "y"), &ny);
        assert_int_equal(nx, ih * iw * dim);
        assert_int_equal(ny, oh * ow * dim);
        double *y = malloc((size_t)ny * sizeof *y);
        mhv_error err = {0};
        if (mhv_interp_grid(mode, x, ih, iw, dim, y, oh, ow, &err))
            fail_msg("%dx%d -> %dx%d: %s", ih, iw, oh, ow, err.msg);
        double worst = 0;
        for (int i = 0; i < ny; i++)
            worst = fmax(worst, fabs(y[i] - want[i]));
        if (!(worst <= 1e-12))
            fail_msg("%dx%d -> %dx%d (dim %d, antialias %d, bilinear %d): differs by %.3g", ih,
                     iw, oh, ow, dim, anti, bilinear, worst);
        free(x), free(y), free(want);
        count++, aa += anti, lin += bilinear;
    }
    assert_true(count >= 20 && aa >= 10 && lin >= 9);
    print_message("%d resizes within 1e-12 of torch\n", count);
    cJSON_Delete(g);
}

/* The same size is the identity, to the bit (both modes): a model whose grid matches keeps
 * its positions as they are. */
static void test_identity(void **state)
{
    (void)state;
    double x[5 * 3 * 2], y[5 * 3 * 2];
    for (int i = 0; i < 30; i++)
        x[i] = sin(i * 1.7) * 3;
    for (int mode = 0; mode < 3; mode++) {
        assert_int_equal(mhv_interp_grid((mhv_interp_mode)mode, x, 5, 3, 2, y, 5, 3, NULL), 0);
        for (int i = 0; i < 30; i++)
            assert_true(x[i] == y[i]);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    double x[4] = {0}, y[4];
    mhv_error err = {0};
    assert_int_equal(mhv_interp_grid(MHV_INTERP_BICUBIC, x, 2, 2, 1, y, 0, 2, &err), MHV_EUSAGE);
    assert_string_equal(err.msg, "cannot resize a 2x2 grid to 0x2");
    assert_int_equal(mhv_interp_grid(MHV_INTERP_BICUBIC_AA, x, 2, 2, 0, y, 1, 1, &err), MHV_EUSAGE);
    assert_int_equal(mhv_interp_grid(MHV_INTERP_BICUBIC, x, 2, 2, 1, y, 1, 5000, &err), MHV_EUSAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
