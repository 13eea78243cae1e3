/*
 * cli.h -- the `propeller` command: a dispatcher over subcommands.
 *
 * Each subcommand lives in src/cli/cmd_<name>.c and defines
 *     const struct cli_command cli_cmd_<name> = { "<name>", "summary", fn };
 * The build generates the table of commands from the cmd_*.c files, so
 * adding a command touches no shared file. Subcommands parse their own
 * arguments (getopt_long with argv[0] = the subcommand name), print results
 * on stdout, log errors once to stderr, and return an exit code:
 *   0 success, 1 operation failed, 2 usage error; a command may document
 *   more specific codes (e.g. `wasm run` returns the program's exit code).
 */
#ifndef PROPELLER_CLI_H
#define PROPELLER_CLI_H

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

struct cli_command {
	const char *name;    /* first argument selecting the command */
	const char *summary; /* one line for `propeller --help` */
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

/* NULL-terminated, generated from the cmd_*.c files at build time. */
extern const struct cli_command *const cli_commands[];

#endif /* PROPELLER_CLI_H */
