/* Encoder-decoder models (T5, mT5, UMT5, BART, mBART, Marian) against Hugging Face
 * transformers: each golden tests/fixtures/goldens/s2s-*.json (made by tests/gen/fam_t5.py,
 * fam_bart.py, fam_marian.py) names a fixture checkpoint; every head of the encoder, the
 * decoder and the cross-attention must match transformers' eager attention (float64 run of
 * the checkpoint's weights) within the golden's tolerance, on 1 and 2 threads with the same
 * bytes and with the scalar kernels; the decoder's last logits and greedy generation's tokens
 * too where the golden has them. Also: head selection by stack, and the refusals. */
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

#include "model/config.h"
#include "model/forward.h"
#include "nn/blocks.h"

#include "stack_expect.h"
#include "testutil.h"

#define LOGIT_TOL 1e-4

static void run_with(const mhv_model *m, const char *kernel, int threads, const int32_t *src,
                     int ns, const int32_t *tgt, int nt, const mhv_heads *sel, mhv_attn *a)
{
    mhv_forward_params p = {.threads = threads, .kernel = kernel};
    mhv_forward_ctx *c;
    mhv_error err = {0};
    if (mhv_forward_ctx_new(&p, &c, &err) ||
        mhv_forward_run_seq2seq(c, m, src, ns, tgt, nt, sel, a, &err))
        fail_msg("%s: forward: %s", m->dir, err.msg);
    mhv_forward_ctx_free(c);
}

/* Generation's next-token logits (mhv_forward_seq2seq_next) are the last row of the whole
 * pass's, the same bytes, with the encoder memo empty and then filled, on every table. */
static void check_next_logits(const mhv_model *m, const int32_t *src, int ns,
                              const int32_t *tgt, int nt, const char *fixture, int sentence)
{
    static const char *const tables[] = {NULL, "avx2", "scalar"};
    size_t V = (size_t)m->cfg.dec_vocab_size, cells = (size_t)nt * V;
    float *whole = malloc(cells * sizeof *whole), *step = malloc(cells * sizeof *step);
    mhv_nn_memo *memo = calloc(1, sizeof *memo);
    assert_non_null(whole), assert_non_null(step), assert_non_null(memo);
    for (int t = 0; t < 3; t++) {
        mhv_forward_params p = {.threads = 2, .kernel = tables[t]};
        mhv_forward_ctx *fc;
        mhv_error err = {0};
        if (mhv_forward_ctx_new(&p, &fc, &err))
            continue; /* a table this CPU does not have */
        if (mhv_forward_seq2seq_logits(fc, m, src, ns, tgt, nt, whole, &err))
            fail_msg("%s: logits: %s", fixture, err.msg);
        for (int pass = 0; pass < 2; pass++) {
            const float *next;
            if (mhv_forward_seq2seq_next(fc, m, src, ns, NULL, tgt, nt, memo, step, &next, &err))
                fail_msg("%s: next logits: %s", fixture, err.msg);
            assert_non_null(memo->x[0]);
            if (memcmp(next, whole + (size_t)(nt - 1) * V, V * sizeof *next) != 0)
                fail_msg("%s sentence %d (%s): next-token logits (pass %d) differ from the "
                         "last row of the whole pass", fixture, sentence,
                         tables[t] ? tables[t] : "widest", pass);
        }
        mhv_nn_memo_free(memo);
        mhv_forward_ctx_free(fc);
    }
    free(memo), free(whole), free(step);
}

static void check_golden(const char *file)
{
    cJSON *g;
    const char *fixture;
    double tol;
    mhv_model *m = tu_open_golden(file, &g, &fixture, &tol);
    mhv_error err = {0};
    const mhv_config *c = &m->cfg;
    assert_true(c->enc_dec);
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse_seq2seq("all", c->num_layers, c->dec_layers, c->num_heads,
                                             &sel, NULL), 0);
    const cJSON *s;
    int count = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(g, "sentences"))
    {
        int ns, nt;
        int32_t *src = tu_json_ids(cJSON_GetObjectItem(s, "src_ids"), &ns);
        int32_t *tgt = tu_json_ids(cJSON_GetObjectItem(s, "tgt_ids"), &nt);
        mhv_attn a1, a2, as;
        run_with(m, NULL, 1, src, ns, tgt, nt, &sel, &a1);
        run_with(m, NULL, 2, src, ns, tgt, nt, &sel, &a2);
        run_with(m, "scalar", 1, src, ns, tgt, nt, &sel, &as);
        assert_int_equal(a1.n_src, ns);
        assert_int_equal(a1.n_tgt, nt);
        static const char *const keys[] = {"encoder", "decoder", "cross"};
        static const mhv_stack stacks[] = {MHV_STACK_ENCODER, MHV_STACK_DECODER,
                                           MHV_STACK_CROSS};
        for (int k = 0; k < 3; k++) {
            const cJSON *want = cJSON_GetObjectItem(s, keys[k]);
            int seen = 0, seen_s = 0;
            double w1 = compare_stack(&a1, stacks[k], want, &seen);
            double ws = compare_stack(&as, stacks[k], want, &seen_s);
            int layers = cJSON_GetArraySize(want);
            assert_int_equal(seen, layers * c->num_heads);
            if (w1 > tol || ws > tol)
                fail_msg("%s sentence %d (%d x %d tokens): %s attention differs by %.3g "
                         "(scalar %.3g) > %.3g",
                         fixture, count, ns, nt, keys[k], w1, ws, tol);
        }
        size_t cells = 0;
        for (int h = 0; h < a1.count; h++)
            cells += (size_t)a1.heads[h].rows * (size_t)a1.heads[h].cols;
        if (memcmp(a1.buf, a2.buf, cells * sizeof(float)) != 0)
            fail_msg("%s sentence %d: 1 and 2 threads differ", fixture, count);
        mhv_attn_free(&a1), mhv_attn_free(&a2), mhv_attn_free(&as);

        const cJSON *lg = cJSON_GetObjectItem(s, "logits_last");
        if (lg) {
            int V = c->dec_vocab_size;
            assert_int_equal(cJSON_GetArraySize(lg), V);
            float *logits = malloc((size_t)nt * (size_t)V * sizeof *logits);
            mhv_forward_params p = {.threads = 2};
            mhv_forward_ctx *fc;
            if (mhv_forward_ctx_new(&p, &fc, &err) ||
                mhv_forward_seq2seq_logits(fc, m, src, ns, tgt, nt, logits, &err))
                fail_msg("%s: logits: %s", fixture, err.msg);
            mhv_forward_ctx_free(fc);
            check_next_logits(m, src, ns, tgt, nt, fixture, count);
            for (int v = 0; v < V; v++) {
                double want_l = cJSON_GetArrayItem(lg, v)->valuedouble;
                double got = logits[(size_t)(nt - 1) * (size_t)V + (size_t)v];
                if (fabs(got - want_l) > LOGIT_TOL * (1 + fabs(want_l)))
                    fail_msg("%s sentence %d: logit %d is %.7g, want %.7g", fixture, count, v,
                             got, want_l);
            }
            free(logits);
        }
        free(src);
        free(tgt);
        count++;
    }
    assert_true(count > 0);
    int gens = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(g, "generate"))
    {
        int ns, nw;
        int32_t *src = tu_json_ids(cJSON_GetObjectItem(s, "src_ids"), &ns);
        int32_t *want = tu_json_ids(cJSON_GetObjectItem(s, "ids"), &nw);
        int max_new = cJSON_GetObjectItem(s, "max_new")->valueint, n = 0;
        int32_t *got = malloc((size_t)(max_new + 1) * sizeof *got);
        mhv_forward_params p = {.threads = 1};
        mhv_forward_ctx *fc;
        if (mhv_forward_ctx_new(&p, &fc, &err) ||
            mhv_forward_generate(fc, m, src, ns, max_new, got, &n, &err))
            fail_msg("%s: generate: %s", fixture, err.msg);
        mhv_forward_ctx_free(fc);
        assert_int_equal(n, nw);
        for (int i = 0; i < n; i++)
            if (got[i] != want[i])
                fail_msg("%s generation %d: token %d is %d, want %d", fixture, gens, i,
                         (int)got[i], (int)want[i]);
        free(src), free(want), free(got);
        gens++;
    }
    print_message("%s: %d sentences within %.2g, %d generations\n", fixture, count, tol, gens);
    mhv_heads_free(&sel);
    mhv_model_close(m);
    cJSON_Delete(g);
}

static int is_s2s_golden(const struct dirent *d)
{
    size_t len = strlen(d->d_name);
    return strncmp(d->d_name, "s2s-", 4) == 0 && len > 5 && strcmp(d->d_name + len - 5, ".json") == 0;
}

static void test_goldens(void **state)
{
    (void)state;
    struct dirent **list;
    int n = scandir("tests/fixtures/goldens", &list, is_s2s_golden, alphasort);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        check_golden(list[i]->d_name);
        free(list[i]);
    }
    free(list);
}

/* A subset of heads gives the same maps as the full run, in stack order; only the layers
 * needed run. */
static void test_selection(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open("tests/fixtures/s2s-t5-f32", &m, &err) != MHV_OK)
        fail_msg("%s: %s", err.file, err.msg);
    const mhv_config *c = &m->cfg;
    int32_t src[5] = {5, 9, 11, 3, 40}, tgt[3] = {0, 7, 8};
    mhv_heads all, some;
    assert_int_equal(mhv_heads_parse_seq2seq("all", c->num_layers, c->dec_layers, c->num_heads,
                                             &all, NULL), 0);
    static const char *const specs[] = {"enc:0:1", "cross:2:*", "dec:1:3,enc:*:0",
                                        "*:1:2", "cross:0:0,dec:0:0"};
    mhv_attn full;
    run_with(m, NULL, 2, src, 5, tgt, 3, &all, &full);
    for (size_t t = 0; t < sizeof specs / sizeof specs[0]; t++) {
        if (mhv_heads_parse_seq2seq(specs[t], c->num_layers, c->dec_layers, c->num_heads, &some,
                                    &err) != MHV_OK)
            fail_msg("%s: %s", specs[t], err.msg);
        mhv_attn a;
        run_with(m, NULL, 2, src, 5, tgt, 3, &some, &a);
        assert_int_equal(a.count, mhv_heads_count(&some));
        int prev = -1;
        for (int s = 0; s < a.count; s++) {
            const mhv_head_attn *h = &a.heads[s];
            int key = (int)h->stack * 10000 + h->layer * 100 + h->head;
            assert_true(key > prev); /* stack, layer, head order */
            prev = key;
            const mhv_head_attn *f = NULL;
            for (int u = 0; u < full.count; u++)
                if (full.heads[u].stack == h->stack && full.heads[u].layer == h->layer &&
                    full.heads[u].head == h->head)
                    f = &full.heads[u];
            assert_non_null(f);
            assert_int_equal(h->rows, f->rows);
            assert_int_equal(h->cols, f->cols);
            assert_memory_equal(h->w, f->w, (size_t)h->rows * (size_t)h->cols * sizeof(float));
        }
        mhv_attn_free(&a);
        mhv_heads_free(&some);
    }
    mhv_attn_free(&full);
    /* malformed and out-of-range specs */
    static const char *const bad[] = {"0:1", "enc:9:0", "cross:0", "xenc:0:0", "dec:0:9", ""};
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++)
        assert_int_equal(mhv_heads_parse_seq2seq(bad[t], c->num_layers, c->dec_layers,
                                                 c->num_heads, &some, &err),
                         MHV_EUSAGE);
    /* the single-sequence entries refuse an encoder-decoder; bad target ids are refused */
    mhv_attn a;
    mhv_forward_ctx *fc;
    mhv_forward_params p = {.threads = 1};
    assert_int_equal(mhv_forward_ctx_new(&p, &fc, &err), 0);
    assert_int_equal(mhv_forward_run(fc, m, src, 5, &all, &a, &err), MHV_EUNSUPPORTED);
    int32_t bad_tgt[2] = {0, c->dec_vocab_size};
    assert_int_equal(mhv_forward_run_seq2seq(fc, m, src, 5, bad_tgt, 2, &all, &a, &err),
                     MHV_EUSAGE);
    assert_int_equal(mhv_forward_run_seq2seq(fc, m, src, 5, tgt, 0, &all, &a, &err), MHV_EUSAGE);
    mhv_forward_ctx_free(fc);
    mhv_heads_free(&all);
    mhv_model_close(m);
}

/* A decoder-only model refuses the encoder-decoder entry. */
static void test_not_seq2seq(void **state)
{
    (void)state;
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open("tests/fixtures/fam-opt-f32", &m, &err) != MHV_OK) {
        print_message("skipped: fam-opt-f32: %s\n", err.msg);
        return;
    }
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("all", m->cfg.num_layers, m->cfg.num_heads, &sel, NULL), 0);
    int32_t ids[2] = {3, 4};
    mhv_attn a;
    mhv_forward_ctx *fc;
    mhv_forward_params p = {.threads = 1};
    assert_int_equal(mhv_forward_ctx_new(&p, &fc, &err), 0);
    assert_int_equal(mhv_forward_run_seq2seq(fc, m, ids, 2, ids, 2, &sel, &a, &err),
                     MHV_EUNSUPPORTED);
    /* self-only runs keep stack SELF and n x n */
    assert_int_equal(mhv_forward_run(fc, m, ids, 2, &sel, &a, &err), 0);
    assert_int_equal(a.heads[0].stack, MHV_STACK_SELF);
    assert_int_equal(a.heads[0].rows, 2);
    assert_int_equal(a.n_tgt, 0);
    mhv_attn_free(&a);
    mhv_forward_ctx_free(fc);
    mhv_heads_free(&sel);
    mhv_model_close(m);
}

/* What the encoder-decoder families do not implement is refused by name. */
static void test_config_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *json, *needle;
    } cases[] = {
        {"{\"model_type\": \"t5\", \"feed_forward_proj\": \"gated-swishy\"}",
         "feed_forward_proj"},
        {"{\"model_type\": \"t5\", \"feed_forward_proj\": \"a-b-c\"}", "feed_forward_proj"},
        {"{\"model_type\": \"t5\", \"relative_attention_num_buckets\": 32, "
         "\"relative_attention_max_distance\": 16}",
         "relative_attention_max_distance"},
        {"{\"model_type\": \"bart\", \"encoder_attention_heads\": 4, "
         "\"decoder_attention_heads\": 8, \"d_model\": 32}",
         "decoder_attention_heads"},
        {"{\"model_type\": \"bart\", \"activation_function\": \"nope\"}", "activation"},
        {"{\"model_type\": \"marian\", \"eos_token_id\": \"x\"}", "eos_token_id"},
        {"{\"model_type\": \"mvp\", \"use_prompt\": true}", "use_prompt is not supported"},
        {"{\"model_type\": \"led\", \"encoder_layers\": 2, \"attention_window\": 5}",
         "attention_window"},
        {"{\"model_type\": \"led\", \"encoder_layers\": 2, \"attention_window\": [4]}",
         "lists 1 windows for 2 encoder layers"},
        {"{\"model_type\": \"bigbird_pegasus\", \"attention_type\": \"sparse\"}",
         "attention_type 'sparse' is neither original_full nor block_sparse"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mhv_config c;
        mhv_error err = {0};
        if (mhv_config_parse(cases[i].json, strlen(cases[i].json), "config.json", &c, &err) ==
            MHV_OK)
            fail_msg("accepted: %s", cases[i].json);
        if (!strstr(err.msg, cases[i].needle))
            fail_msg("%s: message '%s' lacks '%s'", cases[i].json, err.msg, cases[i].needle);
    }
    /* the defaults of the transformers config classes */
    const char *t5 = "{\"model_type\": \"mt5\"}";
    mhv_config c;
    mhv_error err = {0};
    assert_int_equal(mhv_config_parse(t5, strlen(t5), "config.json", &c, &err), MHV_OK);
    assert_true(c.enc_dec && c.gated_ffn && c.act == MHV_ACT_GELU_NEW);
    assert_int_equal(c.num_layers, 8);
    assert_int_equal(c.dec_layers, 8);
    assert_int_equal(c.num_heads, 6);
    assert_int_equal(c.vocab_size, 250112);
    assert_true(c.out_scale == 0); /* mT5 never rescales */
    const char *mb = "{\"model_type\": \"mbart\", \"eos_token_id\": 2}";
    assert_int_equal(mhv_config_parse(mb, strlen(mb), "config.json", &c, &err), MHV_OK);
    assert_true(c.pre_norm && c.final_norm);
    assert_int_equal(c.decoder_start_id, 2);
    /* BigBirdPegasusConfig's: block_sparse encoder, no attention biases, learned positions */
    const char *bp = "{\"model_type\": \"bigbird_pegasus\"}";
    assert_int_equal(mhv_config_parse(bp, strlen(bp), "config.json", &c, &err), MHV_OK);
    assert_true(c.enc_dec && c.pre_norm && c.final_norm && c.act == MHV_ACT_GELU_NEW);
    assert_int_equal(c.vocab_size, 96103);
    assert_int_equal(c.max_positions, 4096);
    assert_int_equal(c.num_layers, 16);
    assert_int_equal(c.pos_offset, 0);
    assert_true(c.embed_scale > 0 && !c.sinusoidal);
    assert_int_equal(c.sparse_full_max, (5 + 2 * 3) * 64);
    assert_int_equal(c.sparse_block, 64);
    assert_int_equal(c.sparse_random, 3);
    assert_int_equal(c.qkv_no_bias, 1);
    assert_int_equal(c.eos_id, 1);
    assert_int_equal(c.decoder_start_id, 2);
    const char *bf = "{\"model_type\": \"bigbird_pegasus\", \"attention_type\": "
                     "\"original_full\", \"use_bias\": true}";
    assert_int_equal(mhv_config_parse(bf, strlen(bf), "config.json", &c, &err), MHV_OK);
    assert_int_equal(c.sparse_full_max, 0);
    assert_int_equal(c.qkv_no_bias, 0);
}

/* The whole pass's logits of the token after tgt(len) (the encoder run again, no memo). */
static void whole_row(mhv_forward_ctx *fc, const mhv_model *m, const int32_t *src, int ns,
                      const float *feats, const int32_t *tgt, int len, float *all, float *want)
{
    mhv_error err = {0};
    size_t V = (size_t)m->cfg.dec_vocab_size;
    mhv_status st = feats ? mhv_forward_seq2seq_logits_audio(fc, m, feats, tgt, len, all, &err)
                          : mhv_forward_seq2seq_logits(fc, m, src, ns, tgt, len, all, &err);
    if (st)
        fail_msg("%s: %s", m->dir, err.msg);
    memcpy(want, all + (size_t)(len - 1) * V, V * sizeof *want);
}

/* Decoding steps of an encoder-decoder from the key/value caches (the encoder's output and
 * cross keys and values from the memo) give the whole pass's last row bytewise, for every
 * encoder-decoder fixture with an LM head (text, Whisper's audio, vision-encoder-decoders'
 * images): greedy steps, then two beams forked and swapped, on 2 threads and with the
 * scalar kernels. Only the positions counted over the target's pads (M2M100, NLLB, FSMT,
 * TrOCR's sinusoids) may rerun whole targets. */
static void test_cached_steps(void **state)
{
    (void)state;
    static const char *const whole_ok[] = {"m2m100", "nllb", "fsmt", "ved-deit-trocr"};
    static const struct {
        int threads;
        const char *kernel;
    } runs[] = {{2, NULL}, {1, "scalar"}};
    int checked = 0, cached_runs = 0;
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        DIR *d = opendir("tests/fixtures");
        assert_non_null(d);
        struct dirent *e;
        mhv_forward_params p = {.threads = runs[r].threads, .kernel = runs[r].kernel};
        mhv_forward_ctx *fc;
        mhv_error err = {0};
        assert_int_equal(mhv_forward_ctx_new(&p, &fc, &err), MHV_OK);
        while ((e = readdir(d))) {
            char dir[512];
            snprintf(dir, sizeof dir, "tests/fixtures/%s", e->d_name);
            mhv_model *m;
            if (e->d_name[0] == '.' || mhv_model_open(dir, &m, &err) != MHV_OK)
                continue;
            const mhv_config *c = &m->cfg;
            if (!c->enc_dec || !m->lm_head.data || c->max_positions < 8) {
                mhv_model_close(m);
                continue;
            }
            int V = c->dec_vocab_size, ns = 7;
            int32_t src[7] = {4, 9, 12, 5, 7, 3, 2}, seq[2][8] = {{2 % V}};
            for (int i = 0; i < ns; i++)
                src[i] %= c->vocab_size;
            /* audio features or an image: any values of the encoder's input size */
            float *feats = NULL;
            size_t nf = 0;
            if (c->audio_positions) {
                const mhv_model *tower = m->image_tower;
                nf = c->image_enc_dec ? (size_t)tower->cfg.num_channels *
                                            (size_t)tower->cfg.image_size *
                                            (size_t)tower->cfg.image_size
                                      : (size_t)c->num_mel_bins * 2 * (size_t)c->audio_positions;
                feats = malloc(nf * sizeof *feats);
                for (size_t i = 0; i < nf; i++)
                    feats[i] = (float)((i * 7919) % 200) / 100.0f - 1.0f;
            }
            float *all = malloc((size_t)8 * (size_t)V * sizeof *all);
            float *want = malloc((size_t)V * sizeof *want);
            float *got = malloc((size_t)2 * (size_t)V * sizeof *got);
            mhv_nn_memo *memo = calloc(1, sizeof *memo);
            mhv_forward_kv *kv;
            if (mhv_forward_kv_new_seq2seq(m, 2, 8, feats ? NULL : src, ns, feats, memo, &kv,
                                           &err))
                fail_msg("%s: %s", dir, err.msg);
            int n = 1;
            for (; n <= 5; n++) { /* the start token, then greedy steps */
                if (mhv_forward_kv_next(fc, m, kv, seq[0], 1, n, got, &err))
                    fail_msg("%s: %s", dir, err.msg);
                whole_row(fc, m, src, ns, feats, seq[0], n, all, want);
                if (memcmp(got, want, (size_t)V * sizeof *want))
                    fail_msg("%s (%s): the cached step's logits at %d tokens are not the "
                             "whole pass's", dir, runs[r].kernel ? "scalar" : "2 threads", n);
                int best = 0;
                for (int v = 1; v < V; v++)
                    best = want[v] > want[best] ? v : best;
                seq[0][n] = best;
            }
            memcpy(seq[1], seq[0], sizeof seq[0]);
            seq[1][5] = (seq[0][5] + 1) % V;
            for (int len = 6; len <= 7; len++) { /* forked, then each continues the other */
                int32_t both[2 * 7];
                if (len == 7) {
                    int32_t t[8];
                    memcpy(t, seq[0], sizeof t);
                    memcpy(seq[0], seq[1], sizeof t), memcpy(seq[1], t, sizeof t);
                    seq[0][6] = 3 % V, seq[1][6] = 5 % V;
                }
                memcpy(both, seq[0], (size_t)len * sizeof *both);
                memcpy(both + len, seq[1], (size_t)len * sizeof *both);
                if (mhv_forward_kv_next(fc, m, kv, both, 2, len, got, &err))
                    fail_msg("%s: %s", dir, err.msg);
                for (int b = 0; b < 2; b++) {
                    whole_row(fc, m, src, ns, feats, seq[b], len, all, want);
                    if (memcmp(got + (size_t)b * (size_t)V, want, (size_t)V * sizeof *want))
                        fail_msg("%s (%s): beam %d's cached logits at %d tokens are not the "
                                 "whole pass's", dir, runs[r].kernel ? "scalar" : "2 threads",
                                 b, len);
                }
            }
            long cached, whole;
            mhv_forward_kv_stats(kv, &cached, &whole);
            int may = 0;
            for (size_t i = 0; i < sizeof whole_ok / sizeof whole_ok[0]; i++)
                may |= strstr(dir, whole_ok[i]) != NULL;
            if (whole && !may)
                fail_msg("%s: its steps ran whole targets, not from the cache", dir);
            if (!whole) {
                assert_int_equal(cached, 5 + 2 + 2);
                cached_runs++;
            }
            mhv_forward_kv_free(kv);
            mhv_nn_memo_free(memo);
            free(memo), free(feats), free(all), free(want), free(got);
            mhv_model_close(m);
            checked++;
        }
        closedir(d);
        mhv_forward_ctx_free(fc);
    }
    print_message("cached steps: %d encoder-decoder fixture runs, %d from the caches\n",
                  checked, cached_runs);
    assert_true(cached_runs >= 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens),
        cmocka_unit_test(test_selection),
        cmocka_unit_test(test_not_seq2seq),
        cmocka_unit_test(test_config_refusals),
        cmocka_unit_test(test_cached_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
