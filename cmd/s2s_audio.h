/* s2s_audio.h - the inputs of a Whisper run: WAV files as the encoder's input (log-mel
 * features as preprocessor_config.json says), their audio positions labelled by time, and
 * the decoder's input for a transcript (the prompt tokens WhisperTokenizer puts before the
 * text, then the text's tokens and <|endoftext|>). */
#ifndef MHV_S2S_AUDIO_H
#define MHV_S2S_AUDIO_H

#include "cli.h"
#include "media/logmel.h"

typedef struct {
    mhv_logmel_cfg fe;      /* the feature extractor */
    int positions;          /* the encoder's audio positions (max_source_positions) */
    double seconds;         /* of audio per position: 2 * hop_length / sampling_rate */
    int32_t prompt[4];      /* <|startoftranscript|> [<|lang|>] [<|task|>] [<|notimestamps|>] */
    int np;
    int32_t eos;            /* <|endoftext|> (eos_token_id) */
} s2s_audio;

/* True for a path ending in .wav (given directly instead of a list of them). */
int s2s_audio_is_wav(const char *path);
/* The WAV of line s of a run's input `list` into path: list itself when it is that .wav,
 * else the line's path as run_vision_path resolves it. */
void s2s_audio_path(const char *list, const mhv_sentence *s, char *path, size_t size);
/* The input of a run: the file itself when it is a .wav, else its lines. */
mhv_status s2s_audio_input(const char *file, mhv_input *in, mhv_error *err);

/* Settles m's audio inputs: the feature extractor (its frames must be 2 x
 * max_source_positions and its feature_size num_mel_bins, as transformers requires), and
 * the prompt: tgt_lang (a code such as "en": set_prefix_tokens(language=CODE,
 * task="transcribe")), else tokenizer_config.json's language, task and predict_timestamps
 * (WhisperTokenizer's prefix_tokens). */
mhv_status s2s_audio_open(s2s_audio *a, const mhv_model *m, const mhv_tok *tok,
                          const char *tgt_lang, mhv_error *err);

/* Line s's audio: its path (list: the list file, for paths relative to it) into path, the
 * WAV read (sampling rate checked) into *samples(n) when samples is non-NULL, the positions
 * holding the real audio (not the window's padding) into *used, and the source's labels:
 * every position's start time ("1.24s"), ids 0.. into enc. */
mhv_status s2s_audio_source(const s2s_audio *a, const char *list, const mhv_sentence *s,
                            char *path, size_t size, int *used, size_t *samples,
                            mhv_encoding *enc, mhv_error *err);
/* The report's "audio" member of a WAV at path of `samples` samples, `used` positions holding
 * audio (",\n   \"audio\": {...}": the path, rates, lengths and every position's time in
 * seconds), or NULL when out of memory (caller frees). */
char *s2s_audio_json(const s2s_audio *a, const char *path, size_t samples, int used);
/* feats(feature_size, frames) of the WAV at path (caller frees). */
mhv_status s2s_audio_features(const s2s_audio *a, const char *path, float **feats,
                              mhv_error *err);
/* The decoder's input for transcript text (mode INPUT_TEXT): prompt, the text's tokens
 * (tokenizer(text) without its template's tokens), <|endoftext|>; INPUT_IDS: the ids as
 * given. Spans of the text's tokens into text. */
mhv_status s2s_audio_target(const s2s_audio *a, const mhv_tok *tok, const mhv_sentence *s,
                            cli_input_mode mode, mhv_encoding *out, mhv_error *err);

/* --heads alignment: generation_config.json's alignment_heads ([[decoder layer, head] ...],
 * the cross-attention heads Whisper's word timestamps read) as a --heads spec
 * ("cross:L:H,...") into spec (caller frees). */
mhv_status s2s_audio_alignment_heads(const mhv_model *m, char **spec, mhv_error *err);

/* Whisper's generate (WhisperGenerationMixin): the decoder's first tokens as
 * _retrieve_init_tokens makes them from generation_config.json: decoder_start_token_id;
 * forced_decoder_ids when neither a language nor a task is set; the language's token
 * (tgt_lang, else the file's language, else detected for each audio as detect_language
 * does); the task's (transcribe when a language is given); <|notimestamps|>
 * (no_timestamps_token_id). */
typedef struct {
    int32_t init[8];        /* the prompt; init[detect_at] is filled for each audio */
    int n;
    int detect_at;          /* -1: the language is given (or none) */
    int32_t *langs;         /* (n_langs,) lang_to_id's tokens, when detecting */
    int n_langs;
    char language[80];      /* the language given, or "" */
} s2s_audio_gen;

/* Reads m's generation_config.json (refused without one, with return_timestamps, or with a
 * language or task an English-only model or the file's tables do not take). */
mhv_status s2s_audio_gen_open(s2s_audio_gen *ag, const mhv_model *m, const char *tgt_lang,
                              mhv_error *err);
void s2s_audio_gen_close(s2s_audio_gen *ag);
/* prompt(ag->n): the first tokens for feats, the language detected when not given (the
 * first highest logit among lang_to_id's tokens after decoder_start_token_id). */
mhv_status s2s_audio_gen_prompt(const s2s_audio_gen *ag, const mhv_model *m,
                                mhv_forward_ctx *fc, const float *feats, int32_t *prompt,
                                mhv_error *err);
struct s2s_gen_s;
/* The report's "generation" object for Whisper into buf: gen's settings (mhv_gen_describe,
 * for ag's first tokens) with "decoder_prompt" (null where the language is detected) and
 * "language" (the code given, or "detected"). */
void s2s_audio_gen_json(const s2s_audio_gen *ag, const struct s2s_gen_s *gen,
                        const mhv_model *m, char *buf, size_t size);

#endif
