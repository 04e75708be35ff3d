/* test_tok_decoders.c - the tokenizers of the GPT-NeoX, BLOOM, Falcon, StarCoder2 and XGLM
 * families (tokenizer.json files made by tests/gen/gen_tok_decoders.py and gen_tok_xglm.py
 * with each family's normalizer, pre-tokenizers, post-processor and added tokens): ids,
 * pieces and character spans equal HF tokenizers' on every golden sentence, and sentence
 * pairs where the file has a template. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

static void family(const char *name)
{
    char dir[256], golden[256];
    snprintf(dir, sizeof dir, "tests/fixtures/tok-%s", name);
    snprintf(golden, sizeof golden, "tests/fixtures/tok-goldens-%s.json", name);
    mhv_tok *t = tu_open_tok_dir(dir);
    cJSON *j = tu_read_json(golden);
    const cJSON *cases = cJSON_GetObjectItem(j, "cases");
    assert_true(cJSON_GetArraySize(cases) >= 100);
    int bad = 0;
    for (const cJSON *c = cases->child; c; c = c->next)
        bad += tu_check_golden_case(t, c, name, 0);
    bad += tu_check_pair_goldens(t, j, name);
    cJSON_Delete(j);
    mhv_tok_close(t);
    assert_int_equal(bad, 0);
}

static void test_neox(void **s) { (void)s; family("neox"); }
static void test_bloom(void **s) { (void)s; family("bloom"); }
static void test_falcon(void **s) { (void)s; family("falcon"); }
static void test_starcoder2(void **s) { (void)s; family("starcoder2"); }
/* XGLMTokenizer's tokenizer.json (tests/gen/gen_tok_xglm.py): Unigram with a precompiled
 * charsmap, runs of spaces collapsed, Metaspace, "</s> $A" */
static void test_xglm(void **s) { (void)s; family("xglm"); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_neox),
        cmocka_unit_test(test_bloom),
        cmocka_unit_test(test_falcon),
        cmocka_unit_test(test_starcoder2),
        cmocka_unit_test(test_xglm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
