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
    if (err->file[0])
        snprintf(buf, size, "%s: %s", err->file, err->msg);
    else
        snprintf(buf, size, "%s", err->msg);
}
