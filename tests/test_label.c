#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "fig/label.h"

static void expect(const mhv_label *l, int i, mhv_label_style st, const char *text)
{
    assert_true(i < l->n);
    assert_int_equal(l->part[i].style, st);
    assert_string_equal(l->part[i].text, text);
}

static void test_wordpiece(void **state)
{
    (void)state;
    mhv_label l;
    mhv_label_make("苹", MHV_LABEL_WORDPIECE, 0, &l);
    assert_int_equal(l.n, 1);
    expect(&l, 0, MHV_LSTYLE_TEXT, "苹");
    mhv_label_make("##ing", MHV_LABEL_WORDPIECE, 0, &l);
    assert_int_equal(l.n, 2);
    expect(&l, 0, MHV_LSTYLE_MARK, "##");
    expect(&l, 1, MHV_LSTYLE_TEXT, "ing");
    mhv_label_make("##", MHV_LABEL_WORDPIECE, 0, &l); /* the piece "##" itself is text */
    assert_int_equal(l.n, 1);
    expect(&l, 0, MHV_LSTYLE_TEXT, "##");
    mhv_label_make("[CLS]", MHV_LABEL_WORDPIECE, 1, &l);
    assert_int_equal(l.n, 1);
    expect(&l, 0, MHV_LSTYLE_SPECIAL, "[CLS]");
    mhv_label_make("", MHV_LABEL_WORDPIECE, 0, &l);
    assert_int_equal(l.n, 1); /* an empty piece still shows something */
}

static void test_bytelevel(void **state)
{
    (void)state;
    mhv_label l;
    /* GPT-2: "Ġthe" is " the" */
    mhv_label_make("\xC4\xA0the", MHV_LABEL_BYTELEVEL, 0, &l);
    assert_int_equal(l.n, 2);
    expect(&l, 0, MHV_LSTYLE_MARK, "\xC2\xB7");
    expect(&l, 1, MHV_LSTYLE_TEXT, "the");
    /* "苹" is E8 8B B9, spelled "èĭ¹" by bytes_to_unicode: decoded, not mojibake */
    mhv_label_make("\xC3\xA8\xC4\xAD\xC2\xB9", MHV_LABEL_BYTELEVEL, 0, &l);
    assert_int_equal(l.n, 1);
    expect(&l, 0, MHV_LSTYLE_TEXT, "苹");
    /* only the first two bytes: shown as bytes */
    mhv_label_make("\xC3\xA8\xC4\xAD", MHV_LABEL_BYTELEVEL, 0, &l);
    assert_int_equal(l.n, 1);
    expect(&l, 0, MHV_LSTYLE_BYTES, "<E8 8B>");
    /* the last byte then a whole character */
    mhv_label_make("\xC2\xB9\xC3\xA6\xC5\x80\xC4\xBE", MHV_LABEL_BYTELEVEL, 0, &l);
    assert_int_equal(l.n, 2);
    expect(&l, 0, MHV_LSTYLE_BYTES, "<B9>");
    expect(&l, 1, MHV_LSTYLE_TEXT, "果");
    /* "Ċ" is a newline byte */
    mhv_label_make("\xC4\x8A", MHV_LABEL_BYTELEVEL, 0, &l);
    expect(&l, 0, MHV_LSTYLE_BYTES, "<0A>");
    /* "ħ" is byte 0x85 (a C1 control when decoded) and a raw 0xFF is no UTF-8 at all: both
     * shown as bytes, around text that decodes */
    mhv_label_make("a\xC4\xA7\xFF" "b", MHV_LABEL_BYTELEVEL, 0, &l);
    assert_int_equal(l.n, 3);
    expect(&l, 0, MHV_LSTYLE_TEXT, "a");
    expect(&l, 1, MHV_LSTYLE_BYTES, "<85 FF>");
    expect(&l, 2, MHV_LSTYLE_TEXT, "b");
    mhv_label_make("<|endoftext|>", MHV_LABEL_BYTELEVEL, 1, &l);
    expect(&l, 0, MHV_LSTYLE_SPECIAL, "<|endoftext|>");
}

static void test_sentencepiece(void **state)
{
    (void)state;
    mhv_label l;
    mhv_label_make("\xE2\x96\x81the", MHV_LABEL_SENTENCEPIECE, 0, &l);
    assert_int_equal(l.n, 2);
    expect(&l, 0, MHV_LSTYLE_MARK, "\xC2\xB7");
    expect(&l, 1, MHV_LSTYLE_TEXT, "the");
    mhv_label_make("<0xE8>", MHV_LABEL_SENTENCEPIECE, 0, &l);
    assert_int_equal(l.n, 1);
    expect(&l, 0, MHV_LSTYLE_BYTES, "<E8>");
    mhv_label_make("<0x0A>", MHV_LABEL_SENTENCEPIECE, 0, &l);
    expect(&l, 0, MHV_LSTYLE_BYTES, "<0A>");
    mhv_label_make("<0x41>", MHV_LABEL_SENTENCEPIECE, 0, &l);
    expect(&l, 0, MHV_LSTYLE_TEXT, "A");
    mhv_label_make("苹果", MHV_LABEL_SENTENCEPIECE, 0, &l);
    expect(&l, 0, MHV_LSTYLE_TEXT, "苹果");
    mhv_label_make("<s>", MHV_LABEL_SENTENCEPIECE, 1, &l);
    expect(&l, 0, MHV_LSTYLE_SPECIAL, "<s>");
}

static void test_long_piece(void **state)
{
    (void)state;
    char piece[400];
    for (int i = 0; i < 130; i++)
        memcpy(piece + 3 * i, "苹", 3);
    piece[390] = '\0';
    mhv_label l;
    mhv_label_make(piece, MHV_LABEL_WORDPIECE, 0, &l);
    assert_int_equal(l.n, 1);
    size_t n = strlen(l.part[0].text);
    assert_true(n < MHV_LABEL_PART_BYTES);
    assert_memory_equal(l.part[0].text + n - 3, "\xE2\x80\xA6", 3); /* ends in "…" */
    assert_int_equal((n - 3) % 3, 0);                               /* whole characters */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wordpiece),
        cmocka_unit_test(test_bytelevel),
        cmocka_unit_test(test_sentencepiece),
        cmocka_unit_test(test_long_piece),
    };
    return cmocka_run_group_tests_name("label", tests, NULL, NULL);
}
