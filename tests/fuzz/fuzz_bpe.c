/* fuzz_bpe.c - byte-level BPE on arbitrary text with the real GPT-2 and Qwen2 tokenizers
 * (tests/fixtures/tok-gpt2, tok-qwen2): ids inside the vocabulary, spans inside the text.
 * The first byte picks the tokenizer and whether the segment starts the sentence. */
#include <cjson/cJSON.h>
#include <string.h>

#include "bpe.h"
#include "fileio.h"
#include "fuzz.h"
#include "unicode.h"

static mhv_bpe *models[2];
static mhv_vocab *vocabs[2];

static void load(int i, const char *path)
{
    char *text;
    size_t len;
    mhv_error err = {0};
    if (mhv_read_file(path, 64u << 20, &text, &len, &err) != MHV_OK) {
        fprintf(stderr, "fuzz_bpe: %s: %s (run from the repository root)\n", err.file, err.msg);
        exit(1);
    }
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!j || mhv_bpe_from_json(j, path, &vocabs[i], &models[i], &err) != MHV_OK) {
        fprintf(stderr, "fuzz_bpe: %s: %s\n", path, j ? err.msg : "not valid JSON");
        exit(1);
    }
    cJSON_Delete(j);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    load(0, MHV_FUZZ_FIXTURES "/tok-gpt2/tokenizer.json");
    load(1, MHV_FUZZ_FIXTURES "/tok-qwen2/tokenizer.json");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    int m = data[0] & 1, at_start = (data[0] >> 1) & 1;
    const char *s = (const char *)data + 1;
    size_t len = size - 1, n = 0;
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
    if (mhv_bpe_encode(models[m], cp, n, 0, at_start, &out, &err) == MHV_OK) {
        int32_t nv = mhv_vocab_size(vocabs[m]);
        for (size_t i = 0; i < out.n; i++) {
            FUZZ_CHECK(out.ids[i] >= 0 && out.ids[i] < nv);
            int32_t a = out.spans[2 * i], b = out.spans[2 * i + 1];
            FUZZ_CHECK(a >= 0 && a <= b && (size_t)b <= n);
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
