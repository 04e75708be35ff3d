/* exif.c - the EXIF orientation as PIL 13 reads it (Image.getexif: Exif.load on the TIFF
 * data, ImageFileDirectory_v2.load of IFD0, the XMP fallback) and the transposition
 * ImageOps.exif_transpose applies. Only IFD0 is read, as PIL reads only it for this tag, so
 * no offset can lead in a loop. */
#include "media/exif.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ORIENTATION_TAG 0x0112

static uint32_t get16(const unsigned char *p, int big)
{
    return big ? (uint32_t)p[0] << 8 | p[1] : (uint32_t)p[1] << 8 | p[0];
}

static uint32_t get32(const unsigned char *p, int big)
{
    return big ? get16(p, 1) << 16 | get16(p + 2, 1) : get16(p + 2, 0) << 16 | get16(p, 0);
}

static uint64_t get64(const unsigned char *p, int big)
{
    return big ? (uint64_t)get32(p, 1) << 32 | get32(p + 4, 1)
               : (uint64_t)get32(p + 4, 0) << 32 | get32(p, 0);
}

/* Bytes of one value of a TIFF type PIL loads; 0 for a type it skips. */
static unsigned type_size(unsigned type)
{
    switch (type) {
    case 1: case 2: case 6: case 7: return 1; /* byte, ascii, sbyte, undefined */
    case 3: case 8: return 2;                  /* short, sshort */
    case 4: case 9: case 11: case 13: return 4; /* long, slong, float, ifd */
    case 5: case 10: case 12: case 16: return 8; /* rational, srational, double, long8 */
    }
    return 0;
}

/* 2..8 when the first value v equals that number (PIL looks the value up in a dict keyed
 * by ints: 6, 6.0 and 12/2 all find 6; bytes and text find nothing), else 1. */
static int orientation_value(unsigned type, const unsigned char *v, int big)
{
    int64_t i;
    double d;
    switch (type) {
    case 3: i = get16(v, big); break;
    case 8: i = (int16_t)get16(v, big); break;
    case 6: i = (int8_t)v[0]; break;
    case 4: case 13: i = get32(v, big); break;
    case 9: i = (int32_t)get32(v, big); break;
    case 16: {
        uint64_t u = get64(v, big);
        i = u > 8 ? 0 : (int64_t)u;
        break;
    }
    case 5: case 10: {
        int64_t num = type == 5 ? (int64_t)get32(v, big) : (int32_t)get32(v, big);
        int64_t den = type == 5 ? (int64_t)get32(v + 4, big) : (int32_t)get32(v + 4, big);
        if (den == 0 || num % den) /* x/0 is NaN to PIL */
            return 1;
        i = num / den;
        break;
    }
    case 11: {
        uint32_t bits = get32(v, big);
        float f;
        memcpy(&f, &bits, sizeof f);
        d = f;
        goto real;
    }
    case 12: {
        uint64_t bits = get64(v, big);
        memcpy(&d, &bits, sizeof d);
        goto real;
    }
    default: /* byte, ascii, undefined: bytes or text */
        return 1;
    }
    return i >= 2 && i <= 8 ? (int)i : 1;
real:
    for (int k = 2; k <= 8; k++)
        if (d == k) /* NaN equals none */
            return k;
    return 1;
}

/* IFD0 at `at` of the TIFF data p[0..len) read as ImageFileDirectory_v2.load reads it: an
 * entry cut short or a value lying past the end stops the reading (the entries before it
 * stay); an entry of an unknown type, of no values, whose tag was read already, or whose
 * values stored apart bring the running total past the data's size is skipped. Returns 1
 * with the kept entry of tag `want` (its type, value count, values), 0 when there is none. */
static int ifd0_entry(const unsigned char *p, size_t len, size_t at, int big, unsigned want,
                      unsigned *type, uint32_t *count, const unsigned char **values)
{
    static const size_t entry = 12;
    if (at > len || len - at < 2)
        return 0;
    unsigned n = get16(p + at, big);
    at += 2;
    unsigned char kept[65536 / 8] = {0}; /* tags already read */
    uint64_t apart = 0;                  /* bytes of the values stored apart so far */
    for (unsigned i = 0; i < n; i++, at += entry) {
        if (len - at < entry)
            return 0;
        const unsigned char *e = p + at;
        unsigned tag = get16(e, big);
        *type = get16(e + 2, big);
        *count = get32(e + 4, big);
        if (kept[tag / 8] & 1u << tag % 8)
            continue;
        unsigned unit = type_size(*type);
        if (!unit)
            continue;
        uint64_t size = (uint64_t)*count * unit;
        *values = e + 8;
        if (size > 4) {
            uint64_t off = get32(e + 8, big);
            apart += size;
            if (apart > len)
                continue;
            if (off > len || size > len - off)
                return 0;
            *values = p + off;
        } else if (size == 0) {
            continue;
        }
        if (tag == want)
            return 1;
        kept[tag / 8] |= (unsigned char)(1u << tag % 8);
    }
    return 0;
}

/* PIL's _read_dpi_from_exif, run when it opens a JPEG without a JFIF dpi, reads the
 * XResolution (0x011A) as float(x[0]) / x[1] once it has a ResolutionUnit (0x0128): one
 * byte (types byte, undefined), no character or one digit (ascii, one trailing NUL dropped)
 * raises an IndexError it does not catch, and the file cannot be opened. */
static int pil_dpi_fails(const unsigned char *p, size_t len, size_t ifd, int big)
{
    unsigned type;
    uint32_t count;
    const unsigned char *v;
    if (!ifd0_entry(p, len, ifd, big, 0x0128, &type, &count, &v) ||
        !ifd0_entry(p, len, ifd, big, 0x011A, &type, &count, &v))
        return 0;
    if (type == 1 || type == 7)
        return count == 1;
    uint32_t chars = count - (v[count - 1] == 0);
    return type == 2 && (chars == 0 || (chars == 1 && v[0] >= '0' && v[0] <= '9'));
}

/* The digit of the first tiff:Orientation="N" or <tiff:Orientation>N in x, or -1. */
static int xmp_orientation(const unsigned char *x, size_t len)
{
    static const char key[] = "tiff:Orientation";
    const size_t klen = sizeof key - 1;
    for (size_t i = 0; len >= klen && i <= len - klen; i++) {
        if (memcmp(x + i, key, klen))
            continue;
        size_t j = i + klen;
        if (j < len && x[j] == '>')
            j += 1;
        else if (len - j >= 2 && x[j] == '=' && x[j + 1] == '"')
            j += 2;
        else
            continue;
        if (j < len && x[j] >= '0' && x[j] <= '9')
            return x[j] - '0';
    }
    return -1;
}

mhv_status mhv_exif_orientation(const mhv_exif_meta *m, int *orientation, const char *name,
                                mhv_error *err)
{
    *orientation = 1;
    int found = 0;
    if (m->exif_is_text)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "unreadable EXIF: a zTXt or iTXt chunk named 'exif' holds it as text");
    if (m->exif) {
        const unsigned char *p = m->exif;
        size_t len = m->exif_len;
        for (int k = 0; k < 2 && len >= 6 && memcmp(p, "Exif\0\0", 6) == 0; k++)
            p += 6, len -= 6;
        if (len > 0) {
            static const char heads[][5] = {"MM\0\x2a", "II\x2a\0", "MM\x2a\0", "II\0\x2a",
                                            "MM\0\x2b", "II\x2b\0"};
            const char *problem = "no TIFF header";
            for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++)
                if (len >= 4 && memcmp(p, heads[h], 4) == 0)
                    problem = NULL;
            if (!problem && p[2] == 0x2b) /* PIL reads BigTIFF's offset past its 8 bytes */
                problem = "a BigTIFF header";
            else if (!problem && len < 8)
                problem = "its TIFF header cut short";
            if (problem && m->jpeg_dpi_from_exif)
                return MHV_OK;
            if (problem)
                return mhv_fail(err, MHV_EFORMAT, name, "unreadable EXIF: %s", problem);
            int big = p[0] == 'M';
            size_t ifd = get32(p + 4, big);
            if (m->jpeg_dpi_from_exif && pil_dpi_fails(p, len, ifd, big))
                return mhv_fail(err, MHV_EFORMAT, name,
                                "unreadable EXIF: an XResolution of one byte or digit");
            unsigned type;
            uint32_t count;
            const unsigned char *v;
            if (ifd0_entry(p, len, ifd, big, ORIENTATION_TAG, &type, &count, &v)) {
                *orientation = orientation_value(type, v, big);
                found = 1;
            }
        }
    }
    if (!found) {
        const unsigned char *x = m->xmp_text;
        size_t n = m->xmp_text_len;
        if (!x || !n)
            x = m->xmp, n = m->xmp_len;
        int o = x ? xmp_orientation(x, n) : -1;
        if (o >= 2 && o <= 8)
            *orientation = o;
    }
    return MHV_OK;
}

mhv_status mhv_exif_transpose(mhv_image *im, int orientation, const char *name, mhv_error *err)
{
    if (orientation < 2 || orientation > 8)
        return MHV_OK;
    ptrdiff_t w = im->width, h = im->height;
    /* pixel (x, y) of the result is pixel base + x * dx + y * dy of the image */
    ptrdiff_t base = 0, dx = 1, dy = w;
    switch (orientation) {
    case 2: base = w - 1, dx = -1, dy = w; break;              /* mirror */
    case 3: base = h * w - 1, dx = -1, dy = -w; break;         /* rotate 180 */
    case 4: base = (h - 1) * w, dx = 1, dy = -w; break;        /* flip */
    case 5: base = 0, dx = w, dy = 1; break;                   /* transpose */
    case 6: base = (h - 1) * w, dx = -w, dy = 1; break;        /* rotate 270 */
    case 7: base = h * w - 1, dx = -w, dy = -1; break;         /* transverse */
    case 8: base = w - 1, dx = w, dy = -1; break;              /* rotate 90 */
    }
    int swap = orientation >= 5; /* the four that exchange the sides */
    ptrdiff_t ow = swap ? h : w, oh = swap ? w : h;
    uint8_t *out = malloc((size_t)(ow * oh) * 3);
    if (!out)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory turning an image of %dx%d",
                        im->width, im->height);
    for (ptrdiff_t y = 0; y < oh; y++)
        for (ptrdiff_t x = 0; x < ow; x++)
            memcpy(out + 3 * (y * ow + x), im->rgb + 3 * (base + x * dx + y * dy), 3);
    free(im->rgb);
    im->rgb = out;
    im->width = (int)ow;
    im->height = (int)oh;
    return MHV_OK;
}
