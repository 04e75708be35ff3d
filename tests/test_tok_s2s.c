/* test_tok_s2s.c - the tokenizer.json of the Pegasus and Blenderbot fixtures
 * (tests/fixtures/s2s-pegasus-f32: PegasusTokenizer as transformers converts it from a
 * SentencePiece model; s2s-blenderbot-f32: BlenderbotTokenizer's byte-level BPE), opened from
 * the model directory as run opens it: ids, pieces and spans of every golden sentence and the
 * ids and type ids of every pair equal HF tokenizers' (tests/gen/gen_tok_s2s_goldens.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

static void check(const char *dir, const char *golden, const char *label)
{
    mhv_tok *t = tu_open_tok_dir(dir);
    tu_run_goldens(t, golden, label, 1);
    cJSON *j = tu_read_json(golden);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "pairs")) > 0);
    assert_int_equal(tu_check_pair_goldens(t, j, label), 0);
    cJSON_Delete(j);
    mhv_tok_close(t);
}

static void test_pegasus(void **state)
{
    (void)state;
    check("tests/fixtures/s2s-pegasus-f32", "tests/fixtures/tok-goldens-pegasus.json", "pegasus");
}

static void test_blenderbot(void **state)
{
    (void)state;
    check("tests/fixtures/s2s-blenderbot-f32", "tests/fixtures/tok-goldens-blenderbot.json",
          "blenderbot");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pegasus),
        cmocka_unit_test(test_blenderbot),
    };
    return cmocka_run_group_tests_name("tok_s2s", tests, NULL, NULL);
}
