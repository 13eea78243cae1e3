/* state.c -- state a persistent worker must reset between requests:
 * a global counter, a static buffer, memory growth, args, env, exit codes.
 * main prints argv, $VAR and whether it ran before in this instance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(n) __attribute__((export_name(n), noinline))

static int counter;
static int ran;
static unsigned char scratch[32768];

/* 1 on a fresh instance, then 2, 3... if globals leaked. */
EXPORT("bump") int bump(void) { return ++counter; }

/* 0 when the buffer is as initialised, then dirties it. */
EXPORT("dirty") int
dirty(void)
{
	int seen = 0;
	size_t i;

	for (i = 0; i < sizeof(scratch); i++)
		seen |= scratch[i];
	memset(scratch, 0xab, sizeof(scratch));
	return seen;
}

/* Pages of linear memory now. */
EXPORT("pages") int pages(void) { return (int)__builtin_wasm_memory_size(0); }

/* Grows memory by n pages and fills them; returns the sum of the new
 * pages' bytes before filling (0 when fresh). */
EXPORT("grow") int
grow(int n)
{
	long old = (long)__builtin_wasm_memory_grow(0, (unsigned long)n);
	unsigned char *p;
	int sum = 0;
	long i;

	if (old < 0)
		return -1;
	p = (unsigned char *)(old * 65536);
	for (i = 0; i < (long)n * 65536; i++)
		sum |= p[i];
	memset(p, 0xcd, (size_t)n * 65536);
	return sum;
}

EXPORT("quit") void quit(int code) { exit(code); }

int
main(int argc, char **argv)
{
	const char *v = getenv("VAR");
	int i;

	for (i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	printf("VAR=%s\nran=%d\n", v ? v : "(unset)", ran);
	ran = 1;
	fprintf(stderr, "err %d\n", argc);
	return argc > 1 ? atoi(argv[1]) : 0;
}
