/* commands.h - one entry point per subcommand; argv[0] is the command word. */
#ifndef MHV_COMMANDS_H
#define MHV_COMMANDS_H

int cmd_run(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_rank(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_ablate(int argc, char **argv);

#endif
