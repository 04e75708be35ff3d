#include "text/input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "text/unicode.h"

static int blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\f' && s[i] != '\v')
            return 0;
    return 1;
}

mhv_status mhv_input_read(const char *path, mhv_input *in, mhv_error *err)
{
    memset(in, 0, sizeof *in);
    int is_stdin = strcmp(path, "-") == 0;
    snprintf(in->name, sizeof in->name, "%s", is_stdin ? "<stdin>" : path);
    size_t len;
    mhv_status st = is_stdin
                        ? mhv_read_stream(stdin, in->name, MHV_INPUT_MAX_BYTES, &in->buf, &len, err)
                        : mhv_read_input(path, MHV_INPUT_MAX_BYTES, &in->buf, &len, err);
    if (st)
        return st;
    size_t cap = 0;
    int line = 0;
    for (size_t pos = 0; pos < len || (pos == len && line == 0);) {
        line++;
        char *start = in->buf + pos;
        char *nl = memchr(start, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - start) : len - pos;
        pos += llen + 1;
        if (nl)
            *nl = '\0';
        if (memchr(start, '\0', llen)) {
            st = mhv_fail(err, MHV_EINPUT, in->name, "line %d: contains a NUL byte", line);
            goto fail;
        }
        if (llen && start[llen - 1] == '\r')
            start[--llen] = '\0';
        if (!mhv_utf8_valid(start, llen, NULL)) {
            st = mhv_fail(err, MHV_EINPUT, in->name, "line %d: invalid UTF-8", line);
            goto fail;
        }
        if (blank(start, llen))
            continue;
        if ((size_t)in->n == cap) {
            cap = cap ? 2 * cap : 16;
            mhv_sentence *ns = realloc(in->s, cap * sizeof *ns);
            if (!ns) {
                st = mhv_fail(err, MHV_ENOMEM, in->name, "out of memory");
                goto fail;
            }
            in->s = ns;
        }
        in->s[in->n++] = (mhv_sentence){.text = start, .len = llen, .line = line};
        if (!nl)
            break;
    }
    if (in->n == 0) {
        st = mhv_fail(err, MHV_EINPUT, in->name, "no sentences (the input has only empty lines)");
        goto fail;
    }
    return MHV_OK;
fail:
    mhv_input_free(in);
    return st;
}

void mhv_input_free(mhv_input *in)
{
    if (!in)
        return;
    free(in->buf);
    free(in->s);
    in->buf = NULL;
    in->s = NULL;
    in->n = 0;
}

void mhv_input_stem(const char *path, char *stem, size_t size)
{
    if (strcmp(path, "-") == 0) {
        snprintf(stem, size, "stdin");
        return;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    snprintf(stem, size, "%.*s", (int)n, base);
    /* the stem names files under --out: one plain path component, printable, not hidden
     * (".." from "...txt" would write outside --out, "." into --out itself) */
    for (char *p = stem; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
            *p = '_';
    if (stem[0] == '.')
        stem[0] = '_';
    if (!stem[0])
        snprintf(stem, size, "input");
}
