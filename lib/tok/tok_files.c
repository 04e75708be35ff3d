/* tok_files.c - tokenizers without a tokenizer.json, as transformers' slow tokenizers build
 * them: BertTokenizer from vocab.txt + tokenizer_config.json, GPT2Tokenizer / Qwen2Tokenizer /
 * DebertaTokenizer from vocab.json + merges.txt + tokenizer_config.json +
 * special_tokens_map.json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/json.h"
#include "tok/pipeline.h"
#include "tok/tok_impl.h"
#include "tok/vocab.h"

/* vocab.txt path: what transformers' BertTokenizer builds from tokenizer_config.json. */
mhv_status tok_load_vocab_txt(mhv_tok *t, const char *vocab_txt, const char *config,
                              mhv_error *err)
{
    mhv_status st = mhv_vocab_load_txt(vocab_txt, &t->vocab, err);
    if (st)
        return st;
    cJSON *cfg = NULL;
    if (config && (st = mhv_json_load(config, MHV_TOK_MAX_JSON, &cfg, err)))
        return st;
    int lower = 1, strip = -1, chinese = 1;
    const char *names[5] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};
    if (cfg) {
        const char *keys[5] = {"unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};
        for (int i = 0; i < 5; i++)
            names[i] = tok_token_string(cfg, keys[i], names[i]);
        if ((st = mhv_json_bool(cfg, "do_lower_case", 1, &lower, config, err)) ||
            (st = mhv_json_bool(cfg, "strip_accents", -1, &strip, config, err)) ||
            (st = mhv_json_bool(cfg, "tokenize_chinese_chars", 1, &chinese, config, err)))
            goto out;
    }
    int32_t dup_first, dup_last;
    if (mhv_vocab_duplicate(t->vocab, &dup_first, &dup_last)) {
        const char *p = mhv_vocab_piece(t->vocab, dup_last);
        snprintf(t->warning, sizeof t->warning,
                 "%.500s: piece '%.60s' is on lines %d and %d; the later line is used, as "
                 "Hugging Face does", vocab_txt, p, (int)dup_first + 1, (int)dup_last + 1);
    }
    t->norm.clean_text = 1;
    t->norm.handle_chinese_chars = chinese;
    t->norm.lowercase = lower;
    t->norm.strip_accents = strip < 0 ? lower : strip;
    if ((st = tok_finish_wordpiece(t, names[0], "##", 100, vocab_txt, err)))
        goto out;
    for (int i = 0; i < 5; i++) {
        int32_t id = mhv_vocab_lookup(t->vocab, names[i], strlen(names[i]));
        if (id < 0) {
            if (i == 1 || i == 3) {
                st = mhv_fail(err, MHV_EFORMAT, vocab_txt,
                              "special token '%.60s' is not in the vocabulary", names[i]);
                goto out;
            }
            continue; /* an absent [PAD] or [MASK] is simply never produced */
        }
        if ((st = tok_add_token(t, names[i], id, 0, 0, 0, 0, vocab_txt, err)))
            goto out;
        tok_mark_special(t, id);
    }
    /* BertTokenizer: [CLS] A [SEP], and [CLS] A [SEP] B [SEP] with B's type 1 */
    int32_t cls = mhv_vocab_lookup(t->vocab, names[3], strlen(names[3]));
    int32_t sep = mhv_vocab_lookup(t->vocab, names[1], strlen(names[1]));
    struct { int32_t id; int seq, type; } single[] = {{cls, -1, 0}, {-1, 0, 0}, {sep, -1, 0}},
        pair[] = {{cls, -1, 0}, {-1, 0, 0}, {sep, -1, 0}, {-1, 1, 1}, {sep, -1, 1}};
    for (int i = 0; i < 3 && !st; i++)
        st = tok_template_add(t, &t->single, single[i].id, single[i].seq, single[i].type,
                              vocab_txt, err);
    for (int i = 0; i < 5 && !st; i++)
        st = tok_template_add(t, &t->pair, pair[i].id, pair[i].seq, pair[i].type, vocab_txt,
                              err);
    t->has_pair = 1;
out:
    cJSON_Delete(cfg);
    return st;
}


#define MHV_TOK_MAX_ADDED 65536

/* Entries of tokenizer_config.json's added_tokens_decoder: {"151643": {"content": ...}}. */
static mhv_status config_added(const cJSON *cfg, const char *file, int32_t **ids,
                               const char ***pieces, int *n, mhv_error *err)
{
    const cJSON *dec = mhv_json_get(cfg, "added_tokens_decoder");
    *n = 0;
    if (!dec || cJSON_IsNull(dec))
        return MHV_OK;
    if (!cJSON_IsObject(dec))
        return mhv_fail(err, MHV_EFORMAT, file, "'added_tokens_decoder' is not an object");
    int k = cJSON_GetArraySize(dec);
    if (k > MHV_TOK_MAX_ADDED)
        return mhv_fail(err, MHV_EUNSUPPORTED, file, "more than %d added tokens",
                        MHV_TOK_MAX_ADDED);
    *ids = malloc((size_t)(k ? k : 1) * sizeof **ids);
    *pieces = malloc((size_t)(k ? k : 1) * sizeof **pieces);
    if (!*ids || !*pieces)
        return mhv_fail(err, MHV_ENOMEM, file, "out of memory");
    for (const cJSON *e = dec->child; e; e = e->next) {
        char *end;
        errno = 0;
        long id = strtol(e->string, &end, 10);
        const cJSON *c = mhv_json_get(e, "content");
        if (errno || *end || end == e->string || id < 0 || id >= (1 << 24) ||
            !cJSON_IsString(c))
            return mhv_fail(err, MHV_EFORMAT, file,
                            "added_tokens_decoder entry '%.30s' has no id or content", e->string);
        (*ids)[*n] = (int32_t)id;
        (*pieces)[(*n)++] = c->valuestring;
    }
    return MHV_OK;
}

/* DebertaTokenizer (DeBERTa v1): GPT-2's byte-level BPE with BERT's special tokens, each
 * named by tokenizer_config.json or special_tokens_map.json (defaults [UNK], [CLS], [SEP],
 * [PAD], [MASK]) and found in vocab.json, and transformers 5's templates "[CLS] $A [SEP]",
 * "[CLS] $A [SEP] [SEP] $B [SEP]" (type ids 0). */
static mhv_status deberta_specials(mhv_tok *t, const cJSON *cfg, const cJSON *stm,
                                   const char *vj, mhv_error *err)
{
    static const char *const keys[5] = {"unk_token", "cls_token", "sep_token", "pad_token",
                                        "mask_token"};
    static const char *const defs[5] = {"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"};
    int32_t id[5];
    mhv_status st = MHV_OK;
    for (int k = 0; k < 5 && !st; k++) {
        const char *s = tok_token_string(stm, keys[k], tok_token_string(cfg, keys[k], defs[k]));
        if ((id[k] = mhv_vocab_lookup(t->vocab, s, strlen(s))) < 0)
            return mhv_fail(err, MHV_EUNSUPPORTED, vj, "DebertaTokenizer's %s '%.40s' is not in "
                            "the vocabulary (transformers would add it)", keys[k], s);
        if (!(st = tok_add_token(t, s, id[k], 0, 0, 0, 0, vj, err)))
            tok_mark_special(t, id[k]);
    }
    const int32_t cls = id[1], sep = id[2];
    const int32_t single[3][2] = {{cls, -1}, {-1, 0}, {sep, -1}};
    const int32_t pair[6][2] = {{cls, -1}, {-1, 0}, {sep, -1}, {sep, -1}, {-1, 1}, {sep, -1}};
    for (int i = 0; i < 3 && !st; i++)
        st = tok_template_add(t, &t->single, single[i][0], single[i][1], 0, vj, err);
    for (int i = 0; i < 6 && !st; i++)
        st = tok_template_add(t, &t->pair, pair[i][0], pair[i][1], 0, vj, err);
    t->has_pair = !st;
    return st;
}

/* vocab.json + merges.txt: what transformers' GPT2Tokenizer / Qwen2Tokenizer /
 * DebertaTokenizer build from tokenizer_config.json and special_tokens_map.json. */
mhv_status tok_load_bpe_files(mhv_tok *t, const char *vj, const char *mt, const char *cfgp,
                              const char *stmp, const char *implied, mhv_error *err)
{
    cJSON *cfg = NULL, *stm = NULL;
    int32_t *ids = NULL;
    const char **pieces = NULL;
    int n = 0, aps = 0, add_bos = 0, add_eos = 0;
    mhv_status st = MHV_OK;
    if ((cfgp && (st = mhv_json_load(cfgp, MHV_TOK_MAX_JSON, &cfg, err))) ||
        (stmp && (st = mhv_json_load(stmp, MHV_TOK_MAX_JSON, &stm, err))))
        goto out;
    const char *cls = tok_token_string(cfg, "tokenizer_class",
                                       implied ? implied : "GPT2Tokenizer");
    int qwen2 = strncmp(cls, "Qwen2Tokenizer", 14) == 0;
    int deberta = strncmp(cls, "DebertaTokenizer", 16) == 0; /* and ...Fast */
    if (!qwen2 && !deberta && strncmp(cls, "GPT2Tokenizer", 13) != 0) {
        st = mhv_fail(err, MHV_EUNSUPPORTED, cfgp ? cfgp : vj,
                      "tokenizer_class '%.60s' without a tokenizer.json is not supported "
                      "(GPT2Tokenizer, Qwen2Tokenizer and DebertaTokenizer are)", cls);
        goto out;
    }
    if (cfg && ((st = mhv_json_bool(cfg, "add_prefix_space", 0, &aps, cfgp, err)) ||
                (st = mhv_json_bool(cfg, "add_bos_token", 0, &add_bos, cfgp, err)) ||
                (st = mhv_json_bool(cfg, "add_eos_token", 0, &add_eos, cfgp, err)) ||
                (st = config_added(cfg, cfgp, &ids, &pieces, &n, err))))
        goto out;
    if ((st = mhv_pipeline_from_bpe_files(vj, mt, qwen2, aps, ids, pieces, n, &t->vocab,
                                           &t->pipe, err)))
        goto out;
    t->kind = MHV_TOK_BYTELEVEL_BPE;
    if ((st = tok_alloc_special(t, vj, err)))
        goto out;
    const cJSON *e = n ? mhv_json_get(cfg, "added_tokens_decoder")->child : NULL;
    for (int i = 0; i < n && !st; i++, e = e->next) {
        int special = 0, lstrip = 0, rstrip = 0, single = 0;
        if ((st = mhv_json_bool(e, "special", 0, &special, cfgp, err)) ||
            (st = mhv_json_bool(e, "lstrip", 0, &lstrip, cfgp, err)) ||
            (st = mhv_json_bool(e, "rstrip", 0, &rstrip, cfgp, err)) ||
            (st = mhv_json_bool(e, "single_word", 0, &single, cfgp, err)))
            break;
        /* the slow tokenizers match every added token in the raw text */
        if (!(st = tok_add_token(t, pieces[i], ids[i], lstrip, rstrip, single, 0, cfgp, err)) &&
            special)
            tok_mark_special(t, ids[i]);
    }
    if (deberta) {
        if (!st)
            st = deberta_specials(t, cfg, stm, vj, err);
        goto out;
    }
    /* special tokens named in the two files are matched in the text like added tokens */
    const char *keys[4] = {"bos_token", "eos_token", "unk_token", "pad_token"};
    int32_t named[4];
    for (int k = 0; k < 4 && !st; k++) {
        const char *s = tok_token_string(stm, keys[k], tok_token_string(cfg, keys[k], NULL));
        named[k] = s ? mhv_vocab_lookup(t->vocab, s, strlen(s)) : -1;
        if (named[k] >= 0 && !(st = tok_add_token(t, s, named[k], 0, 0, 0, 0, vj, err)))
            tok_mark_special(t, named[k]);
    }
    if (!st && (add_bos || add_eos)) {
        for (int k = 0; k < 2; k++)
            if ((k == 0 ? add_bos : add_eos) && named[k] < 0)
                st = mhv_fail(err, MHV_EFORMAT, cfgp,
                              "%s is set but the token is not in the vocabulary",
                              k ? "add_eos_token" : "add_bos_token");
        if (!st && add_bos)
            st = tok_template_add(t, &t->single, named[0], -1, 0, vj, err);
        if (!st)
            st = tok_template_add(t, &t->single, -1, 0, 0, vj, err);
        if (!st && add_eos)
            st = tok_template_add(t, &t->single, named[1], -1, 0, vj, err);
    }
out:
    free(ids);
    free(pieces);
    cJSON_Delete(cfg);
    cJSON_Delete(stm);
    return st;
}

