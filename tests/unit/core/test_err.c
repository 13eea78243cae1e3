#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "core/core.h"

static void
test_errf_first_wins(void **state)
{
	struct core_errbuf eb;

	(void)state;
	core_errbuf_clear(&eb);
	assert_int_equal(core_errf(&eb, CORE_ERR_INVALID, "bad %s", "thing"),
	    CORE_ERR_INVALID);
	assert_int_equal(core_errf(&eb, CORE_ERR_IO, "second"), CORE_ERR_IO);
	assert_string_equal(core_errbuf_msg(&eb), "bad thing");
}

static void
test_errf_null_ok(void **state)
{
	(void)state;
	assert_int_equal(core_errf(NULL, CORE_ERR_NOMEM, "x"), CORE_ERR_NOMEM);
	assert_string_equal(core_errbuf_msg(NULL), "");
	core_errbuf_prefix(NULL, "ctx");
}

static void
test_errno_suffix(void **state)
{
	struct core_errbuf eb;

	(void)state;
	core_errbuf_clear(&eb);
	errno = ENOENT;
	core_errf_errno(&eb, CORE_ERR_IO, "open %s", "/x");
	assert_string_equal(eb.msg, "open /x: No such file or directory");
}

static void
test_prefix(void **state)
{
	struct core_errbuf eb;
	char big[CORE_ERRBUF_LEN * 2];

	(void)state;
	core_errbuf_clear(&eb);
	core_errf(&eb, CORE_ERR_INVALID, "inner");
	core_errbuf_prefix(&eb, "layer %d", 2);
	assert_string_equal(eb.msg, "layer 2: inner");
	/* Overlong text is truncated, never overflows. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	core_errbuf_prefix(&eb, "%s", big);
	assert_int_equal(strlen(eb.msg), CORE_ERRBUF_LEN - 1);
	core_errbuf_clear(&eb);
	core_errbuf_prefix(&eb, "only");
	assert_string_equal(eb.msg, "only");
}

static void
test_err_str(void **state)
{
	(void)state;
	assert_string_equal(core_err_str(CORE_OK), "ok");
	assert_string_equal(core_err_str(CORE_ERR_TRAP), "trap");
	assert_string_equal(core_err_str((enum core_err)999), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errf_first_wins),
		cmocka_unit_test(test_errf_null_ok),
		cmocka_unit_test(test_errno_suffix),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_err_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
