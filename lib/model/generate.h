/* generate.h - transformers' generate() for one sequence: greedy search and beam search with
 * the logits processors a generation config asks for, over any model's next-token logits
 * (a callback), as transformers 5.25 does them (generation/utils.py: _sample, _beam_search,
 * _get_logits_processor, _prepare_generated_length, _prepare_special_tokens;
 * generation/logits_process.py). Token ids are compared exactly; the arithmetic on scores is
 * PyTorch's fp32 arithmetic (a Python float meets an fp32 tensor as an fp32 number).
 *
 * Ties: greedy search takes the first of equal scores, as torch.argmax does; beam search
 * ranks equal scores by their index (beam * vocab + token), lowest first, where torch.topk
 * leaves their order unspecified. */
#ifndef MHV_GENERATE_H
#define MHV_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* A list of token ids (eos_token_id, suppress_tokens ...); n 0: none. */
typedef struct {
    int32_t *ids;
    int n;
} mhv_gen_ids;

/* early_stopping: false, true or "never" */
enum { MHV_EARLY_FALSE = 0, MHV_EARLY_TRUE, MHV_EARLY_NEVER };

/* A GenerationConfig: -1 (ints, ids) and NaN-free defaults as transformers' global defaults
 * (_get_default_generation_params) once mhv_gen_config_init has run; "unset" lengths are -1
 * (transformers' None), which _prepare_generated_length treats apart from a set value. */
typedef struct {
    int max_length, max_new_tokens;  /* -1: unset (max_length's default: 20 new tokens) */
    int min_length, min_new_tokens;  /* min_length 0 and min_new_tokens -1 by default */
    int do_sample;                   /* refused by mhv_generate: sampling is not implemented */
    int num_beams;                   /* 1: greedy search */
    int num_return_sequences;        /* refused above 1 */
    double length_penalty;           /* beam search: a finished beam's score is its summed
                                      * log-probabilities over length ** length_penalty */
    int early_stopping;              /* MHV_EARLY_* */
    double repetition_penalty;       /* 1: none */
    double encoder_repetition_penalty;
    int no_repeat_ngram_size, encoder_no_repeat_ngram_size; /* 0: none */
    mhv_gen_ids eos;                 /* eos_token_id (one or a list) */
    mhv_gen_ids forced_eos;          /* forced_eos_token_id: forced at max_length - 1 */
    int32_t bos;                     /* bos_token_id, -1: unset */
    int32_t decoder_start;           /* decoder_start_token_id, -1: unset (then bos) */
    int32_t forced_bos;              /* forced_bos_token_id: forced at length 1; -1: none */
    mhv_gen_ids suppress;            /* suppress_tokens: never generated */
    mhv_gen_ids begin_suppress;      /* begin_suppress_tokens: not at begin_index */
    int begin_index;                 /* -1: generate()'s (the prompt's length, + 1 when a
                                      * forced_bos_token_id follows a one-token prompt);
                                      * a caller such as Whisper's sets its own */
    mhv_gen_ids *bad_words;          /* bad_words_ids: sequences never completed */
    int n_bad_words;
    int remove_invalid_values;       /* NaN -> 0, +-inf -> +-FLT_MAX */
    int renormalize_logits;          /* a log-softmax after the processors */
    int has_decay;                   /* exponential_decay_length_penalty (start, factor) */
    int decay_start;
    double decay_factor;
} mhv_gen_config;

/* Nothing set: transformers' global defaults (greedy, max_length 20 new tokens, no
 * processors, no eos). */
void mhv_gen_config_init(mhv_gen_config *g);
void mhv_gen_config_free(mhv_gen_config *g);
/* A deep copy of src into dst (dst's old contents are not freed). */
mhv_status mhv_gen_config_copy(mhv_gen_config *dst, const mhv_gen_config *src, mhv_error *err);

/* Where mhv_gen_config_read found the settings. */
typedef enum { MHV_GEN_FROM_DEFAULTS = 0, MHV_GEN_FROM_GENERATION_CONFIG, MHV_GEN_FROM_CONFIG }
    mhv_gen_source;

/* A model directory's generation settings as transformers' from_pretrained loads them:
 * generation_config.json when it exists, else the generation fields of config.json
 * (GenerationConfig.from_model_config of the file's own keys, a "decoder" / "generator" /
 * "text_config" object filling the ones it leaves unset), else nothing. What transformers
 * runs through other code than greedy and beam search (sampling aside: mhv_generate refuses
 * it), or that depends on more than the ids (stop_strings, max_time, sequence_bias,
 * guidance_scale, constraints, watermarking ...), is refused by name. *from may be NULL. */
mhv_status mhv_gen_config_read(const char *dir, mhv_gen_config *g, mhv_gen_source *from,
                               mhv_error *err);
/* The same from one file: a generation_config.json, or (as_model_config) a config.json. */
mhv_status mhv_gen_config_read_file(const char *path, int as_model_config, mhv_gen_config *g,
                                    mhv_error *err);

/* The same from text(len) (name: the file, for messages). */
mhv_status mhv_gen_config_parse(const char *text, size_t len, const char *name,
                                int as_model_config, mhv_gen_config *g, mhv_error *err);
/* The decoder's start token of g: decoder_start_token_id, else bos_token_id; neither is
 * MHV_EUNSUPPORTED (transformers raises), naming `name` (the file g came from). */
mhv_status mhv_gen_start(const mhv_gen_config *g, const char *name, int32_t *start,
                         mhv_error *err);

/* logits(n_seq, vocab): the model's fp32 logits for the token after each of seqs(n_seq, len)
 * (row-major, each the decoder's input so far). */
typedef mhv_status (*mhv_gen_logits_fn)(void *ctx, const int32_t *seqs, int n_seq, int len,
                                        float *logits, mhv_error *err);

typedef struct {
    const int32_t *prompt;      /* (n_prompt,) the decoder's input: its start token(s) */
    int n_prompt;
    const int32_t *encoder_ids; /* (n_encoder,) the encoder's input ids, for the encoder_*
                                 * settings; NULL: none (those settings are then refused) */
    int n_encoder;
    int vocab;                  /* logits per row */
    int max_positions;          /* config.json's max_position_embeddings, which caps the
                                 * default max_length; 0: the config class has none (T5) */
    mhv_gen_logits_fn logits;
    void *ctx;
} mhv_gen_input;

/* The lengths generate() settles from g for a prompt of n_prompt tokens
 * (_prepare_generated_length): max_new_tokens + n_prompt, else max_length, else 20 +
 * n_prompt (capped at max_positions); min_new_tokens + n_prompt, else min_length.
 * MHV_EUSAGE when the prompt is not shorter than max_length (transformers raises). */
mhv_status mhv_gen_lengths(const mhv_gen_config *g, int n_prompt, int max_positions,
                           int *max_length, int *min_length, mhv_error *err);

/* Runs generate() on in: *out (caller frees) the prompt and the generated tokens, through an
 * end token when one came before max_length; *n_out their count. */
mhv_status mhv_generate(const mhv_gen_config *g, const mhv_gen_input *in, int32_t **out,
                        int *n_out, mhv_error *err);

/* The decoding g asks for, as a JSON object's text into buf (truncated to size): the
 * strategy ("greedy" or "beam_search"), the lengths for a prompt of n_prompt tokens (n_prompt
 * < 0: prompts of any length, a decoder-only model's: max_length and min_length only as g
 * sets them, when max_new_tokens and min_new_tokens do not take their place), and every
 * setting that is not transformers' default. Returns the text's length. */
int mhv_gen_describe(const mhv_gen_config *g, int n_prompt, int max_positions, char *buf,
                     int size);

#endif
