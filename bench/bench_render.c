/* bench_render.c - figure rendering speed (CPU time of one thread): every head of a 12-layer, 12-head model on a
 * 30-token sentence (144 head images, 12 layer grids, one overview).
 * Run by `make bench`. Prints the machine, then CPU milliseconds per phase. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fig/canvas.h"
#include "fig/figures.h"
#include "fig/png_out.h"

/* CPU time of this process: the files are fsynced, and waiting for the disk is not
 * rendering. Wall time is printed too. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
    enum { L = 12, H = 12, N = 30 };
    static const char *const text[N] = {
        "[CLS]", "苹", "果", "从", "树", "上", "掉", "下", "来", "，", "小", "明", "把", "它",
        "捡", "起", "来", "了", "。", "the", "apple", "fell", "##s", "down", "and", "was",
        "picked", "up", ".", "[SEP]"};
    unsigned char special[N] = {0};
    special[0] = special[N - 1] = 1;
    mhv_attn a = {.n = N, .count = L * H, .heads = calloc(L * H, sizeof(mhv_head_attn)),
                  .buf = malloc(sizeof(float) * L * H * N * N)};
    srand(1);
    for (int k = 0; k < L * H; k++) {
        a.heads[k] = (mhv_head_attn){.layer = k / H, .head = k % H, .w = a.buf + (size_t)k * N * N};
        for (int i = 0; i < N; i++) {
            float s = 0, *r = a.heads[k].w + i * N;
            for (int j = 0; j < N; j++)
                s += r[j] = (float)(rand() % 1000) / 1000.0f;
            for (int j = 0; j < N; j++)
                r[j] /= s;
        }
    }
    mhv_fig_input in = {.model = "bench-12x12", .num_layers = L, .num_heads = H,
                        .sentence = "bench", .n = N, .pieces = text, .special = special};
    mhv_render_params p = mhv_render_default_params();
    mhv_error err = {0};
    mhv_fontset *fs;
    mhv_font_params fp = mhv_font_default_params();
    double t0 = now();
    if (mhv_font_open(&fp, &fs, &err)) {
        fprintf(stderr, "bench_render: %s\n", err.msg);
        return 1;
    }
    double t1 = now();
    if (mhv_figures_render_only(MHV_FIG_PNG, &p, fs, &in, &a, &err))
        return 1;
    double t2 = now();
    if (mhv_figures_render_only(MHV_FIG_PNG, &p, fs, &in, &a, &err))
        return 1;
    double t3 = now();
    /* the same figures encoded into /dev/null: what the PNG files cost before the file system */
    FILE *null = fopen("/dev/null", "wb");
    if (!null)
        return 1;
    double encode_cpu = 1e9;
    for (int round = 0; round < 3; round++) {
        double e0 = now();
        for (int f = 0; f <= a.count + L; f++) {
            mhv_scene s;
            mhv_status st = f < a.count ? mhv_render_head(&p, fs, &in, &a.heads[f], &s, &err)
                            : f < a.count + L ? mhv_render_layer(&p, fs, &in, &a, f - a.count, &s, &err)
                                              : mhv_render_model(&p, fs, &in, &a, &s, &err);
            mhv_canvas c;
            if (st || mhv_canvas_new(s.width, s.height, &c, &err) ||
                mhv_canvas_draw(&c, &s, fs, &err) || mhv_png_write(null, "null", &c, &s, p.dpi, &err))
                return 1;
            mhv_canvas_free(&c);
            mhv_scene_free(&s);
        }
        encode_cpu = now() - e0 < encode_cpu ? now() - e0 : encode_cpu;
    }
    fclose(null);
    char dir[] = "/tmp/mhaviz-bench.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    mhv_written w = {0};
    char sub[64];
    /* the machine may be shared: the best of three rounds, each into a fresh directory */
    double png_cpu = 1e9, png_wall = 1e9;
    long png_bytes = 0;
    for (int round = 0; round < 3; round++) {
        snprintf(sub, sizeof sub, "%s/png%d", dir, round);
        double t4 = now(), w4 = wall();
        if (mhv_figures_write(sub, MHV_FIG_PNG, &p, fs, &in, &a, &w, &err))
            return 1;
        double t5 = now(), w5 = wall();
        png_cpu = t5 - t4 < png_cpu ? t5 - t4 : png_cpu;
        png_wall = w5 - w4 < png_wall ? w5 - w4 : png_wall;
        png_bytes = 0;
        for (int i = 0; i < w.n; i++) {
            struct stat sb;
            if (!w.is_dir[i] && stat(w.path[i], &sb) == 0)
                png_bytes += (long)sb.st_size;
        }
        mhv_written_undo(&w);
    }
    double t5 = now(), w5 = wall();
    snprintf(sub, sizeof sub, "%s/svg", dir);
    if (mhv_figures_write(sub, MHV_FIG_SVG, &p, fs, &in, &a, &w, &err))
        return 1;
    double t6 = now(), w6 = wall();
    mhv_written_undo(&w);
    mhv_written_free(&w);
    rmdir(dir);
    char cpu[256] = "unknown CPU";
    FILE *ci = fopen("/proc/cpuinfo", "r");
    if (ci) {
        char line[512];
        while (fgets(line, sizeof line, ci))
            if (strncmp(line, "model name", 10) == 0) {
                char *c = strchr(line, ':');
                if (c)
                    snprintf(cpu, sizeof cpu, "%s", c + 2);
                cpu[strcspn(cpu, "\n")] = '\0';
                break;
            }
        fclose(ci);
    }
    printf("render bench: %s, one thread; 144 heads of 12x12, 30 tokens, 157 figures\n", cpu);
    printf("fonts open:                        %7.1f ms\n", (t1 - t0) * 1e3);
    printf("layout+raster, 157 figures (cold): %7.1f ms\n", (t2 - t1) * 1e3);
    printf("layout+raster, 157 figures (warm): %7.1f ms\n", (t3 - t2) * 1e3);
    printf("PNG files written (best of 3):     %7.1f ms CPU, %7.1f ms wall, %.1f MB\n",
           png_cpu * 1e3, png_wall * 1e3, (double)png_bytes / 1e6);
    printf("  raster+encode without files:     %7.1f ms CPU (the rest is file system and fsync)\n",
           encode_cpu * 1e3);
    printf("SVG files written:                 %7.1f ms CPU, %7.1f ms wall\n", (t6 - t5) * 1e3,
           (w6 - w5) * 1e3);
    mhv_font_close(fs);
    free(a.heads);
    free(a.buf);
    return 0;
}
