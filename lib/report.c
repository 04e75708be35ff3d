#include "report.h"

#include <string.h>

#include "jsonw.h"

#ifndef MHV_VERSION
#define MHV_VERSION "0.0.0"
#endif

static const char *arch_name(mhv_arch a)
{
    switch (a) {
    case MHV_ARCH_BERT: return "bert";
    }
    return "?";
}

void mhv_report_begin(FILE *f, const mhv_model *m)
{
    const mhv_config *c = &m->cfg;
    fputs("{\"mhaviz_version\": \"" MHV_VERSION "\",\n \"model\": {\"path\": ", f);
    mhv_jsonw_str(f, m->dir, strlen(m->dir));
    fprintf(f,
            ", \"architecture\": \"%s\", \"num_layers\": %d, \"num_heads\": %d, "
            "\"hidden_size\": %d, \"dtype\": \"%s\", \"causal\": %s},\n \"sentences\": [",
            arch_name(c->arch), c->num_layers, c->num_heads, c->hidden_size,
            mhv_dtype_name(m->dtype), c->causal ? "true" : "false");
}

void mhv_report_sentence(FILE *f, int index, const char *text, size_t len,
                         const mhv_encoding *enc, const mhv_attn *attn)
{
    fputs(index ? ",\n  {\"text\": " : "\n  {\"text\": ", f);
    mhv_jsonw_str(f, text, len);
    fputs(",\n   \"tokens\": [", f);
    for (int i = 0; i < enc->n; i++) {
        if (i)
            fputs(", ", f);
        mhv_jsonw_str(f, enc->pieces[i], strlen(enc->pieces[i]));
    }
    fputs("],\n   \"token_ids\": [", f);
    for (int i = 0; i < enc->n; i++)
        fprintf(f, "%s%d", i ? ", " : "", (int)enc->ids[i]);
    fputs("],\n   \"spans\": [", f);
    for (int i = 0; i < enc->n; i++) {
        const int32_t *sp = enc->spans + 2 * i;
        if (sp[0] < 0)
            fprintf(f, "%snull", i ? ", " : "");
        else
            fprintf(f, "%s[%d, %d]", i ? ", " : "", (int)sp[0], (int)sp[1]);
    }
    fputs("],\n   \"attentions\": [", f);
    size_t n = (size_t)attn->n;
    for (int k = 0; k < attn->count; k++) {
        const mhv_head_attn *h = &attn->heads[k];
        fprintf(f, "%s\n    {\"layer\": %d, \"head\": %d, \"weights\": [", k ? "," : "", h->layer,
                h->head);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? ",\n      " : "\n      ", f);
            mhv_jsonw_floats(f, h->w + i * n, n);
        }
        fputs("]}", f);
    }
    fputs("]}", f);
}

void mhv_report_end(FILE *f)
{
    fputs("\n ]}\n", f);
}
