/*
 * test_wasi_guest.c -- runs guest/wasi_guest.wasm (translated by wasm2c and
 * compiled in) against the WASI host, one case per test, each in a forked
 * child so proc_exit, proc_raise and traps stay contained. The guest checks
 * its own results; the host side checks exit codes, captured output and
 * what happened on disk around the sandbox.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wasi_guest_w2c.h"
#include "wasm-rt-impl.h"

#include "core/core.h"
#include "wasm/wasi.h"

struct guest_run {
	int status;        /* exit code; 1000 + signal if killed */
	char out[8192];
	char err[8192];
};

struct fixture {
	char *root;    /* owned: T */
	char *sandbox; /* owned: T/sandbox, preopened as /sandbox */
};

static jmp_buf hook_jmp;
/* When set, path_open resolves by the component walk, not openat2. */
static bool walk_only;

static void
hook_longjmp(void *arg, int code)
{
	*(int *)arg = code;
	longjmp(hook_jmp, 1);
}

static void
read_memfd(int fd, char *buf, size_t cap)
{
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, cap - 1);
	buf[n > 0 ? n : 0] = '\0';
}

/* Runs one instance of the guest in a child; use_hook routes proc_exit
 * through an exit_hook that longjmps back (exit code 50 + code). */
static void
run_guest(const struct fixture *fx, const char *const *args,
    const char *const *env, int stdin_fd, bool use_hook,
    struct guest_run *r)
{
	int outfd = memfd_create("out", MFD_CLOEXEC);
	int errfd = memfd_create("err", MFD_CLOEXEC);
	int st = 0;
	pid_t pid;

	assert_true(outfd >= 0 && errfd >= 0);
	fflush(NULL); /* the child flushes on proc_exit */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static Z_wasi_guest_instance_t inst;
		static volatile int hook_code = -1;
		struct wasi_preopen pre = { fx->sandbox, "/sandbox" };
		struct wasi_config cfg = {
			.args = args, .env = env, .preopens = &pre,
			.npreopens = 1, .stdin_fd = stdin_fd,
			.stdout_fd = outfd, .stderr_fd = errfd,
		};
		struct core_errbuf eb;
		struct wasi_ctx *ctx = NULL;
		wasm_rt_trap_t trap;

		alarm(20);
		wasi_path_use_openat2(!walk_only);
		if (use_hook) {
			cfg.exit_hook = hook_longjmp;
			cfg.exit_arg = (void *)&hook_code;
		}
		if (wasi_ctx_new(&cfg, &ctx, &eb) != CORE_OK)
			_exit(120);
		wasm_rt_init();
		Z_wasi_guest_init_module();
		Z_wasi_guest_instantiate(&inst, ctx);
		wasi_ctx_set_memory(ctx, Z_wasi_guestZ_memory(&inst));
		if (use_hook && setjmp(hook_jmp) != 0) {
			Z_wasi_guest_free(&inst);
			wasi_ctx_free(ctx);
			_exit(50 + hook_code);
		}
		trap = wasm_rt_impl_try();
		if (trap != WASM_RT_TRAP_NONE)
			_exit(100 + (int)trap);
		Z_wasi_guestZ__start(&inst);
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
	read_memfd(outfd, r->out, sizeof(r->out));
	read_memfd(errfd, r->err, sizeof(r->err));
	close(outfd);
	close(errfd);
}

/* A pipe holding `data`, write end closed: the guest's stdin. */
static int
stdin_pipe(const char *data)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], data, strlen(data)), (int)strlen(data));
	close(p[1]);
	return p[0];
}

/* Runs case `name` with stdin empty and expects a clean exit 0. */
static void
run_case(struct fixture *fx, const char *name)
{
	const char *args[] = { "guest", name, NULL };
	struct guest_run r;
	int in = stdin_pipe("");

	run_guest(fx, args, NULL, in, false, &r);
	close(in);
	if (r.status != 0)
		fprintf(stderr, "case %s: status %d\nstderr: %s\n", name,
		    r.status, r.err);
	assert_int_equal(r.status, 0);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char tmpl[] = "/tmp/wasi_test.XXXXXX";
	char *p;
	FILE *f;

	if (fx == NULL || mkdtemp(tmpl) == NULL)
		return -1;
	fx->root = strdup(tmpl);
	fx->sandbox = core_path_join(tmpl, "sandbox");
	if (fx->root == NULL || fx->sandbox == NULL ||
	    mkdir(fx->sandbox, 0700) != 0)
		return -1;
	/* A secret outside the sandbox and links that point at it. */
	p = core_path_join(tmpl, "secret.txt");
	f = fopen(p, "w");
	if (f == NULL)
		return -1;
	fputs("top secret", f);
	fclose(f);
	if (chdir(fx->sandbox) != 0 || symlink(p, "abs") != 0 ||
	    symlink("../secret.txt", "rel") != 0 ||
	    symlink(tmpl, "absdir") != 0 || chdir("/") != 0)
		return -1;
	free(p);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	core_fs_rmtree(fx->root, NULL);
	free(fx->root);
	free(fx->sandbox);
	free(fx);
	return 0;
}

static void
test_args_env(void **state)
{
	const char *args[] = { "guest", "args", "two words", "", NULL };
	const char *env[] = { "FOO=bar=baz", "EMPTY=", NULL };
	struct guest_run r;
	int in = stdin_pipe("");

	run_guest(*state, args, env, in, false, &r);
	close(in);
	if (r.status != 0)
		fprintf(stderr, "%s", r.err);
	assert_int_equal(r.status, 0);
}

static void
test_stdio(void **state)
{
	const char *args[] = { "guest", "stdio", NULL };
	struct guest_run r;
	int in = stdin_pipe("input\n");

	run_guest(*state, args, NULL, in, false, &r);
	close(in);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "to stdout\nprintf works 42\n");
	assert_string_equal(r.err, "to stderr\n");
}

static void test_clocks(void **s) { run_case(*s, "clocks"); }
static void test_random(void **s) { run_case(*s, "random"); }
static void test_files(void **s) { run_case(*s, "files"); }
static void test_dirs(void **s) { run_case(*s, "dirs"); }
static void test_rename_link(void **s) { run_case(*s, "rename_link"); }
static void test_symlinks(void **s) { run_case(*s, "symlinks"); }
static void test_fdtable(void **s) { run_case(*s, "fdtable"); }
static void test_poll(void **s) { run_case(*s, "poll"); }
static void test_sock_errnos(void **s) { run_case(*s, "sock"); }
static void test_fault(void **s) { run_case(*s, "fault"); }

static void
test_escape(void **state)
{
	struct fixture *fx = *state;
	char *p;
	uint8_t *data = NULL;
	size_t len = 0;
	struct stat st;

	run_case(fx, "escape");
	/* Nothing outside the sandbox changed. */
	p = core_path_join(fx->root, "secret.txt");
	assert_int_equal(core_fs_read(p, 0, &data, &len, NULL), CORE_OK);
	assert_memory_equal(data, "top secret", 10);
	free(data);
	free(p);
	p = core_path_join(fx->root, "newdir");
	assert_int_not_equal(lstat(p, &st), 0);
	free(p);
	p = core_path_join(fx->root, "moved");
	assert_int_not_equal(lstat(p, &st), 0);
	free(p);
	p = core_path_join(fx->root, "new.txt");
	assert_int_not_equal(lstat(p, &st), 0);
	free(p);
}

/* The same cases with path_open walking component by component (the
 * fallback for kernels without openat2). */
static void
test_walk_only(void **state)
{
	walk_only = true;
	run_case(*state, "files");
	run_case(*state, "symlinks");
	walk_only = false;
}

static void
test_walk_only_dirs_escape(void **state)
{
	walk_only = true;
	run_case(*state, "dirs");
	run_case(*state, "escape");
	walk_only = false;
}

static void
test_poll_stdin(void **state)
{
	const char *args[] = { "guest", "poll_stdin", NULL };
	struct guest_run r;
	int in = stdin_pipe("input\n");

	run_guest(*state, args, NULL, in, false, &r);
	close(in);
	if (r.status != 0)
		fprintf(stderr, "%s", r.err);
	assert_int_equal(r.status, 0);
}

static void
test_poll_block(void **state)
{
	const char *args[] = { "guest", "poll_block", NULL };
	struct guest_run r;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	run_guest(*state, args, NULL, sv[1], false, &r);
	close(sv[0]);
	close(sv[1]);
	if (r.status != 0)
		fprintf(stderr, "%s", r.err);
	assert_int_equal(r.status, 0);
}

static void
test_sock_io(void **state)
{
	const char *args[] = { "guest", "sock_io", NULL };
	struct guest_run r;
	char buf[8];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], "ping", 4), 4);
	run_guest(*state, args, NULL, sv[1], false, &r);
	close(sv[1]);
	if (r.status != 0)
		fprintf(stderr, "%s", r.err);
	assert_int_equal(r.status, 0);
	assert_int_equal(read(sv[0], buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);
	/* The guest shut down its write side: EOF now. */
	assert_int_equal(read(sv[0], buf, sizeof(buf)), 0);
	close(sv[0]);
}

static void
test_sock_accept(void **state)
{
	const char *args[] = { "guest", "sock_accept", NULL };
	struct sockaddr_un sa;
	struct guest_run r;
	char buf[4];
	int lfd, cfd, cfd2;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	/* Abstract socket: nothing on disk. */
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "wasi-test-%d",
	    (int)getpid());
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cfd2 = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0 && cfd >= 0 && cfd2 >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(cfd, "yo!", 3), 3);
	assert_int_equal(connect(cfd2, (struct sockaddr *)&sa, sizeof(sa)), 0);
	run_guest(*state, args, NULL, lfd, false, &r);
	if (r.status != 0)
		fprintf(stderr, "%s", r.err);
	assert_int_equal(r.status, 0);
	assert_int_equal(read(cfd, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "hi", 2);
	close(lfd);
	close(cfd);
	close(cfd2);
}

static void
test_exit_codes(void **state)
{
	const char *a7[] = { "guest", "exit", "7", NULL };
	const char *a0[] = { "guest", "exit", "0", NULL };
	const char *unk[] = { "guest", "no-such-case", NULL };
	struct guest_run r;
	int in = stdin_pipe("");

	run_guest(*state, a7, NULL, in, false, &r);
	assert_int_equal(r.status, 7);
	run_guest(*state, a0, NULL, in, false, &r);
	assert_int_equal(r.status, 0);
	run_guest(*state, unk, NULL, in, false, &r);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "unknown case"));
	/* Through an exit hook that does not return to the guest. */
	run_guest(*state, a7, NULL, in, true, &r);
	assert_int_equal(r.status, 57);
	close(in);
}

static void
test_proc_raise(void **state)
{
	const char *args[] = { "guest", "raise", NULL };
	struct guest_run r;
	int in = stdin_pipe("");

	run_guest(*state, args, NULL, in, false, &r);
	close(in);
	if (r.status != 128 + SIGTERM)
		fprintf(stderr, "%s", r.err);
	assert_int_equal(r.status, 128 + SIGTERM);
	/* The hook sees the same code. */
	in = stdin_pipe("");
	run_guest(*state, args, NULL, in, true, &r);
	close(in);
	assert_int_equal(r.status, (50 + 128 + SIGTERM) & 0xff);
}

static void
test_trap(void **state)
{
	const char *args[] = { "guest", "trap", NULL };
	struct guest_run r;
	int in = stdin_pipe("");

	run_guest(*state, args, NULL, in, false, &r);
	close(in);
	assert_int_equal(r.status, 100 + WASM_RT_TRAP_UNREACHABLE);
}

static void
test_closed_stdio(void **state)
{
	/* With stdout closed (-1) the guest's writes fail with EBADF, and
	 * printf's failure does not crash anything. */
	const char *args[] = { "guest", "exit", "3", NULL };
	struct fixture *fx = *state;
	struct wasi_preopen pre = { fx->sandbox, "/sandbox" };
	struct wasi_config cfg = { .args = args, .preopens = &pre,
		.npreopens = 1, .stdin_fd = -1, .stdout_fd = -1,
		.stderr_fd = -1 };
	struct wasi_ctx *ctx = NULL;
	uint8_t mem[64];
	wasm_rt_memory_t m = { mem, 1, 1, sizeof(mem) };

	assert_int_equal(wasi_ctx_new(&cfg, &ctx, NULL), CORE_OK);
	wasi_ctx_set_memory(ctx, &m);
	memset(mem, 0, sizeof(mem));
	assert_int_equal(WASI_FN(fd_write)(ctx, 1, 0, 0, 32), WASI_EBADF);
	assert_int_equal(WASI_FN(fd_fdstat_get)(ctx, 0, 0), WASI_EBADF);
	assert_int_equal(WASI_FN(fd_prestat_get)(ctx, 3, 0), 0);
	wasi_ctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_args_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_link, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_only_dirs_escape,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_fdtable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_stdin, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_poll_block, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sock_errnos, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sock_io, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sock_accept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_codes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_proc_raise, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_trap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed_stdio, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
