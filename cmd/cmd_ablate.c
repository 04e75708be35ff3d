/* cmd_ablate.c - `mhaviz ablate`: run the model with heads removed and report how its own
 * predictions change (masked-LM: the probability of the token at each masked position;
 * causal LM: the log-probability of each next token). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/rows.h"
#include "base/jsonw.h"
#include "ckpt/modelname.h"
#include "cli.h"
#include "commands.h"
#include "model/forward.h"
#include "nn/blocks.h"
#include "text/unicode.h"

static const char ablate_usage[] =
    "usage: mhaviz ablate --heads SPEC [--mode zero|mean] [--target WORD] [--model DIR]\n"
    "                     [--format table|json|csv] [--ids] [--truncate] [--threads N] FILE\n"
    "\n"
    "Runs the model on each non-empty line of FILE (- for stdin) twice, as it is and with\n"
    "the heads of SPEC removed, and reports how its own predictions change. Masked-LM\n"
    "models (BertForMaskedLM, RobertaForMaskedLM ...): at each [MASK] of the line (or each\n"
    "token of --target WORD, masked on the fly), the probability of the token predicted\n"
    "there without ablation (with --target: of the original token). Causal LMs: the\n"
    "log-probability of each next token (with --target: of WORD's tokens only).\n"
    "\n"
    "  --heads SPEC     the heads removed: all, or a comma list of LAYER:HEAD, LAYER:*,\n"
    "                   *:HEAD (0-based), e.g. 3:7,5:*\n"
    "  --mode MODE      zero (default): the heads' outputs (softmax(QK^T)V, before the\n"
    "                   output projection) set to 0; mean: replaced by each head's mean\n"
    "                   output over every token of FILE (a first pass collects them)\n"
    "  --target WORD    mask (masked-LM) or score (causal LM) the tokens of WORD, a whole\n"
    "                   word as rank --from finds it, every occurrence\n"
    "  --model DIR      Hugging Face model directory (default: $MHAVIZ_MODEL, else the\n"
    "                   bundled sample model)\n"
    "  --format FMT     table (default): a row per masked position (masked-LM) or per\n"
    "                   line (causal: the mean over its tokens), a summary line last;\n"
    "                   json: every position of every line; csv: line,index,token,before,\n"
    "                   after,change,top_after\n"
    "  --ids            lines are token ids separated by spaces (nothing added; no\n"
    "                   --target)\n"
    "  --truncate       cut sentences longer than the model's positions instead of failing\n"
    "  --threads N      compute threads (default: the number of online CPUs)\n"
    "  -h, --help       show this help\n";

typedef enum { FMT_TABLE = 0, FMT_JSON, FMT_CSV } ablate_fmt;

typedef struct {
    const char *model, *heads, *target, *file;
    int mean, truncate, threads, ids;
    ablate_fmt fmt;
} ablate_opts;

static int parse(int argc, char **argv, ablate_opts *o)
{
    static const struct option longopts[] = {
        {"heads", required_argument, 0, 'H'},  {"mode", required_argument, 0, 'M'},
        {"target", required_argument, 0, 'g'}, {"model", required_argument, 0, 'm'},
        {"format", required_argument, 0, 'f'}, {"truncate", no_argument, 0, 't'},
        {"threads", required_argument, 0, 'T'}, {"help", no_argument, 0, 'h'},
        {"ids", no_argument, 0, 'i'},
        {0, 0, 0, 0},
    };
    *o = (ablate_opts){0};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'H': o->heads = optarg; break;
        case 'm': o->model = optarg; break;
        case 't': o->truncate = 1; break;
        case 'i': o->ids = 1; break;
        case 'M':
            if (strcmp(optarg, "zero") == 0)
                o->mean = 0;
            else if (strcmp(optarg, "mean") == 0)
                o->mean = 1;
            else
                return cli_usage_error("ablate", "--mode '%s' is not zero or mean", optarg);
            break;
        case 'g':
            if (!*optarg || !mhv_utf8_valid(optarg, strlen(optarg), NULL))
                return cli_usage_error("ablate", "--target WORD is empty or not valid UTF-8");
            o->target = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "table") == 0)
                o->fmt = FMT_TABLE;
            else if (strcmp(optarg, "json") == 0)
                o->fmt = FMT_JSON;
            else if (strcmp(optarg, "csv") == 0)
                o->fmt = FMT_CSV;
            else
                return cli_usage_error("ablate", "--format '%s' is not supported (supported: "
                                       "table, json, csv)", optarg);
            break;
        case 'T': {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 1 || v > 1024)
                return cli_usage_error("ablate", "--threads '%s' is not a number from 1 to "
                                       "1024", optarg);
            o->threads = (int)v;
            break;
        }
        case 'h': fputs(ablate_usage, stdout); return -1;
        case ':':
            return cli_usage_error("ablate", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("ablate", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!o->heads)
        return cli_usage_error("ablate", "--heads SPEC is required (the heads to remove)");
    if (o->ids && o->target)
        return cli_usage_error("ablate", "--target needs text lines, not --ids");
    if (optind != argc - 1)
        return cli_usage_error("ablate", optind >= argc ? "no input FILE given"
                                                        : "exactly one input FILE expected");
    o->file = argv[optind];
    return 0;
}

/* One scored position: token `tok` at index `at` (masked-LM: the masked position; causal:
 * the predicted token, scored from the logits of at - 1). */
typedef struct {
    int at;
    int32_t tok;
    double before, after;   /* probability (masked-LM) or log-probability (causal) */
    int32_t top_after;      /* the most likely token with the heads removed */
} scored;

/* log softmax(z)[v] in double. */
static double log_prob(const float *z, int V, int32_t v)
{
    double mx = z[0], s = 0;
    for (int i = 1; i < V; i++)
        mx = z[i] > mx ? z[i] : mx;
    for (int i = 0; i < V; i++)
        s += exp((double)z[i] - mx);
    return (double)z[v] - mx - log(s);
}

static int32_t argmax(const float *z, int V)
{
    int32_t b = 0;
    for (int i = 1; i < V; i++)
        if (z[i] > z[b])
            b = i;
    return b;
}

/* What one sentence is run on and scored at. */
typedef struct {
    int32_t *ids;       /* (n,) the input, masked positions replaced by the mask token */
    int n;
    scored *pos;        /* (npos,) */
    int npos;
} sent;

/* The input ids and the positions of sentence i; npos 0 when it has none. */
static mhv_status prepare(const ablate_opts *o, const cli_job *job, int i, int32_t mask_id,
                          sent *s, mhv_error *err)
{
    const mhv_encoding *e = &job->encs[i];
    const mhv_sentence *ln = &job->in.s[i];
    int causal = job->m->cfg.causal;
    s->n = e->n;
    s->npos = 0;
    s->ids = malloc(((size_t)e->n + 1) * sizeof *s->ids);
    s->pos = calloc((size_t)e->n + 1, sizeof *s->pos);
    if (!s->ids || !s->pos)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    memcpy(s->ids, e->ids, (size_t)e->n * sizeof *s->ids);
    int *at = NULL, nat = 0;
    if (o->target) {
        size_t len = strlen(o->target) + 6;
        char *spec = malloc(len);
        if (!spec)
            return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        snprintf(spec, len, "word:%s", o->target);
        mhv_status st = mhv_rows_resolve(spec, ln->text, ln->len, e, &at, &nat, err);
        free(spec);
        if (st)
            return st;
    }
    for (int t = 0; t < e->n; t++) {
        int take;
        if (o->target) {
            take = 0;
            for (int k = 0; k < nat; k++)
                take |= at[k] == t;
        } else {
            take = causal ? 1 : e->ids[t] == mask_id;
        }
        if (causal && t == 0)
            take = 0; /* nothing predicts the first token */
        if (!take)
            continue;
        s->pos[s->npos++] = (scored){.at = t, .tok = e->ids[t]};
        if (!causal)
            s->ids[t] = mask_id;
    }
    free(at);
    return MHV_OK;
}

/* The logits row that scores position p. */
static const float *row_of(const float *logits, int V, int causal, const scored *p)
{
    return logits + (size_t)(causal ? p->at - 1 : p->at) * (size_t)V;
}

/* Columns a terminal gives s: 2 for wide East Asian characters, else 1 per character. */
static int disp_width(const char *s)
{
    int w = 0;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int k = mhv_utf8_decode(s + i, len - i, &cp);
        if (k <= 0)
            k = 1, cp = '?';
        i += (size_t)k;
        w += mhv_uc_is_chinese_char(cp) || (cp >= 0x3000 && cp <= 0x30ff) ||
                     (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xac00 && cp <= 0xd7a3)
                 ? 2 : 1;
    }
    return w;
}

static void token_text(const mhv_tok *tok, int32_t id, char *buf, size_t size)
{
    if (tok)
        mhv_tok_token_text(tok, id, buf, size);
    else /* --ids without a tokenizer */
        snprintf(buf, size, "%d", (int)id);
}

static void print_json(const ablate_opts *o, const cli_job *job, const sent *ss, int causal,
                       const char *model_name)
{
    fputs("{\"model\": ", stdout);
    mhv_jsonw_str(stdout, model_name, strlen(model_name));
    printf(", \"objective\": \"%s\", \"mode\": \"%s\", \"heads\": [",
           causal ? "next-token log-probability" : "masked-token probability",
           o->mean ? "mean" : "zero");
    int L = job->sel.num_layers, H = job->sel.num_heads, k = 0;
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++)
            if (job->sel.sel[l * H + h])
                printf("%s[%d, %d]", k++ ? ", " : "", l, h);
    fputs("],", stdout);
    if (o->target) {
        fputs(" \"target\": ", stdout);
        mhv_jsonw_str(stdout, o->target, strlen(o->target));
        fputs(",", stdout);
    }
    fputs("\n \"sentences\": [", stdout);
    k = 0;
    for (int i = 0; i < job->in.n; i++) {
        const sent *s = &ss[i];
        if (!s->npos)
            continue;
        printf("%s\n  {\"line\": %d, \"text\": ", k++ ? "," : "", job->in.s[i].line);
        mhv_jsonw_str(stdout, job->in.s[i].text, job->in.s[i].len);
        double mb = 0, ma = 0;
        fputs(", \"positions\": [", stdout);
        for (int p = 0; p < s->npos; p++) {
            const scored *q = &s->pos[p];
            char t[512], ta[512];
            token_text(job->tok, q->tok, t, sizeof t);
            token_text(job->tok, q->top_after, ta, sizeof ta);
            printf("%s\n    {\"index\": %d, \"token\": ", p ? "," : "", q->at);
            mhv_jsonw_str(stdout, t, strlen(t));
            fputs(", \"before\": ", stdout);
            mhv_jsonw_float(stdout, (float)q->before);
            fputs(", \"after\": ", stdout);
            mhv_jsonw_float(stdout, (float)q->after);
            fputs(", \"top_after\": ", stdout);
            mhv_jsonw_str(stdout, ta, strlen(ta));
            fputs("}", stdout);
            mb += q->before;
            ma += q->after;
        }
        fputs("],\n   \"mean_before\": ", stdout);
        mhv_jsonw_float(stdout, (float)(mb / s->npos));
        fputs(", \"mean_after\": ", stdout);
        mhv_jsonw_float(stdout, (float)(ma / s->npos));
        fputs("}", stdout);
    }
    fputs("]}\n", stdout);
}

static void print_csv(const cli_job *job, const sent *ss)
{
    fputs("line,index,token,before,after,change,top_after\n", stdout);
    for (int i = 0; i < job->in.n; i++)
        for (int p = 0; p < ss[i].npos; p++) {
            const scored *q = &ss[i].pos[p];
            char t[512], ta[512];
            token_text(job->tok, q->tok, t, sizeof t);
            token_text(job->tok, q->top_after, ta, sizeof ta);
            printf("%d,%d,", job->in.s[i].line, q->at);
            mhv_jsonw_str(stdout, t, strlen(t)); /* quoted: commas and quotes stay inside */
            printf(",%.6f,%.6f,%+.6f,", q->before, q->after, q->after - q->before);
            mhv_jsonw_str(stdout, ta, strlen(ta));
            fputs("\n", stdout);
        }
}

static void print_table(const ablate_opts *o, const cli_job *job, const sent *ss, int causal,
                        const char *model_name)
{
    printf("# heads %s removed (%s) in %s: %s\n", o->heads,
           o->mean ? "replaced by their mean output" : "zeroed", model_name,
           causal ? "log-probability of each next token, mean per line"
                  : "probability of the token at each masked position");
    double mb = 0, ma = 0;
    int n = 0, lines = 0;
    if (causal)
        printf("%4s %6s %9s %9s %9s\n", "line", "tokens", "before", "after", "change");
    else
        printf("%4s %5s %-12s %8s %8s %8s  %s\n", "line", "index", "token", "before", "after",
               "change", "top after");
    for (int i = 0; i < job->in.n; i++) {
        const sent *s = &ss[i];
        if (!s->npos)
            continue;
        lines++;
        double b = 0, a = 0;
        for (int p = 0; p < s->npos; p++) {
            const scored *q = &s->pos[p];
            b += q->before, a += q->after;
            if (causal)
                continue;
            char t[512], ta[512];
            token_text(job->tok, q->tok, t, sizeof t);
            token_text(job->tok, q->top_after, ta, sizeof ta);
            printf("%4d %5d ", job->in.s[i].line, q->at);
            cli_put_escaped(stdout, t);
            int w = disp_width(t);
            printf("%*s %8.4f %8.4f %+8.4f  ", w < 12 ? 12 - w : 0, "", q->before, q->after, q->after - q->before);
            cli_put_escaped(stdout, ta);
            fputs("\n", stdout);
        }
        if (causal)
            printf("%4d %6d %9.4f %9.4f %+9.4f\n", job->in.s[i].line, s->npos, b / s->npos,
                   a / s->npos, (a - b) / s->npos);
        mb += b, ma += a, n += s->npos;
    }
    printf("# mean over %d %s in %d line%s: before %.4f, after %.4f, change %+.4f\n", n,
           causal ? (n == 1 ? "token" : "tokens") : (n == 1 ? "position" : "positions"), lines,
           lines == 1 ? "" : "s", mb / n, ma / n, (ma - mb) / n);
}

int cmd_ablate(int argc, char **argv)
{
    ablate_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    char model_buf[4096];
    const char *dir = cli_model_dir(o.model, model_buf, sizeof model_buf);
    mhv_error err = {0};
    cli_job job = {0};
    mhv_forward_ctx *fc = NULL;
    sent *ss = NULL;
    float *logits = NULL;
    double *sum = NULL;
    float *mean = NULL;
    mhv_status st;
    cli_input_mode mode = o.ids ? INPUT_IDS : INPUT_TEXT;
    if ((st = cli_open_model(dir, mode, &job.m, &job.tok, &err)))
        goto done;
    if ((st = cli_refuse_non_text(&job.m->cfg, "ablate", &err)))
        goto done;
    cli_tok_warn(job.tok);
    if ((st = cli_job_read(&job, o.heads, o.file, mode, o.truncate, &err)))
        goto done;
    const mhv_config *c = &job.m->cfg;
    int causal = c->causal, V = c->vocab_size;
    int32_t mask_id = -1;
    if ((st = mhv_forward_logits_check(job.m, &err)))
        goto done;
    if (!causal) {
        mask_id = job.tok ? mhv_tok_lookup(job.tok, "[MASK]", 6) : -1;
        if (mask_id < 0 && job.tok)
            mask_id = mhv_tok_lookup(job.tok, "<mask>", 6);
        if (mask_id < 0) {
            st = mhv_fail(&err, MHV_EUNSUPPORTED, dir, "the tokenizer has no [MASK] or <mask> "
                          "token to predict");
            goto done;
        }
    }
    int longest = 1;
    for (int i = 0; i < job.in.n; i++)
        longest = job.encs[i].n > longest ? job.encs[i].n : longest;
    mhv_forward_params fp = cli_forward_params(o.threads);
    size_t cells = (size_t)c->num_layers * (size_t)c->num_heads * (size_t)c->head_dim;
    ss = calloc((size_t)job.in.n + 1, sizeof *ss);
    logits = malloc((size_t)longest * (size_t)V * sizeof *logits);
    sum = o.mean ? calloc(cells, sizeof *sum) : NULL;
    mean = o.mean ? malloc(cells * sizeof *mean) : NULL;
    if (!ss || !logits || (o.mean && (!sum || !mean))) {
        st = mhv_fail(&err, MHV_ENOMEM, job.in.name, "out of memory");
        goto done;
    }
    if ((st = mhv_forward_ctx_new(&fp, &fc, &err)))
        goto done;
    int used = 0;
    for (int i = 0; i < job.in.n; i++) {
        if ((st = prepare(&o, &job, i, mask_id, &ss[i], &err))) {
            cli_fail_line(&err, st, &job.in, i);
            goto done;
        }
        used += ss[i].npos > 0;
    }
    if (!used) {
        st = mhv_fail(&err, MHV_EINPUT, job.in.name, "%s",
                      o.target ? "no line contains the --target word"
                      : causal ? "no line has two tokens or more"
                               : "no line holds a mask token (write [MASK] or use --target WORD)");
        goto done;
    }
    /* mean mode: every head's output averaged over every token of the inputs as run */
    mhv_head_ablation ab = {c->num_layers, c->num_heads, c->head_dim, job.sel.sel, NULL, NULL};
    if (o.mean) {
        mhv_head_ablation col = {c->num_layers, c->num_heads, c->head_dim, NULL, NULL, sum};
        long rows = 0;
        for (int i = 0; i < job.in.n; i++) {
            if (!ss[i].npos)
                continue;
            cli_progress("ablate (means)", i + 1, job.in.n, 0);
            if ((st = mhv_forward_logits_ablated(fc, job.m, ss[i].ids, ss[i].n, &col, logits,
                                                 &err))) {
                cli_progress("ablate (means)", job.in.n, job.in.n, 1);
                cli_fail_line(&err, st, &job.in, i);
                goto done;
            }
            rows += ss[i].n;
        }
        cli_progress("ablate (means)", job.in.n, job.in.n, 1);
        for (size_t k = 0; k < cells; k++)
            mean[k] = (float)(sum[k] / (double)rows);
        ab.mean = mean;
    }
    for (int i = 0; i < job.in.n; i++) {
        sent *s = &ss[i];
        if (!s->npos)
            continue;
        cli_progress("ablate", i + 1, job.in.n, 0);
        for (int pass = 0; pass < 2; pass++) {
            if ((st = mhv_forward_logits_ablated(fc, job.m, s->ids, s->n, pass ? &ab : NULL,
                                                 logits, &err))) {
                cli_progress("ablate", job.in.n, job.in.n, 1);
                cli_fail_line(&err, st, &job.in, i);
                goto done;
            }
            for (int p = 0; p < s->npos; p++) {
                scored *q = &s->pos[p];
                const float *z = row_of(logits, V, causal, q);
                if (!pass && !causal && !o.target)
                    q->tok = argmax(z, V); /* a written [MASK]: the model's own prediction */
                double lp = log_prob(z, V, q->tok);
                double v = causal ? lp : exp(lp);
                if (!isfinite(v)) {
                    cli_progress("ablate", job.in.n, job.in.n, 1);
                    mhv_fail(&err, MHV_EINPUT, "", "the logits at token %d are not finite",
                             q->at);
                    st = cli_fail_line(&err, MHV_EINPUT, &job.in, i);
                    goto done;
                }
                if (pass) {
                    q->after = v;
                    q->top_after = argmax(z, V);
                } else {
                    q->before = v;
                }
            }
        }
    }
    cli_progress("ablate", job.in.n, job.in.n, 1);
    if (used < job.in.n)
        fprintf(stderr, "mhaviz: %s: skipped %d of %d lines %s\n", job.in.name,
                job.in.n - used, job.in.n,
                o.target ? "without the --target word"
                : causal ? "of one token" : "without a mask token");
    char name[256];
    mhv_modelname_of_dir(dir, name, sizeof name);
    if (o.fmt == FMT_JSON)
        print_json(&o, &job, ss, causal, name);
    else if (o.fmt == FMT_CSV)
        print_csv(&job, ss);
    else
        print_table(&o, &job, ss, causal, name);
    if (fflush(stdout) != 0 || ferror(stdout))
        st = mhv_fail(&err, MHV_EIO, "<stdout>", "write error");
done:
    if (ss)
        for (int i = 0; i < job.in.n; i++) {
            free(ss[i].ids);
            free(ss[i].pos);
        }
    free(ss);
    free(logits);
    free(sum);
    free(mean);
    mhv_forward_ctx_free(fc);
    cli_job_close(&job);
    return st ? cli_report(st, &err) : EXIT_OK;
}
