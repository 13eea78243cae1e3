#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "core/core.h"

static void
test_secret_lifecycle(void **state)
{
	struct secret *s = secret_from("key-material", 12), *z;

	(void)state;
	assert_non_null(s);
	assert_int_equal(s->len, 12);
	assert_memory_equal(s->ptr, "key-material", 12);
	secret_free(s);
	secret_free(NULL);
	z = secret_new(0);
	assert_non_null(z);
	assert_non_null(z->ptr);
	secret_free(z);
	z = secret_new(8192); /* large enough for MADV_DONTDUMP */
	assert_non_null(z);
	assert_int_equal(z->ptr[8191], 0);
	secret_free(z);
}

static void
test_wipe_and_compare(void **state)
{
	uint8_t a[16], b[16];

	(void)state;
	memset(a, 0x5a, sizeof(a));
	core_wipe(a, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_memory_equal(a, b, sizeof(a));
	assert_true(core_ct_equal(a, b, sizeof(a)));
	b[15] = 1;
	assert_false(core_ct_equal(a, b, sizeof(a)));
	assert_true(core_ct_equal(a, b, 0));
}

static void
test_random(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	assert_int_equal(core_random(a, sizeof(a), NULL), CORE_OK);
	assert_int_equal(core_random(b, sizeof(b), NULL), CORE_OK);
	assert_false(core_ct_equal(a, b, sizeof(a)));
	assert_int_equal(core_random(a, 0, NULL), CORE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_lifecycle),
		cmocka_unit_test(test_wipe_and_compare),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
