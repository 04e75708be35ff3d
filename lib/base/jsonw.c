#include "base/jsonw.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"

void mhv_jsonw_str(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                fprintf(f, "\\u%04x", c);
            } else if (c >= 0x80) {
                /* JSON is UTF-8: a byte outside a valid sequence (a directory name is any
                 * bytes) is written as U+FFFD */
                size_t n = mhv_utf8_len(s + i, len - i);
                if (n == 0) {
                    fputs("\\ufffd", f);
                } else {
                    fwrite(s + i, 1, n, f);
                    i += n - 1;
                }
            } else {
                fputc(c, f);
            }
        }
    }
    fputc('"', f);
}

/* 10^0 .. 10^19 */
static const uint64_t pow10_u64[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
    1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
    100000000000000ull, 1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
    1000000000000000000ull, 10000000000000000000ull,
};

/* round(m · 2^e · 10^p) to nearest, ties to even, exactly, for m < 2^24, 0 <= p <= 44 and
 * -128 < e + p <= 0 (5^44 · 2^24 < 2^127, so the product fits in 128 bits). */
static uint64_t scaled_round(uint32_t m, int e, int p)
{
    unsigned __int128 n = m;
    for (int i = 0; i < p; i++)
        n *= 5u;
    int s = -(e + p); /* n · 2^-s */
    if (s == 0)
        return (uint64_t)n;
    unsigned __int128 q = n >> s, rem = n - (q << s), half = (unsigned __int128)1 << (s - 1);
    if (rem > half || (rem == half && (q & 1)))
        q++;
    return (uint64_t)q;
}

/* The bytes of printf("%.9g", v) for a finite float, without printf's arbitrary-precision
 * path (a dump of every head writes millions of these). Returns the length, or 0 for values
 * it leaves to printf (|v| >= 1e9, below 1e-36, subnormal). */
static int format_g9(char *out, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    int neg = (int)(u >> 31), be = (int)((u >> 23) & 0xff);
    char *o = out;
    if (neg)
        *o++ = '-';
    if ((u & 0x7fffffffu) == 0) {
        *o++ = '0';
        return (int)(o - out);
    }
    double a = fabs((double)v);
    if (be == 0 || a < 1e-36 || a >= 1e9)
        return 0;
    uint32_t m = (u & 0x7fffffu) | 0x800000u;
    int e = be - 150; /* |v| = m · 2^e */
    int x = (int)floor(log10(a)); /* decimal exponent, corrected below */
    uint64_t d = 0;
    for (int tries = 0; tries < 3; tries++) {
        int p = 8 - x;
        if (p < 0 || p > 44 || e + p > 0 || e + p <= -128)
            return 0;
        d = scaled_round(m, e, p);
        if (d < pow10_u64[8])
            x--; /* log10 overestimated */
        else if (d > pow10_u64[9])
            x++; /* underestimated (a rounded-up 10^9 is handled below) */
        else
            break;
    }
    if (d == pow10_u64[9]) /* 9.99999999995.. rounded up to the next power of ten */
        d = pow10_u64[8], x++;
    if (d < pow10_u64[8] || d >= pow10_u64[9])
        return 0;
    char dig[9];
    for (int i = 8; i >= 0; i--, d /= 10)
        dig[i] = (char)('0' + d % 10);
    int nd = 9; /* significant digits left once trailing zeros go */
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    if (x < -4 || x >= 9) { /* style e */
        *o++ = dig[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, dig + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        *o++ = 'e';
        *o++ = x < 0 ? '-' : '+';
        int ax = abs(x);
        if (ax >= 100)
            *o++ = (char)('0' + ax / 100);
        *o++ = (char)('0' + ax / 10 % 10);
        *o++ = (char)('0' + ax % 10);
    } else if (x >= 0) { /* style f, x + 1 integer digits */
        memcpy(o, dig, (size_t)x + 1);
        o += x + 1;
        if (nd > x + 1) {
            *o++ = '.';
            memcpy(o, dig + x + 1, (size_t)(nd - x - 1));
            o += nd - x - 1;
        }
    } else { /* style f, 0.000ddd */
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -x - 1; i++)
            *o++ = '0';
        memcpy(o, dig, (size_t)nd);
        o += nd;
    }
    return (int)(o - out);
}

/* Appends v as JSON to buf (room for 32 bytes); returns the new end. */
static char *put_float(char *buf, float v)
{
    if (!isfinite(v)) {
        memcpy(buf, "null", 4);
        return buf + 4;
    }
    int len = format_g9(buf, v);
    if (len == 0) /* %.9g can print "1e-05" style, which is valid JSON */
        len = snprintf(buf, 32, "%.9g", (double)v);
    return buf + len;
}

void mhv_jsonw_float(FILE *f, float v)
{
    char buf[32];
    fwrite(buf, 1, (size_t)(put_float(buf, v) - buf), f);
}

void mhv_jsonw_floats(FILE *f, const float *v, size_t n)
{
    char buf[4096];
    char *p = buf;
    *p++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (p > buf + sizeof buf - 40) {
            fwrite(buf, 1, (size_t)(p - buf), f);
            p = buf;
        }
        if (i)
            *p++ = ',', *p++ = ' ';
        p = put_float(p, v[i]);
    }
    *p++ = ']';
    fwrite(buf, 1, (size_t)(p - buf), f);
}

size_t mhv_jsonw_format_float(char *buf, float v)
{
    char *e = put_float(buf, v);
    *e = '\0';
    return (size_t)(e - buf);
}
