/* rank_seq2seq.c - `mhaviz rank --stack` on encoder-decoder models. */
#include "rank_seq2seq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonw.h"
#include "s2s_text.h"

static const char *const stack_word[] = {"self", "encoder", "decoder", "cross"};

mhv_status rank_seq2seq(const rank_s2s_opts *o, const mhv_model *m, const mhv_tok *tok,
                        mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    int Le = c->num_layers, Ld = c->dec_layers, H = c->num_heads;
    int L = o->stack == MHV_STACK_ENCODER ? Le : Ld;
    int first = o->stack == MHV_STACK_ENCODER ? 0 : o->stack == MHV_STACK_DECODER ? Le : Le + Ld;
    mhv_heads sel;
    mhv_status st = mhv_heads_parse_seq2seq(o->heads, Le, Ld, H, &sel, err);
    if (st) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return mhv_fail(err, st, "", "--heads: %s", msg);
    }
    /* only the heads of the stack ranked */
    for (int l = 0; l < Le + 2 * Ld; l++)
        if (l < first || l >= first + L)
            memset(sel.sel + (size_t)l * (size_t)H, 0, (size_t)H);
    mhv_input in = {0};
    s2s_text tx = {0};
    mhv_rank_acc acc = {0};
    mhv_rank_entry *ranked = calloc((size_t)L * (size_t)H + 1, sizeof *ranked);
    mhv_forward_ctx *fc = NULL;
    mhv_forward_params fp = cli_forward_params(0);
    fp.value_norms = mhv_weighting_vnorm(o->weighting);
    if (!ranked) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        goto done;
    }
    if (mhv_heads_count(&sel) == 0) {
        st = mhv_fail(err, MHV_EUSAGE, "", "--heads selects no %s head", stack_word[o->stack]);
        goto done;
    }
    if ((st = s2s_text_open(&tx, m, tok, o->src_lang, o->tgt_lang, err)) ||
        (st = mhv_input_read(o->file, &in, err)) ||
        (st = mhv_rank_acc_init(&acc, L, H, err)) || (st = mhv_forward_ctx_new(&fp, &fc, err)))
        goto done;
    int used = 0, skipped = 0;
    for (int i = 0; i < in.n; i++) {
        const mhv_sentence *s = &in.s[i];
        const char *tab = memchr(s->text, '\t', s->len);
        if (!tab) {
            st = mhv_fail(err, MHV_EINPUT, in.name, "line %d: no TAB between source and target "
                          "(--pairs)", s->line);
            goto done;
        }
        mhv_sentence src = {s->text, (size_t)(tab - s->text), s->line};
        mhv_sentence tgt = {tab + 1, s->len - src.len - 1, s->line};
        mhv_encoding es, et;
        if ((st = s2s_encode_source(&tx, &src, INPUT_TEXT, &es, err))) {
            cli_fail_line(err, st, &in, i);
            goto done;
        }
        if ((st = s2s_encode_target(&tx, &tgt, INPUT_TEXT, &et, err))) {
            mhv_encoding_free(&es);
            cli_fail_line(err, st, &in, i);
            goto done;
        }
        /* --from among the queries' tokens, --to among the keys' */
        int on_src_from = o->stack == MHV_STACK_ENCODER, on_src_to = o->stack != MHV_STACK_DECODER;
        const mhv_sentence *fs = on_src_from ? &src : &tgt, *ts = on_src_to ? &src : &tgt;
        const mhv_encoding *fe = on_src_from ? &es : &et, *te = on_src_to ? &es : &et;
        int f0 = 0, f1 = 0, t0 = 0, t1 = 0;
        if (mhv_rank_find(fs->text, fs->len, fe, o->from, o->nth, o->how, &f0, &f1) < o->nth ||
            mhv_rank_find(ts->text, ts->len, te, o->to, o->to_nth, o->how, &t0, &t1) <
                o->to_nth ||
            f0 == f1 || t0 == t1) {
            skipped++;
            mhv_encoding_free(&es), mhv_encoding_free(&et);
            continue;
        }
        mhv_attn a;
        st = mhv_forward_run_seq2seq(fc, m, es.ids, es.n, et.ids, et.n, &sel, &a, err);
        mhv_encoding_free(&es), mhv_encoding_free(&et);
        if (!st && (st = mhv_weighting_apply(&a, o->weighting, NULL, err)))
            mhv_attn_free(&a);
        if (st) {
            cli_fail_line(err, st, &in, i);
            goto done;
        }
        for (int k = 0; k < a.count; k++) { /* mean over --from rows of the sum over --to */
            const mhv_head_attn *h = &a.heads[k];
            double sc = 0;
            for (int r = f0; r < f1; r++)
                for (int col = t0; col < t1; col++)
                    sc += h->w[(size_t)r * (size_t)h->cols + (size_t)col];
            acc.sum[h->layer * H + h->head] += sc / (f1 - f0);
            acc.count[h->layer * H + h->head]++;
        }
        mhv_attn_free(&a);
        used++;
    }
    if (!used) {
        st = mhv_fail(err, MHV_EINPUT, in.name, "no sentence pair has '%s' in its %s and '%s' "
                      "in its %s", o->from, o->stack == MHV_STACK_ENCODER ? "source" : "target",
                      o->to, o->stack == MHV_STACK_DECODER ? "target" : "source");
        goto done;
    }
    if (skipped)
        cli_say("%s: skipped %d of %d sentence pairs lacking '%s' or '%s'", in.name, skipped,
                in.n, o->from, o->to);
    double mean;
    int total = mhv_rank_acc_result(&acc, ranked, &mean);
    int k = o->top == 0 || o->top > total ? total : o->top;
    if (o->json) {
        fputs("{\"from\": ", stdout);
        mhv_jsonw_str(stdout, o->from, strlen(o->from));
        fputs(", \"to\": ", stdout);
        mhv_jsonw_str(stdout, o->to, strlen(o->to));
        printf(", \"stack\": \"%s\"", stack_word[o->stack]);
        if (o->weighting != MHV_WEIGHT_ATTN)
            printf(", \"weighting\": \"%s\"", mhv_weighting_name(o->weighting));
        printf(", \"sentences_used\": %d,\n \"heads\": [", used);
        for (int i = 0; i < k; i++) {
            printf("%s{\"stack\": \"%s\", \"layer\": %d, \"head\": %d, \"score\": ",
                   i ? ",\n  " : "", stack_word[o->stack], ranked[i].layer, ranked[i].head);
            mhv_jsonw_float(stdout, (float)ranked[i].score);
            fputs("}", stdout);
        }
        fputs("]}\n", stdout);
    } else {
        printf("# %s heads ranked by %s%sattention from '%s' (%s) to '%s' (%s) over %d "
               "sentence pair%s; mean of %d heads %.4f\n",
               stack_word[o->stack],
               o->weighting != MHV_WEIGHT_ATTN ? mhv_weighting_name(o->weighting) : "",
               o->weighting != MHV_WEIGHT_ATTN ? "-weighted " : "", o->from,
               o->stack == MHV_STACK_ENCODER ? "source" : "target", o->to,
               o->stack == MHV_STACK_DECODER ? "target" : "source", used, used == 1 ? "" : "s",
               total, mean);
        printf("%4s %5s %4s %8s %9s %7s\n", "rank", "layer", "head", "score", "-mean", "/mean");
        for (int i = 0; i < k; i++) {
            char ratio[32];
            if (mean > 0)
                snprintf(ratio, sizeof ratio, "%.2fx", ranked[i].score / mean);
            else
                snprintf(ratio, sizeof ratio, "-");
            printf("%4d %5d %4d %8.4f %+9.4f %7s\n", i + 1, ranked[i].layer, ranked[i].head,
                   ranked[i].score, ranked[i].score - mean, ratio);
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        st = mhv_fail(err, MHV_EIO, "<stdout>", "write error");
done:
    s2s_text_close(&tx);
    mhv_forward_ctx_free(fc);
    mhv_rank_acc_free(&acc);
    free(ranked);
    mhv_input_free(&in);
    mhv_heads_free(&sel);
    return st;
}
