/* test_weights.c - the checked tensor views of ckpt/weights.h: shapes, dtypes, and tensors
 * whose rows or columns do not fit the int of an mhv_mat.
 *
 * Files are safetensors images in memory. The large one is an anonymous mapping reserved
 * without backing (MAP_NORESERVE): only its header page is ever touched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "ckpt/weights.h"

/* A safetensors image of `data_bytes` data after `hdr` (padded with spaces to a multiple of
 * 8 so the data is aligned, as the HF writer does), in a mapping of its exact size. */
static uint8_t *map_image(const char *hdr, uint64_t data_bytes, size_t *size)
{
    size_t hlen = (strlen(hdr) + 7) / 8 * 8;
    *size = 8 + hlen + (size_t)data_bytes;
    uint8_t *buf = mmap(NULL, *size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert_true(buf != MAP_FAILED);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memset(buf + 8, ' ', hlen);
    memcpy(buf + 8, hdr, strlen(hdr));
    return buf;
}

typedef struct {
    uint8_t *buf;
    size_t size;
    mhv_st *st;
    mhv_wstore store;
    mhv_wload ld;
} fixture;

static void open_fixture(fixture *f, const char *hdr, uint64_t data_bytes)
{
    mhv_error err = {0};
    memset(f, 0, sizeof *f);
    f->buf = map_image(hdr, data_bytes, &f->size);
    assert_non_null(f->st = mhv_st_new());
    if (mhv_st_parse(f->st, f->buf, f->size, "model.safetensors", &err))
        fail_msg("%s: %s", err.file, err.msg);
    assert_int_equal(mhv_wload_init(&f->ld, f->st, "dir", 0, &f->store, &err), MHV_OK);
}

static void close_fixture(fixture *f)
{
    mhv_wstore_free(&f->store);
    mhv_st_close(f->st);
    munmap(f->buf, f->size);
}

static void test_tensor_view(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3,4],\"data_offsets\":[0,96]}}",
                 96);
    mhv_error err = {0};
    mhv_mat m;
    const int64_t dims[3] = {2, 3, 4};
    assert_int_equal(mhv_wload_tensor(&f.ld, "w", dims, 3, 0, &m, &err), MHV_OK);
    assert_int_equal(m.rows, 2);
    assert_int_equal(m.cols, 12);
    assert_int_equal(m.dtype, MHV_DT_F32);
    const int64_t other[3] = {2, 4, 3};
    assert_int_equal(mhv_wload_tensor(&f.ld, "w", other, 3, 0, &m, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "tensor 'w' has shape [2,3,4], expected [2,4,3]"));
    assert_null(m.data);
    close_fixture(&f);
}

/* (1, 2, 2^30) F16 is 4 GiB of data: a (1, 2^31) matrix, whose column count is no int.
 * The view used to come back with cols INT_MIN. */
static void test_tensor_columns_past_int(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f,
                 "{\"big\":{\"dtype\":\"F16\",\"shape\":[1,2,1073741824],"
                 "\"data_offsets\":[0,4294967296]}}",
                 4294967296ull);
    mhv_error err = {0};
    mhv_mat m;
    const int64_t dims[3] = {1, 2, 1073741824};
    assert_int_equal(mhv_wload_tensor(&f.ld, "big", dims, 3, 0, &m, &err), MHV_EFORMAT);
    assert_string_equal(err.file, "dir/model.safetensors");
    assert_non_null(strstr(err.msg, "tensor 'big' has shape [1,2,1073741824]: a matrix of "
                                    "more than 2147483647 rows or columns"));
    assert_null(m.data);
    close_fixture(&f);
}

/* (2^31, 1) F16: the rows are no int either. */
static void test_tensor_rows_past_int(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f,
                 "{\"big\":{\"dtype\":\"F16\",\"shape\":[2147483648,1],"
                 "\"data_offsets\":[0,4294967296]}}",
                 4294967296ull);
    mhv_error err = {0};
    mhv_mat m;
    const int64_t dims[2] = {2147483648ll, 1};
    assert_int_equal(mhv_wload_tensor(&f.ld, "big", dims, 2, 0, &m, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "rows or columns"));
    close_fixture(&f);
}

/* Dimensions asked for whose product overflows int64 (a hostile config's): a shape
 * mismatch, not an overflow on the way. */
static void test_tensor_dims_product_overflow(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}",
                 24);
    mhv_error err = {0};
    mhv_mat m;
    const int64_t dims[4] = {2, INT64_MAX / 2, INT64_MAX / 2, 3};
    assert_int_equal(mhv_wload_tensor(&f.ld, "w", dims, 4, 0, &m, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "has shape [2,3], expected"));
    close_fixture(&f);
}

/* Conv1D parts whose widths add past INT_MAX are refused, not summed with overflow. */
static void test_conv1d_width_overflow(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, "{\"c\":{\"dtype\":\"F32\",\"shape\":[2,6],\"data_offsets\":[0,48]}}",
                 48);
    mhv_error err = {0};
    mhv_mat mats[3];
    const int ok_w[3] = {2, 2, 2}, bad_w[3] = {INT_MAX, INT_MAX, 6};
    assert_int_equal(mhv_wload_conv1d(&f.ld, "c", 2, ok_w, 3, mats, &err), MHV_OK);
    assert_int_equal(mats[2].rows, 2);
    assert_int_equal(mats[2].ld, 6);
    assert_int_equal(mhv_wload_conv1d(&f.ld, "c", 2, bad_w, 3, mats, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "more than 2147483647 columns"));
    close_fixture(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_view),
        cmocka_unit_test(test_tensor_columns_past_int),
        cmocka_unit_test(test_tensor_rows_past_int),
        cmocka_unit_test(test_tensor_dims_product_overflow),
        cmocka_unit_test(test_conv1d_width_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
