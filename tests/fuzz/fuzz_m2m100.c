/* fuzz_m2m100.c - M2M100Tokenizer's files: a SentencePiece BPE model and a vocab.json to
 * mhv_tok_open_m2m100 (SentencePiece's own normalizer and BPE, vocab.json's ids, the language
 * codes after them). Input: u32 little-endian length of the model, the model, u32 length of
 * vocab.json, vocab.json, then a text (seeds: tests/gen/gen_tok_m2m100.py). A refused pair
 * gives one line; an accepted one encodes the text and fixed sentences: ids in the
 * vocabulary, the code first and </s> last, spans inside the text. */
#include <string.h>

#include "fuzz.h"
#include "text/unicode.h"
#include "tok/tokenizer.h"

static uint32_t u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void encode(const mhv_tok *tok, const char *s, size_t len)
{
    mhv_encoding enc;
    mhv_error err = {0};
    size_t n = 0;
    if (!mhv_utf8_valid(s, len, &n) || memchr(s, 0, len))
        return;
    if (mhv_tok_encode(tok, s, len, &enc, &err) != MHV_OK) {
        FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
        return;
    }
    FUZZ_CHECK(enc.n >= 2 && mhv_tok_is_special(tok, enc.ids[0]) &&
               mhv_tok_is_special(tok, enc.ids[enc.n - 1]));
    for (int k = 0; k < enc.n; k++) {
        FUZZ_CHECK(enc.ids[k] >= 0 && enc.ids[k] < mhv_tok_vocab_size(tok) && enc.pieces[k]);
        int32_t a = enc.spans[2 * k], b = enc.spans[2 * k + 1];
        FUZZ_CHECK((a == -1 && b == -1) || (a >= 0 && a <= b && (size_t)b <= n));
    }
    mhv_encoding_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8 || size > (1u << 21))
        return 0;
    size_t nm = u32(data);
    if (nm > size - 8)
        return 0;
    size_t nv = u32(data + 4 + nm);
    if (nv > size - 8 - nm)
        return 0;
    static const char cfg[] = "{\"tokenizer_class\": \"M2M100Tokenizer\", \"src_lang\": \"fr\", "
                              "\"additional_special_tokens\": [\"__en__\", \"__zu__\"]}";
    const char *mpath = fuzz_as_file_n(0, data + 4, nm);
    const char *vpath = fuzz_as_file_n(1, data + 8 + nm, nv);
    const char *cpath = fuzz_as_file_n(2, (const uint8_t *)cfg, strlen(cfg));
    mhv_tok *tok = NULL;
    mhv_error err = {0};
    if (mhv_tok_open_m2m100(mpath, vpath, cpath, NULL, &tok, &err) != MHV_OK) {
        FUZZ_CHECK(tok == NULL && err.msg[0] && !strchr(err.msg, '\n'));
        return 0;
    }
    encode(tok, (const char *)data + 8 + nm + nv, size - 8 - nm - nv);
    static const char *const s[] = {"Hello  wörld, 世界! __en__ </s>", "", " \t\n", "ﬁ ǅ 😀"};
    for (int i = 0; i < 4; i++)
        encode(tok, s[i], strlen(s[i]));
    mhv_tok_close(tok);
    return 0;
}
