/* sort.c -- sorts arg-1 million pseudo-random 32-bit keys (own merge sort
 * + qsort check), prints a checksum. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
msort(uint32_t *a, uint32_t *tmp, size_t n)
{
	size_t mid = n / 2, i = 0, j, k = 0;

	if (n < 2)
		return;
	if (n < 16) {
		for (i = 1; i < n; i++) {
			uint32_t v = a[i];
			for (j = i; j > 0 && a[j - 1] > v; j--)
				a[j] = a[j - 1];
			a[j] = v;
		}
		return;
	}
	msort(a, tmp, mid);
	msort(a + mid, tmp, n - mid);
	j = mid;
	while (i < mid && j < n)
		tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
	while (i < mid)
		tmp[k++] = a[i++];
	while (j < n)
		tmp[k++] = a[j++];
	memcpy(a, tmp, n * sizeof(*a));
}

int
main(int argc, char **argv)
{
	size_t n = (size_t)(argc > 1 ? atoi(argv[1]) : 2) * 1000000, i;
	uint32_t *a = malloc(n * sizeof(*a)), *t = malloc(n * sizeof(*t));
	uint32_t x = 2463534242u, sum = 0;

	for (i = 0; i < n; i++) {
		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		a[i] = x;
	}
	msort(a, t, n);
	for (i = 0; i < n; i++) {
		if (i > 0 && a[i - 1] > a[i]) {
			printf("unsorted\n");
			return 1;
		}
		sum = sum * 31 + a[i];
	}
	printf("sort %zu %08x\n", n, sum);
	return 0;
}
