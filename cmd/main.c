/* main.c - the subcommand table: parse the command word, hand over to cmd_<name>. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "outdir.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"run", cmd_run, "run the model on sentences and write per-head attention"},
    {"tokenize", cmd_tokenize, "print the tokens and ids of each sentence"},
    {"info", cmd_info, "describe a model directory"},
    {"rank", cmd_rank, "rank the heads by attention from one word to another"},
    {"stats", cmd_stats, "per-head statistics over a corpus (entropy, distance, sinks)"},
    {"ablate", cmd_ablate, "remove heads and report how the model's predictions change"},
};

static void usage(FILE *f)
{
    fputs("usage: mhaviz [--version] [--help] <command> [<options>] [FILE]\n\n"
          "Inspect the multi-head attention of a Hugging Face transformer checkpoint.\n\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\n'mhaviz <command> --help' describes a command; man mhaviz has the details.\n", f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("mhaviz %s\n", MHV_VERSION);
        return EXIT_OK;
    }
    /* an interrupted run removes what it wrote (cmd/outdir.h) */
    cli_signals_init();
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    cli_say("'%s' is not a command (see 'mhaviz --help')", argv[1]);
    return EXIT_USAGE;
}
