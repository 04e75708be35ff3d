/* run --format safetensors (analysis/stwrite.h) read back with the checkpoint reader
 * (ckpt/safetensors.h) and compared with the JSON report of the same run: every value
 * (exact in F32, the round-to-nearest-even F16/BF16 of it otherwise), the metadata, for
 * every row selection (analysis/rows.h), streamed layer by layer or from a whole run.
 * tests/gen/check_stwrite.py does the same comparison with the `safetensors` package. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/report.h"
#include "analysis/rows.h"
#include "analysis/stwrite.h"
#include "ckpt/safetensors.h"
#include "model/forward.h"

#include "testutil.h"

static const char sentence[] = "苹果从树上掉下来，小明把它捡起来了。";

typedef struct {
    mhv_model *m;
    mhv_tok *tok;
    mhv_encoding enc;
    mhv_forward_ctx *fc;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    mhv_error err = {0};
    assert_int_equal(mhv_model_open("samples/model", &f->m, &err), MHV_OK);
    f->tok = tu_open_tok_dir("samples/model");
    assert_int_equal(mhv_tok_encode(f->tok, sentence, strlen(sentence), &f->enc, &err), MHV_OK);
    mhv_forward_params p = {.threads = 2};
    assert_int_equal(mhv_forward_ctx_new(&p, &f->fc, &err), MHV_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mhv_forward_ctx_free(f->fc);
    mhv_encoding_free(&f->enc);
    mhv_tok_close(f->tok);
    mhv_model_close(f->m);
    free(f);
    return 0;
}

/* The JSON report of one run with rows (NULL: all), parsed. */
static cJSON *report(fixture *f, const mhv_heads *sel, const int *rows, int nrows)
{
    mhv_error err = {0};
    mhv_forward_opts o = {.rows = rows, .nrows = nrows};
    mhv_attn a;
    assert_int_equal(mhv_forward_run_opts(f->fc, f->m, f->enc.ids, NULL, f->enc.n, sel, &o, &a,
                                          &err), MHV_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    mhv_model_info info = mhv_model_describe(f->m);
    mhv_report_begin(m, &info);
    mhv_report_sentence(m, 0, sentence, strlen(sentence), &f->enc, f->tok, &a);
    mhv_report_end(m);
    fclose(m);
    mhv_attn_free(&a);
    cJSON *j = cJSON_ParseWithLength(text, len);
    assert_non_null(j);
    free(text);
    return j;
}

/* Writes the safetensors file of the same run to path, streamed or from a whole run. */
static void write_st(fixture *f, const char *path, const mhv_heads *sel, const int *rows,
                     int nrows, mhv_dtype dt, int stream)
{
    mhv_error err = {0};
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    mhv_model_info info = mhv_model_describe(f->m);
    mhv_stw_desc d = {.model = &info, .sel = sel, .rows = rows, .nrows = nrows, .dtype = dt,
                      .text = sentence, .len = strlen(sentence), .enc = &f->enc, .tok = f->tok};
    mhv_stw *w;
    assert_int_equal(mhv_stw_begin(out, path, &d, &w, &err), MHV_OK);
    mhv_forward_opts o = {.rows = rows, .nrows = nrows};
    mhv_attn a;
    if (stream == 2) { /* head by head, in any order, from the pool's threads */
        o.head_sink = mhv_stw_head, o.sink_ctx = w;
        if (mhv_forward_run_opts(f->fc, f->m, f->enc.ids, NULL, f->enc.n, sel, &o, &a, &err))
            fail_msg("%s", err.msg);
    } else if (stream) {
        o.sink = mhv_stw_layer, o.sink_ctx = w;
        if (mhv_forward_run_opts(f->fc, f->m, f->enc.ids, NULL, f->enc.n, sel, &o, &a, &err))
            fail_msg("%s", err.msg);
    } else {
        assert_int_equal(mhv_forward_run_opts(f->fc, f->m, f->enc.ids, NULL, f->enc.n, sel, &o,
                                              &a, &err), MHV_OK);
        for (int k0 = 0, k1; k0 < a.count; k0 = k1) {
            for (k1 = k0; k1 < a.count && a.heads[k1].layer == a.heads[k0].layer; k1++)
                ;
            mhv_attn layer = a;
            layer.heads += k0, layer.count = k1 - k0;
            assert_int_equal(mhv_stw_layer(w, &layer, &err), MHV_OK);
        }
        mhv_attn_free(&a);
    }
    assert_int_equal(mhv_stw_end(w, &err), MHV_OK);
    assert_int_equal(fclose(out), 0);
}

/* The metadata entry key of the file's header, parsed as JSON (the header read by hand:
 * ckpt/safetensors.h keeps no metadata). */
static cJSON *meta_json(const char *path, const char *key, char **raw)
{
    size_t len;
    char *all = tu_read_file(path, &len);
    assert_true(len >= 8);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++)
        hl |= (uint64_t)(unsigned char)all[i] << (8 * i);
    assert_true(hl <= len - 8);
    assert_int_equal((8 + hl) % 8, 0); /* data aligned like the safetensors library's */
    cJSON *h = cJSON_ParseWithLength(all + 8, (size_t)hl);
    assert_non_null(h);
    free(all);
    const cJSON *md = cJSON_GetObjectItem(h, "__metadata__");
    assert_true(cJSON_IsObject(md));
    const cJSON *v = cJSON_GetObjectItem(md, key);
    assert_true(cJSON_IsString(v));
    if (raw) {
        *raw = strdup(v->valuestring);
        cJSON_Delete(h);
        return NULL;
    }
    cJSON *j = cJSON_Parse(v->valuestring);
    assert_non_null(j);
    cJSON_Delete(h);
    return j;
}

static void assert_json_equal(const cJSON *a, const cJSON *b)
{
    if (!cJSON_Compare(a, b, 1)) {
        char *sa = cJSON_PrintUnformatted(a), *sb = cJSON_PrintUnformatted(b);
        fail_msg("%s != %s", sa, sb);
    }
}

/* The file at path against the report j: every weight, the tokens, ids, spans, rows. */
static void compare(const char *path, const cJSON *j, mhv_dtype dt, int n, int nrows)
{
    mhv_error err = {0};
    mhv_st *st;
    if (mhv_st_open_file(path, &st, &err) != MHV_OK)
        fail_msg("%s: %s", path, err.msg);
    const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "sentences"), 0);
    cJSON *heads = meta_json(path, "heads", NULL);
    size_t tensors = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(s, "attentions"))
    {
        int layer = cJSON_GetObjectItem(a, "layer")->valueint;
        int head = cJSON_GetObjectItem(a, "head")->valueint;
        char name[32];
        snprintf(name, sizeof name, "attn.L%02d", layer);
        const mhv_tensor *t = mhv_st_find(st, name);
        assert_non_null(t);
        assert_int_equal(t->dtype, dt);
        assert_int_equal(t->ndim, 3);
        assert_int_equal(t->shape[1], nrows);
        assert_int_equal(t->shape[2], n);
        const cJSON *hl = cJSON_GetObjectItem(heads, name), *e;
        assert_int_equal(cJSON_GetArraySize(hl), t->shape[0]);
        int k = 0, found = -1;
        cJSON_ArrayForEach(e, hl)
        {
            if (e->valueint == head)
                found = k;
            k++;
        }
        assert_true(found >= 0);
        tensors += found == 0;
        const cJSON *rows = cJSON_GetObjectItem(a, "weights"), *row;
        assert_int_equal(cJSON_GetArraySize(rows), nrows);
        int r = 0;
        cJSON_ArrayForEach(row, rows)
        {
            assert_int_equal(cJSON_GetArraySize(row), n);
            int c = 0;
            const cJSON *v;
            cJSON_ArrayForEach(v, row)
            {
                float want = (float)v->valuedouble;
                size_t at = ((size_t)found * (size_t)nrows + (size_t)r) * (size_t)n + (size_t)c;
                if (dt == MHV_DT_F32) {
                    float got;
                    memcpy(&got, (const char *)t->data + at * 4, 4);
                    assert_memory_equal(&got, &want, 4);
                } else {
                    uint16_t got;
                    memcpy(&got, (const char *)t->data + at * 2, 2);
                    assert_int_equal(got, dt == MHV_DT_F16 ? mhv_f32_to_f16(want)
                                                           : mhv_f32_to_bf16(want));
                }
                c++;
            }
            r++;
        }
    }
    assert_int_equal(mhv_st_count(st), tensors);
    cJSON_Delete(heads);
    mhv_st_close(st);
    static const char *const keys[] = {"tokens", "token_texts", "token_ids", "spans"};
    for (int i = 0; i < 4; i++) {
        cJSON *m = meta_json(path, keys[i], NULL);
        assert_json_equal(m, cJSON_GetObjectItem(s, keys[i]));
        cJSON_Delete(m);
    }
    cJSON *rows = meta_json(path, "rows", NULL);
    const cJSON *jr = cJSON_GetObjectItem(s, "rows");
    if (jr) {
        assert_json_equal(rows, jr);
    } else {
        assert_int_equal(cJSON_GetArraySize(rows), n);
        for (int i = 0; i < n; i++)
            assert_int_equal(cJSON_GetArrayItem(rows, i)->valueint, i);
    }
    cJSON_Delete(rows);
    cJSON *model = meta_json(path, "model", NULL);
    assert_json_equal(model, cJSON_GetObjectItem(j, "model"));
    cJSON_Delete(model);
    char *text, *format;
    meta_json(path, "text", &text);
    meta_json(path, "format", &format);
    assert_string_equal(text, sentence);
    assert_string_equal(format, "mhaviz-attention");
    free(text), free(format);
}

static void test_read_back(void **state)
{
    fixture *f = *state;
    char path[] = "/tmp/mhaviz-stw-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    static const char *const heads[] = {"all", "1:0,3:*", "2:3"};
    static const char *const specs[] = {NULL, "last", "-3,2:4", "word:它,0", "word:none"};
    static const mhv_dtype dts[] = {MHV_DT_F32, MHV_DT_F16, MHV_DT_BF16};
    mhv_error err = {0};
    for (int h = 0; h < 3; h++) {
        mhv_heads sel;
        assert_int_equal(mhv_heads_parse(heads[h], f->m->cfg.num_layers, f->m->cfg.num_heads,
                                         &sel, &err), MHV_OK);
        for (int s = 0; s < 5; s++) {
            int *rows = NULL, nrows = f->enc.n;
            if (specs[s])
                assert_int_equal(mhv_rows_resolve(specs[s], sentence, strlen(sentence), &f->enc,
                                                  &rows, &nrows, &err), MHV_OK);
            cJSON *j = report(f, &sel, rows, nrows);
            for (int d = 0; d < 3; d++)
                for (int stream = 0; stream < 3; stream++) {
                    write_st(f, path, &sel, rows, nrows, dts[d], stream);
                    compare(path, j, dts[d], f->enc.n, nrows);
                }
            cJSON_Delete(j);
            free(rows);
        }
        mhv_heads_free(&sel);
    }
    unlink(path);
}

static void test_rows(void **state)
{
    fixture *f = *state;
    mhv_error err = {0};
    int n = f->enc.n; /* [CLS] 苹 果 从 ... 它(13) ... 。[SEP] : 20 tokens */
    assert_int_equal(n, 20);
    static const struct {
        const char *spec;
        int want[8];
        int count;
    } cases[] = {
        {"last", {19}, 1},          {"-3", {17, 18, 19}, 3},      {"2:4", {2, 3}, 2},
        {"18:", {18, 19}, 2},       {":2,last", {0, 1, 19}, 3},   {"5", {5}, 1},
        {"word:它", {13}, 1},       {"word:苹果,1", {1, 2}, 2},    {"-100", {0}, -20},
        {"30", {0}, 0},             {"word:猫", {0}, 0},          {"19:40,last", {19}, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int *rows, nrows;
        assert_int_equal(mhv_rows_check(cases[c].spec, &err), MHV_OK);
        assert_int_equal(mhv_rows_resolve(cases[c].spec, sentence, strlen(sentence), &f->enc,
                                          &rows, &nrows, &err), MHV_OK);
        if (cases[c].count < 0) { /* every row */
            assert_int_equal(nrows, -cases[c].count);
            for (int i = 0; i < nrows; i++)
                assert_int_equal(rows[i], i);
        } else {
            assert_int_equal(nrows, cases[c].count);
            for (int i = 0; i < nrows; i++)
                assert_int_equal(rows[i], cases[c].want[i]);
        }
        free(rows);
    }
    static const char *const bad[] = {"", "lastt", "-0", "-", "4:2", "4:4", "a:b", "1,,2",
                                      "word:", ":x", "1234567890", ",", "last,"};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        if (mhv_rows_check(bad[b], &err) != MHV_EUSAGE)
            fail_msg("--rows '%s' accepted", bad[b]);
        /* the library names the problem; the CLI names the option */
        assert_true(err.msg[0] != '\0' && strstr(err.msg, "--rows") == NULL);
    }
}

/* Layers the header does not expect, out of order, or missing are refused. */
static void test_writer_checks(void **state)
{
    fixture *f = *state;
    mhv_error err = {0};
    mhv_heads sel;
    assert_int_equal(mhv_heads_parse("1:0,3:*", f->m->cfg.num_layers, f->m->cfg.num_heads, &sel,
                                     &err), MHV_OK);
    mhv_attn a;
    assert_int_equal(mhv_forward_run(f->fc, f->m, f->enc.ids, f->enc.n, &sel, &a, &err), MHV_OK);
    FILE *out = tmpfile();
    mhv_model_info info = mhv_model_describe(f->m);
    mhv_stw_desc d = {.model = &info, .sel = &sel, .dtype = MHV_DT_F32, .text = sentence,
                      .len = strlen(sentence), .enc = &f->enc, .tok = f->tok};
    mhv_stw *w;
    assert_int_equal(mhv_stw_begin(out, "x.safetensors", &d, &w, &err), MHV_OK);
    mhv_attn l3 = a;
    l3.heads += 1, l3.count = 4;
    assert_int_equal(mhv_stw_layer(w, &l3, &err), MHV_EUSAGE); /* layer 1 first */
    mhv_attn l1 = a;
    l1.count = 1;
    assert_int_equal(mhv_stw_layer(w, &l1, &err), MHV_OK);
    l3.count = 3; /* a head short */
    assert_int_equal(mhv_stw_layer(w, &l3, &err), MHV_EUSAGE);
    assert_int_equal(mhv_stw_end(w, &err), MHV_EUSAGE);
    assert_string_equal(err.msg, "layer 3 was never written");
    d.dtype = MHV_DT_I32;
    assert_int_equal(mhv_stw_begin(out, "x.safetensors", &d, &w, &err), MHV_EUSAGE);
    fclose(out);
    mhv_attn_free(&a);
    assert_int_equal(mhv_stw_data_bytes(&sel, 20, 3, MHV_DT_BF16), 5 * 3 * 20 * 2);
    mhv_heads_free(&sel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_back),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_writer_checks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
