/* fuzz_tokjson.c - tokenizer.json: model, normalizer, pre-tokenizer, added tokens,
 * post-processor and decoder; an accepted tokenizer then encodes a fixed sentence and
 * decodes its tokens as figure labels do. */
#include <string.h>

#include "fuzz.h"
#include "tok/decoder.h"
#include "tok/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_as_file(data, size);
    mhv_error err = {0};
    mhv_tok *tok = NULL;
    if (mhv_tok_open_files(path, NULL, NULL, &tok, &err) != MHV_OK) {
        FUZZ_CHECK(tok == NULL && err.msg[0] && !strchr(err.msg, '\n'));
        return 0;
    }
    static const char s[] = "[CLS] Héllo, 世界! unaffable [MASK] x";
    mhv_encoding enc;
    if (mhv_tok_encode(tok, s, sizeof s - 1, &enc, &err) == MHV_OK) {
        int nv = mhv_tok_vocab_size(tok);
        for (int i = 0; i < enc.n; i++)
            FUZZ_CHECK(enc.ids[i] >= 0 && enc.ids[i] < nv && enc.pieces[i]);
        char **labels;
        if (mhv_tok_decode_tokens(tok, enc.ids, enc.n, &labels, &err) == MHV_OK) {
            for (int i = 0; i < enc.n; i++)
                FUZZ_CHECK(labels[i] != NULL);
            mhv_decoder_tokens_free(labels, enc.n);
        }
        mhv_encoding_free(&enc);
    }
    mhv_tok_close(tok);
    return 0;
}
