#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static void
test_append_and_nul(void **state)
{
	struct core_buf b;

	(void)state;
	core_buf_init(&b, 0);
	assert_int_equal(core_buf_append_str(&b, "abc"), CORE_OK);
	assert_int_equal(core_buf_printf(&b, "-%d-", 42), CORE_OK);
	assert_int_equal(b.len, 7);
	assert_string_equal((char *)b.data, "abc-42-");
	core_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal((char *)b.data, "");
	core_buf_cleanup(&b);
}

static void
test_ceiling(void **state)
{
	struct core_buf b;

	(void)state;
	core_buf_init(&b, 8);
	assert_int_equal(core_buf_append(&b, "12345678", 8), CORE_OK);
	/* A failed append leaves the buffer unchanged. */
	assert_int_equal(core_buf_append(&b, "9", 1), CORE_ERR_TOO_BIG);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "12345678", 8);
	assert_int_equal(core_buf_printf(&b, "%s", "x"), CORE_ERR_TOO_BIG);
	assert_int_equal(core_buf_reserve(&b, SIZE_MAX), CORE_ERR_TOO_BIG);
	core_buf_cleanup_secure(&b);
	assert_null(b.data);
}

static void
test_growth_large(void **state)
{
	struct core_buf b;
	char chunk[1000];
	size_t i;

	(void)state;
	memset(chunk, 'z', sizeof(chunk));
	core_buf_init(&b, 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(core_buf_append(&b, chunk, sizeof(chunk)), CORE_OK);
	assert_int_equal(b.len, 1000000);
	assert_int_equal(b.data[999999], 'z');
	assert_int_equal(b.data[1000000], '\0');
	core_buf_cleanup(&b);
}

static void
test_steal(void **state)
{
	struct core_buf b;
	uint8_t *p;
	size_t n;

	(void)state;
	core_buf_init(&b, 0);
	p = core_buf_steal(&b, &n);
	assert_non_null(p);
	assert_int_equal(n, 0);
	assert_string_equal((char *)p, "");
	free(p);
	core_buf_append_str(&b, "hello");
	p = core_buf_steal(&b, &n);
	assert_int_equal(n, 5);
	assert_string_equal((char *)p, "hello");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_nul),
		cmocka_unit_test(test_ceiling),
		cmocka_unit_test(test_growth_large),
		cmocka_unit_test(test_steal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
