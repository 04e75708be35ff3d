/* run_generate.c - a decoder-only model's prompts continued by generate() (run_generate.h). */
#include "run_generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mhv_status run_dgen_open(run_dgen *g, const mhv_model *m, int max_new, int greedy,
                         mhv_error *err)
{
    memset(g, 0, sizeof *g);
    mhv_status st = cli_gen_settings_open(&g->s, m, max_new, greedy, err);
    if (st)
        return st;
    /* the lengths follow each prompt's: recorded as the settings give them */
    cli_gen_settings_json(&g->s, NULL, -1, mhv_forward_gen_positions(m), g->json,
                          sizeof g->json);
    if (g->s.overridden[0])
        cli_say("note: --greedy: greedy search instead of %s's %s", g->s.file,
                g->s.overridden);
    return MHV_OK;
}

void run_dgen_close(run_dgen *g)
{
    cli_gen_settings_close(&g->s);
}

/* e (the prompt) extended by ids(n), labelled as --ids labels them. */
static mhv_status extend(const mhv_tok *tok, mhv_encoding *e, const int32_t *ids, int n,
                         mhv_error *err)
{
    size_t cap = (size_t)n * 12 + 1;
    char *text = malloc(cap);
    if (!text)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s%d", i ? " " : "", (int)ids[i]);
    mhv_sentence s = {text, len, 0};
    mhv_encoding more;
    mhv_status st = cli_encode_one(tok, &s, INPUT_IDS, &more, err);
    free(text);
    if (st)
        return st;
    size_t all = (size_t)e->n + (size_t)more.n;
    int32_t *xi = realloc(e->ids, all * sizeof *xi);
    if (xi)
        e->ids = xi;
    char **xp = realloc(e->pieces, all * sizeof *xp);
    if (xp)
        e->pieces = xp;
    int32_t *xs = realloc(e->spans, 2 * all * sizeof *xs);
    if (xs)
        e->spans = xs;
    if (!xi || !xp || !xs) {
        mhv_encoding_free(&more);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    for (int i = 0; i < more.n; i++) {
        int k = e->n + i;
        e->ids[k] = more.ids[i];
        e->pieces[k] = more.pieces[i]; /* moved */
        more.pieces[i] = NULL;
        e->spans[2 * k] = e->spans[2 * k + 1] = -1; /* in no text of the line */
    }
    e->generated = e->n;
    e->n = (int)all;
    mhv_encoding_free(&more);
    return MHV_OK;
}

mhv_status run_dgen_check(const run_dgen *g, const mhv_model *m, const mhv_input *in,
                          const mhv_encoding *encs, mhv_error *err)
{
    int max_new = g->s.cfg.max_new_tokens, limit = m->cfg.max_positions;
    for (int i = 0; i < in->n; i++)
        if ((long)encs[i].n + max_new > limit)
            return cli_fail_line(err, mhv_fail(err, MHV_EINPUT, "", "--generate %d: the "
                                               "prompt's %d tokens and %d new ones could "
                                               "pass the model's %d positions",
                                               max_new, encs[i].n, max_new, limit),
                                 in, i);
    return MHV_OK;
}

mhv_status run_dgen_all(const run_dgen *g, mhv_forward_ctx *fc, const mhv_model *m,
                        const mhv_tok *tok, const mhv_input *in, mhv_encoding *encs,
                        mhv_error *err)
{
    mhv_status st = run_dgen_check(g, m, in, encs, err);
    for (int i = 0; !st && i < in->n; i++) {
        cli_progress("generate", i + 1, in->n, 0);
        int32_t *ids = NULL;
        int n = 0;
        st = g->px ? mhv_forward_generate_image(fc, m, encs[i].ids, encs[i].n, g->px,
                                                g->image_h, g->image_w, &g->s.cfg, &ids, &n,
                                                err)
                   : mhv_forward_generate_decoder(fc, m, encs[i].ids, encs[i].n, &g->s.cfg,
                                                  &ids, &n, err);
        if (!st)
            st = extend(tok, &encs[i], ids + encs[i].n, n - encs[i].n, err);
        free(ids);
        if (st)
            cli_fail_line(err, st, in, i);
    }
    cli_progress("generate", in->n, in->n, 1);
    return st;
}
