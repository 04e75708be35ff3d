/* outdir.h - the output directory of a run as one transaction, and the signal handler that
 * cleans up after an interrupted one.
 *
 * A run writes into a staging directory OUT/.mhaviz-XXXXXX; commit moves each entry of it
 * into OUT, replacing what an earlier run left under the same name (named on stderr), and
 * removes the replaced trees. A failure or SIGINT/SIGTERM/SIGHUP removes the staging
 * directory and the directories the run created for OUT, so OUT is left as it was. */
#ifndef MHV_OUTDIR_H
#define MHV_OUTDIR_H

#include <stddef.h>

#include "base/status.h"

typedef struct {
    char out[4096];     /* --out as given */
    char stage[4096];   /* OUT/.mhaviz-XXXXXX, where the run writes */
    size_t existed;     /* out[0..existed) existed before the run (mkdir -p made the rest) */
    int active;
} cli_outdir;

/* Installs the handlers for SIGINT, SIGTERM and SIGHUP (those not ignored at start): they
 * remove what the current transaction and temporary file wrote, then end the process with
 * the signal (exit status 128+N in the shell). And one for SIGBUS, which a mapped file
 * (checkpoint, font) that shrinks under the run raises: the same cleanup, then one line
 * naming the file and exit status 1. */
void cli_signals_init(void);

/* Creates OUT (and missing parents) and the staging directory. */
mhv_status cli_outdir_begin(cli_outdir *d, const char *out, mhv_error *err);
/* Moves the staged entries into OUT. The entries an earlier run left under the same names
 * are replaced and listed on stderr ("mhaviz: OUT: replaced s.json, s/ of an earlier run").
 * On failure, as cli_outdir_abort. */
mhv_status cli_outdir_commit(cli_outdir *d, mhv_error *err);
/* Removes the staging directory and the directories begin created. When err is not NULL,
 * a path into the staging directory in err->file is rewritten to the path under OUT. */
void cli_outdir_abort(cli_outdir *d, mhv_error *err);
/* Names on stderr the directories OUT/<stem>-K (K > n) an earlier run left: sentences this
 * run did not have. */
void cli_outdir_leftovers(const cli_outdir *d, const char *stem, int n);

/* A single temporary file (stats --out) the signal handler removes; NULL to clear. */
void cli_signals_tmpfile(const char *path);

#endif
