#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static void
test_toml_parser(void **state)
{
	const char *t = "[a]\nk = \"v\\\"q\"\n[ b ]\nk = \"other\"\nn = 3\n";
	struct core_errbuf eb;
	char *v;

	(void)state;
	assert_int_equal(core_toml_get(t, strlen(t), "a", "k", &v, NULL), CORE_OK);
	assert_string_equal(v, "v\"q");
	free(v);
	assert_int_equal(core_toml_get(t, strlen(t), "b", "k", &v, NULL), CORE_OK);
	assert_string_equal(v, "other");
	free(v);
	assert_int_equal(core_toml_get(t, strlen(t), "a", "missing", &v, NULL), CORE_OK);
	assert_null(v);
	core_errbuf_clear(&eb);
	assert_int_equal(core_toml_get(t, strlen(t), "b", "n", &v, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "must be a string"));
	assert_int_equal(core_toml_get("[x\n", 3, "x", "k", &v, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_toml_get("[x]\nk = \"open\n", 14, "x", "k", &v, NULL),
	    CORE_ERR_INVALID);
	assert_int_equal(core_toml_get("[x]\n= 1\n", 8, "x", "k", &v, NULL),
	    CORE_ERR_INVALID);
}

static void
test_toml_limits(void **state)
{
	char *v;
	char big[5000];

	(void)state;
	memset(big, 'x', sizeof(big));
	memcpy(big, "[s]\nk = \"", 9);
	big[sizeof(big) - 2] = '"';
	big[sizeof(big) - 1] = '\n';
	assert_int_equal(core_toml_get(big, sizeof(big), "s", "k", &v, NULL),
	    CORE_ERR_TOO_BIG);
	assert_int_equal(core_toml_get("[s]\nk = \"a\\q\"\n", 13, "s", "k", &v, NULL),
	    CORE_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_toml_parser),
		cmocka_unit_test(test_toml_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
