/* fuzz.h - shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c).
 *
 * Each harness defines LLVMFuzzerTestOneInput (and may define LLVMFuzzerInitialize). Built
 * with clang -fsanitize=fuzzer for `make fuzz`; built with the ordinary compiler and
 * tests/fuzz/replay.c for `make test`, which replays the committed corpus and the crash
 * regressions through the same entry point. */
#ifndef MHV_FUZZ_H
#define MHV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* weak: replay.c calls it only when the harness defines it */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Fixtures are found relative to the repository root, where make runs the harnesses. */
#ifndef MHV_FUZZ_FIXTURES
#define MHV_FUZZ_FIXTURES "tests/fixtures"
#endif

/* Public test data (real tokenizers from other repositories) is read in place from here, never
 * copied into the repository; a harness falls back to a fixture made here when it is absent. */
#ifndef MHV_FUZZ_SHARED
#define MHV_FUZZ_SHARED "../shared/data"
#endif

/* A harness found a broken invariant: abort so libFuzzer saves the input. */
#define FUZZ_CHECK(cond)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

/* Puts data in an in-memory file and returns a path naming it, for loaders that take a
 * path (vocab.txt, tokenizer.json, input files). One file per slot (0..3) and process,
 * rewritten each call; nothing touches the disk. */
static inline const char *fuzz_as_file_n(int slot, const uint8_t *data, size_t size)
{
    static int fds[4] = {-1, -1, -1, -1};
    static char paths[4][64];
    if (slot < 0 || slot >= 4)
        abort();
    int fd = fds[slot];
    char *path = paths[slot];
    if (fd < 0) {
        fd = fds[slot] = memfd_create("mhv-fuzz", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof paths[slot], "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0) {
        perror("ftruncate");
        abort();
    }
    size_t off = 0;
    while (off < size) {
        ssize_t w = pwrite(fd, data + off, size - off, (off_t)off);
        if (w <= 0) {
            perror("pwrite");
            abort();
        }
        off += (size_t)w;
    }
    return path;
}

static inline const char *fuzz_as_file(const uint8_t *data, size_t size)
{
    return fuzz_as_file_n(0, data, size);
}

#endif
