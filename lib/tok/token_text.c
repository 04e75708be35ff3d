/* token_text.c - what a token stands for in the text, as the Hugging Face decoder of its kind
 * yields it (ByteLevel, Metaspace + ByteFallback, WordPiece), and its display text. */
#include "tok/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/unicode.h"
#include "tok/pretok.h"
#include "tok/tok_impl.h"
#include "tok/vocab.h"


/* "<0xE8>" -> 0xE8; -1 for anything else. */
static int byte_piece(const char *p)
{
    static const char hex[] = "0123456789ABCDEF";
    if (strlen(p) != 6 || strncmp(p, "<0x", 3) != 0 || p[5] != '>')
        return -1;
    const char *h = strchr(hex, p[3]), *l = strchr(hex, p[4]);
    if (!h || !l || !p[3] || !p[4])
        return -1;
    return (int)((h - hex) * 16 + (l - hex));
}

size_t mhv_tok_piece_bytes(mhv_tok_kind kind, const char *p, unsigned char *buf, size_t cap)
{
    size_t len = strlen(p), n = 0, i = 0;
#define PUT(b) do { if (n < cap) buf[n] = (unsigned char)(b); n++; } while (0)
    if (kind == MHV_TOK_WORDPIECE) {
        if (len > 2 && p[0] == '#' && p[1] == '#')
            i = 2;
        for (; i < len; i++)
            PUT(p[i]);
        return n;
    }
    if (kind == MHV_TOK_SENTENCEPIECE_BPE) {
        int b = byte_piece(p);
        if (b >= 0) {
            PUT(b);
            return n;
        }
    }
    while (i < len) {
        uint32_t c;
        int k = mhv_utf8_decode(p + i, len - i, &c);
        if (k == 0) { /* not UTF-8 (only a malformed file has it): the byte itself */
            PUT(p[i]);
            i++;
            continue;
        }
        int b = kind == MHV_TOK_BYTELEVEL_BPE ? mhv_bytelevel_byte(c) : -1;
        if (b >= 0)
            PUT(b);
        else if (kind == MHV_TOK_SENTENCEPIECE_BPE && c == 0x2581)
            PUT(' ');
        else /* an added token's own text, outside the byte alphabet */
            for (int j = 0; j < k; j++)
                PUT(p[i + (size_t)j]);
        i += (size_t)k;
    }
#undef PUT
    return n;
}

size_t mhv_tok_token_bytes(const mhv_tok *tok, int32_t id, unsigned char *buf, size_t cap)
{
    const char *p = mhv_vocab_piece(tok->vocab, id);
    if (!p)
        return 0;
    if (!tok->special[id])
        return mhv_tok_piece_bytes(tok->kind, p, buf, cap);
    size_t len = strlen(p);
    if (cap)
        memcpy(buf, p, len < cap ? len : cap);
    return len;
}

void mhv_tok_token_text(const mhv_tok *tok, int32_t id, char *buf, size_t size)
{
    unsigned char raw[1024];
    size_t n = mhv_tok_token_bytes(tok, id, raw, sizeof raw), o = 0, i = 0;
    if (n > sizeof raw)
        n = sizeof raw;
    if (size == 0)
        return;
    while (i < n) {
        uint32_t c;
        int k = mhv_utf8_decode((const char *)raw + i, n - i, &c);
        if (k > 0) {
            if (o + (size_t)k >= size)
                break;
            memcpy(buf + o, raw + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
            continue;
        }
        /* a run of bytes that do not decode: "<E8 8B>" */
        char hex[3 * sizeof raw + 2];
        size_t h = 0;
        hex[h++] = '<';
        while (i < n && mhv_utf8_decode((const char *)raw + i, n - i, &c) == 0) {
            h += (size_t)snprintf(hex + h, sizeof hex - h, h > 1 ? " %02X" : "%02X", raw[i]);
            i++;
        }
        hex[h++] = '>';
        if (o + h >= size)
            break;
        memcpy(buf + o, hex, h);
        o += h;
    }
    buf[o] = '\0';
}

int mhv_tok_labels_decoded(const mhv_tok *tok)
{
    const mhv_decoder *d = &tok->dec;
    if (d->n == 1 && d->step[0].kind == MHV_DEC_WORDPIECE && strcmp(d->step[0].a, "##") == 0)
        return 0;
    return d->n > 0;
}

mhv_status mhv_tok_decode_tokens(const mhv_tok *tok, const int32_t *ids, int n, char ***out,
                                 mhv_error *err)
{
    const char **pieces = malloc(((size_t)n + 1) * sizeof *pieces);
    if (!pieces)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    for (int i = 0; i < n; i++)
        if (!(pieces[i] = mhv_vocab_piece(tok->vocab, ids[i]))) {
            free(pieces);
            return mhv_fail(err, MHV_EINPUT, "", "token id %d is not in the vocabulary",
                            (int)ids[i]);
        }
    mhv_decoder none = {0};
    mhv_status st = mhv_decoder_tokens(tok->dec.n ? &tok->dec : &none, pieces, n, out, err);
    free(pieces);
    return st;
}
