/* fuzz_bpefiles.c - the slow-tokenizer layout of BPE models: vocab.json + merges.txt (GPT-2
 * and Qwen2 style). Input: one flags byte (qwen2, add_prefix_space), then
 * "vocab.json\0merges.txt" to mhv_pipeline_from_bpe_files. An accepted model encodes a fixed
 * sentence. */
#include <string.h>

#include "tok/pipeline.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *v = data + 1, *end = data + size;
    const uint8_t *sep = memchr(v, '\0', (size_t)(end - v));
    const uint8_t *m = sep ? sep + 1 : end;
    const char *vpath = fuzz_as_file_n(0, v, (size_t)((sep ? sep : end) - v));
    const char *mpath = fuzz_as_file_n(1, m, (size_t)(end - m));
    static const int32_t extra_ids[2] = {0, 1 << 20};
    static const char *const extra_pieces[2] = {"<|endoftext|>", "<|im_start|>"};
    mhv_vocab *vocab = NULL;
    mhv_pipeline *b = NULL;
    mhv_error err = {0};
    if (mhv_pipeline_from_bpe_files(vpath, mpath, data[0] & 1, (data[0] >> 1) & 1, extra_ids,
                                    extra_pieces, data[0] & 4 ? 2 : 0, &vocab, &b,
                                    &err) != MHV_OK) {
        FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
        mhv_pipeline_free(b);
        mhv_vocab_free(vocab);
        return 0;
    }
    static const uint32_t text[] = {'H', 'i', ' ', 't', 'h', 'e', 'r', 'e', '!', ' ', 0x82f9, 0x679c,
                                    '\n', ' ', ' ', '1', '2', '3', 0x1f917};
    mhv_toklist out = {0};
    if (mhv_pipeline_encode(b, text, sizeof text / sizeof text[0], 0, &out, &err) == MHV_OK) {
        int32_t nv = mhv_vocab_size(vocab);
        for (size_t i = 0; i < out.n; i++)
            FUZZ_CHECK(out.ids[i] >= 0 && out.ids[i] < nv);
    }
    mhv_toklist_free(&out);
    mhv_pipeline_free(b);
    mhv_vocab_free(vocab);
    return 0;
}
