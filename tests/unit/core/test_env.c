#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static void
test_fallback_names(void **state)
{
	struct core_cfg c;

	(void)state;
	core_cfg_init(&c);
	unsetenv("T_NEW");
	setenv("T_OLD", "old-value", 1);
	assert_string_equal(core_env_str(&c, CORE_ENV("T_NEW", "T_OLD"), "def"),
	    "old-value");
	setenv("T_NEW", "new-value", 1);
	assert_string_equal(core_env_str(&c, CORE_ENV("T_NEW", "T_OLD"), "def"),
	    "new-value");
	/* Empty counts as unset. */
	setenv("T_NEW", "", 1);
	unsetenv("T_OLD");
	assert_string_equal(core_env_str(&c, CORE_ENV("T_NEW", "T_OLD"), "def"), "def");
	assert_int_equal(c.nerrors, 0);
	core_cfg_cleanup(&c);
}

static void
test_all_errors_collected(void **state)
{
	struct core_cfg c;

	(void)state;
	core_cfg_init(&c);
	setenv("T_INT", "12x", 1);
	setenv("T_RANGE", "99", 1);
	setenv("T_BOOL", "maybe", 1);
	setenv("T_DUR", "10 s", 1);
	assert_int_equal(core_env_int(&c, CORE_ENV("T_INT"), 5, 0, 100), 5);
	assert_int_equal(core_env_int(&c, CORE_ENV("T_RANGE"), 5, 0, 10), 5);
	assert_true(core_env_bool(&c, CORE_ENV("T_BOOL"), true));
	assert_int_equal(core_env_duration_ms(&c, CORE_ENV("T_DUR"), 30000), 30000);
	assert_int_equal(c.nerrors, 4);
	assert_non_null(strstr((char *)c.errors.data, "T_INT: not an integer (got \"12x\")"));
	assert_non_null(strstr((char *)c.errors.data,
	    "T_RANGE: must be between 0 and 10 (got \"99\")"));
	assert_non_null(strstr((char *)c.errors.data, "T_BOOL: expected"));
	assert_non_null(strstr((char *)c.errors.data, "T_DUR: expected a duration"));
	core_cfg_cleanup(&c);
}

static void
test_good_values(void **state)
{
	struct core_cfg c;

	(void)state;
	core_cfg_init(&c);
	setenv("T_INT", "42", 1);
	setenv("T_BOOL", "ON", 1);
	setenv("T_DUR", "1m", 1);
	assert_int_equal(core_env_int(&c, CORE_ENV("T_INT"), 5, 0, 100), 42);
	assert_false(core_env_bool(&c, CORE_ENV("T_UNSET_X"), false));
	assert_true(core_env_bool(&c, CORE_ENV("T_BOOL"), false));
	assert_int_equal(core_env_duration_ms(&c, CORE_ENV("T_DUR"), 0), 60000);
	assert_int_equal(c.nerrors, 0);
	core_cfg_cleanup(&c);
}

static void
test_parse_helpers(void **state)
{
	int64_t v;
	bool b;

	(void)state;
	assert_int_equal(core_parse_int("-7", -10, 10, &v), CORE_OK);
	assert_int_equal(v, -7);
	assert_int_equal(core_parse_int(" 7", 0, 10, &v), CORE_ERR_INVALID);
	assert_int_equal(core_parse_int("", 0, 10, &v), CORE_ERR_INVALID);
	assert_int_equal(core_parse_int("99999999999999999999", 0, INT64_MAX, &v),
	    CORE_ERR_INVALID);
	assert_int_equal(core_parse_bool("Yes", &b), CORE_OK);
	assert_true(b);
	assert_int_equal(core_parse_bool("off", &b), CORE_OK);
	assert_false(b);
	assert_int_equal(core_parse_bool("2", &b), CORE_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fallback_names),
		cmocka_unit_test(test_all_errors_collected),
		cmocka_unit_test(test_good_values),
		cmocka_unit_test(test_parse_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
