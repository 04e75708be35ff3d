/* jsonw.h - a small streaming JSON writer, so large attention dumps never sit in memory as
 * a tree. The caller writes structure; jsonw escapes strings and formats numbers. */
#ifndef MHV_JSONW_H
#define MHV_JSONW_H

#include <stddef.h>
#include <stdio.h>

/* A JSON string literal of s[0..len) (valid UTF-8 passed through, controls escaped). */
void mhv_jsonw_str(FILE *f, const char *s, size_t len);
/* A float with 9 significant digits (exact round trip of fp32); NaN and inf as null. */
void mhv_jsonw_float(FILE *f, float v);
/* The text mhv_jsonw_float writes, NUL-terminated into buf (32 bytes); returns its length. */
size_t mhv_jsonw_format_float(char *buf, float v);
/* A row of floats as [a, b, ...]. */
void mhv_jsonw_floats(FILE *f, const float *v, size_t n);

#endif
