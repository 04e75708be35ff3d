/* spm.c - SentencePiece ModelProto (protobuf wire format) and what transformers makes of it. */
#include "tok/spm.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/json.h"
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

/* ---- what transformers builds ---- */

static char *base64(const unsigned char *b, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc(4 * ((n + 2) / 3) + 1), *w = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0) |
                     (i + 2 < n ? b[i + 2] : 0);
        *w++ = tab[v >> 18 & 63];
        *w++ = tab[v >> 12 & 63];
        *w++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *w++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *w = '\0';
    return o;
}

static cJSON *typed(const char *type)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "type", type)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int find_piece(const mhv_spm_model *m, const char *s)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->pieces[i].piece, s) == 0)
            return i;
    return -1;
}

/* transformers 5's DebertaV2Tokenizer (TokenizersBackend) from a SentencePiece unigram model:
 * the pieces as a Unigram model without byte fallback, the charsmap (else NFC and whitespace
 * folding), Metaspace, [CLS] A [SEP] (B [SEP]), and the special tokens as added tokens (control
 * pieces and the named specials; one missing from the pieces gets the next id). */
static cJSON *deberta_v2(const mhv_spm_model *m, const cJSON *cfg, const char **why)
{
    int lower, punct, aps;
    const char *names[7], *keys[7] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                      "pad_token", "cls_token", "mask_token"};
    const char *defs[7] = {"[CLS]", "[SEP]", "[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};
    if (mhv_json_bool(cfg, "do_lower_case", 0, &lower, "", NULL) ||
        mhv_json_bool(cfg, "split_by_punct", 0, &punct, "", NULL) ||
        mhv_json_bool(cfg, "add_prefix_space", 1, &aps, "", NULL)) {
        *why = "tokenizer_config.json has a setting that is not true or false";
        return NULL;
    }
    for (int k = 0; k < 7; k++) {
        const cJSON *x = mhv_json_get(cfg, keys[k]);
        if (cJSON_IsObject(x))
            x = mhv_json_get(x, "content");
        names[k] = cJSON_IsString(x) ? x->valuestring : defs[k];
    }
    if (m->model_type != 1) {
        *why = "DebertaV2Tokenizer needs a unigram SentencePiece model";
        return NULL;
    }
    cJSON *root = cJSON_CreateObject(), *model = typed("Unigram"), *vocab = cJSON_CreateArray();
    cJSON *added = cJSON_CreateArray(), *nz = typed("Sequence"), *nzl = cJSON_CreateArray();
    cJSON *pt = typed("Sequence"), *ptl = cJSON_CreateArray(), *pp = typed("TemplateProcessing");
    int ok = root && model && vocab && added && nz && nzl && pt && ptl && pp;
    cJSON_AddItemToObject(root, "added_tokens", added);
    cJSON_AddItemToObject(root, "normalizer", nz);
    cJSON_AddItemToObject(nz, "normalizers", nzl);
    cJSON_AddItemToObject(root, "pre_tokenizer", pt);
    cJSON_AddItemToObject(pt, "pretokenizers", ptl);
    cJSON_AddItemToObject(root, "post_processor", pp);
    cJSON_AddItemToObject(root, "model", model);
    cJSON_AddItemToObject(model, "vocab", vocab);
    if (!ok) {
        cJSON_Delete(root);
        cJSON_Delete(model);
        return NULL;
    }
    /* the model: unk is the unk token when it is a piece scored 0, else the trainer's */
    int unk = -1;
    for (int i = 0; i < m->n; i++) {
        cJSON *e = cJSON_CreateArray();
        cJSON_AddItemToArray(e, cJSON_CreateString(m->pieces[i].piece));
        cJSON_AddItemToArray(e, cJSON_CreateNumber((double)m->pieces[i].score));
        cJSON_AddItemToArray(vocab, e);
        if (unk < 0 && m->pieces[i].score == 0.0f && strcmp(m->pieces[i].piece, names[2]) == 0)
            unk = i;
    }
    if (unk < 0)
        unk = m->unk_id;
    cJSON_AddNumberToObject(model, "unk_id", unk);
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    /* added tokens: control pieces and the seven named specials, by id */
    int next = m->n, ids[7];
    for (int k = 0; k < 7; k++) {
        ids[k] = find_piece(m, names[k]);
        for (int j = 0; j < k && ids[k] < 0; j++)
            if (strcmp(names[j], names[k]) == 0)
                ids[k] = ids[j];
        if (ids[k] < 0)
            ids[k] = next++;
    }
    for (int id = 0; id < next; id++) {
        const char *content = id < m->n ? m->pieces[id].piece : NULL;
        int take = id < m->n && m->pieces[id].type == MHV_SPM_CONTROL;
        for (int k = 0; k < 7; k++)
            if (ids[k] == id) {
                take = 1;
                content = names[k];
            }
        if (!take)
            continue;
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", id);
        cJSON_AddStringToObject(a, "content", content);
        cJSON_AddBoolToObject(a, "normalized", 0);
        cJSON_AddBoolToObject(a, "special", 1);
        cJSON_AddItemToArray(added, a);
    }
    /* normalizer */
    if (lower)
        cJSON_AddItemToArray(nzl, typed("Lowercase"));
    cJSON *rep = typed("Replace"), *pat = cJSON_CreateObject(), *strip = typed("Strip");
    cJSON_AddBoolToObject(strip, "strip_left", 0);
    cJSON_AddBoolToObject(strip, "strip_right", 1);
    cJSON_AddItemToObject(rep, "pattern", pat);
    cJSON_AddStringToObject(rep, "content", " ");
    if (m->charsmap) {
        cJSON *pc = typed("Precompiled");
        char *b64 = base64(m->charsmap, m->charsmap_len);
        cJSON_AddStringToObject(pc, "precompiled_charsmap", b64 ? b64 : "");
        free(b64);
        cJSON_AddItemToArray(nzl, pc);
        cJSON_AddItemToArray(nzl, strip);
        cJSON_AddStringToObject(pat, "Regex", " {2,}");
        cJSON_AddItemToArray(nzl, rep);
    } else {
        cJSON_AddStringToObject(pat, "Regex", "\\s{2,}|[\\n\\r\\t]");
        cJSON_AddItemToArray(nzl, rep);
        cJSON_AddItemToArray(nzl, typed("NFC"));
        cJSON_AddItemToArray(nzl, strip);
    }
    /* pre-tokenizer */
    if (punct) {
        cJSON *p = typed("Punctuation");
        cJSON_AddStringToObject(p, "behavior", "Isolated");
        cJSON_AddItemToArray(ptl, p);
    }
    cJSON *ms = typed("Metaspace");
    cJSON_AddStringToObject(ms, "replacement", "\xe2\x96\x81");
    cJSON_AddStringToObject(ms, "prepend_scheme", aps ? "always" : "first");
    cJSON_AddBoolToObject(ms, "split", 1);
    cJSON_AddItemToArray(ptl, ms);
    /* post-processor: [CLS]:0 $A:0 [SEP]:0 (+ $B:1 [SEP]:1); a missing token is id 0 */
    const char *single = "CAS", *pair = "CASBS";
    cJSON *sl = cJSON_CreateArray(), *pl = cJSON_CreateArray(), *sp = cJSON_CreateObject();
    cJSON_AddItemToObject(pp, "single", sl);
    cJSON_AddItemToObject(pp, "pair", pl);
    cJSON_AddItemToObject(pp, "special_tokens", sp);
    for (int which = 0; which < 2; which++) {
        const char *t = which ? pair : single;
        for (int i = 0; t[i]; i++) {
            int type = i >= 3;
            cJSON *item = cJSON_CreateObject(), *in = cJSON_CreateObject();
            if (t[i] == 'A' || t[i] == 'B') {
                cJSON_AddStringToObject(in, "id", t[i] == 'A' ? "A" : "B");
                cJSON_AddItemToObject(item, "Sequence", in);
            } else {
                cJSON_AddStringToObject(in, "id", t[i] == 'C' ? names[5] : names[3]);
                cJSON_AddItemToObject(item, "SpecialToken", in);
            }
            cJSON_AddNumberToObject(in, "type_id", type);
            cJSON_AddItemToArray(which ? pl : sl, item);
        }
    }
    for (int k = 3; k <= 5; k += 2) {
        int id = find_piece(m, names[k]);
        if (id < 0)
            id = ids[k] < next ? ids[k] : 0;
        cJSON *e = cJSON_CreateObject(), *il = cJSON_CreateArray();
        cJSON_AddStringToObject(e, "id", names[k]);
        cJSON_AddItemToArray(il, cJSON_CreateNumber(id));
        cJSON_AddItemToObject(e, "ids", il);
        cJSON_AddItemToObject(sp, names[k], e);
    }
    return root;
}

/* transformers 5's T5Tokenizer from a SentencePiece unigram model: the pieces then
 * <extra_id_{n-1}> ... <extra_id_0> (scored 0) as a Unigram model with unk 2, the charsmap,
 * WhitespaceSplit + Metaspace, A </s> (B </s>), and as added tokens the control pieces, the
 * named specials and the extra ids. */
static cJSON *t5(const mhv_spm_model *m, const cJSON *cfg, const char **why)
{
    int extra;
    const char *names[3], *keys[3] = {"eos_token", "unk_token", "pad_token"};
    const char *defs[3] = {"</s>", "<unk>", "<pad>"};
    if (mhv_json_int(cfg, "extra_ids", 100, 0, 100000, &extra, "", NULL)) {
        *why = "tokenizer_config.json's extra_ids is not an integer in 0..100000";
        return NULL;
    }
    for (int k = 0; k < 3; k++) {
        const cJSON *x = mhv_json_get(cfg, keys[k]);
        if (cJSON_IsObject(x))
            x = mhv_json_get(x, "content");
        names[k] = cJSON_IsString(x) ? x->valuestring : defs[k];
    }
    if (m->model_type != 1) {
        *why = "T5Tokenizer needs a unigram SentencePiece model";
        return NULL;
    }
    cJSON *root = cJSON_CreateObject(), *model = typed("Unigram"), *vocab = cJSON_CreateArray();
    cJSON *added = cJSON_CreateArray(), *pt = typed("Sequence"), *ptl = cJSON_CreateArray();
    cJSON *pp = typed("TemplateProcessing");
    int ok = root && model && vocab && added && pt && ptl && pp;
    cJSON_AddItemToObject(root, "added_tokens", added);
    cJSON_AddItemToObject(root, "pre_tokenizer", pt);
    cJSON_AddItemToObject(pt, "pretokenizers", ptl);
    cJSON_AddItemToObject(root, "post_processor", pp);
    cJSON_AddItemToObject(root, "model", model);
    cJSON_AddItemToObject(model, "vocab", vocab);
    if (!ok) {
        cJSON_Delete(root);
        cJSON_Delete(model);
        return NULL;
    }
    char name[32];
    for (int i = 0; i < m->n + extra; i++) {
        cJSON *e = cJSON_CreateArray();
        if (i < m->n) {
            cJSON_AddItemToArray(e, cJSON_CreateString(m->pieces[i].piece));
            cJSON_AddItemToArray(e, cJSON_CreateNumber((double)m->pieces[i].score));
        } else {
            snprintf(name, sizeof name, "<extra_id_%d>", m->n + extra - 1 - i);
            cJSON_AddItemToArray(e, cJSON_CreateString(name));
            cJSON_AddItemToArray(e, cJSON_CreateNumber(0));
        }
        cJSON_AddItemToArray(vocab, e);
    }
    cJSON_AddNumberToObject(model, "unk_id", 2);
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    int eos = find_piece(m, names[0]);
    for (int id = 0; id < m->n + extra; id++) {
        const char *content = NULL;
        if (id >= m->n) {
            snprintf(name, sizeof name, "<extra_id_%d>", m->n + extra - 1 - id);
            content = name;
        } else if (m->pieces[id].type == MHV_SPM_CONTROL) {
            content = m->pieces[id].piece;
        } else {
            for (int k = 0; k < 3; k++)
                if (strcmp(m->pieces[id].piece, names[k]) == 0)
                    content = names[k];
        }
        if (!content)
            continue;
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", id);
        cJSON_AddStringToObject(a, "content", content);
        cJSON_AddBoolToObject(a, "normalized", 0);
        cJSON_AddBoolToObject(a, "special", 1);
        cJSON_AddItemToArray(added, a);
    }
    if (m->charsmap) {
        cJSON *pc = typed("Precompiled");
        char *b64 = base64(m->charsmap, m->charsmap_len);
        cJSON_AddStringToObject(pc, "precompiled_charsmap", b64 ? b64 : "");
        free(b64);
        cJSON_AddItemToObject(root, "normalizer", pc);
    }
    cJSON_AddItemToArray(ptl, typed("WhitespaceSplit"));
    cJSON *ms = typed("Metaspace");
    cJSON_AddStringToObject(ms, "replacement", "\xe2\x96\x81");
    cJSON_AddStringToObject(ms, "prepend_scheme", "always");
    cJSON_AddBoolToObject(ms, "split", 1);
    cJSON_AddItemToArray(ptl, ms);
    cJSON *sl = cJSON_CreateArray(), *pl = cJSON_CreateArray(), *sp = cJSON_CreateObject();
    cJSON_AddItemToObject(pp, "single", sl);
    cJSON_AddItemToObject(pp, "pair", pl);
    cJSON_AddItemToObject(pp, "special_tokens", sp);
    for (int which = 0; which < 2; which++)
        for (int i = 0; i < (which ? 4 : 2); i++) {
            cJSON *item = cJSON_CreateObject(), *in = cJSON_CreateObject();
            if (i % 2 == 0) {
                cJSON_AddStringToObject(in, "id", i ? "B" : "A");
                cJSON_AddItemToObject(item, "Sequence", in);
            } else {
                cJSON_AddStringToObject(in, "id", names[0]);
                cJSON_AddItemToObject(item, "SpecialToken", in);
            }
            cJSON_AddNumberToObject(in, "type_id", 0);
            cJSON_AddItemToArray(which ? pl : sl, item);
        }
    cJSON *e = cJSON_CreateObject(), *il = cJSON_CreateArray();
    cJSON_AddStringToObject(e, "id", names[0]);
    cJSON_AddItemToArray(il, cJSON_CreateNumber(eos < 0 ? 0 : eos));
    cJSON_AddItemToObject(e, "ids", il);
    cJSON_AddItemToObject(sp, names[0], e);
    return root;
}

/* transformers 5's XLMRobertaTokenizer from a SentencePiece model (fairseq's layout): <s> <pad>
 * </s> <unk>, the pieces after the first three, <mask>, as a Unigram model with unk 3; the
 * charsmap; WhitespaceSplit + Metaspace; <s> A </s> (</s> B </s>); the named specials and the
 * control pieces as added tokens. */
static cJSON *xlm_roberta(const mhv_spm_model *m, const cJSON *cfg, const char **why)
{
    int aps;
    const char *names[7], *keys[7] = {"bos_token", "pad_token", "eos_token", "unk_token",
                                      "mask_token", "sep_token", "cls_token"};
    const char *defs[7] = {"<s>", "<pad>", "</s>", "<unk>", "<mask>", "</s>", "<s>"};
    if (mhv_json_bool(cfg, "add_prefix_space", 1, &aps, "", NULL)) {
        *why = "tokenizer_config.json's add_prefix_space is not true or false";
        return NULL;
    }
    for (int k = 0; k < 7; k++) {
        const cJSON *x = mhv_json_get(cfg, keys[k]);
        if (cJSON_IsObject(x))
            x = mhv_json_get(x, "content");
        names[k] = cJSON_IsString(x) ? x->valuestring : defs[k];
    }
    if (m->model_type != 1 && m->model_type != 2) {
        *why = "XLMRobertaTokenizer needs a unigram or BPE SentencePiece model";
        return NULL;
    }
    if (m->n < 3) {
        *why = "the SentencePiece model has fewer than 3 pieces";
        return NULL;
    }
    cJSON *root = cJSON_CreateObject(), *model = typed("Unigram"), *vocab = cJSON_CreateArray();
    cJSON *added = cJSON_CreateArray(), *pt = typed("Sequence"), *ptl = cJSON_CreateArray();
    cJSON *pp = typed("TemplateProcessing");
    int ok = root && model && vocab && added && pt && ptl && pp;
    cJSON_AddItemToObject(root, "added_tokens", added);
    cJSON_AddItemToObject(root, "pre_tokenizer", pt);
    cJSON_AddItemToObject(pt, "pretokenizers", ptl);
    cJSON_AddItemToObject(root, "post_processor", pp);
    cJSON_AddItemToObject(root, "model", model);
    cJSON_AddItemToObject(model, "vocab", vocab);
    if (!ok) {
        cJSON_Delete(root);
        cJSON_Delete(model);
        return NULL;
    }
    int total = 4 + (m->n - 3) + 1;
    /* (piece, score) of id i in the reordered vocabulary */
#define XPIECE(i) ((i) < 4 ? names[i] : (i) == total - 1 ? names[4] : m->pieces[(i) - 1].piece)
#define XSCORE(i) ((i) < 4 || (i) == total - 1 ? 0.0 : (double)m->pieces[(i) - 1].score)
    for (int i = 0; i < total; i++) {
        cJSON *e = cJSON_CreateArray();
        cJSON_AddItemToArray(e, cJSON_CreateString(XPIECE(i)));
        cJSON_AddItemToArray(e, cJSON_CreateNumber(XSCORE(i)));
        cJSON_AddItemToArray(vocab, e);
    }
    cJSON_AddNumberToObject(model, "unk_id", 3);
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    for (int id = 0; id < total; id++) {
        const char *p = XPIECE(id);
        int take = id < 4 || id == total - 1 || (id >= 4 && id < total - 1 &&
                                                 m->pieces[id - 1].type == MHV_SPM_CONTROL);
        for (int k = 0; k < 7 && !take; k++)
            take = strcmp(p, names[k]) == 0;
        if (!take)
            continue;
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", id);
        cJSON_AddStringToObject(a, "content", p);
        cJSON_AddBoolToObject(a, "normalized", 0);
        cJSON_AddBoolToObject(a, "special", 1);
        cJSON_AddItemToArray(added, a);
    }
    if (m->charsmap) {
        cJSON *pc = typed("Precompiled");
        char *b64 = base64(m->charsmap, m->charsmap_len);
        cJSON_AddStringToObject(pc, "precompiled_charsmap", b64 ? b64 : "");
        free(b64);
        cJSON_AddItemToObject(root, "normalizer", pc);
    }
    cJSON_AddItemToArray(ptl, typed("WhitespaceSplit"));
    cJSON *ms = typed("Metaspace");
    cJSON_AddStringToObject(ms, "replacement", "\xe2\x96\x81");
    cJSON_AddStringToObject(ms, "prepend_scheme", aps ? "always" : "never");
    cJSON_AddBoolToObject(ms, "split", 1);
    cJSON_AddItemToArray(ptl, ms);
    /* "bos A eos" and "bos A eos eos B eos" */
    cJSON *sl = cJSON_CreateArray(), *pl = cJSON_CreateArray(), *sp = cJSON_CreateObject();
    cJSON_AddItemToObject(pp, "single", sl);
    cJSON_AddItemToObject(pp, "pair", pl);
    cJSON_AddItemToObject(pp, "special_tokens", sp);
    const char *single = "bAe", *pair = "bAeeBe";
    for (int which = 0; which < 2; which++) {
        const char *t = which ? pair : single;
        for (int i = 0; t[i]; i++) {
            cJSON *item = cJSON_CreateObject(), *in = cJSON_CreateObject();
            if (t[i] == 'A' || t[i] == 'B') {
                cJSON_AddStringToObject(in, "id", t[i] == 'A' ? "A" : "B");
                cJSON_AddItemToObject(item, "Sequence", in);
            } else {
                cJSON_AddStringToObject(in, "id", t[i] == 'b' ? names[0] : names[2]);
                cJSON_AddItemToObject(item, "SpecialToken", in);
            }
            cJSON_AddNumberToObject(in, "type_id", 0);
            cJSON_AddItemToArray(which ? pl : sl, item);
        }
    }
    for (int k = 0; k <= 2; k += 2) {
        cJSON *e = cJSON_CreateObject(), *il = cJSON_CreateArray();
        cJSON_AddStringToObject(e, "id", names[k]);
        cJSON_AddItemToArray(il, cJSON_CreateNumber(k));
        cJSON_AddItemToObject(e, "ids", il);
        cJSON_AddItemToObject(sp, names[k], e);
    }
#undef XPIECE
#undef XSCORE
    return root;
}

static void add_replace(cJSON *list, const char *from, const char *to)
{
    cJSON *r = typed("Replace"), *pat = cJSON_CreateObject();
    cJSON_AddStringToObject(pat, "String", from);
    cJSON_AddItemToObject(r, "pattern", pat);
    cJSON_AddStringToObject(r, "content", to);
    cJSON_AddItemToArray(list, r);
}

/* transformers 5's AlbertTokenizer from a SentencePiece unigram model: the pieces with unk 1,
 * `` and '' as ", NFKD + StripAccents unless keep_accents, Lowercase if do_lower_case, the
 * charsmap; WhitespaceSplit + Metaspace; [CLS] A [SEP] (B [SEP] as type 1); the named
 * specials and control pieces as added tokens. */
static cJSON *albert(const mhv_spm_model *m, const cJSON *cfg, const char **why)
{
    int lower, keep, aps;
    const char *names[7], *keys[7] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                      "pad_token", "cls_token", "mask_token"};
    const char *defs[7] = {"[CLS]", "[SEP]", "<unk>", "[SEP]", "<pad>", "[CLS]", "[MASK]"};
    if (mhv_json_bool(cfg, "do_lower_case", 1, &lower, "", NULL) ||
        mhv_json_bool(cfg, "keep_accents", 0, &keep, "", NULL) ||
        mhv_json_bool(cfg, "add_prefix_space", 1, &aps, "", NULL)) {
        *why = "tokenizer_config.json has a setting that is not true or false";
        return NULL;
    }
    for (int k = 0; k < 7; k++) {
        const cJSON *x = mhv_json_get(cfg, keys[k]);
        if (cJSON_IsObject(x))
            x = mhv_json_get(x, "content");
        names[k] = cJSON_IsString(x) ? x->valuestring : defs[k];
    }
    if (m->model_type != 1) {
        *why = "AlbertTokenizer needs a unigram SentencePiece model";
        return NULL;
    }
    int cls = find_piece(m, names[5]), sep = find_piece(m, names[3]);
    if (cls < 0 || sep < 0) {
        *why = "the SentencePiece model has no [CLS] or [SEP] piece (AlbertTokenizer needs them)";
        return NULL;
    }
    cJSON *root = cJSON_CreateObject(), *model = typed("Unigram"), *vocab = cJSON_CreateArray();
    cJSON *added = cJSON_CreateArray(), *nz = typed("Sequence"), *nzl = cJSON_CreateArray();
    cJSON *pt = typed("Sequence"), *ptl = cJSON_CreateArray(), *pp = typed("TemplateProcessing");
    int ok = root && model && vocab && added && nz && nzl && pt && ptl && pp;
    cJSON_AddItemToObject(root, "added_tokens", added);
    cJSON_AddItemToObject(root, "normalizer", nz);
    cJSON_AddItemToObject(nz, "normalizers", nzl);
    cJSON_AddItemToObject(root, "pre_tokenizer", pt);
    cJSON_AddItemToObject(pt, "pretokenizers", ptl);
    cJSON_AddItemToObject(root, "post_processor", pp);
    cJSON_AddItemToObject(root, "model", model);
    cJSON_AddItemToObject(model, "vocab", vocab);
    if (!ok) {
        cJSON_Delete(root);
        cJSON_Delete(model);
        return NULL;
    }
    for (int i = 0; i < m->n; i++) {
        cJSON *e = cJSON_CreateArray();
        cJSON_AddItemToArray(e, cJSON_CreateString(m->pieces[i].piece));
        cJSON_AddItemToArray(e, cJSON_CreateNumber((double)m->pieces[i].score));
        cJSON_AddItemToArray(vocab, e);
    }
    cJSON_AddNumberToObject(model, "unk_id", 1);
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    int next = m->n, ids[7];
    for (int k = 0; k < 7; k++) {
        ids[k] = find_piece(m, names[k]);
        for (int j = 0; j < k && ids[k] < 0; j++)
            if (strcmp(names[j], names[k]) == 0)
                ids[k] = ids[j];
        if (ids[k] < 0)
            ids[k] = next++;
    }
    for (int id = 0; id < next; id++) {
        const char *content = id < m->n ? m->pieces[id].piece : NULL;
        int take = id < m->n && m->pieces[id].type == MHV_SPM_CONTROL;
        for (int k = 0; k < 7; k++)
            if (ids[k] == id) {
                take = 1;
                content = names[k];
            }
        if (!take)
            continue;
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", id);
        cJSON_AddStringToObject(a, "content", content);
        cJSON_AddBoolToObject(a, "normalized", 0);
        cJSON_AddBoolToObject(a, "special", 1);
        cJSON_AddItemToArray(added, a);
    }
    add_replace(nzl, "``", "\"");
    add_replace(nzl, "''", "\"");
    if (!keep) {
        cJSON_AddItemToArray(nzl, typed("NFKD"));
        cJSON_AddItemToArray(nzl, typed("StripAccents"));
    }
    if (lower)
        cJSON_AddItemToArray(nzl, typed("Lowercase"));
    if (m->charsmap) {
        cJSON *pc = typed("Precompiled");
        char *b64 = base64(m->charsmap, m->charsmap_len);
        cJSON_AddStringToObject(pc, "precompiled_charsmap", b64 ? b64 : "");
        free(b64);
        cJSON_AddItemToArray(nzl, pc);
    }
    cJSON_AddItemToArray(ptl, typed("WhitespaceSplit"));
    cJSON *ms = typed("Metaspace");
    cJSON_AddStringToObject(ms, "replacement", "\xe2\x96\x81");
    cJSON_AddStringToObject(ms, "prepend_scheme", aps ? "always" : "never");
    cJSON_AddBoolToObject(ms, "split", 1);
    cJSON_AddItemToArray(ptl, ms);
    cJSON *sl = cJSON_CreateArray(), *pl = cJSON_CreateArray(), *sp = cJSON_CreateObject();
    cJSON_AddItemToObject(pp, "single", sl);
    cJSON_AddItemToObject(pp, "pair", pl);
    cJSON_AddItemToObject(pp, "special_tokens", sp);
    const char *single = "CAS", *pair = "CASBS";
    for (int which = 0; which < 2; which++) {
        const char *t = which ? pair : single;
        for (int i = 0; t[i]; i++) {
            cJSON *item = cJSON_CreateObject(), *in = cJSON_CreateObject();
            if (t[i] == 'A' || t[i] == 'B') {
                cJSON_AddStringToObject(in, "id", t[i] == 'A' ? "A" : "B");
                cJSON_AddItemToObject(item, "Sequence", in);
            } else {
                cJSON_AddStringToObject(in, "id", t[i] == 'C' ? "[CLS]" : "[SEP]");
                cJSON_AddItemToObject(item, "SpecialToken", in);
            }
            cJSON_AddNumberToObject(in, "type_id", i >= 3);
            cJSON_AddItemToArray(which ? pl : sl, item);
        }
    }
    for (int k = 0; k < 2; k++) {
        cJSON *e = cJSON_CreateObject(), *il = cJSON_CreateArray();
        cJSON_AddStringToObject(e, "id", k ? "[SEP]" : "[CLS]");
        cJSON_AddItemToArray(il, cJSON_CreateNumber(k ? sep : cls));
        cJSON_AddItemToObject(e, "ids", il);
        cJSON_AddItemToObject(sp, k ? "[SEP]" : "[CLS]", e);
    }
    return root;
}

static int is_class(const char *name, const char *cls)
{
    size_t n = strlen(cls);
    return strncmp(name, cls, n) == 0 && (name[n] == '\0' || strcmp(name + n, "Fast") == 0);
}

const char *mhv_spm_class(const cJSON *config)
{
    const cJSON *cls = mhv_json_get(config, "tokenizer_class");
    const char *name = cJSON_IsString(cls) ? cls->valuestring : "";
    if (is_class(name, "DebertaV2Tokenizer") || is_class(name, "T5Tokenizer") ||
        is_class(name, "XLMRobertaTokenizer") || is_class(name, "AlbertTokenizer"))
        return NULL;
    return name;
}

mhv_status mhv_spm_to_json(const mhv_spm_model *m, const cJSON *config, const char *file,
                           cJSON **out, mhv_error *err)
{
    *out = NULL;
    const char *why = NULL, *other = mhv_spm_class(config);
    if (other)
        return mhv_fail(err, MHV_EUNSUPPORTED, file,
                        "no tokenizer.json, and a SentencePiece model is read only for "
                        "DebertaV2Tokenizer, T5Tokenizer, XLMRobertaTokenizer and AlbertTokenizer "
                        "(tokenizer_class '%.40s'): make "
                        "tokenizer.json with "
                        "transformers, AutoTokenizer.from_pretrained(DIR).save_pretrained(DIR)",
                        other);
    const cJSON *cls = mhv_json_get(config, "tokenizer_class");
    const char *name = cls->valuestring;
    *out = is_class(name, "T5Tokenizer")           ? t5(m, config, &why)
           : is_class(name, "XLMRobertaTokenizer") ? xlm_roberta(m, config, &why)
           : is_class(name, "AlbertTokenizer")     ? albert(m, config, &why)
                                                   : deberta_v2(m, config, &why);
    if (!*out)
        return why ? mhv_fail(err, MHV_EUNSUPPORTED, file, "%s", why)
                   : mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    return MHV_OK;
}
