/* vocab.h - a tokenizer vocabulary: id -> piece and piece -> id. */
#ifndef MHV_VOCAB_H
#define MHV_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef struct mhv_vocab mhv_vocab;

/* Largest vocabulary file read (bytes); real ones are a few MiB. */
#define MHV_VOCAB_MAX_FILE (256u << 20)

/* Loads vocab.txt: one piece per line, id = line number (0-based), '\n' separated, a trailing
 * '\r' stripped, the last line may lack its '\n'. Rejects an empty file, invalid UTF-8 and NUL
 * bytes. A piece listed twice is accepted as Hugging Face does (lookup finds the last line);
 * mhv_vocab_duplicate reports it so the caller can warn. */
mhv_status mhv_vocab_load_txt(const char *path, mhv_vocab **out, mhv_error *err);

/* Building a vocabulary from another source (tokenizer.json): new, set every id once, finish.
 * `file` names the source in errors. */
mhv_status mhv_vocab_new(int32_t n, const char *file, mhv_vocab **out, mhv_error *err);
/* Rejects an id outside 0..n-1, an id set twice, a piece set twice, invalid UTF-8 or NUL. */
mhv_status mhv_vocab_set(mhv_vocab *v, int32_t id, const char *piece, size_t len,
                         mhv_error *err);
/* Checks that every id 0..n-1 was set (the ids must be dense). */
mhv_status mhv_vocab_finish(mhv_vocab *v, mhv_error *err);

void mhv_vocab_free(mhv_vocab *v);
int32_t mhv_vocab_size(const mhv_vocab *v);
/* NUL-terminated piece of id, NULL when out of range. */
const char *mhv_vocab_piece(const mhv_vocab *v, int32_t id);
/* Id of piece[0..len), -1 when absent. */
int32_t mhv_vocab_lookup(const mhv_vocab *v, const char *piece, size_t len);
/* 1 when a piece appeared twice in vocab.txt; *first / *last get the two ids (line numbers). */
int mhv_vocab_duplicate(const mhv_vocab *v, int32_t *first, int32_t *last);

#endif
