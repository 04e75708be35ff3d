/* testutil.h - what the test programs share: whole files and JSON goldens, tokenizers against
 * the Hugging Face goldens and llama.cpp's vectors, attention against a golden. Include it
 * after <cmocka.h>; the functions are static inline, so each program keeps the ones it uses. */
#ifndef MHV_TESTUTIL_H
#define MHV_TESTUTIL_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "model/forward.h"
#include "tok/tokenizer.h"

/* The ints of a JSON array as ids(*n) (the caller frees them; one element allocated at least). */
static inline int32_t *tu_json_ids(const cJSON *arr, int *n)
{
    *n = cJSON_GetArraySize(arr);
    int32_t *ids = malloc((size_t)(*n ? *n : 1) * sizeof *ids);
    for (int i = 0; i < *n; i++)
        ids[i] = cJSON_GetArrayItem(arr, i)->valueint;
    return ids;
}

/* The whole file, NUL-terminated (the caller frees it); *len (if non-NULL) gets its size.
 * Fails the test when the file cannot be read. */
static inline char *tu_read_file(const char *path, size_t *len)
{
    char *text;
    size_t n;
    mhv_error err = {0};
    if (mhv_read_file(path, 256u << 20, &text, &n, &err) != MHV_OK)
        fail_msg("%s: %s", err.file, err.msg);
    if (len)
        *len = n;
    return text;
}

static inline cJSON *tu_read_json(const char *path)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    assert_non_null(j);
    return j;
}

/* The golden tests/fixtures/goldens/<file> into *g (the caller deletes it), its fixture's name
 * and tolerance (checked to lie in [1e-5, 1e-3)), and that fixture's model, opened. */
static inline mhv_model *tu_open_golden(const char *file, cJSON **g, const char **fixture,
                                        double *tol)
{
    char path[1024];
    snprintf(path, sizeof path, "tests/fixtures/goldens/%s", file);
    *g = tu_read_json(path);
    *fixture = cJSON_GetObjectItem(*g, "fixture")->valuestring;
    *tol = cJSON_GetObjectItem(*g, "tolerance")->valuedouble;
    assert_true(*tol >= 1e-5 && *tol < 1e-3);
    snprintf(path, sizeof path, "tests/fixtures/%s", *fixture);
    mhv_model *m;
    mhv_error err = {0};
    if (mhv_model_open(path, &m, &err) != MHV_OK)
        fail_msg("%s: %s: %s", *fixture, err.file, err.msg);
    return m;
}

/* The config base with its first `from` replaced by `to`, parsed: status want and a message
 * holding msg (a config reader's refusal). */
static inline void tu_config_refused_edit(const char *base, const char *from, const char *to,
                                          mhv_status want, const char *msg)
{
    char text[2048];
    const char *at = strstr(base, from);
    assert_non_null(at);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
    mhv_config *c = malloc(sizeof *c);
    mhv_error err = {0};
    mhv_status st = mhv_config_parse(text, strlen(text), "config.json", c, &err);
    if (st != want)
        fail_msg("%s: status %d, want %d (%s)", to, st, want, err.msg);
    if (!strstr(err.msg, msg))
        fail_msg("'%s' lacks '%s'", err.msg, msg);
    free(c);
}

/* Test data from other public repositories is read in place from ../shared/data (see its
 * INDEX.md), never copied into the repository. tu_shared fills buf with the path of rel there
 * and returns 1, or prints "skipped: <path> is absent" and returns 0: the caller then calls
 * cmocka's skip(). */
#define TU_SHARED "../shared/data"
static inline int tu_shared(const char *rel, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", TU_SHARED, rel);
    if (mhv_path_exists(buf))
        return 1;
    print_message("skipped: %s is absent (public test data, not in the repository)\n", buf);
    return 0;
}
#define TU_SHARED_OR_SKIP(rel, buf)                                                          \
    do {                                                                                     \
        if (!tu_shared(rel, buf, sizeof buf))                                                \
            skip();                                                                          \
    } while (0)

static inline mhv_tok *tu_open_tok_dir(const char *dir)
{
    mhv_tok *t = NULL;
    mhv_error err = {0};
    if (mhv_tok_open_dir(dir, &t, &err))
        fail_msg("%s: %s: %s", dir, err.file, err.msg);
    return t;
}

/* One case of a tokenizer golden (tests/gen/gen_*_goldens.py): ids, pieces and spans as HF
 * has them. HF reports [0, 0] for the tokens its post-processor adds, where we have no span
 * (-1): with ends_only only the first and the last token may be such a token. Prints what
 * differs and returns 1, or 0. */
static inline int tu_check_golden_case(const mhv_tok *t, const cJSON *c, const char *label,
                                       int ends_only)
{
    const char *s = cJSON_GetObjectItem(c, "sentence")->valuestring;
    const cJSON *ids = cJSON_GetObjectItem(c, "ids"), *toks = cJSON_GetObjectItem(c, "tokens"),
                *offs = cJSON_GetObjectItem(c, "offsets");
    mhv_encoding e;
    mhv_error err = {0};
    if (mhv_tok_encode(t, s, strlen(s), &e, &err)) {
        print_error("%s: '%s': %s\n", label, s, err.msg);
        return 1;
    }
    int bad = 0, n = cJSON_GetArraySize(ids);
    if (e.n != n) {
        print_error("%s: '%.80s': %d tokens, HF has %d\n", label, s, e.n, n);
        bad = 1;
    }
    for (int i = 0; !bad && i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(offs, i);
        int id = cJSON_GetArrayItem(ids, i)->valueint;
        int s0 = cJSON_GetArrayItem(o, 0)->valueint, s1 = cJSON_GetArrayItem(o, 1)->valueint;
        if (s0 == 0 && s1 == 0 && (!ends_only || i == 0 || i == n - 1))
            s0 = s1 = -1;
        if (e.ids[i] != id || strcmp(e.pieces[i], cJSON_GetArrayItem(toks, i)->valuestring) != 0) {
            print_error("%s: '%.80s': token %d is %d '%s', HF %d '%s'\n", label, s, i, e.ids[i],
                        e.pieces[i], id, cJSON_GetArrayItem(toks, i)->valuestring);
            bad = 1;
        } else if (e.spans[2 * i] != s0 || e.spans[2 * i + 1] != s1) {
            print_error("%s: '%.80s': token %d span [%d,%d), HF [%d,%d)\n", label, s, i,
                        e.spans[2 * i], e.spans[2 * i + 1], s0, s1);
            bad = 1;
        }
    }
    mhv_encoding_free(&e);
    return bad;
}

/* Every case of the golden file (at least 50) through tu_check_golden_case. */
static inline void tu_run_goldens(const mhv_tok *t, const char *golden, const char *label,
                                  int ends_only)
{
    cJSON *j = tu_read_json(golden);
    const cJSON *cases = cJSON_GetObjectItem(j, "cases");
    assert_true(cJSON_GetArraySize(cases) >= 50);
    int bad = 0;
    for (const cJSON *c = cases->child; c; c = c->next)
        bad += tu_check_golden_case(t, c, label, ends_only);
    cJSON_Delete(j);
    assert_int_equal(bad, 0);
}

/* The "pairs" of a golden file: tokenizer.encode(first, second) as HF has it, ids and token
 * type ids; returns how many differ (each printed). */
static inline int tu_check_pair_goldens(const mhv_tok *t, const cJSON *golden, const char *label)
{
    const cJSON *pairs = cJSON_GetObjectItem(golden, "pairs");
    int bad = 0;
    for (const cJSON *c = pairs ? pairs->child : NULL; c; c = c->next) {
        const char *a = cJSON_GetObjectItem(c, "first")->valuestring;
        const char *b = cJSON_GetObjectItem(c, "second")->valuestring;
        const cJSON *ids = cJSON_GetObjectItem(c, "ids"), *types = cJSON_GetObjectItem(c, "type_ids");
        mhv_encoding e;
        mhv_error err = {0};
        if (mhv_tok_encode_pair(t, a, strlen(a), b, strlen(b), &e, &err)) {
            print_error("%s: pair '%s' / '%s': %s\n", label, a, b, err.msg);
            bad++;
            continue;
        }
        int m = cJSON_GetArraySize(ids), diff = e.n != m;
        for (int i = 0; !diff && i < m; i++)
            diff = e.ids[i] != cJSON_GetArrayItem(ids, i)->valueint ||
                   e.type_ids[i] != cJSON_GetArrayItem(types, i)->valueint;
        if (diff) {
            print_error("%s: pair '%.40s' / '%.40s' differs from HF (%d tokens, HF %d)\n", label,
                        a, b, e.n, m);
            bad++;
        }
        mhv_encoding_free(&e);
    }
    return bad;
}

/* llama.cpp's tokenizer vectors: the texts of inp separated by "\n__ggml_vocab_test__\n",
 * one line of expected ids per text in out (at least 46 cases). The vectors leave out
 * special tokens: `specials` is how many our tokenizer adds at each end. */
static inline void tu_run_llamacpp(const mhv_tok *t, const char *inp, const char *out,
                                   const char *label, int specials)
{
    static const char sep[] = "\n__ggml_vocab_test__\n";
    char *in_text = tu_read_file(inp, NULL), *out_text = tu_read_file(out, NULL);
    char *ip = in_text, *op = out_text;
    int n_cases = 0;
    for (;;) {
        char *iend = strstr(ip, sep), *oend = strchr(op, '\n');
        size_t il = iend ? (size_t)(iend - ip) : strlen(ip);
        if (!iend && il > 0 && ip[il - 1] == '\n')
            il--; /* the file's final newline is not part of the last text */
        mhv_encoding e;
        mhv_error err = {0};
        assert_int_equal(mhv_tok_encode(t, ip, il, &e, &err), MHV_OK);
        char *q = op;
        for (int i = specials; i + specials < e.n; i++) {
            char *end;
            long id = strtol(q, &end, 10);
            if (end == q || id != e.ids[i])
                fail_msg("%s case %d ('%.*s'): token %d is %d, expected %.10s", label, n_cases,
                         (int)il, ip, i, e.ids[i], q);
            q = end;
        }
        while (*q == ' ')
            q++;
        if (!(*q == '\n' || *q == '\0'))
            fail_msg("%s case %d ('%.*s'): %d tokens, more expected: %.20s", label, n_cases,
                     (int)il, ip, e.n - 2 * specials, q);
        mhv_encoding_free(&e);
        n_cases++;
        if (!iend || !oend)
            break;
        ip = iend + strlen(sep);
        op = oend + 1;
    }
    assert_true(n_cases >= 46);
    free(in_text);
    free(out_text);
}

/* Max |ours - golden| over every captured head; golden is [layer][head][i][j]. Also checks
 * that every row sums to what the golden's does (1, or less with GPT-OSS's attention sinks)
 * and, when causal, that nothing above the diagonal is non-zero. */
static inline double tu_compare_attn(const mhv_attn *a, const cJSON *golden, int causal)
{
    double worst = 0;
    int n = a->n;
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        const cJSON *g = cJSON_GetArrayItem(cJSON_GetArrayItem(golden, h->layer), h->head);
        assert_non_null(g);
        assert_int_equal(cJSON_GetArraySize(g), n);
        for (int i = 0; i < n; i++) {
            const cJSON *row = cJSON_GetArrayItem(g, i);
            assert_int_equal(cJSON_GetArraySize(row), n);
            double sum = 0, want = 0;
            for (int j = 0; j < n; j++) {
                float w = h->w[i * n + j];
                want += cJSON_GetArrayItem(row, j)->valuedouble;
                double d = fabs(w - cJSON_GetArrayItem(row, j)->valuedouble);
                if (d > worst)
                    worst = d;
                if (causal && j > i)
                    assert_true(w == 0.0f);
                sum += w;
            }
            assert_true(fabs(sum - want) < 1e-5);
        }
    }
    return worst;
}

#endif
