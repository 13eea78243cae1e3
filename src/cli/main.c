/*
 * main.c -- entry point of the `propeller` command.
 *
 * Sets up logging (PROPELLER_LOG_LEVEL, default warn so command output stays
 * clean), finds the subcommand in the generated table and runs it.
 */
#include "core/core.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f);

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: propeller <command> [options] [args]\n\ncommands:\n");
	for (i = 0; cli_commands[i] != NULL; i++)
		fprintf(f, "  %-12s %s\n", cli_commands[i]->name,
		    cli_commands[i]->summary);
	fprintf(f, "  %-12s %s\n", "version", "print the version");
	fprintf(f, "\nRun 'propeller <command> --help' for a command's options.\n");
}

int
main(int argc, char **argv)
{
	const char *lvl = getenv("PROPELLER_LOG_LEVEL");
	enum log_level level = LOG_LEVEL_WARN;
	size_t i;

	log_set_proc("propeller");
	if (lvl != NULL && *lvl != '\0' && log_level_parse(lvl, &level) != CORE_OK) {
		fprintf(stderr, "propeller: PROPELLER_LOG_LEVEL: unknown level (got \"%s\")\n", lvl);
		return CLI_EXIT_USAGE;
	}
	log_set_level(level);

	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("propeller %s\n", PROPELLER_VERSION);
		return CLI_EXIT_OK;
	}
	for (i = 0; cli_commands[i] != NULL; i++) {
		if (strcmp(argv[1], cli_commands[i]->name) == 0)
			return cli_commands[i]->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "propeller: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
