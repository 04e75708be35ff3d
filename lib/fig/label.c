#include "fig/label.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tok/tokenizer.h"
#include "text/unicode.h"

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

/* Length of the printable UTF-8 character at s (n bytes available); 0 when it is invalid,
 * cut, or a C0/C1 control character (a newline token shows as <0A>). */
static size_t printable_char(const unsigned char *s, size_t n)
{
    uint32_t c = 0;
    size_t k = (size_t)mhv_utf8_decode((const char *)s, n, &c);
    return c < 0x20 || (c >= 0x7F && c < 0xA0) ? 0 : k;
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

/* Bytes raw(n,) a token stands for, shown as text where they are whole printable
 * characters and as hex where not; a leading space marks a word start, as "##" marks a
 * continuation. */
static void show_bytes(const unsigned char *raw, size_t n, mhv_label *l)
{
    size_t i = 0;
    if (n > 0 && raw[0] == ' ') {
        add(l, MHV_LSTYLE_MARK, "\xC2\xB7", 2); /* "·" */
        i = 1;
    }
    while (i < n) {
        size_t k = printable_char(raw + i, n - i);
        if (k > 0) {
            add(l, MHV_LSTYLE_TEXT, (const char *)raw + i, k);
            i += k;
            continue;
        }
        size_t j = i + 1; /* a run of bytes that are not whole printable characters */
        while (j < n && printable_char(raw + j, n - j) == 0)
            j++;
        add_bytes(l, raw + i, j - i);
        i = j;
    }
}

/* A byte-level or SentencePiece piece: the bytes it stands for, decoded by the tokenizer's
 * own rules, then shown. */
static void from_bytes(const char *piece, mhv_tok_kind kind, mhv_label *l)
{
    unsigned char raw[4 * MHV_LABEL_PART_BYTES];
    size_t n = mhv_tok_piece_bytes(kind, piece, raw, sizeof raw);
    if (n > sizeof raw)
        n = sizeof raw; /* the label is cut with "…" long before this */
    show_bytes(raw, n, l);
}

void mhv_label_make(const char *piece, mhv_label_kind kind, int special, mhv_label *out)
{
    out->n = 0;
    size_t len = strlen(piece);
    if (special) {
        add(out, MHV_LSTYLE_SPECIAL, piece, len);
    } else if (kind == MHV_LABEL_BYTELEVEL) {
        from_bytes(piece, MHV_TOK_BYTELEVEL_BPE, out);
    } else if (kind == MHV_LABEL_SENTENCEPIECE) {
        from_bytes(piece, MHV_TOK_SENTENCEPIECE_BPE, out);
    } else if (kind == MHV_LABEL_DECODED) {
        show_bytes((const unsigned char *)piece, len < 4 * MHV_LABEL_PART_BYTES ? len
                                                    : 4 * MHV_LABEL_PART_BYTES, out);
    } else if (len > 2 && piece[0] == '#' && piece[1] == '#') {
        add(out, MHV_LSTYLE_MARK, "##", 2);
        add(out, MHV_LSTYLE_TEXT, piece + 2, len - 2);
    } else {
        add(out, MHV_LSTYLE_TEXT, piece, len);
    }
    if (out->n == 0)
        add(out, MHV_LSTYLE_MARK, "\xE2\x88\x85", 3); /* "∅": an empty piece is still a row */
}
