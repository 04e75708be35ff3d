/* fuzz_spm.c - SentencePiece model files (the ModelProto protobuf of spm.model ...) read
 * without a protobuf library, then built into a tokenizer as transformers' DebertaV2Tokenizer,
 * T5Tokenizer, XLMRobertaTokenizer, AlbertTokenizer or LlamaTokenizer does. First byte: the tokenizer_config.json variant
 * (lowercase, split_by_punct, add_prefix_space, extra_ids, the class); the rest is the model
 * file. An accepted model encodes fixed sentences: ids in the vocabulary, spans in the text. */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "text/unicode.h"
#include "tok/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    char cfg[320];
    int v = data[0];
    snprintf(cfg, sizeof cfg,
             "{\"tokenizer_class\": \"%s\", \"do_lower_case\": %s, \"split_by_punct\": %s, "
             "\"add_prefix_space\": %s, \"mask_token\": \"%s\", \"extra_ids\": %d}",
             v & 32 ? (v & 8 ? "AlbertTokenizer" : "XLMRobertaTokenizer")
             : v & 8 ? (v & 1 ? "LlamaTokenizer" : "T5Tokenizer") : "DebertaV2Tokenizer",
             v & 1 ? "true" : "false",
             v & 2 ? "true" : "false", v & 4 ? "false" : "true", v & 16 ? "[CLS]" : "[MASK]",
             (v >> 6) * 7);
    const char *cpath = fuzz_as_file_n(0, (const uint8_t *)cfg, strlen(cfg));
    const char *mpath = fuzz_as_file_n(1, data + 1, size - 1);
    mhv_tok *tok = NULL;
    mhv_error err = {0};
    if (mhv_tok_open_spm(mpath, cpath, &tok, &err) != MHV_OK) {
        FUZZ_CHECK(tok == NULL && err.msg[0] && !strchr(err.msg, '\n'));
        return 0;
    }
    static const char *const s[] = {"Hello  wörld, 世界! [MASK] [CLS]", "", " \t\n", "ﬁ ǅ 😀"};
    for (int i = 0; i < 4; i++) {
        mhv_encoding enc;
        if (mhv_tok_encode(tok, s[i], strlen(s[i]), &enc, &err) != MHV_OK) {
            FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
            continue;
        }
        size_t n = 0;
        mhv_utf8_valid(s[i], strlen(s[i]), &n);
        for (int k = 0; k < enc.n; k++) {
            FUZZ_CHECK(enc.ids[k] >= 0 && enc.ids[k] < mhv_tok_vocab_size(tok) && enc.pieces[k]);
            int32_t a = enc.spans[2 * k], b = enc.spans[2 * k + 1];
            FUZZ_CHECK((a == -1 && b == -1) || (a >= 0 && a <= b && (size_t)b <= n));
        }
        mhv_encoding_free(&enc);
    }
    mhv_tok_close(tok);
    return 0;
}
