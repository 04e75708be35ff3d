/* bench_html.c - writes an explorer page (lib/fig/html.h) for attention of a given shape,
 * random rows that sum to 1, and prints its size and the time it took:
 *   bench_html LAYERS HEADS TOKENS CAUSAL OUT.html
 * Run by `make bench` (bench/bench_html.sh) for BERT-base at 128 tokens and a
 * Qwen2-0.5B-shaped decoder at 256; the page is then timed in headless Chromium. The size of
 * the page does not depend on the values, so random weights measure what a model's would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fig/html.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench_html LAYERS HEADS TOKENS CAUSAL OUT.html\n");
        return 2;
    }
    int L = atoi(argv[1]), H = atoi(argv[2]), n = atoi(argv[3]), causal = atoi(argv[4]);
    if (L < 1 || H < 1 || n < 1 || L > 128 || H > 128 || n > 4096)
        return 2;
    size_t per = (size_t)n * (size_t)n;
    mhv_attn a = {.n = n, .count = L * H, .heads = calloc((size_t)(L * H), sizeof(mhv_head_attn)),
                  .buf = malloc(sizeof(float) * per * (size_t)(L * H))};
    char **pieces = malloc((size_t)n * sizeof *pieces);
    if (!a.heads || !a.buf || !pieces)
        return 1;
    srand(7);
    for (int k = 0; k < L * H; k++) {
        a.heads[k] = (mhv_head_attn){.layer = k / H, .head = k % H, .w = a.buf + (size_t)k * per};
        for (int i = 0; i < n; i++) {
            float s = 0, *r = a.heads[k].w + (size_t)i * (size_t)n;
            for (int j = 0; j < n; j++)
                s += r[j] = causal && j > i ? 0.0f : (float)(rand() % 1000 + 1) / 1000.0f;
            for (int j = 0; j < n; j++)
                r[j] /= s;
        }
    }
    for (int i = 0; i < n; i++) {
        pieces[i] = malloc(16);
        snprintf(pieces[i], 16, i == 0 ? "[CLS]" : "tok%d", i);
    }
    mhv_fig_input in = {.model = "bench", .num_layers = L, .num_heads = H, .causal = causal,
                        .sentence = "a benchmark sentence", .n = n,
                        .pieces = (const char *const *)pieces};
    mhv_html_info info = {.model = "bench", .source = "bench.txt", .num_layers = L,
                          .num_heads = H, .causal = causal};
    FILE *f = fopen(argv[5], "wb");
    if (!f)
        return 1;
    mhv_error err = {0};
    double t0 = now();
    if (mhv_html_begin(f, argv[5], &info, &err) ||
        mhv_html_sentence(f, argv[5], &in, &a, NULL, NULL, &err) ||
        mhv_html_end(f, argv[5], &err) || fclose(f)) {
        fprintf(stderr, "bench_html: %s\n", err.msg);
        return 1;
    }
    double t1 = now();
    struct stat sb;
    if (stat(argv[5], &sb))
        return 1;
    printf("%d x %d heads, %d tokens%s: %.2f MB written in %.0f ms\n", L, H, n,
           causal ? " (causal)" : "", (double)sb.st_size / 1e6, (t1 - t0) * 1e3);
    for (int i = 0; i < n; i++)
        free(pieces[i]);
    free(pieces);
    free(a.heads);
    free(a.buf);
    return 0;
}
