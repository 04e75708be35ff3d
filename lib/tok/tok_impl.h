/* tok_impl.h - inside the tokenizer (tokenizer.c, tok_json.c, tok_files.c, token_text.c):
 * the handle and the helpers the loaders share. Not for use outside lib/tok. */
#ifndef MHV_TOK_IMPL_H
#define MHV_TOK_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "tok/decoder.h"
#include "tok/pipeline.h"
#include "tok/tokenizer.h"
#include "tok/vocab.h"
#include "tok/wordpiece.h"

#define MHV_TOK_MAX_INPUT (64u << 20)
#define MHV_TOK_MAX_JSON (512u << 20)
#define MHV_TOK_MAX_SPECIAL 8 /* ids a post-processor may add before or after the text */

typedef struct {
    char *content;   /* NUL-terminated UTF-8 (normalized tokens: once loaded, normalized) */
    size_t len;      /* bytes */
    int32_t id;
    int lstrip, rstrip, single_word;
} added_token;

/* A post-processor template: special tokens around the sequence(s). seq is -1 for a special
 * token, 0 for the first sequence ($A), 1 for the second ($B). */
typedef struct {
    struct {
        int32_t id;
        int seq;
        int type_id;
    } item[2 * MHV_TOK_MAX_SPECIAL + 2];
    int n;
} tok_template;

struct mhv_tok {
    mhv_tok_kind kind;
    mhv_vocab *vocab;
    mhv_bert_norm norm;
    mhv_wordpiece wp;
    added_token *added; /* (n_added,) matched in the raw text, before normalisation */
    int n_added;
    added_token *nadded; /* (n_nadded,) "normalized" ones, matched in the normalized text */
    int n_nadded;
    tok_template single, pair; /* the post-processor ([CLS] $A [SEP], ...) */
    int has_pair;              /* pair is set (otherwise pairs are refused) */
    unsigned char *special; /* (vocab size,) 1 for special tokens */
    mhv_pipeline *pipe;     /* BPE / Unigram: normalizer, pre-tokenizer and model */
    int trim_offsets;       /* ByteLevel post-processor: spans leave out leading/trailing Ġ */
    int trim_prefix_space;  /* ... except the one space add_prefix_space put at the start */
    char warning[700];      /* mhv_tok_warning; empty when none */
    mhv_decoder dec;        /* tokenizer.json's "decoder" (n 0: none) */
    struct mhv_spm_bpe *spm; /* M2M100Tokenizer: SentencePiece's own encoder instead of pipe */
    int32_t spm_unk;         /* ... and the id of a piece vocab.json lacks */
    /* Text is refused with this message naming refuse_file (a class whose pre-tokenizer no
     * tokenizer file holds: RoFormer's jieba); pieces and ids are still read. Empty: none. */
    char refuse_text[300];
    char refuse_file[4096];
    struct mhv_esm_trie *esm; /* EsmTokenizer (tok_esm.c): its own splitting, or NULL */
};

struct cJSON;

/* tokenizer.c (tok_add_token, tok_sort_added: added.c) */
mhv_status tok_new(mhv_tok **out, const char *file, mhv_error *err);
void tok_mark_special(mhv_tok *t, int32_t id);
mhv_status tok_alloc_special(mhv_tok *t, const char *file, mhv_error *err);
/* Every mhv_tok_open_* calls tok_sort_added after its last tok_add_token (it normalizes the
 * contents of normalized tokens, so the normalizer must be loaded by then). */
mhv_status tok_add_token(mhv_tok *t, const char *content, int32_t id, int lstrip, int rstrip,
                         int single_word, int normalized, const char *file, mhv_error *err);
mhv_status tok_sort_added(mhv_tok *t, const char *file, mhv_error *err);
/* The tokenizer's normalizer on cp (n,), the first from original character base. */
mhv_status tok_normalize(const mhv_tok *tok, const uint32_t *cp, size_t n, int32_t base,
                         mhv_normtext *out, mhv_error *err);
/* WordPiece: the unk token, prefix and word limit, and the special-token table. */
mhv_status tok_finish_wordpiece(mhv_tok *t, const char *unk, const char *prefix,
                                size_t max_chars, const char *file, mhv_error *err);
/* Appends a special token (seq -1) or a sequence to a template. */
mhv_status tok_template_add(mhv_tok *t, tok_template *tp, int32_t id, int seq, int type_id,
                            const char *file, mhv_error *err);
/* Special-token strings in tokenizer_config.json are either "x" or {"content": "x", ...}. */
const char *tok_token_string(const struct cJSON *obj, const char *key, const char *dflt);

/* Text as added tokens are matched in it: code points, the UTF-8 bytes and the byte offset
 * of each code point (n + 1 entries), and (orig, may be NULL) the original character each
 * came from. */
typedef struct {
    const uint32_t *cp;           /* (n,) */
    const unsigned char *bytes;
    const size_t *boff;           /* (n + 1,) */
    const int32_t *orig;          /* (n,) or NULL: the identity */
    size_t n;
} tok_view;

/* What lies between two added tokens, characters [a, b) of the view; split says whether a
 * token cut the text. */
typedef mhv_status (*tok_piece_fn)(const mhv_tok *tok, void *ctx, size_t a, size_t b,
                                   int split, mhv_toklist *out, mhv_error *err);

/* added.c: HF AddedVocabulary::split_with_indices: the matches of tab (n_tab,) in v become
 * their tokens and what lies between goes to piece(). */
mhv_status tok_split_added(const mhv_tok *tok, const added_token *tab, int n_tab,
                           const tok_view *v, tok_piece_fn piece, void *ctx, mhv_toklist *out,
                           mhv_error *err);

/* tok_json.c: tokenizer.json, from its file or an equivalent document (path names it) */
mhv_status tok_load_json(mhv_tok *t, const char *path, mhv_error *err);
mhv_status tok_load_json_doc(mhv_tok *t, const struct cJSON *doc, const char *path,
                             mhv_error *err);
/* tok_esm.c: EsmTokenizer from vocab.txt (tokenizer_config.json and special_tokens_map.json
 * may be NULL); the text cp (n,), from original character base, cut and looked up as it
 * does; the trie freed with the handle */
mhv_status tok_load_esm(mhv_tok *t, const char *vocab_txt, const char *config,
                        const char *special_map, mhv_error *err);
mhv_status tok_esm_encode(const mhv_tok *tok, const uint32_t *cp, size_t n, int32_t base,
                          mhv_toklist *out, mhv_error *err);
void tok_esm_free(struct mhv_esm_trie *t);
/* tok_m2m100.c: the part cp (n,) of a text, from original character base, through t->spm */
mhv_status tok_spm_piece(const mhv_tok *t, const uint32_t *cp, size_t n, int32_t base,
                         mhv_toklist *out, mhv_error *err);
/* tok_files.c: vocab.txt (+ tokenizer_config.json), vocab.json + merges.txt */
mhv_status tok_load_vocab_txt(mhv_tok *t, const char *vocab_txt, const char *config,
                              mhv_error *err);
/* implied: the class config.json's model_type implies when tokenizer_config.json names none
 * (AutoTokenizer's choice), or NULL: GPT2Tokenizer */
mhv_status tok_load_bpe_files(mhv_tok *t, const char *vj, const char *mt, const char *cfgp,
                              const char *stmp, const char *implied, mhv_error *err);

#endif
