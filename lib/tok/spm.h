/* spm.h - SentencePiece model files (the ModelProto protobuf of tokenizer.model, spm.model,
 * spiece.model ...) read without a protobuf library, and the tokenizer.json that transformers
 * builds from one for the tokenizer classes mhaviz knows (DebertaV2Tokenizer, T5Tokenizer,
 * XLMRobertaTokenizer, AlbertTokenizer, LlamaTokenizer). */
#ifndef MHV_SPM_H
#define MHV_SPM_H

#include <stddef.h>

#include "base/status.h"

struct cJSON;

enum { MHV_SPM_NORMAL = 1, MHV_SPM_UNKNOWN, MHV_SPM_CONTROL, MHV_SPM_USER, MHV_SPM_UNUSED,
       MHV_SPM_BYTE };

typedef struct {
    char *piece; /* NUL-terminated UTF-8 */
    float score;
    int type;    /* MHV_SPM_* */
} mhv_spm_piece;

typedef struct {
    mhv_spm_piece *pieces; /* (n,) */
    int n;
    int model_type;        /* 1 unigram, 2 BPE, 3 word, 4 char */
    int byte_fallback;
    int unk_id;
    unsigned char *charsmap; /* (charsmap_len,) precompiled normalization rules, may be NULL */
    size_t charsmap_len;
    /* the normalizer spec's whitespace rules (protobuf defaults 1, 1, 1) and the trainer
     * spec's treat_whitespace_as_suffix (0) */
    int add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
    int whitespace_as_suffix;
} mhv_spm_model;

/* Parses a ModelProto; every length is checked against the buffer. */
mhv_status mhv_spm_parse(const unsigned char *buf, size_t len, const char *file,
                         mhv_spm_model *out, mhv_error *err);
void mhv_spm_free(mhv_spm_model *m);

/* NULL when transformers' tokenizer class of config (tokenizer_config.json, may be NULL) is
 * one mhv_spm_to_json builds; else that class's name ("" when none is given). */
const char *mhv_spm_class(const struct cJSON *config);
/* The tokenizer.json document (caller frees with cJSON_Delete) transformers builds from m for
 * the tokenizer class of config (tokenizer_config.json, may be NULL); MHV_EUNSUPPORTED for a
 * class it does not know. */
mhv_status mhv_spm_to_json(const mhv_spm_model *m, const struct cJSON *config, const char *file,
                           struct cJSON **out, mhv_error *err);

/* MarianTokenizer's tokenizer for one side: m is source.spm (or target.spm), vocab the
 * parsed vocab.json (or target_vocab.json) {piece: id}, config tokenizer_config.json (may be
 * NULL). The document segments with m's pieces and hands out vocab.json's ids (<unk>'s for
 * a piece it lacks): the Unigram model's output_ids / output_vocab (unigram.h); text </s>;
 * </s>, <unk>, <pad> and the >>xx<< codes of the vocabulary are special added tokens. */
mhv_status mhv_spm_marian_json(const mhv_spm_model *m, const struct cJSON *vocab,
                               const struct cJSON *config, const char *file,
                               struct cJSON **out, mhv_error *err);

#endif
