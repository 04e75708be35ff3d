/* tokenizer.c - the tokenizer handle and encoding: added tokens matched in the raw text, the
 * segments between them through WordPiece (wordpiece.c) or a BPE / Unigram pipeline
 * (pipeline.c), then the post-processor's template. Added tokens are added.c; loading is
 * tok_json.c (tokenizer.json), tok_files.c (vocab.txt, vocab.json + merges.txt) and spm.c /
 * spm_classes.c (SentencePiece models); token display text is token_text.c.
 *
 * Sentence limits: mhv_tok_encode accepts any bytes without crashing, but only valid UTF-8
 * without NUL and at most MHV_TOK_MAX_INPUT bytes is encoded; anything else is MHV_EINPUT or
 * MHV_EUSAGE. tokenizer.json's "truncation" and "padding" are ignored on purpose: the caller
 * decides how long a sequence the model takes. */
#include "tok/tokenizer.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/fileio.h"
#include "base/json.h"
#include "text/unicode.h"
#include "tok/spm.h"
#include "tok/spm_bpe.h"
#include "tok/tok_impl.h"
#include "tok/vocab.h"
#include "tok/wordpiece.h"

/* ---- building a handle (shared by the loaders) ---- */

const char *tok_token_string(const cJSON *obj, const char *key, const char *dflt)
{
    const cJSON *x = mhv_json_get(obj, key);
    if (cJSON_IsObject(x))
        x = mhv_json_get(x, "content");
    return cJSON_IsString(x) ? x->valuestring : dflt;
}

void tok_mark_special(mhv_tok *t, int32_t id)
{
    if (id >= 0 && id < mhv_vocab_size(t->vocab))
        t->special[id] = 1;
}

mhv_status tok_alloc_special(mhv_tok *t, const char *file, mhv_error *err)
{
    t->special = calloc((size_t)mhv_vocab_size(t->vocab), 1);
    return t->special ? MHV_OK : mhv_fail(err, MHV_ENOMEM, file, "out of memory");
}

mhv_status tok_new(mhv_tok **out, const char *file, mhv_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    (*out)->kind = MHV_TOK_WORDPIECE;
    return MHV_OK;
}

mhv_status tok_finish_wordpiece(mhv_tok *t, const char *unk, const char *prefix,
                                size_t max_chars, const char *file, mhv_error *err)
{
    int32_t unk_id = mhv_vocab_lookup(t->vocab, unk, strlen(unk));
    if (unk_id < 0)
        return mhv_fail(err, MHV_EFORMAT, file, "unknown token '%.60s' is not in the vocabulary",
                        unk);
    if (strlen(prefix) >= sizeof t->wp.prefix)
        return mhv_fail(err, MHV_EFORMAT, file, "continuing_subword_prefix is too long");
    mhv_wordpiece_init(&t->wp, t->vocab, prefix, max_chars, unk_id);
    mhv_status st = tok_alloc_special(t, file, err);
    if (!st)
        tok_mark_special(t, unk_id);
    return st;
}


mhv_status tok_template_add(mhv_tok *t, tok_template *tp, int32_t id, int seq, int type_id,
                            const char *file, mhv_error *err)
{
    if (seq < 0 && (id < 0 || id >= mhv_vocab_size(t->vocab)))
        return mhv_fail(err, MHV_EFORMAT, file, "post-processor token id %lld out of range",
                        (long long)id);
    int specials = 0;
    for (int i = 0; i < tp->n; i++)
        specials += tp->item[i].seq < 0;
    if ((seq < 0 && specials >= 2 * MHV_TOK_MAX_SPECIAL) ||
        tp->n >= (int)(sizeof tp->item / sizeof tp->item[0]))
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "post-processor adds too many tokens");
    tp->item[tp->n].id = id;
    tp->item[tp->n].seq = seq;
    tp->item[tp->n++].type_id = type_id;
    if (seq < 0)
        tok_mark_special(t, id);
    return MHV_OK;
}

mhv_status mhv_tok_open_files(const char *tokenizer_json, const char *vocab_txt,
                              const char *tokenizer_config, mhv_tok **out, mhv_error *err)
{
    *out = NULL;
    if (!tokenizer_json && !vocab_txt)
        return mhv_fail(err, MHV_EUSAGE, "", "no tokenizer.json or vocab.txt given");
    mhv_tok *t;
    mhv_status st = tok_new(&t, tokenizer_json ? tokenizer_json : vocab_txt, err);
    if (st)
        return st;
    st = tokenizer_json ? tok_load_json(t, tokenizer_json, err)
                        : tok_load_vocab_txt(t, vocab_txt, tokenizer_config, err);
    if (!st)
        st = tok_sort_added(t, tokenizer_json ? tokenizer_json : vocab_txt, err);
    if (st) {
        mhv_tok_close(t);
        return st;
    }
    *out = t;
    return MHV_OK;
}


/* mhv_tok_open_bpe_files, implied: as tok_load_bpe_files */
static mhv_status open_bpe_files(const char *vocab_json, const char *merges_txt,
                                 const char *tokenizer_config, const char *special_tokens_map,
                                 const char *implied, mhv_tok **out, mhv_error *err)
{
    *out = NULL;
    mhv_tok *t;
    mhv_status st = tok_new(&t, vocab_json, err);
    if (st)
        return st;
    if ((st = tok_load_bpe_files(t, vocab_json, merges_txt, tokenizer_config, special_tokens_map,
                                 implied, err)) ||
        (st = tok_sort_added(t, vocab_json, err))) {
        mhv_tok_close(t);
        return st;
    }
    *out = t;
    return MHV_OK;
}

mhv_status mhv_tok_open_bpe_files(const char *vocab_json, const char *merges_txt,
                                  const char *tokenizer_config, const char *special_tokens_map,
                                  mhv_tok **out, mhv_error *err)
{
    return open_bpe_files(vocab_json, merges_txt, tokenizer_config, special_tokens_map, NULL,
                          out, err);
}

/* The tokenizer class transformers picks from config.json's model_type when
 * tokenizer_config.json names none (DeBERTa-v3's has none); NULL when unknown. */
static const char *class_of_model_type(const char *config_json)
{
    static const char *const map[][2] = {
        {"deberta-v2", "DebertaV2Tokenizer"}, {"deberta", "DebertaTokenizer"},
        {"t5", "T5Tokenizer"}, {"mt5", "T5Tokenizer"},
        {"xlm-roberta", "XLMRobertaTokenizer"}, {"albert", "AlbertTokenizer"},
        {"llama", "LlamaTokenizer"}, {"m2m_100", "M2M100Tokenizer"},
        {"pegasus", "PegasusTokenizer"}, {"bigbird_pegasus", "PegasusTokenizer"},
        {"blenderbot-small", "BlenderbotSmallTokenizer"},
        {"blenderbot", "BlenderbotTokenizer"}, {"xglm", "XGLMTokenizer"},
        {"data2vec-text", "RobertaTokenizer"}, {"longformer", "RobertaTokenizer"},
        {"esm", "EsmTokenizer"}};
    cJSON *cfg;
    const char *cls = NULL, *type;
    if (!config_json || mhv_json_load(config_json, MHV_TOK_MAX_JSON, &cfg, NULL) != MHV_OK)
        return NULL;
    if (mhv_json_str(cfg, "model_type", "", &type, "", NULL) == MHV_OK)
        for (size_t i = 0; i < sizeof map / sizeof *map; i++)
            if (strcmp(type, map[i][0]) == 0)
                cls = map[i][1];
    cJSON_Delete(cfg);
    return cls;
}

/* M2M100Tokenizer: tokenizer_config.json's class, else config.json's model_type m2m_100 */
static int is_m2m100(const char *tokenizer_config, const char *config_json)
{
    cJSON *cfg = NULL;
    const char *cls = "";
    if (tokenizer_config && mhv_json_load(tokenizer_config, MHV_TOK_MAX_JSON, &cfg, NULL) == MHV_OK)
        cls = mhv_spm_class(cfg); /* NULL: a class spm_classes.c builds */
    if (cls && !cls[0])
        cls = class_of_model_type(config_json);
    int yes = cls && (strcmp(cls, "M2M100Tokenizer") == 0 ||
                      strcmp(cls, "M2M100TokenizerFast") == 0);
    cJSON_Delete(cfg);
    return yes;
}

/* EsmTokenizer: tokenizer_config.json's class, else config.json's model_type esm */
static int is_esm(const char *tokenizer_config, const char *config_json)
{
    cJSON *cfg = NULL;
    const char *cls = "";
    if (tokenizer_config && mhv_json_load(tokenizer_config, MHV_TOK_MAX_JSON, &cfg, NULL) == MHV_OK)
        mhv_json_str(cfg, "tokenizer_class", "", &cls, "", NULL);
    if (!cls[0])
        cls = class_of_model_type(config_json);
    int yes = cls && strcmp(cls, "EsmTokenizer") == 0;
    cJSON_Delete(cfg);
    return yes;
}

mhv_status mhv_tok_open_esm(const char *vocab_txt, const char *tokenizer_config,
                            const char *special_map, mhv_tok **out, mhv_error *err)
{
    *out = NULL;
    mhv_tok *t;
    mhv_status st = tok_new(&t, vocab_txt, err);
    if (st)
        return st;
    if ((st = tok_load_esm(t, vocab_txt, tokenizer_config, special_map, err)) ||
        (st = tok_sort_added(t, vocab_txt, err))) {
        mhv_tok_close(t);
        return st;
    }
    *out = t;
    return MHV_OK;
}

static mhv_status open_spm(const char *model, const char *tokenizer_config,
                           const char *config_json, mhv_tok **out, mhv_error *err)
{
    *out = NULL;
    cJSON *cfg = NULL, *doc = NULL;
    char *buf = NULL;
    size_t len;
    mhv_spm_model m = {0};
    mhv_tok *t = NULL;
    mhv_status st = MHV_OK;
    if (tokenizer_config)
        st = mhv_json_load(tokenizer_config, MHV_TOK_MAX_JSON, &cfg, err);
    else if (!(cfg = cJSON_CreateObject()))
        st = mhv_fail(err, MHV_ENOMEM, model, "out of memory");
    const char *cls = st ? NULL : class_of_model_type(config_json);
    if (cls && !mhv_json_get(cfg, "tokenizer_class") &&
        !cJSON_AddStringToObject(cfg, "tokenizer_class", cls))
        st = mhv_fail(err, MHV_ENOMEM, model, "out of memory");
    if (!st && mhv_spm_class(cfg)) /* an unknown class is refused before the model is read */
        st = mhv_spm_to_json(&m, cfg, model, &doc, err);
    if (!st)
        st = mhv_read_file(model, MHV_TOK_MAX_JSON, &buf, &len, err);
    if (!st)
        st = mhv_spm_parse((const unsigned char *)buf, len, model, &m, err);
    if (!st)
        st = mhv_spm_to_json(&m, cfg, model, &doc, err);
    if (!st)
        st = tok_new(&t, model, err);
    if (!st)
        st = tok_load_json_doc(t, doc, model, err);
    if (!st)
        st = tok_sort_added(t, model, err);
    if (st)
        mhv_tok_close(t);
    else
        *out = t;
    cJSON_Delete(doc);
    cJSON_Delete(cfg);
    mhv_spm_free(&m);
    free(buf);
    return st;
}

mhv_status mhv_tok_open_spm(const char *model, const char *tokenizer_config, mhv_tok **out,
                            mhv_error *err)
{
    return open_spm(model, tokenizer_config, NULL, out, err);
}

mhv_status mhv_tok_open_marian(const char *spm, const char *vocab_json,
                               const char *tokenizer_config, mhv_tok **out, mhv_error *err)
{
    *out = NULL;
    cJSON *cfg = NULL, *vocab = NULL, *doc = NULL;
    char *buf = NULL;
    size_t len;
    mhv_spm_model m = {0};
    mhv_tok *t = NULL;
    mhv_status st = tokenizer_config ? mhv_json_load(tokenizer_config, MHV_TOK_MAX_JSON, &cfg, err)
                                     : MHV_OK;
    if (!st && !cfg && !(cfg = cJSON_CreateObject()))
        st = mhv_fail(err, MHV_ENOMEM, spm, "out of memory");
    if (!st)
        st = mhv_json_load(vocab_json, MHV_TOK_MAX_JSON, &vocab, err);
    if (!st)
        st = mhv_read_file(spm, MHV_TOK_MAX_JSON, &buf, &len, err);
    if (!st)
        st = mhv_spm_parse((const unsigned char *)buf, len, spm, &m, err);
    if (!st)
        st = mhv_spm_marian_json(&m, vocab, cfg, vocab_json, &doc, err);
    if (!st)
        st = tok_new(&t, spm, err);
    if (!st)
        st = tok_load_json_doc(t, doc, spm, err);
    if (!st)
        st = tok_sort_added(t, spm, err);
    if (st)
        mhv_tok_close(t);
    else
        *out = t;
    cJSON_Delete(doc);
    cJSON_Delete(vocab);
    cJSON_Delete(cfg);
    mhv_spm_free(&m);
    free(buf);
    return st;
}

/* dir/name into buf; 0 when it does not fit or the file is absent */
static int dir_file(const char *dir, const char *name, char *buf, size_t size)
{
    return (size_t)snprintf(buf, size, "%s/%s", dir, name) < size && mhv_path_exists(buf);
}

mhv_status mhv_tok_open_marian_target(const char *dir, mhv_tok **out, mhv_error *err)
{
    *out = NULL;
    char spm[4096], vj[4096], tc[4096];
    int have_tc = dir_file(dir, "tokenizer_config.json", tc, sizeof tc), separate = 0;
    if (!dir_file(dir, "target.spm", spm, sizeof spm))
        return MHV_OK;
    if (have_tc) {
        cJSON *cfg;
        mhv_status st = mhv_json_load(tc, MHV_TOK_MAX_JSON, &cfg, err);
        if (!st)
            st = mhv_json_bool(cfg, "separate_vocabs", 0, &separate, tc, err);
        cJSON_Delete(cfg);
        if (st)
            return st;
    }
    if (!dir_file(dir, separate ? "target_vocab.json" : "vocab.json", vj, sizeof vj))
        return mhv_fail(err, MHV_EIO, dir, "target.spm without %s",
                        separate ? "target_vocab.json (separate_vocabs)" : "vocab.json");
    return mhv_tok_open_marian(spm, vj, have_tc ? tc : NULL, out, err);
}

/* vocab.json + merges.txt whose tokenizer_config.json names no class are read as
 * GPT2Tokenizer's, unless config.json's model_type implies another class (transformers'
 * AutoTokenizer then takes that one): BlenderbotSmallTokenizer's BPE is its own,
 * BlenderbotTokenizer's adds a prefix space, RobertaTokenizer's (data2vec-text, Longformer) adds <s> and
 * </s>. */
static mhv_status refuse_implied_bpe_class(const char *dir, const char *vj, const char *tc,
                                           mhv_error *err)
{
    char cj[4096];
    if ((size_t)snprintf(cj, sizeof cj, "%s/config.json", dir) >= sizeof cj || !mhv_path_exists(cj))
        return MHV_OK;
    const char *cls = class_of_model_type(cj);
    if (!cls || (strcmp(cls, "BlenderbotSmallTokenizer") != 0 &&
                 strcmp(cls, "BlenderbotTokenizer") != 0 && strcmp(cls, "RobertaTokenizer") != 0))
        return MHV_OK;
    cJSON *cfg = NULL;
    int named = 0;
    if (tc && mhv_json_load(tc, MHV_TOK_MAX_JSON, &cfg, NULL) == MHV_OK)
        named = mhv_json_get(cfg, "tokenizer_class") != NULL;
    cJSON_Delete(cfg);
    if (named) /* the class it names decides, as in transformers */
        return MHV_OK;
    return mhv_fail(err, MHV_EUNSUPPORTED, vj, "tokenizer_class '%s' (config.json's "
                    "model_type) without a tokenizer.json is not supported (GPT2Tokenizer, "
                    "Qwen2Tokenizer and DebertaTokenizer are)", cls);
}

/* The class of dir's tokenizer as AutoTokenizer picks it: tokenizer_config.json's
 * tokenizer_class, else the one config.json's model_type implies; into cls (empty: none) and
 * the file that says so into file. */
static void dir_class(const char *dir, char *cls, size_t cls_size, char *file, size_t file_size)
{
    static const char *const implied[][2] = {{"roformer", "RoFormerTokenizer"}};
    cJSON *cfg = NULL;
    const char *v = NULL;
    cls[0] = file[0] = '\0';
    if ((size_t)snprintf(file, file_size, "%s/tokenizer_config.json", dir) < file_size &&
        mhv_path_exists(file) && mhv_json_load(file, MHV_TOK_MAX_JSON, &cfg, NULL) == MHV_OK &&
        mhv_json_str(cfg, "tokenizer_class", "", &v, "", NULL) == MHV_OK && v[0]) {
        snprintf(cls, cls_size, "%s", v);
    } else if ((size_t)snprintf(file, file_size, "%s/config.json", dir) < file_size &&
               mhv_path_exists(file)) {
        cJSON_Delete(cfg);
        cfg = NULL;
        if (mhv_json_load(file, MHV_TOK_MAX_JSON, &cfg, NULL) == MHV_OK &&
            mhv_json_str(cfg, "model_type", "", &v, "", NULL) == MHV_OK)
            for (size_t i = 0; i < sizeof implied / sizeof *implied; i++)
                if (strcmp(v, implied[i][0]) == 0)
                    snprintf(cls, cls_size, "%s", implied[i][1]);
    }
    cJSON_Delete(cfg);
}

/* Classes whose text mhaviz cannot tokenize as transformers does although their files open:
 * RoFormerTokenizer(Fast) splits text with jieba (rjieba's dictionary) before WordPiece, and
 * saves a tokenizer.json with BertPreTokenizer in its place. Their pieces and ids are read. */
static void refuse_text_of_class(const char *dir, mhv_tok *t)
{
    char cls[128], file[4096];
    dir_class(dir, cls, sizeof cls, file, sizeof file);
    if (strcmp(cls, "RoFormerTokenizer") != 0 && strcmp(cls, "RoFormerTokenizerFast") != 0)
        return;
    int implied = strstr(file, "tokenizer_config.json") == NULL;
    snprintf(t->refuse_text, sizeof t->refuse_text, "tokenizer_class '%s'%s is not supported "
             "(its jieba pre-tokenization is in no tokenizer file): use --pretokenized or "
             "--ids", cls, implied ? " (config.json's model_type)" : "");
    snprintf(t->refuse_file, sizeof t->refuse_file, "%s", file);
}

static mhv_status open_dir_files(const char *dir, mhv_tok **out, mhv_error *err);

mhv_status mhv_tok_open_dir(const char *dir, mhv_tok **out, mhv_error *err)
{
    mhv_status st = open_dir_files(dir, out, err);
    if (!st)
        refuse_text_of_class(dir, *out);
    return st;
}

static mhv_status open_dir_files(const char *dir, mhv_tok **out, mhv_error *err)
{
    *out = NULL;
    char tj[4096], vt[4096], tc[4096];
    if ((size_t)snprintf(tj, sizeof tj, "%s/tokenizer.json", dir) >= sizeof tj ||
        (size_t)snprintf(vt, sizeof vt, "%s/vocab.txt", dir) >= sizeof vt ||
        (size_t)snprintf(tc, sizeof tc, "%s/tokenizer_config.json", dir) >= sizeof tc)
        return mhv_fail(err, MHV_EUSAGE, dir, "path too long");
    if (mhv_path_exists(tj))
        return mhv_tok_open_files(tj, NULL, NULL, out, err);
    char cfgj[4096], sm0[4096];
    if (mhv_path_exists(vt) &&
        is_esm(mhv_path_exists(tc) ? tc : NULL,
               dir_file(dir, "config.json", cfgj, sizeof cfgj) ? cfgj : NULL))
        return mhv_tok_open_esm(vt, mhv_path_exists(tc) ? tc : NULL,
                        dir_file(dir, "special_tokens_map.json", sm0, sizeof sm0) ? sm0 : NULL,
                        out, err);
    if (mhv_path_exists(vt))
        return mhv_tok_open_files(NULL, vt, mhv_path_exists(tc) ? tc : NULL, out, err);
    char vj[4096], mt[4096], sm[4096];
    if ((size_t)snprintf(vj, sizeof vj, "%s/vocab.json", dir) >= sizeof vj ||
        (size_t)snprintf(mt, sizeof mt, "%s/merges.txt", dir) >= sizeof mt ||
        (size_t)snprintf(sm, sizeof sm, "%s/special_tokens_map.json", dir) >= sizeof sm)
        return mhv_fail(err, MHV_EUSAGE, dir, "path too long");
    char ms[4096];
    if (dir_file(dir, "vocab-src.json", ms, sizeof ms)) /* FSMTTokenizer's files */
        return mhv_fail(err, MHV_EUNSUPPORTED, ms, "FSMTTokenizer (vocab-src.json, "
                        "vocab-tgt.json, merges.txt: Moses pre-tokenization and fairseq's BPE) is "
                        "not supported: give token ids (--ids)");
    if (mhv_path_exists(vj) && dir_file(dir, "source.spm", ms, sizeof ms)) /* MarianTokenizer */
        return mhv_tok_open_marian(ms, vj, mhv_path_exists(tc) ? tc : NULL, out, err);
    char mc[4096], sb[4096];
    if (mhv_path_exists(vj) && !mhv_path_exists(mt) &&
        dir_file(dir, "sentencepiece.bpe.model", sb, sizeof sb) &&
        (size_t)snprintf(mc, sizeof mc, "%s/config.json", dir) < sizeof mc &&
        is_m2m100(mhv_path_exists(tc) ? tc : NULL, mhv_path_exists(mc) ? mc : NULL))
        return mhv_tok_open_m2m100(sb, vj, mhv_path_exists(tc) ? tc : NULL,
                                   mhv_path_exists(sm) ? sm : NULL, out, err);
    if (mhv_path_exists(vj) && mhv_path_exists(mt)) {
        mhv_status st = refuse_implied_bpe_class(dir, vj, mhv_path_exists(tc) ? tc : NULL, err);
        if (st)
            return st;
        char cj[4096]; /* DeBERTa v1's files name no class: its model_type does */
        const char *implied = (size_t)snprintf(cj, sizeof cj, "%s/config.json", dir) < sizeof cj
                                  ? class_of_model_type(cj) : NULL;
        if (implied && strcmp(implied, "DebertaTokenizer") != 0)
            implied = NULL; /* the others read as before: GPT2Tokenizer's */
        return open_bpe_files(vj, mt, mhv_path_exists(tc) ? tc : NULL,
                              mhv_path_exists(sm) ? sm : NULL, implied, out, err);
    }
    /* a SentencePiece model alone (DeBERTa-v3's spm.model ...) */
    static const char *const spm[] = {"tokenizer.model", "spiece.model", "spm.model",
                                      "sentencepiece.bpe.model", "sentencepiece.model"};
    for (size_t i = 0; i < sizeof spm / sizeof *spm; i++) {
        char p[4096];
        char cj[4096];
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, spm[i]) < sizeof p &&
            (size_t)snprintf(cj, sizeof cj, "%s/config.json", dir) < sizeof cj &&
            mhv_path_exists(p))
            return open_spm(p, mhv_path_exists(tc) ? tc : NULL,
                            mhv_path_exists(cj) ? cj : NULL, out, err);
    }
    return mhv_fail(err, MHV_EIO, dir,
                    "no tokenizer.json, vocab.txt or vocab.json + merges.txt in the directory");
}

void mhv_tok_close(mhv_tok *tok)
{
    if (!tok)
        return;
    for (int i = 0; i < tok->n_added; i++)
        free(tok->added[i].content);
    free(tok->added);
    for (int i = 0; i < tok->n_nadded; i++)
        free(tok->nadded[i].content);
    free(tok->nadded);
    free(tok->special);
    mhv_pipeline_free(tok->pipe);
    mhv_spm_bpe_free(tok->spm);
    tok_esm_free(tok->esm);
    mhv_vocab_free(tok->vocab);
    free(tok);
}

mhv_tok_kind mhv_tok_kind_of(const mhv_tok *tok)
{
    return tok->kind;
}

const char *mhv_tok_model_type(const mhv_tok *tok)
{
    if (tok->esm)
        return "Esm";
    return tok->pipe ? mhv_pipeline_model(tok->pipe) : tok->spm ? "BPE" : "WordPiece";
}

int mhv_tok_vocab_size(const mhv_tok *tok)
{
    return mhv_vocab_size(tok->vocab);
}

const mhv_bert_norm *mhv_tok_bert_norm(const mhv_tok *tok)
{
    return &tok->norm;
}

const char *mhv_tok_piece(const mhv_tok *tok, int32_t id)
{
    return mhv_vocab_piece(tok->vocab, id);
}

int32_t mhv_tok_lookup(const mhv_tok *tok, const char *piece, size_t len)
{
    return mhv_vocab_lookup(tok->vocab, piece, len);
}

const char *mhv_tok_warning(const mhv_tok *tok)
{
    return tok->warning[0] ? tok->warning : NULL;
}

int mhv_tok_is_special(const mhv_tok *tok, int32_t id)
{
    return id >= 0 && id < mhv_vocab_size(tok->vocab) && tok->special[id];
}

/* ---- encoding ---- */

/* Decoded input: code points and the byte offset of each (n + 1 entries). */
typedef struct {
    uint32_t *cp;  /* (n,) */
    size_t *boff;  /* (n + 1,) */
    size_t n;
} decoded;

static mhv_status decode_input(const char *text, size_t len, decoded *d, mhv_error *err)
{
    memset(d, 0, sizeof *d);
    if (len > MHV_TOK_MAX_INPUT)
        return mhv_fail(err, MHV_EINPUT, "", "sentence longer than %u MiB",
                        MHV_TOK_MAX_INPUT >> 20);
    if (len && !text)
        return mhv_fail(err, MHV_EUSAGE, "", "no text given");
    d->cp = malloc((len + 1) * sizeof *d->cp);
    d->boff = malloc((len + 1) * sizeof *d->boff);
    if (!d->cp || !d->boff)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    size_t i = 0;
    while (i < len) {
        uint32_t c;
        int k = mhv_utf8_decode(text + i, len - i, &c);
        if (k == 0)
            return mhv_fail(err, MHV_EINPUT, "", "invalid UTF-8 at byte %zu", i);
        if (c == 0)
            return mhv_fail(err, MHV_EINPUT, "", "NUL byte at byte %zu", i);
        d->boff[d->n] = i;
        d->cp[d->n++] = c;
        i += (size_t)k;
    }
    d->boff[d->n] = len;
    return MHV_OK;
}

static void decoded_free(decoded *d)
{
    free(d->cp);
    free(d->boff);
}

/* Normalized text [a, b) to the model: pre-tokenizer and BPE / Unigram, or WordPiece. */
static mhv_status model_range(const mhv_tok *tok, const mhv_normtext *nt, size_t a, size_t b,
                              int32_t start, mhv_toklist *out, mhv_error *err)
{
    if (a >= b) /* the normalizer may leave nothing (nt->cp is then NULL) */
        return MHV_OK;
    if (tok->pipe)
        return mhv_pipeline_encode_normalized(tok->pipe, nt->cp + a, nt->orig + a, b - a, start,
                                              out, err);
    mhv_normtext part = {nt->cp + a, nt->orig + a, b - a, b - a};
    return mhv_wordpiece_encode(&tok->wp, &part, out, err);
}

mhv_status tok_normalize(const mhv_tok *tok, const uint32_t *cp, size_t n, int32_t base,
                         mhv_normtext *out, mhv_error *err)
{
    if (tok->pipe)
        return mhv_pipeline_normalize(tok->pipe, cp, n, base, out, err);
    return mhv_bert_normalize(&tok->norm, cp, n, base, out, err);
}

/* One raw segment's normalized text, split by the normalized added tokens. */
typedef struct {
    const mhv_normtext *nt;
    int32_t seg_start; /* original index of the raw segment's first character */
} norm_ctx;

/* A piece between normalized added tokens starts where HF's slice does: the segment start
 * when nothing cut the segment (Metaspace "first" looks at it), else its first character's
 * origin. */
static mhv_status norm_piece(const mhv_tok *tok, void *ctx, size_t a, size_t b, int split,
                             mhv_toklist *out, mhv_error *err)
{
    const norm_ctx *c = ctx;
    return model_range(tok, c->nt, a, b, split ? c->nt->orig[a] : c->seg_start, out, err);
}

/* UTF-8 of cp (n,) and the byte offset of each code point, for matching added tokens. */
static mhv_status utf8_view(const uint32_t *cp, const int32_t *orig, size_t n, tok_view *v,
                            unsigned char **bytes, size_t **boff, mhv_error *err)
{
    *bytes = malloc(4 * n + 1);
    *boff = malloc((n + 1) * sizeof **boff);
    if (!*bytes || !*boff)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        (*boff)[i] = len;
        len += (size_t)mhv_utf8_encode(cp[i], (char *)*bytes + len);
    }
    (*boff)[n] = len;
    *v = (tok_view){cp, *bytes, *boff, orig, n};
    return MHV_OK;
}

/* A raw segment between non-normalized added tokens: normalized, then split by the
 * normalized added tokens (matched on the normalized text, as HF does), then the model. */
static mhv_status raw_piece(const mhv_tok *tok, void *ctx, size_t a, size_t b, int split,
                            mhv_toklist *out, mhv_error *err)
{
    (void)split;
    const tok_view *raw = ctx;
    if (tok->spm) /* the Python tokenizer hands each part to SentencePiece itself */
        return tok_spm_piece(tok, raw->cp + a, b - a, (int32_t)a, out, err);
    mhv_normtext nt = {0};
    mhv_status st = tok_normalize(tok, raw->cp + a, b - a, (int32_t)a, &nt, err);
    if (!st && tok->n_nadded == 0) {
        st = model_range(tok, &nt, 0, nt.n, (int32_t)a, out, err);
    } else if (!st) {
        tok_view v;
        unsigned char *bytes = NULL;
        size_t *boff = NULL;
        norm_ctx c = {&nt, (int32_t)a};
        if (!(st = utf8_view(nt.cp, nt.orig, nt.n, &v, &bytes, &boff, err)))
            st = tok_split_added(tok, tok->nadded, tok->n_nadded, &v, norm_piece, &c, out, err);
        free(bytes);
        free(boff);
    }
    mhv_normtext_free(&nt);
    return st;
}

static mhv_status encode_text(const mhv_tok *tok, const char *text, const decoded *d,
                              mhv_toklist *out, mhv_error *err)
{
    if (tok->esm) /* EsmTokenizer cuts the text its own way */
        return tok_esm_encode(tok, d->cp, d->n, 0, out, err);
    tok_view v = {d->cp, (const unsigned char *)text, d->boff, NULL, d->n};
    return tok_split_added(tok, tok->added, tok->n_added, &v, raw_piece, &v, out, err);
}

static mhv_status to_encoding(const mhv_tok *tok, const mhv_toklist *l, mhv_encoding *out,
                              mhv_error *err)
{
    if (l->n > INT_MAX)
        return mhv_fail(err, MHV_EUSAGE, "", "too many tokens");
    size_t n = l->n ? l->n : 1;
    out->ids = malloc(n * sizeof *out->ids);
    out->spans = malloc(2 * n * sizeof *out->spans);
    out->pieces = calloc(n, sizeof *out->pieces);
    if (!out->ids || !out->spans || !out->pieces)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    out->n = (int)l->n;
    for (size_t i = 0; i < l->n; i++) {
        out->ids[i] = l->ids[i];
        out->spans[2 * i] = l->spans[2 * i];
        out->spans[2 * i + 1] = l->spans[2 * i + 1];
        out->pieces[i] = strdup(mhv_vocab_piece(tok->vocab, l->ids[i]));
        if (!out->pieces[i])
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    return MHV_OK;
}

/* Every encode shares this ending: on failure the half-built encoding is released. */
static mhv_status finish_encode(const mhv_tok *tok, mhv_status st, mhv_toklist *l,
                                mhv_encoding *out, mhv_error *err)
{
    if (!st)
        st = to_encoding(tok, l, out, err);
    mhv_toklist_free(l);
    if (st)
        mhv_encoding_free(out);
    return st;
}

/* Leading / trailing "Ġ" (a space byte) of a byte-level piece. */
static void count_spaces(const char *p, size_t *lead, size_t *trail)
{
    size_t len = strlen(p), n = 0, k = 0;
    *lead = *trail = 0;
    int in_lead = 1;
    while (k < len) {
        uint32_t c = 0;
        int w = mhv_utf8_decode(p + k, len - k, &c);
        if (w == 0)
            break;
        int sp = c == 0x120 || mhv_uc_is_whitespace(c);
        if (in_lead && sp)
            (*lead)++;
        else
            in_lead = 0;
        n = sp ? n + 1 : 0;
        k += (size_t)w;
    }
    *trail = n;
}

/* True when id is an added token that takes the whitespace before or after it. */
static int strips_space(const mhv_tok *tok, int32_t id)
{
    for (int i = 0; i < tok->n_added; i++)
        if (tok->added[i].id == id && (tok->added[i].lstrip || tok->added[i].rstrip))
            return 1;
    for (int i = 0; i < tok->n_nadded; i++)
        if (tok->nadded[i].id == id && (tok->nadded[i].lstrip || tok->nadded[i].rstrip))
            return 1;
    return 0;
}

/* Leading / trailing whitespace of the text's characters [a, b). */
static void count_text_spaces(const decoded *d, int32_t a, int32_t b, size_t *lead,
                              size_t *trail)
{
    int32_t i = a, j = b;
    while (i < b && mhv_uc_is_whitespace(d->cp[i]))
        i++;
    while (j > i && mhv_uc_is_whitespace(d->cp[j - 1]))
        j--;
    *lead = (size_t)(i - a), *trail = (size_t)(b - j);
}

/* HF ByteLevel::process_offsets: spans leave out the spaces a token starts or ends with,
 * as HF's token string has them: the vocabulary piece, or for an added token that strips
 * the whitespace around it (RoBERTa's and MPNet's <mask>), the text it matched, that
 * whitespace included. */
static void trim_offsets(const mhv_tok *tok, const decoded *d, mhv_toklist *l, size_t first,
                         size_t end)
{
    for (size_t i = first; i < end; i++) {
        int32_t *s = &l->spans[2 * i];
        if (s[0] < 0)
            continue;
        size_t lead, trail;
        if (s[1] <= (int32_t)d->n && strips_space(tok, l->ids[i]))
            count_text_spaces(d, s[0], s[1], &lead, &trail);
        else
            count_spaces(mhv_vocab_piece(tok->vocab, l->ids[i]), &lead, &trail);
        if (lead > 0) {
            if ((i == first || s[0] == 0) && tok->trim_prefix_space && lead == 1)
                lead = 0;
            s[0] = s[0] + (int32_t)lead < s[1] ? s[0] + (int32_t)lead : s[1];
        }
        if (trail > 0 && s[1] >= (int32_t)trail)
            s[1] = s[1] - (int32_t)trail > s[0] ? s[1] - (int32_t)trail : s[0];
    }
}

/* The post-processor's template around the sequences (text[1] is NULL for one sentence);
 * types (may be NULL) gets each token's type id, *boundary the first token of the second
 * sequence's part of the template. Spans of the second sentence count its own characters. */
static mhv_status encode_template(const mhv_tok *tok, const tok_template *tp,
                                  const char *const text[2], const size_t len[2],
                                  mhv_encoding *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    mhv_toklist l = {0};
    int32_t *types = NULL;
    size_t ntypes = 0;
    int pair = text[1] != NULL, boundary = 0;
    mhv_status st = MHV_OK;
    for (int i = 0; i < tp->n && !st; i++) {
        int seq = tp->item[i].seq;
        size_t first = l.n;
        if (pair && boundary == 0 && (seq == 1 || (i > 0 && tp->item[i].type_id != 0)))
            boundary = (int)l.n;
        if (seq < 0) {
            st = mhv_toklist_push(&l, tp->item[i].id, -1, -1, err);
        } else {
            decoded d;
            if (!(st = decode_input(text[seq], len[seq], &d, err)))
                st = encode_text(tok, text[seq], &d, &l, err);
            if (!st && tok->trim_offsets)
                trim_offsets(tok, &d, &l, first, l.n);
            decoded_free(&d);
        }
        if (!st && pair) {
            int32_t *t = realloc(types, (l.n ? l.n : 1) * sizeof *t);
            if (!t) {
                st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
                break;
            }
            types = t;
            for (; ntypes < l.n; ntypes++)
                types[ntypes] = tp->item[i].type_id;
        }
    }
    st = finish_encode(tok, st, &l, out, err);
    if (!st && pair) {
        out->type_ids = types;
        out->boundary = boundary;
        types = NULL;
    }
    free(types);
    return st;
}

mhv_status mhv_tok_encode(const mhv_tok *tok, const char *text, size_t len, mhv_encoding *out,
                          mhv_error *err)
{
    if (tok->refuse_text[0]) {
        memset(out, 0, sizeof *out);
        return mhv_fail(err, MHV_EUNSUPPORTED, tok->refuse_file, "%s", tok->refuse_text);
    }
    const char *texts[2] = {text, NULL};
    const size_t lens[2] = {len, 0};
    if (tok->single.n == 0) { /* no post-processor: the sequence alone */
        static const tok_template bare = {.item = {{-1, 0, 0}}, .n = 1};
        return encode_template(tok, &bare, texts, lens, out, err);
    }
    return encode_template(tok, &tok->single, texts, lens, out, err);
}

int mhv_tok_has_pair(const mhv_tok *tok)
{
    return tok->has_pair;
}

mhv_status mhv_tok_encode_pair(const mhv_tok *tok, const char *first, size_t first_len,
                               const char *second, size_t second_len, mhv_encoding *out,
                               mhv_error *err)
{
    if (tok->refuse_text[0]) {
        memset(out, 0, sizeof *out);
        return mhv_fail(err, MHV_EUNSUPPORTED, tok->refuse_file, "%s", tok->refuse_text);
    }
    const char *texts[2] = {first, second ? second : ""};
    const size_t lens[2] = {first_len, second ? second_len : 0};
    /* without a pair template HF concatenates the two, the second with type id 1 */
    static const tok_template bare = {.item = {{-1, 0, 0}, {-1, 1, 1}}, .n = 2};
    return encode_template(tok, tok->has_pair ? &tok->pair : &bare, texts, lens, out, err);
}

mhv_status mhv_tok_encode_pretokenized(const mhv_tok *tok, const char *text, size_t len,
                                       mhv_encoding *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    mhv_toklist l = {0};
    decoded d;
    mhv_status st = decode_input(text, len, &d, err);
    size_t i = 0;
    while (!st && i < d.n) {
        if (d.cp[i] == ' ' || d.cp[i] == '\t') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < d.n && d.cp[j] != ' ' && d.cp[j] != '\t')
            j++;
        const char *p = text + d.boff[i];
        size_t plen = d.boff[j] - d.boff[i];
        int32_t id = mhv_vocab_lookup(tok->vocab, p, plen);
        if (id < 0)
            st = mhv_fail(err, MHV_EINPUT, "", "piece '%.*s' is not in the vocabulary",
                          (int)(plen > 60 ? 60 : plen), p);
        else
            st = mhv_toklist_push(&l, id, (int32_t)i, (int32_t)j, err);
        i = j;
    }
    decoded_free(&d);
    return finish_encode(tok, st, &l, out, err);
}

mhv_status mhv_tok_encode_ids(const mhv_tok *tok, const char *text, size_t len,
                              mhv_encoding *out, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    mhv_toklist l = {0};
    mhv_status st = MHV_OK;
    if (len > MHV_TOK_MAX_INPUT)
        st = mhv_fail(err, MHV_EINPUT, "", "input longer than %u MiB", MHV_TOK_MAX_INPUT >> 20);
    size_t i = 0;
    while (!st && i < len) {
        char c = text[i];
        if (c == ' ' || c == '\t' || c == ',') {
            i++;
            continue;
        }
        size_t j = i;
        int64_t v = 0;
        while (j < len && text[j] >= '0' && text[j] <= '9') {
            if (v <= INT32_MAX)
                v = v * 10 + (text[j] - '0');
            j++;
        }
        if (j == i || (j < len && text[j] != ' ' && text[j] != '\t' && text[j] != ',')) {
            while (j < len && text[j] != ' ' && text[j] != '\t' && text[j] != ',')
                j++;
            st = mhv_fail(err, MHV_EINPUT, "", "'%.*s' is not a token id",
                          (int)(j - i > 30 ? 30 : j - i), text + i);
        } else if (v >= mhv_vocab_size(tok->vocab)) {
            st = mhv_fail(err, MHV_EINPUT, "", "token id %.*s is outside the vocabulary (0..%d)",
                          (int)(j - i > 30 ? 30 : j - i), text + i, mhv_vocab_size(tok->vocab) - 1);
        } else {
            st = mhv_toklist_push(&l, (int32_t)v, -1, -1, err);
        }
        i = j;
    }
    return finish_encode(tok, st, &l, out, err);
}

void mhv_encoding_free(mhv_encoding *enc)
{
    if (!enc)
        return;
    if (enc->pieces)
        for (int i = 0; i < enc->n; i++)
            free(enc->pieces[i]);
    free(enc->ids);
    free(enc->pieces);
    free(enc->spans);
    free(enc->type_ids);
    memset(enc, 0, sizeof *enc);
}

