/* fuzz_esm.c - EsmTokenizer's vocab.txt and text to mhv_tok_open_esm and mhv_tok_encode
 * (load_vocab_file's splitlines and strip, transformers' Trie.split over the entries, the
 * whitespace split). Input: u32 little-endian length of vocab.txt, vocab.txt, then a text
 * (seeds: tests/gen/gen_tok_esm.py). A refused vocabulary gives one line; an accepted one
 * encodes the text and fixed sentences: ids in the vocabulary, <cls> first and <eos> last,
 * spans inside the text, every token of the text spanning its piece or being <unk>. */
#include <string.h>

#include "fuzz.h"
#include "text/unicode.h"
#include "tok/tokenizer.h"

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
               mhv_tok_is_special(tok, enc.ids[enc.n - 1]) && enc.spans[0] == -1 &&
               enc.spans[2 * enc.n - 1] == -1);
    for (int k = 0; k < enc.n; k++) {
        FUZZ_CHECK(enc.ids[k] >= 0 && enc.ids[k] < mhv_tok_vocab_size(tok) && enc.pieces[k]);
        int32_t a = enc.spans[2 * k], b = enc.spans[2 * k + 1];
        FUZZ_CHECK((a == -1 && b == -1) || (a >= 0 && a < b && (size_t)b <= n));
        FUZZ_CHECK(k == 0 || k == enc.n - 1 || a >= 0);
    }
    mhv_encoding_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || size > (1u << 20))
        return 0;
    size_t nv = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 |
                (size_t)data[3] << 24;
    if (nv > size - 4)
        return 0;
    static const char cfg[] = "{\"tokenizer_class\": \"EsmTokenizer\"}";
    const char *vpath = fuzz_as_file_n(0, data + 4, nv);
    const char *cpath = fuzz_as_file_n(1, (const uint8_t *)cfg, strlen(cfg));
    mhv_tok *tok = NULL;
    mhv_error err = {0};
    if (mhv_tok_open_esm(vpath, cpath, NULL, &tok, &err) != MHV_OK) {
        FUZZ_CHECK(tok == NULL && err.msg[0] && !strchr(err.msg, '\n'));
        return 0;
    }
    encode(tok, (const char *)data + 4 + nv, size - 4 - nv);
    static const char *const s[] = {"MKT<mask>AYI <pad>", "", " \t\n", "mk😀\u2028<<mask>"};
    for (int i = 0; i < 4; i++)
        encode(tok, s[i], strlen(s[i]));
    mhv_tok_close(tok);
    return 0;
}
