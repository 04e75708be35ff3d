/* spm.c - SentencePiece ModelProto files (protobuf wire format) read without a protobuf library;
 * spm_classes.c builds the tokenizer.json transformers makes of one. */
#include "tok/spm.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/unicode.h"

#define MAX_PIECES (1 << 22)

/* ---- protobuf wire format ---- */

typedef struct {
    const unsigned char *p, *end;
} reader;

static int varint(reader *r, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return 0;
        unsigned char b = *r->p++;
        *v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80))
            return 1;
    }
    return 0;
}

/* The next field: its number, wire type, and (wire type 2) its bytes or (0, 5) its value. */
typedef struct {
    uint32_t num;
    int wire;
    uint64_t v;
    const unsigned char *data;
    size_t len;
} field;

static int next_field(reader *r, field *f)
{
    uint64_t key;
    if (!varint(r, &key) || key >> 3 == 0 || key >> 3 > UINT32_MAX)
        return 0;
    f->num = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    f->data = NULL;
    f->len = 0;
    switch (f->wire) {
    case 0:
        return varint(r, &f->v);
    case 1:
        if (r->end - r->p < 8)
            return 0;
        r->p += 8;
        return 1;
    case 2:
        if (!varint(r, &f->v) || f->v > (uint64_t)(r->end - r->p))
            return 0;
        f->data = r->p;
        f->len = (size_t)f->v;
        r->p += f->len;
        return 1;
    case 5:
        if (r->end - r->p < 4)
            return 0;
        f->v = (uint64_t)r->p[0] | (uint64_t)r->p[1] << 8 | (uint64_t)r->p[2] << 16 |
               (uint64_t)r->p[3] << 24;
        r->p += 4;
        return 1;
    default: /* groups (3, 4) are not in ModelProto */
        return 0;
    }
}

void mhv_spm_free(mhv_spm_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++)
        free(m->pieces[i].piece);
    free(m->pieces);
    free(m->charsmap);
    memset(m, 0, sizeof *m);
}

static mhv_status parse_piece(mhv_spm_model *m, const field *f, const char *file,
                              mhv_error *err)
{
    if (m->n >= MAX_PIECES)
        return mhv_fail(err, MHV_EFORMAT, file, "more than %d pieces", MAX_PIECES);
    if ((m->n & (m->n - 1)) == 0) { /* grow at powers of two */
        mhv_spm_piece *p = realloc(m->pieces, (size_t)(m->n ? 2 * m->n : 1) * sizeof *p);
        if (!p)
            return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
        m->pieces = p;
    }
    mhv_spm_piece *p = &m->pieces[m->n];
    *p = (mhv_spm_piece){NULL, 0, MHV_SPM_NORMAL};
    size_t plen = 0;
    reader r = {f->data, f->data + f->len};
    field g;
    while (r.p < r.end) {
        if (!next_field(&r, &g))
            return free(p->piece), mhv_fail(err, MHV_EFORMAT, file, "piece %d is malformed",
                                            m->n);
        if (g.num == 1 && g.wire == 2) {
            free(p->piece);
            p->piece = malloc(g.len + 1);
            if (!p->piece)
                return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
            memcpy(p->piece, g.data, g.len);
            p->piece[g.len] = '\0';
            plen = g.len;
        } else if (g.num == 2 && g.wire == 5) {
            uint32_t u = (uint32_t)g.v;
            memcpy(&p->score, &u, sizeof p->score);
        } else if (g.num == 3 && g.wire == 0) {
            p->type = g.v >= 1 && g.v <= 6 ? (int)g.v : MHV_SPM_NORMAL;
        }
    }
    if (!p->piece || !p->piece[0] || strlen(p->piece) != plen ||
        !mhv_utf8_valid(p->piece, plen, NULL) || !isfinite(p->score)) {
        free(p->piece);
        return mhv_fail(err, MHV_EFORMAT, file, "piece %d is empty, not UTF-8 or has a bad "
                                                "score", m->n);
    }
    m->n++;
    return MHV_OK;
}

mhv_status mhv_spm_parse(const unsigned char *buf, size_t len, const char *file,
                         mhv_spm_model *m, mhv_error *err)
{
    memset(m, 0, sizeof *m);
    m->model_type = 1;
    m->add_dummy_prefix = m->remove_extra_whitespaces = m->escape_whitespaces = 1;
    reader r = {buf, buf + len};
    field f;
    mhv_status st = MHV_OK;
    while (r.p < r.end && !st) {
        if (!next_field(&r, &f)) {
            st = mhv_fail(err, MHV_EFORMAT, file, "not a SentencePiece model (bad protobuf)");
            break;
        }
        if (f.num == 1 && f.wire == 2) {
            st = parse_piece(m, &f, file, err);
        } else if ((f.num == 2 || f.num == 3) && f.wire == 2) {
            reader s = {f.data, f.data + f.len};
            field g;
            while (s.p < s.end && !st) {
                if (!next_field(&s, &g)) {
                    st = mhv_fail(err, MHV_EFORMAT, file, "%s spec is malformed",
                                  f.num == 2 ? "trainer" : "normalizer");
                    break;
                }
                if (f.num == 2 && g.wire == 0 && g.num == 3)
                    m->model_type = (int)g.v;
                else if (f.num == 2 && g.wire == 0 && g.num == 35)
                    m->byte_fallback = g.v != 0;
                else if (f.num == 2 && g.wire == 0 && g.num == 40)
                    m->unk_id = (int)(int32_t)g.v;
                else if (f.num == 2 && g.wire == 0 && g.num == 24)
                    m->whitespace_as_suffix = g.v != 0;
                else if (f.num == 3 && g.wire == 0 && g.num == 3)
                    m->add_dummy_prefix = g.v != 0;
                else if (f.num == 3 && g.wire == 0 && g.num == 4)
                    m->remove_extra_whitespaces = g.v != 0;
                else if (f.num == 3 && g.wire == 0 && g.num == 5)
                    m->escape_whitespaces = g.v != 0;
                else if (f.num == 3 && g.wire == 2 && g.num == 2 && g.len > 0) {
                    free(m->charsmap);
                    m->charsmap = malloc(g.len);
                    if (!m->charsmap) {
                        st = mhv_fail(err, MHV_ENOMEM, file, "out of memory");
                        break;
                    }
                    memcpy(m->charsmap, g.data, g.len);
                    m->charsmap_len = g.len;
                }
            }
        }
    }
    if (!st && m->n == 0)
        st = mhv_fail(err, MHV_EFORMAT, file, "not a SentencePiece model (no pieces)");
    if (st)
        mhv_spm_free(m);
    return st;
}
