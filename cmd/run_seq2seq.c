/* run_seq2seq.c - `mhaviz run` on encoder-decoder models. */
#include "run_seq2seq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/report.h"
#include "outdir.h"

/* The decoder's input as an encoding: its ids with the tokenizer's pieces (or the ids as
 * labels without one); spans from `text` (the target's own encoding, one token later), else
 * none. */
static mhv_status ids_encoding(const mhv_tok *tok, const int32_t *ids, int n,
                               const mhv_encoding *text, int shift, mhv_encoding *out,
                               mhv_error *err)
{
    size_t cap = (size_t)n * 12 + 1;
    char *buf = malloc(cap);
    if (!buf)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%d", i ? " " : "", (int)ids[i]);
    mhv_sentence s = {buf, len, 0};
    mhv_status st = cli_encode_one(tok, &s, INPUT_IDS, out, err);
    free(buf);
    if (st || !text)
        return st;
    for (int i = 0; i < out->n; i++) {
        int j = i - shift;
        if (j >= 0 && j < text->n) {
            out->spans[2 * i] = text->spans[2 * j];
            out->spans[2 * i + 1] = text->spans[2 * j + 1];
        }
    }
    return MHV_OK;
}

static mhv_status check_finite(const mhv_attn *a, mhv_error *err)
{
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        for (size_t i = 0; i < (size_t)h->rows * (size_t)h->cols; i++)
            if (!isfinite(h->w[i]))
                return mhv_fail(err, MHV_EFORMAT, "",
                                "%s layer %d, head %d: attention is NaN or infinite (NaN or "
                                "infinite values in the checkpoint's weights?)",
                                mhv_stack_name(h->stack), h->layer, h->head);
    }
    return MHV_OK;
}

/* One line: its source and decoder input encoded (tgt_text: the target's text or NULL). */
typedef struct {
    mhv_encoding src, tgt;
    const char *src_text, *tgt_text;
    size_t src_len, tgt_len;
} s2s_line;

static void line_free(s2s_line *l)
{
    mhv_encoding_free(&l->src);
    mhv_encoding_free(&l->tgt);
}

static mhv_status encode_line(const run_s2s_opts *o, const mhv_model *m, const mhv_tok *tok,
                              mhv_forward_ctx *fc, const mhv_sentence *s, s2s_line *l,
                              mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    memset(l, 0, sizeof *l);
    l->src_text = s->text;
    l->src_len = s->len;
    if (o->pairs) {
        const char *tab = memchr(s->text, '\t', s->len);
        if (!tab)
            return mhv_fail(err, MHV_EINPUT, "", "no TAB between source and target (--pairs)");
        l->src_len = (size_t)(tab - s->text);
        l->tgt_text = tab + 1;
        l->tgt_len = s->len - l->src_len - 1;
    }
    mhv_sentence src = {l->src_text, l->src_len, s->line};
    mhv_status st = cli_encode_one(tok, &src, o->mode, &l->src, err);
    if (st)
        return st;
    if (l->src.n == 0)
        return mhv_fail(err, MHV_EINPUT, "", "no source tokens");
    if (l->src.n > c->max_positions)
        return mhv_fail(err, MHV_EINPUT, "", "%d source tokens exceed the model's %d positions",
                        l->src.n, c->max_positions);
    if (o->pairs && o->mode == INPUT_IDS) { /* the decoder's input exactly as given */
        mhv_sentence t = {l->tgt_text, l->tgt_len, s->line};
        if ((st = cli_encode_one(c->separate_emb ? NULL : tok, &t, INPUT_IDS, &l->tgt, err)))
            return st;
    } else if (o->pairs && c->separate_emb) {
        return mhv_fail(err, MHV_EUNSUPPORTED, "",
                        "the model's target vocabulary is not its source's "
                        "(share_encoder_decoder_embeddings false): give the target as ids "
                        "(--ids)");
    } else if (o->pairs) { /* the decoder start token, then the target's tokens */
        mhv_sentence t = {l->tgt_text, l->tgt_len, s->line};
        mhv_encoding te;
        if ((st = cli_encode_one(tok, &t, o->mode, &te, err)))
            return st;
        int32_t *ids = malloc(((size_t)te.n + 1) * sizeof *ids);
        if (!ids) {
            mhv_encoding_free(&te);
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        }
        ids[0] = c->decoder_start_id;
        memcpy(ids + 1, te.ids, (size_t)te.n * sizeof *ids);
        st = ids_encoding(tok, ids, te.n + 1, &te, 1, &l->tgt, err);
        free(ids);
        mhv_encoding_free(&te);
        if (st)
            return st;
    } else { /* --generate N: the model's greedy continuation */
        int32_t *ids = malloc(((size_t)o->generate + 1) * sizeof *ids);
        int n = 0;
        if (!ids)
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        st = mhv_forward_generate(fc, m, l->src.ids, l->src.n, o->generate, ids, &n, err);
        /* a separate target vocabulary: labelled by id, not by the source's pieces */
        if (!st)
            st = ids_encoding(c->separate_emb ? NULL : tok, ids, n, NULL, 0, &l->tgt, err);
        free(ids);
        if (st)
            return st;
    }
    if (l->tgt.n == 0)
        return mhv_fail(err, MHV_EINPUT, "", "no target tokens");
    return MHV_OK;
}

mhv_status run_seq2seq(const run_s2s_opts *o, mhv_model *m, const mhv_tok *tok,
                       mhv_forward_ctx *fc, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    mhv_heads sel;
    mhv_status st = mhv_heads_parse_seq2seq(o->heads, c->num_layers, c->dec_layers,
                                            c->num_heads, &sel, err);
    if (st) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return mhv_fail(err, st, "", "--heads: %s", msg);
    }
    if (o->align_layer >= c->dec_layers) {
        mhv_heads_free(&sel);
        return mhv_fail(err, MHV_EUSAGE, "", "--align-layer %d: the model has decoder layers 0-%d",
                        o->align_layer, c->dec_layers - 1);
    }
    mhv_input in;
    if ((st = mhv_input_read(o->file, &in, err))) {
        mhv_heads_free(&sel);
        return st;
    }
    char stem[256], path[4096];
    mhv_input_stem(o->file, stem, sizeof stem);
    cli_outdir od;
    if ((st = cli_outdir_begin(&od, o->out, err))) {
        mhv_input_free(&in);
        mhv_heads_free(&sel);
        return st;
    }
    mhv_out out = {0};
    run_figs figs;
    if ((st = run_figs_begin(&figs, o->fig, m, tok, err)) ||
        (st = run_figs_html_begin(&figs, od.stage, stem, o->file, err)))
        goto fail_figs;
    if (o->fig->json) {
        if (snprintf(path, sizeof path, "%s/%s.json", od.stage, stem) >= (int)sizeof path) {
            st = mhv_fail(err, MHV_EUSAGE, o->out, "output path too long");
            goto fail_figs;
        }
        if ((st = mhv_out_open(&out, path, err)))
            goto fail_figs;
        mhv_model_info info = mhv_model_describe(m);
        mhv_report_begin(out.f, &info);
    }
    for (int i = 0; i < in.n; i++) {
        cli_progress("run", i + 1, in.n, 0);
        s2s_line l;
        mhv_attn attn = {0};
        st = encode_line(o, m, tok, fc, &in.s[i], &l, err);
        if (!st)
            st = mhv_forward_run_seq2seq(fc, m, l.src.ids, l.src.n, l.tgt.ids, l.tgt.n, &sel,
                                         &attn, err);
        if (!st)
            st = check_finite(&attn, err);
        if (!st && o->fig->json)
            mhv_report_sentence_seq2seq(out.f, i, l.src_text, l.src_len, &l.src, l.tgt_text,
                                        l.tgt_len, &l.tgt, tok,
                                        c->separate_emb ? NULL : tok, &attn);
        if (!st) {
            mhv_sentence ss = {l.src_text, l.src_len, in.s[i].line};
            mhv_sentence ts = {l.tgt_text ? l.tgt_text : "", l.tgt_text ? l.tgt_len : 0,
                               in.s[i].line};
            st = run_figs_seq2seq(&figs, od.stage, stem, i, &ss, &l.src, &ts, &l.tgt, &attn,
                                  o->align_layer >= 0 ? o->align_layer : c->dec_layers - 1,
                                  err);
            if (!st)
                st = run_figs_html_seq2seq(&figs, &ss, &l.src, &ts, &l.tgt, &attn, err);
        }
        mhv_attn_free(&attn);
        line_free(&l);
        if (st) {
            if (err->file[0] == '\0')
                cli_fail_line(err, st, &in, i);
            goto fail_out;
        }
    }
    cli_progress("run", in.n, in.n, 1);
    if (o->fig->json) {
        mhv_report_end(out.f);
        if ((st = mhv_out_commit(&out, err)))
            goto fail_figs;
    }
    if ((st = run_figs_html_commit(&figs, err)))
        goto fail_figs;
    run_figs_end(&figs, 1);
    st = cli_outdir_commit(&od, err);
    if (!st && o->fig->formats)
        cli_outdir_leftovers(&od, stem, in.n);
    mhv_input_free(&in);
    mhv_heads_free(&sel);
    return st;
fail_out:
    cli_progress("run", in.n, in.n, 1);
    mhv_out_abort(&out);
fail_figs:
    run_figs_end(&figs, 0);
    cli_outdir_abort(&od, err);
    mhv_input_free(&in);
    mhv_heads_free(&sel);
    return st;
}
