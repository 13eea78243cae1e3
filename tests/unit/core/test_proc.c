#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <string.h>

#include "core/core.h"

static void
test_capture_and_exit(void **state)
{
	const char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct core_proc_opts o = { .argv = argv, .envp = envp };
	struct core_proc_result r;

	(void)state;
	assert_int_equal(core_proc_run(&o, &r, NULL), CORE_OK);
	assert_false(r.signaled);
	assert_int_equal(r.exit_code, 3);
	assert_string_equal((char *)r.out.data, "out\n");
	assert_string_equal((char *)r.err.data, "err\n");
	core_proc_result_cleanup(&r);
}

static void
test_clean_env_and_stdin(void **state)
{
	const char *argv[] = { "sh", "-c", "env | sort; cat", NULL };
	const char *envp[] = { "PATH=/usr/bin:/bin", "ONLY=this", NULL };
	struct core_proc_opts o = { .argv = argv, .envp = envp,
		.stdin_data = "from-stdin", .stdin_len = 10 };
	struct core_proc_result r;

	(void)state;
	setenv("SECRET_SHOULD_NOT_LEAK", "x", 1);
	assert_int_equal(core_proc_run(&o, &r, NULL), CORE_OK);
	assert_int_equal(r.exit_code, 0);
	assert_non_null(strstr((char *)r.out.data, "ONLY=this"));
	assert_null(strstr((char *)r.out.data, "SECRET_SHOULD_NOT_LEAK"));
	assert_non_null(strstr((char *)r.out.data, "from-stdin"));
	core_proc_result_cleanup(&r);
}

static void
test_timeout_kills_group(void **state)
{
	const char *argv[] = { "sh", "-c", "sleep 30 & sleep 30", NULL };
	const char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct core_proc_opts o = { .argv = argv, .envp = envp, .timeout_ms = 200 };
	struct core_proc_result r;
	int64_t t0 = core_mono_ms();

	(void)state;
	assert_int_equal(core_proc_run(&o, &r, NULL), CORE_ERR_TIMEOUT);
	assert_true(r.timed_out);
	assert_true(r.signaled);
	assert_int_equal(r.term_signal, SIGKILL);
	assert_true(core_mono_ms() - t0 < 5000);
	core_proc_result_cleanup(&r);
}

static void
test_output_bounded(void **state)
{
	const char *argv[] = { "sh", "-c", "head -c 100000 /dev/zero", NULL };
	const char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct core_proc_opts o = { .argv = argv, .envp = envp, .stdout_max = 1000 };
	struct core_proc_result r;

	(void)state;
	assert_int_equal(core_proc_run(&o, &r, NULL), CORE_OK);
	assert_int_equal(r.out.len, 1000);
	assert_true(r.out_truncated);
	assert_int_equal(r.exit_code, 0);
	core_proc_result_cleanup(&r);
}

static void
test_missing_program(void **state)
{
	const char *argv[] = { "/nonexistent/program", NULL };
	struct core_proc_opts o = { .argv = argv };
	struct core_proc_result r;

	(void)state;
	assert_int_equal(core_proc_run(&o, &r, NULL), CORE_OK);
	assert_int_equal(r.exit_code, 127);
	core_proc_result_cleanup(&r);
	o.argv = NULL;
	assert_int_equal(core_proc_run(&o, &r, NULL), CORE_ERR_INVALID);
	core_proc_result_cleanup(&r);
}

static void
test_child_ignores_stdin(void **state)
{
	/* The child exits without reading 1 MiB of stdin: no SIGPIPE for us. */
	static char big[1 << 20];
	const char *argv[] = { "true", NULL };
	const char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct core_proc_opts o = { .argv = argv, .envp = envp,
		.stdin_data = big, .stdin_len = sizeof(big) };
	struct core_proc_result r;

	(void)state;
	assert_int_equal(core_proc_run(&o, &r, NULL), CORE_OK);
	assert_int_equal(r.exit_code, 0);
	core_proc_result_cleanup(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_and_exit),
		cmocka_unit_test(test_clean_env_and_stdin),
		cmocka_unit_test(test_timeout_kills_group),
		cmocka_unit_test(test_output_bounded),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_child_ignores_stdin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
