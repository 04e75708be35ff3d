/* cmd_tokenize.c - `mhaviz tokenize`: one line per sentence, pieces TAB ids. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

static const char tok_usage[] =
    "usage: mhaviz tokenize [--model DIR] [--pretokenized | --ids | --pairs] FILE\n"
    "\n"
    "Prints, for each non-empty line of FILE (- for stdin), the tokens separated by spaces,\n"
    "a TAB, and the token ids separated by spaces, exactly as `run` feeds them to the model.\n"
    "\n"
    "  --model DIR      Hugging Face model directory (default: $MHAVIZ_MODEL, else the\n"
    "                   bundled sample model)\n"
    "  --pretokenized   lines are vocabulary pieces separated by spaces; nothing added\n"
    "  --ids            lines are token ids separated by spaces; nothing added\n"
    "  --pairs          lines are FIRST<TAB>SECOND, encoded as tokenizer(first, second)\n"
    "                   (as run --pairs on an encoder); a third column, after a TAB, gives\n"
    "                   the token type ids\n"
    "  -h, --help       show this help\n";

int cmd_tokenize(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'}, {"pretokenized", no_argument, 0, 'p'},
        {"ids", no_argument, 0, 'i'},         {"pairs", no_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *model = NULL;
    cli_input_mode mode = INPUT_TEXT;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'p':
        case 'i':
        case 'P': {
            cli_input_mode want = c == 'p' ? INPUT_PRETOKENIZED : c == 'i' ? INPUT_IDS : INPUT_PAIRS;
            if (mode != INPUT_TEXT && mode != want)
                return cli_usage_error("tokenize", mode == INPUT_PAIRS || want == INPUT_PAIRS
                                                       ? "--pairs takes text: not with "
                                                         "--pretokenized or --ids"
                                                       : "--pretokenized and --ids exclude "
                                                         "each other");
            mode = want;
            break;
        }
        case 'h': fputs(tok_usage, stdout); return EXIT_OK;
        case ':': return cli_usage_error("tokenize", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("tokenize", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("tokenize", optind >= argc ? "no input FILE given"
                                                          : "exactly one input FILE expected");
    char model_buf[4096];
    const char *dir = cli_model_dir(model, model_buf, sizeof model_buf);
    mhv_error err = {0};
    mhv_tok *tok = NULL;
    mhv_input in = {0};
    mhv_encoding *encs = NULL;
    mhv_status st;
    if ((st = mhv_tok_open_dir(dir, &tok, &err))) {
        /* --ids needs no tokenizer files, as in run: tokens are then their ids */
        if (mode != INPUT_IDS || st != MHV_EIO)
            goto done;
        err = (mhv_error){0};
    }
    if ((st = mhv_input_read(argv[optind], &in, &err)))
        goto done;
    cli_tok_warn(tok);
    /* One sentence's encoding at a time (a 1 GB corpus would take ~20 GB held at once),
     * and twice: a first pass finds an error before anything is printed. */
    encs = calloc(1, sizeof *encs);
    if (!encs) {
        st = mhv_fail(&err, MHV_ENOMEM, in.name, "out of memory");
        goto done;
    }
    /* pieces come from the vocabulary file: on a terminal, control bytes are shown escaped */
    int tty = isatty(STDOUT_FILENO);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < in.n; i++) {
            mhv_input one = in;
            one.s = &in.s[i];
            one.n = 1;
            /* no position limit: tokenize shows what the tokenizer does, whatever the model */
            st = cli_encode_all(tok, &one, mode, 1 << 30, 0, encs, &err);
            if (st) {
                cli_free_encodings(encs, 1);
                goto done;
            }
            for (int k = 0; pass == 1 && k < encs->n; k++) {
                fputs(k ? " " : "", stdout);
                if (tty)
                    cli_put_escaped(stdout, encs->pieces[k]);
                else
                    fputs(encs->pieces[k], stdout);
            }
            if (pass == 1) {
                putchar('\t');
                for (int k = 0; k < encs->n; k++)
                    printf("%s%d", k ? " " : "", (int)encs->ids[k]);
                if (encs->type_ids) {
                    putchar('\t');
                    for (int k = 0; k < encs->n; k++)
                        printf("%s%d", k ? " " : "", (int)encs->type_ids[k]);
                }
                putchar('\n');
            }
            cli_free_encodings(encs, 1);
        }
    if (fflush(stdout) != 0 || ferror(stdout))
        st = mhv_fail(&err, MHV_EIO, "<stdout>", "write error");
done:
    free(encs); /* its encoding is freed after each sentence */
    mhv_input_free(&in);
    mhv_tok_close(tok);
    return st ? cli_report(st, &err) : EXIT_OK;
}
