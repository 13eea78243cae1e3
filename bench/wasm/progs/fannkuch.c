/* fannkuch.c -- fannkuch-redux (benchmarks game), n = arg 1. */
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10;
	int perm[16], perm1[16], count[16], i, r = n, flips, maxflips = 0;
	int checksum = 0, permcount = 0, k, t;

	for (i = 0; i < n; i++)
		perm1[i] = i;
	for (;;) {
		while (r != 1) {
			count[r - 1] = r;
			r--;
		}
		for (i = 0; i < n; i++)
			perm[i] = perm1[i];
		flips = 0;
		while ((k = perm[0]) != 0) {
			int lo = 0, hi = k;
			while (lo < hi) {
				t = perm[lo]; perm[lo] = perm[hi]; perm[hi] = t;
				lo++; hi--;
			}
			flips++;
		}
		if (flips > maxflips)
			maxflips = flips;
		checksum += permcount % 2 == 0 ? flips : -flips;
		for (;;) {
			int p0;
			if (r == n) {
				printf("%d\nPfannkuchen(%d) = %d\n", checksum, n,
				    maxflips);
				return 0;
			}
			p0 = perm1[0];
			for (i = 0; i < r; i++)
				perm1[i] = perm1[i + 1];
			perm1[r] = p0;
			if (--count[r] > 0)
				break;
			r++;
		}
		permcount++;
	}
}
