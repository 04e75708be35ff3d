/* fuzz_vocab.c - vocab.txt: loaded as a vocabulary, then as a whole BERT tokenizer (special
 * tokens looked up, defaults from a missing tokenizer_config.json). */
#include <string.h>

#include "fuzz.h"
#include "tok/tokenizer.h"
#include "tok/vocab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_as_file(data, size);
    mhv_error err = {0};
    mhv_vocab *v = NULL;
    if (mhv_vocab_load_txt(path, &v, &err) == MHV_OK) {
        int32_t n = mhv_vocab_size(v);
        FUZZ_CHECK(n >= 1);
        for (int32_t id = 0; id < n; id++) {
            const char *p = mhv_vocab_piece(v, id);
            FUZZ_CHECK(p);
            int32_t back = mhv_vocab_lookup(v, p, strlen(p));
            /* a duplicated piece maps to its last line, so back >= id */
            FUZZ_CHECK(back >= id && back < n);
        }
        FUZZ_CHECK(mhv_vocab_piece(v, n) == NULL && mhv_vocab_piece(v, -1) == NULL);
        mhv_vocab_free(v);
    } else {
        FUZZ_CHECK(v == NULL && err.msg[0] && !strchr(err.msg, '\n'));
    }

    mhv_tok *tok = NULL;
    if (mhv_tok_open_files(NULL, path, NULL, &tok, &err) == MHV_OK) {
        mhv_encoding enc;
        static const char s[] = "Hello, 世界! ##x [UNK]";
        if (mhv_tok_encode(tok, s, sizeof s - 1, &enc, &err) == MHV_OK)
            mhv_encoding_free(&enc);
        mhv_tok_close(tok);
    }
    return 0;
}
