/* s2s_text.c - sources and decoder inputs of encoder-decoder runs. */
#include "s2s_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/json.h"
#include "gen_settings.h"
#include "model/forward.h"

static int lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static int upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

/* Language codes: mBART's "en_XX", "ro_RO" (two or three lowercase letters, '_', two
 * uppercase), NLLB's "eng_Latn", "zho_Hant" (three lowercase, '_', a script: one uppercase,
 * three lowercase), M2M100's "__en__", "__ast__" (two or three lowercase between "__"). */
static int is_code(const char *p)
{
    size_t n = p ? strlen(p) : 0, k = 0;
    if (n >= 6 && n <= 7 && strncmp(p, "__", 2) == 0 && strcmp(p + n - 2, "__") == 0) {
        for (k = 2; k < n - 2 && lower(p[k]);)
            k++;
        return k == n - 2;
    }
    while (k < n && lower(p[k]))
        k++;
    if ((k == 2 || k == 3) && n == k + 3 && p[k] == '_' && upper(p[k + 1]) && upper(p[k + 2]))
        return 1;
    return k == 3 && n == 8 && p[3] == '_' && upper(p[4]) && lower(p[5]) && lower(p[6]) &&
           lower(p[7]);
}

static int is_code_id(const mhv_tok *tok, int32_t id)
{
    return mhv_tok_is_special(tok, id) && is_code(mhv_tok_piece(tok, id));
}

/* The id of language code `name` (an option's value, opt for messages); M2M100's codes are
 * also named as its tokenizer's src_lang / tgt_lang are, "en" for "__en__". */
static mhv_status code_id(const mhv_tok *tok, const char *opt, const char *name, int32_t *id,
                          mhv_error *err)
{
    char m2m[16];
    *id = mhv_tok_lookup(tok, name, strlen(name));
    if ((*id < 0 || !is_code_id(tok, *id)) &&
        (size_t)snprintf(m2m, sizeof m2m, "__%s__", name) < sizeof m2m)
        *id = mhv_tok_lookup(tok, m2m, strlen(m2m));
    if (*id < 0 || !is_code_id(tok, *id))
        return mhv_fail(err, MHV_EUSAGE, "", "%s '%.40s' is not a language code of the "
                        "tokenizer (such as en_XX, fra_Latn or en)", opt, name);
    return MHV_OK;
}

/* tokenizer_config.json's "tgt_lang" of dir into buf, or "" */
static void config_tgt_lang(const char *dir, char *buf, size_t size)
{
    char path[4200];
    cJSON *cfg = NULL;
    const char *v;
    buf[0] = '\0';
    if ((size_t)snprintf(path, sizeof path, "%s/tokenizer_config.json", dir) < sizeof path &&
        mhv_json_load(path, (size_t)64 << 20, &cfg, NULL) == MHV_OK &&
        mhv_json_str(cfg, "tgt_lang", "", &v, "", NULL) == MHV_OK)
        snprintf(buf, size, "%s", v);
    cJSON_Delete(cfg);
}

static mhv_status text_open(s2s_text *t, const mhv_model *m, const mhv_tok *tok,
                            const char *src_lang, const char *tgt_lang, mhv_error *err)
{
    const mhv_config *c = &m->cfg;
    memset(t, 0, sizeof *t);
    t->src_tok = tok;
    t->tgt_tok = c->separate_emb ? NULL : tok;
    t->start = c->decoder_start_id;
    t->src_code = -1;
    /* Marian: the target has its own SentencePiece model (and vocabulary when separate) */
    mhv_status st = mhv_tok_open_marian_target(m->dir, &t->own, err);
    if (st)
        return st;
    if (t->own)
        t->tgt_tok = t->own;
    t->tgt_code = -1;
    if (tok) { /* an empty text: "</s> code" (mBART's "$A </s> code"), "code </s>" (NLLB's) */
        mhv_encoding e;
        if (mhv_tok_encode(tok, "", 0, &e, NULL) == MHV_OK) {
            if (e.n >= 2 && e.ids[e.n - 2] == c->eos_id && is_code_id(tok, e.ids[e.n - 1]))
                t->lang = S2S_LANG_LAST, t->src_code = e.ids[e.n - 1];
            else if (e.n == 2 && is_code_id(tok, e.ids[0]) && e.ids[1] == c->eos_id)
                t->lang = S2S_LANG_FIRST, t->src_code = e.ids[0];
            mhv_encoding_free(&e);
        }
    }
    if (!t->lang) {
        if (src_lang || tgt_lang)
            return mhv_fail(err, MHV_EUSAGE, "", "%s is for models whose tokenizer marks sources "
                            "with a language code (mBART, NLLB, M2M100); %s's has none",
                            src_lang ? "--src-lang" : "--tgt-lang", c->arch);
        return MHV_OK;
    }
    if (src_lang && (st = code_id(tok, "--src-lang", src_lang, &t->src_code, err)))
        return st;
    /* mBART's decoder starts with the target's code; NLLB's with decoder_start_token_id,
     * the code forced after it */
    int32_t *code = t->lang == S2S_LANG_LAST ? &t->start : &t->tgt_code;
    char dflt[64];
    config_tgt_lang(m->dir, dflt, sizeof dflt);
    if (tgt_lang)
        return code_id(tok, "--tgt-lang", tgt_lang, code, err);
    if (dflt[0])
        return code_id(tok, "tokenizer_config.json's tgt_lang", dflt, code, err);
    if (t->lang == S2S_LANG_LAST && is_code_id(tok, c->decoder_start_id))
        return MHV_OK;
    return mhv_fail(err, MHV_EUSAGE, "", "%s's tokenizer has language codes (mBART, NLLB, "
                    "M2M100): give the target's with --tgt-lang (such as ro_RO, fra_Latn or fr)",
                    c->arch);
}

mhv_status s2s_text_open(s2s_text *t, const mhv_model *m, const mhv_tok *tok,
                         const char *src_lang, const char *tgt_lang, mhv_error *err)
{
    mhv_status st = text_open(t, m, tok, src_lang, tgt_lang, err);
    if (st)
        s2s_text_close(t);
    return st;
}

void s2s_text_close(s2s_text *t)
{
    mhv_tok_close(t->own);
    memset(t, 0, sizeof *t);
}

/* ids(n,) as an encoding labelled by tok (NULL: by the ids). */
static mhv_status ids_encoding(const mhv_tok *tok, const int32_t *ids, int n, mhv_encoding *out,
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
    return st;
}

/* Token `at` of e becomes id (its piece too). */
static mhv_status set_token(const mhv_tok *tok, mhv_encoding *e, int at, int32_t id,
                            mhv_error *err)
{
    char *p = strdup(mhv_tok_piece(tok, id));
    if (!p)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    free(e->pieces[at]);
    e->pieces[at] = p;
    e->ids[at] = id;
    return MHV_OK;
}

mhv_status s2s_encode_source(const s2s_text *t, const mhv_sentence *s, cli_input_mode mode,
                             mhv_encoding *out, mhv_error *err)
{
    mhv_status st = cli_encode_one(t->src_tok, s, mode, out, err);
    if (st || mode != INPUT_TEXT || !t->lang)
        return st;
    /* the tokenizer's own code closes (mBART) or opens (NLLB) the text; --src-lang's takes
     * its place */
    int at = t->lang == S2S_LANG_LAST ? out->n - 1 : 0;
    if (out->n < 2 || !is_code_id(t->src_tok, out->ids[at]))
        return MHV_OK;
    if ((st = set_token(t->src_tok, out, at, t->src_code, err)))
        mhv_encoding_free(out);
    return st;
}

mhv_status s2s_encode_target(const s2s_text *t, const mhv_sentence *s, cli_input_mode mode,
                             mhv_encoding *out, mhv_error *err)
{
    if (mode == INPUT_IDS) /* the decoder's input exactly as given */
        return cli_encode_one(t->tgt_tok, s, INPUT_IDS, out, err);
    if (!t->tgt_tok)
        return mhv_fail(err, MHV_EUNSUPPORTED, "",
                        "the model's target vocabulary is not its source's "
                        "(share_encoder_decoder_embeddings false) and has no tokenizer here "
                        "(Marian's target.spm with vocab.json): give the target as ids (--ids)");
    mhv_encoding te;
    mhv_status st = cli_encode_one(t->tgt_tok, s, mode, &te, err);
    if (st)
        return st;
    int n = te.n;
    if (t->lang == S2S_LANG_LAST && mode == INPUT_TEXT && n >= 1 &&
        is_code_id(t->tgt_tok, te.ids[n - 1]))
        n--; /* TEXT </s> code: the code moves to the front (shift_tokens_right) */
    if (t->lang == S2S_LANG_FIRST && mode == INPUT_TEXT && n >= 1 &&
        is_code_id(t->tgt_tok, te.ids[0]))
        te.ids[0] = t->tgt_code; /* code TEXT </s>: the target's code (text_target) */
    int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
    if (!ids) {
        mhv_encoding_free(&te);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    ids[0] = t->start;
    memcpy(ids + 1, te.ids, (size_t)n * sizeof *ids);
    st = ids_encoding(t->tgt_tok, ids, n + 1, out, err);
    for (int i = 1; !st && i <= n; i++) { /* the target's token i - 1 */
        out->spans[2 * i] = te.spans[2 * (i - 1)];
        out->spans[2 * i + 1] = te.spans[2 * (i - 1) + 1];
    }
    free(ids);
    mhv_encoding_free(&te);
    return st;
}

mhv_status s2s_label_target(const s2s_text *t, const int32_t *ids, int n, mhv_encoding *out,
                            mhv_error *err)
{
    return ids_encoding(t->tgt_tok, ids, n, out, err);
}

mhv_status s2s_gen_open(s2s_gen *g, const s2s_text *t, const mhv_model *m, int max_new,
                        int greedy, mhv_error *err)
{
    memset(g, 0, sizeof *g);
    cli_gen_settings s;
    mhv_status st = cli_gen_settings_open(&s, m, max_new, greedy, err);
    if (st)
        return st;
    mhv_gen_config *c = &s.cfg;
    if (t->lang == S2S_LANG_LAST) /* generate(decoder_start_token_id=code) */
        c->decoder_start = t->start;
    if (t->tgt_code >= 0) /* generate(forced_bos_token_id=code) */
        c->forced_bos = t->tgt_code;
    if ((st = mhv_gen_start(c, s.path, &g->start, err))) {
        cli_gen_settings_close(&s);
        return st;
    }
    char start[64];
    snprintf(start, sizeof start, "\"decoder_start_token_id\": %d", (int)g->start);
    cli_gen_settings_json(&s, start, 1, mhv_forward_gen_positions(m), g->json, sizeof g->json);
    g->cfg = s.cfg; /* g owns the settings now */
    g->file = s.file;
    memcpy(g->overridden, s.overridden, sizeof g->overridden);
    return MHV_OK;
}

void s2s_gen_close(s2s_gen *g)
{
    mhv_gen_config_free(&g->cfg);
}

mhv_status s2s_generate(const s2s_gen *g, mhv_forward_ctx *fc, const mhv_model *m,
                        const int32_t *src, int ns, int32_t **out, int *n_out, mhv_error *err)
{
    return mhv_forward_generate_with(fc, m, src, ns, &g->start, 1, &g->cfg, out, n_out, err);
}
