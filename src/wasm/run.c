/*
 * run.c -- every run is a child process.
 *
 * The parent (the caller: CLI or proplet) forks a child per run. The child
 * gets its own process group, stdio pipes, a status pipe on fd 3, a cleared
 * environment, CPU and data rlimits; it compiles the module (tier 1 or loads
 * tier 2), instantiates it and runs _start or the invoked export, reporting
 * on the status pipe in lines:
 *   compiled <tier> <ms> | trap <kind> | result <value> | returned |
 *   exit <code> | failed <message>
 * The parent reads stdout/stderr/status with poll, enforces the wall-clock
 * timeout and kill requests with SIGKILL to the process group, and turns the
 * status into a struct wasm_result. A trap, crash or runaway stays in the
 * child.
 *
 * The auto tier policy lives in choose_tier() and maybe_switch(): a valid
 * cached tier-2 object always wins; otherwise tier 1 starts at once and a
 * detached background process builds tier 2. If that build finishes while
 * the tier-1 run is still going, and the run cannot have had any effect
 * outside yet (no preopened directories, stdin given as bytes, stdout and
 * stderr captured or, when forwarded, held back until the switch decision),
 * the tier-1 child is killed, its output dropped, and the run restarts from
 * the beginning in tier 2. Output held back is released as soon as the
 * build ends without an object or after SWITCH_MAX_HOLD_MS.
 */
#include "wasm/wasm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <wasm-rt.h>
#include <wasm-rt-impl.h>

#include "wasm/engine.h"
#include "wasm/wasi.h"
#include "wasm/worker.h"

#if defined(__SANITIZE_ADDRESS__)
#define RUN_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RUN_UNDER_ASAN 1
#endif
#endif
#ifndef RUN_UNDER_ASAN
#define RUN_UNDER_ASAN 0
#endif

#define STATUS_FD 3
#define STATUS_MAX (1024 * 1024)
#define DEFAULT_STDOUT_MAX (16u * 1024 * 1024)
#define DEFAULT_STDERR_MAX (1024u * 1024)
#define DEFAULT_MAX_MEMORY (1024ull * 1024 * 1024)
#define HOST_MEMORY_MARGIN (512ull * 1024 * 1024)
#define SWITCH_POLL_MS 100
/* Longest a forwarded run's output is held back waiting for tier 2. */
#define SWITCH_MAX_HOLD_MS 120000

struct wasm_task {
	const struct wasm_module *m;    /* borrowed */
	struct wasm_run_opts o;         /* borrowed pointers inside */
	char *cache_dir;                /* owned */
	char *tmpdir;                   /* owned: external-mode module dir */
	char *module_path;              /* owned: external-mode module file */
	uint64_t *args;                 /* owned: parsed invoke inputs */
	uint32_t export_idx;            /* invoke: export index */
	const struct wasm_functype *ft; /* invoke: borrowed from m */
	enum wasm_tier tier;            /* of the current child */
	pid_t pid;
	int out_fd, err_fd, status_fd, stdin_fd; /* parent ends, -1 closed */
	struct core_buf out, err, status;
	bool out_trunc, err_trunc;
	volatile sig_atomic_t kill_requested;
	bool timed_out;
	bool can_switch;                /* auto policy: may restart in tier 2 */
	bool bg_started;
	char *lock_path;                /* owned: the tier-2 build's lock file */
	int64_t t_start_ms;
	int64_t next_switch_check_ms;
	struct wasm_wrun *wr;           /* owned: the run is on a worker */
	pthread_mutex_t klock;          /* orders kill against reaping */
	bool ended;                     /* guarded by klock: kill is a no-op */
};

static enum core_err task_spawn(struct wasm_task *t, struct core_errbuf *eb);
static enum core_err task_start(struct wasm_pool *pool,
    const struct wasm_module *m, const struct wasm_run_opts *o,
    struct wasm_task **out, struct core_errbuf *eb);
static void child_run(struct wasm_task *t) __attribute__((noreturn));
static void child_exec_external(struct wasm_task *t)
    __attribute__((noreturn));
static void status_printf(const char *fmt, ...) CORE_PRINTF(1, 2);
static void exit_hook(void *arg, int code);
static const char *trap_key(enum wasm_trap t);
static char *start_background_build(const struct wasm_module *m,
    const char *cache_dir);
static void flush_held(struct wasm_task *t);
static void drain_child(struct wasm_task *t);
static void close_parent_fds(struct wasm_task *t);
static enum core_err parse_status(struct wasm_task *t, struct wasm_result *r,
    int wstatus);
static int64_t rusage_us(const struct rusage *ru);
static enum core_err make_stdin_fd(const struct wasm_run_opts *o, int *fd,
    struct core_errbuf *eb);

static const struct {
	enum wasm_trap trap;
	const char *key;
	const char *text;
} trap_names[] = {
	{ WASM_TRAP_NONE, "none", "no trap" },
	{ WASM_TRAP_UNREACHABLE, "unreachable", "unreachable executed" },
	{ WASM_TRAP_OOB, "oob", "out of bounds memory access" },
	{ WASM_TRAP_STACK, "stack", "call stack exhausted" },
	{ WASM_TRAP_DIV_ZERO, "div0", "integer divide by zero" },
	{ WASM_TRAP_INT_OVERFLOW, "overflow", "integer overflow" },
	{ WASM_TRAP_INVALID_CONVERSION, "conversion",
	    "invalid conversion to integer" },
	{ WASM_TRAP_INDIRECT_CALL, "indirect", "bad indirect call "
	    "(null or signature mismatch)" },
	{ WASM_TRAP_OOM, "oom", "out of memory (beyond the memory limit)" },
	{ WASM_TRAP_OTHER, "other", "trap" },
};

const char *
wasm_trap_str(enum wasm_trap t)
{
	size_t i;

	for (i = 0; i < CORE_ARRAY_LEN(trap_names); i++)
		if (trap_names[i].trap == t)
			return trap_names[i].text;
	return "trap";
}

static const char *
trap_key(enum wasm_trap t)
{
	size_t i;

	for (i = 0; i < CORE_ARRAY_LEN(trap_names); i++)
		if (trap_names[i].trap == t)
			return trap_names[i].key;
	return "other";
}

enum wasm_trap
wasm_trap_from_rt(wasm_rt_trap_t t)
{
	switch (t) {
	case WASM_RT_TRAP_OOB: return WASM_TRAP_OOB;
	case WASM_RT_TRAP_INT_OVERFLOW: return WASM_TRAP_INT_OVERFLOW;
	case WASM_RT_TRAP_DIV_BY_ZERO: return WASM_TRAP_DIV_ZERO;
	case WASM_RT_TRAP_INVALID_CONVERSION:
		return WASM_TRAP_INVALID_CONVERSION;
	case WASM_RT_TRAP_UNREACHABLE: return WASM_TRAP_UNREACHABLE;
	case WASM_RT_TRAP_CALL_INDIRECT: return WASM_TRAP_INDIRECT_CALL;
	case WASM_RT_TRAP_EXHAUSTION: return WASM_TRAP_STACK;
	default: return WASM_TRAP_OTHER;
	}
}

void
wasm_result_init(struct wasm_result *r)
{
	memset(r, 0, sizeof(*r));
	core_buf_init(&r->out, 0);
	core_buf_init(&r->err, 0);
}

void
wasm_result_cleanup(struct wasm_result *r)
{
	if (r == NULL)
		return;
	free(r->results);
	core_buf_cleanup(&r->out);
	core_buf_cleanup(&r->err);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

enum core_err
wasm_value_parse(uint8_t t, const char *s, uint64_t *bits,
    struct core_errbuf *eb)
{
	char *end = NULL;
	long long sv;
	unsigned long long uv;
	double d;
	float f;
	uint32_t u32;

	if (s == NULL || *s == '\0')
		return core_errf(eb, CORE_ERR_INVALID,
		    "empty value for a %s parameter", wasm_valtype_name(t));
	errno = 0;
	switch (t) {
	case WASM_VAL_I32:
	case WASM_VAL_I64:
		if (*s == '-') {
			sv = strtoll(s, &end, 0);
			if (errno != 0 || *end != '\0' || (t == WASM_VAL_I32 &&
			    sv < INT32_MIN))
				goto bad;
			*bits = t == WASM_VAL_I32 ? (uint32_t)(int32_t)sv :
			    (uint64_t)sv;
		} else {
			uv = strtoull(s, &end, 0);
			if (errno != 0 || *end != '\0' || (t == WASM_VAL_I32 &&
			    uv > UINT32_MAX) || !(*s >= '0' && *s <= '9'))
				goto bad;
			*bits = uv;
		}
		return CORE_OK;
	case WASM_VAL_F32:
		f = strtof(s, &end);
		if (*end != '\0' || end == s)
			goto bad;
		memcpy(&u32, &f, 4);
		*bits = u32;
		return CORE_OK;
	case WASM_VAL_F64:
		d = strtod(s, &end);
		if (*end != '\0' || end == s)
			goto bad;
		memcpy(bits, &d, 8);
		return CORE_OK;
	default:
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "parameters of type %s are not supported",
		    wasm_valtype_name(t));
	}
bad:
	return core_errf(eb, CORE_ERR_INVALID,
	    "\"%s\" is not a valid %s value", s, wasm_valtype_name(t));
}

void
wasm_value_format(uint8_t t, uint64_t bits, char *out, size_t outlen)
{
	uint32_t u32;
	float f;
	double d;
	int prec;

	switch (t) {
	case WASM_VAL_I32:
		snprintf(out, outlen, "%" PRId32, (int32_t)(uint32_t)bits);
		return;
	case WASM_VAL_I64:
		snprintf(out, outlen, "%" PRId64, (int64_t)bits);
		return;
	case WASM_VAL_F32:
		u32 = (uint32_t)bits;
		memcpy(&f, &u32, 4);
		if (isnan(f) || isinf(f)) {
			snprintf(out, outlen, "%s%s", signbit(f) ? "-" : "",
			    isnan(f) ? "NaN" : "inf");
			return;
		}
		for (prec = 1; prec < 9; prec++) {
			snprintf(out, outlen, "%.*g", prec, (double)f);
			if (strtof(out, NULL) == f)
				return;
		}
		snprintf(out, outlen, "%.9g", (double)f);
		return;
	case WASM_VAL_F64:
		memcpy(&d, &bits, 8);
		if (isnan(d) || isinf(d)) {
			snprintf(out, outlen, "%s%s", signbit(d) ? "-" : "",
			    isnan(d) ? "NaN" : "inf");
			return;
		}
		for (prec = 1; prec < 17; prec++) {
			snprintf(out, outlen, "%.*g", prec, d);
			if (strtod(out, NULL) == d)
				return;
		}
		snprintf(out, outlen, "%.17g", d);
		return;
	default:
		snprintf(out, outlen, "<%s>", wasm_valtype_name(t));
	}
}

/* ------------------------------------------------------------------ */
/* The child                                                           */
/* ------------------------------------------------------------------ */

static void
status_printf(const char *fmt, ...)
{
	char line[CORE_ERRBUF_LEN + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)core_write_all(STATUS_FD, line, (size_t)n);
}

static int64_t
rusage_us(const struct rusage *ru)
{
	return (int64_t)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000 +
	    ru->ru_utime.tv_usec + ru->ru_stime.tv_usec;
}

static void
exit_hook(void *arg, int code)
{
	(void)arg;
	status_printf("exit %d", code);
	_exit(code & 0xff);
}

static void
child_run(struct wasm_task *t)
{
	struct wasm_code code;
	struct core_errbuf eb;
	struct wasi_config cfg;
	struct wasi_ctx *volatile ctx = NULL;
	struct wasi_preopen *pre = NULL;
	const char **argv = NULL, **envp = NULL;
	char *c = NULL;
	size_t clen = 0, i;
	int64_t t0 = core_mono_ms();
	uint64_t maxmem = t->o.max_memory_bytes ? t->o.max_memory_bytes :
	    DEFAULT_MAX_MEMORY;
	uint64_t results[1] = { 0 };
	wasm_rt_memory_t *mem;
	wasm_rt_trap_t trap;
	const struct wasm_export *ex;
	struct rlimit rl;
	char val[64];
	uint32_t cap_pages;
	enum core_err err;

	core_errbuf_clear(&eb);
	memset(&code, 0, sizeof(code));
	code.memfd = -1;
	if (t->tier == WASM_TIER_2) {
		err = wasm_tier2_load(t->cache_dir, t->m, &code, &eb);
	} else {
		err = wasm_codegen(t->m, &c, &clen, &eb);
		if (err == CORE_OK)
			err = wasm_tier1_load(c, &code, &eb);
		free(c);
	}
	if (err != CORE_OK) {
		status_printf("failed %s", core_errbuf_msg(&eb));
		_exit(125);
	}
	{
		struct rusage self, kids;

		(void)getrusage(RUSAGE_SELF, &self);
		(void)getrusage(RUSAGE_CHILDREN, &kids);
		status_printf("compiled %d %" PRId64 " %" PRId64, (int)t->tier,
		    core_mono_ms() - t0, rusage_us(&self) + rusage_us(&kids));
	}

	/* From here on the module's code runs: limit what it can take. */
	if (!RUN_UNDER_ASAN) {
		rl.rlim_cur = rl.rlim_max = maxmem + HOST_MEMORY_MARGIN;
		(void)setrlimit(RLIMIT_DATA, &rl);
	}
	if (t->m->has_memory &&
	    (uint64_t)t->m->mem_initial_pages * 65536 > maxmem) {
		status_printf("trap %s", trap_key(WASM_TRAP_OOM));
		_exit(126);
	}

	argv = calloc(t->o.nargs + 2, sizeof(*argv));
	envp = calloc(t->o.nenv + 1, sizeof(*envp));
	pre = calloc(t->o.npreopens + 1, sizeof(*pre));
	if (argv == NULL || envp == NULL || pre == NULL) {
		status_printf("failed wasm: out of memory");
		_exit(125);
	}
	argv[0] = t->o.argv0 ? t->o.argv0 : "main";
	if (t->o.invoke == NULL)
		for (i = 0; i < t->o.nargs; i++)
			argv[i + 1] = t->o.args[i];
	for (i = 0; i < t->o.nenv; i++)
		envp[i] = t->o.env[i];
	for (i = 0; i < t->o.npreopens; i++) {
		pre[i].host_path = t->o.preopens[i].host_path;
		pre[i].guest_path = t->o.preopens[i].guest_path;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.args = argv;
	cfg.env = envp;
	cfg.preopens = pre;
	cfg.npreopens = t->o.npreopens;
	cfg.stdin_fd = 0;
	cfg.stdout_fd = 1;
	cfg.stderr_fd = 2;
	cfg.exit_hook = exit_hook;
	{
		struct wasi_ctx *cx = NULL;

		err = wasi_ctx_new(&cfg, &cx, &eb);
		if (err != CORE_OK) {
			status_printf("failed %s", core_errbuf_msg(&eb));
			_exit(125);
		}
		ctx = cx;
	}

	wasm_rt_init();
	trap = wasm_rt_impl_try();
	if (trap != WASM_RT_TRAP_NONE) {
		status_printf("trap %s", trap_key(wasm_trap_from_rt(trap)));
		_exit(126);
	}
	code.entry.instantiate(ctx);
	mem = code.entry.memory();
	if (mem != NULL) {
		cap_pages = (uint32_t)(maxmem / 65536 > 65536 ? 65536 :
		    maxmem / 65536);
		if (mem->max_pages > cap_pages)
			mem->max_pages = cap_pages;
		wasi_ctx_set_memory(ctx, mem);
	}
	if (t->o.invoke != NULL) {
		ex = wasm_module_export(t->m, "_initialize");
		if (ex != NULL && strcmp(t->o.invoke, "_initialize") != 0 &&
		    ex->kind == WASM_EXTERN_FUNC)
			(void)code.entry.call((uint32_t)(ex - t->m->exports),
			    NULL, results);
		if (code.entry.call(t->export_idx, t->args, results) != 0) {
			status_printf("failed wasm: export \"%s\" cannot be "
			    "called", t->o.invoke);
			_exit(125);
		}
		for (i = 0; i < t->ft->nresults; i++) {
			wasm_value_format(t->ft->results[i], results[i], val,
			    sizeof(val));
			status_printf("result %s", val);
		}
		status_printf("returned");
		_exit(0);
	}
	if (code.entry.call(t->export_idx, NULL, results) != 0) {
		status_printf("failed wasm: _start cannot be called");
		_exit(125);
	}
	status_printf("exit 0");
	_exit(0);
}

static void
child_exec_external(struct wasm_task *t)
{
	const char **argv;
	char **envp = NULL;
	char *dirarg;
	size_t n = 0, i;
	const char *rt = t->o.external_runtime;

	argv = calloc(8 + 2 * t->o.nenv + 2 * t->o.npreopens + t->o.nargs,
	    sizeof(*argv));
	envp = calloc(2, sizeof(*envp));
	if (argv == NULL || envp == NULL)
		_exit(125);
	argv[n++] = rt;
	argv[n++] = "run";
	if (t->o.invoke != NULL) {
		argv[n++] = "--invoke";
		argv[n++] = t->o.invoke;
	}
	for (i = 0; i < t->o.nenv; i++) {
		argv[n++] = "--env";
		argv[n++] = t->o.env[i];
	}
	for (i = 0; i < t->o.npreopens; i++) {
		if (asprintf(&dirarg, "%s::%s", t->o.preopens[i].host_path,
		    t->o.preopens[i].guest_path) < 0)
			_exit(125);
		argv[n++] = "--dir";
		argv[n++] = dirarg;
	}
	argv[n++] = t->module_path;
	for (i = 0; i < t->o.nargs; i++)
		argv[n++] = t->o.args[i];
	argv[n] = NULL;
	envp[0] = (char *)"PATH=/usr/local/bin:/usr/bin:/bin";
	execve(rt, (char *const *)argv, envp);
	status_printf("failed wasm: cannot run the external runtime %s: %s",
	    rt, strerror(errno));
	_exit(127);
}

/* ------------------------------------------------------------------ */
/* The parent                                                          */
/* ------------------------------------------------------------------ */

static enum core_err
make_stdin_fd(const struct wasm_run_opts *o, int *fd, struct core_errbuf *eb)
{
	*fd = -1;
	if (o->stdin_fd >= 0 && o->stdin_data == NULL) {
		*fd = dup(o->stdin_fd);
		if (*fd < 0)
			return core_errf_errno(eb, CORE_ERR_IO, "wasm: dup stdin");
		return CORE_OK;
	}
	*fd = memfd_create("propeller-wasm-stdin", MFD_CLOEXEC);
	if (*fd < 0)
		return core_errf_errno(eb, CORE_ERR_IO, "wasm: memfd_create");
	if (o->stdin_len > 0 &&
	    core_write_all(*fd, o->stdin_data, o->stdin_len) != CORE_OK) {
		close(*fd);
		*fd = -1;
		return core_errf_errno(eb, CORE_ERR_IO, "wasm: writing stdin");
	}
	(void)lseek(*fd, 0, SEEK_SET);
	return CORE_OK;
}

static enum core_err
task_spawn(struct wasm_task *t, struct core_errbuf *eb)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, ps[2] = { -1, -1 };
	int in = -1;
	enum core_err err;
	struct rlimit rl;
	pid_t pid;

	err = make_stdin_fd(&t->o, &in, eb);
	if (err != CORE_OK)
		return err;
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0 ||
	    pipe2(ps, O_CLOEXEC) != 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "wasm: pipe");
		goto fail;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "wasm: fork");
		goto fail;
	}
	if (pid == 0) {
		(void)setpgid(0, 0);
		if (dup2(in, 0) < 0 || dup2(po[1], 1) < 0 ||
		    dup2(pe[1], 2) < 0 || dup2(ps[1], STATUS_FD) < 0)
			_exit(125);
		core_close_fds_from(STATUS_FD + 1, NULL, 0);
		signal(SIGPIPE, SIG_DFL);
		rl.rlim_cur = rl.rlim_max = 0;
		(void)setrlimit(RLIMIT_CORE, &rl);
		if (t->o.timeout_ms > 0) {
			rl.rlim_cur = (rlim_t)(t->o.timeout_ms / 1000 + 2);
			rl.rlim_max = rl.rlim_cur + 1;
			(void)setrlimit(RLIMIT_CPU, &rl);
		}
		if (t->tier == WASM_TIER_EXTERNAL)
			child_exec_external(t);
		/* No secret of the caller's environment reaches the module or
		 * the compilers it starts. */
		(void)clearenv();
		(void)setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
		child_run(t);
	}
	(void)setpgid(pid, pid);
	pthread_mutex_lock(&t->klock);
	t->pid = pid;
	pthread_mutex_unlock(&t->klock);
	close(po[1]);
	close(pe[1]);
	close(ps[1]);
	close(in);
	t->out_fd = po[0];
	t->err_fd = pe[0];
	t->status_fd = ps[0];
	core_buf_reset(&t->out);
	core_buf_reset(&t->err);
	core_buf_reset(&t->status);
	return CORE_OK;
fail:
	if (in >= 0)
		close(in);
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
		if (ps[i] >= 0)
			close(ps[i]);
	}
	return err;
}

/*
 * Detached: a double fork so the build outlives this run and is reaped by
 * init; a lock file keeps concurrent runs from building the same module.
 * Returns the lock file's path (malloc'd; the build is running while it
 * exists), or NULL if no build could be started or joined.
 */
static char *
start_background_build(const struct wasm_module *m, const char *cache_dir)
{
	char *path = wasm_cache_path(cache_dir, m), *lock = NULL;
	struct stat st;
	pid_t pid, pid2;
	int fd, status;

	if (path == NULL || asprintf(&lock, "%s.lock", path) < 0) {
		free(path);
		return NULL;
	}
	fd = open(lock, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && stat(lock, &st) == 0 &&
	    st.st_mtime + 600 < time(NULL)) {
		unlink(lock);
		fd = open(lock, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		if (errno == EEXIST)
			goto out; /* another run is building it: wait for it */
		free(lock);
		lock = NULL;
		goto out;
	}
	close(fd);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		pid2 = fork();
		if (pid2 != 0)
			_exit(0);
		(void)setsid();
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		core_close_fds_from(3, NULL, 0);
		(void)wasm_cache_build(cache_dir, m, NULL, NULL);
		unlink(lock);
		_exit(0);
	}
	if (pid > 0) {
		(void)waitpid(pid, &status, 0);
	} else {
		unlink(lock);
		free(lock);
		lock = NULL;
	}
out:
	free(path);
	return lock;
}

enum core_err
wasm_task_start(const struct wasm_module *m, const struct wasm_run_opts *o,
    struct wasm_task **out, struct core_errbuf *eb)
{
	return task_start(NULL, m, o, out, eb);
}

enum core_err
wasm_pool_task_start(struct wasm_pool *p, const struct wasm_module *m,
    const struct wasm_run_opts *o, struct wasm_task **out,
    struct core_errbuf *eb)
{
	return task_start(p, m, o, out, eb);
}

enum core_err
wasm_pool_run(struct wasm_pool *p, const struct wasm_module *m,
    const struct wasm_run_opts *o, struct wasm_result *r,
    struct core_errbuf *eb)
{
	struct wasm_task *t = NULL;
	enum core_err err;

	err = wasm_pool_task_start(p, m, o, &t, eb);
	if (err != CORE_OK) {
		wasm_result_init(r);
		return err;
	}
	return wasm_task_wait(t, r, eb);
}

static enum core_err
task_start(struct wasm_pool *pool, const struct wasm_module *m,
    const struct wasm_run_opts *o, struct wasm_task **out,
    struct core_errbuf *eb)
{
	struct wasm_task *t = NULL;
	const struct wasm_export *ex;
	const char *name = o->invoke ? o->invoke : "_start";
	enum core_err err = CORE_OK;
	size_t i;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "wasm: out of memory");
	t->m = m;
	t->o = *o;
	t->pid = -1;
	pthread_mutex_init(&t->klock, NULL);
	t->out_fd = t->err_fd = t->status_fd = t->stdin_fd = -1;
	core_buf_init(&t->out, 0);
	core_buf_init(&t->err, 0);
	core_buf_init(&t->status, STATUS_MAX);
	t->t_start_ms = core_mono_ms();

	if (o->tier == WASM_TIER_EXTERNAL) {
		if (o->external_runtime == NULL || *o->external_runtime != '/') {
			err = core_errf(eb, CORE_ERR_INVALID, "wasm: the "
			    "external runtime must be an absolute path");
			goto out;
		}
		if (o->module_path != NULL) {
			t->module_path = strdup(o->module_path);
		} else {
			err = o->confidential ?
			    core_fs_private_tmpdir("propeller-wasm", &t->tmpdir,
			    eb) : core_fs_tmpdir("propeller-wasm", &t->tmpdir, eb);
			if (err != CORE_OK)
				goto out;
			t->module_path = core_path_join(t->tmpdir,
			    "module.wasm");
			if (t->module_path != NULL) {
				err = core_fs_write_atomic(t->module_path,
				    m->bytes, m->len, 0600, eb);
				if (err != CORE_OK)
					goto out;
			}
		}
		if (t->module_path == NULL) {
			err = core_errf(eb, CORE_ERR_NOMEM,
			    "wasm: out of memory");
			goto out;
		}
		t->tier = WASM_TIER_EXTERNAL;
		err = task_spawn(t, eb);
		goto out;
	}

	err = wasm_module_check_imports(m, eb);
	if (err != CORE_OK)
		goto out;
	ex = wasm_module_export(m, name);
	if (ex == NULL || ex->kind != WASM_EXTERN_FUNC) {
		err = core_errf(eb, CORE_ERR_NOT_FOUND,
		    "wasm: the module has no exported function \"%s\"", name);
		goto out;
	}
	t->export_idx = (uint32_t)(ex - m->exports);
	t->ft = wasm_module_export_functype(m, name);
	if (t->ft == NULL || !wasm_functype_callable(t->ft)) {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "wasm: export \"%s\" has a signature that cannot be "
		    "invoked (multi-value or reference/vector types)", name);
		goto out;
	}
	if (o->invoke == NULL && (t->ft->nparams != 0 ||
	    t->ft->nresults != 0)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "wasm: _start must take and return nothing");
		goto out;
	}
	if (o->invoke != NULL) {
		if (o->nargs != t->ft->nparams) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "wasm: export \"%s\" takes %u argument(s), got %zu",
			    name, t->ft->nparams, o->nargs);
			goto out;
		}
		t->args = calloc(o->nargs + 1, sizeof(*t->args));
		if (t->args == NULL) {
			err = core_errf(eb, CORE_ERR_NOMEM,
			    "wasm: out of memory");
			goto out;
		}
		for (i = 0; i < o->nargs; i++) {
			err = wasm_value_parse(t->ft->params[i], o->args[i],
			    &t->args[i], eb);
			if (err != CORE_OK) {
				core_errbuf_prefix(eb, "wasm: argument %zu of "
				    "\"%s\"", i + 1, name);
				goto out;
			}
		}
	}

	if (pool != NULL) {
		bool fallback = true;

		err = wasm_wrun_start(pool, m, o, t->export_idx, t->args,
		    &t->wr, &fallback, eb);
		if (err != CORE_OK || !fallback)
			goto out;
	}
	wasm_tier1_read_env();
	t->tier = o->tier == WASM_TIER_AUTO ? WASM_TIER_1 : o->tier;
	if (o->tier != WASM_TIER_1) {
		err = wasm_cache_dir(o->cache_dir, o->confidential,
		    &t->cache_dir, eb);
		if (err != CORE_OK && o->tier == WASM_TIER_2)
			goto out;
		err = CORE_OK;
	}
	if (o->tier == WASM_TIER_2 && !wasm_cache_valid(t->cache_dir, m)) {
		err = wasm_cache_build(t->cache_dir, m, NULL, eb);
		if (err != CORE_OK)
			goto out;
	}
	if (o->tier == WASM_TIER_AUTO && t->cache_dir != NULL) {
		if (wasm_cache_valid(t->cache_dir, m)) {
			t->tier = WASM_TIER_2;
		} else if (!o->no_background_build) {
			t->lock_path = start_background_build(m, t->cache_dir);
			t->bg_started = t->lock_path != NULL;
			t->can_switch = t->bg_started && o->npreopens == 0 &&
			    !(o->stdin_fd >= 0 && o->stdin_data == NULL);
			t->next_switch_check_ms = core_mono_ms() +
			    SWITCH_POLL_MS;
		}
	}
	err = task_spawn(t, eb);
out:
	if (err != CORE_OK) {
		struct wasm_result r;

		wasm_result_init(&r);
		t->pid = -1;
		(void)wasm_task_wait(t, &r, NULL);
		wasm_result_cleanup(&r);
		return err;
	}
	*out = t;
	return CORE_OK;
}

pid_t
wasm_task_pid(const struct wasm_task *t)
{
	if (t->wr != NULL)
		return wasm_wrun_pid(t->wr);
	return t->pid;
}

void
wasm_task_kill(struct wasm_task *t)
{
	pthread_mutex_lock(&t->klock);
	t->kill_requested = 1;
	if (!t->ended) {
		if (t->wr != NULL)
			wasm_wrun_kill(t->wr);
		else if (t->pid > 0)
			(void)kill(-t->pid, SIGKILL);
	}
	pthread_mutex_unlock(&t->klock);
}

static void
close_parent_fds(struct wasm_task *t)
{
	if (t->out_fd >= 0)
		close(t->out_fd);
	if (t->err_fd >= 0)
		close(t->err_fd);
	if (t->status_fd >= 0)
		close(t->status_fd);
	t->out_fd = t->err_fd = t->status_fd = -1;
}

/* Releases output held back while a tier switch was possible. */
static void
flush_held(struct wasm_task *t)
{
	if (t->o.inherit_stdout && t->out.len > 0) {
		(void)core_write_all(1, t->out.data, t->out.len);
		core_buf_reset(&t->out);
	}
	if (t->o.inherit_stderr && t->err.len > 0) {
		(void)core_write_all(2, t->err.data, t->err.len);
		core_buf_reset(&t->err);
	}
}

/* Kills the current child and reaps it (used when switching tiers). */
static void
drain_child(struct wasm_task *t)
{
	int st;
	pid_t pid;

	pthread_mutex_lock(&t->klock);
	pid = t->pid;
	(void)kill(-pid, SIGKILL);
	t->pid = -1;
	pthread_mutex_unlock(&t->klock);
	close_parent_fds(t);
	(void)waitpid(pid, &st, 0);
}

static enum core_err
parse_status(struct wasm_task *t, struct wasm_result *r, int wstatus)
{
	char *line, *nl, *s = (char *)t->status.data;
	struct core_buf res;
	size_t i;
	bool have_final = false;
	int64_t compile_cpu_us = 0;

	core_buf_init(&res, 0);
	for (line = s; line != NULL && *line != '\0'; line = nl) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		if (strncmp(line, "compiled ", 9) == 0) {
			char *end = NULL;

			r->compile_ms = strtoll(line + 9 + 2, &end, 10);
			if (end != NULL && *end == ' ')
				compile_cpu_us = strtoll(end + 1, NULL, 10);
		} else if (strncmp(line, "trap ", 5) == 0) {
			r->outcome = WASM_OUT_TRAPPED;
			r->trap = WASM_TRAP_OTHER;
			for (i = 0; i < CORE_ARRAY_LEN(trap_names); i++)
				if (strcmp(trap_names[i].key, line + 5) == 0)
					r->trap = trap_names[i].trap;
			have_final = true;
		} else if (strncmp(line, "result ", 7) == 0) {
			(void)core_buf_append_str(&res, line + 7);
			(void)core_buf_append(&res, "\n", 1);
		} else if (strcmp(line, "returned") == 0) {
			r->outcome = WASM_OUT_RETURNED;
			have_final = true;
		} else if (strncmp(line, "exit ", 5) == 0) {
			r->outcome = WASM_OUT_EXITED;
			r->exit_code = (int)(strtol(line + 5, NULL, 10) & 0xff);
			have_final = true;
		} else if (strncmp(line, "failed ", 7) == 0) {
			r->outcome = WASM_OUT_FAILED;
			snprintf(r->errmsg, sizeof(r->errmsg), "%s", line + 7);
			have_final = true;
		}
	}
	if (t->kill_requested) {
		r->outcome = WASM_OUT_KILLED;
	} else if (t->timed_out || (WIFSIGNALED(wstatus) &&
	    WTERMSIG(wstatus) == SIGXCPU)) {
		r->outcome = WASM_OUT_TIMEOUT;
	} else if (t->tier == WASM_TIER_EXTERNAL && !have_final) {
		if (WIFEXITED(wstatus)) {
			r->exit_code = WEXITSTATUS(wstatus);
			r->outcome = WASM_OUT_EXITED;
			if (r->exit_code == 0 && t->o.invoke != NULL) {
				r->outcome = WASM_OUT_RETURNED;
				r->results = strndup(t->out.data ?
				    (const char *)t->out.data : "", t->out.len);
			}
		} else {
			r->outcome = WASM_OUT_CRASHED;
			r->term_signal = WTERMSIG(wstatus);
		}
	} else if (!have_final) {
		r->outcome = WASM_OUT_CRASHED;
		r->term_signal = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
		r->exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
	}
	r->run_cpu_ms = r->cpu_ms - compile_cpu_us / 1000;
	if (r->run_cpu_ms < 0)
		r->run_cpu_ms = 0;
	if (r->outcome == WASM_OUT_RETURNED && r->results == NULL)
		r->results = (char *)core_buf_steal(&res, NULL);
	if (r->outcome == WASM_OUT_RETURNED && r->results == NULL)
		r->results = strdup("");
	core_buf_cleanup(&res);
	return CORE_OK;
}

enum core_err
wasm_task_wait(struct wasm_task *t, struct wasm_result *r,
    struct core_errbuf *eb)
{
	enum core_err err;

	err = wasm_task_finish(t, r, eb);
	wasm_task_free(t);
	return err;
}

enum core_err
wasm_task_finish(struct wasm_task *t, struct wasm_result *r,
    struct core_errbuf *eb)
{
	struct pollfd pfd[3];
	uint8_t chunk[65536];
	size_t max_out = t->o.stdout_max ? t->o.stdout_max : DEFAULT_STDOUT_MAX;
	size_t max_err = t->o.stderr_max ? t->o.stderr_max : DEFAULT_STDERR_MAX;
	int64_t now, wait_ms;
	int nfds, i, st = 0, *fdp;
	ssize_t n;
	struct core_buf *dst;
	bool fwd, trunc;
	enum core_err err = CORE_OK;

	(void)eb;
	wasm_result_init(r);
	if (t->wr != NULL) {
		err = wasm_wrun_wait(t->wr, r);
		pthread_mutex_lock(&t->klock);
		t->ended = true;
		pthread_mutex_unlock(&t->klock);
		return err;
	}
	while (t->pid > 0 && (t->out_fd >= 0 || t->err_fd >= 0 ||
	    t->status_fd >= 0)) {
		now = core_mono_ms();
		wait_ms = -1;
		if (t->o.timeout_ms > 0) {
			wait_ms = t->t_start_ms + t->o.timeout_ms - now;
			if (wait_ms <= 0) {
				t->timed_out = true;
				(void)kill(-t->pid, SIGKILL);
				close_parent_fds(t);
				break;
			}
		}
		if (t->can_switch && t->tier == WASM_TIER_1) {
			if (now >= t->next_switch_check_ms) {
				t->next_switch_check_ms = now + SWITCH_POLL_MS;
				if (wasm_cache_valid(t->cache_dir, t->m)) {
					/* Nothing has left the task yet: drop
					 * the output and start over in tier 2. */
					drain_child(t);
					t->tier = WASM_TIER_2;
					t->can_switch = false;
					t->out_trunc = t->err_trunc = false;
					err = task_spawn(t, eb);
					if (err != CORE_OK)
						break;
					continue;
				}
				if (access(t->lock_path, F_OK) != 0 ||
				    now - t->t_start_ms > SWITCH_MAX_HOLD_MS) {
					/* The build ended without an object
					 * (or takes too long): stay in tier 1. */
					t->can_switch = false;
					flush_held(t);
				}
			}
			if (t->can_switch &&
			    (wait_ms < 0 || wait_ms > SWITCH_POLL_MS))
				wait_ms = SWITCH_POLL_MS;
		}
		nfds = 0;
		if (t->out_fd >= 0)
			pfd[nfds++] = (struct pollfd){ t->out_fd, POLLIN, 0 };
		if (t->err_fd >= 0)
			pfd[nfds++] = (struct pollfd){ t->err_fd, POLLIN, 0 };
		if (t->status_fd >= 0)
			pfd[nfds++] = (struct pollfd){ t->status_fd, POLLIN, 0 };
		if (poll(pfd, (nfds_t)nfds, (int)(wait_ms > INT32_MAX ?
		    INT32_MAX : wait_ms)) < 0) {
			if (errno == EINTR)
				continue;
			(void)kill(-t->pid, SIGKILL);
			close_parent_fds(t);
			break;
		}
		if (t->kill_requested) {
			(void)kill(-t->pid, SIGKILL);
		}
		for (i = 0; i < nfds; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == t->out_fd) {
				fdp = &t->out_fd;
				dst = &t->out;
				fwd = t->o.inherit_stdout;
			} else if (pfd[i].fd == t->err_fd) {
				fdp = &t->err_fd;
				dst = &t->err;
				fwd = t->o.inherit_stderr;
			} else {
				fdp = &t->status_fd;
				dst = &t->status;
				fwd = false;
			}
			n = read(*fdp, chunk, sizeof(chunk));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close(*fdp);
				*fdp = -1;
				continue;
			}
			if (fwd && !t->can_switch) {
				(void)core_write_all(fdp == &t->out_fd ? 1 : 2,
				    chunk, (size_t)n);
				continue;
			}
			trunc = false;
			if (dst == &t->out && dst->len + (size_t)n > max_out)
				trunc = true;
			else if (dst == &t->err && dst->len + (size_t)n > max_err)
				trunc = true;
			if (trunc || core_buf_append(dst, chunk, (size_t)n) !=
			    CORE_OK) {
				if (dst == &t->out)
					t->out_trunc = true;
				else if (dst == &t->err)
					t->err_trunc = true;
			}
		}
	}
	flush_held(t);
	pthread_mutex_lock(&t->klock);
	t->ended = true;
	pthread_mutex_unlock(&t->klock);
	if (t->pid > 0) {
		struct rusage ru;

		memset(&ru, 0, sizeof(ru));
		while (wait4(t->pid, &st, 0, &ru) < 0 && errno == EINTR)
			;
		r->cpu_ms = rusage_us(&ru) / 1000;
	}
	if (t->pid > 0 || t->tier == WASM_TIER_EXTERNAL) {
		r->tier_used = t->tier;
		(void)parse_status(t, r, st);
	}
	r->run_ms = core_mono_ms() - t->t_start_ms;
	if (r->out.len == 0 && t->out.len > 0) {
		core_buf_cleanup(&r->out);
		r->out = t->out;
		core_buf_init(&t->out, 0);
	}
	if (t->err.len > 0) {
		core_buf_cleanup(&r->err);
		r->err = t->err;
		core_buf_init(&t->err, 0);
	}
	close_parent_fds(t);
	if (t->tmpdir != NULL)
		(void)core_fs_rmtree(t->tmpdir, NULL);
	t->pid = -1;
	return err;
}

void
wasm_task_free(struct wasm_task *t)
{
	if (t == NULL)
		return;
	wasm_wrun_free(t->wr);
	close_parent_fds(t);
	free(t->tmpdir);
	free(t->module_path);
	free(t->cache_dir);
	free(t->lock_path);
	free(t->args);
	core_buf_cleanup(&t->out);
	core_buf_cleanup(&t->err);
	core_buf_cleanup(&t->status);
	pthread_mutex_destroy(&t->klock);
	free(t);
}

enum core_err
wasm_run(const struct wasm_module *m, const struct wasm_run_opts *o,
    struct wasm_result *r, struct core_errbuf *eb)
{
	struct wasm_task *t = NULL;
	enum core_err err;

	err = wasm_task_start(m, o, &t, eb);
	if (err != CORE_OK) {
		wasm_result_init(r);
		return err;
	}
	return wasm_task_wait(t, r, eb);
}

enum core_err
wasm_tier1_compile_time(const struct wasm_module *m, int64_t *wasm2c_us,
    int64_t *tcc_us, struct core_errbuf *eb)
{
	struct wasm_code code;
	char *c = NULL;
	size_t clen = 0;
	int64_t k0, k1, t1, t2;
	struct rusage ru;
	struct timespec ts;
	enum core_err err;

	(void)getrusage(RUSAGE_CHILDREN, &ru);
	k0 = rusage_us(&ru);
	err = wasm_codegen(m, &c, &clen, eb);
	if (err != CORE_OK)
		return err;
	(void)getrusage(RUSAGE_CHILDREN, &ru);
	k1 = rusage_us(&ru);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	t1 = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	err = wasm_tier1_load(c, &code, eb);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	t2 = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	free(c);
	if (err != CORE_OK)
		return err;
	wasm_code_cleanup(&code);
	*wasm2c_us = k1 - k0;
	*tcc_us = t2 - t1;
	return CORE_OK;
}
