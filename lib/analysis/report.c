#include "analysis/report.h"

#include <string.h>

#include "base/jsonw.h"

#ifndef MHV_VERSION
#define MHV_VERSION "0.0.0"
#endif

void mhv_report_model(FILE *f, const mhv_model_info *m)
{
    fputs("{\"path\": ", f);
    mhv_jsonw_str(f, m->path, strlen(m->path));
    fprintf(f,
            ", \"architecture\": \"%s\", \"num_layers\": %d, \"num_heads\": %d, "
            "\"hidden_size\": %d, \"dtype\": \"%s\", \"causal\": %s",
            m->architecture, m->num_layers, m->num_heads, m->hidden_size, m->dtype,
            m->causal ? "true" : "false");
    /* llama-family models name their key/value heads (GQA: fewer than query heads) */
    if (m->num_kv_heads > 0)
        fprintf(f, ", \"num_key_value_heads\": %d", m->num_kv_heads);
    /* encoder-decoder models: the stacks of their attention entries */
    if (m->num_decoder_layers > 0)
        fprintf(f, ", \"encoder_decoder\": true, \"num_decoder_layers\": %d",
                m->num_decoder_layers);
    fputs("}", f);
}

void mhv_report_begin(FILE *f, const mhv_model_info *m)
{
    mhv_report_begin_weighted(f, m, NULL);
}

void mhv_report_begin_weighted(FILE *f, const mhv_model_info *m, const char *weighting)
{
    mhv_report_begin_gen(f, m, weighting, NULL);
}

void mhv_report_begin_gen(FILE *f, const mhv_model_info *m, const char *weighting,
                          const char *generation)
{
    fputs("{\"mhaviz_version\": \"" MHV_VERSION "\",\n \"model\": ", f);
    mhv_report_model(f, m);
    if (weighting && strcmp(weighting, "attn") != 0)
        fprintf(f, ",\n \"weighting\": \"%s\"", weighting);
    if (generation)
        fprintf(f, ",\n \"generation\": %s", generation);
    fputs(",\n \"sentences\": [", f);
}

static void tokens_json(FILE *f, const char *prefix, const mhv_encoding *enc,
                        const mhv_tok *tok);

void mhv_report_sentence(FILE *f, int index, const char *text, size_t len,
                         const mhv_encoding *enc, const mhv_tok *tok, const mhv_attn *attn)
{
    mhv_report_sentence_agg(f, index, text, len, enc, tok, attn, NULL);
}

void mhv_report_sentence_agg(FILE *f, int index, const char *text, size_t len,
                             const mhv_encoding *enc, const mhv_tok *tok,
                             const mhv_attn *attn, const char *aggregate)
{
    mhv_report_sentence_norms(f, index, text, len, enc, tok, attn, NULL, aggregate);
}

static void sentence_json(FILE *f, int index, const char *text, size_t len,
                          const mhv_encoding *enc, const mhv_tok *tok, const mhv_attn *attn,
                          const float *norms, const char *aggregate,
                          const mhv_report_image *img, const mhv_report_audio *au,
                          int keep_open);

void mhv_report_sentence_norms(FILE *f, int index, const char *text, size_t len,
                               const mhv_encoding *enc, const mhv_tok *tok,
                               const mhv_attn *attn, const float *norms,
                               const char *aggregate)
{
    sentence_json(f, index, text, len, enc, tok, attn, norms, aggregate, NULL, NULL, 0);
}

void mhv_report_sentence_open(FILE *f, int index, const char *text, size_t len,
                              const mhv_encoding *enc, const mhv_tok *tok,
                              const mhv_attn *attn, const float *norms, const char *aggregate)
{
    sentence_json(f, index, text, len, enc, tok, attn, norms, aggregate, NULL, NULL, 1);
}

void mhv_report_contacts(FILE *f, const float *p, int L)
{
    fputs(",\n   \"contacts\": [", f);
    for (int i = 0; i < L; i++) {
        fputs(i ? ",\n      " : "\n      ", f);
        mhv_jsonw_floats(f, p + (size_t)i * (size_t)L, (size_t)L);
    }
    fputs("]", f);
}

void mhv_report_sentence_close(FILE *f)
{
    fputs("}", f);
}

void mhv_report_sentence_image(FILE *f, int index, const char *text, size_t len,
                               const mhv_encoding *enc, const mhv_tok *tok,
                               const mhv_attn *attn, const float *norms,
                               const mhv_report_image *img)
{
    sentence_json(f, index, text, len, enc, tok, attn, norms, NULL, img, NULL, 0);
}

void mhv_report_sentence_audio(FILE *f, int index, const char *text, size_t len,
                               const mhv_encoding *enc, const mhv_tok *tok,
                               const mhv_attn *attn, const float *norms,
                               const mhv_report_audio *au)
{
    sentence_json(f, index, text, len, enc, tok, attn, norms, NULL, NULL, au, 0);
}

static void sentence_json(FILE *f, int index, const char *text, size_t len,
                          const mhv_encoding *enc, const mhv_tok *tok, const mhv_attn *attn,
                          const float *norms, const char *aggregate,
                          const mhv_report_image *img, const mhv_report_audio *au,
                          int keep_open)
{
    fputs(index ? ",\n  {\"text\": " : "\n  {\"text\": ", f);
    mhv_jsonw_str(f, text, len);
    tokens_json(f, "", enc, tok);
    if (img) {
        fputs(",\n   \"image\": {\"path\": ", f);
        mhv_jsonw_str(f, img->path, strlen(img->path));
        fprintf(f, ", \"width\": %d, \"height\": %d, \"grid\": [%d, %d], \"first_token\": %d, "
                "\"tokens\": %d,\n    \"patches\": [", img->width, img->height, img->rows,
                img->cols, img->first, img->count);
        for (int k = 0; k < img->count; k++) {
            int p = k + img->patch0;
            if (p < 0)
                fprintf(f, "%snull", k ? ", " : "");
            else
                fprintf(f, "%s[%d, %d]", k ? ", " : "", p / img->cols, p % img->cols);
        }
        fputs("]}", f);
    }
    if (au && au->grid_rows) { /* AST's patch grid */
        fputs(",\n   \"audio\": {\"path\": ", f);
        mhv_jsonw_str(f, au->path, strlen(au->path));
        fprintf(f, ", \"sampling_rate\": %d, \"samples\": %ld, \"seconds\": %.6g, "
                "\"fbank_frames\": %d, \"max_length\": %d,\n    \"grid\": [%d, %d], "
                "\"first_patch\": 2, \"patch_seconds\": %.6g, \"patch_hz\": [",
                au->sampling_rate, au->samples, (double)au->samples / au->sampling_rate,
                au->fbank_frames, au->max_length, au->grid_rows, au->grid_cols,
                au->col_seconds);
        for (int i = 0; i < au->grid_rows; i++)
            fprintf(f, "%s%.6g", i ? ", " : "", au->row_hz[i]);
        fputs("]}", f);
    } else if (au) {
        fputs(",\n   \"audio\": {\"path\": ", f);
        mhv_jsonw_str(f, au->path, strlen(au->path));
        fprintf(f, ", \"sampling_rate\": %d, \"samples\": %ld, \"seconds\": %.6g, "
                "\"frame_seconds\": %.6g, \"frames\": %d,\n    \"frame_times\": [",
                au->sampling_rate, au->samples, (double)au->samples / au->sampling_rate,
                au->frame_seconds, enc->n);
        for (int i = 0; i < enc->n; i++)
            fprintf(f, "%s%.6g", i ? ", " : "", i * au->frame_seconds);
        fputs("]}", f);
    }
    if (enc->type_ids) { /* a sentence pair (--pairs) */
        fputs(",\n   \"token_type_ids\": [", f);
        for (int i = 0; i < enc->n; i++)
            fprintf(f, "%s%d", i ? ", " : "", (int)enc->type_ids[i]);
        fprintf(f, "],\n   \"pair_boundary\": %d", enc->boundary);
    }
    if (enc->generated > 0) { /* a prompt and its continuation (run --generate) */
        fprintf(f, ",\n   \"prompt_length\": %d,\n   \"generated\": [", enc->generated);
        for (int i = 0; i < enc->n; i++)
            fprintf(f, "%s%s", i ? ", " : "", i >= enc->generated ? "true" : "false");
        fputs("]", f);
    }
    if (attn->row_ids) { /* --rows: weights[r] is query rows[r] */
        fputs(",\n   \"rows\": [", f);
        for (int r = 0; r < attn->rows; r++)
            fprintf(f, "%s%d", r ? ", " : "", attn->row_ids[r]);
        fputs("]", f);
    }
    fputs(",\n   \"attentions\": [", f);
    size_t n = (size_t)attn->n, rows = (size_t)mhv_attn_nrows(attn);
    for (int k = 0; k < attn->count; k++) {
        const mhv_head_attn *h = &attn->heads[k];
        if (aggregate)
            fprintf(f, "%s\n    {\"layer\": %d, \"aggregate\": \"%s\", ", k ? "," : "",
                    h->layer, aggregate);
        else
            fprintf(f, "%s\n    {\"layer\": %d, \"head\": %d, ", k ? "," : "", h->layer,
                    h->head);
        if (attn->kv_group > 0 && !aggregate)
            fprintf(f, "\"kv_head\": %d, ", h->head / attn->kv_group);
        fputs("\"weights\": [", f);
        for (size_t i = 0; i < rows; i++) {
            fputs(i ? ",\n      " : "\n      ", f);
            mhv_jsonw_floats(f, h->w + i * n, n);
        }
        if (norms && attn->vnorm) { /* the products before normalising (weighting.h) */
            fputs("],\n     \"value_norms\": ", f);
            mhv_jsonw_floats(f, attn->vnorm + (size_t)k * n, n);
            fputs(",\n     \"norms\": [", f);
            for (size_t i = 0; i < rows; i++) {
                fputs(i ? ",\n      " : "\n      ", f);
                mhv_jsonw_floats(f, norms + ((size_t)k * rows + i) * n, n);
            }
        }
        fputs("]}", f);
    }
    fputs(keep_open ? "]" : "]}", f); /* keep_open: the caller adds members, then closes it */
}

/* "tokens", "token_texts", "token_ids", "spans" of enc, keys prefixed with prefix. */
static void tokens_json(FILE *f, const char *prefix, const mhv_encoding *enc,
                        const mhv_tok *tok)
{
    fprintf(f, ",\n   \"%stokens\": [", prefix);
    for (int i = 0; i < enc->n; i++) {
        if (i)
            fputs(", ", f);
        mhv_jsonw_str(f, enc->pieces[i], strlen(enc->pieces[i]));
    }
    fprintf(f, "],\n   \"%stoken_texts\": [", prefix);
    for (int i = 0; i < enc->n; i++) {
        /* what the token stands for in the text: byte-level pieces decoded, split
         * characters as "<E8 8B>"; without a tokenizer (--ids) the piece itself */
        char buf[512];
        if (tok)
            mhv_tok_token_text(tok, enc->ids[i], buf, sizeof buf);
        else
            snprintf(buf, sizeof buf, "%s", enc->pieces[i]);
        fputs(i ? ", " : "", f);
        mhv_jsonw_str(f, buf, strlen(buf));
    }
    fprintf(f, "],\n   \"%stoken_ids\": [", prefix);
    for (int i = 0; i < enc->n; i++)
        fprintf(f, "%s%d", i ? ", " : "", (int)enc->ids[i]);
    fprintf(f, "],\n   \"%sspans\": [", prefix);
    for (int i = 0; i < enc->n; i++) {
        const int32_t *sp = enc->spans + 2 * i;
        if (sp[0] < 0)
            fprintf(f, "%snull", i ? ", " : "");
        else
            fprintf(f, "%s[%d, %d]", i ? ", " : "", (int)sp[0], (int)sp[1]);
    }
    fputs("]", f);
}

/* ,"key": [r0, r1 ...] */
static void row_list(FILE *f, const char *key, const int *r, int n)
{
    fprintf(f, ",\n   \"%s\": [", key);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%d", i ? ", " : "", r[i]);
    fputs("]", f);
}

void mhv_report_sentence_seq2seq(FILE *f, int index, const char *text, size_t len,
                                 const mhv_encoding *src, const char *target, size_t tlen,
                                 const mhv_encoding *tgt, const mhv_tok *tok,
                                 const mhv_tok *tgt_tok, const mhv_attn *attn,
                                 const float *norms, const mhv_s2s_rows *rows,
                                 const char *aggregate)
{
    mhv_report_sentence_seq2seq_extra(f, index, text, len, src, target, tlen, tgt, tok, tgt_tok,
                                      attn, norms, rows, aggregate, NULL);
}

void mhv_report_sentence_seq2seq_extra(FILE *f, int index, const char *text, size_t len,
                                       const mhv_encoding *src, const char *target,
                                       size_t tlen, const mhv_encoding *tgt,
                                       const mhv_tok *tok, const mhv_tok *tgt_tok,
                                       const mhv_attn *attn, const float *norms,
                                       const mhv_s2s_rows *rows, const char *aggregate,
                                       const char *extra)
{
    fputs(index ? ",\n  {\"text\": " : "\n  {\"text\": ", f);
    mhv_jsonw_str(f, text, len);
    tokens_json(f, "", src, tok);
    if (rows && rows->src)
        row_list(f, "rows", rows->src, rows->n_src);
    fputs(",\n   \"target_text\": ", f);
    if (target)
        mhv_jsonw_str(f, target, tlen);
    else
        fputs("null", f);
    tokens_json(f, "target_", tgt, tgt_tok);
    if (rows && rows->tgt)
        row_list(f, "target_rows", rows->tgt, rows->n_tgt);
    fputs(",\n   \"attentions\": [", f);
    size_t at = 0, vat = 0; /* head k's first product and first value norm */
    for (int k = 0; k < attn->count; k++) {
        const mhv_head_attn *h = &attn->heads[k];
        fprintf(f, "%s\n    {\"stack\": \"%s\", \"layer\": %d, ", k ? "," : "",
                mhv_stack_name(h->stack), h->layer);
        if (aggregate) /* a per-layer view (head -1) */
            fprintf(f, "\"aggregate\": \"%s\", \"weights\": [", aggregate);
        else
            fprintf(f, "\"head\": %d, \"weights\": [", h->head);
        for (int i = 0; i < h->rows; i++) {
            fputs(i ? ",\n      " : "\n      ", f);
            mhv_jsonw_floats(f, h->w + (size_t)i * (size_t)h->cols, (size_t)h->cols);
        }
        if (norms && attn->vnorm) { /* the products before normalising (weighting.h) */
            fputs("],\n     \"value_norms\": ", f);
            mhv_jsonw_floats(f, attn->vnorm + vat, (size_t)h->cols);
            fputs(",\n     \"norms\": [", f);
            for (int i = 0; i < h->rows; i++) {
                fputs(i ? ",\n      " : "\n      ", f);
                mhv_jsonw_floats(f, norms + at + (size_t)i * (size_t)h->cols, (size_t)h->cols);
            }
        }
        at += (size_t)h->rows * (size_t)h->cols;
        vat += (size_t)h->cols;
        fputs("]}", f);
    }
    fputs("]", f);
    if (extra)
        fputs(extra, f);
    fputs("}", f);
}

void mhv_report_end(FILE *f)
{
    fputs("\n ]}\n", f);
}
