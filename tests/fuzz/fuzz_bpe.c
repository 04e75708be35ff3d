/* fuzz_bpe.c - BPE pipelines on arbitrary text with the real GPT-2 and Qwen2 tokenizers
 * (../shared/data/gpt2-tokenizer, qwen-tokenizer; skipped when absent) and the Llama-3-style
 * one trained here (tests/fixtures/tok-llama3): ids inside the vocabulary, spans inside the
 * text.
 * The first byte picks the tokenizer, whether the segment starts the sentence, and whether
 * the bytes go to the BPE model directly (valid UTF-8 only) or through the whole tokenizer
 * (mhv_tok_encode: any bytes, added tokens, post-processor). */
#include <cjson/cJSON.h>
#include <string.h>

#include "tok/pipeline.h"
#include "base/fileio.h"
#include "fuzz.h"
#include "tok/tokenizer.h"
#include "text/unicode.h"

#define N_TOK 3
static mhv_pipeline *models[N_TOK];
static mhv_vocab *vocabs[N_TOK];
static mhv_tok *toks[N_TOK];

static void load(int i, const char *path)
{
    char *text;
    size_t len;
    mhv_error err = {0};
    if (!mhv_path_exists(path)) {
        fprintf(stderr, "fuzz_bpe: %s is absent: skipped\n", path);
        return;
    }
    if (mhv_read_file(path, 64u << 20, &text, &len, &err) != MHV_OK) {
        fprintf(stderr, "fuzz_bpe: %s: %s (run from the repository root)\n", err.file, err.msg);
        exit(1);
    }
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!j || mhv_pipeline_from_json(j, path, &vocabs[i], &models[i], &err) != MHV_OK) {
        fprintf(stderr, "fuzz_bpe: %s: %s\n", path, j ? err.msg : "not valid JSON");
        exit(1);
    }
    cJSON_Delete(j);
    if (mhv_tok_open_files(path, NULL, NULL, &toks[i], &err) != MHV_OK) {
        fprintf(stderr, "fuzz_bpe: %s: %s\n", path, err.msg);
        exit(1);
    }
}

/* The whole tokenizer on any bytes: refused cleanly, or ids and spans in range. */
static void whole(const mhv_tok *tok, const char *s, size_t len)
{
    mhv_encoding enc;
    mhv_error err = {0};
    if (mhv_tok_encode(tok, s, len, &enc, &err) != MHV_OK) {
        FUZZ_CHECK(enc.n == 0 && err.msg[0] && !strchr(err.msg, '\n'));
        return;
    }
    size_t nchars = 0;
    mhv_utf8_valid(s, len, &nchars);
    for (int i = 0; i < enc.n; i++) {
        FUZZ_CHECK(enc.ids[i] >= 0 && enc.ids[i] < mhv_tok_vocab_size(tok) && enc.pieces[i]);
        int32_t a = enc.spans[2 * i], b = enc.spans[2 * i + 1];
        FUZZ_CHECK((a == -1 && b == -1) || (a >= 0 && a <= b && (size_t)b <= nchars));
    }
    mhv_encoding_free(&enc);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    load(0, "../shared/data/gpt2-tokenizer/tokenizer.json");
    load(1, "../shared/data/qwen-tokenizer/tokenizer.json");
    load(2, MHV_FUZZ_FIXTURES "/tok-llama3/tokenizer.json");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    int m = (data[0] & 3) % N_TOK, base = (data[0] >> 3) & 1;
    if (!toks[m])
        return 0;
    const char *s = (const char *)data + 1;
    size_t len = size - 1, n = 0;
    if (data[0] & 4) {
        whole(toks[m], s, len);
        return 0;
    }
    if (!mhv_utf8_valid(s, len, NULL) || memchr(s, '\0', len))
        return 0; /* the tokenizer refuses these before BPE sees them */
    uint32_t *cp = malloc((len + 1) * sizeof *cp);
    FUZZ_CHECK(cp);
    for (size_t i = 0; i < len;) {
        uint32_t c;
        int k = mhv_utf8_decode(s + i, len - i, &c);
        FUZZ_CHECK(k > 0);
        cp[n++] = c;
        i += (size_t)k;
    }
    mhv_toklist out = {0};
    mhv_error err = {0};
    if (mhv_pipeline_encode(models[m], cp, n, base, &out, &err) == MHV_OK) {
        int32_t nv = mhv_vocab_size(vocabs[m]);
        for (size_t i = 0; i < out.n; i++) {
            FUZZ_CHECK(out.ids[i] >= 0 && out.ids[i] < nv);
            int32_t a = out.spans[2 * i], b = out.spans[2 * i + 1];
            FUZZ_CHECK(a >= base && a <= b && (size_t)b <= n + (size_t)base);
        }
        /* a non-empty text always gives tokens: byte-level BPE has every byte */
        FUZZ_CHECK(n == 0 || out.n > 0);
    } else {
        FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
    }
    mhv_toklist_free(&out);
    free(cp);
    return 0;
}
