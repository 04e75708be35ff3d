/* cli.h - what the subcommands of cmd/ share: error reporting, model lookup, encoding. */
#ifndef MHV_CLI_H
#define MHV_CLI_H

#include "input.h"
#include "model.h"
#include "status.h"
#include "tokenizer.h"

/* Exit codes (man page: EXIT STATUS). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Prints "mhaviz: file: msg" and returns the exit code for st. */
int cli_report(mhv_status st, const mhv_error *err);
/* Prints "mhaviz: warning: file: problem" when the tokenizer has a warning. */
void cli_tok_warn(const mhv_tok *tok);
/* Prints "mhaviz: <msg>" and a hint to --help, returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The model directory: --model if given, else $MHAVIZ_MODEL, else the bundled sample model
 * found beside the executable (build tree or installed share/mhaviz/model). */
const char *cli_model_dir(const char *opt, char *buf, size_t size);

typedef enum { INPUT_TEXT = 0, INPUT_PRETOKENIZED, INPUT_IDS } cli_input_mode;

/* Encodes every sentence of in (encs has in->n slots). tok may be NULL with INPUT_IDS (a
 * model directory without a tokenizer): tokens are then labelled by their ids. With truncate, sentences longer than
 * max_tokens are cut (keeping the final special token in text mode) with a note on stderr;
 * otherwise a long sentence is an error naming its line. */
mhv_status cli_encode_all(const mhv_tok *tok, const mhv_input *in, cli_input_mode mode,
                          int max_tokens, int truncate, mhv_encoding *encs, mhv_error *err);
void cli_free_encodings(mhv_encoding *encs, int n);

/* Progress "label k/n" on stderr, only when stderr is a terminal; done=1 clears the line. */
void cli_progress(const char *label, int k, int n, int done);

#endif
