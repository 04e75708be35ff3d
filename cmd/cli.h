/* cli.h - what the subcommands of cmd/ share: error reporting, model lookup, encoding. */
#ifndef MHV_CLI_H
#define MHV_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "base/heads.h"
#include "text/input.h"
#include "fig/font.h"
#include "model/forward.h"
#include "model/model.h"
#include "base/status.h"
#include "tok/tokenizer.h"

/* Exit codes (man page: EXIT STATUS). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Prints "mhaviz: file: msg" and returns the exit code for st. */
int cli_report(mhv_status st, const mhv_error *err);
/* Prints "mhaviz: " and the formatted line on stderr, control bytes escaped (file names and
 * file contents may hold ESC, BEL ...: see mhv_escape_controls). */
void cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes s to f with control bytes escaped as cli_say does. */
void cli_put_escaped(FILE *f, const char *s);
/* Prints "mhaviz: warning: file: problem" when the tokenizer has a warning. */
void cli_tok_warn(const mhv_tok *tok);
/* Prints "mhaviz: <msg>" and a hint to --help, returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The model directory: --model if given, else $MHAVIZ_MODEL, else the bundled sample model
 * found beside the executable (build tree or installed share/mhaviz/model). */
const char *cli_model_dir(const char *opt, char *buf, size_t size);

/* INPUT_PAIRS: each line is FIRST<TAB>SECOND, encoded as the tokenizer encodes
 * tokenizer(first, second) (encoder --pairs); the second's spans count characters of the line. */
typedef enum { INPUT_TEXT = 0, INPUT_PRETOKENIZED, INPUT_IDS, INPUT_PAIRS } cli_input_mode;

/* Tokens of all the sentences of one input that run and rank hold at once (~1 GB). */
#define CLI_MAX_TOKENS (1 << 24)

/* Encodes every sentence of in (encs has in->n slots). tok may be NULL with INPUT_IDS (a
 * model directory without a tokenizer): tokens are then labelled by their ids. With truncate, sentences longer than
 * max_tokens are cut (keeping the special tokens the template adds at the end in text mode)
 * with a note on stderr;
 * otherwise a long sentence is an error naming its line. More than CLI_MAX_TOKENS in all is an
 * error too. */
mhv_status cli_encode_all(const mhv_tok *tok, const mhv_input *in, cli_input_mode mode,
                          int max_tokens, int truncate, mhv_encoding *encs, mhv_error *err);
void cli_free_encodings(mhv_encoding *encs, int n);
/* Cuts e to max tokens as cli_encode_all's truncate does (text_mode: the special tokens
 * the template put at the end are kept); nothing when e is not longer. */
void cli_truncate(const mhv_tok *tok, mhv_encoding *e, int max, int text_mode);
/* One text as cli_encode_all encodes a sentence (no length limit, no line in messages). */
mhv_status cli_encode_one(const mhv_tok *tok, const mhv_sentence *s, cli_input_mode mode,
                          mhv_encoding *enc, mhv_error *err);
/* The token types m reads from enc: a pair's type ids when m has token type embeddings;
 * NULL (all 0) otherwise, as transformers' tokenizers of those models leave them out. */
const int32_t *cli_type_ids(const mhv_model *m, const mhv_encoding *enc);
/* s as a JSON string literal (quoted, escaped as mhv_jsonw_str writes it) in a new string;
 * NULL when out of memory. */
char *cli_json_string(const char *s);
/* e = n positions that are not text (audio frames, image patches): ids 0.., no spans, piece
 * i named by label(i, buf, 32, ctx). */
typedef void (*cli_label_fn)(int i, char *buf, size_t size, const void *ctx);
mhv_status cli_position_encoding(int n, cli_label_fn label, const void *ctx, mhv_encoding *e,
                                 mhv_error *err);
/* The label of frame i, *(const double *)step seconds apart: its start time ("0.02s"; three
 * decimals under 10 ms steps). */
void cli_time_label(int i, char *buf, size_t size, const void *step);

/* Opens the model of dir and its tokenizer. With INPUT_IDS a directory whose tokenizer is
 * missing or unreadable still serves (*tok = NULL, tokens labelled by their ids; an
 * unreadable one is warned about); the other modes need it. On failure the caller still
 * closes *m and *tok. */
mhv_status cli_open_model(const char *dir, cli_input_mode mode, mhv_model **m, mhv_tok **tok,
                          mhv_error *err);

/* What run and rank work on: a model and its tokenizer, the heads asked for, and every
 * sentence of the input file, encoded. */
typedef struct {
    mhv_model *m;
    mhv_tok *tok;       /* NULL with INPUT_IDS and no usable tokenizer (cli_open_model) */
    mhv_heads sel;
    mhv_input in;
    mhv_encoding *encs; /* (in.n,) */
} cli_job;

/* Commands that read sentences (rank, ablate): a model that reads images or audio refused,
 * naming cmd and the model, as MHV_EUNSUPPORTED (it has no tokenizer to encode them). */
mhv_status cli_refuse_non_text(const mhv_config *c, const char *cmd, mhv_error *err);

/* With job->m and job->tok opened (cli_open_model): parses the heads spec, reads file and
 * encodes every sentence (cli_encode_all, with the model's positions as the limit). On
 * failure too the caller calls cli_job_close. */
mhv_status cli_job_read(cli_job *job, const char *heads, const char *file, cli_input_mode mode,
                        int truncate, mhv_error *err);
/* Frees everything in job, model and tokenizer included; job may be partly filled. */
void cli_job_close(cli_job *job);
/* Rewords the error of sentence i of in as "file: line N: <msg>"; returns st. */
mhv_status cli_fail_line(mhv_error *err, mhv_status st, const mhv_input *in, int i);

/* Progress "label k/n" on stderr, only when stderr is a terminal; done=1 clears the line. */
void cli_progress(const char *label, int k, int n, int done);

/* Library settings from the documented environment: $MHAVIZ_KERNEL picks the kernel table,
 * $MHAVIZ_FONT the label font tried after `file` (--font; may be NULL). */
mhv_forward_params cli_forward_params(int threads);
mhv_font_params cli_font_params(const char *file);
/* The label fonts under cli_font_params(file); when none is found, the message adds the
 * options that name one. */
mhv_status cli_font_open(const char *file, mhv_fontset **fs, mhv_error *err);

/* The memory the system could still give: MemAvailable of /proc/meminfo, 0 if unknown. */
uint64_t cli_available_memory(void);
/* Whether the file at path begins with the n bytes of magic at offset at (0 when it cannot
 * be read): a WAV or an image named as if it were a list of them. */
int cli_file_starts(const char *path, size_t at, const char *magic, size_t n);
/* b bytes as "1.5 GiB", "20.0 MiB" or "3.0 KiB" (--max-memory's messages). */
void cli_fmt_bytes(char *buf, size_t size, uint64_t b);
/* What run holds besides the forward pass (mhv_forward_mem): --weighting's raw norms for
 * the JSON or --aggregate's maps (one or the other: the JSON of an aggregate has no norms). */
typedef struct {
    uint64_t bytes;     /* 0: nothing */
    const char *what;   /* "raw norms", "layer aggregates" */
} cli_mem_extra;
/* What a --max-memory refusal says a line needs: "about N (weights W, activations A,
 * attention maps M[, <what> X]), more than [--max-memory |the available ]L" (extra: NULL or
 * nothing when bytes is 0; given: the limit came from --max-memory). */
void cli_fmt_mem_need(char *buf, size_t size, const mhv_forward_mem *mem,
                      const cli_mem_extra *extra, uint64_t limit, int given);
/* N above: mem's three parts and extra's bytes (extra may be NULL). */
uint64_t cli_mem_total(const mhv_forward_mem *mem, const cli_mem_extra *extra);

#endif
