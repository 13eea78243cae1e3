/*
 * tiny.c -- the benchmark's small module: a reactor exporting add, plus a
 * clock export so that it imports WASI like real modules do.
 */
#include <time.h>

__attribute__((export_name("add"))) int
add(int a, int b)
{
	return a + b;
}

__attribute__((export_name("now_s"))) long long
now_s(void)
{
	return (long long)time(NULL);
}
