/* base64.h - bytes written as base64 (RFC 4648, with padding): pictures and quantised
 * weights embedded in HTML pages and SVG files. */
#ifndef MHV_BASE64_H
#define MHV_BASE64_H

#include <stddef.h>
#include <stdio.h>

/* Writes b(n,) to f as base64; the caller checks ferror(f). */
void mhv_base64_write(FILE *f, const unsigned char *b, size_t n);

#endif
