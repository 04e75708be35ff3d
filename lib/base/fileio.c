#include "base/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* Opens path for reading without blocking: a FIFO with no writer would otherwise hang
 * open() forever. Fills *sb; the descriptor is blocking again on return. */
static int open_read(const char *path, struct stat *sb, mhv_error *err, mhv_status *st)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        *st = mhv_fail(err, MHV_EIO, path, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (fstat(fd, sb) != 0) {
        *st = mhv_fail(err, MHV_EIO, path, "cannot open: %s", strerror(errno));
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

static mhv_status read_fd(int fd, const char *path, size_t max_bytes, char **out, size_t *len,
                          mhv_error *err)
{
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return mhv_fail(err, MHV_ENOMEM, path, "out of memory");
    }
    mhv_status st = mhv_read_stream(f, path, max_bytes, out, len, err);
    fclose(f);
    return st;
}

mhv_status mhv_read_file(const char *path, size_t max_bytes, char **out, size_t *len,
                         mhv_error *err)
{
    struct stat sb;
    mhv_status st;
    int fd = open_read(path, &sb, err, &st);
    if (fd < 0)
        return st;
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return mhv_fail(err, MHV_EIO, path, "not a regular file");
    }
    if ((unsigned long long)sb.st_size > max_bytes) {
        close(fd);
        return mhv_fail(err, MHV_EFORMAT, path, "larger than %zu bytes", max_bytes);
    }
    st = read_fd(fd, path, max_bytes, out, len, err);
    if (st == MHV_EINPUT) /* grew while being read */
        st = MHV_EFORMAT;
    return st;
}

mhv_status mhv_read_input(const char *path, size_t max_bytes, char **out, size_t *len,
                          mhv_error *err)
{
    struct stat sb;
    mhv_status st;
    int fd = open_read(path, &sb, err, &st);
    if (fd < 0)
        return st;
    /* a pipe (process substitution), a terminal or a socket is read up to max_bytes */
    if (S_ISDIR(sb.st_mode) || S_ISBLK(sb.st_mode)) {
        close(fd);
        return mhv_fail(err, MHV_EIO, path, "not a regular file");
    }
    if (S_ISREG(sb.st_mode) && (unsigned long long)sb.st_size > max_bytes) {
        close(fd);
        return mhv_fail(err, MHV_EINPUT, path, "larger than %zu bytes", max_bytes);
    }
    return read_fd(fd, path, max_bytes, out, len, err);
}

/* A device, FIFO or socket already at the path is written through, never replaced (a
 * root `--out /dev/null` must not turn the device node into a file). */
static mhv_status open_direct(mhv_out *out, const char *path, const struct stat *sb,
                              mhv_error *err)
{
    if (S_ISDIR(sb->st_mode))
        return mhv_fail(err, MHV_EIO, path, "is a directory");
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    /* a reader started beside us (`cat fifo & mhaviz ... --out fifo`) gets 2 s to open it */
    for (int tries = 0; fd < 0 && errno == ENXIO && S_ISFIFO(sb->st_mode) && tries < 40; tries++) {
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
        fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    }
    if (fd < 0) {
        if (errno == ENXIO && S_ISFIFO(sb->st_mode))
            return mhv_fail(err, MHV_EIO, path, "is a FIFO that nobody reads");
        if (errno == ENXIO && S_ISSOCK(sb->st_mode))
            return mhv_fail(err, MHV_EIO, path, "is a socket");
        return mhv_fail(err, MHV_EIO, path, "cannot open: %s", strerror(errno));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (!(out->f = fdopen(fd, "wb"))) {
        close(fd);
        return mhv_fail(err, MHV_ENOMEM, path, "out of memory");
    }
    out->direct = 1;
    return MHV_OK;
}

mhv_status mhv_out_open(mhv_out *out, const char *path, mhv_error *err)
{
    memset(out, 0, sizeof *out);
    if (strlen(path) >= sizeof out->path)
        return mhv_fail(err, MHV_EUSAGE, path, "path too long");
    snprintf(out->path, sizeof out->path, "%s", path);
    if (strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0) {
        out->f = stdout;
        out->direct = 2;
        return MHV_OK;
    }
    /* a symbolic link is followed: the file it names is replaced, the link stays */
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
        char real[PATH_MAX];
        if (stat(path, &sb) != 0 && errno == ENOENT)
            return mhv_fail(err, MHV_EIO, path, "is a symbolic link to nothing");
        if (!realpath(path, real))
            return mhv_fail(err, MHV_EIO, path, "cannot follow: %s", strerror(errno));
        if (strlen(real) >= sizeof out->path)
            return mhv_fail(err, MHV_EUSAGE, path, "path too long");
        snprintf(out->path, sizeof out->path, "%s", real);
    }
    if (stat(out->path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return open_direct(out, out->path, &sb, err);
    snprintf(out->tmp, sizeof out->tmp, "%s.tmp.XXXXXX", out->path);
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
    if (out->direct) {
        /* written through: nothing to rename; standard output stays open */
        if (out->direct == 1 && fclose(out->f) != 0 && !bad)
            bad = 1, saved = errno;
        out->f = NULL;
        if (bad)
            return mhv_fail(err, MHV_EIO, out->direct == 2 ? "<stdout>" : out->path,
                            "write failed: %s",
                            saved ? strerror(saved) : "I/O error or no space left on device");
        return MHV_OK;
    }
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
        if (out->direct == 2)
            fflush(out->f);
        else
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
