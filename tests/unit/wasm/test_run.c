/* test_run.c -- running modules: both tiers, traps, limits, kill, the
 * tier-2 cache (corruption, auto policy), non-WASI imports and the
 * external-runtime mode. Programs are progs/<name>.c built to wasm32-wasi. */
#include "wasm/wasm.h"

#include <setjmp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "wt_common.h"

static char *cache_dir; /* shared by the tests: one tier-2 build per module */

static void
run_ok(const struct wasm_module *m, const struct wasm_run_opts *o,
    struct wasm_result *r)
{
	struct core_errbuf eb;

	core_errbuf_clear(&eb);
	if (wasm_run(m, o, r, &eb) != CORE_OK)
		fail_msg("wasm_run: %s", core_errbuf_msg(&eb));
	if (r->outcome == WASM_OUT_FAILED)
		fail_msg("run failed: %s", r->errmsg);
}

static const char *
out_str(const struct wasm_result *r)
{
	return r->out.data ? (const char *)r->out.data : "";
}

static int
setup(void **state)
{
	(void)state;
	return core_fs_tmpdir("wt-cache", &cache_dir, NULL) == CORE_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	(void)core_fs_rmtree(cache_dir, NULL);
	free(cache_dir);
	return 0;
}

static void
test_invoke_both_tiers(void **state)
{
	static const struct {
		const char *fn;
		const char *args[3];
		size_t nargs;
		const char *want;
	} cases[] = {
		{ "t_ok", { "21" }, 1, "42\n" },
		{ "t_ok", { "-4" }, 1, "-8\n" },
	};
	static const struct {
		const char *fn;
		const char *args[3];
		size_t nargs;
		const char *want;
	} fcases[] = {
		{ "mix", { "5", "1.5", "0.25" }, 3, "55\n" },
		{ "hyp", { "3", "4" }, 2, "5\n" },
		{ "half", { "3" }, 1, "1.5\n" },
	};
	struct wasm_module *m = wt_load("wt_traps.wasm");
	struct wasm_module *mc = wt_load("wt_compute.wasm");
	struct wasm_run_opts o;
	struct wasm_result r;
	enum wasm_tier tier;
	size_t i;

	(void)state;
	for (tier = WASM_TIER_1; tier <= WASM_TIER_2; tier++) {
		for (i = 0; i < CORE_ARRAY_LEN(cases); i++) {
			wt_opts_init(&o, tier, cache_dir);
			o.invoke = cases[i].fn;
			o.args = cases[i].args;
			o.nargs = cases[i].nargs;
			run_ok(m, &o, &r);
			assert_int_equal(r.outcome, WASM_OUT_RETURNED);
			assert_int_equal(r.tier_used, tier);
			assert_string_equal(r.results, cases[i].want);
			wasm_result_cleanup(&r);
		}
		for (i = 0; i < CORE_ARRAY_LEN(fcases); i++) {
			wt_opts_init(&o, tier, cache_dir);
			o.invoke = fcases[i].fn;
			o.args = fcases[i].args;
			o.nargs = fcases[i].nargs;
			run_ok(mc, &o, &r);
			assert_int_equal(r.outcome, WASM_OUT_RETURNED);
			assert_string_equal(r.results, fcases[i].want);
			wasm_result_cleanup(&r);
		}
	}
	wasm_module_free(m);
	wasm_module_free(mc);
}

static void
test_invoke_errors(void **state)
{
	struct wasm_module *m = wt_load("wt_traps.wasm");
	struct wasm_run_opts o;
	struct wasm_result r;
	struct core_errbuf eb;
	const char *bad[] = { "ten" };
	const char *two[] = { "1", "2" };

	(void)state;
	wt_opts_init(&o, WASM_TIER_1, cache_dir);
	o.invoke = "nope";
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_run(m, &o, &r, &eb), CORE_ERR_NOT_FOUND);
	assert_non_null(strstr(core_errbuf_msg(&eb), "\"nope\""));
	wasm_result_cleanup(&r);
	o.invoke = "t_ok";
	o.args = bad;
	o.nargs = 1;
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_run(m, &o, &r, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "\"ten\""));
	wasm_result_cleanup(&r);
	o.args = two;
	o.nargs = 2;
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_run(m, &o, &r, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "takes 1 argument"));
	wasm_result_cleanup(&r);
	wasm_module_free(m);
}

static void
test_traps(void **state)
{
	static const struct {
		const char *fn;
		int nargs;
		enum wasm_trap want;
	} cases[] = {
		{ "t_unreachable", 0, WASM_TRAP_UNREACHABLE },
		{ "t_oob", 0, WASM_TRAP_OOB },
		{ "t_div0", 1, WASM_TRAP_DIV_ZERO },
		{ "t_overflow", 0, WASM_TRAP_INT_OVERFLOW },
		{ "t_indirect_null", 1, WASM_TRAP_INDIRECT_CALL },
		{ "t_indirect_type", 0, WASM_TRAP_INDIRECT_CALL },
		{ "t_recurse", 1, WASM_TRAP_STACK },
	};
	const char *one[] = { "1" };
	struct wasm_module *m = wt_load("wt_traps.wasm");
	struct wasm_run_opts o;
	struct wasm_result r;
	enum wasm_tier tier;
	size_t i;

	(void)state;
	for (tier = WASM_TIER_1; tier <= WASM_TIER_2; tier++) {
		for (i = 0; i < CORE_ARRAY_LEN(cases); i++) {
			wt_opts_init(&o, tier, cache_dir);
			o.invoke = cases[i].fn;
			o.args = one;
			o.nargs = (size_t)cases[i].nargs;
			run_ok(m, &o, &r);
			if (r.outcome != WASM_OUT_TRAPPED ||
			    r.trap != cases[i].want)
				fail_msg("tier %d %s: outcome %d trap %s", tier,
				    cases[i].fn, r.outcome,
				    wasm_trap_str(r.trap));
			wasm_result_cleanup(&r);
		}
	}
	wasm_module_free(m);
}

static void
test_start_args_env_exit(void **state)
{
	const char *args[] = { "7", "two words" };
	const char *env[] = { "GREETING=hello there" };
	struct wasm_module *m = wt_load("wt_echoargs.wasm");
	struct wasm_run_opts o;
	struct wasm_result r[2];
	enum wasm_tier tier;

	(void)state;
	setenv("HOME", "/should/not/leak", 1);
	for (tier = WASM_TIER_1; tier <= WASM_TIER_2; tier++) {
		wt_opts_init(&o, tier, cache_dir);
		o.args = args;
		o.nargs = 2;
		o.argv0 = "echo";
		o.env = env;
		o.nenv = 1;
		run_ok(m, &o, &r[tier - 1]);
		assert_int_equal(r[tier - 1].outcome, WASM_OUT_EXITED);
		assert_int_equal(r[tier - 1].exit_code, 7);
		assert_string_equal(out_str(&r[tier - 1]),
		    "argv[0]=echo\nargv[1]=7\nargv[2]=two words\n"
		    "GREETING=hello there\nHOME=(unset)\n");
		assert_string_equal((const char *)r[tier - 1].err.data,
		    "to stderr\n");
	}
	wasm_result_cleanup(&r[0]);
	wasm_result_cleanup(&r[1]);
	/* Exit code 0 from a normal return of main. */
	wt_opts_init(&o, WASM_TIER_1, cache_dir);
	run_ok(m, &o, &r[0]);
	assert_int_equal(r[0].outcome, WASM_OUT_EXITED);
	assert_int_equal(r[0].exit_code, 0);
	wasm_result_cleanup(&r[0]);
	wasm_module_free(m);
}

static void
test_tiers_identical(void **state)
{
	static const char *const progs[] = { "wt_compute.wasm",
	    "wt_spin.wasm" };
	struct wasm_module *m;
	struct wasm_run_opts o;
	struct wasm_result r1, r2;
	size_t i;

	(void)state;
	for (i = 0; i < CORE_ARRAY_LEN(progs); i++) {
		m = wt_load(progs[i]);
		wt_opts_init(&o, WASM_TIER_1, cache_dir);
		o.max_memory_bytes = 32u << 20;
		run_ok(m, &o, &r1);
		wt_opts_init(&o, WASM_TIER_2, cache_dir);
		o.max_memory_bytes = 32u << 20;
		run_ok(m, &o, &r2);
		assert_int_equal(r1.tier_used, WASM_TIER_1);
		assert_int_equal(r2.tier_used, WASM_TIER_2);
		assert_int_equal(r1.outcome, WASM_OUT_EXITED);
		assert_int_equal(r2.outcome, WASM_OUT_EXITED);
		assert_true(r1.out.len > 0);
		assert_string_equal(out_str(&r1), out_str(&r2));
		wasm_result_cleanup(&r1);
		wasm_result_cleanup(&r2);
		wasm_module_free(m);
	}
}

static void
test_time_limit_and_kill(void **state)
{
	struct wasm_module *m = wt_load("wt_spin.wasm");
	struct wasm_run_opts o;
	struct wasm_result r;
	struct wasm_task *t = NULL;
	int64_t t0;

	(void)state;
	wt_opts_init(&o, WASM_TIER_1, cache_dir);
	o.invoke = "spin";
	o.timeout_ms = 700;
	t0 = core_mono_ms();
	run_ok(m, &o, &r);
	assert_int_equal(r.outcome, WASM_OUT_TIMEOUT);
	assert_true(core_mono_ms() - t0 < 5000);
	wasm_result_cleanup(&r);

	wt_opts_init(&o, WASM_TIER_1, cache_dir);
	o.invoke = "spin";
	o.timeout_ms = 0;
	assert_int_equal(wasm_task_start(m, &o, &t, NULL), CORE_OK);
	assert_true(wasm_task_pid(t) > 0);
	usleep(300 * 1000);
	assert_int_equal(kill(wasm_task_pid(t), 0), 0);
	wasm_task_kill(t);
	assert_int_equal(wasm_task_wait(t, &r, NULL), CORE_OK);
	assert_int_equal(r.outcome, WASM_OUT_KILLED);
	wasm_result_cleanup(&r);
	wasm_module_free(m);
}

static void
test_memory_limit(void **state)
{
	struct wasm_module *m = wt_load("wt_alloc.wasm");
	struct wasm_run_opts o;
	struct wasm_result r;
	int mib = -1;

	(void)state;
	wt_opts_init(&o, WASM_TIER_1, cache_dir);
	o.max_memory_bytes = 16u << 20;
	run_ok(m, &o, &r);
	assert_int_equal(r.outcome, WASM_OUT_EXITED);
	assert_int_equal(sscanf(out_str(&r), "allocated %d MiB", &mib), 1);
	assert_true(mib >= 8 && mib < 16);
	wasm_result_cleanup(&r);
	/* Initial memory (2 pages) above the limit: the OOM trap. */
	wt_opts_init(&o, WASM_TIER_1, cache_dir);
	o.max_memory_bytes = 65536;
	run_ok(m, &o, &r);
	assert_int_equal(r.outcome, WASM_OUT_TRAPPED);
	assert_int_equal(r.trap, WASM_TRAP_OOM);
	wasm_result_cleanup(&r);
	wasm_module_free(m);
}

static void
test_non_wasi_import_refused(void **state)
{
	static const uint8_t mod[] = { 0, 'a', 's', 'm', 1, 0, 0, 0,
	    0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
	    0x02, 0x0e, 0x01, 0x03, 'e', 'n', 'v', 0x06, 'l', 'a', 'u', 'n',
	    'c', 'h', 0x00, 0x00 };
	struct wasm_module *m = NULL;
	struct wasm_run_opts o;
	struct wasm_result r;
	struct core_errbuf eb;

	(void)state;
	assert_int_equal(wasm_module_parse(mod, sizeof(mod), &m, NULL),
	    CORE_OK);
	wt_opts_init(&o, WASM_TIER_1, cache_dir);
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_run(m, &o, &r, &eb), CORE_ERR_UNSUPPORTED);
	assert_non_null(strstr(core_errbuf_msg(&eb), "module \"env\""));
	assert_non_null(strstr(core_errbuf_msg(&eb), "field \"launch\""));
	wasm_result_cleanup(&r);
	wasm_module_free(m);
}

static void
test_cache_corruption_rebuilt(void **state)
{
	struct wasm_module *m = wt_load("wt_traps.wasm");
	struct wasm_run_opts o;
	struct wasm_result r;
	char *path;
	uint8_t *p = NULL;
	size_t n = 0;
	const char *one[] = { "5" };

	(void)state;
	assert_int_equal(wasm_cache_build(cache_dir, m, NULL, NULL), CORE_OK);
	assert_true(wasm_cache_valid(cache_dir, m));
	path = wasm_cache_path(cache_dir, m);
	/* Flip one byte in the middle of the object. */
	assert_int_equal(core_fs_read(path, 0, &p, &n, NULL), CORE_OK);
	p[n / 2] ^= 0x5a;
	assert_int_equal(core_fs_write_atomic(path, p, n, 0600, NULL),
	    CORE_OK);
	assert_false(wasm_cache_valid(cache_dir, m));
	wt_opts_init(&o, WASM_TIER_2, cache_dir);
	o.invoke = "t_ok";
	o.args = one;
	o.nargs = 1;
	run_ok(m, &o, &r);
	assert_int_equal(r.tier_used, WASM_TIER_2);
	assert_string_equal(r.results, "10\n");
	assert_true(wasm_cache_valid(cache_dir, m));
	wasm_result_cleanup(&r);
	/* Truncated entry. */
	assert_int_equal(core_fs_write_atomic(path, p, 100, 0600, NULL),
	    CORE_OK);
	assert_false(wasm_cache_valid(cache_dir, m));
	/* auto with a broken entry must not use it: tier 1. */
	wt_opts_init(&o, WASM_TIER_AUTO, cache_dir);
	o.invoke = "t_ok";
	o.args = one;
	o.nargs = 1;
	run_ok(m, &o, &r);
	assert_int_equal(r.tier_used, WASM_TIER_1);
	assert_string_equal(r.results, "10\n");
	wasm_result_cleanup(&r);
	free(p);
	free(path);
	wasm_module_free(m);
}

static void
test_auto_policy(void **state)
{
	struct wasm_module *m = wt_load("wt_echoargs.wasm");
	struct wasm_run_opts o;
	struct wasm_result r;
	char *dir = NULL;
	int i;

	(void)state;
	assert_int_equal(core_fs_tmpdir("wt-auto", &dir, NULL), CORE_OK);
	wt_opts_init(&o, WASM_TIER_AUTO, cache_dir);
	o.cache_dir = dir;
	o.no_background_build = false;
	run_ok(m, &o, &r);
	/* First run: never delayed by a build, so tier 1 ... */
	assert_int_equal(r.tier_used, WASM_TIER_1);
	assert_int_equal(r.outcome, WASM_OUT_EXITED);
	wasm_result_cleanup(&r);
	/* ... while tier 2 builds in the background. */
	for (i = 0; i < 600 && !wasm_cache_valid(dir, m); i++)
		usleep(100 * 1000);
	assert_true(wasm_cache_valid(dir, m));
	run_ok(m, &o, &r);
	assert_int_equal(r.tier_used, WASM_TIER_2);
	assert_int_equal(r.outcome, WASM_OUT_EXITED);
	wasm_result_cleanup(&r);
	(void)core_fs_rmtree(dir, NULL);
	free(dir);
	wasm_module_free(m);
}

struct waiter {
	struct wasm_task *t;
	struct wasm_result r;
};

static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;

	(void)wasm_task_wait(w->t, &w->r, NULL);
	return NULL;
}

static void
test_auto_switches_long_run(void **state)
{
	/* A long run restarts in tier 2 when the background build lands;
	 * the tier-1 run's captured output ("early") is dropped, so it
	 * appears once. */
	struct wasm_module *m = wt_load("wt_spin.wasm");
	struct wasm_run_opts o;
	struct wasm_result r;
	const char *args[] = { "20000000000", "early" };
	char *dir = NULL;

	(void)state;
	assert_int_equal(core_fs_tmpdir("wt-switch", &dir, NULL), CORE_OK);
	wt_opts_init(&o, WASM_TIER_AUTO, cache_dir);
	o.cache_dir = dir;
	o.no_background_build = false;
	o.args = args;
	o.nargs = 2;
	o.timeout_ms = 0;
	{
		struct waiter w;
		pthread_t th;
		int i;

		memset(&w, 0, sizeof(w));
		assert_int_equal(wasm_task_start(m, &o, &w.t, NULL), CORE_OK);
		assert_int_equal(pthread_create(&th, NULL, waiter_main, &w), 0);
		/* Stop it once tier 2 is valid and the switch had time. */
		for (i = 0; i < 600 && !wasm_cache_valid(dir, m); i++)
			usleep(100 * 1000);
		usleep(1000 * 1000);
		wasm_task_kill(w.t);
		assert_int_equal(pthread_join(th, NULL), 0);
		r = w.r;
	}
	assert_int_equal(r.outcome, WASM_OUT_KILLED);
	assert_int_equal(r.tier_used, WASM_TIER_2);
	assert_string_equal(out_str(&r), "early\n");
	wasm_result_cleanup(&r);
	(void)core_fs_rmtree(dir, NULL);
	free(dir);
	wasm_module_free(m);
}

static void
test_external_runtime(void **state)
{
	struct wasm_module *m = wt_load("wt_traps.wasm");
	struct wasm_module *me = wt_load("wt_echoargs.wasm");
	struct wasm_run_opts o;
	struct wasm_result r;
	const char *args[] = { "20" };
	const char *eargs[] = { "3" };
	const char *env[] = { "GREETING=ext" };

	(void)state;
	wt_opts_init(&o, WASM_TIER_EXTERNAL, cache_dir);
	o.external_runtime = WT_RUNTIME;
	o.invoke = "t_ok";
	o.args = args;
	o.nargs = 1;
	run_ok(m, &o, &r);
	assert_int_equal(r.tier_used, WASM_TIER_EXTERNAL);
	assert_int_equal(r.outcome, WASM_OUT_RETURNED);
	/* Raw stdout, trailing newline kept (spec 6.4). */
	assert_string_equal(r.results, "40\n");
	wasm_result_cleanup(&r);

	wt_opts_init(&o, WASM_TIER_EXTERNAL, cache_dir);
	o.external_runtime = WT_RUNTIME;
	o.args = eargs;
	o.nargs = 1;
	o.env = env;
	o.nenv = 1;
	run_ok(me, &o, &r);
	assert_int_equal(r.outcome, WASM_OUT_EXITED);
	assert_int_equal(r.exit_code, 3);
	assert_non_null(strstr(out_str(&r), "GREETING=ext\n"));
	assert_non_null(strstr(out_str(&r), "argv[1]=3\n"));
	wasm_result_cleanup(&r);

	/* A trap in the external runtime: non-zero exit, kind on stderr. */
	wt_opts_init(&o, WASM_TIER_EXTERNAL, cache_dir);
	o.external_runtime = WT_RUNTIME;
	o.invoke = "t_unreachable";
	run_ok(m, &o, &r);
	assert_int_equal(r.outcome, WASM_OUT_EXITED);
	assert_int_equal(r.exit_code, 134);
	assert_non_null(strstr((const char *)r.err.data, "unreachable"));
	wasm_result_cleanup(&r);

	/* A relative or missing runtime path is refused / reported. */
	wt_opts_init(&o, WASM_TIER_EXTERNAL, cache_dir);
	o.external_runtime = "wasmtime";
	assert_int_equal(wasm_run(m, &o, &r, NULL), CORE_ERR_INVALID);
	wasm_result_cleanup(&r);
	wt_opts_init(&o, WASM_TIER_EXTERNAL, cache_dir);
	o.external_runtime = "/nonexistent/wasmtime";
	assert_int_equal(wasm_run(m, &o, &r, NULL), CORE_OK);
	assert_int_equal(r.outcome, WASM_OUT_FAILED);
	assert_non_null(strstr(r.errmsg, "/nonexistent/wasmtime"));
	wasm_result_cleanup(&r);
	wasm_module_free(m);
	wasm_module_free(me);
}

static void
test_confidential_cache(void **state)
{
	struct wasm_module *m = wt_load("wt_traps.wasm");
	struct wasm_run_opts o;
	struct wasm_result r;
	struct core_errbuf eb;
	char *d1 = NULL, *d2 = NULL;
	const char *one[] = { "3" };
	enum core_err err;

	(void)state;
	core_errbuf_clear(&eb);
	/* cache_dir is on disk: a confidential module must not use it. */
	err = wasm_cache_dir(cache_dir, true, &d1, &eb);
	if (err == CORE_ERR_UNSUPPORTED) {
		wasm_module_free(m);
		skip(); /* no tmpfs on this machine */
	}
	assert_int_equal(err, CORE_OK);
	assert_true(core_fs_is_memory_backed(d1));
	assert_string_not_equal(d1, cache_dir);
	/* The same private directory is reused by later runs. */
	assert_int_equal(wasm_cache_dir(NULL, true, &d2, NULL), CORE_OK);
	assert_string_equal(d1, d2);
	wt_opts_init(&o, WASM_TIER_2, cache_dir);
	o.confidential = true;
	o.invoke = "t_ok";
	o.args = one;
	o.nargs = 1;
	run_ok(m, &o, &r);
	assert_string_equal(r.results, "6\n");
	assert_true(wasm_cache_valid(d1, m));
	wasm_result_cleanup(&r);
	(void)core_fs_rmtree(d1, NULL);
	free(d1);
	free(d2);
	wasm_module_free(m);
}

static void
test_conversion_traps_no_memory(void **state)
{
	struct wasm_module *m = wt_load("wt_conv.wasm");
	struct wasm_run_opts o;
	struct wasm_result r;
	enum wasm_tier tier;
	const char *ok[] = { "-7.9" };

	(void)state;
	assert_false(m->has_memory);
	assert_int_equal(m->nimports, 0);
	for (tier = WASM_TIER_1; tier <= WASM_TIER_2; tier++) {
		wt_opts_init(&o, tier, cache_dir);
		o.invoke = "conv_nan";
		run_ok(m, &o, &r);
		assert_int_equal(r.outcome, WASM_OUT_TRAPPED);
		assert_int_equal(r.trap, WASM_TRAP_INVALID_CONVERSION);
		wasm_result_cleanup(&r);
		wt_opts_init(&o, tier, cache_dir);
		o.invoke = "conv_big";
		run_ok(m, &o, &r);
		assert_int_equal(r.outcome, WASM_OUT_TRAPPED);
		assert_int_equal(r.trap, WASM_TRAP_INT_OVERFLOW);
		wasm_result_cleanup(&r);
		wt_opts_init(&o, tier, cache_dir);
		o.invoke = "conv";
		o.args = ok;
		o.nargs = 1;
		run_ok(m, &o, &r);
		assert_int_equal(r.outcome, WASM_OUT_RETURNED);
		assert_string_equal(r.results, "-7\n");
		wasm_result_cleanup(&r);
	}
	/* _start is required without --invoke. */
	wt_opts_init(&o, WASM_TIER_1, cache_dir);
	assert_int_equal(wasm_run(m, &o, &r, NULL), CORE_ERR_NOT_FOUND);
	wasm_result_cleanup(&r);
	wasm_module_free(m);
}

static void
test_stdin_and_preopen(void **state)
{
	struct wasm_module *m = wt_load("wt_echoargs.wasm");
	struct wasm_run_opts o;
	struct wasm_result r;
	struct wasm_preopen pre;
	const char *cat[] = { "cat" };
	const char *rd[] = { "read", "/data/note.txt" };
	const char *esc[] = { "read", "/data/../../etc/passwd" };
	char *dir = NULL, *file = NULL;
	enum wasm_tier tier;

	(void)state;
	assert_int_equal(core_fs_tmpdir("wt-pre", &dir, NULL), CORE_OK);
	file = core_path_join(dir, "note.txt");
	assert_int_equal(core_fs_write_atomic(file, "from the host\n", 14, 0600,
	    NULL), CORE_OK);
	pre.host_path = dir;
	pre.guest_path = "/data";
	for (tier = WASM_TIER_1; tier <= WASM_TIER_2; tier++) {
		wt_opts_init(&o, tier, cache_dir);
		o.args = cat;
		o.nargs = 1;
		o.stdin_data = "line one\nline two\n";
		o.stdin_len = 18;
		run_ok(m, &o, &r);
		assert_int_equal(r.outcome, WASM_OUT_EXITED);
		assert_string_equal(out_str(&r), "line one\nline two\n");
		wasm_result_cleanup(&r);

		wt_opts_init(&o, tier, cache_dir);
		o.args = rd;
		o.nargs = 2;
		o.preopens = &pre;
		o.npreopens = 1;
		run_ok(m, &o, &r);
		assert_int_equal(r.exit_code, 0);
		assert_string_equal(out_str(&r), "from the host\n");
		wasm_result_cleanup(&r);

		/* No preopen: the file is unreachable. */
		wt_opts_init(&o, tier, cache_dir);
		o.args = rd;
		o.nargs = 2;
		run_ok(m, &o, &r);
		assert_int_equal(r.exit_code, 2);
		wasm_result_cleanup(&r);

		/* ".." cannot leave the preopen. */
		wt_opts_init(&o, tier, cache_dir);
		o.args = esc;
		o.nargs = 2;
		o.preopens = &pre;
		o.npreopens = 1;
		run_ok(m, &o, &r);
		assert_int_equal(r.exit_code, 2);
		wasm_result_cleanup(&r);
	}
	(void)core_fs_rmtree(dir, NULL);
	free(file);
	free(dir);
	wasm_module_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invoke_both_tiers),
		cmocka_unit_test(test_invoke_errors),
		cmocka_unit_test(test_traps),
		cmocka_unit_test(test_start_args_env_exit),
		cmocka_unit_test(test_tiers_identical),
		cmocka_unit_test(test_time_limit_and_kill),
		cmocka_unit_test(test_memory_limit),
		cmocka_unit_test(test_non_wasi_import_refused),
		cmocka_unit_test(test_cache_corruption_rebuilt),
		cmocka_unit_test(test_auto_policy),
		cmocka_unit_test(test_auto_switches_long_run),
		cmocka_unit_test(test_external_runtime),
		cmocka_unit_test(test_confidential_cache),
		cmocka_unit_test(test_conversion_traps_no_memory),
		cmocka_unit_test(test_stdin_and_preopen),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
