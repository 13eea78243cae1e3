/*
 * addition.c -- the smallest Propeller workload: exports add(i32, i32).
 *
 *   propeller wasm run --invoke add addition.wasm 10 20   # prints 30
 *
 * Run without --invoke, _start (main) prints the sum of its arguments.
 */
#include <stdio.h>
#include <stdlib.h>

__attribute__((export_name("add"))) int
add(int a, int b)
{
	return a + b;
}

int
main(int argc, char **argv)
{
	long sum = 0;
	int i;

	for (i = 1; i < argc; i++)
		sum += strtol(argv[i], NULL, 10);
	printf("%ld\n", sum);
	return 0;
}
