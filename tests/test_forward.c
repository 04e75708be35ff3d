/* Golden tests: per-head attention of small checkpoints against Hugging Face transformers
 * (goldens made by tests/gen/gen_bert_fixtures.py, committed under tests/fixtures/goldens). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "model/forward.h"
#include "nn/kernels/kernels.h"
#include "tok/tokenizer.h"

#include "testutil.h"

#define TOL 1e-5

/* Every golden runs through each kernel table this CPU has, on 1 and 2 threads; the 2-thread
 * result must be the same bytes as the 1-thread one. */
static const char *const kernel_names[] = {"scalar", "avx2", "avx512"};
#define N_KERNELS 3
#define N_THREADS 2

static int kernel_available(int k)
{
    return k == 0 || (k == 1 ? mhv_kernels_avx2_if_supported()
                             : mhv_kernels_avx512_if_supported()) != NULL;
}

/* Forward pass with the kernel table kernel_names[k] on `threads` threads. */
static void forward_with(int k, int threads, const mhv_model *m, const int32_t *ids, int n,
                         const mhv_heads *sel, mhv_attn *a)
{
    mhv_error err = {0};
    mhv_forward_params p = {.threads = threads, .kernel = kernel_names[k]};
    mhv_forward_ctx *c;
    if (mhv_forward_ctx_new(&p, &c, &err) != MHV_OK)
        fail_msg("forward context: %s", err.msg);
    assert_string_equal(mhv_forward_ctx_kernel(c), kernel_names[k]);
    if (mhv_forward_run(c, m, ids, n, sel, a, &err) != MHV_OK)
        fail_msg("forward: %s", err.msg);
    mhv_forward_ctx_free(c);
}

/* Runs every golden sentence of `fixture` (model dir tests/fixtures/<dir>) with all heads,
 * checking token ids (when check_tokens) and attentions. */
static void run_fixture(const char *dir, const char *golden_name, int check_tokens)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s", dir);
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open(path, &m, &err) != MHV_OK)
        fail_msg("%s: %s", err.file, err.msg);
    mhv_tok *tok = NULL;
    if (check_tokens && mhv_tok_open_dir(path, &tok, &err) != MHV_OK)
        fail_msg("%s: %s", err.file, err.msg);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL),
                     MHV_OK);
    snprintf(path, sizeof path, "tests/fixtures/goldens/%s.json", golden_name);
    cJSON *g = tu_read_json(path);
    const cJSON *s;
    int count = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(g, "sentences"))
    {
        const cJSON *jids = cJSON_GetObjectItem(s, "token_ids");
        int n = cJSON_GetArraySize(jids);
        int32_t *ids = malloc((size_t)n * sizeof *ids);
        for (int i = 0; i < n; i++)
            ids[i] = cJSON_GetArrayItem(jids, i)->valueint;
        if (tok) {
            const char *text = cJSON_GetObjectItem(s, "text")->valuestring;
            mhv_encoding enc;
            assert_int_equal(mhv_tok_encode(tok, text, strlen(text), &enc, &err), MHV_OK);
            assert_int_equal(enc.n, n);
            for (int i = 0; i < n; i++)
                assert_int_equal(enc.ids[i], ids[i]);
            mhv_encoding_free(&enc);
        }
        for (int k = 0; k < N_KERNELS; k++) {
            if (!kernel_available(k))
                continue;
            mhv_attn one;
            for (int t = 1; t <= N_THREADS; t++) {
                mhv_attn a;
                forward_with(k, t, m, ids, n, &sel, &a);
                double worst = tu_compare_attn(&a, cJSON_GetObjectItem(s, "attentions"), 0);
                if (worst > TOL)
                    fail_msg("%s sentence %d (%s, %d threads): max abs difference %.3g > %.0e",
                             dir, count, kernel_names[k], t, worst, TOL);
                if (t == 1) {
                    one = a;
                    continue;
                }
                size_t bytes = (size_t)a.count * (size_t)n * (size_t)n * sizeof(float);
                if (memcmp(one.buf, a.buf, bytes) != 0)
                    fail_msg("%s sentence %d (%s): 1 and %d threads differ", dir, count,
                             kernel_names[k], t);
                mhv_attn_free(&a);
            }
            mhv_attn_free(&one);
        }
        free(ids);
        count++;
    }
    assert_true(count > 0);
    cJSON_Delete(g);
    mhv_heads_free(&sel);
    mhv_tok_close(tok);
    mhv_model_close(m);
}

static void test_f32(void **s) { (void)s; run_fixture("bert-f32", "bert-f32", 1); }
static void test_f16(void **s) { (void)s; run_fixture("bert-f16", "bert-f16", 1); }
static void test_bf16(void **s) { (void)s; run_fixture("bert-bf16", "bert-bf16", 1); }
static void test_sharded(void **s) { (void)s; run_fixture("bert-sharded", "bert-sharded", 1); }
static void test_mlm_old(void **s) { (void)s; run_fixture("bert-mlm-old", "bert-mlm-old", 1); }
static void test_gelunew(void **s) { (void)s; run_fixture("bert-gelunew", "bert-gelunew", 1); }
static void test_relu(void **s) { (void)s; run_fixture("bert-relu", "bert-relu", 1); }
static void test_minilm(void **s) { (void)s; run_fixture("minilm-2l", "minilm-2l", 1); }
/* MPNet with its tokenizer: text -> transformers' ids -> attentions (tests/gen/fam_mpnet.py) */
static void test_mpnet(void **s) { (void)s; run_fixture("fam-mpnet-mlm-f16", "mpnet-text", 1); }

/* Longer sequences than the goldens have, with random ids: each fast path within TOL of the
 * scalar one (itself held to the goldens above), through all of their matrix multiplies
 * (AVX2: dot products at few tokens, packed GEMM beyond; AVX-512: one and two token vectors
 * per panel, chunked reductions) and with the row-parallel embeddings and LayerNorms, and
 * the same bytes on 1 and 2 threads. */
static void check_against_scalar(const char *dir, int n)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s", dir);
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open(path, &m, &err) != MHV_OK)
        fail_msg("%s: %s", err.file, err.msg);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL),
                     MHV_OK);
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    uint32_t r = 12345;
    for (int i = 0; i < n; i++) {
        r = r * 1103515245u + 12345u;
        ids[i] = (int32_t)((r >> 8) % (uint32_t)m->cfg.vocab_size);
    }
    mhv_attn ref;
    forward_with(0, 1, m, ids, n, &sel, &ref);
    size_t cells = (size_t)ref.count * (size_t)n * (size_t)n;
    for (int k = 1; k < N_KERNELS; k++) {
        if (!kernel_available(k))
            continue;
        mhv_attn one, two;
        forward_with(k, 1, m, ids, n, &sel, &one);
        forward_with(k, 2, m, ids, n, &sel, &two);
        double worst = 0;
        for (size_t i = 0; i < cells; i++)
            worst = fmax(worst, fabs((double)one.buf[i] - ref.buf[i]));
        if (worst > TOL)
            fail_msg("%s n=%d: %s differs from scalar by %.3g", dir, n, kernel_names[k], worst);
        if (memcmp(one.buf, two.buf, cells * sizeof *one.buf) != 0)
            fail_msg("%s n=%d (%s): 1 and 2 threads differ", dir, n, kernel_names[k]);
        mhv_attn_free(&one);
        mhv_attn_free(&two);
    }
    mhv_attn two_s;
    forward_with(0, 2, m, ids, n, &sel, &two_s);
    if (memcmp(ref.buf, two_s.buf, cells * sizeof *ref.buf) != 0)
        fail_msg("%s n=%d (scalar): 1 and 2 threads differ", dir, n);
    mhv_attn_free(&two_s);
    mhv_attn_free(&ref);
    free(ids);
    mhv_heads_free(&sel);
    mhv_model_close(m);
}

static void test_long_sequences(void **state)
{
    (void)state;
    check_against_scalar("bert-bf16", 64);
    check_against_scalar("bert-f16", 49);
    check_against_scalar("minilm-2l", 48);
    check_against_scalar("minilm-2l", 200);
}

/* A partial selection captures exactly the same numbers as a full run. */
static void test_selection(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0};
    assert_int_equal(mhv_model_open("tests/fixtures/bert-f32", &m, &err), MHV_OK);
    const int32_t ids[] = {2, 10, 11, 12, 13, 3};
    mhv_heads all, some;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &all, NULL), 0);
    assert_int_equal(mhv_heads_parse("1:2,0:*", m->cfg.num_layers, m->cfg.num_heads, &some, NULL),
                     0);
    mhv_attn a, b;
    assert_int_equal(mhv_forward(m, ids, 6, &all, &a, &err), MHV_OK);
    assert_int_equal(mhv_forward(m, ids, 6, &some, &b, &err), MHV_OK);
    assert_int_equal(b.count, m->cfg.num_heads + 1);
    for (int k = 0; k < b.count; k++) {
        int idx = b.heads[k].layer * m->cfg.num_heads + b.heads[k].head;
        assert_int_equal(a.heads[idx].layer, b.heads[k].layer);
        assert_memory_equal(a.heads[idx].w, b.heads[k].w, 36 * sizeof(float));
    }
    mhv_attn_free(&a);
    mhv_attn_free(&b);

    /* ids beyond the vocabulary and sequences beyond the positions are refused */
    int32_t bad[] = {2, m->cfg.vocab_size, 3};
    assert_int_equal(mhv_forward(m, bad, 3, &all, &a, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "outside the model's vocabulary"));
    int n = m->cfg.max_positions + 1;
    int32_t *longer = calloc((size_t)n, sizeof *longer);
    assert_int_equal(mhv_forward(m, longer, n, &all, &a, &err), MHV_EUSAGE);
    assert_non_null(strstr(err.msg, "positions"));
    free(longer);
    mhv_heads_free(&all);
    mhv_heads_free(&some);
    mhv_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f32),     cmocka_unit_test(test_f16),
        cmocka_unit_test(test_bf16),    cmocka_unit_test(test_sharded),
        cmocka_unit_test(test_mlm_old), cmocka_unit_test(test_gelunew),
        cmocka_unit_test(test_relu),    cmocka_unit_test(test_minilm),
        cmocka_unit_test(test_mpnet),
        cmocka_unit_test(test_selection), cmocka_unit_test(test_long_sequences),
    };
    return cmocka_run_group_tests_name("forward", tests, NULL, NULL);
}
