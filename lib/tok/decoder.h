/* decoder.h - tokenizer.json's "decoder" section: how Hugging Face tokenizers turn tokens
 * back into text, kept so figure labels show each token as the decoder does (decode_chain
 * of the tokenizers crate's decoders). Steps: ByteLevel, Metaspace (replacement, prepend_scheme),
 * WordPiece (prefix, cleanup), ByteFallback, Strip, Replace (string patterns), Fuse,
 * BPEDecoder (suffix), Sequence (flattened). */
#ifndef MHV_DECODER_H
#define MHV_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

struct cJSON;

typedef enum {
    MHV_DEC_BYTELEVEL = 0,
    MHV_DEC_METASPACE,
    MHV_DEC_WORDPIECE,
    MHV_DEC_BYTEFALLBACK,
    MHV_DEC_STRIP,
    MHV_DEC_REPLACE,
    MHV_DEC_FUSE,
    MHV_DEC_BPE
} mhv_dec_kind;

#define MHV_DEC_MAX_STEPS 16
#define MHV_DEC_TEXT 64

typedef struct {
    mhv_dec_kind kind;
    char a[MHV_DEC_TEXT];   /* Metaspace replacement, WordPiece prefix, Strip content,
                               Replace pattern, BPEDecoder suffix (UTF-8) */
    char b[MHV_DEC_TEXT];   /* Replace content */
    int flag;               /* Metaspace: prepend_scheme is not "never"; WordPiece: cleanup */
    int start, stop;        /* Strip */
} mhv_dec_step;

typedef struct {
    mhv_dec_step step[MHV_DEC_MAX_STEPS];
    int n;                  /* 0: no decoder (the section is null or absent) */
} mhv_decoder;

/* Reads the section d (NULL or JSON null: no decoder). A type or option mhaviz does not
 * implement (CTC, a Regex Replace pattern ...) is MHV_EUNSUPPORTED naming it. */
mhv_status mhv_decoder_parse(const struct cJSON *d, mhv_decoder *out, const char *file,
                             mhv_error *err);

/* What each of the n tokens pieces(n,) stands for in the decoded text, as the decoder chain
 * gives it per token: out[i] (malloc'd bytes, NUL-terminated, caller frees each and the
 * array) so that their concatenation is the decoded text, except that fused steps keep the
 * tokens apart (ByteLevel and ByteFallback yield each token's own bytes, a partial UTF-8
 * character included; Fuse and a following Strip act on the concatenation's ends). */
mhv_status mhv_decoder_tokens(const mhv_decoder *d, const char *const *pieces, int n,
                              char ***out, mhv_error *err);
void mhv_decoder_tokens_free(char **toks, int n);

#endif
