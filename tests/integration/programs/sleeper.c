/*
 * sleeper.c -- a long-running task for the end-to-end tests: sleeps the
 * number of milliseconds given as its first input (through WASI
 * poll_oneoff), then prints "slept N".
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int
main(int argc, char **argv)
{
	long ms = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	printf("slept %ld\n", ms);
	return 0;
}
