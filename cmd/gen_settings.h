/* gen_settings.h - what run --generate decodes with, for every kind of model: the model's
 * generation settings (model/generate.h) with max_new_tokens N and --greedy's num_beams 1
 * and do_sample false, and the report's "generation" object that records them. */
#ifndef MHV_GEN_SETTINGS_H
#define MHV_GEN_SETTINGS_H

#include <stddef.h>

#include "base/status.h"
#include "model/generate.h"
#include "model/model.h"

typedef struct {
    mhv_gen_config cfg;
    const char *file;       /* where the settings came from: "generation_config.json" ... */
    char path[4300];        /* that file in the model's directory, for messages */
    char overridden[160];   /* what --greedy changed, or "" */
} cli_gen_settings;

/* Reads m's settings, sets max_new_tokens to max_new and applies --greedy (greedy); refuses
 * sampling (without --greedy) and num_return_sequences above 1, naming the file. On failure
 * nothing is left to free. */
mhv_status cli_gen_settings_open(cli_gen_settings *s, const mhv_model *m, int max_new,
                                 int greedy, mhv_error *err);
void cli_gen_settings_close(cli_gen_settings *s);

/* The report's "generation" object into buf(size): {"from": file, <fields> (JSON members
 * or NULL), "greedy": what --greedy changed, then mhv_gen_describe's members for prompts of
 * n_prompt tokens (< 0: of any length)}. */
void cli_gen_settings_json(const cli_gen_settings *s, const char *fields, int n_prompt,
                           int max_positions, char *buf, size_t size);

#endif
