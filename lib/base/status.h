/* status.h - status codes and the one-line error every lib function fills on failure. */
#ifndef MHV_STATUS_H
#define MHV_STATUS_H

typedef enum {
    MHV_OK = 0,
    MHV_EIO,          /* a file could not be opened, read, mapped or written */
    MHV_EFORMAT,      /* a file's contents are malformed or inconsistent */
    MHV_EUNSUPPORTED, /* well-formed but not something mhaviz handles (dtype, architecture) */
    MHV_ENOMEM,       /* an allocation failed or a size read from a file is too large */
    MHV_EUSAGE,       /* the caller's request is invalid (bad head spec, sequence too long) */
    MHV_EINPUT        /* the input text is invalid (not UTF-8, NUL bytes) */
} mhv_status;

/* Filled by the function that fails: `file` names the file at fault (may be empty),
 * `msg` is one line without a final period. The CLI prints "mhaviz: file: msg". */
typedef struct {
    char file[512];
    char msg[512];
} mhv_error;

/* Sets err (if non-NULL) and returns st, so failures read `return mhv_fail(err, ...)`. */
mhv_status mhv_fail(mhv_error *err, mhv_status st, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Formats "file: msg" (or "msg" when file is empty) into buf, with every control byte
 * escaped (mhv_escape_controls): messages quote file names and file contents. */
void mhv_error_format(const mhv_error *err, char *buf, unsigned long size);

/* Copies s into buf (NUL-terminated, cut at a whole character when too long) with every
 * C0 control byte, DEL, C1 control (U+0080..U+009F) and byte that is not part of valid UTF-8
 * written as \xNN, so text from a file cannot drive the terminal it is printed on. A
 * backslash is kept as is. Returns buf. */
char *mhv_escape_controls(const char *s, char *buf, unsigned long size);

/* Length (1..4) of the valid UTF-8 sequence at s[0..avail), or 0 when none starts there
 * (truncated, bad continuation, overlong, a surrogate, above U+10FFFF). */
unsigned long mhv_utf8_len(const char *s, unsigned long avail);

#endif
