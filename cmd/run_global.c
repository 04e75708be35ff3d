#include "run_global.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/rows.h"

/* spec without its `question` items into rest (size bytes); *question: one was there. */
static mhv_status split(const char *spec, char *rest, size_t size, int *question,
                        mhv_error *err)
{
    size_t r = 0;
    *question = 0;
    if (!*spec)
        return mhv_fail(err, MHV_EUSAGE, "", "selection is empty");
    for (const char *p = spec;; p++) {
        size_t n = strcspn(p, ",");
        if (n == 8 && strncmp(p, "question", 8) == 0) {
            *question = 1;
        } else {
            if (r + n + 2 > size)
                return mhv_fail(err, MHV_EUSAGE, "", "list too long");
            if (r)
                rest[r++] = ',';
            memcpy(rest + r, p, n);
            r += n;
        }
        p += n;
        if (!*p)
            break;
    }
    rest[r] = '\0';
    return MHV_OK;
}

mhv_status run_global_check(const char *spec, mhv_error *err)
{
    char rest[1024];
    int question;
    mhv_status st = split(spec, rest, sizeof rest, &question, err);
    mhv_error e;
    if (!st && (!question || *rest) && mhv_rows_check(rest, &e))
        st = mhv_fail(err, MHV_EUSAGE, "", "%s (or question)", e.msg);
    return st;
}

mhv_status run_global_model(const char *spec, const mhv_model *m, mhv_error *err)
{
    char rest[1024];
    int question;
    if (!m->cfg.global_attn)
        return mhv_fail(err, MHV_EUSAGE, "", "--global is for Longformer's attention "
                        "(longformer, led); %s has no global tokens", m->cfg.arch);
    if (split(spec, rest, sizeof rest, &question, err))
        return MHV_EUSAGE;
    if (question && m->cfg.enc_dec)
        return mhv_fail(err, MHV_EUSAGE, "", "--global question is LongformerForQuestion"
                        "Answering's default (longformer), not %s's", m->cfg.arch);
    return MHV_OK;
}

/* keep[0 .. first sep) for `question`, as transformers' _compute_global_attention_mask,
 * which asserts three sep tokens (<s> question </s></s> context </s>). */
static mhv_status question(const mhv_model *m, const mhv_encoding *enc, unsigned char *keep,
                           mhv_error *err)
{
    int seps = 0, end = -1;
    for (int i = 0; i < enc->n; i++)
        if (enc->ids[i] == m->cfg.global_sep_id && seps++ == 0)
            end = i;
    if (seps != 3)
        return mhv_fail(err, MHV_EINPUT, "", "--global question needs the three sep tokens "
                        "(id %d) of a question-answering input, <s> question </s></s> context "
                        "</s> (--pairs QUESTION<TAB>CONTEXT): the sentence has %d",
                        m->cfg.global_sep_id, seps);
    for (int i = 0; i < end; i++)
        keep[i] = 1;
    return MHV_OK;
}

mhv_status run_global_set(const char *spec, const mhv_model *m, mhv_forward_ctx *fc,
                          const char *text, size_t len, const mhv_encoding *enc, int **pos,
                          int *count, mhv_error *err)
{
    char rest[1024];
    int q, *rows = NULL, nrows = 0;
    *pos = NULL, *count = 0;
    unsigned char *keep = calloc((size_t)enc->n + 1, 1);
    if (!keep)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    mhv_status st = split(spec, rest, sizeof rest, &q, err);
    if (!st && q)
        st = question(m, enc, keep, err);
    if (!st && *rest)
        st = mhv_rows_resolve(rest, text, len, enc, &rows, &nrows, err);
    for (int i = 0; !st && i < nrows; i++)
        keep[rows[i]] = 1;
    free(rows);
    int n = 0;
    for (int i = 0; i < enc->n; i++)
        n += keep[i];
    if (!st && n && !(*pos = malloc((size_t)n * sizeof **pos)))
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    for (int i = 0, k = 0; !st && i < enc->n; i++)
        if (keep[i])
            (*pos)[k++] = i;
    free(keep);
    if (!st) {
        *count = n;
        st = mhv_forward_ctx_global(fc, *pos, n, err);
    }
    if (st) {
        free(*pos);
        *pos = NULL, *count = 0;
    }
    return st;
}

/* head, then the list */
static char *list_after(const char *head, const int *pos, int count)
{
    size_t size = 32 + (size_t)count * 13;
    char *s = malloc(size);
    if (!s)
        return NULL;
    size_t at = (size_t)snprintf(s, size, "%s[", head);
    for (int i = 0; i < count; i++)
        at += (size_t)snprintf(s + at, size - at, i ? ", %d" : "%d", pos[i]);
    snprintf(s + at, size - at, "]");
    return s;
}

char *run_global_list(const int *pos, int count)
{
    return list_after("", pos, count);
}

char *run_global_json(const int *pos, int count)
{
    return list_after(",\n   \"global\": ", pos, count);
}

void run_global_note(const int *pos, int count, char *buf, size_t size)
{
    size_t at = (size_t)snprintf(buf, size, "global attention: %s", count ? "tokens " :
                                 "no token");
    for (int i = 0; i < count && at < size; i++) {
        int j = i;
        while (j + 1 < count && pos[j + 1] == pos[j] + 1)
            j++;
        char item[32];
        if (j > i)
            snprintf(item, sizeof item, "%s%d-%d", i ? ", " : "", pos[i], pos[j]);
        else
            snprintf(item, sizeof item, "%s%d", i ? ", " : "", pos[i]);
        if (at + strlen(item) + 4 >= size) { /* room for "..." */
            snprintf(buf + at, size - at, "...");
            return;
        }
        at += (size_t)snprintf(buf + at, size - at, "%s", item);
        i = j;
    }
}
