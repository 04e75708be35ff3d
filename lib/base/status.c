#include "base/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

mhv_status mhv_fail(mhv_error *err, mhv_status st, const char *file, const char *fmt, ...)
{
    if (!err)
        return st;
    snprintf(err->file, sizeof err->file, "%s", file ? file : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* one line, always: a newline inside a message would break "one line on stderr" */
    for (char *p = err->msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return st;
}

void mhv_error_format(const mhv_error *err, char *buf, unsigned long size)
{
    char raw[sizeof err->file + sizeof err->msg + 4];
    if (err->file[0])
        snprintf(raw, sizeof raw, "%s: %s", err->file, err->msg);
    else
        snprintf(raw, sizeof raw, "%s", err->msg);
    mhv_escape_controls(raw, buf, size);
}

unsigned long mhv_utf8_len(const char *str, unsigned long avail)
{
    const unsigned char *s = (const unsigned char *)str;
    if (avail == 0)
        return 0;
    unsigned char c = s[0];
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (n > avail)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0; /* overlong, a surrogate, or above U+10FFFF */
    return n;
}

char *mhv_escape_controls(const char *s, char *buf, unsigned long size)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    unsigned long o = 0;
    size_t rem = strlen(s);
    if (!size)
        return buf;
    while (*p) {
        size_t n = mhv_utf8_len((const char *)p, rem);
        int ctl = n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)) ||
                  (n == 2 && p[0] == 0xc2 && p[1] < 0xa0);
        size_t take = ctl ? (n ? n : 1) : n;
        size_t need = ctl ? 4 * take : take;
        if (o + need >= size)
            break;
        for (size_t i = 0; i < take; i++) {
            if (ctl) {
                buf[o++] = '\\';
                buf[o++] = 'x';
                buf[o++] = hex[p[i] >> 4];
                buf[o++] = hex[p[i] & 15];
            } else {
                buf[o++] = (char)p[i];
            }
        }
        p += take;
        rem -= take;
    }
    buf[o] = '\0';
    return buf;
}
