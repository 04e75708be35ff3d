/* fuzz_rank.c - `mhaviz rank --from/--to`: finding words in a sentence and mapping them to
 * token ranges, then scoring a head over those ranges. Input: one byte (the two --nth
 * values and, in bit 6, --substring), then "sentence\0from\0to". Ranges must lie inside the
 * tokens, whole words can be no more than substrings, and the score must read only inside
 * the (n, n) attention matrix (ASan checks). */
#include <string.h>

#include "analysis/rank.h"
#include "base/fileio.h"
#include "fuzz.h"
#include "tok/tokenizer.h"

static mhv_tok *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    mhv_error err = {0};
    /* the real bert-base-chinese tokenizer (public data, read in place), else the 429-entry
     * vocabulary of tests/fixtures/bert-f32 made from it */
    mhv_status st = mhv_path_exists(MHV_FUZZ_SHARED "/bert-base-chinese/tokenizer.json")
        ? mhv_tok_open_files(MHV_FUZZ_SHARED "/bert-base-chinese/tokenizer.json", NULL, NULL,
                             &tok, &err)
        : mhv_tok_open_dir(MHV_FUZZ_FIXTURES "/bert-f32", &tok, &err);
    if (st != MHV_OK) {
        fprintf(stderr, "fuzz_rank: %s: %s (run from the repository root)\n", err.file, err.msg);
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    char *buf = malloc(size + 2); /* two extra NULs: from and to always exist */
    FUZZ_CHECK(buf);
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = buf[size] = buf[size + 1] = '\0';
    const char *text = buf, *from = text + strlen(text) + 1;
    const char *to = from + strlen(from) + 1;
    if (to > buf + size) /* fewer than two separators: "to" is empty */
        to = buf + size + 1;
    mhv_encoding enc;
    mhv_error err = {0};
    if (mhv_tok_encode(tok, text, strlen(text), &enc, &err) != MHV_OK) {
        free(buf);
        return 0;
    }
    int nth[2] = {1 + (data[0] & 7), 1 + (data[0] >> 3 & 7)};
    mhv_rank_match how = data[0] & 0x40 ? MHV_RANK_SUBSTRING : MHV_RANK_WORDS;
    int32_t unk = mhv_tok_lookup(tok, "[UNK]", 5);
    int r[2][2] = {{-1, -1}, {-1, -1}};
    const char *w[2] = {from, to};
    for (int k = 0; k < 2; k++) {
        int got = mhv_rank_find(text, strlen(text), &enc, w[k], nth[k], how, &r[k][0], &r[k][1]);
        FUZZ_CHECK(got >= 0 && got <= nth[k]);
        if (got == nth[k]) {
            FUZZ_CHECK(r[k][0] >= 0 && r[k][0] <= r[k][1] && r[k][1] <= enc.n);
            (void)mhv_rank_only_unk(&enc, r[k][0], r[k][1], unk);
        } else {
            FUZZ_CHECK(r[k][0] == -1 && r[k][1] == -1);
        }
        int x0, x1, many = 1 << 20;
        int words = mhv_rank_find(text, strlen(text), &enc, w[k], many, MHV_RANK_WORDS, &x0, &x1);
        int subs = mhv_rank_find(text, strlen(text), &enc, w[k], many, MHV_RANK_SUBSTRING, &x0,
                                 &x1);
        FUZZ_CHECK(words <= subs);
    }
    if (r[0][0] >= 0 && r[1][0] >= 0 && enc.n > 0) {
        size_t n = (size_t)enc.n;
        float *attn = malloc(n * n * sizeof *attn);
        FUZZ_CHECK(attn);
        for (size_t i = 0; i < n * n; i++)
            attn[i] = 1.0f / (float)n;
        double s = mhv_rank_score(attn, enc.n, r[0][0], r[0][1], r[1][0], r[1][1]);
        FUZZ_CHECK(s >= 0.0 && s <= 1.0 + 1e-5);
        free(attn);
    }
    mhv_encoding_free(&enc);
    free(buf);
    return 0;
}
