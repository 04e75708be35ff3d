/* Longformer's and LED's global attention (mhv_forward_ctx_global) against Hugging Face
 * transformers: each golden tests/fixtures/goldens/global-*.json (made by
 * tests/gen/global_longformer.py) runs a fixture with a global_attention_mask; every head's
 * full map, assembled there from transformers' attentions and global_attentions, must match
 * within the golden's tolerance, with exact zeros where a token does not attend, on 1 and 2
 * threads with the same bytes, with the scalar kernels, and for a head computed alone; the
 * masked-LM and LM heads' last logits and LED's greedy generation with global tokens too.
 * Also the refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "nn/blocks.h"

#include "testutil.h"

#define LOGIT_TOL 1e-4

/* A context of `threads` threads and kernel table `kernel` whose passes give global
 * attention to pos(count). */
static mhv_forward_ctx *ctx_with(const char *kernel, int threads, const int *pos, int count)
{
    mhv_forward_params p = {.threads = threads, .kernel = kernel};
    mhv_forward_ctx *c;
    mhv_error err = {0};
    if (mhv_forward_ctx_new(&p, &c, &err) || mhv_forward_ctx_global(c, pos, count, &err))
        fail_msg("context: %s", err.msg);
    return c;
}

static void run(const mhv_model *m, const char *kernel, int threads, const int *pos, int count,
                const int32_t *ids, int n, const int32_t *tgt, int nt, const mhv_heads *sel,
                mhv_attn *a)
{
    mhv_forward_ctx *c = ctx_with(kernel, threads, pos, count);
    mhv_error err = {0};
    mhv_status st = tgt ? mhv_forward_run_seq2seq(c, m, ids, n, tgt, nt, sel, a, &err)
                        : mhv_forward_run(c, m, ids, n, sel, a, &err);
    if (st)
        fail_msg("%s: forward: %s", m->dir, err.msg);
    mhv_forward_ctx_free(c);
}

/* The largest |got - want| over a's heads of stack (want[layer][head][i][j]); where want is
 * exactly 0 (a key the query does not see) got must be too. */
static double compare(const mhv_attn *a, mhv_stack stack, const cJSON *want, int *seen)
{
    double worst = 0;
    for (int s = 0; s < a->count; s++) {
        const mhv_head_attn *h = &a->heads[s];
        if (h->stack != stack)
            continue;
        (*seen)++;
        const cJSON *wl = cJSON_GetArrayItem(cJSON_GetArrayItem(want, h->layer), h->head);
        assert_int_equal(cJSON_GetArraySize(wl), h->rows);
        for (int i = 0; i < h->rows; i++) {
            const cJSON *row = cJSON_GetArrayItem(wl, i);
            assert_int_equal(cJSON_GetArraySize(row), h->cols);
            for (int j = 0; j < h->cols; j++) {
                double got = h->w[(size_t)i * (size_t)h->cols + (size_t)j];
                double w = cJSON_GetArrayItem(row, j)->valuedouble;
                if (w == 0 && got != 0)
                    fail_msg("layer %d head %d: query %d weighs key %d (%g) which it does "
                             "not see", h->layer, h->head, i, j, got);
                worst = fmax(worst, fabs(got - w));
            }
        }
    }
    return worst;
}

static void check_logits(const mhv_model *m, const int *pos, int count, const int32_t *ids,
                         int n, const int32_t *tgt, int nt, const cJSON *lg, const char *fixture)
{
    int V = tgt ? m->cfg.dec_vocab_size : m->cfg.vocab_size, rows = tgt ? nt : n;
    assert_int_equal(cJSON_GetArraySize(lg), V);
    float *logits = malloc((size_t)rows * (size_t)V * sizeof *logits);
    mhv_forward_ctx *c = ctx_with(NULL, 2, pos, count);
    mhv_error err = {0};
    if (tgt ? mhv_forward_seq2seq_logits(c, m, ids, n, tgt, nt, logits, &err)
            : mhv_forward_logits_ablated(c, m, ids, n, NULL, logits, &err))
        fail_msg("%s: logits: %s", fixture, err.msg);
    mhv_forward_ctx_free(c);
    if (tgt) { /* generation's next-token logits take the global tokens too (the same bytes
                * as the whole pass's last row), which change them */
        float *step = malloc((size_t)nt * (size_t)V * sizeof *step);
        const float *next;
        mhv_nn_memo *memo = calloc(1, sizeof *memo);
        for (int with = 0; with < 2; with++) {
            mhv_forward_ctx *g = ctx_with(NULL, 2, pos, with ? count : 0);
            if (mhv_forward_seq2seq_next(g, m, ids, n, NULL, tgt, nt, memo, step, &next, &err))
                fail_msg("%s: next logits: %s", fixture, err.msg);
            mhv_nn_memo_free(memo);
            mhv_forward_ctx_free(g);
            int same = memcmp(next, logits + (size_t)(nt - 1) * (size_t)V,
                              (size_t)V * sizeof *next) == 0;
            if (with ? !same : same && count > 0)
                fail_msg("%s: next-token logits %s global tokens %s the whole pass's", fixture,
                         with ? "with" : "without", with ? "differ from" : "equal");
        }
        free(memo), free(step);
    }
    for (int v = 0; v < V; v++) {
        double want = cJSON_GetArrayItem(lg, v)->valuedouble;
        double got = logits[(size_t)(rows - 1) * (size_t)V + (size_t)v];
        if (fabs(got - want) > LOGIT_TOL * (1 + fabs(want)))
            fail_msg("%s: logit %d is %.7g, want %.7g", fixture, v, got, want);
    }
    free(logits);
}

static void check_golden(const char *file)
{
    cJSON *g;
    const char *fixture;
    double tol;
    mhv_model *m = tu_open_golden(file, &g, &fixture, &tol);
    mhv_error err = {0};
    const mhv_config *c = &m->cfg;
    assert_true(c->global_attn);
    int L = c->enc_dec ? c->num_layers + 2 * c->dec_layers : c->num_layers;
    mhv_heads sel, one;
    assert_int_equal(c->enc_dec ? mhv_heads_parse_seq2seq("all", c->num_layers, c->dec_layers,
                                                          c->num_heads, &sel, NULL)
                                : mhv_heads_parse("all", L, c->num_heads, &sel, NULL), 0);
    /* the encoder's last head alone: its layer computes that head's columns only */
    char spec[32];
    snprintf(spec, sizeof spec, c->enc_dec ? "enc:%d:%d" : "%d:%d", c->num_layers - 1,
             c->num_heads - 1);
    assert_int_equal(c->enc_dec ? mhv_heads_parse_seq2seq(spec, c->num_layers, c->dec_layers,
                                                          c->num_heads, &one, NULL)
                                : mhv_heads_parse(spec, L, c->num_heads, &one, NULL), 0);
    const cJSON *s;
    int count = 0, with_global = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(g, "sentences"))
    {
        int n, np, nt = 0;
        int32_t *ids = tu_json_ids(cJSON_GetObjectItem(s, "token_ids"), &n);
        int32_t *gpos = tu_json_ids(cJSON_GetObjectItem(s, "global"), &np);
        const cJSON *tj = cJSON_GetObjectItem(s, "tgt_ids");
        int32_t *tgt = tj ? tu_json_ids(tj, &nt) : NULL;
        int pos[64];
        assert_true(np <= 64);
        for (int i = 0; i < np; i++)
            pos[i] = (int)gpos[i];
        with_global += np > 0;
        mhv_attn a1, a2, as, a3;
        run(m, NULL, 1, pos, np, ids, n, tgt, nt, &sel, &a1);
        run(m, NULL, 2, pos, np, ids, n, tgt, nt, &sel, &a2);
        run(m, "scalar", 1, pos, np, ids, n, tgt, nt, &sel, &as);
        run(m, NULL, 2, pos, np, ids, n, tgt, nt, &one, &a3);
        static const char *const keys[] = {"encoder", "decoder", "cross"};
        static const mhv_stack stacks[] = {MHV_STACK_ENCODER, MHV_STACK_DECODER,
                                           MHV_STACK_CROSS};
        for (int k = 0; k < (tgt ? 3 : 1); k++) {
            const cJSON *want = cJSON_GetObjectItem(s, tgt ? keys[k] : "attentions");
            mhv_stack st = tgt ? stacks[k] : MHV_STACK_SELF;
            int seen = 0, seen_s = 0;
            double w1 = compare(&a1, st, want, &seen), ws = compare(&as, st, want, &seen_s);
            assert_int_equal(seen, cJSON_GetArraySize(want) * c->num_heads);
            if (w1 > tol || ws > tol)
                fail_msg("%s sentence %d (%d tokens, %d global): %s attention differs by %.3g "
                         "(scalar %.3g) > %.3g", fixture, count, n, np,
                         tgt ? keys[k] : "the", w1, ws, tol);
        }
        size_t cells = 0;
        for (int h = 0; h < a1.count; h++)
            cells += (size_t)a1.heads[h].rows * (size_t)a1.heads[h].cols;
        if (memcmp(a1.buf, a2.buf, cells * sizeof(float)) != 0)
            fail_msg("%s sentence %d: 1 and 2 threads differ", fixture, count);
        const mhv_head_attn *last = NULL; /* the encoder's last head among all */
        for (int h = 0; h < a1.count; h++)
            if (a1.heads[h].layer == c->num_layers - 1 && a1.heads[h].head == c->num_heads - 1 &&
                (a1.heads[h].stack == MHV_STACK_SELF || a1.heads[h].stack == MHV_STACK_ENCODER))
                last = &a1.heads[h];
        assert_non_null(last);
        if (a3.count != 1 || memcmp(a3.heads[0].w, last->w, (size_t)n * (size_t)n *
                                                                 sizeof(float)) != 0)
            fail_msg("%s sentence %d: head %s alone differs from it among all", fixture, count,
                     spec);
        mhv_attn_free(&a1), mhv_attn_free(&a2), mhv_attn_free(&as), mhv_attn_free(&a3);
        const cJSON *lg = cJSON_GetObjectItem(s, "logits_last");
        if (lg)
            check_logits(m, pos, np, ids, n, tgt, nt, lg, fixture);
        free(ids), free(gpos), free(tgt);
        count++;
    }
    assert_true(count > 0 && with_global > 0);
    int gens = 0; /* LED's greedy generate() with a global_attention_mask */
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(g, "generate"))
    {
        int ns, nw, np;
        int32_t *src = tu_json_ids(cJSON_GetObjectItem(s, "src_ids"), &ns);
        int32_t *want = tu_json_ids(cJSON_GetObjectItem(s, "ids"), &nw);
        int32_t *gpos = tu_json_ids(cJSON_GetObjectItem(s, "global"), &np);
        int max_new = cJSON_GetObjectItem(s, "max_new")->valueint, n = 0, pos[64];
        assert_true(np <= 64);
        for (int i = 0; i < np; i++)
            pos[i] = (int)gpos[i];
        int32_t *got = malloc((size_t)(max_new + 1) * sizeof *got);
        mhv_forward_ctx *fc = ctx_with(NULL, 2, pos, np);
        if (mhv_forward_generate(fc, m, src, ns, max_new, got, &n, &err))
            fail_msg("%s: generate: %s", fixture, err.msg);
        mhv_forward_ctx_free(fc);
        assert_int_equal(n, nw);
        for (int i = 0; i < n; i++)
            if (got[i] != want[i])
                fail_msg("%s generation %d: token %d is %d, want %d", fixture, gens, i,
                         (int)got[i], (int)want[i]);
        free(src), free(want), free(gpos), free(got);
        gens++;
    }
    print_message("%s: %d sentences within %.2g, %d generations\n", file, count, tol, gens);
    mhv_heads_free(&sel), mhv_heads_free(&one);
    mhv_model_close(m);
    cJSON_Delete(g);
}

static int is_global_golden(const struct dirent *d)
{
    size_t len = strlen(d->d_name);
    return strncmp(d->d_name, "global-", 7) == 0 && len > 5 &&
           strcmp(d->d_name + len - 5, ".json") == 0;
}

static void test_goldens(void **state)
{
    (void)state;
    struct dirent **list;
    int n = scandir("tests/fixtures/goldens", &list, is_global_golden, alphasort);
    assert_true(n >= 6);
    for (int i = 0; i < n; i++) {
        check_golden(list[i]->d_name);
        free(list[i]);
    }
    free(list);
}

static mhv_model *open_fixture(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/%s", name);
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open(path, &m, &err))
        fail_msg("%s: %s", name, err.msg);
    return m;
}

/* One pass of m over n tokens (ids 4, 5 ...) with global pos(count) and the context's
 * params; its status, err's message into msg. */
static mhv_status try_run(const mhv_model *m, const mhv_forward_params *p, const int *pos,
                          int count, int n, char *msg)
{
    int32_t ids[16];
    for (int i = 0; i < n; i++)
        ids[i] = 4 + i;
    mhv_forward_ctx *c;
    mhv_error err = {0};
    mhv_heads sel;
    mhv_attn a;
    assert_int_equal(mhv_forward_ctx_new(p, &c, &err), MHV_OK);
    assert_int_equal(mhv_forward_ctx_global(c, pos, count, &err), MHV_OK);
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL), 0);
    mhv_status st = mhv_forward_run(c, m, ids, n, &sel, &a, &err);
    if (!st)
        mhv_attn_free(&a);
    strcpy(msg, err.msg);
    mhv_heads_free(&sel);
    mhv_forward_ctx_free(c);
    return st;
}

/* What is refused: a model without global attention, a position past the tokens, positions
 * out of order, value norms; packing turned off while global tokens are set. */
static void test_refusals(void **state)
{
    (void)state;
    mhv_model *bert = open_fixture("fam-bert-pair"), *lf = open_fixture("fam-longformer-f32");
    mhv_forward_params p = {.threads = 1};
    char msg[256];
    int first[1] = {0}, far[2] = {1, 6};
    assert_int_equal(try_run(bert, &p, first, 1, 4, msg), MHV_EUSAGE);
    assert_string_equal(msg, "bert has no global attention (longformer and led have)");
    assert_int_equal(try_run(lf, &p, far, 2, 6, msg), MHV_EUSAGE);
    assert_string_equal(msg, "global token 6 is past the 6 tokens");
    assert_int_equal(try_run(lf, &p, far, 2, 7, msg), MHV_OK);
    mhv_forward_params vn = {.threads = 1, .value_norms = MHV_VNORM_V};
    assert_int_equal(try_run(lf, &vn, first, 1, 4, msg), MHV_EUNSUPPORTED);
    assert_non_null(strstr(msg, "value norms"));
    mhv_forward_ctx *c;
    mhv_error err = {0};
    int back[2] = {3, 1};
    assert_int_equal(mhv_forward_ctx_new(&p, &c, &err), MHV_OK);
    assert_int_equal(mhv_forward_ctx_global(c, back, 2, &err), MHV_EUSAGE);
    assert_int_equal(mhv_forward_ctx_global(c, first, 1, &err), MHV_OK);
    assert_int_equal(mhv_forward_pack_tokens(c, lf), 0);
    assert_int_equal(mhv_forward_ctx_global(c, NULL, 0, &err), MHV_OK);
    assert_true(mhv_forward_pack_tokens(c, lf) > 0 || mhv_forward_pack_tokens(c, bert) == 0);
    mhv_forward_ctx_free(c);
    mhv_model_close(bert);
    mhv_model_close(lf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
