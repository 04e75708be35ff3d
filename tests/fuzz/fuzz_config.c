/* fuzz_config.c - config.json text: every accepted config is internally consistent. */
#include <string.h>

#include "model/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mhv_config cfg;
    mhv_error err = {0};
    if (mhv_config_parse((const char *)data, size, "config.json", &cfg, &err) == MHV_OK) {
        FUZZ_CHECK(cfg.num_heads >= 1 && cfg.num_heads <= MHV_MAX_HEADS);
        FUZZ_CHECK(cfg.num_layers >= 1 && cfg.num_layers <= MHV_MAX_LAYERS);
        FUZZ_CHECK(cfg.hidden_size >= 1 && cfg.hidden_size <= MHV_MAX_HIDDEN);
        FUZZ_CHECK(cfg.head_dim >= 1 && cfg.num_kv_heads >= 1);
        /* BERT and GPT-2 split hidden_size; the llama family (and T5's d_kv) may give
         * head_dim itself; MobileBERT's heads split its inner width */
        FUZZ_CHECK(cfg.kv_heads || cfg.enc_dec ? cfg.num_heads % cfg.num_kv_heads == 0 &&
                                                         (long)cfg.head_dim * cfg.num_heads <=
                                                             4L * MHV_MAX_HIDDEN
                   : cfg.mb_inner ? cfg.head_dim * cfg.num_heads == cfg.mb_inner
                                  : cfg.head_dim * cfg.num_heads == cfg.hidden_size);
        FUZZ_CHECK(cfg.intermediate_size >= 1 && cfg.intermediate_size <= 4 * MHV_MAX_HIDDEN);
        FUZZ_CHECK(cfg.sliding_window >= 0 && cfg.sliding_window <= MHV_MAX_POSITIONS);
        FUZZ_CHECK(cfg.vocab_size >= 1 && cfg.max_positions >= 1);
        FUZZ_CHECK(cfg.family && cfg.arch && strcmp(cfg.arch, cfg.model_type) == 0);
        FUZZ_CHECK(memchr(cfg.model_type, '\0', sizeof cfg.model_type));
    } else {
        FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
    }
    return 0;
}
