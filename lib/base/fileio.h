/* fileio.h - whole-file reads with a size limit, and output files that appear atomically. */
#ifndef MHV_FILEIO_H
#define MHV_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#include "base/status.h"

/* Reads a regular file into a NUL-terminated buffer (caller frees). Refuses directories,
 * FIFOs, devices (without blocking on a FIFO nobody writes) and files larger than max_bytes. */
mhv_status mhv_read_file(const char *path, size_t max_bytes, char **out, size_t *len,
                         mhv_error *err);
/* The same for an input the user names: also reads a pipe, terminal or socket
 * (`run <(cmd)`, /dev/stdin) up to max_bytes; a FIFO with no writer reads as empty.
 * Directories are refused. */
mhv_status mhv_read_input(const char *path, size_t max_bytes, char **out, size_t *len,
                          mhv_error *err);
/* True when path names something stat() reaches (a file, a directory ...). */
int mhv_path_exists(const char *path);

/* Reads a FILE* to EOF (for stdin), same contract; `name` is used in messages. */
mhv_status mhv_read_stream(FILE *f, const char *name, size_t max_bytes, char **out, size_t *len,
                           mhv_error *err);

/* An output file written to "<path>.tmp.XXXXXX" beside its target and renamed into place
 * by mhv_out_commit, so a failed run never leaves a partial file under the final name.
 * "-" and "/dev/stdout" write to standard output; a symbolic link is followed (the file it
 * names is replaced); an existing device, FIFO or socket is written through, never
 * replaced (a FIFO nobody opens for reading within 2 s is an error, not a wait). */
typedef struct {
    FILE *f;
    char path[4096];    /* the file replaced: the path, or where its symbolic link leads */
    char tmp[4096 + 16]; /* "" when written through */
    int direct;         /* 1: a device/FIFO written through, 2: standard output */
} mhv_out;

mhv_status mhv_out_open(mhv_out *out, const char *path, mhv_error *err);
/* Flushes, fsyncs, closes and renames; on failure removes the temporary file. */
mhv_status mhv_out_commit(mhv_out *out, mhv_error *err);
/* Closes and removes the temporary file; safe to call after a failed commit or twice. */
void mhv_out_abort(mhv_out *out);

/* Creates a directory and its parents (like mkdir -p). */
mhv_status mhv_mkdir_p(const char *path, mhv_error *err);

#endif
