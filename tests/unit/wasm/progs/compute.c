/* compute.c -- integer, float and memory work whose printed results must
 * be identical in every tier. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t
rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static int
cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

__attribute__((export_name("mix"))) int64_t
mix(int64_t a, double b, float c)
{
	return a * 3 + (int64_t)(b * 10.0) + (int64_t)(c * 100.0f);
}

__attribute__((export_name("hyp"))) double
hyp(double a, double b)
{
	return sqrt(a * a + b * b);
}

__attribute__((export_name("half"))) float
half(float a)
{
	return a / 2.0f;
}

int
main(void)
{
	uint32_t n = 20000, i, h = 0x6a09e667u, *v = malloc(n * sizeof(*v));
	double acc = 0.0;
	uint64_t big = 1;

	for (i = 0; i < n; i++) {
		v[i] = (i * 2654435761u) ^ (i >> 3);
		h = rotr(h ^ v[i], 7) + 0x9e3779b9u;
		acc += sin((double)i * 0.001) * 1.5;
		big = big * 6364136223846793005ull + 1442695040888963407ull;
	}
	qsort(v, n, sizeof(*v), cmp);
	printf("hash=%08x first=%u last=%u\n", h, v[0], v[n - 1]);
	printf("acc=%.6f floor=%.1f big=%llu\n", acc, floor(acc),
	    (unsigned long long)big);
	printf("clz=%d ctz=%d pop=%d\n", __builtin_clz(h | 1),
	    __builtin_ctz(h | 0x80000000u), __builtin_popcount(h));
	printf("f=%g %g %g\n", fmin(-0.0, 0.0), nearbyint(2.5), fabs(-3.25));
	free(v);
	return 0;
}
