/* test_cli.c -- argument parsing of `propeller wasm run`. */
#include "core/core.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "wasm/wasm.h"

/* From src/cli/cmd_wasm.c (STATIC in test builds). */
#define WASM_CLI_MAX_LIST 256
struct wasm_cli_args {
	const char *invoke;
	const char *module;
	char **args;
	size_t nargs;
	const char *env[WASM_CLI_MAX_LIST];
	size_t nenv;
	char *envbuf[WASM_CLI_MAX_LIST];
	size_t nenvbuf;
	struct wasm_preopen dirs[WASM_CLI_MAX_LIST];
	char *dirbuf[WASM_CLI_MAX_LIST];
	size_t ndirs;
	enum wasm_tier tier;
	uint64_t max_memory;
	int64_t timeout_ms;
	const char *cache_dir;
};
int wasm_cli_parse(int argc, char **argv, struct wasm_cli_args *a,
    char *err, size_t errlen);
void wasm_cli_args_cleanup(struct wasm_cli_args *a);
enum core_err wasm_cli_parse_bytes(const char *s, uint64_t *out);

static int
parse(struct wasm_cli_args *a, char *err, const char *const *args)
{
	static char *argv[64]; /* a->args points into it */
	int argc = 0;

	while (args[argc] != NULL) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	memset(a, 0, sizeof(*a));
	return wasm_cli_parse(argc, argv, a, err, 256);
}

static void
test_full(void **state)
{
	const char *args[] = { "wasm", "run", "--invoke", "add", "--dir",
	    "/tmp::/data", "--dir", "/srv", "--env", "A=1", "--env", "B=x=y",
	    "--tier", "2", "--max-memory", "64M", "--timeout", "5",
	    "mod.wasm", "10", "--not-an-option", "20", NULL };
	struct wasm_cli_args a;
	char err[256];

	(void)state;
	assert_int_equal(parse(&a, err, args), 0);
	assert_string_equal(a.invoke, "add");
	assert_string_equal(a.module, "mod.wasm");
	assert_int_equal(a.nargs, 3);
	assert_string_equal(a.args[0], "10");
	assert_string_equal(a.args[1], "--not-an-option");
	assert_int_equal(a.ndirs, 2);
	assert_string_equal(a.dirs[0].host_path, "/tmp");
	assert_string_equal(a.dirs[0].guest_path, "/data");
	assert_string_equal(a.dirs[1].host_path, "/srv");
	assert_string_equal(a.dirs[1].guest_path, "/srv");
	assert_int_equal(a.nenv, 2);
	assert_string_equal(a.env[1], "B=x=y");
	assert_int_equal(a.tier, WASM_TIER_2);
	assert_int_equal(a.max_memory, 64ull * 1024 * 1024);
	assert_int_equal(a.timeout_ms, 5000);
	wasm_cli_args_cleanup(&a);
}

static void
test_minimal_and_env_passthrough(void **state)
{
	const char *args[] = { "wasm", "run", "--env", "WT_CLI_VAR",
	    "--env", "WT_CLI_UNSET_VAR", "m.wasm", NULL };
	struct wasm_cli_args a;
	char err[256];

	(void)state;
	setenv("WT_CLI_VAR", "hello", 1);
	unsetenv("WT_CLI_UNSET_VAR");
	assert_int_equal(parse(&a, err, args), 0);
	assert_null(a.invoke);
	assert_int_equal(a.tier, WASM_TIER_AUTO);
	assert_int_equal(a.nargs, 0);
	assert_int_equal(a.nenv, 1);
	assert_string_equal(a.env[0], "WT_CLI_VAR=hello");
	wasm_cli_args_cleanup(&a);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *args[8];
		const char *needle;
	} cases[] = {
		{ { "wasm", NULL }, "\"run\"" },
		{ { "wasm", "exec", "m.wasm", NULL }, "\"run\"" },
		{ { "wasm", "run", NULL }, "missing MODULE" },
		{ { "wasm", "run", "--tier", "3", "m.wasm", NULL }, "--tier" },
		{ { "wasm", "run", "--max-memory", "lots", "m.wasm", NULL },
		    "--max-memory" },
		{ { "wasm", "run", "--max-memory", "0", "m.wasm", NULL },
		    "--max-memory" },
		{ { "wasm", "run", "--timeout", "-1", "m.wasm", NULL },
		    "--timeout" },
		{ { "wasm", "run", "--timeout", "soon", "m.wasm", NULL },
		    "--timeout" },
		{ { "wasm", "run", "--env", "=x", "m.wasm", NULL }, "--env" },
		{ { "wasm", "run", "--dir", "::/x", "m.wasm", NULL }, "--dir" },
		{ { "wasm", "run", "--dir", "/x::", "m.wasm", NULL }, "--dir" },
		{ { "wasm", "run", "--bogus", "m.wasm", NULL }, "--bogus" },
		{ { "wasm", "run", "m.wasm", "--invoke", NULL }, NULL },
		{ { "wasm", "run", "--invoke", NULL }, "--invoke" },
	};
	struct wasm_cli_args a;
	char err[256];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < CORE_ARRAY_LEN(cases); i++) {
		rc = parse(&a, err, cases[i].args);
		if (cases[i].needle == NULL) {
			/* Options after MODULE belong to the program. */
			assert_int_equal(rc, 0);
			assert_int_equal(a.nargs, 1);
		} else {
			assert_int_equal(rc, CLI_EXIT_USAGE);
			if (strstr(err, cases[i].needle) == NULL)
				fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
				    cases[i].needle);
		}
		wasm_cli_args_cleanup(&a);
	}
}

static void
test_bytes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(wasm_cli_parse_bytes("65536", &v), CORE_OK);
	assert_int_equal(v, 65536);
	assert_int_equal(wasm_cli_parse_bytes("2K", &v), CORE_OK);
	assert_int_equal(v, 2048);
	assert_int_equal(wasm_cli_parse_bytes("1GiB", &v), CORE_OK);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(wasm_cli_parse_bytes("1Gx", &v), CORE_ERR_INVALID);
	assert_int_equal(wasm_cli_parse_bytes("-5", &v), CORE_ERR_INVALID);
	assert_int_equal(wasm_cli_parse_bytes("99999999999999999999G", &v),
	    CORE_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_minimal_and_env_passthrough),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
