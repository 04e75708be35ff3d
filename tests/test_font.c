#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fig/font.h"

/* Installed by `make deps` (fonts-wqy-microhei, fonts-dejavu-core). */
#define WQY "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
#define DEJAVU "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

static void test_env_font_missing_is_an_error(void **state)
{
    (void)state;
    mhv_font_params p = {NULL, "/nonexistent/no-such-font.ttf", 1};
    mhv_fontset *fs = (mhv_fontset *)&p;
    mhv_error err = {0};
    assert_int_equal(mhv_font_open(&p, &fs, &err), MHV_EIO);
    assert_null(fs);
    assert_string_equal(err.file, "/nonexistent/no-such-font.ttf");
    assert_non_null(strstr(err.msg, "MHAVIZ_FONT: cannot open font"));
}

static void test_no_font_at_all(void **state)
{
    (void)state;
    mhv_font_params p = {NULL, NULL, 0};
    mhv_fontset *fs;
    mhv_error err = {0};
    assert_int_equal(mhv_font_open(&p, &fs, &err), MHV_EIO);
    assert_null(fs);
    assert_non_null(strstr(err.msg, "no font found"));
    assert_non_null(strstr(err.msg, "fonts/README.md"));
}

static void test_not_a_font(void **state)
{
    (void)state;
    mhv_font_params p = {"tests/test_font.c", NULL, 1};
    mhv_fontset *fs;
    mhv_error err = {0};
    assert_int_equal(mhv_font_open(&p, &fs, &err), MHV_EFORMAT);
    assert_non_null(strstr(err.msg, "not a TrueType/OpenType font"));
}

static void test_ttc_and_fallback(void **state)
{
    (void)state;
    if (access(WQY, R_OK) != 0 || access(DEJAVU, R_OK) != 0)
        skip();
    mhv_font_params p = {DEJAVU, NULL, 1};
    mhv_fontset *fs;
    mhv_error err = {0};
    assert_int_equal(mhv_font_open(&p, &fs, &err), MHV_OK);
    assert_string_equal(mhv_font_name(fs, 0), DEJAVU);
    mhv_placed g[8];
    float w;
    int n = mhv_font_layout(fs, "A苹", strlen("A苹"), 16, g, 8, &w);
    assert_int_equal(n, 2);
    assert_int_equal(g[0].g.face, 0);   /* Latin from the font asked for */
    assert_true(g[1].g.face > 0);       /* CJK from a fallback face */
    assert_true(g[1].x > 0 && w > g[1].x);
    assert_int_equal(mhv_font_missing_count(fs), 0);
    mhv_font_close(fs);

    /* a TTC collection alone, face 0 */
    p = (mhv_font_params){WQY, NULL, 0};
    assert_int_equal(mhv_font_open(&p, &fs, &err), MHV_OK);
    assert_int_equal(mhv_font_count(fs), 1);
    n = mhv_font_layout(fs, "苹果", strlen("苹果"), 16, g, 8, &w);
    assert_int_equal(n, 2);
    assert_int_equal(g[0].g.face, 0);
    assert_true(g[0].g.glyph > 0);
    mhv_font_close(fs);
}

static void test_missing_glyph_box_and_cache(void **state)
{
    (void)state;
    mhv_font_params p = mhv_font_default_params();
    p.env = NULL;
    mhv_fontset *fs;
    mhv_error err = {0};
    if (mhv_font_open(&p, &fs, &err) != MHV_OK)
        skip();
    const char *hiero = "\xF0\x93\x80\x80"; /* U+13000, in none of the fonts we install */
    mhv_placed g[4];
    float w;
    assert_int_equal(mhv_font_layout(fs, hiero, 4, 20, g, 4, &w), 1);
    if (g[0].g.face >= 0) { /* this machine has a font for Egyptian hieroglyphs */
        mhv_font_close(fs);
        skip();
    }
    assert_true(w > 0);
    mhv_font_layout(fs, hiero, 4, 12, g, 4, &w);
    assert_int_equal(mhv_font_missing_count(fs), 1); /* reported once */
    assert_int_equal(mhv_font_missing(fs, 0), 0x13000);
    const mhv_glyph_bitmap *bm = mhv_font_bitmap(fs, g[0].g, 20);
    assert_non_null(bm);
    assert_true(bm->w > 4 && bm->h > 4);
    int ink = 0;
    for (int i = 0; i < bm->w * bm->h; i++)
        ink += bm->alpha[i] > 0;
    assert_true(ink > 0 && ink < bm->w * bm->h); /* a hollow box */
    mhv_path_op *ops;
    assert_int_equal(mhv_font_outline(fs, g[0].g, 20, &ops), 10);
    free(ops);

    /* the cache hands back the same bitmap for the same glyph and size */
    mhv_font_layout(fs, "A", 1, 20, g, 4, &w);
    const mhv_glyph_bitmap *a1 = mhv_font_bitmap(fs, g[0].g, 20);
    const mhv_glyph_bitmap *a2 = mhv_font_bitmap(fs, g[0].g, 20);
    assert_ptr_equal(a1, a2);
    assert_true(a1->w > 0 && a1->h > 0);
    int w1 = a1->w, h1 = a1->h;
    /* many sizes make the cache grow (pointers move); the entries survive */
    for (int s = 6; s < 200; s++)
        assert_non_null(mhv_font_bitmap(fs, g[0].g, (float)s));
    const mhv_glyph_bitmap *a3 = mhv_font_bitmap(fs, g[0].g, 20);
    assert_int_equal(a3->w, w1);
    assert_int_equal(a3->h, h1);
    assert_true(mhv_font_outline(fs, g[0].g, 20, &ops) > 0);
    free(ops);
    mhv_font_close(fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_font_missing_is_an_error),
        cmocka_unit_test(test_no_font_at_all),
        cmocka_unit_test(test_not_a_font),
        cmocka_unit_test(test_ttc_and_fallback),
        cmocka_unit_test(test_missing_glyph_box_and_cache),
    };
    return cmocka_run_group_tests_name("font", tests, NULL, NULL);
}
