/* foldops.c -- operations whose folded tier-1 form must compute exactly
 * what tier 2 and unfolded tier 1 do: mixed widths, signed compares,
 * variable shifts and rotates, f32 rounding chains, selects, stores and
 * loads through aliasing pointers, calls that move the stack pointer,
 * indirect calls. Prints one line per group. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t
rotl32(uint32_t x, unsigned n)
{
	return (x << (n & 31)) | (x >> ((32 - n) & 31));
}

static uint64_t
rotr64(uint64_t x, unsigned n)
{
	return (x >> (n & 63)) | (x << ((64 - n) & 63));
}

__attribute__((noinline)) static int32_t
twice(int32_t x)
{
	volatile int32_t pad[4] = { x, x, x, x };

	return pad[0] + pad[3];
}

static int32_t inc(int32_t x) { return x + 1; }
static int32_t dec(int32_t x) { return x - 1; }
static int32_t (*const ops[2])(int32_t) = { inc, dec };

int
main(int argc, char **argv)
{
	uint32_t n = 5000 + (uint32_t)argc, i, h = 2166136261u, u = 1;
	int32_t s = -7;
	uint64_t q = 0x9e3779b97f4a7c15ull, acc = 0;
	int64_t sq = -123456789012345ll;
	float f = 0.1f, g = 1.0f;
	double d = 0.5;
	uint32_t *a = malloc(n * sizeof(*a));
	uint8_t *b = (uint8_t *)a;

	(void)argv;
	for (i = 0; i < n; i++) {
		a[i] = i * 2654435761u;
		h = (h ^ (a[i] >> (i & 31))) * 16777619u;
		h += rotl32(h, i % 32) ^ (uint32_t)(s < (int32_t)h);
		s = (int32_t)(h % 1000) - 500 + (s >> 1);
		u = u > h ? u - h : h - u;
	}
	printf("int32 %08x %d %u\n", h, s, u);
	for (i = 0; i < n; i++) {
		q = rotr64(q * 6364136223846793005ull + i, i);
		sq = sq / 3 + (int64_t)q % 1000 - (sq < 0 ? 17 : -17);
		acc += (q >> (i & 63)) ^ (uint64_t)(int64_t)(int32_t)a[i];
		acc += (uint64_t)(sq > (int64_t)acc) + (uint32_t)(q >> 32);
	}
	printf("int64 %016llx %lld %016llx\n", (unsigned long long)q,
	    (long long)sq, (unsigned long long)acc);
	for (i = 0; i < n; i++) {
		f = f * 1.0001f + 0.3f / (float)(i + 1);
		g = g * 0.999f + f * 1e-3f - (float)(int32_t)(i & 7);
		d = d * 1.0000001 + (double)f * (double)g;
		if (f > 1e6f)
			f *= 0.5f;
	}
	printf("float %.9g %.9g %.17g\n", (double)f, (double)g, d);
	/* Byte stores into the words just read, then reads of both. */
	for (i = 0; i + 8 < n; i++) {
		uint32_t w = a[i];

		b[4 * i + 1] = (uint8_t)(w >> 3);
		a[i + 1] ^= a[i] + w;
		b[4 * i + 6] = b[4 * i + 1] + b[4 * i + 2];
		h = h * 31 + a[i] + b[4 * i + 5];
	}
	printf("memory %08x\n", h);
	for (i = 0; i < 1000; i++) {
		s = ops[(uint32_t)s & 1](s) + twice((int32_t)i);
		h = (i & 1) ? h + (uint32_t)s : h ^ (uint32_t)s;
		h = (h & 4) ? h : ~h;
	}
	printf("calls %d %08x\n", s, h);
	free(a);
	return 0;
}
