#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/hash.h"
#include "base/json.h"

static mhv_status parse(const char *text, mhv_error *err)
{
    cJSON *j = NULL;
    mhv_status st = mhv_json_parse(text, strlen(text), "x.json", &j, err);
    assert_true((st == MHV_OK) == (j != NULL));
    cJSON_Delete(j);
    return st;
}

static void expect_error(const char *text, mhv_status want, const char *needle)
{
    mhv_error err = {0};
    assert_int_equal(parse(text, &err), want);
    assert_string_equal(err.file, "x.json");
    if (!strstr(err.msg, needle))
        fail_msg("'%s': message '%s' lacks '%s'", text, err.msg, needle);
}

static void test_valid(void **state)
{
    (void)state;
    mhv_error err = {0};
    assert_int_equal(parse("{\"a\": 1, \"b\": {\"a\": 2}, \"c\": [{\"a\": 1}, {\"a\": 2}]} \n", &err), MHV_OK);
    /* an escaped backslash before u0000 is not a NUL */
    assert_int_equal(parse("{\"a\": \"x\\\\u0000\"}", &err), MHV_OK);
    assert_int_equal(parse("{}", &err), MHV_OK);
}

static void test_refused(void **state)
{
    (void)state;
    expect_error("{\"a\": 1,}", MHV_EFORMAT, "not valid JSON (near byte");
    expect_error("[1]", MHV_EFORMAT, "not a JSON object");
    expect_error("{} x", MHV_EFORMAT, "has trailing bytes after the JSON object (byte 3)");
    expect_error("{\"a\": \"b\\u0000c\"}", MHV_EFORMAT, "\\u0000 in a string (byte 8)");
    expect_error("{\"a\\u0000b\": 1}", MHV_EFORMAT, "\\u0000 in a string");
    expect_error("{\"n\": 2, \"m\": 1, \"n\": 3}", MHV_EFORMAT, "duplicate key 'n'");
    /* nested, and in an object large enough for the hashed set */
    expect_error("{\"a\": [{\"b\": {\"c\": 1, \"c\": 1}}]}", MHV_EFORMAT, "duplicate key 'c'");
    char big[4096];
    int n = snprintf(big, sizeof big, "{\"o\": {");
    for (int i = 0; i < 100; i++)
        n += snprintf(big + n, sizeof big - (size_t)n, "\"k%d\": %d, ", i, i);
    snprintf(big + n, sizeof big - (size_t)n, "\"k57\": 0}}");
    expect_error(big, MHV_EFORMAT, "duplicate key 'k57'");
}

static void test_named_document(void **state)
{
    (void)state;
    mhv_error err = {0};
    cJSON *j = NULL;
    const char *t = "{\"w\": 1, \"w\": 2}";
    assert_int_equal(mhv_json_parse_doc(t, strlen(t), "m.safetensors", "header", &j, &err),
                     MHV_EFORMAT);
    assert_null(j);
    assert_string_equal(err.msg, "header has a duplicate key 'w'");
    t = "{\"w\": 1}  x";
    assert_int_equal(mhv_json_parse_doc(t, strlen(t), "m.safetensors", "header", &j, &err),
                     MHV_EFORMAT);
    assert_string_equal(err.msg, "header has trailing bytes after the JSON object (byte 10)");
}

/* The tree would exceed MHV_JSON_MAX_PARSE_BYTES: out of memory, said before parsing. */
static void test_parse_cost(void **state)
{
    (void)state;
    size_t values = MHV_JSON_MAX_PARSE_BYTES / 80 + 1000;
    size_t len = 8 + 2 * values + 4;
    char *t = malloc(len);
    assert_non_null(t);
    size_t k = (size_t)sprintf(t, "{\"a\":[");
    for (size_t i = 0; i < values; i++) {
        t[k++] = '0';
        t[k++] = ',';
    }
    t[k - 1] = ']';
    t[k++] = '}';
    mhv_error err = {0};
    cJSON *j = NULL;
    assert_int_equal(mhv_json_parse(t, k, "big.json", &j, &err), MHV_ENOMEM);
    assert_non_null(strstr(err.msg, "out of memory: parsing JSON would take about"));
    free(t);
}

/* SipHash-1-3 with the zero key against CPython's hash() of bytes (PYTHONHASHSEED=0). */
static void test_siphash(void **state)
{
    (void)state;
    assert_true(mhv_siphash13(0, 0, "abc", 3) == 13851880170939887858ull);
    assert_true(mhv_siphash13(0, 0, "abcdefghijk", 11) == 1450545860578130900ull);
    assert_true(mhv_hash("abc", 3) == mhv_hash("abc", 3));
    assert_true(mhv_hash("abc", 3) != mhv_hash("abd", 3));
    assert_true(mhv_hash_u64(1) == mhv_hash_u64(1));
    assert_true(mhv_hash_u64(1) != mhv_hash_u64(2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_named_document),
        cmocka_unit_test(test_parse_cost),
        cmocka_unit_test(test_siphash),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
