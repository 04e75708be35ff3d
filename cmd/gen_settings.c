/* gen_settings.c - run --generate's settings and their record (gen_settings.h). */
#include "gen_settings.h"

#include <stdio.h>
#include <string.h>

static const char *source_name(mhv_gen_source f)
{
    return f == MHV_GEN_FROM_GENERATION_CONFIG ? "generation_config.json"
           : f == MHV_GEN_FROM_CONFIG          ? "config.json"
                                               : "transformers' defaults";
}

mhv_status cli_gen_settings_open(cli_gen_settings *s, const mhv_model *m, int max_new,
                                 int greedy, mhv_error *err)
{
    memset(s, 0, sizeof *s);
    mhv_gen_source from;
    mhv_status st = mhv_gen_config_read(m->dir, &s->cfg, &from, err);
    if (st)
        return st;
    s->file = source_name(from);
    snprintf(s->path, sizeof s->path, "%s/%s", m->dir, s->file);
    mhv_gen_config *c = &s->cfg;
    c->max_new_tokens = max_new;
    if (greedy && c->num_beams > 1)
        snprintf(s->overridden, sizeof s->overridden, "num_beams %d%s", c->num_beams,
                 c->do_sample ? ", do_sample true" : "");
    else if (greedy && c->do_sample)
        snprintf(s->overridden, sizeof s->overridden, "do_sample true");
    if (greedy)
        c->num_beams = 1, c->do_sample = 0;
    if (c->do_sample)
        st = mhv_fail(err, MHV_EUNSUPPORTED, s->path, "do_sample is true: sampling is not "
                      "supported (--greedy decodes greedily)");
    else if (c->num_return_sequences > 1)
        st = mhv_fail(err, MHV_EUNSUPPORTED, s->path, "num_return_sequences %d is not supported "
                      "(one target is generated)", c->num_return_sequences);
    if (st)
        cli_gen_settings_close(s);
    return st;
}

void cli_gen_settings_close(cli_gen_settings *s)
{
    mhv_gen_config_free(&s->cfg);
}

void cli_gen_settings_json(const cli_gen_settings *s, const char *fields, int n_prompt,
                           int max_positions, char *buf, size_t size)
{
    char desc[1900];
    mhv_gen_describe(&s->cfg, n_prompt, max_positions, desc, (int)sizeof desc);
    int n = snprintf(buf, size, "{\"from\": \"%s\"%s%s", s->file, fields ? ", " : "",
                     fields ? fields : "");
    if (n < 0 || (size_t)n >= size)
        return;
    if (s->overridden[0]) {
        int k = snprintf(buf + n, size - (size_t)n, ", \"greedy\": \"--greedy instead of %s\"",
                         s->overridden);
        if (k < 0 || (size_t)k >= size - (size_t)n)
            return;
        n += k;
    }
    snprintf(buf + n, size - (size_t)n, ", %s", desc + 1);
}
