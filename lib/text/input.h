/* input.h - the sentences of an input file: one per non-empty line, UTF-8 checked. */
#ifndef MHV_INPUT_H
#define MHV_INPUT_H

#include <stddef.h>

#include "base/status.h"

typedef struct {
    const char *text;   /* into the input buffer, NUL-terminated, no line terminator */
    size_t len;
    int line;           /* 1-based line number in the file */
} mhv_sentence;

typedef struct {
    char *buf;          /* the whole file, line terminators replaced by NULs */
    mhv_sentence *s;    /* (n,) */
    int n;
    char name[512];     /* the path as given, or "<stdin>" for "-" */
} mhv_input;

/* Largest input file accepted. */
#define MHV_INPUT_MAX_BYTES (1024u * 1024u * 1024u)

/* Reads `path` ("-" = stdin). Lines holding only white space are skipped; a NUL byte or
 * invalid UTF-8 is an MHV_EINPUT error naming the line; no sentence at all is an error. */
mhv_status mhv_input_read(const char *path, mhv_input *in, mhv_error *err);
void mhv_input_free(mhv_input *in);
/* The file name without directory and extension ("data/s.txt" -> "s"; stdin -> "stdin"),
 * made one safe path component: control bytes, '/' and '\\' become '_', so does a leading
 * '.' ("..txt" -> "_", ".x.txt" -> "_x"); an empty stem is "input". */
void mhv_input_stem(const char *path, char *stem, size_t size);

#endif
