/* traps.c -- one export per WebAssembly trap kind (invoked by the tests). */
#include <limits.h>
#include <math.h>
#include <stdint.h>

#define EXPORT(n) __attribute__((export_name(n), noinline))

static volatile int zero = 0;
static volatile int minus_one = -1;
static volatile float not_a_number = NAN;

EXPORT("t_unreachable") int t_unreachable(void) { __builtin_trap(); }

EXPORT("t_oob") int
t_oob(void)
{
	volatile int *p = (volatile int *)(uintptr_t)0xfffffff0u;
	return *p;
}

EXPORT("t_div0") int t_div0(int a) { return a / zero; }

EXPORT("t_overflow") int t_overflow(void) { return INT_MIN / minus_one; }

EXPORT("t_conversion") int t_conversion(void) { return (int)not_a_number; }

typedef int (*fn_i)(int);
typedef double (*fn_d)(double, double);
static int twice(int x) { return 2 * x; }
static volatile fn_i table[2] = { twice, 0 };

EXPORT("t_indirect_null") int t_indirect_null(int x) { return table[1](x); }

EXPORT("t_indirect_type") int
t_indirect_type(void)
{
	fn_d f = (fn_d)(void *)table[0];
	return (int)f(1.0, 2.0);
}

EXPORT("t_recurse") int
t_recurse(int n)
{
	if (n == -1)
		return 0;
	return t_recurse(n + 1) * 3 + t_recurse(n + 2);
}

EXPORT("t_ok") int t_ok(int a) { return twice(a); }

int main(void) { return 0; }
