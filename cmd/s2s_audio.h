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

/* The decoder's first tokens in Whisper's generate (WhisperGenerationMixin's
 * _retrieve_init_tokens) for feats: decoder_start_token_id; generation_config.json's
 * forced_decoder_ids when neither a language nor a task is set; the language's token
 * (tgt_lang, else generation_config.json's language, else detected as detect_language does:
 * the first highest logit among lang_to_id's tokens after decoder_start_token_id); the task's
 * (transcribe when a language is given); <|notimestamps|> (no_timestamps_token_id). Into
 * init(8), *n; *detected 1 when the language was detected. A generation_config.json without
 * Whisper's tables, or one asking for timestamps, is refused by name. */
mhv_status s2s_audio_init_tokens(const s2s_audio *a, const mhv_model *m, mhv_forward_ctx *fc,
                                 const float *feats, const char *tgt_lang, int32_t *init,
                                 int *n, int *detected, mhv_error *err);

#endif
