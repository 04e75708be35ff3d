/* run_seq2seq.c - `mhaviz run` on encoder-decoder models. */
#include "run_seq2seq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/report.h"
#include "analysis/rows.h"
#include "analysis/stwrite.h"
#include "analysis/weighting.h"
#include "outdir.h"
#include "run_global.h"
#include "s2s_audio.h"
#include "s2s_image.h"
#include "s2s_text.h"

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
    char *audio_path;   /* Whisper: the WAV file (the source's tokens are its positions) */
    int audio_used;     /* its positions holding audio, not the window's padding */
    size_t audio_samples; /* its length in samples */
    double audio_seconds; /* of audio per position */
    int gen_prompt;     /* --generate on Whisper: its first tokens, else 0 */
    char *image_path;   /* vision encoder-decoders: the image (the source's tokens are its
                           [CLS] and patches) */
} s2s_line;

static void line_free(s2s_line *l)
{
    mhv_encoding_free(&l->src);
    mhv_encoding_free(&l->tgt);
    free(l->audio_path);
    l->audio_path = NULL;
    free(l->image_path);
    l->image_path = NULL;
}

static void free_lines(s2s_line *lines, int n)
{
    for (int i = 0; lines && i < n; i++)
        line_free(&lines[i]);
    free(lines);
}

/* --truncate: e cut to max tokens, said on stderr (what: "source", "target"). */
static void cut(const run_s2s_opts *o, const mhv_tok *tok, mhv_encoding *e, int max,
                const char *what, const char *name, int line)
{
    if (!o->truncate || e->n <= max)
        return;
    cli_say("%s: line %d: %s truncated from %d to %d tokens", name, line, what, e->n, max);
    cli_truncate(tok, e, max, o->mode == INPUT_TEXT);
}

static mhv_status encode_audio_line(const run_s2s_opts *o, const mhv_model *m,
                                    const s2s_text *tx, const s2s_audio *au, const char *name,
                                    const mhv_sentence *s, s2s_line *l,
                                    mhv_error *err);
static mhv_status encode_image_line(const run_s2s_opts *o, const mhv_model *m,
                                    const s2s_text *tx, const char *name,
                                    const mhv_sentence *s, s2s_line *l, mhv_error *err);

/* The source and, with --pairs, the decoder input of line s (--generate's target comes
 * later, from generate_target). */
static mhv_status encode_line(const run_s2s_opts *o, const mhv_model *m, const s2s_text *tx,
                              const s2s_audio *au, const char *name, const mhv_sentence *s,
                              s2s_line *l, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    memset(l, 0, sizeof *l);
    if (c->image_enc_dec)
        return encode_image_line(o, m, tx, name, s, l, err);
    if (c->audio_positions)
        return encode_audio_line(o, m, tx, au, name, s, l, err);
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
    mhv_status st = s2s_encode_source(tx, &src, o->mode, &l->src, err);
    if (st)
        return st;
    if (l->src.n == 0)
        return mhv_fail(err, MHV_EINPUT, "", "no source tokens");
    cut(o, tx->src_tok, &l->src, c->max_positions, "source", name, s->line);
    if (l->src.n > c->max_positions)
        return mhv_fail(err, MHV_EINPUT, "", "%d source tokens exceed the model's %d positions "
                        "(use --truncate)", l->src.n, c->max_positions);
    if (!o->pairs)
        return MHV_OK;
    mhv_sentence t = {l->tgt_text, l->tgt_len, s->line};
    if ((st = s2s_encode_target(tx, &t, o->mode, &l->tgt, err)))
        return st;
    cut(o, tx->tgt_tok, &l->tgt, c->max_positions, "target", name, s->line);
    if (l->tgt.n == 0)
        return mhv_fail(err, MHV_EINPUT, "", "no target tokens");
    if (l->tgt.n > c->max_positions)
        return mhv_fail(err, MHV_EINPUT, "", "%d target tokens exceed the model's %d positions "
                        "(use --truncate)", l->tgt.n, c->max_positions);
    return MHV_OK;
}

/* Whisper's line: AUDIO (a WAV path) or, with --pairs, AUDIO<TAB>TRANSCRIPT; the source's
 * tokens are the audio positions (labelled by time), the decoder's input the prompt, the
 * transcript's tokens and <|endoftext|> (s2s_audio_target). */
static mhv_status encode_audio_line(const run_s2s_opts *o, const mhv_model *m,
                                    const s2s_text *tx, const s2s_audio *au, const char *name,
                                    const mhv_sentence *s, s2s_line *l, mhv_error *err)
{
    char path[4096];
    const char *tab = memchr(s->text, '\t', s->len);
    if (o->pairs && !tab)
        return mhv_fail(err, MHV_EINPUT, "", "no TAB between the audio file and its transcript "
                        "(--pairs)");
    l->src_text = s->text;
    l->src_len = tab ? (size_t)(tab - s->text) : s->len;
    mhv_status st = s2s_audio_source(au, name, s, path, sizeof path, &l->audio_used,
                                     &l->audio_samples, &l->src, err);
    if (st)
        return st;
    if (!(l->audio_path = strdup(path)))
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    l->audio_seconds = au->seconds;
    if (!o->pairs)
        return MHV_OK;
    l->tgt_text = tab + 1;
    l->tgt_len = s->len - l->src_len - 1;
    mhv_sentence t = {l->tgt_text, l->tgt_len, s->line};
    if ((st = s2s_audio_target(au, tx->tgt_tok, &t, o->mode, &l->tgt, err)))
        return st;
    if (l->tgt.n > m->cfg.max_positions)
        return mhv_fail(err, MHV_EINPUT, "", "%d decoder tokens exceed the model's %d positions",
                        l->tgt.n, m->cfg.max_positions);
    return MHV_OK;
}

/* A vision encoder-decoder's line: IMAGE or, with --pairs, IMAGE<TAB>TEXT; the source's
 * tokens are the encoder's ([CLS], patches), the decoder's input its start token and the
 * text's tokens (s2s_encode_target). */
static mhv_status encode_image_line(const run_s2s_opts *o, const mhv_model *m,
                                    const s2s_text *tx, const char *name,
                                    const mhv_sentence *s, s2s_line *l, mhv_error *err)
{
    char path[4096];
    const char *tab = memchr(s->text, '\t', s->len);
    if (o->pairs && !tab)
        return mhv_fail(err, MHV_EINPUT, "", "no TAB between the image and its text (--pairs)");
    l->src_text = s->text;
    l->src_len = tab ? (size_t)(tab - s->text) : s->len;
    mhv_status st = s2s_image_source(m, name, s, path, sizeof path, &l->src, err);
    if (st)
        return st;
    if (!(l->image_path = strdup(path)))
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (!o->pairs)
        return MHV_OK;
    l->tgt_text = tab + 1;
    l->tgt_len = s->len - l->src_len - 1;
    mhv_sentence t = {l->tgt_text, l->tgt_len, s->line};
    if ((st = s2s_encode_target(tx, &t, o->mode, &l->tgt, err)))
        return st;
    cut(o, tx->tgt_tok, &l->tgt, m->cfg.max_positions, "target", name, s->line);
    if (l->tgt.n > m->cfg.max_positions)
        return mhv_fail(err, MHV_EINPUT, "", "%d target tokens exceed the model's %d positions "
                        "(use --truncate)", l->tgt.n, m->cfg.max_positions);
    return MHV_OK;
}

/* --generate N on a vision encoder-decoder: transformers' generate() of the image px from
 * the decoder's start token under gen. */
static mhv_status generate_image_target(const s2s_gen *gen, const mhv_model *m,
                                        const s2s_text *tx, mhv_forward_ctx *fc,
                                        const float *px, s2s_line *l, mhv_error *err)
{
    int32_t *ids = NULL;
    int n = 0;
    mhv_status st = mhv_forward_generate_audio(fc, m, px, &gen->start, 1, &gen->cfg, &ids, &n,
                                               err);
    if (!st)
        st = s2s_label_target(tx, ids, n, &l->tgt, err);
    free(ids);
    return st;
}

/* What a vision encoder-decoder's run does not do (yet), refused by name. */
static mhv_status image_refusals(const run_s2s_opts *o, const mhv_model *m, mhv_error *err)
{
    if (!o->pairs && !o->generate)
        return mhv_fail(err, MHV_EUSAGE, "", "%s needs a text for each image: give --pairs "
                        "(lines IMAGE<TAB>TEXT) or --generate N", m->cfg.arch);
    if (o->src_lang || o->tgt_lang)
        return mhv_fail(err, MHV_EUSAGE, "", "--src-lang and --tgt-lang are not for %s",
                        m->cfg.arch);
    if (o->weighting != MHV_WEIGHT_ATTN)
        return mhv_fail(err, MHV_EUSAGE, "", "--weighting is not available for %s yet",
                        m->cfg.arch);
    return MHV_OK;
}

/* --generate N: what transformers' generate() gives for l's source, as its target. */
static mhv_status generate_target(const s2s_gen *gen, const mhv_model *m, const s2s_text *tx,
                                  mhv_forward_ctx *fc, s2s_line *l, mhv_error *err)
{
    int32_t *ids = NULL;
    int n = 0;
    mhv_status st = s2s_generate(gen, fc, m, l->src.ids, l->src.n, &ids, &n, err);
    if (!st)
        st = s2s_label_target(tx, ids, n, &l->tgt, err);
    free(ids);
    if (!st && l->tgt.n == 0)
        st = mhv_fail(err, MHV_EINPUT, "", "no target tokens");
    return st;
}

/* What a line of ns source and nt target tokens holds besides the forward pass's maps:
 * --weighting's raw products for the JSON, a float per weight, or --aggregate mean's map and
 * double sums per stack and layer (stack_means). Counted for every row, as the maps are. */
static cli_mem_extra extra_memory(const run_s2s_opts *o, const mhv_model *m,
                                  const mhv_heads *sel, int ns, int nt)
{
    int Le = m->cfg.num_layers, Ld = m->cfg.dec_layers;
    uint64_t S = (uint64_t)ns, T = (uint64_t)nt, cells = 0, layer_cells = 0, layers = 0;
    for (int l = 0; l < sel->num_layers; l++) {
        uint64_t rows = l < Le ? S : T, cols = l < Le || l >= Le + Ld ? S : T, k = 0;
        for (int h = 0; h < sel->num_heads; h++)
            k += (uint64_t)mhv_heads_has(sel, l, h);
        cells += k * rows * cols;
        if (k)
            layer_cells += rows * cols, layers++;
    }
    if (o->aggregate)
        return (cli_mem_extra){(layers + 1) * sizeof(mhv_head_attn) +
                                   (layer_cells + 1) * (sizeof(float) + sizeof(double)),
                               "layer aggregates"};
    if (o->weighting != MHV_WEIGHT_ATTN && o->fig->json)
        return (cli_mem_extra){cells * sizeof(float), "raw norms"};
    return (cli_mem_extra){0, NULL};
}

/* Whether line i (l: its tokens) fits in limit bytes (0: no limit), refused with the
 * numbers otherwise; --generate counts the longest target it may write. */
static mhv_status check_memory(const run_s2s_opts *o, mhv_forward_ctx *fc, const mhv_model *m,
                               const mhv_heads *sel, const mhv_input *in, int i,
                               const s2s_line *l, uint64_t limit, mhv_error *err)
{
    if (o->global) { /* the source's global tokens (refused here, before anything runs) */
        int *gpos, ngpos;
        mhv_status st = run_global_set(o->global, m, fc, l->src_text, l->src_len, &l->src,
                                       &gpos, &ngpos, err);
        free(gpos);
        if (st)
            return cli_fail_line(err, st, in, i);
    }
    if (!limit)
        return MHV_OK;
    int max = m->cfg.max_positions;
    int first = l->gen_prompt > 0 ? l->gen_prompt : 1; /* Whisper's first tokens */
    int nt = o->pairs ? l->tgt.n : o->generate + first < max ? o->generate + first : max;
    mhv_forward_mem mem;
    mhv_status st = mhv_forward_estimate_seq2seq(fc, m, l->src.n, nt, sel, !o->pairs, &mem,
                                                 err);
    if (st)
        return cli_fail_line(err, st, in, i);
    cli_mem_extra extra = extra_memory(o, m, sel, l->src.n, nt);
    if (cli_mem_total(&mem, &extra) <= limit)
        return MHV_OK;
    char what[256];
    cli_fmt_mem_need(what, sizeof what, &mem, &extra, limit, o->max_memory_set);
    return mhv_fail(err, MHV_ENOMEM, in->name,
                    "line %d: %d source and %s%d target tokens need %s: keep fewer heads "
                    "(--heads cross:*:*)",
                    in->s[i].line, l->src.n, o->pairs ? "" : "up to ", nt, what);
}

/* --aggregate mean: for each stack and layer of a the mean of its heads, one map with head
 * -1, in a's order. */
static mhv_status stack_means(const mhv_attn *a, mhv_attn *out, mhv_error *err)
{
    *out = *a;
    out->heads = NULL, out->buf = NULL, out->vnorm = NULL, out->row_ids = NULL;
    out->count = 0;
    size_t cells = 0;
    for (int k = 0; k < a->count; k++)
        if (k == 0 || a->heads[k].stack != a->heads[k - 1].stack ||
            a->heads[k].layer != a->heads[k - 1].layer) {
            out->count++;
            cells += (size_t)a->heads[k].rows * (size_t)a->heads[k].cols;
        }
    out->heads = calloc((size_t)out->count + 1, sizeof *out->heads);
    out->buf = calloc(cells + 1, sizeof *out->buf);
    if (!out->heads || !out->buf) {
        mhv_attn_free(out);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    float *w = out->buf;
    double *sum = malloc((cells + 1) * sizeof *sum); /* a group's sums, in double as
                                                      * mhv_aggregate's means */
    if (!sum) {
        mhv_attn_free(out);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    for (int k = 0, g = 0; k < a->count; g++) {
        const mhv_head_attn *h0 = &a->heads[k];
        size_t n = (size_t)h0->rows * (size_t)h0->cols;
        int c = 0;
        memset(sum, 0, n * sizeof *sum);
        for (; k < a->count && a->heads[k].stack == h0->stack &&
               a->heads[k].layer == h0->layer; k++, c++)
            for (size_t i = 0; i < n; i++)
                sum[i] += a->heads[k].w[i];
        out->heads[g] = (mhv_head_attn){.layer = h0->layer, .head = -1, .w = w,
                                        .stack = h0->stack, .rows = h0->rows, .cols = h0->cols};
        for (size_t i = 0; i < n; i++)
            w[i] = (float)(sum[i] / c);
        w += n;
    }
    free(sum);
    return MHV_OK;
}

/* OUT/<stem>[-k].safetensors of line index: every captured head, a tensor per stack and
 * layer (--aggregate mean: the per-layer means, head -1, metadata "aggregate"; --global:
 * metadata "global"). */
static mhv_status write_safetensors(const run_s2s_opts *o, const mhv_model *m,
                                    const s2s_text *tx, const char *stage, const char *stem,
                                    int index, const s2s_line *l, const mhv_attn *a,
                                    const mhv_s2s_rows *rows, const int *gpos, int ngpos,
                                    mhv_error *err)
{
    char path[4096];
    int len = index ? snprintf(path, sizeof path, "%s/%s-%d.safetensors", stage, stem, index + 1)
                    : snprintf(path, sizeof path, "%s/%s.safetensors", stage, stem);
    if (len >= (int)sizeof path)
        return mhv_fail(err, MHV_EUSAGE, o->out, "output path too long");
    mhv_out out;
    mhv_status st = mhv_out_open(&out, path, err);
    if (st)
        return st;
    mhv_model_info info = mhv_model_describe(m);
    mhv_stw_s2s_desc d = {.model = &info, .dtype = o->dtype, .text = l->src_text,
                          .len = l->src_len, .target_text = l->tgt_text ? l->tgt_text : "",
                          .target_len = l->tgt_text ? l->tgt_len : 0, .src = &l->src,
                          .tgt = &l->tgt,
                          .src_tok = l->audio_path || l->image_path ? NULL : tx->src_tok,
                          .tgt_tok = tx->tgt_tok,
                          .rows = rows,
                          .weighting = o->weighting == MHV_WEIGHT_ATTN
                                           ? NULL : mhv_weighting_name(o->weighting),
                          .aggregate = o->aggregate};
    char *global = NULL; /* --global: metadata "global" */
    if (o->global && !(d.global = global = run_global_list(gpos, ngpos)))
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (st || (st = mhv_stw_write_seq2seq(out.f, out.path, &d, a, err)))
        mhv_out_abort(&out);
    else
        st = mhv_out_commit(&out, err);
    free(global);
    return st;
}

/* "[max of 4-token blocks, tokens 0-511, labels every 16] " + text into *buf (caller frees)
 * when the side is pooled (b > 1), as the figures of other models say it; its tokens are
 * first..first+n-1. */
static mhv_status pool_note(const run_s2s_opts *o, const mhv_sentence *s, int first, int n,
                            int b, int every, mhv_sentence *out, char **buf, mhv_error *err)
{
    *out = *s;
    *buf = NULL;
    if (b == 1)
        return MHV_OK;
    size_t cap = s->len + 128;
    if (!(*buf = malloc(cap)))
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    int k = snprintf(*buf, cap, "[%s of %d-token blocks, tokens %d-%d, labels every %d] ",
                     o->pool == MHV_POOL_MAX ? "max" : "mean", b, first, first + n - 1,
                     every * b);
    memcpy(*buf + k, s->text, s->len);
    (*buf)[(size_t)k + s->len] = '\0';
    out->text = *buf, out->len = (size_t)k + s->len;
    return MHV_OK;
}

/* Pooled labels of audio positions ("100") as their times ("2.00s"). */
static mhv_status time_labels(mhv_encoding *e, double seconds, mhv_error *err)
{
    for (int i = 0; i < e->n; i++) {
        if (!e->pieces[i][0])
            continue;
        char buf[32], *p;
        snprintf(buf, sizeof buf, "%.2fs", atoi(e->pieces[i]) * seconds);
        if (!(p = strdup(buf)))
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        free(e->pieces[i]);
        e->pieces[i] = p;
    }
    return MHV_OK;
}

/* The figures of line i (name: the input, for messages): with --window the source tokens
 * A..B-1 only (the encoder's maps and the cross-attention's columns; the decoder whole),
 * then pooled to --max-pixels when asked: source tokens in blocks of bs, target tokens in
 * blocks of bt (a side that fits stays whole); kept rows (--rows) stay rows. */
static mhv_status line_figs(const run_s2s_opts *o, run_figs *figs, const char *stage,
                            const char *stem, int i, const char *name, const mhv_sentence *ss,
                            const s2s_line *l, const mhv_sentence *ts, const s2s_text *tx,
                            const mhv_attn *a, int align, const mhv_s2s_rows *kept,
                            mhv_error *err)
{
    const mhv_attn *da = a;
    const mhv_encoding *se = &l->src;
    const mhv_s2s_rows *dk = kept;
    mhv_attn wa = {0}, pa = {0};
    mhv_encoding we = {0}, pe = {0}, pt = {0};
    mhv_s2s_rows wk = {0};
    mhv_status st = MHV_OK;
    int t0 = 0;
    if (o->win1) {
        int t1 = o->win1 < a->n_src ? o->win1 : a->n_src;
        t0 = o->win0;
        if (t0 >= t1)
            return mhv_fail(err, MHV_EINPUT, name, "line %d: --window %d:%d is past its %d "
                            "source tokens", ss->line, o->win0, o->win1, a->n_src);
        if ((st = mhv_zoom_window_seq2seq(a, &l->src, t0, t1, kept, &wa, &we, &wk, err)))
            return st;
        da = &wa, se = &we;
        if (kept)
            dk = &wk;
    }
    int bs = o->max_pixels ? run_fig_block(o->fig, da->n_src, o->max_pixels) : 1;
    int bt = o->max_pixels ? run_fig_block(o->fig, da->n_tgt, o->max_pixels) : 1;
    run_s2s_rows rows = {dk, &l->src, &l->tgt};
    if (bs == 1 && bt == 1) {
        st = run_figs_seq2seq(figs, stage, stem, i, ss, se, ts, &l->tgt, tx->tgt_tok, da,
                              align, dk ? &rows : NULL, err);
        goto done;
    }
    int ms = (da->n_src + bs - 1) / bs, mt = (da->n_tgt + bt - 1) / bt;
    int es = ms > 16 ? 4 : 1, et = mt > 16 ? 4 : 1;
    mhv_sentence ns, nt;
    char *sbuf = NULL, *tbuf = NULL, corner[192];
    const char *how = o->pool == MHV_POOL_MAX ? "max" : "mean";
    st = mhv_zoom_pool_seq2seq(da, bs, bt, o->pool, dk, &pa, err);
    if (!st && bs > 1)
        st = mhv_zoom_labels(da->n_src, bs, t0, es, &pe, err);
    if (!st && bs > 1 && l->audio_path)
        st = time_labels(&pe, l->audio_seconds, err);
    if (!st && bt > 1)
        st = mhv_zoom_labels(da->n_tgt, bt, 0, et, &pt, err);
    if (!st)
        st = pool_note(o, ss, t0, da->n_src, bs, es, &ns, &sbuf, err);
    if (!st)
        st = pool_note(o, ts, 0, da->n_tgt, bt, et, &nt, &tbuf, err);
    if (!st) { /* said in every figure's corner too */
        snprintf(corner, sizeof corner, "pooled: source in %d-token blocks, target in "
                 "%d-token blocks: %s%s", bs, bt, how,
                 dk ? " (kept rows stay rows)" : "");
        figs->corner = corner;
        figs->key0 = 0, figs->key_block = bt; /* a decoder row masks the blocks after it */
        st = run_figs_seq2seq(figs, stage, stem, i, &ns, bs > 1 ? &pe : se, &nt,
                              bt > 1 ? &pt : &l->tgt, tx->tgt_tok, &pa, align,
                              dk ? &rows : NULL, err);
        figs->corner = NULL;
        figs->key0 = figs->key_block = 0;
    }
    free(sbuf), free(tbuf);
done:
    mhv_encoding_free(&we), mhv_encoding_free(&pe), mhv_encoding_free(&pt);
    mhv_attn_free(&wa), mhv_attn_free(&pa);
    return st;
}

/* --generate N on Whisper: generation_config.json's first tokens (s2s_audio_gen), the
 * suppressed tokens at the first generated position, the report's "generation" object. */
static mhv_status audio_generation(const run_s2s_opts *o, const mhv_model *m, s2s_gen *gen,
                                   s2s_audio_gen *ag, mhv_error *err)
{
    mhv_status st = s2s_audio_gen_open(ag, m, o->tgt_lang, err);
    if (st)
        return st;
    if (o->generate + ag->n > m->cfg.max_positions)
        return mhv_fail(err, MHV_EUSAGE, "", "--generate %d: with Whisper's %d first tokens that "
                        "is more than max_target_positions %d (transformers refuses it too)",
                        o->generate, ag->n, m->cfg.max_positions);
    gen->cfg.begin_index = ag->n;
    s2s_audio_gen_json(ag, gen, m, gen->json, sizeof gen->json);
    return MHV_OK;
}

/* Whisper's --generate N for l: its first tokens (the language detected from feats when not
 * given), then transformers' generate() under gen; the decoder's input is all of them. */
static mhv_status generate_audio_target(const s2s_gen *gen, const s2s_audio_gen *ag,
                                        const mhv_model *m, const s2s_text *tx,
                                        mhv_forward_ctx *fc, const float *feats, s2s_line *l,
                                        mhv_error *err)
{
    int32_t prompt[8], *ids = NULL;
    int n = 0;
    mhv_status st = s2s_audio_gen_prompt(ag, m, fc, feats, prompt, err);
    if (!st)
        st = mhv_forward_generate_audio(fc, m, feats, prompt, ag->n, &gen->cfg, &ids, &n, err);
    if (!st)
        st = s2s_label_target(tx, ids, n, &l->tgt, err);
    free(ids);
    return st;
}

/* What a Whisper run does not do (yet), refused by name. */
static mhv_status audio_refusals(const run_s2s_opts *o, const mhv_model *m, mhv_error *err)
{
    if (!o->pairs && !o->generate)
        return mhv_fail(err, MHV_EUSAGE, "", "%s needs a transcript: give --pairs (lines "
                        "AUDIO<TAB>TRANSCRIPT) or --generate N", m->cfg.arch);
    if (o->src_lang)
        return mhv_fail(err, MHV_EUSAGE, "", "--src-lang is not for %s (its source is audio; "
                        "--tgt-lang sets the transcript's language)", m->cfg.arch);
    if (o->mode == INPUT_PRETOKENIZED)
        return mhv_fail(err, MHV_EUSAGE, "", "--pretokenized is not for %s (transcripts are "
                        "text, or decoder ids with --ids)", m->cfg.arch);
    if (o->truncate)
        return mhv_fail(err, MHV_EUSAGE, "", "--truncate is not for %s (audio is cut to the "
                        "feature extractor's window by itself)", m->cfg.arch);
    return MHV_OK;
}

mhv_status run_seq2seq(const run_s2s_opts *o, mhv_model *m, const mhv_tok *tok,
                       mhv_forward_ctx *fc, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    mhv_heads sel;
    /* Whisper: --heads alignment names generation_config.json's alignment_heads */
    char *align_spec = NULL;
    mhv_status st = MHV_OK;
    if (c->audio_positions && !c->image_enc_dec && o->heads &&
        strcmp(o->heads, "alignment") == 0 &&
        (st = s2s_audio_alignment_heads(m, &align_spec, err)))
        return st;
    st = mhv_heads_parse_seq2seq(align_spec ? align_spec : o->heads, c->num_layers,
                                 c->dec_layers, c->num_heads, &sel, err);
    free(align_spec);
    if (st) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return mhv_fail(err, st, "", "--heads: %s", msg);
    }
    if (c->image_enc_dec) { /* stacks of their own head counts: some head of one */
        int any = 0, L = c->num_layers + 2 * c->dec_layers;
        for (int l = 0; l < L; l++)
            for (int h = 0; h < (l < c->num_layers ? c->ved_enc_heads : c->ved_dec_heads); h++)
                any |= mhv_heads_has(&sel, l, h);
        if (!any) {
            mhv_heads_free(&sel);
            return mhv_fail(err, MHV_EUSAGE, "", "--heads selects no head of %s (the "
                            "encoder's are 0-%d, the decoder's and cross-attention's 0-%d)",
                            c->arch, c->ved_enc_heads - 1, c->ved_dec_heads - 1);
        }
    }
    if (o->align_layer >= c->dec_layers) {
        mhv_heads_free(&sel);
        return mhv_fail(err, MHV_EUSAGE, "", "--align-layer %d: the model has decoder layers 0-%d",
                        o->align_layer, c->dec_layers - 1);
    }
    s2s_text tx;
    s2s_audio au = {0};
    /* Whisper: WAV files in, --tgt-lang its own; TrOCR: images in */
    int image = c->image_enc_dec, audio = c->audio_positions > 0 && !image;
    if ((audio && (st = audio_refusals(o, m, err))) ||
        (image && (st = image_refusals(o, m, err)))) {
        mhv_heads_free(&sel);
        return st;
    }
    if ((st = s2s_text_open(&tx, m, tok, audio ? NULL : o->src_lang,
                            audio ? NULL : o->tgt_lang, err)) ||
        (audio && (st = s2s_audio_open(&au, m, tok, o->tgt_lang, err)))) {
        if (audio)
            s2s_text_close(&tx);
        mhv_heads_free(&sel);
        return st;
    }
    s2s_gen gen = {0};
    s2s_audio_gen ag = {0};
    if (!o->pairs && (st = s2s_gen_open(&gen, &tx, m, o->generate, o->greedy, err))) {
        s2s_text_close(&tx);
        mhv_heads_free(&sel);
        return st;
    }
    /* Whisper's generate: its own first tokens, begin_suppress_tokens after them */
    if (audio && !o->pairs && (st = audio_generation(o, m, &gen, &ag, err))) {
        s2s_gen_close(&gen);
        s2s_audio_gen_close(&ag);
        s2s_text_close(&tx);
        mhv_heads_free(&sel);
        return st;
    }
    /* the start token and N new ones: refused before any generation, not after it */
    if (!st && !audio && !o->pairs && (long)o->generate + 1 > m->cfg.max_positions)
        st = mhv_fail(err, MHV_EUSAGE, "", "--generate %d: the decoder's start token and %d new "
                      "ones could pass the model's %d positions", o->generate, o->generate,
                      m->cfg.max_positions);
    if (st) {
        s2s_gen_close(&gen);
        s2s_text_close(&tx);
        mhv_heads_free(&sel);
        return st;
    }
    if (gen.overridden[0])
        cli_say("note: --greedy: greedy search instead of %s's %s", gen.file, gen.overridden);
    mhv_input in;
    if ((st = audio ? s2s_audio_input(o->file, &in, err)
              : image ? s2s_image_input(o->file, &in, err)
                      : mhv_input_read(o->file, &in, err))) {
        s2s_gen_close(&gen);
        s2s_audio_gen_close(&ag);
        s2s_text_close(&tx);
        mhv_heads_free(&sel);
        return st;
    }
    /* every line encoded, and its memory checked, before anything runs */
    s2s_line *lines = calloc((size_t)in.n + 1, sizeof *lines);
    if (!lines)
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    uint64_t limit = o->max_memory_set ? o->max_memory : cli_available_memory();
    for (int i = 0; !st && i < in.n; i++)
        if ((st = encode_line(o, m, &tx, &au, in.name, &in.s[i], &lines[i], err)) &&
            err->file[0] == '\0')
            cli_fail_line(err, st, &in, i);
    for (int i = 0; !st && i < in.n; i++) {
        lines[i].gen_prompt = ag.n;
        st = check_memory(o, fc, m, &sel, &in, i, &lines[i], limit, err);
    }
    if (st) {
        free_lines(lines, in.n);
        mhv_input_free(&in);
        s2s_gen_close(&gen);
        s2s_audio_gen_close(&ag);
        s2s_text_close(&tx);
        mhv_heads_free(&sel);
        return st;
    }
    char stem[256], path[4096];
    mhv_input_stem(o->file, stem, sizeof stem);
    cli_outdir od;
    if ((st = cli_outdir_begin(&od, o->out, err))) {
        free_lines(lines, in.n);
        mhv_input_free(&in);
        mhv_heads_free(&sel);
        s2s_gen_close(&gen);
        s2s_audio_gen_close(&ag);
        s2s_text_close(&tx);
        return st;
    }
    mhv_out out = {0};
    run_figs figs;
    /* Whisper's source tokens are audio positions named by time: no tokenizer labels them */
    const mhv_tok *src_tok = audio || image ? NULL : tok;
    if ((st = run_figs_begin(&figs, o->fig, m, src_tok, err)) ||
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
        mhv_report_begin_gen(out.f, &info, mhv_weighting_name(o->weighting),
                             o->pairs ? NULL : gen.json);
    }
    for (int i = 0; i < in.n; i++) {
        cli_progress("run", i + 1, in.n, 0);
        s2s_line *l = &lines[i];
        mhv_attn attn = {0}, mean = {0};
        float *feats = NULL; /* Whisper: the encoder's log-mel features */
        int *gpos = NULL, ngpos = 0; /* --global: the source's global tokens (LED) */
        st = l->audio_path   ? s2s_audio_features(&au, l->audio_path, &feats, err)
             : l->image_path ? s2s_image_pixels(m, l->image_path, &feats, err)
             : o->global     ? run_global_set(o->global, m, fc, l->src_text, l->src_len, &l->src,
                                              &gpos, &ngpos, err)
                             : MHV_OK;
        if (!st && !o->pairs)
            st = l->image_path ? generate_image_target(&gen, m, &tx, fc, feats, l, err)
                 : feats       ? generate_audio_target(&gen, &ag, m, &tx, fc, feats, l, err)
                               : generate_target(&gen, m, &tx, fc, l, err);
        if (!st && feats)
            st = mhv_forward_run_seq2seq_audio(fc, m, feats, l->tgt.ids, l->tgt.n, &sel, &attn,
                                               err);
        else if (!st)
            st = mhv_forward_run_seq2seq(fc, m, l->src.ids, l->src.n, l->tgt.ids, l->tgt.n,
                                         &sel, &attn, err);
        free(feats);
        if (!st)
            st = check_finite(&attn, err);
        /* --rows: the encoder's source rows, the decoder's and cross-attention's target rows */
        int *srows = NULL, *trows = NULL;
        mhv_s2s_rows kept = {0};
        if (!st && o->rows) {
            st = mhv_rows_resolve(o->rows, l->src_text, l->src_len, &l->src, &srows,
                                  &kept.n_src, err);
            if (!st)
                st = mhv_rows_resolve(o->rows, l->tgt_text ? l->tgt_text : "",
                                      l->tgt_text ? l->tgt_len : 0, &l->tgt, &trows,
                                      &kept.n_tgt, err);
            kept.src = srows, kept.tgt = trows;
            mhv_attn cut;
            if (!st && !(st = mhv_attn_keep_rows_seq2seq(&attn, &kept, &cut, err))) {
                mhv_attn_free(&attn);
                attn = cut;
            }
        }
        const mhv_s2s_rows *kr = o->rows ? &kept : NULL;
        float *norms = NULL; /* --weighting's products, for the JSON */
        if (!st)
            st = mhv_weighting_apply(&attn, o->weighting,
                                     o->fig->json && !o->aggregate ? &norms : NULL, err);
        if (!st && o->aggregate) /* the per-layer means take the heads' place, except in
                                  * the page, which shows both */
            st = stack_means(&attn, &mean, err);
        const mhv_attn *shown = o->aggregate ? &mean : &attn;
        char *audio_json = NULL; /* Whisper: the WAV and its positions' times */
        if (!st && o->fig->json && l->audio_path &&
            !(audio_json = s2s_audio_json(&au, l->audio_path, l->audio_samples,
                                          l->audio_used)))
            st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        if (!st && o->fig->json && l->image_path &&
            !(audio_json = s2s_image_json(m, l->image_path)))
            st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        if (!st && o->fig->json && o->global && /* (a text source: no audio_json) */
            !(audio_json = run_global_json(gpos, ngpos)))
            st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        if (!st && o->fig->json)
            mhv_report_sentence_seq2seq_extra(out.f, i, l->src_text, l->src_len, &l->src,
                                              l->tgt_text, l->tgt_len, &l->tgt, src_tok,
                                              tx.tgt_tok, shown, norms, kr, o->aggregate,
                                              audio_json);
        free(audio_json);
        if (!st) {
            mhv_sentence ss = {l->src_text, l->src_len, in.s[i].line};
            mhv_sentence ts = {l->tgt_text ? l->tgt_text : "", l->tgt_text ? l->tgt_len : 0,
                               in.s[i].line};
            /* Whisper's figures: the positions of the real audio unless --window says */
            run_s2s_opts lo = *o;
            char note[256];
            if (o->global) /* said in the figures' corner (unless pooled) */
                run_global_note(gpos, ngpos, note, sizeof note), figs.corner = note;
            if (l->audio_path && !o->win1) {
                lo.win0 = 0, lo.win1 = l->audio_used;
                if (l->audio_used < l->src.n) { /* said in the corner unless pooled */
                    snprintf(note, sizeof note, "audio positions 0-%d of %d: the rest is the "
                             "window's padding (--window A:B draws it)", l->audio_used - 1,
                             l->src.n);
                    figs.corner = note;
                }
            }
            st = line_figs(&lo, &figs, od.stage, stem, i, in.name, &ss, l, &ts, &tx, shown,
                           o->align_layer >= 0 ? o->align_layer : c->dec_layers - 1, kr, err);
            figs.corner = NULL;
            if (!st && o->safetensors)
                st = write_safetensors(o, m, &tx, od.stage, stem, i, l, shown, kr, gpos, ngpos,
                                       err);
            if (!st)
                st = run_figs_html_seq2seq(&figs, &ss, &l->src, &ts, &l->tgt, tx.tgt_tok, &attn,
                                           o->aggregate ? &mean : NULL, err);
        }
        free(norms);
        free(srows), free(trows);
        free(gpos);
        mhv_attn_free(&mean);
        mhv_attn_free(&attn);
        line_free(l);
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
    free_lines(lines, in.n);
    mhv_input_free(&in);
    s2s_gen_close(&gen);
    s2s_audio_gen_close(&ag);
    s2s_text_close(&tx);
    mhv_heads_free(&sel);
    return st;
fail_out:
    cli_progress("run", in.n, in.n, 1);
    mhv_out_abort(&out);
fail_figs:
    run_figs_end(&figs, 0);
    cli_outdir_abort(&od, err);
    free_lines(lines, in.n);
    mhv_input_free(&in);
    s2s_gen_close(&gen);
    s2s_audio_gen_close(&ag);
    s2s_text_close(&tx);
    mhv_heads_free(&sel);
    return st;
}
