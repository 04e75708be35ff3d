/* test_safetensors.c - safetensors parsing and validation, single files and shards.
 *
 * Files are built in memory (exact-size buffers, so ASan catches any read past the end) or
 * written to a fresh mkdtemp directory per test. Headers are written with ' for " to keep
 * them readable; the helpers swap the quotes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/safetensors.h"

#define FNAME "model.safetensors"

/* ---- helpers ---- */

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t data_byte(size_t i)
{
    return (uint8_t)(i * 7 + 3);
}

/* A file image: length prefix `hlen_field`, the header (' -> "), dlen pattern bytes. */
static uint8_t *image_raw(const char *hdr, size_t hdr_len, uint64_t hlen_field, size_t dlen,
                          size_t *size)
{
    *size = 8 + hdr_len + dlen;
    uint8_t *buf = malloc(*size);
    assert_non_null(buf);
    put_u64(buf, hlen_field);
    for (size_t i = 0; i < hdr_len; i++)
        buf[8 + i] = hdr[i] == '\'' ? '"' : (uint8_t)hdr[i];
    for (size_t i = 0; i < dlen; i++)
        buf[8 + hdr_len + i] = data_byte(i);
    return buf;
}

static uint8_t *image(const char *hdr, size_t dlen, size_t *size)
{
    return image_raw(hdr, strlen(hdr), strlen(hdr), dlen, size);
}

/* Parses a buffer into a fresh set and frees it; returns the status. */
static mhv_status parse_buf(uint8_t *buf, size_t size, mhv_error *err)
{
    mhv_st *st = mhv_st_new();
    assert_non_null(st);
    memset(err, 0, sizeof *err);
    mhv_status rc = mhv_st_parse(st, buf, size, FNAME, err);
    if (rc != MHV_OK)
        assert_int_equal(mhv_st_count(st), 0); /* a failed parse adds nothing */
    mhv_st_close(st);
    free(buf);
    return rc;
}

static void expect_error(const mhv_error *err, mhv_status got, mhv_status want,
                         const char *file, const char *substr)
{
    if (got != want || !strstr(err->msg, substr) || !strstr(err->file, file))
        fail_msg("status %d (want %d), error '%s: %s', want file '%s' and '%s'", got, want,
                 err->file, err->msg, file, substr);
    assert_null(strchr(err->msg, '\n'));
}

/* One test function per malformed in-memory header. */
#define BAD_HEADER(fn, hdr, dlen, want, substr)                                              \
    static void fn(void **state)                                                             \
    {                                                                                        \
        (void)state;                                                                         \
        size_t size;                                                                         \
        uint8_t *buf = image(hdr, dlen, &size);                                              \
        mhv_error err;                                                                       \
        mhv_status rc = parse_buf(buf, size, &err);                                          \
        expect_error(&err, rc, want, FNAME, substr);                                         \
    }

/* Per-test temporary directory, removed (with everything in it) afterwards. */
static int tmp_setup(void **state)
{
    char *dir = strdup("/tmp/mhv_test_st_XXXXXX");
    if (!dir || !mkdtemp(dir)) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

static int tmp_teardown(void **state)
{
    char *dir = *state;
    DIR *d = opendir(dir);
    if (d) {
        int dfd = dirfd(d);
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                if (unlinkat(dfd, e->d_name, 0) != 0)
                    unlinkat(dfd, e->d_name, AT_REMOVEDIR);
        closedir(d);
    }
    rmdir(dir);
    free(dir);
    return 0;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    assert_non_null(p);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static void write_bytes(const char *dir, const char *name, const void *buf, size_t n)
{
    char *p = path_in(dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(p);
}

static void write_image(const char *dir, const char *name, const char *hdr, size_t dlen)
{
    size_t size;
    uint8_t *buf = image(hdr, dlen, &size);
    write_bytes(dir, name, buf, size);
    free(buf);
}

/* Writes text with ' -> ". */
static void write_text(const char *dir, const char *name, const char *text)
{
    char *t = strdup(text);
    assert_non_null(t);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    write_bytes(dir, name, t, strlen(t));
    free(t);
}

/* ---- well-formed files ---- */

/* Header order differs from data order on purpose: offsets, not key order, define layout. */
#define GOOD_HDR                                                                             \
    "{'__metadata__':{'format':'pt'},"                                                       \
    "'b.weight':{'dtype':'F16','shape':[2,3],'data_offsets':[16,28]},"                       \
    "'a.weight':{'dtype':'F32','shape':[2,2],'data_offsets':[0,16]},"                        \
    "'pos_ids':{'dtype':'I64','shape':[1,2],'data_offsets':[28,44]},"                        \
    "'scalar':{'dtype':'BF16','shape':[],'data_offsets':[44,46]},"                           \
    "'empty':{'dtype':'F32','shape':[0,5],'data_offsets':[46,46]},"                          \
    "'mask':{'dtype':'BOOL','shape':[2],'data_offsets':[46,48]}}"
#define GOOD_DLEN 48

static void check_good(const mhv_st *st, const uint8_t *data, const char *file)
{
    assert_int_equal(mhv_st_count(st), 6);
    /* mhv_st_at follows header order */
    assert_string_equal(mhv_st_at(st, 0)->name, "b.weight");
    assert_string_equal(mhv_st_at(st, 5)->name, "mask");
    assert_null(mhv_st_at(st, 6));

    const mhv_tensor *t = mhv_st_find(st, "a.weight");
    assert_non_null(t);
    assert_string_equal(t->name, "a.weight");
    assert_string_equal(t->file, file);
    assert_int_equal(t->dtype, MHV_DT_F32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 2);
    assert_int_equal(t->numel, 4);
    assert_int_equal(t->nbytes, 16);
    assert_ptr_equal(t->data, data);

    t = mhv_st_find(st, "b.weight");
    assert_int_equal(t->dtype, MHV_DT_F16);
    assert_int_equal(t->numel, 6);
    assert_int_equal(t->nbytes, 12);
    assert_ptr_equal(t->data, data + 16);
    assert_int_equal(((const uint8_t *)t->data)[0], data_byte(16));

    t = mhv_st_find(st, "pos_ids"); /* non-float dtypes parse; the model decides */
    assert_int_equal(t->dtype, MHV_DT_I64);
    assert_ptr_equal(t->data, data + 28);

    t = mhv_st_find(st, "scalar");
    assert_int_equal(t->ndim, 0);
    assert_int_equal(t->numel, 1);
    assert_int_equal(t->nbytes, 2);

    t = mhv_st_find(st, "empty");
    assert_int_equal(t->numel, 0);
    assert_int_equal(t->nbytes, 0);
    assert_int_equal(t->shape[1], 5);

    t = mhv_st_find(st, "mask");
    assert_int_equal(t->dtype, MHV_DT_BOOL);
    assert_ptr_equal(t->data, data + 46);

    assert_null(mhv_st_find(st, "missing"));
    assert_null(mhv_st_find(st, "__metadata__"));
    assert_null(mhv_st_find(st, "a.weigh"));
}

static void test_good_in_memory(void **state)
{
    (void)state;
    size_t size;
    uint8_t *buf = image(GOOD_HDR, GOOD_DLEN, &size);
    mhv_st *st = mhv_st_new();
    mhv_error err = {0};
    assert_int_equal(mhv_st_parse(st, buf, size, FNAME, &err), MHV_OK);
    check_good(st, buf + size - GOOD_DLEN, FNAME);
    assert_int_equal(mhv_st_file_bytes(st), size);
    mhv_st_close(st);
    free(buf);
}

static void test_good_padded_header_and_empty(void **state)
{
    (void)state;
    /* writers pad the header with spaces so the data area is aligned */
    size_t size;
    uint8_t *buf = image("{'t':{'dtype':'U8','shape':[3],'data_offsets':[0,3]}}      \n", 3,
                         &size);
    mhv_error err;
    assert_int_equal(parse_buf(buf, size, &err), MHV_OK);
    /* no tensors at all is a valid (useless) file */
    buf = image("{}", 0, &size);
    assert_int_equal(parse_buf(buf, size, &err), MHV_OK);
    buf = image("{'__metadata__':{}}", 0, &size);
    assert_int_equal(parse_buf(buf, size, &err), MHV_OK);
    /* unknown fields inside an entry are ignored, as the reference does */
    buf = image("{'t':{'dtype':'F8_E5M2','shape':[1],'data_offsets':[0,1],'x':[1]}}", 1, &size);
    assert_int_equal(parse_buf(buf, size, &err), MHV_OK);
}

static void test_many_tensors_find(void **state)
{
    (void)state;
    enum { N = 2000 };
    size_t cap = 100 * N + 16, len = 0;
    char *hdr = malloc(cap);
    assert_non_null(hdr);
    len += (size_t)sprintf(hdr + len, "{");
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(hdr + len, "%s'layer.%d.w':{'dtype':'F32','shape':[1],"
                               "'data_offsets':[%d,%d]}", i ? "," : "", i, 4 * i, 4 * i + 4);
    sprintf(hdr + len, "}");
    size_t size;
    uint8_t *buf = image(hdr, 4 * N, &size);
    free(hdr);
    mhv_st *st = mhv_st_new();
    mhv_error err;
    assert_int_equal(mhv_st_parse(st, buf, size, FNAME, &err), MHV_OK);
    assert_int_equal(mhv_st_count(st), N);
    const uint8_t *data = buf + size - 4 * N;
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "layer.%d.w", i);
        const mhv_tensor *t = mhv_st_find(st, name);
        assert_non_null(t);
        assert_ptr_equal(t->data, data + 4 * i);
    }
    assert_null(mhv_st_find(st, "layer.2000.w"));
    mhv_st_close(st);
    free(buf);
}

/* A failed parse leaves earlier tensors intact and findable; names clash across files. */
static void test_parse_appends_and_rolls_back(void **state)
{
    (void)state;
    size_t s1, s2, s3;
    uint8_t *f1 = image("{'x':{'dtype':'U8','shape':[1],'data_offsets':[0,1]}}", 1, &s1);
    uint8_t *f2 = image("{'y':{'dtype':'U8','shape':[1],'data_offsets':[0,1]},"
                        "'z':{'dtype':'Q4','shape':[1],'data_offsets':[1,2]}}", 2, &s2);
    uint8_t *f3 = image("{'w':{'dtype':'U8','shape':[1],'data_offsets':[0,1]},"
                        "'x':{'dtype':'U8','shape':[1],'data_offsets':[1,2]}}", 2, &s3);
    mhv_st *st = mhv_st_new();
    mhv_error err;
    assert_int_equal(mhv_st_parse(st, f1, s1, "one.safetensors", &err), MHV_OK);
    mhv_status rc = mhv_st_parse(st, f2, s2, "two.safetensors", &err);
    expect_error(&err, rc, MHV_EFORMAT, "two.safetensors", "unknown dtype 'Q4'");
    rc = mhv_st_parse(st, f3, s3, "three.safetensors", &err);
    expect_error(&err, rc, MHV_EFORMAT, "three.safetensors",
                 "tensor 'x' is also in 'one.safetensors'");
    assert_int_equal(mhv_st_count(st), 1);
    assert_null(mhv_st_find(st, "y"));
    assert_null(mhv_st_find(st, "w"));
    assert_ptr_equal(mhv_st_find(st, "x")->data, f1 + s1 - 1);
    assert_int_equal(mhv_st_file_bytes(st), s1);
    mhv_st_close(st);
    mhv_st_close(NULL);
    free(f1);
    free(f2);
    free(f3);
}

/* ---- malformed length prefix ---- */

static void test_file_empty(void **state)
{
    (void)state;
    mhv_error err;
    uint8_t *buf = malloc(1);
    mhv_status rc = parse_buf(buf, 0, &err);
    expect_error(&err, rc, MHV_EFORMAT, FNAME, "file is empty");
}

static void test_file_shorter_than_8(void **state)
{
    (void)state;
    mhv_error err;
    uint8_t *buf = calloc(1, 5);
    mhv_status rc = parse_buf(buf, 5, &err);
    expect_error(&err, rc, MHV_EFORMAT, FNAME, "too short for the 8-byte header length");
}

static void check_length_field(uint64_t field, size_t hdr_len, size_t dlen, const char *substr)
{
    size_t size;
    uint8_t *buf = image_raw("{}      ", hdr_len, field, dlen, &size);
    mhv_error err;
    mhv_status rc = parse_buf(buf, size, &err);
    expect_error(&err, rc, MHV_EFORMAT, FNAME, substr);
}

static void test_header_len_zero(void **state)
{
    (void)state;
    check_length_field(0, 2, 0, "header length is 0");
}

static void test_header_len_one(void **state)
{
    (void)state;
    check_length_field(1, 2, 0, "header length is 1, too small");
}

static void test_header_len_huge(void **state)
{
    (void)state;
    check_length_field((uint64_t)1 << 63, 2, 0, "exceeds the 100000000-byte limit");
    check_length_field(UINT64_MAX, 2, 0, "exceeds the 100000000-byte limit");
}

static void test_header_len_beyond_file(void **state)
{
    (void)state;
    check_length_field(3, 2, 0, "header length 3 goes beyond the end of the 10-byte file");
}

static void test_header_len_is_file_size(void **state)
{
    (void)state;
    /* a classic mistake: the whole file size instead of the header size */
    check_length_field(8 + 8, 8, 0, "goes beyond the end");
}

/* ---- malformed JSON ---- */

BAD_HEADER(test_header_not_json, "{'a':{'dtype':'F32',", 0, MHV_EFORMAT,
           "header is not valid JSON")
BAD_HEADER(test_header_not_object, "[1,2,3]", 0, MHV_EFORMAT, "header is not a JSON object")
BAD_HEADER(test_header_string, "'abc'", 0, MHV_EFORMAT, "header is not a JSON object")
BAD_HEADER(test_header_trailing_garbage, "{}xyz", 0, MHV_EFORMAT,
           "trailing bytes after the JSON object")
BAD_HEADER(test_header_two_objects, "{} {}", 0, MHV_EFORMAT,
           "trailing bytes after the JSON object")
BAD_HEADER(test_header_bad_utf8, "{'t\xff':{}}", 0, MHV_EFORMAT, "not valid UTF-8 (byte 3)")
BAD_HEADER(test_header_overlong_utf8, "{'\xc0\xaf':{}}", 0, MHV_EFORMAT, "not valid UTF-8")
BAD_HEADER(test_header_surrogate_utf8, "{'\xed\xa0\x80':{}}", 0, MHV_EFORMAT,
           "not valid UTF-8")
BAD_HEADER(test_header_truncated_utf8, "{}\xe2\x82", 0, MHV_EFORMAT, "not valid UTF-8")

static void test_header_nul_byte(void **state)
{
    (void)state;
    size_t size;
    uint8_t *buf = image_raw("{'a\0':1}", 8, 8, 0, &size);
    mhv_error err;
    mhv_status rc = parse_buf(buf, size, &err);
    expect_error(&err, rc, MHV_EFORMAT, FNAME, "NUL byte");
}

BAD_HEADER(test_metadata_not_object, "{'__metadata__':[1]}", 0, MHV_EFORMAT,
           "'__metadata__' is not an object")
BAD_HEADER(test_metadata_value_not_string, "{'__metadata__':{'k':1}}", 0, MHV_EFORMAT,
           "'__metadata__' value 'k' is not a string")

/* ---- malformed tensor entries ---- */

#define T(body) "{'x':" body "}"

BAD_HEADER(test_entry_not_object, T("[1]"), 0, MHV_EFORMAT, "tensor 'x' entry is not an object")
BAD_HEADER(test_entry_no_dtype, T("{'shape':[1],'data_offsets':[0,4]}"), 4, MHV_EFORMAT,
           "tensor 'x' has no 'dtype'")
BAD_HEADER(test_entry_dtype_not_string, T("{'dtype':4,'shape':[1],'data_offsets':[0,4]}"), 4,
           MHV_EFORMAT, "tensor 'x' 'dtype' is not a string")
BAD_HEADER(test_entry_unknown_dtype, T("{'dtype':'Q4','shape':[1],'data_offsets':[0,4]}"), 4,
           MHV_EFORMAT, "tensor 'x' has unknown dtype 'Q4'")
BAD_HEADER(test_entry_lowercase_dtype, T("{'dtype':'float32','shape':[1],'data_offsets':[0,4]}"),
           4, MHV_EFORMAT, "unknown dtype 'float32'")
BAD_HEADER(test_entry_no_shape, T("{'dtype':'F32','data_offsets':[0,4]}"), 4, MHV_EFORMAT,
           "tensor 'x' has no 'shape'")
BAD_HEADER(test_entry_shape_not_array, T("{'dtype':'F32','shape':1,'data_offsets':[0,4]}"), 4,
           MHV_EFORMAT, "tensor 'x' 'shape' is not an array")
BAD_HEADER(test_entry_ndim_9,
           T("{'dtype':'F32','shape':[1,1,1,1,1,1,1,1,1],'data_offsets':[0,4]}"), 4,
           MHV_EFORMAT, "tensor 'x' has more than 8 dimensions")
BAD_HEADER(test_entry_shape_negative, T("{'dtype':'F32','shape':[2,-1],'data_offsets':[0,4]}"),
           4, MHV_EFORMAT, "tensor 'x' shape[1] is not a non-negative integer")
BAD_HEADER(test_entry_shape_fraction, T("{'dtype':'F32','shape':[1.5],'data_offsets':[0,4]}"),
           4, MHV_EFORMAT, "shape[0] is not a non-negative integer")
BAD_HEADER(test_entry_shape_infinite, T("{'dtype':'F32','shape':[1e999],'data_offsets':[0,4]}"),
           4, MHV_EFORMAT, "shape[0] is not a non-negative integer")
BAD_HEADER(test_entry_shape_string, T("{'dtype':'F32','shape':['1'],'data_offsets':[0,4]}"), 4,
           MHV_EFORMAT, "shape[0] is not a non-negative integer")
BAD_HEADER(test_entry_shape_too_big, T("{'dtype':'U8','shape':[1e17],'data_offsets':[0,4]}"), 4,
           MHV_EFORMAT, "shape[0] is not a non-negative integer")
BAD_HEADER(test_entry_numel_overflow,
           T("{'dtype':'U8','shape':[4294967296,4294967296,4294967296],'data_offsets':[0,4]}"),
           4, MHV_EFORMAT, "tensor 'x' element count overflows")
BAD_HEADER(test_entry_nbytes_overflow,
           T("{'dtype':'F64','shape':[9007199254740992,512],'data_offsets':[0,4]}"), 4,
           MHV_EFORMAT, "tensor 'x' byte size overflows")
BAD_HEADER(test_entry_no_offsets, T("{'dtype':'F32','shape':[1]}"), 4, MHV_EFORMAT,
           "tensor 'x' has no 'data_offsets'")
BAD_HEADER(test_entry_offsets_one, T("{'dtype':'F32','shape':[1],'data_offsets':[4]}"), 4,
           MHV_EFORMAT, "'data_offsets' is not two non-negative integers")
BAD_HEADER(test_entry_offsets_three, T("{'dtype':'F32','shape':[1],'data_offsets':[0,4,8]}"), 8,
           MHV_EFORMAT, "'data_offsets' is not two non-negative integers")
BAD_HEADER(test_entry_offsets_negative, T("{'dtype':'F32','shape':[1],'data_offsets':[-4,0]}"),
           4, MHV_EFORMAT, "'data_offsets' is not two non-negative integers")
BAD_HEADER(test_entry_offsets_object, T("{'dtype':'F32','shape':[1],'data_offsets':{'a':0}}"),
           4, MHV_EFORMAT, "'data_offsets' is not two non-negative integers")
BAD_HEADER(test_entry_offsets_huge,
           T("{'dtype':'F32','shape':[1],'data_offsets':[1e20,18446744073709551620]}"), 4,
           MHV_EFORMAT, "'data_offsets' is not two non-negative integers")
BAD_HEADER(test_entry_begin_after_end, T("{'dtype':'F32','shape':[0],'data_offsets':[4,0]}"), 4,
           MHV_EFORMAT, "data_offsets begin 4 is after end 0")
BAD_HEADER(test_entry_truncated_data, T("{'dtype':'F32','shape':[4],'data_offsets':[0,16]}"), 10,
           MHV_EFORMAT, "tensor 'x' data ends at 16, beyond the 10-byte data area")
BAD_HEADER(test_entry_size_mismatch, T("{'dtype':'F32','shape':[3],'data_offsets':[0,8]}"), 8,
           MHV_EFORMAT, "tensor 'x' has 8 data bytes, but its shape and dtype F32 need 12")

/* ---- layout of the data area ---- */

BAD_HEADER(test_layout_overlap,
           "{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
           "'b':{'dtype':'F32','shape':[2],'data_offsets':[4,12]}}",
           12, MHV_EFORMAT, "tensors 'a' and 'b' overlap")
BAD_HEADER(test_layout_same_offsets,
           "{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},"
           "'b':{'dtype':'I32','shape':[1],'data_offsets':[0,4]}}",
           4, MHV_EFORMAT, "overlap")
BAD_HEADER(test_layout_hole,
           "{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},"
           "'b':{'dtype':'F32','shape':[1],'data_offsets':[8,12]}}",
           12, MHV_EFORMAT, "4 unused bytes before tensor 'b' at offset 8")
BAD_HEADER(test_layout_not_from_zero, T("{'dtype':'F32','shape':[1],'data_offsets':[2,6]}"), 6,
           MHV_EFORMAT, "2 unused bytes before tensor 'x'")
BAD_HEADER(test_layout_trailing_data, T("{'dtype':'F32','shape':[1],'data_offsets':[0,4]}"), 5,
           MHV_EFORMAT, "1 unused bytes after the last tensor")
BAD_HEADER(test_layout_data_without_tensors, "{}", 3, MHV_EFORMAT,
           "3 unused bytes after the last tensor")
BAD_HEADER(test_duplicate_name,
           "{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},"
           "'a':{'dtype':'F32','shape':[1],'data_offsets':[4,8]}}",
           8, MHV_EFORMAT, "header has a duplicate key 'a'")
BAD_HEADER(test_duplicate_metadata, "{'__metadata__':{},'__metadata__':{}}", 0, MHV_EFORMAT,
           "header has a duplicate key '__metadata__'")

/* ---- files on disk ---- */

static void test_open_file_good(void **state)
{
    const char *dir = *state;
    write_image(dir, "weights.safetensors", GOOD_HDR, GOOD_DLEN);
    char *p = path_in(dir, "weights.safetensors");
    mhv_st *st = NULL;
    mhv_error err;
    assert_int_equal(mhv_st_open_file(p, &st, &err), MHV_OK);
    const mhv_tensor *a = mhv_st_find(st, "a.weight");
    const uint8_t *data = a->data;
    check_good(st, data, "weights.safetensors");
    for (int i = 0; i < GOOD_DLEN; i++)
        assert_int_equal(data[i], data_byte((size_t)i));
    assert_int_equal(mhv_st_file_bytes(st), 8 + strlen(GOOD_HDR) + GOOD_DLEN);
    mhv_st_close(st);
    free(p);
}

static void test_open_file_bad_reports_path(void **state)
{
    const char *dir = *state;
    write_image(dir, FNAME, T("{'dtype':'Q4','shape':[1],'data_offsets':[0,1]}"), 1);
    char *p = path_in(dir, FNAME);
    mhv_st *st = (mhv_st *)&st; /* must be reset to NULL on failure */
    mhv_error err;
    mhv_status rc = mhv_st_open_file(p, &st, &err);
    expect_error(&err, rc, MHV_EFORMAT, p, "tensor 'x' has unknown dtype 'Q4'");
    assert_null(st);
    char line[1200];
    mhv_error_format(&err, line, sizeof line);
    assert_non_null(strstr(line, "model.safetensors: tensor 'x' has unknown dtype 'Q4'"));
    free(p);
}

static void test_open_directory_as_file(void **state)
{
    const char *dir = *state;
    mhv_st *st;
    mhv_error err;
    mhv_status rc = mhv_st_open_file(dir, &st, &err);
    expect_error(&err, rc, MHV_EIO, dir, "is a directory");
    assert_null(st);
}

static void test_open_empty_file(void **state)
{
    const char *dir = *state;
    write_bytes(dir, FNAME, "", 0);
    char *p = path_in(dir, FNAME);
    mhv_st *st;
    mhv_error err;
    mhv_status rc = mhv_st_open_file(p, &st, &err);
    expect_error(&err, rc, MHV_EFORMAT, FNAME, "file is empty");
    free(p);
}

static void test_open_short_file(void **state)
{
    const char *dir = *state;
    write_bytes(dir, FNAME, "\x02\0\0", 3);
    char *p = path_in(dir, FNAME);
    mhv_st *st;
    mhv_error err;
    mhv_status rc = mhv_st_open_file(p, &st, &err);
    expect_error(&err, rc, MHV_EFORMAT, FNAME, "file is 3 bytes, too short");
    free(p);
}

static void test_open_missing_file(void **state)
{
    const char *dir = *state;
    char *p = path_in(dir, "nope.safetensors");
    mhv_st *st;
    mhv_error err;
    mhv_status rc = mhv_st_open_file(p, &st, &err);
    expect_error(&err, rc, MHV_EIO, "nope.safetensors", "cannot open");
    free(p);
}

static void test_open_fifo(void **state)
{
    const char *dir = *state;
    char *p = path_in(dir, FNAME);
    assert_int_equal(mkfifo(p, 0600), 0);
    mhv_st *st;
    mhv_error err;
    mhv_status rc = mhv_st_open_file(p, &st, &err); /* must not block */
    expect_error(&err, rc, MHV_EIO, FNAME, "is not a regular file");
    free(p);
}

static void test_dir_single(void **state)
{
    const char *dir = *state;
    write_image(dir, FNAME, GOOD_HDR, GOOD_DLEN);
    mhv_st *st;
    mhv_error err;
    assert_int_equal(mhv_st_open_dir(dir, &st, &err), MHV_OK);
    check_good(st, mhv_st_find(st, "a.weight")->data, FNAME);
    mhv_st_close(st);
}

static void test_dir_empty(void **state)
{
    const char *dir = *state;
    mhv_st *st;
    mhv_error err;
    mhv_status rc = mhv_st_open_dir(dir, &st, &err);
    expect_error(&err, rc, MHV_EIO, dir, "no model.safetensors, model.safetensors.index.json, "
                                        "pytorch_model.bin or pytorch_model.bin.index.json");
    assert_null(st);
}

#define SHARD1 "model-00001-of-00002.safetensors"
#define SHARD2 "model-00002-of-00002.safetensors"
#define INDEX "model.safetensors.index.json"

static void write_shards(const char *dir)
{
    write_image(dir, SHARD1,
                "{'emb':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
                "'l0':{'dtype':'BF16','shape':[2],'data_offsets':[8,12]}}",
                12);
    write_image(dir, SHARD2, "{'l1':{'dtype':'F16','shape':[3],'data_offsets':[0,6]}}", 6);
}

static void test_dir_sharded(void **state)
{
    const char *dir = *state;
    write_shards(dir);
    write_text(dir, INDEX,
               "{'metadata':{'total_size':18},'weight_map':{'emb':'" SHARD1 "','l0':'" SHARD1
               "','l1':'" SHARD2 "'}}");
    /* a stray model.safetensors must not be used when the index exists */
    write_bytes(dir, FNAME, "junk", 4);
    mhv_st *st;
    mhv_error err;
    assert_int_equal(mhv_st_open_dir(dir, &st, &err), MHV_OK);
    assert_int_equal(mhv_st_count(st), 3);
    const mhv_tensor *t = mhv_st_find(st, "l1");
    assert_non_null(t);
    assert_string_equal(t->file, SHARD2);
    assert_int_equal(t->dtype, MHV_DT_F16);
    assert_int_equal(((const uint8_t *)t->data)[5], data_byte(5));
    assert_string_equal(mhv_st_find(st, "emb")->file, SHARD1);
    assert_int_equal(mhv_st_file_bytes(st), 2 * 8 + 12 + 6 +
                     strlen("{'emb':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
                            "'l0':{'dtype':'BF16','shape':[2],'data_offsets':[8,12]}}") +
                     strlen("{'l1':{'dtype':'F16','shape':[3],'data_offsets':[0,6]}}"));
    mhv_st_close(st);
}

static void check_index(const char *dir, const char *index, mhv_status want, const char *file,
                        const char *substr)
{
    if (index)
        write_text(dir, INDEX, index);
    mhv_st *st = (mhv_st *)&st;
    mhv_error err;
    mhv_status rc = mhv_st_open_dir(dir, &st, &err);
    expect_error(&err, rc, want, file, substr);
    assert_null(st);
}

static void test_index_missing_shard(void **state)
{
    const char *dir = *state;
    write_shards(dir);
    char *p = path_in(dir, SHARD2);
    unlink(p);
    free(p);
    check_index(dir, "{'weight_map':{'emb':'" SHARD1 "','l1':'" SHARD2 "'}}", MHV_EIO, INDEX,
                "shard '" SHARD2 "' is missing");
}

static void test_index_not_object(void **state)
{
    const char *dir = *state;
    check_index(dir, "['" SHARD1 "']", MHV_EFORMAT, INDEX, "not a JSON object");
}

static void test_index_not_json(void **state)
{
    const char *dir = *state;
    check_index(dir, "{'weight_map':", MHV_EFORMAT, INDEX, "not valid JSON");
}

static void test_index_no_weight_map(void **state)
{
    const char *dir = *state;
    check_index(dir, "{'metadata':{}}", MHV_EFORMAT, INDEX, "no 'weight_map'");
    check_index(dir, "{'weight_map':['a']}", MHV_EFORMAT, INDEX,
                "'weight_map' is not an object");
    check_index(dir, "{'weight_map':{}}", MHV_EFORMAT, INDEX, "'weight_map' is empty");
    check_index(dir, "{'weight_map':{'emb':3}}", MHV_EFORMAT, INDEX,
                "weight_map entry 'emb' is not a string");
}

static void test_index_tensor_not_in_shard(void **state)
{
    const char *dir = *state;
    write_shards(dir);
    check_index(dir, "{'weight_map':{'emb':'" SHARD1 "','ghost':'" SHARD2 "'}}", MHV_EFORMAT,
                INDEX, "tensor 'ghost' is not in shard '" SHARD2 "'");
}

static void test_index_tensor_in_other_shard(void **state)
{
    const char *dir = *state;
    write_shards(dir);
    check_index(dir, "{'weight_map':{'emb':'" SHARD2 "','l1':'" SHARD2 "','l0':'" SHARD1 "'}}",
                MHV_EFORMAT, INDEX,
                "tensor 'emb' is in shard '" SHARD1 "', not '" SHARD2 "'");
}

static void test_index_shard_with_slash(void **state)
{
    const char *dir = *state;
    check_index(dir, "{'weight_map':{'emb':'sub/x.safetensors'}}", MHV_EFORMAT, INDEX,
                "shard name 'sub/x.safetensors' is not a plain file name");
    check_index(dir, "{'weight_map':{'emb':'/etc/passwd'}}", MHV_EFORMAT, INDEX,
                "is not a plain file name");
    check_index(dir, "{'weight_map':{'emb':'..'}}", MHV_EFORMAT, INDEX,
                "is not a plain file name");
    check_index(dir, "{'weight_map':{'emb':''}}", MHV_EFORMAT, INDEX,
                "is not a plain file name");
}

static void test_index_duplicate_across_shards(void **state)
{
    const char *dir = *state;
    write_shards(dir);
    write_image(dir, SHARD2,
                "{'l1':{'dtype':'F16','shape':[3],'data_offsets':[0,6]},"
                "'emb':{'dtype':'U8','shape':[1],'data_offsets':[6,7]}}", 7);
    check_index(dir, "{'weight_map':{'emb':'" SHARD1 "','l1':'" SHARD2 "'}}", MHV_EFORMAT,
                SHARD2, "tensor 'emb' is also in '" SHARD1 "'");
}

static void test_index_bad_shard_reports_shard(void **state)
{
    const char *dir = *state;
    write_shards(dir);
    write_image(dir, SHARD2, "{'l1':{'dtype':'F16','shape':[3],'data_offsets':[0,6]}}", 4);
    check_index(dir, "{'weight_map':{'emb':'" SHARD1 "','l1':'" SHARD2 "'}}", MHV_EFORMAT,
                SHARD2, "beyond the 4-byte data area");
}

#define TMP(fn) cmocka_unit_test_setup_teardown(fn, tmp_setup, tmp_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_in_memory),
        cmocka_unit_test(test_good_padded_header_and_empty),
        cmocka_unit_test(test_many_tensors_find),
        cmocka_unit_test(test_parse_appends_and_rolls_back),
        cmocka_unit_test(test_file_empty),
        cmocka_unit_test(test_file_shorter_than_8),
        cmocka_unit_test(test_header_len_zero),
        cmocka_unit_test(test_header_len_one),
        cmocka_unit_test(test_header_len_huge),
        cmocka_unit_test(test_header_len_beyond_file),
        cmocka_unit_test(test_header_len_is_file_size),
        cmocka_unit_test(test_header_not_json),
        cmocka_unit_test(test_header_not_object),
        cmocka_unit_test(test_header_string),
        cmocka_unit_test(test_header_trailing_garbage),
        cmocka_unit_test(test_header_two_objects),
        cmocka_unit_test(test_header_bad_utf8),
        cmocka_unit_test(test_header_overlong_utf8),
        cmocka_unit_test(test_header_surrogate_utf8),
        cmocka_unit_test(test_header_truncated_utf8),
        cmocka_unit_test(test_header_nul_byte),
        cmocka_unit_test(test_metadata_not_object),
        cmocka_unit_test(test_metadata_value_not_string),
        cmocka_unit_test(test_entry_not_object),
        cmocka_unit_test(test_entry_no_dtype),
        cmocka_unit_test(test_entry_dtype_not_string),
        cmocka_unit_test(test_entry_unknown_dtype),
        cmocka_unit_test(test_entry_lowercase_dtype),
        cmocka_unit_test(test_entry_no_shape),
        cmocka_unit_test(test_entry_shape_not_array),
        cmocka_unit_test(test_entry_ndim_9),
        cmocka_unit_test(test_entry_shape_negative),
        cmocka_unit_test(test_entry_shape_fraction),
        cmocka_unit_test(test_entry_shape_infinite),
        cmocka_unit_test(test_entry_shape_string),
        cmocka_unit_test(test_entry_shape_too_big),
        cmocka_unit_test(test_entry_numel_overflow),
        cmocka_unit_test(test_entry_nbytes_overflow),
        cmocka_unit_test(test_entry_no_offsets),
        cmocka_unit_test(test_entry_offsets_one),
        cmocka_unit_test(test_entry_offsets_three),
        cmocka_unit_test(test_entry_offsets_negative),
        cmocka_unit_test(test_entry_offsets_object),
        cmocka_unit_test(test_entry_offsets_huge),
        cmocka_unit_test(test_entry_begin_after_end),
        cmocka_unit_test(test_entry_truncated_data),
        cmocka_unit_test(test_entry_size_mismatch),
        cmocka_unit_test(test_layout_overlap),
        cmocka_unit_test(test_layout_same_offsets),
        cmocka_unit_test(test_layout_hole),
        cmocka_unit_test(test_layout_not_from_zero),
        cmocka_unit_test(test_layout_trailing_data),
        cmocka_unit_test(test_layout_data_without_tensors),
        cmocka_unit_test(test_duplicate_name),
        cmocka_unit_test(test_duplicate_metadata),
        TMP(test_open_file_good),
        TMP(test_open_file_bad_reports_path),
        TMP(test_open_directory_as_file),
        TMP(test_open_empty_file),
        TMP(test_open_short_file),
        TMP(test_open_missing_file),
        TMP(test_open_fifo),
        TMP(test_dir_single),
        TMP(test_dir_empty),
        TMP(test_dir_sharded),
        TMP(test_index_missing_shard),
        TMP(test_index_not_object),
        TMP(test_index_not_json),
        TMP(test_index_no_weight_map),
        TMP(test_index_tensor_not_in_shard),
        TMP(test_index_tensor_in_other_shard),
        TMP(test_index_shard_with_slash),
        TMP(test_index_duplicate_across_shards),
        TMP(test_index_bad_shard_reports_shard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
