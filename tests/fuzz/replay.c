/* replay.c - runs a fuzz harness over files and directories without libFuzzer, so `make test`
 * replays the committed corpus and crash regressions with the ordinary compiler (and under
 * ASan+UBSan in `make check`). A crash or sanitizer report fails the test; returning normally
 * for every input passes it.
 *
 *   replay NAME PATH...   (each PATH a file or a directory of files; missing ones are skipped) */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"


static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: cannot open\n", path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf)
            abort();
        if (n == cap)
            buf = realloc(buf, cap *= 2);
        if (!buf)
            abort();
        size_t k = fread(buf + n, 1, cap - n, f);
        if (k == 0)
            break;
        n += k;
    }
    fclose(f);
    /* an exact-size copy, so ASan sees a read one byte past the input as libFuzzer would */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact)
        abort();
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: replay NAME PATH...\n");
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int count = 0, failed = 0;
    for (int a = 2; a < argc; a++) {
        struct stat sb;
        if (stat(argv[a], &sb) != 0)
            continue;
        if (!S_ISDIR(sb.st_mode)) {
            failed += run_file(argv[a]) != 0;
            count++;
            continue;
        }
        DIR *d = opendir(argv[a]);
        if (!d)
            continue;
        char **names = NULL;
        size_t nn = 0;
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            names = realloc(names, (nn + 1) * sizeof *names);
            if (!names || !(names[nn] = malloc(strlen(argv[a]) + strlen(e->d_name) + 2)))
                abort();
            sprintf(names[nn++], "%s/%s", argv[a], e->d_name);
        }
        closedir(d);
        if (nn)
            qsort(names, nn, sizeof *names, cmp);
        for (size_t i = 0; i < nn; i++) {
            failed += run_file(names[i]) != 0;
            count++;
            free(names[i]);
        }
        free(names);
    }
    printf("fuzz-%s: %d passed, %d failed\n", argv[1], count - failed, failed);
    return failed ? 1 : 0;
}
