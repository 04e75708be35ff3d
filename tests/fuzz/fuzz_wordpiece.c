/* fuzz_wordpiece.c - BERT normalisation, pre-tokenisation and WordPiece on arbitrary bytes,
 * with the real bert-base-chinese vocabulary (tokenizer.json and vocab.txt, read from
 * ../shared/data; without it the 429-entry vocab.txt of tests/fixtures/bert-f32) and the
 * MiniLM one (lowercasing, accent stripping). The first input byte picks the tokenizer and
 * the mode (text, --pretokenized, --ids); the rest is the sentence. */
#include <string.h>

#include "base/fileio.h"
#include "fuzz.h"
#include "tok/tokenizer.h"
#include "text/unicode.h"

static mhv_tok *toks[3];

static mhv_tok *open_or_die(const char *tj, const char *vt, const char *tc)
{
    mhv_error err = {0};
    mhv_tok *t = NULL;
    if (mhv_tok_open_files(tj, vt, tc, &t, &err) != MHV_OK) {
        fprintf(stderr, "fuzz_wordpiece: %s: %s (run from the repository root)\n", err.file,
                err.msg);
        exit(1);
    }
    return t;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (mhv_path_exists(MHV_FUZZ_SHARED "/bert-base-chinese/tokenizer.json")) {
        toks[0] = open_or_die(MHV_FUZZ_SHARED "/bert-base-chinese/tokenizer.json", NULL, NULL);
        toks[1] = open_or_die(NULL, MHV_FUZZ_SHARED "/bert-base-chinese/vocab.txt",
                              MHV_FUZZ_SHARED "/bert-base-chinese/tokenizer_config.json");
    } else {
        fprintf(stderr, "fuzz_wordpiece: " MHV_FUZZ_SHARED "/bert-base-chinese is absent: "
                        "tests/fixtures/bert-f32's vocabulary instead\n");
        toks[0] = toks[1] = open_or_die(NULL, MHV_FUZZ_FIXTURES "/bert-f32/vocab.txt",
                                        MHV_FUZZ_FIXTURES "/bert-f32/tokenizer_config.json");
    }
    toks[2] = open_or_die(MHV_FUZZ_FIXTURES "/tok-minilm/tokenizer.json", NULL, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const mhv_tok *tok = toks[data[0] % 3];
    int mode = (data[0] / 3) % 3;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    mhv_encoding enc;
    mhv_error err = {0};
    mhv_status st = mode == 0   ? mhv_tok_encode(tok, text, len, &enc, &err)
                    : mode == 1 ? mhv_tok_encode_pretokenized(tok, text, len, &enc, &err)
                                : mhv_tok_encode_ids(tok, text, len, &enc, &err);
    if (st != MHV_OK) {
        FUZZ_CHECK(enc.n == 0 && enc.ids == NULL && err.msg[0] && !strchr(err.msg, '\n'));
        return 0;
    }
    size_t nchars = 0;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        int k = mhv_utf8_decode(text + i, len - i, &c);
        if (k <= 0)
            break;
        i += (size_t)k;
        nchars++;
    }
    int nv = mhv_tok_vocab_size(tok);
    for (int i = 0; i < enc.n; i++) {
        FUZZ_CHECK(enc.ids[i] >= 0 && enc.ids[i] < nv);
        FUZZ_CHECK(enc.pieces[i] && strcmp(enc.pieces[i], mhv_tok_piece(tok, enc.ids[i])) == 0);
        int32_t a = enc.spans[2 * i], b = enc.spans[2 * i + 1];
        FUZZ_CHECK((a == -1 && b == -1) || (a >= 0 && a <= b && (size_t)b <= nchars));
    }
    mhv_encoding_free(&enc);
    return 0;
}
