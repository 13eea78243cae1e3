/* alloc.c -- allocates 1 MiB blocks until malloc fails (memory limit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *volatile blocks[4096];

int
main(void)
{
	int n = 0;
	char *p;

	while (n < 4096 && (p = malloc(1 << 20)) != NULL) {
		memset(p, 1, 1 << 20);
		blocks[n++] = p;
	}
	printf("allocated %d MiB\n", n);
	return 0;
}
