#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_MODULE "testmod"
#include "core/core.h"

static char *
capture(void (*fn)(void))
{
	int fds[2];
	uint8_t *d;
	size_t n;

	assert_int_equal(pipe(fds), 0);
	log_set_fd(fds[1]);
	fn();
	log_set_fd(-1);
	close(fds[1]);
	assert_int_equal(core_fs_read_fd(fds[0], 0, &d, &n, NULL), CORE_OK);
	close(fds[0]);
	return (char *)d;
}

static void
emit_some(void)
{
	log_set_proc("unit");
	log_set_level(LOG_LEVEL_INFO);
	log_debug("hidden %d", 1);
	log_info("hello \"world\"\nline2");
	log_kv(LOG_LEVEL_WARN, "task=abc len=3", "with fields");
}

static void
test_format(void **state)
{
	char *out = capture(emit_some);

	(void)state;
	assert_null(strstr(out, "hidden"));
	assert_non_null(strstr(out, "level=info proc=unit mod=testmod "
	    "msg=\"hello \\\"world\\\"\\nline2\"\n"));
	assert_non_null(strstr(out, "level=warn proc=unit mod=testmod "
	    "msg=\"with fields\" task=abc len=3\n"));
	assert_int_equal(strncmp(out, "ts=", 3), 0);
	free(out);
}

static void
test_level_parse(void **state)
{
	enum log_level l;

	(void)state;
	assert_int_equal(log_level_parse("DEBUG", &l), CORE_OK);
	assert_int_equal(l, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("warning", &l), CORE_OK);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("none", &l), CORE_OK);
	assert_int_equal(log_level_parse("loud", &l), CORE_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_level_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
