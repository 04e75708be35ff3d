/* cmd_stats.c - `mhaviz stats`: per-head statistics over a corpus, sharded and mergeable. */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "analysis/finite.h"
#include "outdir.h"
#include "commands.h"
#include "base/fileio.h"
#include "model/forward.h"
#include "base/heads.h"
#include "analysis/stats.h"
#include "fig/stats_fig.h"
#include "run_figures.h"
#include "analysis/rows.h"
#include "analysis/weighting.h"
#include "s2s_text.h"
#include "run_vision.h"
#include "s2s_audio.h"
#include "media/image.h"
#include "media/w2vfeat.h"
#include "media/wav.h"
#include "media/preprocess.h"

static const char stats_usage[] =
    "usage: mhaviz stats [--model DIR] [--format table|json|csv|png] [--out FILE] [--shard I/N]\n"
    "                    [--threads N] [--truncate] [--weighting attn|norm|norm-out]\n"
    "                    [--rows SPEC] [--pairs [--stack enc|dec|cross] [--src-lang CODE]\n"
    "                    [--tgt-lang CODE]] [--interpolate-pos] CORPUS\n"
    "       mhaviz stats --merge [--format table|json|csv|png] [--out FILE] PART.json...\n"
    "\n"
    "For every head, averaged over the sentences (non-empty lines) of CORPUS (- for stdin):\n"
    "attention entropy in bits, mean distance |i-j|, mass on the first token, on [SEP]/EOS,\n"
    "on the previous token, on the next token, on itself, and a one-word kind.\n"
    "Vision models: CORPUS lists images (or is one, .png/.jpg), as for run; distance is\n"
    "the mean 2-D distance in patches from a patch query to the patch keys (Dosovitskiy\n"
    "et al. 2021), on each image's own patch grid; json adds patch_grid (man mhaviz:\n"
    "STATISTICS); --interpolate-pos as for run.\n"
    "Speech encoders (wav2vec2, hubert, data2vec-audio, wavlm, unispeech, unispeech-sat,\n"
    "sew, sew-d): CORPUS lists WAV files (or is one .wav), as for run; each clip's tokens\n"
    "are its frames, distance in frames; json adds \"input\": \"audio\".\n"
    "\n"
    "  --model DIR      Hugging Face model directory (default: $MHAVIZ_MODEL, else the\n"
    "                   bundled sample model)\n"
    "  --format FMT     table (default), json (exact sums, for --merge), csv, or png (a\n"
    "                   layers x heads grid per statistic; needs --out)\n"
    "  --out FILE       write to FILE instead of stdout\n"
    "  --shard I/N      only sentences number I, I+N, I+2N ... (0-based); the N shards'\n"
    "                   JSON outputs merge to exactly the unsharded result\n"
    "  --merge          add up the JSON outputs given instead of reading a corpus\n"
    "  --threads N      sentences processed in parallel (default: online CPUs)\n"
    "  --truncate       cut sentences longer than the model's positions instead of failing\n"
    "                   (encoder-decoders: sources and targets, as run --truncate)\n"
    "  --weighting W    statistics of attn (default: attention weights), norm (alpha_ij *\n"
    "                   ||v_j||) or norm-out (alpha_ij * ||v_j W_O^h||), rows normalised\n"
    "                   to sum 1 (run --help); json and png titles name it, --merge adds\n"
    "                   only parts of one weighting\n"
    "  --rows SPEC      statistics of some query rows only (run --help): last, -K, I, A:B,\n"
    "                   word:W; json records it, --merge adds only parts of one SPEC\n"
    "  --colormap NAME, --cell PX, --dpi N, --font FILE, --font-size PX, --title TEXT,\n"
    "  --no-title, --model-name NAME, --values   figure options of --format png, as for\n"
    "                   run (values are printed when cells of --cell 22 or more hold them)\n"
    "  --scale MODE     fixed (default): masses 0..1, entropy and distance 0..their largest\n"
    "                   head; head or row: every panel from 0 to its largest value\n"
    "  --pairs          lines are FIRST<TAB>SECOND, as run --pairs. Encoders: the pair as\n"
    "                   tokenizer(first, second) encodes it (sep counts both separators).\n"
    "                   Encoder-decoders (T5, BART, Marian): SOURCE<TAB>TARGET; statistics\n"
    "                   of --stack's heads (--weighting too)\n"
    "  --stack STACK    enc (the encoder's, over the source), dec (the decoder's, over the\n"
    "                   decoder's input) or cross (target rows x source columns: entropy,\n"
    "                   first, sep over the source; distance from the diagonal, in source\n"
    "                   tokens; no prev, next, self); json records it, --merge adds only\n"
    "                   one stack\n"
    "  --src-lang CODE, --tgt-lang CODE   mBART's, NLLB's and M2M100's codes, as for run\n"
    "  -h, --help       show this help\n";

typedef struct {
    const char *model, *out;
    mhv_stats_format fmt;
    int png; /* --format png: drawn by stats_fig, not a text format */
    run_fig_opts fig;       /* --colormap, --cell, --dpi, --title ... (png only) */
    const char *fig_opt;    /* the first figure option given */
    int shard_i, shard_n, merge, threads, truncate;
    mhv_weighting weighting; /* --weighting */
    const char *rows;        /* --rows SPEC, or NULL: every row */
    int pairs;               /* --pairs on an encoder-decoder */
    int enc_pairs;           /* --pairs on a text encoder: tokenizer(first, second) */
    mhv_stack stack;         /* --stack: ENCODER, DECODER or CROSS; SELF when not given */
    const char *src_lang, *tgt_lang; /* --src-lang, --tgt-lang (mBART) */
    int interpolate_pos;     /* --interpolate-pos (vision models) */
    char **files;
    int n_files;
} stats_opts;

static int parse(int argc, char **argv, stats_opts *o)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'}, {"format", required_argument, 0, 'f'},
        {"out", required_argument, 0, 'o'},   {"shard", required_argument, 0, 's'},
        {"merge", no_argument, 0, 'M'},       {"threads", required_argument, 0, 'T'},
        {"truncate", no_argument, 0, 't'},    {"help", no_argument, 0, 'h'},
        {"weighting", required_argument, 0, 'W'},
        {"rows", required_argument, 0, 'R'},
        {"pairs", no_argument, 0, 'P'},       {"stack", required_argument, 0, 'S'},
        {"src-lang", required_argument, 0, 0x303}, {"tgt-lang", required_argument, 0, 0x304},
        {"interpolate-pos", no_argument, 0, 0x305},
        RUN_FIG_LONGOPTS,
        {0, 0, 0, 0},
    };
    *o = (stats_opts){.shard_n = 1};
    o->fig.render = mhv_render_default_params();
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'o': o->out = optarg; break;
        case 'M': o->merge = 1; break;
        case 'P': o->pairs = 1; break;
        case 0x303: o->src_lang = optarg; break;
        case 0x304: o->tgt_lang = optarg; break;
        case 0x305: o->interpolate_pos = 1; break;
        case 'S':
            if (strcmp(optarg, "enc") == 0 || strcmp(optarg, "encoder") == 0)
                o->stack = MHV_STACK_ENCODER;
            else if (strcmp(optarg, "dec") == 0 || strcmp(optarg, "decoder") == 0)
                o->stack = MHV_STACK_DECODER;
            else if (strcmp(optarg, "cross") == 0)
                o->stack = MHV_STACK_CROSS;
            else
                return cli_usage_error("stats", "--stack '%s' is not enc, dec or cross",
                                       optarg);
            break;
        case 't': o->truncate = 1; break;
        case 'W': {
            mhv_error e;
            if (mhv_weighting_parse(optarg, &o->weighting, &e))
                return cli_usage_error("stats", "--weighting '%s' is not attn, norm or "
                                       "norm-out", optarg);
            break;
        }
        case 'R': {
            mhv_error e;
            if (mhv_rows_check(optarg, &e))
                return cli_usage_error("stats", "--rows %s", e.msg);
            if (strlen(optarg) >= sizeof ((mhv_stats_acc *)0)->rows)
                return cli_usage_error("stats", "--rows SPEC is too long");
            o->rows = optarg;
            break;
        }
        case 'f':
            if (strcmp(optarg, "table") == 0)
                o->fmt = MHV_STATS_TABLE;
            else if (strcmp(optarg, "json") == 0)
                o->fmt = MHV_STATS_JSON;
            else if (strcmp(optarg, "csv") == 0)
                o->fmt = MHV_STATS_CSV;
            else if (strcmp(optarg, "png") == 0)
                o->png = 1;
            else
                return cli_usage_error("stats",
                                       "--format '%s' is not supported (supported: table, "
                                       "json, csv, png)", optarg);
            break;
        case 's': {
            char tail;
            if (sscanf(optarg, "%d/%d%c", &o->shard_i, &o->shard_n, &tail) != 2 ||
                o->shard_n < 1 || o->shard_i < 0 || o->shard_i >= o->shard_n)
                return cli_usage_error("stats", "--shard '%s' is not I/N with 0 <= I < N",
                                       optarg);
            break;
        }
        case 'T': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || v < 1 || v > 1024)
                return cli_usage_error("stats", "--threads '%s' is not a number from 1 to 1024",
                                       optarg);
            o->threads = (int)v;
            break;
        }
        case 'h': fputs(stats_usage, stdout); return -1;
        case ':': return cli_usage_error("stats", "option '%s' needs a value", argv[optind - 1]);
        default: {
            int rc = c >= FIG_OPT_FIRST && c < FIG_OPT_LAST
                         ? run_fig_option("stats", c, optarg, &o->fig) : 1;
            if (rc)
                return rc == 1 ? cli_usage_error("stats", "unknown option '%s'", argv[optind - 1])
                               : rc;
            if (c == FIG_OPT_VIEW || c == FIG_OPT_MIN_WEIGHT || c == FIG_OPT_SVG_TEXT)
                return cli_usage_error("stats", "--%s is not for stats figures",
                                       run_fig_option_name(c));
            if (!o->fig_opt)
                o->fig_opt = run_fig_option_name(c);
        }
        }
    }
    if (o->fig_opt && !o->png)
        return cli_usage_error("stats", "--%s is for --format png", o->fig_opt);
    o->files = argv + optind;
    o->n_files = argc - optind;
    if ((o->src_lang || o->tgt_lang) && !o->stack)
        return cli_usage_error("stats", "--src-lang and --tgt-lang need --pairs and --stack "
                               "(an encoder-decoder model)");
    if ((o->pairs || o->stack) && (o->merge || !o->pairs || o->rows ||
                                   ((o->weighting || o->truncate) && !o->stack)))
        return cli_usage_error("stats", "--stack needs --pairs; --pairs works without "
                               "--merge and --rows, and on encoders without --weighting and "
                               "--truncate");
    if (o->merge) {
        if (o->n_files < 1)
            return cli_usage_error("stats", "--merge needs at least one JSON file");
        if (o->model || o->shard_n != 1 || o->truncate || o->weighting)
            return cli_usage_error("stats", "--merge takes no --model, --shard, --truncate or "
                                   "--weighting");
        if (o->rows)
            return cli_usage_error("stats", "--merge takes no --rows (the parts record theirs)");
    } else if (o->n_files != 1) {
        return cli_usage_error("stats", o->n_files < 1 ? "no input CORPUS given"
                                                       : "exactly one input CORPUS expected");
    }
    if (o->png && !o->out)
        return cli_usage_error("stats", "--format png needs --out FILE");
    if (!o->threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o->threads = n < 1 ? 1 : n > 64 ? 64 : (int)n;
    }
    return 0;
}

/* The work shared by the threads: each takes the next sentence of the shard and adds it to
 * its own sums; integer sums make the order irrelevant. */
typedef struct {
    const mhv_model *m;
    const mhv_tok *tok;
    const s2s_text *tx;     /* --pairs on an encoder-decoder: sources and decoder inputs */
    const mhv_input *in;
    const mhv_heads *sel;
    const stats_opts *o;
    const mhv_preprocess *pp; /* vision models: the lines are images prepared as this says */
    const mhv_w2vfeat_cfg *fe; /* speech encoders: the lines are WAV files read as this says */
    int *todo;          /* (n_todo,) sentence indices of this shard */
    int n_todo;
    atomic_int next, done, failed;
    pthread_mutex_t lock;
    mhv_status st;      /* the first failure, under lock */
    mhv_error err;
} job;

typedef struct {
    job *j;
    mhv_stats_acc acc;
    int is_main;
    float *px;          /* vision models: (channels, height, width) the image being run;
                         * speech encoders: the clip's input_values */
    size_t px_cap;      /* bytes */
} worker;

static void fail_job(job *j, mhv_status st, const mhv_error *err, int line)
{
    pthread_mutex_lock(&j->lock);
    if (!j->st) {
        j->st = st;
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        if (line > 0)
            mhv_fail(&j->err, st, j->in->name, "line %d: %s", line, msg);
        else
            j->err = *err;
    }
    pthread_mutex_unlock(&j->lock);
    atomic_store(&j->failed, 1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "stats 120/1000  35.2 sentences/s  ETA 0:25" on a terminal's stderr. */
static void progress(int k, int n, double t0, double *last, int done)
{
    if (!isatty(STDERR_FILENO))
        return;
    double t = now();
    if (done) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        return;
    }
    if (t - *last < 0.2)
        return;
    *last = t;
    double rate = k / (t - t0 > 1e-9 ? t - t0 : 1e-9);
    int eta = rate > 0 ? (int)((n - k) / rate + 0.5) : 0;
    fprintf(stderr, "\r\033[Kstats %d/%d  %.1f sentences/s  ETA %d:%02d", k, n, rate, eta / 60,
            eta % 60);
    fflush(stderr);
}

/* An encoder-decoder sentence pair (--pairs): the stack's square maps as one attention of
 * its tokens. */
static void process_pair(worker *w, mhv_forward_ctx *fc, int idx, unsigned char *sep)
{
    job *j = w->j;
    const mhv_model *m = j->m;
    const mhv_sentence *s = &j->in->s[idx];
    mhv_error err = {0};
    const char *tab = memchr(s->text, '\t', s->len);
    if (!tab) {
        mhv_fail(&err, MHV_EINPUT, "", "no TAB between source and target (--pairs)");
        fail_job(j, MHV_EINPUT, &err, s->line);
        return;
    }
    size_t sl = (size_t)(tab - s->text);
    mhv_encoding es, et;
    mhv_sentence src = {s->text, sl, s->line}, tgt = {tab + 1, s->len - sl - 1, s->line};
    mhv_status st = s2s_encode_source(j->tx, &src, INPUT_TEXT, &es, &err);
    if (st) {
        fail_job(j, st, &err, s->line);
        return;
    }
    /* the decoder start token, then the target's tokens (run --pairs) */
    if ((st = s2s_encode_target(j->tx, &tgt, INPUT_TEXT, &et, &err))) {
        mhv_encoding_free(&es);
        fail_job(j, st, &err, s->line);
        return;
    }
    if (j->o->truncate) { /* as run --truncate: the closing special tokens kept */
        cli_truncate(j->tx->src_tok, &es, m->cfg.max_positions, 1);
        cli_truncate(j->tx->tgt_tok, &et, m->cfg.max_positions, 1);
    }
    int nt = et.n;
    mhv_attn a = {0};
    st = mhv_forward_run_seq2seq(fc, m, es.ids, es.n, et.ids, nt, j->sel, &a, &err);
    if (!st) /* --weighting: the stack's maps reweighted by their own keys' value norms */
        st = mhv_weighting_apply(&a, j->o->weighting, NULL, &err);
    /* separators as for other models: special tokens after the first covering no text;
     * the cross-attention's keys are the source's tokens */
    int cross = j->o->stack == MHV_STACK_CROSS;
    int enc = j->o->stack == MHV_STACK_ENCODER || cross, n = enc ? es.n : nt;
    const mhv_tok *stok = enc ? j->tx->src_tok : j->tx->tgt_tok;
    for (int t = 0; !st && t < n; t++) {
        const mhv_encoding *e = enc ? &es : &et;
        sep[t] = t > 0 && e->spans[2 * t] < 0 && mhv_tok_is_special(stok, e->ids[t]);
    }
    mhv_encoding_free(&es);
    mhv_encoding_free(&et);
    if (!st) {
        for (int k = 0; k < a.count && !st; k++)
            if (!(a.heads[k].rows == (cross ? nt : n) && a.heads[k].cols == n))
                st = mhv_fail(&err, MHV_EUSAGE, "", "internal: maps of another stack");
        mhv_attn view = a; /* the stack's maps: n x n, or nt x n for the cross-attention */
        view.n = n;
        view.rows = n;
        if (!st)
            st = mhv_stats_acc_add(&w->acc, &view, sep, &err);
        mhv_attn_free(&a);
    }
    if (st)
        fail_job(j, st, &err, s->line);
}

/* w->px grown to bytes. */
static int px_fit(worker *w, size_t bytes)
{
    if (bytes <= w->px_cap)
        return 0;
    float *p = realloc(w->px, bytes);
    if (!p)
        return -1;
    w->px = p, w->px_cap = bytes;
    return 0;
}

/* The tail of an image's or a clip's work, st what its reading came to: the forward pass
 * over its n tokens (fo: its pixels or samples), the attention checked finite and added to
 * w's statistics (g: the image's patch grid, NULL for a clip); a failure names path when its
 * message names no file, and fails the job. */
static void forward_add(worker *w, mhv_forward_ctx *fc, mhv_status st, int n,
                        const mhv_forward_opts *fo, const mhv_image_grid *g, const char *path,
                        mhv_error *err)
{
    job *j = w->j;
    mhv_attn a;
    if (!st && !(st = mhv_forward_run_opts(fc, j->m, NULL, NULL, n, j->sel, fo, &a, err))) {
        if (g)
            w->acc.patch_cols = g->cols;
        if (!(st = mhv_attn_check_finite(&a, err)))
            st = mhv_stats_acc_add(&w->acc, &a, NULL, err);
        mhv_attn_free(&a);
    }
    if (st && !err->file[0])
        snprintf(err->file, sizeof err->file, "%.*s", (int)sizeof err->file - 1, path);
    if (st)
        fail_job(j, st, err, 0);
}

/* A vision model's image: its heads over the patches; distance 2-D on the image's own patch
 * grid. */
static void process_image(worker *w, mhv_forward_ctx *fc, int idx)
{
    job *j = w->j;
    const mhv_config *c = &j->m->cfg;
    char path[4096];
    run_vision_path(j->o->files[0], &j->in->s[idx], path, sizeof path);
    mhv_image im;
    mhv_image_grid g = {0};
    mhv_error err = {0};
    int W = 0, H = 0;
    mhv_status st = mhv_image_read(path, &im, &err);
    if (!st) {
        if (!(st = mhv_preprocess_size(j->pp, im.width, im.height, &W, &H, path, &err)) &&
            !(st = run_vision_grid(j->m, H, W, j->o->interpolate_pos, &g, &err))) {
            if (px_fit(w, (size_t)c->num_channels * (size_t)H * (size_t)W * sizeof *w->px))
                st = mhv_fail(&err, MHV_ENOMEM, "", "out of memory");
            else
                st = mhv_preprocess_run(j->pp, &im, H, W, w->px, NULL, path, &err);
        }
        mhv_image_free(&im);
    }
    mhv_forward_opts fo = {.pixels = w->px, .image_h = H, .image_w = W,
                           .interpolate_pos = j->o->interpolate_pos};
    forward_add(w, fc, st, g.tokens, &fo, &g, path, &err);
}

/* A speech encoder's clip (a line of CORPUS, or CORPUS itself when it is a .wav): its heads
 * over the frames, distances in frames. */
static void process_audio(worker *w, mhv_forward_ctx *fc, int idx)
{
    job *j = w->j;
    const char *file = j->o->files[0];
    const mhv_sentence *s = &j->in->s[idx];
    char path[4096];
    s2s_audio_path(file, s, path, sizeof path);
    mhv_wav wav;
    mhv_error err = {0};
    long frames = 0;
    size_t samples = 0;
    mhv_status st = mhv_wav_read(path, j->fe->sampling_rate, &wav, &err);
    if (!st) {
        samples = wav.frames;
        frames = mhv_config_speech_frames(&j->m->cfg, (long)samples);
        if (frames < 1)
            st = mhv_fail(&err, MHV_EINPUT, path, "%zu samples are too short for one frame of "
                          "%s", samples, j->m->cfg.arch);
        else if (frames > CLI_MAX_TOKENS)
            st = mhv_fail(&err, MHV_EINPUT, path, "%zu samples are too long (more than %d "
                          "frames of %s)", samples, CLI_MAX_TOKENS, j->m->cfg.arch);
        else if (px_fit(w, (samples ? samples : 1) * sizeof *w->px))
            st = mhv_fail(&err, MHV_ENOMEM, "", "out of memory");
        else
            mhv_w2vfeat_run(j->fe, wav.samples, samples, w->px);
        mhv_wav_free(&wav);
    }
    mhv_forward_opts fo = {.audio = w->px, .audio_samples = (long)samples};
    forward_add(w, fc, st, (int)frames, &fo, NULL, path, &err);
}

/* A sentence read and tokenized, waiting in its worker's pack: what the forward pass takes
 * and what the statistics need after it. */
typedef struct {
    int idx;                /* in the input */
    int n;                  /* tokens kept */
    int32_t *ids, *types;   /* (n,) ids; token types or NULL */
    unsigned char *sep;     /* (n,) separators: special tokens after the first that cover
                             * no text ([SEP], EOS) */
    int *rows, nrows;       /* --rows' positions among the tokens kept, or NULL */
} pending;

static void pending_free(pending *p)
{
    free(p->ids), free(p->types), free(p->sep), free(p->rows);
    memset(p, 0, sizeof *p);
}

/* Sentence idx tokenized (and cut as --truncate says) into p; a failure is the job's. */
static int prepare(worker *w, int idx, pending *p)
{
    job *j = w->j;
    const mhv_sentence *s = &j->in->s[idx];
    mhv_encoding e;
    mhv_error err = {0};
    memset(p, 0, sizeof *p);
    p->idx = idx;
    mhv_status st = cli_encode_one(j->tok, s, j->o->enc_pairs ? INPUT_PAIRS : INPUT_TEXT, &e,
                                   &err);
    if (st) {
        fail_job(j, st, &err, s->line);
        return -1;
    }
    int max = j->m->cfg.max_positions, n = e.n;
    if (n > max && !j->o->truncate) {
        mhv_fail(&err, MHV_EINPUT, "", "%d tokens exceed the model's %d positions%s", n, max,
                 j->o->enc_pairs ? "" : " (use --truncate)");
        fail_job(j, MHV_EINPUT, &err, s->line);
        mhv_encoding_free(&e);
        return -1;
    }
    /* truncation keeps the closing special token, as `run --truncate` does */
    int keep = p->n = n > max ? max : n;
    const int32_t *types = cli_type_ids(j->m, &e);
    p->ids = malloc((size_t)keep * sizeof *p->ids);
    p->sep = malloc((size_t)keep);
    p->types = types ? malloc((size_t)keep * sizeof *p->types) : NULL;
    if (!p->ids || !p->sep || (types && !p->types))
        st = mhv_fail(&err, MHV_ENOMEM, "", "out of memory");
    for (int t = 0; !st && t < keep; t++) {
        int src = n > max && t == keep - 1 ? n - 1 : t;
        p->ids[t] = e.ids[src];
        p->sep[t] = t > 0 && e.spans[2 * src] < 0 && mhv_tok_is_special(j->tok, e.ids[src]);
        if (types)
            p->types[t] = types[t];
    }
    if (!st && j->o->rows) { /* positions among the tokens kept */
        mhv_encoding kept = e;
        kept.n = keep;
        st = mhv_rows_resolve(j->o->rows, s->text, s->len, &kept, &p->rows, &p->nrows, &err);
    }
    mhv_encoding_free(&e);
    if (st) {
        pending_free(p);
        fail_job(j, st, &err, s->line);
        return -1;
    }
    return 0;
}

/* The maps of sentence p into the worker's sums. */
static void add_stats(worker *w, const pending *p, mhv_attn *a)
{
    job *j = w->j;
    mhv_error err = {0};
    mhv_status st;
    if ((st = mhv_attn_check_finite(a, &err)) ||
        (st = mhv_weighting_apply(a, j->o->weighting, NULL, &err))) {
        fail_job(j, st, &err, j->in->s[p->idx].line);
        return;
    }
    if ((st = mhv_stats_acc_add(&w->acc, a, p->sep, &err)))
        fail_job(j, st, &err, 0);
}

/* The sentences ps(count) as packed passes (one at a time when the model does not pack):
 * each one's maps into the sums, then freed with it. */
static void run_pending(worker *w, mhv_forward_ctx *fc, pending *ps, int count,
                        mhv_forward_item *items, mhv_attn *outs)
{
    job *j = w->j;
    for (int s = 0; s < count; s++)
        items[s] = (mhv_forward_item){ps[s].ids, ps[s].types, ps[s].n, ps[s].rows, ps[s].nrows};
    mhv_error err = {0};
    int done = 0;
    mhv_status st = mhv_forward_run_pack(fc, j->m, items, count, j->sel, outs, &done, &err);
    for (int s = 0; s < done; s++) {
        if (!atomic_load(&j->failed))
            add_stats(w, &ps[s], &outs[s]);
        mhv_attn_free(&outs[s]);
    }
    if (st)
        fail_job(j, st, &err, j->in->s[ps[done].idx].line);
    for (int s = 0; s < count; s++)
        pending_free(&ps[s]);
}

static void *work(void *arg)
{
    worker *w = arg;
    job *j = w->j;
    mhv_forward_params fp = cli_forward_params(1); /* parallel over sentences, not inside one */
    fp.value_norms = mhv_weighting_vnorm(j->o->weighting);
    mhv_forward_ctx *fc = NULL;
    mhv_error err = {0};
    int max = j->m->cfg.max_positions;
    const mhv_config *c = &j->m->cfg;
    if (j->pp && px_fit(w, (size_t)c->num_channels * (size_t)c->image_size *
                               (size_t)c->image_size * sizeof *w->px))
        w->px = NULL;
    mhv_status st = mhv_forward_ctx_new(&fp, &fc, &err);
    /* consecutive sentences of up to `budget` tokens in all run as one pass */
    int budget = st || j->o->pairs || j->pp || j->fe ? 0 : mhv_forward_pack_tokens(fc, j->m);
    int cap = budget > 0 ? budget : 1; /* sentences a pack may hold: one token each */
    unsigned char *sep = malloc((size_t)max);
    pending *ps = calloc((size_t)cap + 1, sizeof *ps);
    mhv_forward_item *items = malloc((size_t)cap * sizeof *items);
    mhv_attn *outs = malloc((size_t)cap * sizeof *outs);
    if (!st && (!sep || !ps || !items || !outs || (j->pp && !w->px)))
        st = mhv_fail(&err, MHV_ENOMEM, "", "out of memory");
    if (st)
        fail_job(j, st, &err, 0);
    double t0 = now(), last = 0;
    int np = 0, tokens = 0; /* the pack gathered so far */
    while (!st && !atomic_load(&j->failed)) {
        int k = atomic_fetch_add(&j->next, 1);
        if (k >= j->n_todo)
            break;
        if (j->pp) {
            process_image(w, fc, j->todo[k]);
        } else if (j->fe) {
            process_audio(w, fc, j->todo[k]);
        } else if (j->o->pairs) {
            process_pair(w, fc, j->todo[k], sep);
        } else {
            if (prepare(w, j->todo[k], &ps[np]))
                break;
            if (np > 0 && tokens + ps[np].n > budget) { /* the pack is full: run it first */
                pending next = ps[np];
                run_pending(w, fc, ps, np, items, outs);
                ps[0] = next;
                np = tokens = 0;
            }
            tokens += ps[np++].n;
            if (np >= cap || tokens >= budget) {
                run_pending(w, fc, ps, np, items, outs);
                np = tokens = 0;
            }
        }
        int d = atomic_fetch_add(&j->done, 1) + 1;
        if (w->is_main)
            progress(d, j->n_todo, t0, &last, 0);
    }
    if (np && !atomic_load(&j->failed))
        run_pending(w, fc, ps, np, items, outs);
    for (int s = 0; ps && s < np; s++)
        pending_free(&ps[s]);
    mhv_forward_ctx_free(fc);
    free(sep);
    free(ps);
    free(items);
    free(outs);
    free(w->px);
    w->px = NULL, w->px_cap = 0;
    return NULL;
}

static mhv_status run_corpus(const stats_opts *given, mhv_stats_acc *total, char *model_dir,
                             size_t model_size, mhv_error *err)
{
    stats_opts opts = *given, *o = &opts; /* --pairs is settled once the model is known */
    char buf[4096];
    const char *dir = cli_model_dir(o->model, buf, sizeof buf);
    snprintf(model_dir, model_size, "%s", dir);
    mhv_model *m = NULL;
    mhv_tok *tok = NULL;
    mhv_input in = {0};
    mhv_heads sel = {0};
    s2s_text tx = {0};
    worker *ws = NULL;
    pthread_t *tids = NULL;
    job j = {0};
    int started = 0;
    mhv_status st;
    if ((st = cli_open_model(dir, INPUT_TEXT, &m, &tok, err)))
        goto done;
    if (m->cfg.audio_positions) {
        st = mhv_fail(err, MHV_EUNSUPPORTED, "", "stats is not available for %s (%s) "
                      "models yet: run is", m->cfg.arch,
                      m->cfg.image_enc_dec ? "image-to-text" : "audio");
        goto done;
    }
    if (m->cfg.image_in_text && !m->cfg.image_optional) { /* Gemma 3: its text alone */
        st = mhv_fail(err, MHV_EUNSUPPORTED, "", "stats is not available for %s (an image with "
                      "each prompt) yet: run --image is", m->cfg.arch);
        goto done;
    }
    if (m->cfg.swin) {
        st = mhv_fail(err, MHV_EUNSUPPORTED, "", "stats is not available for %s yet (its "
                      "stages have token grids of their own): run is", m->cfg.arch);
        goto done;
    }
    int L = m->cfg.num_layers; /* the layers summed: an encoder-decoder's stack's */
    mhv_preprocess pp;
    int vision = m->cfg.vision, grid = vision ? m->cfg.image_size / m->cfg.patch_size : 0;
    int speech = m->cfg.speech;
    mhv_w2vfeat_cfg fe;
    if ((vision || speech) &&
        (o->pairs || o->rows || o->truncate || o->weighting != MHV_WEIGHT_ATTN)) {
        st = mhv_fail(err, MHV_EUSAGE, "", "--pairs, --rows, --truncate and --weighting are "
                      "for text models, not %s", m->cfg.arch);
        goto done;
    }
    if (m->cfg.spectrogram) { /* its tokens are a grid of patches, neither frames nor text */
        st = mhv_fail(err, MHV_EUNSUPPORTED, "", "stats is not available for %s yet: run is",
                      m->cfg.arch);
        goto done;
    }
    if (speech && (st = mhv_w2vfeat_load(m->dir, &fe, err)))
        goto done;
    if (vision && (st = mhv_preprocess_load(m->dir, m->cfg.image_size, &pp, err)))
        goto done;
    if (o->pairs && !m->cfg.enc_dec && !m->cfg.causal) { /* an encoder's sentence pairs */
        if (o->stack) {
            st = mhv_fail(err, MHV_EUSAGE, "", "--stack is for encoder-decoder models; %s is "
                          "an encoder", m->cfg.arch);
            goto done;
        }
        o->pairs = 0;
        o->enc_pairs = 1;
    }
    if (o->pairs && !o->stack) {
        st = mhv_fail(err, MHV_EUSAGE, "", "%s is an encoder-decoder model: --pairs needs "
                      "--stack enc, dec or cross", m->cfg.arch);
        goto done;
    }
    if (!o->enc_pairs && m->cfg.enc_dec != o->pairs) {
        st = mhv_fail(err, MHV_EUSAGE, "", o->pairs ? "--pairs needs a text encoder or an "
                      "encoder-decoder model; %s is neither" : "%s is an encoder-decoder model: give --pairs (lines "
                      "SOURCE<TAB>TARGET) and --stack enc, dec or cross", m->cfg.arch);
        goto done;
    }
    if (o->pairs && (st = s2s_text_open(&tx, m, tok, o->src_lang, o->tgt_lang, err)))
        goto done;
    if (o->pairs) {
        int Le = m->cfg.num_layers, Ld = m->cfg.dec_layers, H = m->cfg.num_heads;
        int first = o->stack == MHV_STACK_ENCODER ? 0
                    : o->stack == MHV_STACK_DECODER ? Le : Le + Ld;
        L = o->stack == MHV_STACK_ENCODER ? Le : Ld;
        if ((st = mhv_heads_parse_seq2seq("all", Le, Ld, H, &sel, err)))
            goto done;
        for (int l = 0; l < Le + 2 * Ld; l++)
            if (l < first || l >= first + L)
                memset(sel.sel + (size_t)l * (size_t)H, 0, (size_t)H);
    } else if ((st = mhv_heads_parse("all", L, m->cfg.num_heads, &sel, err))) {
        goto done;
    }
    if ((st = vision   ? run_vision_input(o->files[0], &in, err)
               : speech ? s2s_audio_input(o->files[0], &in, err)
                        : mhv_input_read(o->files[0], &in, err)) ||
        (st = mhv_stats_acc_init(total, L, m->cfg.num_heads, err)))
        goto done;
    total->patch_grid = grid, total->patch_extra = m->cfg.vision_extra;
    total->audio = speech;
    if (o->pairs)
        snprintf(total->stack, sizeof total->stack, "%s", mhv_stack_name(o->stack));
    total->weighting = (int)o->weighting;
    snprintf(total->rows, sizeof total->rows, "%s", o->rows ? o->rows : "");
    j = (job){.m = m, .tok = tok, .tx = &tx, .in = &in, .sel = &sel, .o = o,
              .pp = vision ? &pp : NULL, .fe = speech ? &fe : NULL};
    pthread_mutex_init(&j.lock, NULL);
    j.todo = malloc((size_t)in.n * sizeof *j.todo);
    int T = o->threads;
    ws = calloc((size_t)T, sizeof *ws);
    tids = calloc((size_t)T, sizeof *tids);
    if (!j.todo || !ws || !tids) {
        st = mhv_fail(err, MHV_ENOMEM, in.name, "out of memory");
        goto done;
    }
    for (int i = o->shard_i; i < in.n; i += o->shard_n)
        j.todo[j.n_todo++] = i;
    if (T > j.n_todo)
        T = j.n_todo > 0 ? j.n_todo : 1;
    for (int t = 0; t < T; t++) {
        ws[t].j = &j;
        ws[t].is_main = t == 0;
        if ((st = mhv_stats_acc_init(&ws[t].acc, L, m->cfg.num_heads, err)))
            goto done;
        snprintf(ws[t].acc.stack, sizeof ws[t].acc.stack, "%s", total->stack);
        ws[t].acc.weighting = (int)o->weighting;
        snprintf(ws[t].acc.rows, sizeof ws[t].acc.rows, "%s", o->rows ? o->rows : "");
        ws[t].acc.patch_grid = grid, ws[t].acc.patch_extra = m->cfg.vision_extra;
        ws[t].acc.audio = speech;
    }
    for (started = 1; started < T; started++)
        if (pthread_create(&tids[started], NULL, work, &ws[started]) != 0)
            break;
    work(&ws[0]);
    for (int t = 1; t < started; t++)
        pthread_join(tids[t], NULL);
    progress(0, 0, 0, &(double){0}, 1);
    if (j.st) {
        st = j.st;
        *err = j.err;
        goto done;
    }
    for (int t = 0; t < T; t++)
        if ((st = mhv_stats_acc_merge(total, &ws[t].acc, err)))
            goto done;
    /* a shard's JSON says which it is: --merge refuses the same shard twice */
    st = mhv_stats_acc_set_shard(total, o->shard_i, o->shard_n, err);
done:
    if (ws)
        for (int t = 0; t < o->threads; t++)
            mhv_stats_acc_free(&ws[t].acc);
    if (j.in)
        pthread_mutex_destroy(&j.lock);
    free(ws);
    free(tids);
    free(j.todo);
    mhv_input_free(&in);
    mhv_heads_free(&sel);
    s2s_text_close(&tx);
    mhv_tok_close(tok);
    mhv_model_close(m);
    return st;
}

static mhv_status run_merge(const stats_opts *o, mhv_stats_acc *total, char *model,
                            size_t model_size, mhv_error *err)
{
    for (int i = 0; i < o->n_files; i++) {
        mhv_stats_acc part;
        /* the first part names the model: shards may run where its path differs */
        mhv_status st = mhv_stats_read_json(o->files[i], &part, i ? NULL : model, model_size,
                                            err);
        if (st)
            return st;
        if (i == 0) {
            *total = part;
            continue;
        }
        st = mhv_stats_acc_merge(total, &part, err);
        mhv_stats_acc_free(&part);
        if (st) {
            snprintf(err->file, sizeof err->file, "%s", o->files[i]);
            return st;
        }
    }
    if (total->sentences < 1)
        return mhv_fail(err, MHV_EFORMAT, o->files[0], "no sentences in the parts merged");
    return MHV_OK;
}

static mhv_status write_png(const stats_opts *o, const mhv_stats_acc *acc, const char *model,
                            mhv_error *err)
{
    mhv_fontset *fs = NULL;
    mhv_status st = cli_font_open(o->fig.font, &fs, err);
    if (st)
        return st;
    const char *base = strrchr(model, '/');
    base = base && base[1] ? base + 1 : model;
    if (o->fig.model_name)
        base = o->fig.model_name;
    char title[512];
    /* an encoder-decoder's: the stack summed ("cross-attention heads") */
    const char *stack = strcmp(acc->stack, "cross") == 0 ? ", cross-attention heads"
                        : strcmp(acc->stack, "encoder") == 0 ? ", encoder heads"
                        : strcmp(acc->stack, "decoder") == 0 ? ", decoder heads" : "";
    snprintf(title, sizeof title, "mhaviz stats: %.300s%s%s%s, %lld %s%s (rows: layers, "
             "columns: heads)", base, stack, acc->weighting ? ", " : "",
             acc->weighting ? (acc->weighting == MHV_WEIGHT_NORM ? "norm-weighted"
                                                                 : "norm-out-weighted")
                            : "",
             (long long)acc->sentences,
             acc->audio ? "clip" : acc->patch_grid ? "image" : "sentence",
             acc->sentences == 1 ? "" : "s");
    const mhv_render_params *r = &o->fig.render;
    mhv_stats_fig_params sp = mhv_stats_fig_default_params();
    sp.cmap = r->cmap;
    sp.cell = r->cell;
    sp.dpi = r->dpi;
    sp.font_px = r->font_px;
    sp.stretch = r->scale != MHV_SCALE_FIXED;
    sp.no_title = r->no_title;
    if (r->values && mhv_stats_values_cell(&sp))
        fprintf(stderr, "mhaviz: warning: --values: cells of %d px are too small to print the "
                "values; use --cell %d or more\n", sp.cell, mhv_stats_values_cell(&sp));
    mhv_out out;
    if (!(st = mhv_out_open(&out, o->out, err))) {
        cli_signals_tmpfile(out.tmp[0] ? out.tmp : NULL);
        if ((st = mhv_stats_png(out.f, o->out, acc, r->title ? r->title : title, &sp, fs,
                                err)))
            mhv_out_abort(&out);
        else
            st = mhv_out_commit(&out, err);
        cli_signals_tmpfile(NULL);
    }
    mhv_font_close(fs);
    return st;
}

int cmd_stats(int argc, char **argv)
{
    stats_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    mhv_error err = {0};
    mhv_stats_acc acc = {0};
    char model[4096];
    mhv_status st = o.merge ? run_merge(&o, &acc, model, sizeof model, &err)
                            : run_corpus(&o, &acc, model, sizeof model, &err);
    if (!st) {
        if (o.png) {
            st = write_png(&o, &acc, model, &err);
        } else if (o.out) {
            mhv_out out;
            if (!(st = mhv_out_open(&out, o.out, &err))) {
                cli_signals_tmpfile(out.tmp[0] ? out.tmp : NULL);
                mhv_stats_write(out.f, o.fmt, &acc, model);
                st = mhv_out_commit(&out, &err);
                cli_signals_tmpfile(NULL);
            }
        } else {
            mhv_stats_write(stdout, o.fmt, &acc, model);
            if (fflush(stdout) != 0 || ferror(stdout))
                st = mhv_fail(&err, MHV_EIO, "<stdout>", "write error");
        }
    }
    mhv_stats_acc_free(&acc);
    return st ? cli_report(st, &err) : EXIT_OK;
}
