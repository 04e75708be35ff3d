/* Query-row selection and layer-by-layer streaming (mhv_forward_run_opts): the kept maps
 * are the same bytes as the rows of an ordinary run, on every kernel table and thread count,
 * for encoders and decoders (sliding windows, score biases, soft capping). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "nn/kernels/kernels.h"

static const char *const kernel_names[] = {"scalar", "avx2", "avx512"};

static int kernel_available(int k)
{
    return k == 0 || (k == 1 ? mhv_kernels_avx2_if_supported()
                             : mhv_kernels_avx512_if_supported()) != NULL;
}

/* What the sink saw, checked against the full run as it arrives. */
typedef struct {
    const mhv_attn *full;
    const int *rows;
    int nrows;
    int next;           /* next slot of full expected */
    int layers;         /* sink calls */
    int fail_at;        /* >= 0: the sink fails at this call */
} sink_state;

static mhv_status check_sink(void *ctx, const mhv_attn *layer, mhv_error *err)
{
    sink_state *s = ctx;
    if (s->layers == s->fail_at) {
        s->layers++;
        return mhv_fail(err, MHV_EIO, "out.safetensors", "disk full");
    }
    s->layers++;
    int n = s->full->n;
    assert_int_equal(layer->n, n);
    assert_int_equal(mhv_attn_nrows(layer), s->rows ? s->nrows : n);
    assert_true(layer->count > 0);
    for (int t = 0; t < layer->count; t++) {
        const mhv_head_attn *want = &s->full->heads[s->next++], *got = &layer->heads[t];
        assert_int_equal(got->layer, want->layer);
        assert_int_equal(got->head, want->head);
        assert_int_equal(got->layer, layer->heads[0].layer); /* one layer per call */
        for (int r = 0; r < mhv_attn_nrows(layer); r++) {
            int i = s->rows ? s->rows[r] : r;
            assert_memory_equal(got->w + (size_t)r * (size_t)n, want->w + (size_t)i * (size_t)n,
                                (size_t)n * sizeof(float));
        }
    }
    return MHV_OK;
}

/* The head sink: each head's map against the full run's, from any thread. */
typedef struct {
    const mhv_attn *full;
    const int *rows;
    int nrows;
    atomic_int seen;
} head_state;

static mhv_status check_head(void *ctx, int layer, int head, const float *w, int rows, int n,
                             mhv_error *err)
{
    (void)err;
    head_state *s = ctx;
    int k = 0;
    while (k < s->full->count &&
           (s->full->heads[k].layer != layer || s->full->heads[k].head != head))
        k++;
    if (k == s->full->count || rows != (s->rows ? s->nrows : n) || n != s->full->n)
        return mhv_fail(err, MHV_EUSAGE, "", "unexpected head %d:%d", layer, head);
    for (int r = 0; r < rows; r++) {
        int i = s->rows ? s->rows[r] : r;
        if (memcmp(w + (size_t)r * (size_t)n, s->full->heads[k].w + (size_t)i * (size_t)n,
                   (size_t)n * sizeof(float)) != 0)
            return mhv_fail(err, MHV_EFORMAT, "", "head %d:%d row %d differs", layer, head, i);
    }
    atomic_fetch_add(&s->seen, 1);
    return MHV_OK;
}

static void run_heads(mhv_forward_ctx *c, const mhv_model *m, const int32_t *ids, int n,
                      const mhv_heads *sel, const mhv_attn *full, const int *rows, int nrows)
{
    mhv_error err = {0};
    head_state s = {.full = full, .rows = rows, .nrows = nrows};
    atomic_init(&s.seen, 0);
    mhv_forward_opts o = {.rows = rows, .nrows = nrows, .head_sink = check_head, .sink_ctx = &s};
    mhv_attn a;
    if (mhv_forward_run_opts(c, m, ids, NULL, n, sel, &o, &a, &err) != MHV_OK)
        fail_msg("head sink: %s", err.msg);
    assert_int_equal(atomic_load(&s.seen), full->count);
    assert_int_equal(a.count, 0);
}

static void run_opts(mhv_forward_ctx *c, const mhv_model *m, const int32_t *ids, int n,
                     const mhv_heads *sel, const mhv_attn *full, const int *rows, int nrows,
                     int stream)
{
    mhv_error err = {0};
    sink_state s = {.full = full, .rows = rows, .nrows = nrows, .fail_at = -1};
    mhv_forward_opts o = {.rows = rows, .nrows = nrows};
    if (stream)
        o.sink = check_sink, o.sink_ctx = &s;
    mhv_attn a;
    if (mhv_forward_run_opts(c, m, ids, NULL, n, sel, &o, &a, &err) != MHV_OK)
        fail_msg("forward: %s", err.msg);
    if (stream) {
        assert_int_equal(s.next, full->count);
        assert_int_equal(a.count, 0);
        assert_null(a.buf);
        return;
    }
    assert_int_equal(a.count, full->count);
    assert_int_equal(mhv_attn_nrows(&a), rows ? nrows : n);
    for (int t = 0; t < a.count; t++) {
        assert_int_equal(a.heads[t].layer, full->heads[t].layer);
        assert_int_equal(a.heads[t].head, full->heads[t].head);
        for (int r = 0; r < mhv_attn_nrows(&a); r++) {
            int i = rows ? rows[r] : r;
            assert_int_equal(mhv_attn_row_of(&a, i), r);
            assert_memory_equal(a.heads[t].w + (size_t)r * (size_t)n,
                                full->heads[t].w + (size_t)i * (size_t)n, (size_t)n * sizeof(float));
        }
    }
    mhv_attn_free(&a);
}

static void check_fixture(const char *dir, const char *heads)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/%s", dir);
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open(path, &m, &err) != MHV_OK)
        fail_msg("%s: %s", path, err.msg);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse(heads, m->cfg.num_layers, m->cfg.num_heads, &sel, &err),
                     MHV_OK);
    enum { N = 19 };
    int32_t ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = (int32_t)((i * 37 + 11) % m->cfg.vocab_size);
    const int last[] = {N - 1}, some[] = {0, 3, 4, 9, 17, 18}, mid[] = {7};
    for (int k = 0; k < 3; k++) {
        if (!kernel_available(k))
            continue;
        for (int threads = 1; threads <= 2; threads++) {
            mhv_forward_params p = {.threads = threads, .kernel = kernel_names[k]};
            mhv_forward_ctx *c;
            assert_int_equal(mhv_forward_ctx_new(&p, &c, &err), MHV_OK);
            mhv_attn full;
            if (mhv_forward_run(c, m, ids, N, &sel, &full, &err) != MHV_OK)
                fail_msg("%s: %s", dir, err.msg);
            for (int stream = 0; stream < 2; stream++) {
                run_opts(c, m, ids, N, &sel, &full, NULL, 0, stream);
                run_opts(c, m, ids, N, &sel, &full, last, 1, stream);
                run_opts(c, m, ids, N, &sel, &full, some, 6, stream);
                run_opts(c, m, ids, N, &sel, &full, mid, 1, stream);
            }
            run_heads(c, m, ids, N, &sel, &full, NULL, 0);
            run_heads(c, m, ids, N, &sel, &full, last, 1);
            run_heads(c, m, ids, N, &sel, &full, some, 6);
            mhv_attn_free(&full);
            mhv_forward_ctx_free(c);
        }
    }
    mhv_heads_free(&sel);
    mhv_model_close(m);
}

static void test_encoders(void **state)
{
    (void)state;
    check_fixture("bert-f32", "all");
    check_fixture("bert-f32", "0:1,2:*");
    check_fixture("fam-deberta-v3", "all");
}

static void test_decoders(void **state)
{
    (void)state;
    check_fixture("dec-qwen2-f32", "all");
    check_fixture("dec-mistral-f32-sw5", "*:0");
    check_fixture("fam-gemma2-f32", "all");
    check_fixture("dec-llama-bf16-gqa2-linear", "1:*");
}

/* A sink's error stops the pass and comes back; nothing is left allocated (ASan). */
static void test_sink_error(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0};
    assert_int_equal(mhv_model_open("tests/fixtures/dec-qwen2-f32", &m, &err), MHV_OK);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, &err),
                     MHV_OK);
    int32_t ids[5] = {1, 2, 3, 4, 5};
    mhv_forward_ctx *c;
    mhv_forward_params p = {.threads = 2};
    assert_int_equal(mhv_forward_ctx_new(&p, &c, &err), MHV_OK);
    mhv_attn full;
    assert_int_equal(mhv_forward_run(c, m, ids, 5, &sel, &full, &err), MHV_OK);
    sink_state s = {.full = &full, .fail_at = 0};
    mhv_forward_opts o = {.sink = check_sink, .sink_ctx = &s};
    assert_int_equal(mhv_forward_run_opts(c, m, ids, NULL, 5, &sel, &o, NULL, &err), MHV_EIO);
    assert_string_equal(err.file, "out.safetensors");
    assert_string_equal(err.msg, "disk full");
    assert_int_equal(s.layers, 1);
    /* bad rows are a usage error */
    const int bad[] = {3, 2};
    mhv_forward_opts ob = {.rows = bad, .nrows = 2};
    mhv_attn a;
    assert_int_equal(mhv_forward_run_opts(c, m, ids, NULL, 5, &sel, &ob, &a, &err), MHV_EUSAGE);
    const int far[] = {5};
    ob.rows = far, ob.nrows = 1;
    assert_int_equal(mhv_forward_run_opts(c, m, ids, NULL, 5, &sel, &ob, &a, &err), MHV_EUSAGE);
    mhv_attn_free(&full);
    mhv_forward_ctx_free(c);
    mhv_heads_free(&sel);
    mhv_model_close(m);
}

/* The estimate of a run's activations is what a run of that length then holds, for
 * families with and without score biases; maps as the options say. */
static void estimate_one(const char *dir, int n)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/%s", dir);
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open(path, &m, &err) != MHV_OK)
        fail_msg("%s: %s", path, err.msg);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, &err),
                     MHV_OK);
    int32_t *ids = calloc((size_t)n, sizeof *ids);
    for (int i = 0; i < n; i++)
        ids[i] = (int32_t)((i * 7 + 5) % m->cfg.vocab_size);
    for (int threads = 1; threads <= 2; threads++) {
        mhv_forward_params p = {.threads = threads};
        mhv_forward_ctx *c;
        assert_int_equal(mhv_forward_ctx_new(&p, &c, &err), MHV_OK);
        mhv_forward_mem mem;
        if (mhv_forward_estimate(c, m, n, &sel, NULL, &mem, &err) != MHV_OK)
            fail_msg("%s: %s", dir, err.msg);
        assert_int_equal(mhv_forward_ctx_bytes(c), 0); /* measuring allocates nothing */
        mhv_attn a;
        assert_int_equal(mhv_forward_run(c, m, ids, n, &sel, &a, &err), MHV_OK);
        if (mem.activations != mhv_forward_ctx_bytes(c))
            fail_msg("%s n=%d threads=%d: estimated %llu bytes, the run holds %llu", dir, n,
                     threads, (unsigned long long)mem.activations,
                     (unsigned long long)mhv_forward_ctx_bytes(c));
        uint64_t all = (uint64_t)a.count * (uint64_t)n * (uint64_t)n * sizeof(float);
        assert_int_equal(mem.maps, all);
        assert_true(mem.weights > 0);
        const int last[] = {n - 1};
        mhv_forward_opts o = {.rows = last, .nrows = 1, .sink = check_sink};
        assert_int_equal(mhv_forward_estimate(c, m, n, &sel, &o, &mem, &err), MHV_OK);
        assert_int_equal(mem.maps, (uint64_t)m->cfg.num_heads * (uint64_t)n * sizeof(float));
        mhv_forward_opts oh = {.head_sink = check_head};
        assert_int_equal(mhv_forward_estimate(c, m, n, &sel, &oh, &mem, &err), MHV_OK);
        assert_int_equal(mem.maps, (uint64_t)threads * (uint64_t)n * (uint64_t)n * sizeof(float));
        assert_int_equal(mhv_forward_estimate(c, m, m->cfg.max_positions + 1, &sel, NULL, &mem,
                                              &err), MHV_EUSAGE);
        mhv_attn_free(&a);
        mhv_forward_ctx_free(c);
    }
    free(ids);
    mhv_heads_free(&sel);
    mhv_model_close(m);
}

static void test_estimate(void **state)
{
    (void)state;
    estimate_one("bert-f32", 17);
    estimate_one("dec-qwen2-f32", 9);
    estimate_one("fam-deberta-v3", 13);
    estimate_one("fam-gemma2-f32", 11);
    estimate_one("fam-falcon-rw-bf16", 10);
    estimate_one("fam-bloom-f32", 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoders),
        cmocka_unit_test(test_decoders),
        cmocka_unit_test(test_sink_error),
        cmocka_unit_test(test_estimate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
