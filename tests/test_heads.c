#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/heads.h"

static void test_all(void **state)
{
    (void)state;
    mhv_heads h;
    assert_int_equal(mhv_heads_parse("all", 3, 4, &h, NULL), MHV_OK);
    assert_int_equal(mhv_heads_count(&h), 12);
    assert_int_equal(mhv_heads_last_layer(&h), 2);
    mhv_heads_free(&h);
}

static void test_list(void **state)
{
    (void)state;
    mhv_heads h;
    assert_int_equal(mhv_heads_parse("1:2,0:*", 3, 4, &h, NULL), MHV_OK);
    assert_int_equal(mhv_heads_count(&h), 5);
    assert_true(mhv_heads_has(&h, 1, 2));
    assert_false(mhv_heads_has(&h, 1, 3));
    for (int k = 0; k < 4; k++)
        assert_true(mhv_heads_has(&h, 0, k));
    assert_int_equal(mhv_heads_last_layer(&h), 1);
    mhv_heads_free(&h);

    assert_int_equal(mhv_heads_parse("*:3", 3, 4, &h, NULL), MHV_OK);
    assert_int_equal(mhv_heads_count(&h), 3);
    assert_true(mhv_heads_has(&h, 2, 3));
    mhv_heads_free(&h);

    /* duplicates are fine and count once */
    assert_int_equal(mhv_heads_parse("2:1,2:1,*:*", 3, 4, &h, NULL), MHV_OK);
    assert_int_equal(mhv_heads_count(&h), 12);
    mhv_heads_free(&h);
}

static void expect_usage(const char *spec, const char *needle)
{
    mhv_heads h;
    mhv_error err = {0};
    assert_int_equal(mhv_heads_parse(spec, 12, 12, &h, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, needle));
    assert_null(h.sel);
}

static void test_errors(void **state)
{
    (void)state;
    expect_usage("12:0", "layers 0-11, heads 0-11");
    expect_usage("0:12", "out of range");
    expect_usage("99999999999:0", "out of range");
    expect_usage("3", "not LAYER:HEAD");
    expect_usage("a:1", "not LAYER:HEAD");
    expect_usage("-1:1", "not LAYER:HEAD");
    expect_usage("1:", "not LAYER:HEAD");
    expect_usage(":1", "not LAYER:HEAD");
    expect_usage("1:1,", "not LAYER:HEAD");
    expect_usage("", "not LAYER:HEAD");
    expect_usage("1:1:1", "not LAYER:HEAD");
    expect_usage("ALL", "not LAYER:HEAD");
    expect_usage(" 1:1", "not LAYER:HEAD");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("heads", tests, NULL, NULL);
}
