#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "core/core.h"

static void
test_v4_shape(void **state)
{
	char a[CORE_UUID_STR_LEN + 1], b[CORE_UUID_STR_LEN + 1];

	(void)state;
	assert_int_equal(core_uuid_v4(a), CORE_OK);
	assert_int_equal(core_uuid_v4(b), CORE_OK);
	assert_true(core_uuid_valid(a));
	assert_int_equal(a[14], '4');
	assert_true(strchr("89ab", a[19]) != NULL);
	assert_string_not_equal(a, b);
}

static void
test_valid(void **state)
{
	(void)state;
	assert_true(core_uuid_valid("c902e51c-5eac-4a2d-a489-660b5f7ab461"));
	assert_true(core_uuid_valid("C902E51C-5EAC-4A2D-A489-660B5F7AB461"));
	assert_false(core_uuid_valid(NULL));
	assert_false(core_uuid_valid(""));
	assert_false(core_uuid_valid("c902e51c5eac4a2da489660b5f7ab461"));
	assert_false(core_uuid_valid("c902e51c-5eac-4a2d-a489-660b5f7ab46"));
	assert_false(core_uuid_valid("c902e51c-5eac-4a2d-a489-660b5f7ab4612"));
	assert_false(core_uuid_valid("g902e51c-5eac-4a2d-a489-660b5f7ab461"));
	assert_false(core_uuid_valid("c902e51c-5eac-4a2d-a489_660b5f7ab461"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_shape),
		cmocka_unit_test(test_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
