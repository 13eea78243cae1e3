/* spin.c -- never ends (for the time-limit and kill tests); "work" runs a
 * bounded loop and prints its result (for the auto-tier switch test). */
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

	for (i = 0; i < n; i++)
		x = x * 2862933555777941757ull + 3037000493ull;
	printf("%llu\n", (unsigned long long)x);
	return 0;
}
