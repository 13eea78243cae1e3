/* matmul.c -- dense double matrix multiply, n x n (arg 1). */
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 300, i, j, k;
	double *a = malloc(sizeof(double) * n * n);
	double *b = malloc(sizeof(double) * n * n);
	double *c = calloc((size_t)n * n, sizeof(double));
	double sum = 0;

	for (i = 0; i < n * n; i++) {
		a[i] = (double)(i % 17) * 0.5;
		b[i] = (double)(i % 13) * 0.25;
	}
	for (i = 0; i < n; i++)
		for (k = 0; k < n; k++) {
			double aik = a[i * n + k];
			for (j = 0; j < n; j++)
				c[i * n + j] += aik * b[k * n + j];
		}
	for (i = 0; i < n * n; i++)
		sum += c[i];
	printf("matmul %d %.3f\n", n, sum);
	return 0;
}
