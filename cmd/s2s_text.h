/* s2s_text.h - the texts of an encoder-decoder run, shared by run, rank and stats: the source
 * as the model's tokenizer encodes it, and the decoder's input for a target (its first
 * token, then the target's tokens: teacher forcing), with mBART's and NLLB's language codes
 * (--src-lang, --tgt-lang) and a separate target vocabulary's tokenizer (Marian's
 * target.spm). */
#ifndef MHV_S2S_TEXT_H
#define MHV_S2S_TEXT_H

#include "cli.h"
#include "model/generate.h"

/* Where a tokenizer puts a language code in every text. */
enum { S2S_LANG_NONE = 0, S2S_LANG_LAST /* TEXT </s> code: mBART */,
       S2S_LANG_FIRST /* code TEXT </s>: NLLB, mBART-50 */ };

typedef struct {
    const mhv_tok *src_tok;  /* the model's tokenizer; NULL: ids only */
    const mhv_tok *tgt_tok;  /* the target's: src_tok, the target vocabulary's own (Marian), or
                                NULL when the decoder's vocabulary has no tokenizer (ids are
                                then labelled by themselves) */
    mhv_tok *own;            /* tgt_tok when opened here */
    int32_t start;           /* the decoder's first token */
    int lang;                /* S2S_LANG_*: where the tokenizer puts a language code */
    int32_t src_code;        /* with lang: the source's code (--src-lang, else the tokenizer's) */
    int32_t tgt_code;        /* S2S_LANG_FIRST: the target's code, the decoder's second token
                                (HF's forced_bos_token_id); else -1 */
} s2s_text;

/* Settles the texts of m: src_lang / tgt_lang (NULL when not given) are refused, by name,
 * for a tokenizer without language codes. With codes the target's code is tgt_lang, else
 * tokenizer_config.json's "tgt_lang", else (mBART) decoder_start_token_id when it is a code;
 * otherwise MHV_EUSAGE asking for --tgt-lang. mBART's decoder starts with it, NLLB's with
 * decoder_start_token_id and then it. */
mhv_status s2s_text_open(s2s_text *t, const mhv_model *m, const mhv_tok *tok,
                         const char *src_lang, const char *tgt_lang, mhv_error *err);
void s2s_text_close(s2s_text *t);

/* A line's source: text through the tokenizer (mBART: TEXT </s> src_code, NLLB: src_code
 * TEXT </s>), or ids as given. */
mhv_status s2s_encode_source(const s2s_text *t, const mhv_sentence *s, cli_input_mode mode,
                             mhv_encoding *out, mhv_error *err);
/* The decoder's input for a line's target: text gives the start token, then the target's
 * tokens by the target tokenizer (mBART: TEXT </s>, its code first instead: HF's
 * shift_tokens_right of tokenizer(text_target=...); NLLB: tgt_code TEXT </s>, as
 * tokenizer(text_target=...)), spans of the target's text; ids are taken exactly as given. */
mhv_status s2s_encode_target(const s2s_text *t, const mhv_sentence *s, cli_input_mode mode,
                             mhv_encoding *out, mhv_error *err);
/* Decoder ids (a generated target) as an encoding labelled by the target tokenizer. */
mhv_status s2s_label_target(const s2s_text *t, const int32_t *ids, int n, mhv_encoding *out,
                            mhv_error *err);
/* What --generate decodes with: the model's generation settings (model/generate.h) with
 * max_new_tokens N, --greedy's num_beams 1 and do_sample false, and the language codes: mBART's
 * target code as decoder_start_token_id, NLLB's as forced_bos_token_id (as one calls
 * generate() for them). */
typedef struct s2s_gen_s {
    mhv_gen_config cfg;
    const char *file;       /* where the settings came from: "generation_config.json" ... */
    int32_t start;          /* the decoder's first token */
    char overridden[160];   /* what --greedy changed, or "" */
    char json[2048];        /* the report's "generation" object */
} s2s_gen;

/* Reads and settles m's settings; refuses sampling (without --greedy) and what generate.h
 * refuses, naming the file. */
mhv_status s2s_gen_open(s2s_gen *g, const s2s_text *t, const mhv_model *m, int max_new,
                        int greedy, mhv_error *err);
void s2s_gen_close(s2s_gen *g);
/* transformers' generate() of src(ns) under g; *out (caller frees) the decoder's start token
 * and the generated tokens. */
mhv_status s2s_generate(const s2s_gen *g, mhv_forward_ctx *fc, const mhv_model *m,
                        const int32_t *src, int ns, int32_t **out, int *n_out, mhv_error *err);

#endif
