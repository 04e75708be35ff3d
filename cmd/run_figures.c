#include "run_figures.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ckpt/modelname.h"

int run_fig_parse_format(const char *list, run_fig_opts *o)
{
    o->formats = 0;
    o->json = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 3 && strncmp(p, "png", 3) == 0)
            o->formats |= MHV_FIG_PNG;
        else if (n == 3 && strncmp(p, "svg", 3) == 0)
            o->formats |= MHV_FIG_SVG;
        else if (n == 4 && strncmp(p, "json", 4) == 0)
            o->json = 1;
        else
            return cli_usage_error("run", "--format '%.*s' is not supported (png, svg, json)",
                                   (int)n, p);
        p += n;
        if (*p == ',')
            p++;
    }
    if (!o->formats && !o->json)
        return cli_usage_error("run", "--format needs at least one of png, svg, json");
    return 0;
}

static int int_arg(const char *opt, const char *arg, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || v < lo || v > hi)
        return cli_usage_error("run", "%s '%s' is not a whole number from %d to %d", opt, arg,
                               lo, hi);
    *out = (int)v;
    return 0;
}

int run_fig_option(int c, const char *arg, run_fig_opts *o)
{
    mhv_error err = {0};
    switch (c) {
    case 'c':
        if (mhv_cmap_parse(arg, &o->render.cmap, &err))
            return cli_usage_error("run", "--colormap: %s", err.msg);
        return 0;
    case 's':
        if (mhv_scale_parse(arg, &o->render.scale, &err))
            return cli_usage_error("run", "--scale: %s", err.msg);
        return 0;
    case 'C': return int_arg("--cell", arg, 2, 200, &o->render.cell);
    case 'd': return int_arg("--dpi", arg, 24, 1200, &o->render.dpi);
    case 'v': o->render.values = 1; return 0;
    case 'F': o->font = arg; return 0;
    }
    return 1;
}

mhv_status run_figs_begin(run_figs *r, const run_fig_opts *o, const mhv_model *m,
                          const mhv_tok *tok, mhv_error *err)
{
    memset(r, 0, sizeof *r);
    r->o = o;
    r->m = m;
    r->tok = tok;
    mhv_modelname_of(m->dir, r->model_name, sizeof r->model_name);
    if (!o->formats)
        return MHV_OK;
    mhv_font_params fp = cli_font_params(o->font);
    return mhv_font_open(&fp, &r->fs, err);
}

static mhv_label_kind label_kind(mhv_tok_kind k)
{
    switch (k) {
    case MHV_TOK_BYTELEVEL_BPE: return MHV_LABEL_BYTELEVEL;
    case MHV_TOK_SENTENCEPIECE_BPE: return MHV_LABEL_SENTENCEPIECE;
    case MHV_TOK_WORDPIECE: break;
    }
    return MHV_LABEL_WORDPIECE;
}

/* Draws attn into the directory of sentence `index`: every figure, or with heads_only (or
 * an aggregate) the single-head ones, with hl boxed when not NULL. */
static mhv_status sentence_figs(run_figs *r, const char *out, const char *stem, int index,
                                const mhv_sentence *s, const mhv_encoding *enc,
                                const mhv_attn *attn, int heads_only, const mhv_highlight *hl,
                                mhv_error *err)
{
    if (!r->o->formats)
        return MHV_OK;
    char dir[4096];
    int len = index == 0 ? snprintf(dir, sizeof dir, "%s/%s", out, stem)
                         : snprintf(dir, sizeof dir, "%s/%s-%d", out, stem, index + 1);
    if (len >= (int)sizeof dir)
        return mhv_fail(err, MHV_EUSAGE, out, "output path too long");
    unsigned char *special = malloc((size_t)enc->n);
    if (!special)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    for (int i = 0; i < enc->n; i++)
        special[i] = r->tok ? (unsigned char)mhv_tok_is_special(r->tok, enc->ids[i]) : 0;
    mhv_fig_input in = {
        .model = r->model_name,
        .num_layers = r->m->cfg.num_layers,
        .num_heads = r->m->cfg.num_heads,
        .causal = r->m->cfg.causal,
        .sentence = s->text,
        .n = enc->n,
        .pieces = (const char *const *)enc->pieces,
        .special = special,
        .kind = r->tok ? label_kind(mhv_tok_kind_of(r->tok)) : MHV_LABEL_WORDPIECE,
        .aggregate = r->o->aggregate,
    };
    if (hl)
        in.highlight = *hl;
    mhv_status st = heads_only ? mhv_figures_write_heads(dir, r->o->formats, &r->o->render,
                                                         r->fs, &in, attn, &r->written, err)
                               : mhv_figures_write(dir, r->o->formats, &r->o->render, r->fs,
                                                   &in, attn, &r->written, err);
    free(special);
    return st;
}

mhv_status run_figs_sentence(run_figs *r, const char *out, const char *stem, int index,
                             const mhv_sentence *s, const mhv_encoding *enc,
                             const mhv_attn *attn, mhv_error *err)
{
    return sentence_figs(r, out, stem, index, s, enc, attn, 0, NULL, err);
}

mhv_status run_figs_heads(run_figs *r, const char *out, const char *stem, int index,
                          const mhv_sentence *s, const mhv_encoding *enc, const mhv_attn *attn,
                          const mhv_highlight *hl, mhv_error *err)
{
    return sentence_figs(r, out, stem, index, s, enc, attn, 1, hl, err);
}

void run_figs_end(run_figs *r, int ok)
{
    if (!ok) {
        mhv_written_undo(&r->written);
    } else if (r->fs && mhv_font_missing_count(r->fs) > 0) {
        /* one line for the whole run, however many figures showed the boxes */
        fputs("mhaviz: warning: no font has", stderr);
        int n = mhv_font_missing_count(r->fs);
        for (int i = 0; i < n && i < 20; i++)
            fprintf(stderr, "%s U+%04X", i ? "," : "", (unsigned)mhv_font_missing(r->fs, i));
        fprintf(stderr, "%s; drawn as boxes (see --font and fonts/README.md)\n",
                n > 20 ? " ..." : "");
    }
    mhv_written_free(&r->written);
    mhv_font_close(r->fs);
    r->fs = NULL;
}
