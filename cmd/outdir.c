#include "outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"

/* ---- removal with async-signal-safe calls only (the signal handler uses it too) ---- */

/* Removes everything inside the directory fd; depth bounds the recursion (the trees are
 * ours: OUT/.mhaviz-X/<stem>/<figure>). */
static void empty_dir(int fd, int depth)
{
    char buf[4096];
    for (int pass = 0; pass < 4; pass++) {
        int removed = 0;
        long n;
        lseek(fd, 0, SEEK_SET);
        while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
            for (long off = 0; off < n;) {
                /* struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name */
                unsigned short reclen;
                memcpy(&reclen, buf + off + 16, sizeof reclen);
                const char *name = buf + off + 19;
                off += reclen;
                if (!reclen)
                    break;
                if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
                    continue;
                if (unlinkat(fd, name, 0) == 0) {
                    removed = 1;
                    continue;
                }
                if (errno != EISDIR || depth >= 8)
                    continue;
                int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub >= 0) {
                    empty_dir(sub, depth + 1);
                    close(sub);
                }
                if (unlinkat(fd, name, AT_REMOVEDIR) == 0)
                    removed = 1;
            }
        }
        if (!removed)
            break;
    }
}

static void remove_tree(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        empty_dir(fd, 0);
        close(fd);
    }
    rmdir(path);
}

/* rmdir path, then its parents, while longer than `existed` (what was there before). */
static void remove_created(const char *path, size_t existed)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return;
    memcpy(buf, path, n + 1);
    for (;;) {
        while (n > 1 && buf[n - 1] == '/')
            buf[--n] = '\0';
        if (n <= existed || rmdir(buf) != 0)
            return;
        while (n > 0 && buf[n - 1] != '/')
            n--;
        buf[n] = '\0';
    }
}

/* ---- signals ---- */

static char sig_stage[4096], sig_out[4096], sig_tmp[4096 + 16];
static size_t sig_existed;
static volatile sig_atomic_t sig_armed; /* 1: the staging tree, 2: the temporary file */
static const int sig_list[] = {SIGINT, SIGTERM, SIGHUP};

static void arm(int bit, int on)
{
    int v = __atomic_load_n(&sig_armed, __ATOMIC_SEQ_CST);
    __atomic_store_n(&sig_armed, on ? v | bit : v & ~bit, __ATOMIC_SEQ_CST);
}

static void on_signal(int sig)
{
    int armed = __atomic_load_n(&sig_armed, __ATOMIC_SEQ_CST);
    if (armed & 2)
        unlink(sig_tmp);
    if (armed & 1) {
        remove_tree(sig_stage);
        remove_created(sig_out, sig_existed);
    }
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig);
}

/* ---- SIGBUS: a mapped file (checkpoint, font) shrank while in use ---- */

static void put(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* The path /proc/self/maps gives for addr, into buf (control bytes as \xNN); "" if none.
 * Only async-signal-safe calls. */
static void mapped_path(uintptr_t addr, char *buf, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    buf[0] = '\0';
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char chunk[4096], line[4096 + 64];
    size_t ll = 0;
    ssize_t got;
    int found = 0;
    while (!found && (got = read(fd, chunk, sizeof chunk)) > 0) {
        for (ssize_t i = 0; i < got && !found; i++) {
            if (chunk[i] != '\n') {
                if (ll < sizeof line - 1)
                    line[ll++] = chunk[i];
                continue;
            }
            line[ll] = '\0';
            /* "start-end perms offset dev inode   path" */
            uintptr_t lo = 0, hi = 0;
            size_t k = 0;
            while (line[k] && line[k] != '-')
                lo = lo * 16 + (uintptr_t)(line[k] <= '9' ? line[k] - '0' : (line[k] | 32) - 'a' + 10), k++;
            if (line[k] == '-')
                k++;
            while (line[k] && line[k] != ' ')
                hi = hi * 16 + (uintptr_t)(line[k] <= '9' ? line[k] - '0' : (line[k] | 32) - 'a' + 10), k++;
            if (addr >= lo && addr < hi) {
                found = 1;
                const char *p = line + k;
                for (int field = 0; field < 4 && *p; field++) { /* perms offset dev inode */
                    while (*p == ' ')
                        p++;
                    while (*p && *p != ' ')
                        p++;
                }
                while (*p == ' ')
                    p++;
                size_t o = 0;
                for (; *p && o + 5 < size; p++) {
                    unsigned char c = (unsigned char)*p;
                    if (c < 0x20 || c == 0x7f) {
                        buf[o++] = '\\';
                        buf[o++] = 'x';
                        buf[o++] = hex[c >> 4];
                        buf[o++] = hex[c & 15];
                    } else {
                        buf[o++] = (char)c;
                    }
                }
                buf[o] = '\0';
            }
            ll = 0;
        }
    }
    close(fd);
}

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    /* every worker thread reading the shrunk mapping faults at once: one cleans up, says
     * it once and exits; the others wait for that exit */
    static int entered;
    if (__atomic_exchange_n(&entered, 1, __ATOMIC_SEQ_CST))
        for (;;)
            pause();
    static char path[4096];
    mapped_path((uintptr_t)si->si_addr, path, sizeof path);
    int armed = __atomic_load_n(&sig_armed, __ATOMIC_SEQ_CST);
    if (armed & 2)
        unlink(sig_tmp);
    if (armed & 1) {
        remove_tree(sig_stage);
        remove_created(sig_out, sig_existed);
    }
    put("mhaviz: ", 8);
    if (path[0]) {
        put(path, strlen(path));
        put(": ", 2);
    }
    static const char msg[] = "file shrank while mapped (truncated or replaced while in use)\n";
    put(msg, sizeof msg - 1);
    (void)sig;
    _exit(1);
}

void cli_signals_init(void)
{
    struct sigaction bus;
    memset(&bus, 0, sizeof bus);
    bus.sa_sigaction = on_sigbus;
    bus.sa_flags = SA_SIGINFO;
    sigemptyset(&bus.sa_mask);
    for (size_t i = 0; i < sizeof sig_list / sizeof sig_list[0]; i++)
        sigaddset(&bus.sa_mask, sig_list[i]);
    sigaction(SIGBUS, &bus, NULL);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sig_list / sizeof sig_list[0]; i++)
        sigaddset(&sa.sa_mask, sig_list[i]);
    for (size_t i = 0; i < sizeof sig_list / sizeof sig_list[0]; i++) {
        struct sigaction old;
        /* a signal ignored at start (nohup, `cmd &`) stays ignored */
        if (sigaction(sig_list[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(sig_list[i], &sa, NULL);
    }
}

static void block_signals(int block)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof sig_list / sizeof sig_list[0]; i++)
        sigaddset(&set, sig_list[i]);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

void cli_signals_tmpfile(const char *path)
{
    arm(2, 0);
    if (path && strlen(path) < sizeof sig_tmp) {
        memcpy(sig_tmp, path, strlen(path) + 1);
        arm(2, 1);
    }
}

/* ---- the transaction ---- */

mhv_status cli_outdir_begin(cli_outdir *d, const char *out, mhv_error *err)
{
    memset(d, 0, sizeof *d);
    size_t len = strlen(out);
    if (len == 0)
        return mhv_fail(err, MHV_EUSAGE, "", "--out is empty");
    /* stats --out - is standard output; a directory cannot be: refused rather than made
     * under the name "-" (./- names one) */
    if (strcmp(out, "-") == 0)
        return mhv_fail(err, MHV_EUSAGE, "", "--out - is not a directory (only stats writes to "
                        "standard output; ./- names a directory called -)");
    if (len + 16 >= sizeof d->out)
        return mhv_fail(err, MHV_EUSAGE, out, "path too long");
    memcpy(d->out, out, len + 1);
    d->existed = len;
    char buf[4096];
    memcpy(buf, out, len + 1);
    int created = 0;
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        if (buf[i - 1] == '/')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) == 0) {
            if (!created) {
                size_t k = i;
                while (k > 0 && buf[k - 1] != '/')
                    k--;
                d->existed = k;
                created = 1;
            }
        } else if (errno != EEXIST) {
            mhv_status st = mhv_fail(err, MHV_EIO, buf, "cannot create directory: %s",
                                     strerror(errno));
            if (created)
                remove_created(d->out, d->existed);
            return st;
        }
        buf[i] = c;
    }
    struct stat sb;
    if (stat(out, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        if (created)
            remove_created(d->out, d->existed);
        return mhv_fail(err, MHV_EIO, out, "not a directory");
    }
    snprintf(d->stage, sizeof d->stage, "%s/.mhaviz-XXXXXX", out);
    block_signals(1);
    if (!mkdtemp(d->stage)) {
        mhv_status st = mhv_fail(err, MHV_EIO, out, "cannot create a directory in it: %s",
                                 strerror(errno));
        remove_created(d->out, d->existed);
        block_signals(0);
        return st;
    }
    memcpy(sig_stage, d->stage, strlen(d->stage) + 1);
    memcpy(sig_out, d->out, strlen(d->out) + 1);
    sig_existed = d->existed;
    arm(1, 1);
    block_signals(0);
    d->active = 1;
    return MHV_OK;
}

void cli_outdir_abort(cli_outdir *d, mhv_error *err)
{
    if (!d->active)
        return;
    block_signals(1);
    remove_tree(d->stage);
    remove_created(d->out, d->existed);
    arm(1, 0);
    block_signals(0);
    d->active = 0;
    size_t n = strlen(d->stage);
    if (err && strncmp(err->file, d->stage, n) == 0) {
        char fixed[sizeof err->file];
        size_t a = strlen(d->out), b = strlen(err->file + n);
        if (a + b < sizeof fixed) {
            memcpy(fixed, d->out, a);
            memcpy(fixed + a, err->file + n, b + 1);
            memcpy(err->file, fixed, a + b + 1);
        }
    }
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir (not . and ..), sorted; NULL-terminated, caller frees each and the list. */
static char **list_dir(const char *dir, size_t *count)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return NULL;
    size_t n = 0, cap = 16;
    char **v = malloc(cap * sizeof *v);
    struct dirent *e;
    while (v && (e = readdir(dp))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n + 1 >= cap) {
            char **nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv)
                break;
            v = nv;
            cap *= 2;
        }
        if (!(v[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(dp);
    if (v) {
        v[n] = NULL;
        qsort(v, n, sizeof *v, name_cmp);
    }
    *count = n;
    return v;
}

static void free_list(char **v)
{
    if (v)
        for (char **p = v; *p; p++)
            free(*p);
    free(v);
}

/* Appends "name" (with "/" for a directory) to the list of replaced entries shown. */
static void note_replaced(char *list, size_t size, int *shown, int *more, const char *name,
                          int is_dir)
{
    size_t len = strlen(list);
    if (*shown < 8 && len + strlen(name) + 4 < size) {
        snprintf(list + len, size - len, "%s%s%s", *shown ? ", " : "", name, is_dir ? "/" : "");
        (*shown)++;
    } else {
        (*more)++;
    }
}

mhv_status cli_outdir_commit(cli_outdir *d, mhv_error *err)
{
    size_t count = 0;
    char **names = list_dir(d->stage, &count);
    if (!names) {
        mhv_status st = mhv_fail(err, MHV_ENOMEM, d->out, "cannot list the staged output");
        cli_outdir_abort(d, NULL);
        return st;
    }
    char trash[4096 + 32] = "", src[8192], dst[8192], old[8192], replaced[1024] = "";
    int shown = 0, more = 0;
    mhv_status st = MHV_OK;
    /* no signal between the renames: the run is either cleaned up or complete */
    block_signals(1);
    for (size_t i = 0; i < count && !st; i++) {
        snprintf(src, sizeof src, "%s/%s", d->stage, names[i]);
        snprintf(dst, sizeof dst, "%s/%s", d->out, names[i]);
        struct stat sb;
        int had = lstat(dst, &sb) == 0;
        if (had) {
            if (!trash[0]) {
                snprintf(trash, sizeof trash, "%s/.mhaviz-old-XXXXXX", d->out);
                if (!mkdtemp(trash)) {
                    trash[0] = '\0';
                    st = mhv_fail(err, MHV_EIO, d->out, "cannot create a directory in it: %s",
                                  strerror(errno));
                    break;
                }
            }
            snprintf(old, sizeof old, "%s/%s", trash, names[i]);
            if (rename(dst, old) != 0) {
                st = mhv_fail(err, MHV_EIO, dst, "cannot replace: %s", strerror(errno));
                break;
            }
            note_replaced(replaced, sizeof replaced, &shown, &more, names[i], S_ISDIR(sb.st_mode));
        }
        if (rename(src, dst) != 0) {
            st = mhv_fail(err, MHV_EIO, dst, "cannot move into place: %s", strerror(errno));
            if (had)
                rename(old, dst);
        }
    }
    free_list(names);
    if (trash[0])
        remove_tree(trash);
    if (st) {
        block_signals(0);
        cli_outdir_abort(d, NULL);
        return st;
    }
    rmdir(d->stage);
    arm(1, 0);
    block_signals(0);
    d->active = 0;
    if (shown) {
        char tail[32] = "";
        if (more)
            snprintf(tail, sizeof tail, " and %d more", more);
        cli_say("%s: replaced %s%s of an earlier run", d->out, replaced, tail);
    }
    return MHV_OK;
}

void cli_outdir_leftovers(const cli_outdir *d, const char *stem, int n)
{
    size_t count = 0, slen = strlen(stem);
    char **names = list_dir(d->out, &count);
    if (!names)
        return;
    char list[1024] = "";
    int shown = 0, more = 0;
    for (size_t i = 0; i < count; i++) {
        const char *nm = names[i];
        if (strncmp(nm, stem, slen) != 0 || nm[slen] != '-' || nm[slen + 1] < '1' ||
            nm[slen + 1] > '9' || strspn(nm + slen + 1, "0123456789") != strlen(nm + slen + 1) ||
            strlen(nm + slen + 1) > 9 || atoi(nm + slen + 1) <= n)
            continue;
        char path[8192];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", d->out, nm);
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            note_replaced(list, sizeof list, &shown, &more, nm, 1);
    }
    free_list(names);
    if (shown) {
        char tail[32] = "";
        if (more)
            snprintf(tail, sizeof tail, " and %d more", more);
        cli_say("warning: %s: %s%s are from an earlier run with more sentences (left as they are)",
                d->out, list, tail);
    }
}
