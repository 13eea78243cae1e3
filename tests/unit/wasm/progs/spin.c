/* spin.c -- the export spin never ends (time-limit and kill tests); main
 * prints argv[2] if given, runs argv[1] iterations and prints the result
 * (auto-tier switch test). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned sink;

__attribute__((export_name("spin"))) int
spin(void)
{
	for (;;)
		sink++;
}

int
main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000;
	uint64_t i, x = 1;

	if (argc > 2) {
		printf("%s\n", argv[2]);
		fflush(stdout);
	}
	for (i = 0; i < n; i++)
		x = x * 2862933555777941757ull + 3037000493ull;
	printf("%llu\n", (unsigned long long)x);
	return 0;
}
