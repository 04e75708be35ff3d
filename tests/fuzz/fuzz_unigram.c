/* fuzz_unigram.c - Unigram tokenizers. First byte even: the rest is text for the T5,
 * XLM-R or DeBERTa-v2 tokenizer made here (tests/fixtures/tok-{t5,xlmr,debertav2}: Precompiled
 * normalizer, Metaspace, Viterbi, byte fallback), whole or as a sentence pair; ids inside the
 * vocabulary, spans inside the text, type ids 0/1. First byte odd: the rest is a Unigram
 * model (a tokenizer.json "model" object: vocab [[piece, score], ...], unk_id, byte_fallback)
 * put in a minimal tokenizer.json; an accepted one encodes fixed sentences. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "text/unicode.h"
#include "tok/tokenizer.h"

static mhv_tok *toks[3];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    static const char *const names[3] = {"t5", "xlmr", "debertav2"};
    for (int i = 0; i < 3; i++) {
        char dir[256];
        mhv_error err = {0};
        snprintf(dir, sizeof dir, MHV_FUZZ_FIXTURES "/tok-%s", names[i]);
        if (mhv_tok_open_dir(dir, &toks[i], &err) != MHV_OK) {
            fprintf(stderr, "fuzz_unigram: %s: %s (run from the repository root)\n", err.file,
                    err.msg);
            exit(1);
        }
    }
    return 0;
}

static void check(const mhv_tok *tok, const mhv_encoding *e, size_t na, size_t nb)
{
    int nv = mhv_tok_vocab_size(tok);
    for (int i = 0; i < e->n; i++) {
        FUZZ_CHECK(e->ids[i] >= 0 && e->ids[i] < nv && e->pieces[i]);
        int32_t a = e->spans[2 * i], b = e->spans[2 * i + 1];
        size_t lim = e->type_ids && i >= e->boundary ? nb : na;
        FUZZ_CHECK((a == -1 && b == -1) || (a >= 0 && a <= b && (size_t)b <= lim));
        if (e->type_ids)
            FUZZ_CHECK(e->type_ids[i] == 0 || e->type_ids[i] == 1);
    }
}

static void model(const uint8_t *data, size_t size)
{
    static const char *const heads[2] = {
        "{\"normalizer\": {\"type\": \"NFC\"}, \"pre_tokenizer\": {\"type\": \"Metaspace\"}, "
        "\"model\": ",
        "{\"model\": "};
    for (int k = 0; k < 2; k++) {
        size_t hl = strlen(heads[k]);
        uint8_t *doc = malloc(hl + size + 1);
        FUZZ_CHECK(doc);
        memcpy(doc, heads[k], hl);
        memcpy(doc + hl, data, size);
        doc[hl + size] = '}';
        const char *path = fuzz_as_file(doc, hl + size + 1);
        free(doc);
        mhv_error err = {0};
        mhv_tok *tok = NULL;
        if (mhv_tok_open_files(path, NULL, NULL, &tok, &err) != MHV_OK) {
            FUZZ_CHECK(tok == NULL && err.msg[0] && !strchr(err.msg, '\n'));
            continue;
        }
        static const char *const s[] = {"Hello wörld, 世界! 😀 ﬁ", "", "   ", "aaaaaaaaaaaaaaaa"};
        for (int i = 0; i < 4; i++) {
            mhv_encoding enc;
            if (mhv_tok_encode(tok, s[i], strlen(s[i]), &enc, &err) == MHV_OK) {
                size_t n = 0;
                mhv_utf8_valid(s[i], strlen(s[i]), &n);
                check(tok, &enc, n, 0);
                mhv_encoding_free(&enc);
            } else {
                FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
            }
        }
        mhv_tok_close(tok);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    if (data[0] & 1) {
        model(data + 1, size - 1);
        return 0;
    }
    const mhv_tok *tok = toks[(data[0] >> 1) % 3];
    const char *s = (const char *)data + 1;
    size_t len = size - 1;
    mhv_encoding enc;
    mhv_error err = {0};
    const char *cut = (data[0] & 8) ? memchr(s, '\t', len) : NULL;
    mhv_status st;
    size_t na = 0, nb = 0;
    if (cut) {
        size_t la = (size_t)(cut - s);
        st = mhv_tok_encode_pair(tok, s, la, cut + 1, len - la - 1, &enc, &err);
        mhv_utf8_valid(s, la, &na);
        mhv_utf8_valid(cut + 1, len - la - 1, &nb);
    } else {
        st = mhv_tok_encode(tok, s, len, &enc, &err);
        mhv_utf8_valid(s, len, &na);
    }
    if (st != MHV_OK) {
        FUZZ_CHECK(enc.n == 0 && err.msg[0] && !strchr(err.msg, '\n'));
        return 0;
    }
    check(tok, &enc, na, nb);
    mhv_encoding_free(&enc);
    return 0;
}
