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

/* An encoder-decoder's maps: the source side in blocks of 4, the target side in blocks of
 * 3, each stack by its own sides (encoder S x S, decoder T x T, cross T x S). */
static void test_pool_seq2seq(void **state)
{
    (void)state;
    enum { S = 10, T = 7 };
    static float buf[S * S + T * T + T * S];
    unsigned seed = 11;
    for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (float)((seed >> 8) % 10000) / 10000.0f;
    }
    mhv_head_attn hs[3] = {
        {.layer = 0, .head = 1, .w = buf, .stack = MHV_STACK_ENCODER, .rows = S, .cols = S},
        {.layer = 0, .head = 0, .w = buf + S * S, .stack = MHV_STACK_DECODER, .rows = T, .cols = T},
        {.layer = 2, .head = 3, .w = buf + S * S + T * T, .stack = MHV_STACK_CROSS, .rows = T,
         .cols = S},
    };
    mhv_attn a = {.n = S, .count = 3, .heads = hs, .rows = S, .n_src = S, .n_tgt = T}, p;
    mhv_error err = {0};
    for (int kind = 0; kind < 2; kind++) {
        assert_int_equal(mhv_zoom_pool_seq2seq(&a, 4, 3, (mhv_pool_kind)kind, NULL, &p, &err), MHV_OK);
        assert_int_equal(p.n_src, 3);
        assert_int_equal(p.n_tgt, 3);
        assert_int_equal(p.count, 3);
        for (int k = 0; k < 3; k++) {
            const mhv_head_attn *h = &hs[k], *q = &p.heads[k];
            int rb = h->stack == MHV_STACK_ENCODER ? 4 : 3, cb = h->stack == MHV_STACK_DECODER ? 3 : 4;
            assert_int_equal(q->stack, h->stack);
            assert_int_equal(q->layer, h->layer);
            assert_int_equal(q->head, h->head);
            assert_int_equal(q->rows, (h->rows + rb - 1) / rb);
            assert_int_equal(q->cols, (h->cols + cb - 1) / cb);
            for (int bi = 0; bi < q->rows; bi++)
                for (int bj = 0; bj < q->cols; bj++) {
                    double sum = 0, mx = 0;
                    int cells = 0;
                    for (int i = bi * rb; i < bi * rb + rb && i < h->rows; i++)
                        for (int j = bj * cb; j < bj * cb + cb && j < h->cols; j++) {
                            float v = h->w[i * h->cols + j];
                            sum += v, cells++;
                            mx = v > mx ? v : mx;
                        }
                    double want = kind == MHV_POOL_MAX ? mx : sum / cells;
                    assert_true(fabs(q->w[bi * q->cols + bj] - want) < 1e-6);
                }
        }
        mhv_attn_free(&p);
    }
    mhv_encoding e;
    assert_int_equal(mhv_zoom_labels(10, 4, 0, 2, &e, &err), MHV_OK);
    assert_int_equal(e.n, 3);
    assert_string_equal(e.pieces[0], "0");
    assert_string_equal(e.pieces[1], "");
    assert_string_equal(e.pieces[2], "8");
    assert_int_equal(e.ids[1], -1);
    mhv_encoding_free(&e);
}

/* --window on an encoder-decoder's maps: source tokens 2..6 as the encoder's rows and
 * columns and as the cross-attention's columns; the decoder's map untouched; with kept
 * source rows, those inside the window. */
static void test_window_seq2seq(void **state)
{
    (void)state;
    enum { S = 9, T = 4 };
    static float buf[S * S + T * T + T * S];
    for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++)
        buf[i] = (float)i;
    mhv_head_attn hs[3] = {
        {.layer = 1, .head = 0, .w = buf, .stack = MHV_STACK_ENCODER, .rows = S, .cols = S},
        {.layer = 0, .head = 2, .w = buf + S * S, .stack = MHV_STACK_DECODER, .rows = T, .cols = T},
        {.layer = 0, .head = 1, .w = buf + S * S + T * T, .stack = MHV_STACK_CROSS, .rows = T,
         .cols = S},
    };
    mhv_attn a = {.n = S, .count = 3, .heads = hs, .rows = S, .n_src = S, .n_tgt = T}, w;
    int32_t ids[S], spans[2 * S];
    char *pieces[S], names[S][8];
    for (int i = 0; i < S; i++) {
        snprintf(names[i], 8, "s%d", i % 10);
        ids[i] = 50 + i, pieces[i] = names[i], spans[2 * i] = i, spans[2 * i + 1] = i + 1;
    }
    mhv_encoding e = {.n = S, .ids = ids, .pieces = pieces, .spans = spans}, we;
    mhv_s2s_rows wk;
    mhv_error err = {0};
    assert_int_equal(mhv_zoom_window_seq2seq(&a, &e, 2, 7, NULL, &w, &we, &wk, &err), MHV_OK);
    assert_int_equal(w.n_src, 5);
    assert_int_equal(w.n_tgt, T);
    assert_int_equal(we.n, 5);
    assert_string_equal(we.pieces[0], "s2");
    assert_int_equal(we.ids[4], 56);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            assert_true(w.heads[0].w[i * 5 + j] == buf[(2 + i) * S + 2 + j]);
    assert_int_equal(w.heads[1].rows, T);
    assert_memory_equal(w.heads[1].w, buf + S * S, T * T * sizeof(float));
    assert_int_equal(w.heads[2].rows, T);
    assert_int_equal(w.heads[2].cols, 5);
    for (int i = 0; i < T; i++)
        for (int j = 0; j < 5; j++)
            assert_true(w.heads[2].w[i * 5 + j] == buf[S * S + T * T + i * S + 2 + j]);
    mhv_attn_free(&w);
    mhv_encoding_free(&we);
    /* kept source rows 1, 3, 6, 8 (the encoder's map holds those rows): 3 and 6 are in */
    static const int src_rows[] = {1, 3, 6, 8};
    hs[0].rows = 4;
    mhv_s2s_rows kept = {.src = src_rows, .n_src = 4};
    assert_int_equal(mhv_zoom_window_seq2seq(&a, &e, 2, 7, &kept, &w, &we, &wk, &err), MHV_OK);
    assert_int_equal(wk.n_src, 2);
    assert_int_equal(wk.src[0], 3);
    assert_int_equal(w.heads[0].rows, 2);
    for (int j = 0; j < 5; j++) /* map row 1 holds source row 3 */
        assert_true(w.heads[0].w[j] == buf[1 * S + 2 + j]);
    mhv_attn_free(&w);
    mhv_encoding_free(&we);
    assert_int_equal(mhv_zoom_window_seq2seq(&a, &e, 7, 10, NULL, &w, &we, &wk, &err),
                     MHV_EUSAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_pool_seq2seq),
        cmocka_unit_test(test_window_seq2seq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
