#include "label.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Appends text to a new part, or to the last part when it has the same style. The part ends
 * in "…" when text does not fit; a cut never splits a UTF-8 character. */
static void add(mhv_label *l, mhv_label_style st, const char *s, size_t len)
{
    if (l->n > 0 && l->part[l->n - 1].style == st) {
        /* extend the last part */
    } else if (l->n < MHV_LABEL_PARTS) {
        l->part[l->n].style = st;
        l->part[l->n].text[0] = '\0';
        l->n++;
    } else {
        return;
    }
    char *t = l->part[l->n - 1].text;
    size_t have = strlen(t), room = MHV_LABEL_PART_BYTES - 1 - have;
    if (len <= room) {
        memcpy(t + have, s, len);
        t[have + len] = '\0';
        return;
    }
    if (room < 3)
        return;
    size_t cut = room - 3; /* "…" is 3 bytes */
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    memcpy(t + have, s, cut);
    memcpy(t + have + cut, "\xE2\x80\xA6", 4);
}

/* Length of the valid UTF-8 character at s (n bytes available), 0 when invalid or cut. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t k = c < 0x80 ? 1 : c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3
             : c >= 0xF0 && c < 0xF5 ? 4 : 0;
    if (k == 0 || k > n)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((k == 3 && c == 0xE0 && s[1] < 0xA0) || (k == 3 && c == 0xED && s[1] >= 0xA0) ||
        (k == 4 && c == 0xF0 && s[1] < 0x90) || (k == 4 && c == 0xF4 && s[1] >= 0x90))
        return 0;
    return k;
}

/* GPT-2's bytes_to_unicode, inverted: printable Latin-1 bytes stand for themselves, the other
 * 68 bytes were moved to U+0100.. in byte order. -1 for a character outside the mapping. */
static int unicode_to_byte(uint32_t c)
{
    if ((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255))
        return (int)c;
    if (c < 256 || c >= 256 + 68)
        return -1;
    int k = (int)(c - 256);
    for (int b = 0; b < 256; b++) {
        if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))
            continue;
        if (k-- == 0)
            return b;
    }
    return -1;
}

static void add_bytes(mhv_label *l, const unsigned char *b, size_t n)
{
    char hex[MHV_LABEL_PART_BYTES];
    size_t o = 0;
    hex[o++] = '<';
    for (size_t i = 0; i < n && o + 4 < sizeof hex; i++)
        o += (size_t)snprintf(hex + o, sizeof hex - o, i ? " %02X" : "%02X", b[i]);
    hex[o++] = '>';
    add(l, MHV_LSTYLE_BYTES, hex, o);
}

static void bytelevel(const char *piece, mhv_label *l)
{
    unsigned char raw[4 * MHV_LABEL_PART_BYTES];
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)piece;
    while (*p && n < sizeof raw) {
        size_t k = utf8_char(p, strlen((const char *)p));
        if (k == 0) { /* not UTF-8 at all: show the byte */
            raw[n++] = *p++;
            continue;
        }
        uint32_t c = k == 1 ? p[0] : k == 2 ? (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F)
                   : 0x110000;
        int b = unicode_to_byte(c);
        if (b < 0) { /* outside the byte alphabet (an added token): keep it */
            for (size_t i = 0; i < k && n < sizeof raw; i++)
                raw[n++] = p[i];
        } else {
            raw[n++] = (unsigned char)b;
        }
        p += k;
    }
    size_t i = 0;
    if (n > 0 && raw[0] == ' ') {
        add(l, MHV_LSTYLE_MARK, "\xC2\xB7", 2); /* "·" marks a word start, like "##" */
        i = 1;
    }
    while (i < n) {
        size_t k = utf8_char(raw + i, n - i);
        if (k > 0 && raw[i] >= 0x20 && raw[i] != 0x7F) {
            add(l, MHV_LSTYLE_TEXT, (const char *)raw + i, k);
            i += k;
            continue;
        }
        size_t j = i + 1; /* a run of bytes that are not whole printable characters */
        while (j < n && !(utf8_char(raw + j, n - j) > 0 && raw[j] >= 0x20 && raw[j] != 0x7F))
            j++;
        add_bytes(l, raw + i, j - i);
        i = j;
    }
}

/* "<0xE8>" -> 0xE8; -1 when piece is not a byte-fallback piece. */
static int byte_piece(const char *p)
{
    static const char hexd[] = "0123456789ABCDEF";
    if (strlen(p) != 6 || strncmp(p, "<0x", 3) != 0 || p[5] != '>')
        return -1;
    const char *h = strchr(hexd, p[3]), *l = strchr(hexd, p[4]);
    if (!h || !l || !p[3] || !p[4])
        return -1;
    return (int)((h - hexd) * 16 + (l - hexd));
}

static void sentencepiece(const char *piece, mhv_label *l)
{
    int b = byte_piece(piece);
    if (b >= 0) {
        unsigned char c = (unsigned char)b;
        if (c > 0x20 && c < 0x7F)
            add(l, MHV_LSTYLE_TEXT, (const char *)&c, 1);
        else
            add_bytes(l, &c, 1);
        return;
    }
    const char *p = piece;
    if (strncmp(p, "\xE2\x96\x81", 3) == 0) { /* "▁" marks a word start, like "##" */
        add(l, MHV_LSTYLE_MARK, "\xC2\xB7", 2);
        p += 3;
    }
    /* later "▁" are spaces inside the piece */
    while (*p) {
        const char *q = strstr(p, "\xE2\x96\x81");
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n)
            add(l, MHV_LSTYLE_TEXT, p, n);
        if (!q)
            break;
        add(l, MHV_LSTYLE_TEXT, " ", 1);
        p = q + 3;
    }
}

void mhv_label_make(const char *piece, mhv_label_kind kind, int special, mhv_label *out)
{
    out->n = 0;
    size_t len = strlen(piece);
    if (special) {
        add(out, MHV_LSTYLE_SPECIAL, piece, len);
    } else if (kind == MHV_LABEL_BYTELEVEL) {
        bytelevel(piece, out);
    } else if (kind == MHV_LABEL_SENTENCEPIECE) {
        sentencepiece(piece, out);
    } else if (len > 2 && piece[0] == '#' && piece[1] == '#') {
        add(out, MHV_LSTYLE_MARK, "##", 2);
        add(out, MHV_LSTYLE_TEXT, piece + 2, len - 2);
    } else {
        add(out, MHV_LSTYLE_TEXT, piece, len);
    }
    if (out->n == 0)
        add(out, MHV_LSTYLE_MARK, "\xE2\x88\x85", 3); /* "∅": an empty piece is still a row */
}
