/* echoargs.c -- prints argv and an environment variable, exits with the
 * code given as its first argument (stdout/args/env/exit through WASI). */
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	const char *g = getenv("GREETING");
	int i;

	for (i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	printf("GREETING=%s\n", g ? g : "(unset)");
	printf("HOME=%s\n", getenv("HOME") ? getenv("HOME") : "(unset)");
	fprintf(stderr, "to stderr\n");
	fflush(stdout);
	return argc > 1 ? atoi(argv[1]) : 0;
}
