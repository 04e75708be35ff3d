#include "run_figures.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ckpt/modelname.h"
#include "analysis/rank.h"
#include "analysis/zoom.h"
#include "fig/html.h"
#include "tok/decoder.h"
#include "text/unicode.h"

int run_fig_parse_format(const char *list, run_fig_opts *o)
{
    o->formats = 0;
    o->json = 0;
    o->html = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 3 && strncmp(p, "png", 3) == 0)
            o->formats |= MHV_FIG_PNG;
        else if (n == 3 && strncmp(p, "svg", 3) == 0)
            o->formats |= MHV_FIG_SVG;
        else if (n == 4 && strncmp(p, "json", 4) == 0)
            o->json = 1;
        else if (n == 3 && strncmp(p, "pdf", 3) == 0)
            o->formats |= MHV_FIG_PDF;
        else if (n == 4 && strncmp(p, "html", 4) == 0)
            o->html = 1;
        else
            return cli_usage_error("run", "--format '%.*s' is not supported (png, svg, pdf, "
                                   "json, html, safetensors)", (int)n, p);
        p += n;
        if (*p == ',')
            p++;
    }
    if (!o->formats && !o->json && !o->html)
        return cli_usage_error("run", "--format needs at least one of png, svg, pdf, json, "
                               "html, safetensors");
    return 0;
}

static int int_arg(const char *cmd, const char *opt, const char *arg, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || v < lo || v > hi)
        return cli_usage_error(cmd, "%s '%s' is not a whole number from %d to %d", opt, arg,
                               lo, hi);
    *out = (int)v;
    return 0;
}

/* A title or name drawn on figures: one line of text. */
static int text_arg(const char *cmd, const char *opt, const char *arg)
{
    if (!mhv_utf8_valid(arg, strlen(arg), NULL))
        return cli_usage_error(cmd, "%s is not valid UTF-8", opt);
    for (const char *q = arg; *q; q++)
        if ((unsigned char)*q < 0x20)
            return cli_usage_error(cmd, "%s holds a control character", opt);
    return 0;
}

int run_fig_option(const char *cmd, int c, const char *arg, run_fig_opts *o)
{
    mhv_error err = {0};
    switch (c) {
    case FIG_OPT_COLORMAP:
        if (mhv_cmap_parse(arg, &o->render.cmap, &err))
            return cli_usage_error(cmd, "--colormap: %s", err.msg);
        return 0;
    case FIG_OPT_SCALE:
        if (mhv_scale_parse(arg, &o->render.scale, &err))
            return cli_usage_error(cmd, "--scale: %s", err.msg);
        o->scale_set = 1;
        return 0;
    case FIG_OPT_CELL: return int_arg(cmd, "--cell", arg, 2, 200, &o->render.cell);
    case FIG_OPT_DPI: return int_arg(cmd, "--dpi", arg, 24, 1200, &o->render.dpi);
    case FIG_OPT_FONT_SIZE: return int_arg(cmd, "--font-size", arg, 4, 72, &o->render.font_px);
    case FIG_OPT_VALUES: o->render.values = 1; return 0;
    case FIG_OPT_FONT: o->font = arg; return 0;
    case FIG_OPT_TITLE:
        o->render.title = arg;
        return text_arg(cmd, "--title", arg);
    case FIG_OPT_NO_TITLE: o->render.no_title = 1; return 0;
    case FIG_OPT_MODEL_NAME:
        o->model_name = arg;
        return text_arg(cmd, "--model-name", arg);
    case FIG_OPT_VIEW:
        if (mhv_view_parse(arg, &o->render.view, &err))
            return cli_usage_error(cmd, "--view: %s", err.msg);
        o->view_set = 1;
        return 0;
    case FIG_OPT_MIN_WEIGHT: {
        char *end;
        float v = strtof(arg, &end);
        if (end == arg || *end || !(v >= 0 && v <= 1))
            return cli_usage_error(cmd, "--min-weight '%s' is not a number from 0 to 1", arg);
        o->render.min_weight = v;
        return 0;
    }
    case FIG_OPT_SVG_TEXT: o->render.svg_text = 1; return 0;
    }
    return 1;
}

const char *run_fig_option_name(int c)
{
    static const struct option opts[] = {RUN_FIG_LONGOPTS};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (opts[i].val == c)
            return opts[i].name;
    return "?";
}

void run_fig_values_warn(const run_fig_opts *o, int n)
{
    int need = mhv_render_values_cell(&o->render, n);
    if (!need || !o->formats)
        return;
    int cell = o->render.cell > 0 ? o->render.cell : mhv_render_default_cell(n);
    fprintf(stderr, "mhaviz: warning: --values: cells of %d px are too small to print the "
            "weights; use --cell %d or more\n", cell, need);
}

const char *run_fig_quantity(mhv_weighting w)
{
    switch (w) {
    case MHV_WEIGHT_NORM: return "norm-weighted attention";
    case MHV_WEIGHT_NORM_OUT: return "norm-out-weighted attention";
    case MHV_WEIGHT_ATTN: break;
    }
    return NULL;
}

mhv_status run_figs_begin(run_figs *r, const run_fig_opts *o, const mhv_model *m,
                          const mhv_tok *tok, mhv_error *err)
{
    memset(r, 0, sizeof *r);
    r->o = o;
    r->m = m;
    r->tok = tok;
    /* titles name the directory (or --model-name), never config.json's "_name_or_path":
     * a fine-tuned model would carry its parent's name */
    if (o->model_name)
        snprintf(r->model_name, sizeof r->model_name, "%s", o->model_name);
    else
        mhv_modelname_of_dir(m->dir, r->model_name, sizeof r->model_name);
    /* --weighting: the maps are not attention weights; every title says what they are */
    if (o->weighting && strcmp(o->weighting, "attn") != 0) {
        size_t len = strlen(r->model_name);
        snprintf(r->model_name + len, sizeof r->model_name - len, ", %s-weighted",
                 o->weighting);
    }
    if (!o->formats)
        return MHV_OK;
    return cli_font_open(o->font, &r->fs, err);
}

static mhv_label_kind label_kind(mhv_tok_kind k)
{
    switch (k) {
    case MHV_TOK_BYTELEVEL_BPE: return MHV_LABEL_BYTELEVEL;
    case MHV_TOK_SENTENCEPIECE_BPE: return MHV_LABEL_SENTENCEPIECE;
    case MHV_TOK_WORDPIECE: break;
    case MHV_TOK_ESM: return MHV_LABEL_DECODED; /* the pieces as they are: residues */
    }
    return MHV_LABEL_WORDPIECE;
}

#define FIG_SENTENCE_MAX 4096

/* The labels of enc's tokens as tok's decoder gives them (special tokens: their pieces),
 * copied after `used` bytes of *block (realloc'd; the pointers 8-byte aligned) into
 * *labels; *labels NULL when the pieces are the labels (no decoder to follow, or tokens
 * without ids: pooled blocks). */
static mhv_status decoded_labels(const mhv_tok *tok, const mhv_encoding *enc,
                                 unsigned char **block, size_t used, const char ***labels,
                                 mhv_error *err)
{
    *labels = NULL;
    if (!tok || !mhv_tok_labels_decoded(tok) || enc->n == 0)
        return MHV_OK;
    for (int i = 0; i < enc->n; i++)
        if (enc->ids[i] < 0)
            return MHV_OK;
    char **dec;
    mhv_status st = mhv_tok_decode_tokens(tok, enc->ids, enc->n, &dec, err);
    if (st)
        return st;
    size_t at = (used + 7) & ~(size_t)7, strs = at + (size_t)enc->n * sizeof(char *), total = strs;
    for (int i = 0; i < enc->n; i++)
        total += strlen(mhv_tok_is_special(tok, enc->ids[i]) ? enc->pieces[i] : dec[i]) + 1;
    unsigned char *nb = realloc(*block, total);
    if (!nb) {
        mhv_decoder_tokens_free(dec, enc->n);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    *block = nb;
    const char **ptr = (const char **)(void *)(nb + at);
    for (int i = 0; i < enc->n; i++) {
        const char *t = mhv_tok_is_special(tok, enc->ids[i]) ? enc->pieces[i] : dec[i];
        size_t len = strlen(t) + 1;
        memcpy(nb + strs, t, len);
        ptr[i] = (const char *)nb + strs;
        strs += len;
    }
    mhv_decoder_tokens_free(dec, enc->n);
    *labels = ptr;
    return MHV_OK;
}

/* What the figures of sentence s show besides the weights; *special (caller frees) backs
 * in->special, in->sentence and the labels (tokenizer.json's decoder, when it has one). */
/* tok: the tokenizer of enc's ids (an encoder-decoder's target may have its own), or NULL */
static mhv_status fig_input_tok(const run_figs *r, const mhv_tok *tok, const mhv_sentence *s,
                                const mhv_encoding *enc, mhv_fig_input *out,
                                unsigned char **special, mhv_error *err)
{
    /* The sentence stored in each figure's metadata: whole up to 4 KiB; a longer one (a
     * 1 MB line cut by --truncate) only as far as the drawn tokens reach, at most 4 KiB,
     * then an ellipsis, so it is not copied whole into every figure. */
    size_t keep = s->len;
    if (keep > FIG_SENTENCE_MAX) {
        size_t chars = 0, end = 0; /* spans count characters: the byte where they end */
        for (int i = 0; i < enc->n; i++)
            if (enc->spans[2 * i + 1] > 0 && (size_t)enc->spans[2 * i + 1] > chars)
                chars = (size_t)enc->spans[2 * i + 1];
        for (size_t c = 0; c < chars && end < FIG_SENTENCE_MAX; c++)
            for (end++; end < s->len && ((unsigned char)s->text[end] & 0xc0) == 0x80;)
                end++;
        keep = end && end < FIG_SENTENCE_MAX ? end : FIG_SENTENCE_MAX;
        while (keep > 0 && ((unsigned char)s->text[keep] & 0xc0) == 0x80)
            keep--;
    }
    *special = malloc((size_t)enc->n + 1 + keep + 4);
    if (!*special)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    char *text = (char *)*special + enc->n + 1;
    memcpy(text, s->text, keep);
    if (keep < s->len)
        memcpy(text + keep, "\xE2\x80\xA6", 3), keep += 3; /* "…" */
    text[keep] = '\0';
    for (int i = 0; i < enc->n; i++)
        (*special)[i] = tok ? (unsigned char)mhv_tok_is_special(tok, enc->ids[i]) : 0;
    const char **labels;
    mhv_status st = decoded_labels(tok, enc, special, (size_t)enc->n + 1 + keep + 1, &labels,
                                   err);
    if (st) {
        free(*special);
        *special = NULL;
        return st;
    }
    text = (char *)*special + enc->n + 1; /* the block may have moved */
    *out = (mhv_fig_input){
        .model = r->model_name,
        .num_layers = r->m->cfg.num_layers,
        .num_heads = r->m->cfg.num_heads,
        .causal = r->m->cfg.causal && !r->not_causal,
        .sentence = text,
        .n = enc->n,
        .pieces = labels ? labels : (const char *const *)enc->pieces,
        .special = *special,
        .kind = labels ? MHV_LABEL_DECODED
                : tok  ? label_kind(mhv_tok_kind_of(tok)) : MHV_LABEL_WORDPIECE,
        .aggregate = r->o->aggregate,
        .boundary = enc->type_ids ? enc->boundary : enc->generated,
        .generated = enc->generated,
    };
    return MHV_OK;
}

static mhv_status fig_input(const run_figs *r, const mhv_sentence *s, const mhv_encoding *enc,
                            mhv_fig_input *out, unsigned char **special, mhv_error *err)
{
    return fig_input_tok(r, r->tok, s, enc, out, special, err);
}

/* Kept rows row_ids(R) (sentence positions) in `in`: labelled by re's tokens (tok's);
 * *pieces (caller frees) backs in->row_pieces and in->row_special. */
static mhv_status fig_rows_of(const run_figs *r, const mhv_tok *tok, const mhv_encoding *re,
                              const int *row_ids, int R, mhv_fig_input *in,
                              const char ***pieces, mhv_error *err)
{
    unsigned char *blk = malloc((size_t)R * (sizeof **pieces + 1) + 1);
    const char **labels = NULL;
    mhv_status st = blk ? decoded_labels(tok, re, &blk, (size_t)R * (sizeof **pieces + 1),
                                         &labels, err)
                        : mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (st) {
        free(blk);
        return st;
    }
    *pieces = (const char **)(void *)blk;
    unsigned char *sp = (unsigned char *)(*pieces + R);
    for (int k = 0; k < R; k++) {
        int t = row_ids[k];
        if (t < 0 || t >= re->n) {
            free(*pieces);
            *pieces = NULL;
            return mhv_fail(err, MHV_EUSAGE, "", "kept row %d is past the %d tokens", t, re->n);
        }
        (*pieces)[k] = labels ? labels[t] : re->pieces[t];
        sp[k] = tok ? (unsigned char)mhv_tok_is_special(tok, re->ids[t]) : 0;
    }
    if (labels) /* pooled columns are numbers: shown as they are too */
        in->kind = MHV_LABEL_DECODED;
    in->nrows = R;
    in->row_ids = row_ids;
    in->row_pieces = (const char *const *)*pieces;
    in->row_special = sp;
    in->key0 = r->key0;
    in->key_block = r->key_block;
    return MHV_OK;
}

/* The kept rows of attn (attn->row_ids: sentence positions) in `in`: labelled by r->row_enc
 * (the whole sentence) or enc; *pieces (caller frees) backs in->row_pieces and
 * in->row_special. */
static mhv_status fig_rows(const run_figs *r, const mhv_encoding *enc, const mhv_attn *attn,
                           mhv_fig_input *in, const char ***pieces, mhv_error *err)
{
    return fig_rows_of(r, r->tok, r->row_enc ? r->row_enc : enc, attn->row_ids, attn->rows, in,
                       pieces, err);
}

/* dir = OUT/STEM for the first sentence of a file, OUT/STEM-K for the K-th; -1 when too long. */
static int sentence_dir(char *dir, size_t size, const char *out, const char *stem, int index)
{
    int len = index == 0 ? snprintf(dir, size, "%s/%s", out, stem)
                         : snprintf(dir, size, "%s/%s-%d", out, stem, index + 1);
    return len >= (int)size ? -1 : 0;
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
    if (attn->row_ids && attn->rows == 0) { /* --rows matched nothing in this sentence */
        r->rows_empty++;
        return MHV_OK;
    }
    char dir[4096];
    if (sentence_dir(dir, sizeof dir, out, stem, index))
        return mhv_fail(err, MHV_EUSAGE, out, "output path too long");
    mhv_fig_input in;
    unsigned char *special;
    mhv_status st = fig_input(r, s, enc, &in, &special, err);
    if (st)
        return st;
    if (hl)
        in.highlight = *hl;
    const char **row_pieces = NULL;
    if (attn->row_ids && (st = fig_rows(r, enc, attn, &in, &row_pieces, err))) {
        free(special);
        return st;
    }
    if (r->o->row_word && !hl) { /* run --row WORD: that word's tokens are the rows drawn */
        r->row_sentences++;
        int t0 = 0, t1 = 0;
        if (mhv_rank_find(s->text, s->len, enc, r->o->row_word, 1, MHV_RANK_WORDS, &t0, &t1) < 1 ||
            t0 == t1) {
            r->row_missing++;
            free(row_pieces);
            free(special);
            return MHV_OK;
        }
        in.highlight = (mhv_highlight){t0, t1, 0, 0, r->o->row_word};
    }
    mhv_render_params rp = r->o->render;
    if (r->corner)
        rp.corner = r->corner;
    st = heads_only ? mhv_figures_write_heads(dir, r->o->formats, &rp, r->fs, &in, attn,
                                              &r->written, err)
                    : mhv_figures_write(dir, r->o->formats, &rp, r->fs, &in, attn, &r->written,
                                        err);
    free(row_pieces);
    free(special);
    /* "figure too large", "out of memory while laying out": say which sentence */
    size_t dl = strlen(dir);
    if (st && !err->file[0] && dl < sizeof err->file)
        memcpy(err->file, dir, dl + 1);
    return st;
}

mhv_status run_figs_sentence(run_figs *r, const char *out, const char *stem, int index,
                             const mhv_sentence *s, const mhv_encoding *enc,
                             const mhv_attn *attn, mhv_error *err)
{
    return sentence_figs(r, out, stem, index, s, enc, attn, 0, NULL, err);
}

mhv_status run_figs_contacts(run_figs *r, const char *out, const char *stem, int index,
                            const mhv_sentence *s, const mhv_encoding *enc, const float *p,
                            int L, mhv_error *err)
{
    if (!r->o->formats || L == 0)
        return MHV_OK;
    char dir[4096];
    if (sentence_dir(dir, sizeof dir, out, stem, index))
        return mhv_fail(err, MHV_EUSAGE, out, "output path too long");
    mhv_fig_input in;
    unsigned char *special;
    mhv_status st = fig_input(r, s, enc, &in, &special, err);
    if (st)
        return st;
    /* the residues: tokens 1 .. n - 2, as a square map of their own */
    in.n = L, in.pieces++, in.special++;
    in.causal = 0, in.boundary = 0, in.generated = 0, in.aggregate = NULL;
    mhv_render_params rp = r->o->render;
    rp.view = MHV_VIEW_MATRIX;
    mhv_scene sc;
    st = mhv_figures_make_dirs(dir, &r->written, err);
    if (!st)
        st = mhv_render_contacts(&rp, r->fs, &in, p, &sc, err);
    if (!st) {
        st = mhv_figures_emit(dir, "contacts", r->o->formats, &rp, r->fs, &sc, &r->written, err);
        mhv_scene_free(&sc);
    }
    free(special);
    size_t dl = strlen(dir);
    if (st && !err->file[0] && dl < sizeof err->file)
        memcpy(err->file, dir, dl + 1);
    return st;
}

mhv_status run_figs_heads(run_figs *r, const char *out, const char *stem, int index,
                          const mhv_sentence *s, const mhv_encoding *enc, const mhv_attn *attn,
                          const mhv_highlight *hl, mhv_error *err)
{
    return sentence_figs(r, out, stem, index, s, enc, attn, 1, hl, err);
}

int run_fig_block(const run_fig_opts *o, int n, int max_pixels)
{
    for (int b = 1;; b++) {
        int m = (n + b - 1) / b;
        int cell = o->render.cell ? o->render.cell : mhv_render_default_cell(m);
        if ((long)m * cell <= max_pixels || m == 1)
            return b;
    }
}

mhv_status run_figs_seq2seq(run_figs *r, const char *out, const char *stem, int index,
                            const mhv_sentence *src, const mhv_encoding *enc_src,
                            const mhv_sentence *tgt, const mhv_encoding *enc_tgt,
                            const mhv_tok *tgt_tok, const mhv_attn *attn, int align_layer,
                            const run_s2s_rows *rows, mhv_error *err)
{
    if (!r->o->formats)
        return MHV_OK;
    const mhv_s2s_rows *kr = rows ? rows->rows : NULL;
    int no_src = kr && (kr->src ? kr->n_src : 1) == 0;
    int no_tgt = kr && (kr->tgt ? kr->n_tgt : 1) == 0;
    if (no_src && no_tgt) {
        r->rows_empty++; /* --rows matched nothing on either side */
        return MHV_OK;
    }
    if (no_src || no_tgt) { /* that side's stacks draw nothing: said once, at the end */
        unsigned stacks = 0, side = no_src ? 1u << MHV_STACK_ENCODER
                                           : 1u << MHV_STACK_DECODER | 1u << MHV_STACK_CROSS;
        for (int k = 0; k < attn->count; k++)
            stacks |= 1u << attn->heads[k].stack;
        if (stacks & side) {
            r->rows_left_out |= stacks & side;
            no_src ? r->rows_no_src++ : r->rows_no_tgt++;
        }
    }
    char dir[4096];
    if (sentence_dir(dir, sizeof dir, out, stem, index))
        return mhv_fail(err, MHV_EUSAGE, out, "output path too long");
    mhv_fig_input is, it;
    unsigned char *ss, *ts;
    mhv_status st = fig_input(r, src, enc_src, &is, &ss, err);
    if (st)
        return st;
    if ((st = fig_input_tok(r, tgt_tok, tgt, enc_tgt, &it, &ts, err))) {
        free(ss);
        return st;
    }
    if (r->o->row_word) { /* --row WORD: its tokens in the source (encoder's figures) and in
                           * the target (the decoder's and the cross-attention's) */
        mhv_fig_input *side[2] = {&is, &it};
        const mhv_sentence *text[2] = {src, tgt};
        const mhv_encoding *enc[2] = {enc_src, enc_tgt};
        int found = 0;
        for (int k = 0; k < 2; k++) {
            int t0 = 0, t1 = 0;
            if (mhv_rank_find(text[k]->text, text[k]->len, enc[k], r->o->row_word, 1,
                              MHV_RANK_WORDS, &t0, &t1) >= 1 && t0 < t1) {
                side[k]->highlight = (mhv_highlight){t0, t1, 0, 0, r->o->row_word};
                found = 1;
            }
        }
        r->row_sentences++;
        r->row_missing += !found;
        if (!found) {
            free(ss);
            free(ts);
            return MHV_OK;
        }
    }
    /* --rows: the encoder's rows are source tokens, the decoder's and the cross-attention's
     * target tokens, labelled from the whole sentences */
    const char **sp = NULL, **tp = NULL;
    if (kr && kr->src)
        st = fig_rows_of(r, r->tok, rows->src, kr->src, kr->n_src, &is, &sp, err);
    if (!st && kr && kr->tgt)
        st = fig_rows_of(r, tgt_tok, rows->tgt, kr->tgt, kr->n_tgt, &it, &tp, err);
    mhv_render_params rp = r->o->render;
    if (r->corner)
        rp.corner = r->corner;
    if (!st)
        st = mhv_figures_write_seq2seq(dir, r->o->formats, &rp, r->fs, &is, &it, attn,
                                       r->m->cfg.num_layers, r->m->cfg.dec_layers, align_layer,
                                       &r->written, err);
    free(sp), free(tp);
    free(ss);
    free(ts);
    size_t dl = strlen(dir);
    if (st && !err->file[0] && dl < sizeof err->file)
        memcpy(err->file, dir, dl + 1);
    return st;
}

mhv_status run_figs_html_begin(run_figs *r, const char *out, const char *stem,
                               const char *source, mhv_error *err)
{
    if (!r->o->html)
        return MHV_OK;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s.html", out, stem) >= (int)sizeof path)
        return mhv_fail(err, MHV_EUSAGE, out, "output path too long");
    mhv_status st = mhv_out_open(&r->html, path, err);
    if (st)
        return st;
    r->html_open = 1;
    r->html_source = source;
    const char *base = strrchr(source, '/');
    mhv_html_info info = {
        .model = r->model_name,
        .source = strcmp(source, "-") == 0 ? "stdin" : base ? base + 1 : source,
        .title = r->o->render.title,
        .num_layers = r->m->cfg.num_layers,
        .num_heads = r->m->cfg.num_heads,
        .causal = r->m->cfg.causal && !r->not_causal,
        .cmap = r->o->render.cmap,
        .scale = r->o->render.scale,
        .dec_layers = r->m->cfg.enc_dec ? r->m->cfg.dec_layers : 0,
        .sinks = r->m->cfg.attn_sinks,
    };
    return mhv_html_begin(r->html.f, path, &info, err);
}

mhv_status run_figs_html_seq2seq(run_figs *r, const mhv_sentence *src,
                                 const mhv_encoding *enc_src, const mhv_sentence *tgt,
                                 const mhv_encoding *enc_tgt, const mhv_tok *tgt_tok,
                                 const mhv_attn *attn, const mhv_attn *agg, mhv_error *err)
{
    if (!r->html_open)
        return MHV_OK;
    mhv_fig_input is, it;
    unsigned char *ss, *ts;
    mhv_status st = fig_input(r, src, enc_src, &is, &ss, err);
    if (st)
        return st;
    if (!(st = fig_input_tok(r, tgt_tok, tgt, enc_tgt, &it, &ts, err))) {
        st = mhv_html_sentence_seq2seq(r->html.f, r->html.path, &is, &it, attn, agg,
                                       agg ? r->o->aggregate : NULL, err);
        free(ts);
    }
    free(ss);
    return st;
}

/* The zoom window of a long sentence's page: --window (its first MHV_HTML_ZOOM_MAX tokens),
 * else the MHV_HTML_ZOOM_DEFAULT tokens up to the last kept row (the end without --rows). */
enum { MHV_HTML_ZOOM_DEFAULT = 256 };
static void html_window(const run_figs *r, const mhv_attn *a, int *t0, int *t1)
{
    int n = a->n;
    if (r->html_win1 > 0 && r->html_win0 < n) {
        *t0 = r->html_win0;
        *t1 = r->html_win1 < n ? r->html_win1 : n;
        if (*t1 - *t0 > MHV_HTML_ZOOM_MAX)
            *t1 = *t0 + MHV_HTML_ZOOM_MAX;
        return;
    }
    *t1 = a->row_ids && a->rows > 0 ? a->row_ids[a->rows - 1] + 1 : n;
    *t0 = *t1 > MHV_HTML_ZOOM_DEFAULT ? *t1 - MHV_HTML_ZOOM_DEFAULT : 0;
}

/* A long sentence's page: an overview pooled to at most MHV_HTML_OVERVIEW_MAX blocks a side
 * and a zoom window at full resolution (fig/html.h says the size bound). */
static mhv_status html_long(run_figs *r, const mhv_sentence *s, const mhv_fig_input *in,
                            const mhv_encoding *enc, const mhv_attn *attn, const mhv_attn *agg,
                            mhv_error *err)
{
    int n = attn->n, b = (n + MHV_HTML_OVERVIEW_MAX - 1) / MHV_HTML_OVERVIEW_MAX, t0, t1;
    mhv_pool_kind kind = r->html_pool_mean ? MHV_POOL_MEAN : MHV_POOL_MAX;
    html_window(r, attn, &t0, &t1);
    mhv_attn pa = {0}, pg = {0}, za = {0}, zg = {0};
    mhv_encoding pe = {0}, pe2 = {0}, ze = {0}, ze2 = {0};
    mhv_status st = mhv_zoom_pool(attn, b, kind, 0, 1, &pa, &pe, err);
    if (!st)
        st = mhv_zoom_window(attn, enc, t0, t1, &za, &ze, err);
    if (!st && agg)
        st = mhv_zoom_pool(agg, b, kind, 0, 1, &pg, &pe2, err);
    if (!st && agg)
        st = mhv_zoom_window(agg, enc, t0, t1, &zg, &ze2, err);
    if (st == MHV_EUSAGE && attn->row_ids) /* no kept row in the window: as the figures say it */
        st = mhv_fail(err, MHV_EINPUT,
                      strcmp(r->html_source, "-") == 0 ? "<stdin>" : r->html_source,
                      "line %d: no --rows row lies in the page's zoom window %d:%d (give a "
                      "--window that holds one)", s->line, t0, t1);
    if (!st) {
        mhv_html_long lg = {.pooled = &pa, .pooled_agg = agg ? &pg : NULL, .block = b,
                            .pool = kind == MHV_POOL_MEAN ? "mean" : "max",
                            .labels = (const char *const *)pe.pieces, .zoom = &za,
                            .zoom_agg = agg ? &zg : NULL, .t0 = t0, .t1 = t1};
        st = mhv_html_sentence_long(r->html.f, r->html.path, in, &lg, attn->kv_group,
                                    agg ? r->o->aggregate : NULL, err);
    }
    mhv_attn_free(&pa), mhv_attn_free(&pg), mhv_attn_free(&za), mhv_attn_free(&zg);
    mhv_encoding_free(&pe), mhv_encoding_free(&pe2), mhv_encoding_free(&ze);
    mhv_encoding_free(&ze2);
    return st;
}

mhv_status run_figs_html_sentence(run_figs *r, const mhv_sentence *s, const mhv_encoding *enc,
                                  const mhv_attn *attn, const mhv_attn *agg, mhv_error *err)
{
    if (!r->html_open)
        return MHV_OK;
    mhv_fig_input in;
    unsigned char *special;
    mhv_status st = fig_input(r, s, enc, &in, &special, err);
    if (st)
        return st;
    if (enc->n > MHV_HTML_WHOLE_MAX)
        st = html_long(r, s, &in, enc, attn, agg, err);
    else
        st = mhv_html_sentence(r->html.f, r->html.path, &in, attn, agg,
                               agg ? r->o->aggregate : NULL, err);
    free(special);
    return st;
}

mhv_status run_figs_html_commit(run_figs *r, mhv_error *err)
{
    if (!r->html_open)
        return MHV_OK;
    mhv_status st = mhv_html_end(r->html.f, r->html.path, err);
    r->html_open = 0;
    if (st) {
        mhv_out_abort(&r->html);
        return st;
    }
    char path[sizeof r->html.path];
    memcpy(path, r->html.path, sizeof path);
    if ((st = mhv_out_commit(&r->html, err)))
        return st;
    return mhv_written_add(&r->written, path, 0, err);
}

void run_figs_end(run_figs *r, int ok)
{
    if (r->html_open) {
        mhv_out_abort(&r->html);
        r->html_open = 0;
    }
    if (!ok) {
        mhv_written_undo(&r->written);
    } else if (r->row_missing) {
        cli_say("warning: --row '%s' does not occur in %d of %d sentence%s: no figures for %s",
                r->o->row_word, r->row_missing, r->row_sentences,
                r->row_sentences == 1 ? "" : "s", r->row_missing == 1 ? "it" : "them");
    }
    if (ok && r->rows_empty)
        cli_say("warning: --rows keeps no row of %d sentence%s: no figures for %s",
                r->rows_empty, r->rows_empty == 1 ? "" : "s", r->rows_empty == 1 ? "it" : "them");
    if (ok && r->rows_no_src)
        cli_say("warning: --rows keeps no source row of %d sentence%s: no encoder figures "
                "for %s", r->rows_no_src, r->rows_no_src == 1 ? "" : "s",
                r->rows_no_src == 1 ? "it" : "them");
    if (ok && r->rows_no_tgt) {
        unsigned dec = r->rows_left_out & 1u << MHV_STACK_DECODER;
        unsigned cross = r->rows_left_out & 1u << MHV_STACK_CROSS;
        cli_say("warning: --rows keeps no target row of %d sentence%s: no %s figures for %s",
                r->rows_no_tgt, r->rows_no_tgt == 1 ? "" : "s",
                dec && cross ? "decoder or cross-attention" : dec ? "decoder" : "cross-attention",
                r->rows_no_tgt == 1 ? "it" : "them");
    }
    if (ok && r->fs && mhv_font_missing_count(r->fs) > 0) {
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
