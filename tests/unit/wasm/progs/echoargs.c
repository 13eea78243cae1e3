/* echoargs.c -- prints argv and an environment variable, exits with the
 * code given as its first argument (stdout/args/env/exit through WASI).
 * "cat" copies stdin to stdout; "read PATH" prints a file (preopens). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
copy(FILE *in)
{
	char buf[256];
	size_t n;

	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *g = getenv("GREETING");
	FILE *f;
	int i;

	if (argc > 1 && strcmp(argv[1], "cat") == 0)
		return copy(stdin);
	if (argc > 2 && strcmp(argv[1], "read") == 0) {
		f = fopen(argv[2], "r");
		if (f == NULL) {
			perror(argv[2]);
			return 2;
		}
		copy(f);
		fclose(f);
		return 0;
	}
	for (i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	printf("GREETING=%s\n", g ? g : "(unset)");
	printf("HOME=%s\n", getenv("HOME") ? getenv("HOME") : "(unset)");
	fprintf(stderr, "to stderr\n");
	fflush(stdout);
	return argc > 1 ? atoi(argv[1]) : 0;
}
