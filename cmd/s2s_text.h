/* s2s_text.h - the texts of an encoder-decoder run, shared by run, rank and stats: the source
 * as the model's tokenizer encodes it, and the decoder's input for a target (its first
 * token, then the target's tokens: teacher forcing), with mBART's language codes
 * (--src-lang, --tgt-lang) and a separate target vocabulary's tokenizer (Marian's
 * target.spm). */
#ifndef MHV_S2S_TEXT_H
#define MHV_S2S_TEXT_H

#include "cli.h"

typedef struct {
    const mhv_tok *src_tok;  /* the model's tokenizer; NULL: ids only */
    const mhv_tok *tgt_tok;  /* the target's: src_tok, the target vocabulary's own (Marian), or
                                NULL when the decoder's vocabulary has no tokenizer (ids are
                                then labelled by themselves) */
    mhv_tok *own;            /* tgt_tok when opened here */
    int32_t start;           /* the decoder's first token */
    int lang;                /* the tokenizer ends every source with </s> and a language code
                                (mBART) */
    int32_t src_code;        /* with lang: the source's code (--src-lang, else the tokenizer's) */
} s2s_text;

/* Settles the texts of m: src_lang / tgt_lang (NULL when not given) are refused, by name,
 * for a tokenizer without language codes. With codes the decoder starts with the target's
 * code: tgt_lang, else tokenizer_config.json's "tgt_lang", else decoder_start_token_id when
 * it is a code; otherwise MHV_EUSAGE asking for --tgt-lang. */
mhv_status s2s_text_open(s2s_text *t, const mhv_model *m, const mhv_tok *tok,
                         const char *src_lang, const char *tgt_lang, mhv_error *err);
void s2s_text_close(s2s_text *t);

/* A line's source: text through the tokenizer (mBART: TEXT </s> src_code), or ids as given. */
mhv_status s2s_encode_source(const s2s_text *t, const mhv_sentence *s, cli_input_mode mode,
                             mhv_encoding *out, mhv_error *err);
/* The decoder's input for a line's target: text gives the start token, then the target's
 * tokens by the target tokenizer (mBART: TEXT </s>, its code first instead: HF's
 * shift_tokens_right of tokenizer(text_target=...)), spans of the target's text; ids are
 * taken exactly as given. */
mhv_status s2s_encode_target(const s2s_text *t, const mhv_sentence *s, cli_input_mode mode,
                             mhv_encoding *out, mhv_error *err);
/* Decoder ids (a generated target) as an encoding labelled by the target tokenizer. */
mhv_status s2s_label_target(const s2s_text *t, const int32_t *ids, int n, mhv_encoding *out,
                            mhv_error *err);

#endif
