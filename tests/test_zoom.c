/* --window and --max-pixels (analysis/zoom.h): windows are the maps' sub-squares with their
 * tokens; pooled cells are the maximum or mean of their blocks, computed directly here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/zoom.h"

enum { N = 23, H = 3 };

static void fill(mhv_attn *a, mhv_head_attn *hs, float *buf, mhv_encoding *e, int32_t *ids,
                 char **pieces, int32_t *spans, char names[N][8])
{
    unsigned seed = 7;
    for (int i = 0; i < H * N * N; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (float)((seed >> 8) % 10000) / 10000.0f;
    }
    for (int k = 0; k < H; k++)
        hs[k] = (mhv_head_attn){.layer = 1, .head = k, .w = buf + k * N * N, .rows = N, .cols = N};
    *a = (mhv_attn){.n = N, .count = H, .heads = hs};
    for (int i = 0; i < N; i++) {
        snprintf(names[i], 8, "t%u", (unsigned)i % 100000u); /* N is small: never cut */
        ids[i] = 100 + i, pieces[i] = names[i], spans[2 * i] = i, spans[2 * i + 1] = i + 1;
    }
    *e = (mhv_encoding){.n = N, .ids = ids, .pieces = pieces, .spans = spans};
}

static void test_window(void **state)
{
    (void)state;
    mhv_attn a, w;
    mhv_head_attn hs[H];
    static float buf[H * N * N];
    mhv_encoding e, we;
    int32_t ids[N], spans[2 * N];
    char *pieces[N], names[N][8];
    fill(&a, hs, buf, &e, ids, pieces, spans, names);
    mhv_error err = {0};
    assert_int_equal(mhv_zoom_window(&a, &e, 5, 12, &w, &we, &err), MHV_OK);
    assert_int_equal(w.n, 7);
    assert_int_equal(we.n, 7);
    for (int k = 0; k < H; k++) {
        assert_int_equal(w.heads[k].head, k);
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 7; j++)
                assert_true(w.heads[k].w[i * 7 + j] == buf[k * N * N + (5 + i) * N + 5 + j]);
    }
    assert_string_equal(we.pieces[0], "t5");
    assert_int_equal(we.ids[6], 111);
    assert_int_equal(we.spans[2 * 6], 11);
    mhv_attn_free(&w);
    mhv_encoding_free(&we);
    assert_int_equal(mhv_zoom_window(&a, &e, 5, 24, &w, &we, &err), MHV_EUSAGE);
    assert_int_equal(mhv_zoom_window(&a, &e, 5, 5, &w, &we, &err), MHV_EUSAGE);
}

static void test_pool(void **state)
{
    (void)state;
    mhv_attn a, p;
    mhv_head_attn hs[H];
    static float buf[H * N * N];
    mhv_encoding e, pe;
    int32_t ids[N], spans[2 * N];
    char *pieces[N], names[N][8];
    fill(&a, hs, buf, &e, ids, pieces, spans, names);
    mhv_error err = {0};
    for (int kind = 0; kind < 2; kind++)
        for (int b = 1; b <= 8; b++) {
            assert_int_equal(mhv_zoom_pool(&a, b, (mhv_pool_kind)kind, 40, 2, &p, &pe, &err),
                             MHV_OK);
            int m = (N + b - 1) / b;
            assert_int_equal(p.n, m);
            for (int k = 0; k < H; k++)
                for (int bi = 0; bi < m; bi++)
                    for (int bj = 0; bj < m; bj++) {
                        double mx = 0, sum = 0;
                        int cells = 0;
                        for (int i = bi * b; i < bi * b + b && i < N; i++)
                            for (int j = bj * b; j < bj * b + b && j < N; j++) {
                                double v = buf[k * N * N + i * N + j];
                                mx = v > mx ? v : mx, sum += v, cells++;
                            }
                        double want = kind == MHV_POOL_MAX ? mx : sum / cells;
                        assert_true(fabs(p.heads[k].w[bi * m + bj] - want) < 1e-6);
                    }
            char want[16];
            snprintf(want, sizeof want, "%d", 40 + 2 * b);
            assert_string_equal(pe.pieces[0], "40");
            if (m > 2)
                assert_string_equal(pe.pieces[2], want);
            assert_string_equal(pe.pieces[1], "");
            assert_int_equal(pe.ids[0], -1);
            mhv_attn_free(&p);
            mhv_encoding_free(&pe);
        }
    assert_int_equal(mhv_zoom_pool(&a, 0, MHV_POOL_MAX, 0, 1, &p, &pe, &err), MHV_EUSAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
