/* test_worker.c -- persistent workers: the same results as the one-shot
 * child in both tiers, no state carried between requests on one worker,
 * traps, proc_exit, timeouts, kills and crashes that cost only their own
 * request, idle expiry, and several threads sharing one pool. */
#include "wasm/wasm.h"

#include <setjmp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "wt_common.h"

static char *cache_dir;

static struct wasm_pool *
pool_new(unsigned per_module, int64_t idle_ms)
{
	struct wasm_pool_opts po;
	struct wasm_pool *p = NULL;

	memset(&po, 0, sizeof(po));
	po.max_per_module = per_module;
	po.idle_timeout_ms = idle_ms;
	po.wait_ms = 5000;
	assert_int_equal(wasm_pool_new(&po, &p, NULL), CORE_OK);
	return p;
}

/* Runs on the pool; the run must have been served by a worker. */
static void
prun(struct wasm_pool *p, const struct wasm_module *m,
    const struct wasm_run_opts *o, struct wasm_result *r)
{
	struct core_errbuf eb;

	core_errbuf_clear(&eb);
	if (wasm_pool_run(p, m, o, r, &eb) != CORE_OK)
		fail_msg("wasm_pool_run: %s", core_errbuf_msg(&eb));
	if (r->outcome == WASM_OUT_FAILED)
		fail_msg("run failed: %s", r->errmsg);
	assert_true(r->on_worker);
}

static void
orun(const struct wasm_module *m, const struct wasm_run_opts *o,
    struct wasm_result *r)
{
	struct core_errbuf eb;

	core_errbuf_clear(&eb);
	if (wasm_run(m, o, r, &eb) != CORE_OK)
		fail_msg("wasm_run: %s", core_errbuf_msg(&eb));
	assert_false(r->on_worker);
}

static const char *
str(const struct core_buf *b)
{
	return b->data ? (const char *)b->data : "";
}

/* Invokes fn(args) on the pool and returns the results string (static). */
static const char *
invoke(struct wasm_pool *p, const struct wasm_module *m, enum wasm_tier tier,
    const char *fn, const char **args, size_t nargs)
{
	static char out[256];
	struct wasm_run_opts o;
	struct wasm_result r;

	wt_opts_init(&o, tier, cache_dir);
	o.invoke = fn;
	o.args = args;
	o.nargs = nargs;
	prun(p, m, &o, &r);
	if (r.outcome != WASM_OUT_RETURNED)
		fail_msg("%s: outcome %d", fn, r.outcome);
	snprintf(out, sizeof(out), "%s", r.results);
	wasm_result_cleanup(&r);
	return out;
}

static void
assert_same(const struct wasm_result *a, const struct wasm_result *b)
{
	assert_int_equal(a->outcome, b->outcome);
	assert_int_equal(a->exit_code, b->exit_code);
	assert_int_equal(a->trap, b->trap);
	assert_int_equal(a->tier_used, b->tier_used);
	assert_string_equal(a->results ? a->results : "(null)",
	    b->results ? b->results : "(null)");
	assert_int_equal(a->out.len, b->out.len);
	assert_string_equal(str(&a->out), str(&b->out));
	assert_string_equal(str(&a->err), str(&b->err));
}

static int
setup(void **state)
{
	static const char *const progs[] = { "wt_traps.wasm",
	    "wt_compute.wasm", "wt_echoargs.wasm", "wt_spin.wasm",
	    "wt_state.wasm", "wt_alloc.wasm", "wt_conv.wasm" };
	struct wasm_module *m;
	size_t i;

	(void)state;
	if (core_fs_tmpdir("wt-worker-cache", &cache_dir, NULL) != CORE_OK)
		return -1;
	for (i = 0; i < CORE_ARRAY_LEN(progs); i++) {
		m = wt_load(progs[i]);
		if (wasm_cache_build(cache_dir, m, NULL, NULL) != CORE_OK)
			return -1;
		wasm_module_free(m);
	}
	return 0;
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
test_same_as_one_shot(void **state)
{
	static const struct {
		const char *mod, *fn;
		const char *args[3];
		size_t nargs;
	} cases[] = {
		{ "wt_traps.wasm", "t_ok", { "21" }, 1 },
		{ "wt_traps.wasm", "t_ok", { "-4" }, 1 },
		{ "wt_traps.wasm", "t_unreachable", { 0 }, 0 },
		{ "wt_traps.wasm", "t_oob", { 0 }, 0 },
		{ "wt_traps.wasm", "t_div0", { "1" }, 1 },
		{ "wt_traps.wasm", "t_overflow", { 0 }, 0 },
		{ "wt_traps.wasm", "t_indirect_null", { "1" }, 1 },
		{ "wt_traps.wasm", "t_indirect_type", { 0 }, 0 },
		{ "wt_traps.wasm", "t_recurse", { "1" }, 1 },
		{ "wt_compute.wasm", "mix", { "5", "1.5", "0.25" }, 3 },
		{ "wt_compute.wasm", "hyp", { "3", "4" }, 2 },
		{ "wt_compute.wasm", "half", { "3" }, 1 },
		{ "wt_conv.wasm", "conv_nan", { 0 }, 0 },
		{ "wt_conv.wasm", "conv", { "-7.9" }, 1 },
		{ "wt_echoargs.wasm", NULL, { "7", "two words" }, 2 },
		{ "wt_echoargs.wasm", NULL, { 0 }, 0 },
		{ "wt_compute.wasm", NULL, { 0 }, 0 },
	};
	const char *env[] = { "GREETING=hello there" };
	struct wasm_pool *p = pool_new(1, 0);
	struct wasm_module *m;
	struct wasm_run_opts o;
	struct wasm_result a, b;
	enum wasm_tier tier;
	size_t i;

	(void)state;
	for (tier = WASM_TIER_1; tier <= WASM_TIER_2; tier++) {
		for (i = 0; i < CORE_ARRAY_LEN(cases); i++) {
			m = wt_load(cases[i].mod);
			wt_opts_init(&o, tier, cache_dir);
			o.invoke = cases[i].fn;
			o.args = cases[i].args;
			o.nargs = cases[i].nargs;
			o.argv0 = "echo";
			o.env = env;
			o.nenv = 1;
			o.max_memory_bytes = 32u << 20;
			orun(m, &o, &a);
			prun(p, m, &o, &b);
			assert_same(&a, &b);
			wasm_result_cleanup(&a);
			wasm_result_cleanup(&b);
			wasm_module_free(m);
		}
	}
	wasm_pool_free(p);
}

static void
test_no_state_between_requests(void **state)
{
	struct wasm_pool *p = pool_new(1, 0);
	struct wasm_module *m = wt_load("wt_state.wasm");
	struct wasm_pool_stats st;
	struct wasm_run_opts o;
	struct wasm_result r;
	const char *one[] = { "3" };
	const char *args1[] = { "5", "first" };
	const char *env1[] = { "VAR=one" };
	const char *args2[] = { "0" };
	enum wasm_tier tier;
	int i;

	(void)state;
	for (tier = WASM_TIER_1; tier <= WASM_TIER_2; tier++) {
		for (i = 0; i < 3; i++) {
			assert_string_equal(invoke(p, m, tier, "bump", NULL, 0),
			    "1\n");
			assert_string_equal(invoke(p, m, tier, "dirty", NULL,
			    0), "0\n");
			assert_string_equal(invoke(p, m, tier, "pages", NULL,
			    0), "2\n");
			assert_string_equal(invoke(p, m, tier, "grow", one, 1),
			    "0\n");
		}
		/* args, env, stdout and the "ran before" flag: fresh. */
		wt_opts_init(&o, tier, cache_dir);
		o.args = args1;
		o.nargs = 2;
		o.env = env1;
		o.nenv = 1;
		o.argv0 = "st";
		prun(p, m, &o, &r);
		assert_int_equal(r.outcome, WASM_OUT_EXITED);
		assert_int_equal(r.exit_code, 5);
		assert_string_equal(str(&r.out), "argv[0]=st\nargv[1]=5\n"
		    "argv[2]=first\nVAR=one\nran=0\n");
		assert_string_equal(str(&r.err), "err 3\n");
		wasm_result_cleanup(&r);
		wt_opts_init(&o, tier, cache_dir);
		o.args = args2;
		o.nargs = 1;
		prun(p, m, &o, &r);
		assert_int_equal(r.exit_code, 0);
		assert_string_equal(str(&r.out), "argv[0]=main\nargv[1]=0\n"
		    "VAR=(unset)\nran=0\n");
		wasm_result_cleanup(&r);
	}
	/* One worker per tier served all of that. */
	wasm_pool_get_stats(p, &st);
	assert_int_equal(st.spawned, 2);
	assert_int_equal(st.workers, 2);
	assert_int_equal(st.fallbacks, 0);
	wasm_module_free(m);
	wasm_pool_free(p);
}

static void
test_trap_and_exit_keep_worker(void **state)
{
	struct wasm_pool *p = pool_new(1, 0);
	struct wasm_module *m = wt_load("wt_state.wasm");
	struct wasm_module *mt = wt_load("wt_traps.wasm");
	struct wasm_pool_stats st;
	struct wasm_run_opts o;
	struct wasm_result r;
	const char *code[] = { "42" };
	const char *two[] = { "21" };
	enum wasm_tier tier;

	(void)state;
	for (tier = WASM_TIER_1; tier <= WASM_TIER_2; tier++) {
		/* proc_exit from an export ends the request only. */
		wt_opts_init(&o, tier, cache_dir);
		o.invoke = "quit";
		o.args = code;
		o.nargs = 1;
		prun(p, m, &o, &r);
		assert_int_equal(r.outcome, WASM_OUT_EXITED);
		assert_int_equal(r.exit_code, 42);
		wasm_result_cleanup(&r);
		assert_string_equal(invoke(p, m, tier, "bump", NULL, 0), "1\n");
		/* A trap, then a normal request on the same worker. */
		wt_opts_init(&o, tier, cache_dir);
		o.invoke = "t_unreachable";
		prun(p, mt, &o, &r);
		assert_int_equal(r.outcome, WASM_OUT_TRAPPED);
		assert_int_equal(r.trap, WASM_TRAP_UNREACHABLE);
		wasm_result_cleanup(&r);
		wt_opts_init(&o, tier, cache_dir);
		o.invoke = "t_recurse";
		o.args = two;
		o.nargs = 1;
		prun(p, mt, &o, &r);
		assert_int_equal(r.trap, WASM_TRAP_STACK);
		wasm_result_cleanup(&r);
		assert_string_equal(invoke(p, mt, tier, "t_ok", two, 1),
		    "42\n");
	}
	wasm_pool_get_stats(p, &st);
	assert_int_equal(st.spawned, 4); /* 2 modules x 2 tiers */
	wasm_module_free(m);
	wasm_module_free(mt);
	wasm_pool_free(p);
}

static void
test_limits(void **state)
{
	struct wasm_pool *p = pool_new(1, 0);
	struct wasm_module *m = wt_load("wt_alloc.wasm");
	struct wasm_run_opts o;
	struct wasm_result r;
	int mib = -1;

	(void)state;
	wt_opts_init(&o, WASM_TIER_2, cache_dir);
	o.max_memory_bytes = 16u << 20;
	prun(p, m, &o, &r);
	assert_int_equal(r.outcome, WASM_OUT_EXITED);
	assert_int_equal(sscanf(str(&r.out), "allocated %d MiB", &mib), 1);
	assert_true(mib >= 8 && mib < 16);
	wasm_result_cleanup(&r);
	/* Same worker, a limit below the initial memory: the OOM trap. */
	wt_opts_init(&o, WASM_TIER_2, cache_dir);
	o.max_memory_bytes = 65536;
	prun(p, m, &o, &r);
	assert_int_equal(r.outcome, WASM_OUT_TRAPPED);
	assert_int_equal(r.trap, WASM_TRAP_OOM);
	wasm_result_cleanup(&r);
	/* And a larger one again. */
	wt_opts_init(&o, WASM_TIER_2, cache_dir);
	o.max_memory_bytes = 64u << 20;
	prun(p, m, &o, &r);
	assert_int_equal(sscanf(str(&r.out), "allocated %d MiB", &mib), 1);
	assert_true(mib >= 32 && mib < 64);
	wasm_result_cleanup(&r);
	wasm_module_free(m);
	wasm_pool_free(p);
}

struct waiter {
	struct wasm_task *t;
	struct wasm_result r;
};

static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;

	(void)wasm_task_finish(w->t, &w->r, NULL);
	return NULL;
}

/* Starts spin on the pool in a thread; returns once it runs. */
static void
start_spin(struct wasm_pool *p, const struct wasm_module *m,
    int64_t timeout_ms, struct waiter *w, pthread_t *th)
{
	struct wasm_run_opts o;

	wt_opts_init(&o, WASM_TIER_2, cache_dir);
	o.invoke = "spin";
	o.timeout_ms = timeout_ms;
	memset(w, 0, sizeof(*w));
	assert_int_equal(wasm_pool_task_start(p, m, &o, &w->t, NULL), CORE_OK);
	assert_true(wasm_task_pid(w->t) > 0);
	assert_int_equal(pthread_create(th, NULL, waiter_main, w), 0);
}

static void
test_timeout_kill_crash(void **state)
{
	struct wasm_pool *p = pool_new(1, 0);
	struct wasm_module *m = wt_load("wt_spin.wasm");
	struct wasm_module *mt = wt_load("wt_traps.wasm");
	struct wasm_pool_stats st;
	struct wasm_run_opts o;
	struct wasm_result r;
	struct waiter w;
	pthread_t th;
	const char *two[] = { "2" };
	pid_t pid;

	(void)state;
	/* Timeout: the worker is killed; the next request gets a new one. */
	wt_opts_init(&o, WASM_TIER_2, cache_dir);
	o.invoke = "spin";
	o.timeout_ms = 500;
	prun(p, m, &o, &r);
	assert_int_equal(r.outcome, WASM_OUT_TIMEOUT);
	wasm_result_cleanup(&r);
	assert_string_equal(invoke(p, mt, WASM_TIER_2, "t_ok", two, 1), "4\n");

	/* Kill on request. */
	start_spin(p, m, 0, &w, &th);
	usleep(200 * 1000);
	pid = wasm_task_pid(w.t);
	assert_int_equal(kill(pid, 0), 0);
	wasm_task_kill(w.t);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.r.outcome, WASM_OUT_KILLED);
	assert_true(w.r.on_worker);
	/* Killing after the end is a no-op. */
	wasm_task_kill(w.t);
	wasm_task_free(w.t);
	wasm_result_cleanup(&w.r);

	/* The worker dies of a signal mid-request: CRASHED for that one. */
	start_spin(p, m, 0, &w, &th);
	usleep(200 * 1000);
	assert_int_equal(kill(wasm_task_pid(w.t), SIGABRT), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.r.outcome, WASM_OUT_CRASHED);
	assert_int_equal(w.r.term_signal, SIGABRT);
	wasm_task_free(w.t);
	wasm_result_cleanup(&w.r);

	/* An idle worker killed from outside is replaced transparently. */
	assert_string_equal(invoke(p, mt, WASM_TIER_2, "t_ok", two, 1), "4\n");
	wt_opts_init(&o, WASM_TIER_2, cache_dir);
	o.invoke = "t_ok";
	o.args = two;
	o.nargs = 1;
	{
		struct wasm_task *t = NULL;

		assert_int_equal(wasm_pool_task_start(p, mt, &o, &t, NULL),
		    CORE_OK);
		pid = wasm_task_pid(t);
		assert_int_equal(wasm_task_wait(t, &r, NULL), CORE_OK);
		wasm_result_cleanup(&r);
	}
	assert_int_equal(kill(-pid, SIGKILL), 0);
	usleep(100 * 1000);
	assert_string_equal(invoke(p, mt, WASM_TIER_2, "t_ok", two, 1), "4\n");
	wasm_pool_get_stats(p, &st);
	assert_int_equal(st.fallbacks, 0);
	wasm_module_free(m);
	wasm_module_free(mt);
	wasm_pool_free(p);
}

static void
test_auto_and_fallbacks(void **state)
{
	struct wasm_pool *p = pool_new(1, 0);
	struct wasm_module *m = wt_load("wt_traps.wasm");
	struct wasm_run_opts o;
	struct wasm_result r;
	struct wasm_preopen pre = { "/tmp", "/tmp" };
	const char *two[] = { "8" };
	char *empty = NULL;

	(void)state;
	/* auto with a cached object: a tier-2 worker. */
	wt_opts_init(&o, WASM_TIER_AUTO, cache_dir);
	o.invoke = "t_ok";
	o.args = two;
	o.nargs = 1;
	prun(p, m, &o, &r);
	assert_int_equal(r.tier_used, WASM_TIER_2);
	assert_string_equal(r.results, "16\n");
	wasm_result_cleanup(&r);
	/* auto without one: the one-shot child (tier 1). */
	assert_int_equal(core_fs_tmpdir("wt-empty", &empty, NULL), CORE_OK);
	{
		struct wasm_module *ms = wt_load("wt_state.wasm");

		wt_opts_init(&o, WASM_TIER_AUTO, cache_dir);
		o.cache_dir = empty;
		o.invoke = "bump";
		assert_int_equal(wasm_pool_run(p, ms, &o, &r, NULL), CORE_OK);
		assert_false(r.on_worker);
		assert_int_equal(r.tier_used, WASM_TIER_1);
		assert_string_equal(r.results, "1\n");
		wasm_result_cleanup(&r);
		wasm_module_free(ms);
	}
	(void)core_fs_rmtree(empty, NULL);
	free(empty);
	/* Preopens: one-shot. */
	wt_opts_init(&o, WASM_TIER_2, cache_dir);
	o.invoke = "t_ok";
	o.args = two;
	o.nargs = 1;
	o.preopens = &pre;
	o.npreopens = 1;
	assert_int_equal(wasm_pool_run(p, m, &o, &r, NULL), CORE_OK);
	assert_false(r.on_worker);
	assert_string_equal(r.results, "16\n");
	wasm_result_cleanup(&r);
	/* Stdin bytes go through the worker. */
	{
		struct wasm_module *me = wt_load("wt_echoargs.wasm");
		const char *cat[] = { "cat" };

		wt_opts_init(&o, WASM_TIER_2, cache_dir);
		o.args = cat;
		o.nargs = 1;
		o.stdin_data = "line one\nline two\n";
		o.stdin_len = 18;
		prun(p, me, &o, &r);
		assert_string_equal(str(&r.out), "line one\nline two\n");
		wasm_result_cleanup(&r);
		/* ... and the next run's stdin is empty again. */
		wt_opts_init(&o, WASM_TIER_2, cache_dir);
		o.args = cat;
		o.nargs = 1;
		prun(p, me, &o, &r);
		assert_int_equal(r.out.len, 0);
		wasm_result_cleanup(&r);
		wasm_module_free(me);
	}
	/* Errors are the one-shot path's. */
	wt_opts_init(&o, WASM_TIER_2, cache_dir);
	o.invoke = "nope";
	assert_int_equal(wasm_pool_run(p, m, &o, &r, NULL), CORE_ERR_NOT_FOUND);
	wasm_result_cleanup(&r);
	wasm_module_free(m);
	wasm_pool_free(p);
}

/* A confidential module (an encrypted task's) runs on a worker from the
 * memory-backed cache, as a one-shot child would. */
static void
test_confidential(void **state)
{
	struct wasm_pool *p = pool_new(1, 0);
	struct wasm_module *m = wt_load("wt_traps.wasm");
	struct wasm_run_opts o;
	struct wasm_result r, a;
	const char *three[] = { "3" };
	char *dir = NULL;

	(void)state;
	if (wasm_cache_dir(cache_dir, true, &dir, NULL) != CORE_OK) {
		wasm_module_free(m);
		wasm_pool_free(p);
		skip(); /* no tmpfs here */
	}
	assert_true(core_fs_is_memory_backed(dir));
	wt_opts_init(&o, WASM_TIER_2, cache_dir);
	o.confidential = true;
	o.invoke = "t_ok";
	o.args = three;
	o.nargs = 1;
	orun(m, &o, &a);
	prun(p, m, &o, &r);
	assert_same(&a, &r);
	assert_string_equal(r.results, "6\n");
	assert_true(wasm_cache_valid(dir, m));
	wasm_result_cleanup(&r);
	wasm_result_cleanup(&a);
	(void)core_fs_rmtree(dir, NULL);
	free(dir);
	wasm_module_free(m);
	wasm_pool_free(p);
}

static void
test_idle_expiry(void **state)
{
	struct wasm_pool *p = pool_new(1, 200);
	struct wasm_module *m = wt_load("wt_traps.wasm");
	struct wasm_pool_stats st;
	const char *two[] = { "2" };
	int i;

	(void)state;
	assert_string_equal(invoke(p, m, WASM_TIER_2, "t_ok", two, 1), "4\n");
	for (i = 0; i < 100; i++) {
		wasm_pool_get_stats(p, &st);
		if (st.workers == 0)
			break;
		usleep(50 * 1000);
	}
	assert_int_equal(st.workers, 0);
	assert_int_equal(st.expired, 1);
	assert_string_equal(invoke(p, m, WASM_TIER_2, "t_ok", two, 1), "4\n");
	wasm_module_free(m);
	wasm_pool_free(p);
}

/* True while pid runs (not gone, not a zombie). */
static bool
alive(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool up = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL)
		up = p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return up;
}

static void
test_orphan_worker_exits(void **state)
{
	struct wasm_module *m = wt_load("wt_spin.wasm");
	int pfd[2];
	pid_t child, wpid = -1;
	int i, st;

	(void)state;
	assert_int_equal(pipe(pfd), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		/* A caller that dies while its worker spins. */
		struct wasm_pool *p = NULL;
		struct wasm_task *t = NULL;
		struct wasm_run_opts o;
		pid_t pid;

		wt_opts_init(&o, WASM_TIER_2, cache_dir);
		o.invoke = "spin";
		o.timeout_ms = 0;
		if (wasm_pool_new(NULL, &p, NULL) != CORE_OK ||
		    wasm_pool_task_start(p, m, &o, &t, NULL) != CORE_OK)
			_exit(1);
		pid = wasm_task_pid(t);
		usleep(200 * 1000);
		(void)!write(pfd[1], &pid, sizeof(pid));
		_exit(0);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &wpid, sizeof(wpid)), sizeof(wpid));
	close(pfd[0]);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(wpid > 0);
	for (i = 0; i < 100 && alive(wpid); i++)
		usleep(50 * 1000);
	if (alive(wpid)) {
		kill(wpid, SIGKILL);
		fail_msg("worker %d outlived its caller", (int)wpid);
	}
	wasm_module_free(m);
}

struct hammer {
	struct wasm_pool *p;
	const struct wasm_module *m, *ms;
	int id;
	int bad;
};

static void *
hammer_main(void *arg)
{
	struct hammer *h = arg;
	struct wasm_run_opts o;
	struct wasm_result r;
	char in[16], want[32];
	const char *args[1] = { in };
	int i;

	for (i = 0; i < 25; i++) {
		wt_opts_init(&o, WASM_TIER_2, cache_dir);
		snprintf(in, sizeof(in), "%d", h->id * 1000 + i);
		snprintf(want, sizeof(want), "%d\n", 2 * (h->id * 1000 + i));
		o.invoke = "t_ok";
		o.args = args;
		o.nargs = 1;
		if (wasm_pool_run(h->p, h->m, &o, &r, NULL) != CORE_OK ||
		    r.outcome != WASM_OUT_RETURNED ||
		    strcmp(r.results, want) != 0)
			h->bad++;
		wasm_result_cleanup(&r);
		wt_opts_init(&o, WASM_TIER_2, cache_dir);
		o.invoke = "bump";
		if (wasm_pool_run(h->p, h->ms, &o, &r, NULL) != CORE_OK ||
		    r.outcome != WASM_OUT_RETURNED ||
		    strcmp(r.results, "1\n") != 0)
			h->bad++;
		wasm_result_cleanup(&r);
	}
	return NULL;
}

static void
test_threads_share_pool(void **state)
{
	struct wasm_pool *p = pool_new(2, 0);
	struct wasm_module *m = wt_load("wt_traps.wasm");
	struct wasm_module *ms = wt_load("wt_state.wasm");
	struct wasm_pool_stats st;
	struct hammer h[4];
	pthread_t th[4];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		h[i] = (struct hammer){ p, m, ms, i, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, hammer_main,
		    &h[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(h[i].bad, 0);
	}
	wasm_pool_get_stats(p, &st);
	if (st.spawned > 4)
		fail_msg("spawned %llu served %llu fallbacks %llu workers %u", (unsigned long long)st.spawned, (unsigned long long)st.served, (unsigned long long)st.fallbacks, st.workers);
	assert_true(st.workers <= 4);
	assert_int_equal(st.served + st.fallbacks, 200);
	wasm_module_free(m);
	wasm_module_free(ms);
	wasm_pool_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_one_shot),
		cmocka_unit_test(test_no_state_between_requests),
		cmocka_unit_test(test_trap_and_exit_keep_worker),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_timeout_kill_crash),
		cmocka_unit_test(test_auto_and_fallbacks),
		cmocka_unit_test(test_confidential),
		cmocka_unit_test(test_idle_expiry),
		cmocka_unit_test(test_threads_share_pool),
		cmocka_unit_test(test_orphan_worker_exits),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
