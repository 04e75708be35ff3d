#include "base/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mhv_path_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

mhv_status mhv_read_stream(FILE *f, const char *name, size_t max_bytes, char **out, size_t *len,
                           mhv_error *err)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    for (;;) {
        if (n == cap) {
            if (cap >= max_bytes) {
                free(buf);
                return mhv_fail(err, MHV_EINPUT, name, "larger than %zu bytes", max_bytes);
            }
            cap = cap * 2 > max_bytes ? max_bytes : cap * 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                free(buf);
                return mhv_fail(err, MHV_EIO, name, "read error: %s", strerror(errno));
            }
            break;
        }
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return MHV_OK;
}

mhv_status mhv_read_file(const char *path, size_t max_bytes, char **out, size_t *len,
                         mhv_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mhv_fail(err, MHV_EIO, path, "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return mhv_fail(err, MHV_EIO, path, "not a regular file");
    }
    if ((unsigned long long)sb.st_size > max_bytes) {
        fclose(f);
        return mhv_fail(err, MHV_EFORMAT, path, "larger than %zu bytes", max_bytes);
    }
    mhv_status st = mhv_read_stream(f, path, max_bytes, out, len, err);
    fclose(f);
    return st;
}

mhv_status mhv_out_open(mhv_out *out, const char *path, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    if (strlen(path) >= sizeof out->path)
        return mhv_fail(err, MHV_EUSAGE, path, "path too long");
    snprintf(out->path, sizeof out->path, "%s", path);
    snprintf(out->tmp, sizeof out->tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(out->tmp);
    if (fd < 0) {
        out->tmp[0] = '\0';
        return mhv_fail(err, MHV_EIO, path, "cannot create: %s", strerror(errno));
    }
    /* mkstemp makes 0600; outputs are ordinary files */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    out->f = fdopen(fd, "wb");
    if (!out->f) {
        close(fd);
        unlink(out->tmp);
        out->tmp[0] = '\0';
        return mhv_fail(err, MHV_EIO, path, "cannot open: %s", strerror(errno));
    }
    return MHV_OK;
}

mhv_status mhv_out_commit(mhv_out *out, mhv_error *err)
{
    /* Flush first: a stream whose earlier write failed (disk full) still holds the data, so
     * the flush fails again and errno says why; errno left from before is unrelated. */
    errno = 0;
    int bad = fflush(out->f) != 0;
    int saved = errno;
    if (!bad && ferror(out->f))
        bad = 1, saved = 0;
    if (!bad && fsync(fileno(out->f)) != 0)
        bad = 1, saved = errno;
    if (fclose(out->f) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    out->f = NULL;
    if (bad || rename(out->tmp, out->path) != 0) {
        if (!bad)
            saved = errno;
        unlink(out->tmp);
        out->tmp[0] = '\0';
        return mhv_fail(err, MHV_EIO, out->path, "write failed: %s",
                        saved ? strerror(saved) : "I/O error or no space left on device");
    }
    out->tmp[0] = '\0';
    return MHV_OK;
}

void mhv_out_abort(mhv_out *out)
{
    if (out->f) {
        fclose(out->f);
        out->f = NULL;
    }
    if (out->tmp[0]) {
        unlink(out->tmp);
        out->tmp[0] = '\0';
    }
}

mhv_status mhv_mkdir_p(const char *path, mhv_error *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return mhv_fail(err, MHV_EUSAGE, path, "path too long");
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return mhv_fail(err, MHV_EIO, buf, "cannot create directory: %s", strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return mhv_fail(err, MHV_EIO, path, "not a directory");
    return MHV_OK;
}
