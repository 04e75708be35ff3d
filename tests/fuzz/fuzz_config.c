/* fuzz_config.c - config.json text: every accepted config is internally consistent. */
#include <string.h>

#include "model/config.h"
#include "fuzz.h"

/* Swin's stages: stage s has swin_heads[s] heads over embed_dim * 2^s channels (its own
 * head size), hidden_size the last stage's width, num_heads the most of any stage and
 * head_dim the first stage's: no one head_dim * num_heads makes hidden_size. */
static int swin_consistent(const mhv_config *c)
{
    int layers = 0, most = 0;
    if (c->swin_stages < 1 || c->swin_stages > MHV_MAX_SWIN_STAGES || c->swin_window < 1)
        return 0;
    for (int s = 0; s < c->swin_stages; s++) {
        long D = (long)c->swin_embed_dim << s;
        if (c->swin_heads[s] < 1 || D % c->swin_heads[s] || c->swin_depths[s] < 1)
            return 0;
        layers += c->swin_depths[s];
        most = c->swin_heads[s] > most ? c->swin_heads[s] : most;
    }
    return layers == c->num_layers && most == c->num_heads &&
           c->head_dim * c->swin_heads[0] == c->swin_embed_dim &&
           (long)c->swin_embed_dim << (c->swin_stages - 1) == c->hidden_size;
}

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
        FUZZ_CHECK(cfg.swin ? swin_consistent(&cfg)
                   : cfg.kv_heads || cfg.enc_dec ? cfg.num_heads % cfg.num_kv_heads == 0 &&
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
