/* png_exif.c - the metadata of a PNG that PIL 13's Image.getexif reads (PngImagePlugin's
 * chunk_eXIf, chunk_tEXt, chunk_zTXt, chunk_iTXt filling Image.info; load_end reading the
 * chunks after the image data), gathered for mhv_exif_orientation. Only the keys that
 * matter here are looked at: "exif", "Raw profile type exif", "XML:com.adobe.xmp". */
#include "media/png_exif.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "media/exif.h"

/* PIL's MAX_TEXT_CHUNK: a zTXt or iTXt that inflates past it makes PIL refuse the file */
#define TEXT_INFLATE_MAX (1u << 20)

/* One value of Image.info: bytes in the file or inflated (owned). */
typedef struct {
    const unsigned char *p; /* NULL: absent */
    size_t n;
    unsigned char *owned;
} slot;

static void slot_set(slot *s, const unsigned char *p, size_t n, unsigned char *owned)
{
    free(s->owned);
    s->p = p ? p : (const unsigned char *)"";
    s->n = n;
    s->owned = owned;
}

typedef struct {
    slot exif, raw_profile, xmp_text, xmp;
    int exif_is_text;
} png_info;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef enum { INFLATED, INFLATE_BROKEN, INFLATE_TOO_BIG, INFLATE_NOMEM } inflate_result;

/* z[0..n) inflated as PIL's _safe_zlib_decompress: a stream cut short gives what it has, a
 * broken one is INFLATE_BROKEN (zlib.error), more than TEXT_INFLATE_MAX is INFLATE_TOO_BIG. */
static inflate_result inflate_text(const unsigned char *z, size_t n, unsigned char **out,
                                   size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    unsigned char *buf = malloc(TEXT_INFLATE_MAX);
    if (!buf)
        return INFLATE_NOMEM;
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit(&s) != Z_OK) {
        free(buf);
        return INFLATE_NOMEM;
    }
    s.next_in = (Bytef *)z;
    s.avail_in = (uInt)n; /* a PNG chunk holds at most 2^31 - 1 bytes */
    s.next_out = buf;
    s.avail_out = TEXT_INFLATE_MAX;
    /* one call runs until the stream ends, the input or the output runs out, or an error */
    int rc = inflate(&s, Z_NO_FLUSH);
    size_t left = n - (size_t)(s.next_in - z);
    inflate_result r = INFLATED;
    if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR)
        r = INFLATE_BROKEN;
    else if (rc == Z_MEM_ERROR)
        r = INFLATE_NOMEM;
    else if (rc != Z_STREAM_END && s.avail_out == 0 && left > 0)
        r = INFLATE_TOO_BIG;
    *out_len = TEXT_INFLATE_MAX - s.avail_out;
    inflateEnd(&s);
    if (r != INFLATED) {
        free(buf);
        *out_len = 0;
        return r;
    }
    unsigned char *fit = realloc(buf, *out_len ? *out_len : 1); /* keep only what it holds */
    *out = fit ? fit : buf;
    return r;
}

static int valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = mhv_utf8_len((const char *)s + i, n - i)))
            return 0;
    return 1;
}

/* The key's slot in info, or NULL for a key that does not matter here. */
static slot *slot_of(png_info *info, const unsigned char *key, size_t n)
{
    static const char *const names[] = {"exif", "Raw profile type exif", "XML:com.adobe.xmp"};
    slot *slots[] = {&info->exif, &info->raw_profile, &info->xmp_text};
    for (size_t i = 0; i < 3; i++)
        if (strlen(names[i]) == n && memcmp(key, names[i], n) == 0)
            return slots[i];
    return NULL;
}

/* A text chunk's value set under its key: text, except tEXt's "exif", which PIL keeps as
 * bytes (a zTXt or iTXt "exif" is text, which its EXIF reader then refuses). */
static void set_text(png_info *info, slot *s, const unsigned char *v, size_t n,
                     unsigned char *owned, int is_tEXt)
{
    slot_set(s, v, n, owned);
    if (s == &info->exif)
        info->exif_is_text = !is_tEXt;
}

/* One tEXt, zTXt or iTXt chunk body b[0..n) into info as PIL's handlers read it. */
static mhv_status text_chunk(png_info *info, const char type[4], const unsigned char *b,
                             size_t n, const char *name, mhv_error *err)
{
    const unsigned char *nul = memchr(b, 0, n);
    size_t klen = nul ? (size_t)(nul - b) : n;
    const unsigned char *v = nul ? nul + 1 : b + n;
    size_t vlen = n - (size_t)(v - b);
    slot *s = slot_of(info, b, klen);
    int itxt = memcmp(type, "iTXt", 4) == 0, ztxt = memcmp(type, "zTXt", 4) == 0;
    if (itxt) {
        if (!nul || vlen < 2)
            return MHV_OK;
        int compressed = v[0], method = v[1];
        const unsigned char *lang = v + 2, *end = v + vlen;
        const unsigned char *z1 = memchr(lang, 0, (size_t)(end - lang));
        const unsigned char *z2 = z1 ? memchr(z1 + 1, 0, (size_t)(end - z1 - 1)) : NULL;
        if (!z2)
            return MHV_OK;
        v = z2 + 1, vlen = (size_t)(end - v);
        if (!s)
            return MHV_OK;
        unsigned char *owned = NULL;
        if (compressed) {
            if (method != 0)
                return MHV_OK;
            inflate_result r = inflate_text(v, vlen, &owned, &vlen);
            if (r == INFLATE_BROKEN)
                return MHV_OK;
            if (r == INFLATE_NOMEM)
                return mhv_fail(err, MHV_ENOMEM, name, "out of memory inflating an iTXt chunk");
            if (r == INFLATE_TOO_BIG)
                return mhv_fail(err, MHV_EFORMAT, name,
                                "iTXt chunk '%.*s' inflates past 1 MiB", (int)klen, (const char *)b);
            v = owned;
        }
        if (s == &info->xmp_text) { /* the raw bytes under "xmp", whatever their encoding */
            unsigned char *copy = NULL;
            if (vlen && !(copy = malloc(vlen))) {
                free(owned);
                return mhv_fail(err, MHV_ENOMEM, name, "out of memory reading an iTXt chunk");
            }
            if (copy)
                memcpy(copy, v, vlen);
            slot_set(&info->xmp, copy, vlen, copy);
        }
        if (!valid_utf8(lang, (size_t)(z1 - lang)) || !valid_utf8(z1 + 1, (size_t)(z2 - z1 - 1)) ||
            !valid_utf8(v, vlen)) {
            free(owned);
            return MHV_OK;
        }
        set_text(info, s, v, vlen, owned, 0);
        return MHV_OK;
    }
    if (!s || klen == 0)
        return MHV_OK;
    if (!ztxt) {
        set_text(info, s, v, vlen, NULL, 1);
        return MHV_OK;
    }
    if (vlen && v[0] != 0)
        return mhv_fail(err, MHV_EFORMAT, name,
                        "zTXt chunk '%.*s' has an unknown compression method %d", (int)klen,
                        (const char *)b, v[0]);
    unsigned char *owned = NULL;
    size_t olen = 0;
    if (vlen) {
        inflate_result r = inflate_text(v + 1, vlen - 1, &owned, &olen);
        if (r == INFLATE_NOMEM)
            return mhv_fail(err, MHV_ENOMEM, name, "out of memory inflating a zTXt chunk");
        if (r == INFLATE_TOO_BIG)
            return mhv_fail(err, MHV_EFORMAT, name, "zTXt chunk '%.*s' inflates past 1 MiB",
                            (int)klen, (const char *)b);
        /* INFLATE_BROKEN: PIL keeps an empty value */
    }
    set_text(info, s, owned, olen, owned, 0);
    return MHV_OK;
}

static int hex_digit(unsigned char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* PIL's bytes.fromhex("".join(text.split("\n")[3:])) of ImageMagick's raw profile (a
 * newline, "exif", the length, then the hex): *out owned, NULL with *len 0 when the text has
 * no hex; -1 when it is not hex, -2 out of memory. */
static int raw_profile_bytes(const unsigned char *t, size_t n, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    size_t i = 0;
    for (int lines = 0; lines < 3; i++) {
        if (i >= n)
            return 0;
        lines += t[i] == '\n';
    }
    unsigned char *b = malloc((n - i) / 2 + 1);
    if (!b)
        return -2;
    size_t k = 0;
    for (;;) {
        while (i < n && (t[i] == '\n' || is_space(t[i])))
            i++;
        if (i >= n)
            break;
        size_t j = i + 1; /* the second digit, past any newline the join removed */
        while (j < n && t[j] == '\n')
            j++;
        if (j >= n || hex_digit(t[i]) < 0 || hex_digit(t[j]) < 0) {
            free(b);
            return -1;
        }
        b[k++] = (unsigned char)(hex_digit(t[i]) << 4 | hex_digit(t[j]));
        i = j + 1;
    }
    *out = b;
    *len = k;
    return 0;
}

/* The chunks of data[0..len) into info, as PIL's _open (up to the image data, every CRC
 * checked) and load_end (after it, up to IEND, or the next frame of an animation) read
 * them. The structure is sound: libpng has read the file. */
static mhv_status read_chunks(const unsigned char *data, size_t len, png_info *info,
                              const char *name, mhv_error *err)
{
    size_t at = 8;
    int after_idat = 0, in_idat = 0;
    int frames_set = 0;
    uint32_t frames = 0; /* PIL's im_n_frames from acTL: more than one is an animation */
    while (at <= len && len - at >= 12) {
        uint32_t n = be32(data + at);
        const char *type = (const char *)data + at + 4;
        const unsigned char *body = data + at + 8;
        if (n > len - at - 12)
            break;
        at += 12 + (size_t)n;
        if (memcmp(type, "IEND", 4) == 0)
            break;
        if (memcmp(type, "IDAT", 4) == 0) {
            in_idat = 1;
            continue;
        }
        if (in_idat)
            after_idat = 1;
        if (after_idat && memcmp(type, "fcTL", 4) == 0 && frames_set && frames > 1)
            break;
        if (!after_idat && memcmp(type, "acTL", 4) == 0 && n >= 8) {
            uint32_t f = be32(body);
            if (frames_set)
                frames_set = 0;
            else if (f != 0 && f <= 0x80000000u)
                frames_set = 1, frames = f;
            continue;
        }
        int exif = memcmp(type, "eXIf", 4) == 0;
        int text = memcmp(type, "tEXt", 4) == 0 || memcmp(type, "zTXt", 4) == 0 ||
                   memcmp(type, "iTXt", 4) == 0;
        if (!exif && !text)
            continue;
        if (text) { /* only the keys that matter here are worth a CRC */
            const unsigned char *nul = memchr(body, 0, n);
            size_t klen = nul ? (size_t)(nul - body) : n;
            if (!slot_of(info, body, klen))
                continue;
        }
        if (!after_idat &&
            crc32(crc32(0, (const Bytef *)type, 4), body, (uInt)n) != be32(body + n))
            return mhv_fail(err, MHV_EFORMAT, name, "damaged PNG: bad CRC in its %.4s chunk",
                            type);
        if (exif) { /* PIL puts "Exif\0\0" before it */
            unsigned char *b = malloc((size_t)n + 6);
            if (!b)
                return mhv_fail(err, MHV_ENOMEM, name, "out of memory reading an eXIf chunk");
            memcpy(b, "Exif\0\0", 6);
            memcpy(b + 6, body, n);
            slot_set(&info->exif, b, (size_t)n + 6, b);
            info->exif_is_text = 0;
            continue;
        }
        char t[4];
        memcpy(t, type, 4);
        mhv_status st = text_chunk(info, t, body, n, name, err);
        if (st)
            return st;
    }
    return MHV_OK;
}

mhv_status mhv_png_orientation(const unsigned char *data, size_t len, const char *name,
                               int *orientation, mhv_error *err)
{
    *orientation = 1;
    png_info info;
    memset(&info, 0, sizeof info);
    mhv_status st = read_chunks(data, len, &info, name, err);
    unsigned char *hex = NULL;
    if (!st) {
        mhv_exif_meta m = {
            .exif = info.exif.p, .exif_len = info.exif.n, .exif_is_text = info.exif_is_text,
            .xmp_text = info.xmp_text.p, .xmp_text_len = info.xmp_text.n,
            .xmp = info.xmp.p, .xmp_len = info.xmp.n};
        if (!m.exif && info.raw_profile.p) {
            int r = raw_profile_bytes(info.raw_profile.p, info.raw_profile.n, &hex, &m.exif_len);
            if (r == -2)
                st = mhv_fail(err, MHV_ENOMEM, name, "out of memory reading a raw profile");
            else if (r == -1)
                st = mhv_fail(err, MHV_EFORMAT, name,
                              "unreadable EXIF: its 'Raw profile type exif' is not hex");
            m.exif = hex ? hex : (const unsigned char *)"";
        }
        if (!st)
            st = mhv_exif_orientation(&m, orientation, name, err);
    }
    free(hex);
    free(info.exif.owned);
    free(info.raw_profile.owned);
    free(info.xmp_text.owned);
    free(info.xmp.owned);
    return st;
}
