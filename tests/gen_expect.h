/* gen_expect.h - what the generation tests (test_generate.c: encoder-decoders,
 * test_decoder_generate.c: decoder-only) share: a golden variant's settings read as mhaviz
 * reads them, and generated ids against the golden's. Include after testutil.h. */
#ifndef MHV_GEN_EXPECT_H
#define MHV_GEN_EXPECT_H

#include "model/generate.h"

/* The variant's settings as mhaviz reads them (generation_config.json or config.json). */
static inline mhv_status gen_parse_variant(const cJSON *v, mhv_gen_config *g, mhv_error *err)
{
    const char *kind = cJSON_GetObjectItem(v, "kind")->valuestring;
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(v, "config"));
    int model_config = strcmp(kind, "config") == 0;
    mhv_status st = mhv_gen_config_parse(text, strlen(text),
                                         model_config ? "config.json" : "generation_config.json",
                                         model_config, g, err);
    free(text);
    return st;
}

/* Fails the test, naming `what`, unless got(n) are the ids of the JSON array want. */
static inline void gen_check_ids(const char *what, const int32_t *got, int n, const cJSON *want)
{
    int nw;
    int32_t *w = tu_json_ids(want, &nw);
    if (n != nw || memcmp(got, w, (size_t)n * sizeof *got) != 0) {
        char buf[1024];
        int k = 0;
        for (int i = 0; i < n && k < 900; i++)
            k += snprintf(buf + k, sizeof buf - (size_t)k, " %d", (int)got[i]);
        buf[k] = '\0';
        fail_msg("%s: got%s, want %s", what, buf, cJSON_PrintUnformatted(want));
    }
    free(w);
}

#endif
