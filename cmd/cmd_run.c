/* cmd_run.c - `mhaviz run`: tokenize, forward, write the captured attention. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "fileio.h"
#include "forward.h"
#include "heads.h"
#include "report.h"

static const char run_usage[] =
    "usage: mhaviz run [--model DIR] [--heads SPEC] [--format json] [--out DIR]\n"
    "                  [--pretokenized | --ids] [--truncate] FILE\n"
    "\n"
    "Runs the model on each non-empty line of FILE (- for stdin) and writes the attention\n"
    "probabilities of the selected heads to OUT/<stem>.json.\n"
    "\n"
    "  --model DIR      Hugging Face model directory (default: $MHAVIZ_MODEL, else the\n"
    "                   bundled sample model)\n"
    "  --heads SPEC     all (default), or a comma list of LAYER:HEAD, LAYER:*, *:HEAD\n"
    "                   (0-based), e.g. 3:7,5:*\n"
    "  --format FMT     json (the only format so far)\n"
    "  --out DIR        output directory (default: mhaviz-out)\n"
    "  --pretokenized   lines are vocabulary pieces separated by spaces; nothing added\n"
    "  --ids            lines are token ids separated by spaces; nothing added\n"
    "  --truncate       cut sentences longer than the model's positions instead of failing\n"
    "  -h, --help       show this help\n";

typedef struct {
    const char *model, *heads, *format, *out, *file;
    cli_input_mode mode;
    int truncate;
} run_opts;

static int parse(int argc, char **argv, run_opts *o)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'},  {"heads", required_argument, 0, 'H'},
        {"format", required_argument, 0, 'f'}, {"out", required_argument, 0, 'o'},
        {"pretokenized", no_argument, 0, 'p'}, {"ids", no_argument, 0, 'i'},
        {"truncate", no_argument, 0, 't'},     {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    *o = (run_opts){.heads = "all", .format = "json", .out = "mhaviz-out"};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'H': o->heads = optarg; break;
        case 'f': o->format = optarg; break;
        case 'o': o->out = optarg; break;
        case 'p': o->mode = INPUT_PRETOKENIZED; break;
        case 'i': o->mode = INPUT_IDS; break;
        case 't': o->truncate = 1; break;
        case 'h': fputs(run_usage, stdout); return -1;
        case ':': return cli_usage_error("run", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("run", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (strcmp(o->format, "json") != 0)
        return cli_usage_error("run", "--format '%s' is not supported (supported: json)",
                               o->format);
    if (optind != argc - 1)
        return cli_usage_error("run", optind >= argc ? "no input FILE given"
                                                     : "exactly one input FILE expected");
    o->file = argv[optind];
    return 0;
}

static int dir_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Runs every sentence and streams the report into DIR/<stem>.json. */
static mhv_status write_report(const mhv_model *m, const mhv_input *in, const mhv_encoding *encs,
                               const mhv_heads *sel, const run_opts *o, mhv_error *err)
{
    char stem[256], path[4096];
    mhv_input_stem(o->file, stem, sizeof stem);
    if (snprintf(path, sizeof path, "%s/%s.json", o->out, stem) >= (int)sizeof path)
        return mhv_fail(err, MHV_EUSAGE, o->out, "output path too long");
    int created = !dir_exists(o->out);
    mhv_status st = mhv_mkdir_p(o->out, err);
    if (st)
        return st;
    mhv_out out;
    if ((st = mhv_out_open(&out, path, err)))
        goto fail_dir;
    mhv_report_begin(out.f, m);
    for (int i = 0; i < in->n; i++) {
        cli_progress("run", i + 1, in->n, 0);
        mhv_attn attn;
        if ((st = mhv_forward(m, encs[i].ids, encs[i].n, sel, &attn, err))) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            mhv_fail(err, st, in->name, "line %d: %s", in->s[i].line, msg);
            goto fail_out;
        }
        mhv_report_sentence(out.f, i, in->s[i].text, in->s[i].len, &encs[i], &attn);
        mhv_attn_free(&attn);
    }
    cli_progress("run", in->n, in->n, 1);
    mhv_report_end(out.f);
    if ((st = mhv_out_commit(&out, err)))
        goto fail_dir;
    return MHV_OK;
fail_out:
    cli_progress("run", in->n, in->n, 1);
    mhv_out_abort(&out);
fail_dir:
    if (created)
        rmdir(o->out);
    return st;
}

int cmd_run(int argc, char **argv)
{
    run_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;

    char model_buf[4096];
    const char *dir = cli_model_dir(o.model, model_buf, sizeof model_buf);
    mhv_error err = {0};
    mhv_model *m = NULL;
    mhv_tok *tok = NULL;
    mhv_input in = {0};
    mhv_encoding *encs = NULL;
    mhv_heads sel = {0};
    mhv_status st;
    if ((st = mhv_model_open(dir, &m, &err)) || (st = mhv_tok_open_dir(dir, &tok, &err)))
        goto done;
    if ((st = mhv_heads_parse(o.heads, m->cfg.num_layers, m->cfg.num_heads, &sel, &err)))
        goto done;
    if ((st = mhv_input_read(o.file, &in, &err)))
        goto done;
    encs = calloc((size_t)in.n, sizeof *encs);
    if (!encs) {
        st = mhv_fail(&err, MHV_ENOMEM, in.name, "out of memory");
        goto done;
    }
    if ((st = cli_encode_all(tok, &in, o.mode, m->cfg.max_positions, o.truncate, encs, &err)))
        goto done;
    st = write_report(m, &in, encs, &sel, &o, &err);
done:
    if (encs)
        cli_free_encodings(encs, in.n);
    free(encs);
    mhv_input_free(&in);
    mhv_heads_free(&sel);
    mhv_tok_close(tok);
    mhv_model_close(m);
    return st ? cli_report(st, &err) : EXIT_OK;
}
