/*
 * test_wasi_host.c -- the WASI host called directly from C: the path
 * resolver against a real directory tree, guest-memory bounds, the byte
 * layouts of the structures the calls write, and context construction
 * errors. The "memory" is a plain byte array in a wasm_rt_memory_t.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "wasm/wasi.h"

#define MEM_SIZE 65536

struct fx {
	char *root;       /* owned: temp dir T */
	char *box;        /* owned: T/box, the preopen */
	int boxfd;        /* owned: O_DIRECTORY fd of T/box */
	uint8_t *mem;     /* owned: guest memory */
	wasm_rt_memory_t m;
	struct wasi_ctx *ctx; /* owned */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/wasi_host.XXXXXX";
	const char *args[] = { "prog", "a1", "", NULL };
	const char *env[] = { "K=V", "X=", NULL };
	struct wasi_preopen pre;
	struct wasi_config cfg;

	if (f == NULL || mkdtemp(tmpl) == NULL)
		return -1;
	f->root = strdup(tmpl);
	f->box = core_path_join(tmpl, "box");
	if (f->box == NULL || mkdir(f->box, 0700) != 0)
		return -1;
	f->boxfd = open(f->box, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->boxfd < 0 || mkdirat(f->boxfd, "a", 0700) != 0 ||
	    mkdirat(f->boxfd, "a/b", 0700) != 0 ||
	    symlinkat("a/b", f->boxfd, "toab") != 0 ||
	    symlinkat("../..", f->boxfd, "a/b/up2") != 0 ||
	    symlinkat("/etc", f->boxfd, "etc") != 0 ||
	    symlinkat("self", f->boxfd, "self") != 0)
		return -1;
	close(openat(f->boxfd, "a/file", O_CREAT | O_WRONLY | O_CLOEXEC,
	    0600));
	f->mem = calloc(1, MEM_SIZE);
	f->m.data = f->mem;
	f->m.pages = 1;
	f->m.max_pages = 1;
	f->m.size = MEM_SIZE;
	memset(&pre, 0, sizeof(pre));
	pre.host_path = f->box;
	pre.guest_path = "/box";
	memset(&cfg, 0, sizeof(cfg));
	cfg.args = args;
	cfg.env = env;
	cfg.preopens = &pre;
	cfg.npreopens = 1;
	cfg.stdin_fd = -1;
	cfg.stdout_fd = -1;
	cfg.stderr_fd = -1;
	if (f->mem == NULL || wasi_ctx_new(&cfg, &f->ctx, NULL) != CORE_OK)
		return -1;
	wasi_ctx_set_memory(f->ctx, &f->m);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	wasi_ctx_free(f->ctx);
	close(f->boxfd);
	core_fs_rmtree(f->root, NULL);
	free(f->root);
	free(f->box);
	free(f->mem);
	free(f);
	return 0;
}

static uint16_t
resolve(struct fx *f, const char *p, bool follow, struct wasi_path_res *r)
{
	return wasi_path_resolve(f->boxfd, p, strlen(p), follow, r);
}

/* Resolves p and checks the parent is `parent` (relative to box) and the
 * final name is `base`. */
static void
expect_res(struct fx *f, const char *p, bool follow, const char *parent,
    const char *base)
{
	struct wasi_path_res r;
	struct stat a, b;

	assert_int_equal(resolve(f, p, follow, &r), WASI_ESUCCESS);
	assert_string_equal(r.base, base);
	assert_int_equal(fstat(r.dirfd, &a), 0);
	assert_int_equal(fstatat(f->boxfd, parent, &b, 0), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	wasi_path_res_cleanup(&r);
	assert_int_equal(r.dirfd, -1);
}

static void
test_resolve_ok(void **state)
{
	struct fx *f = *state;

	expect_res(f, "a", false, ".", "a");
	expect_res(f, "a/b/c", false, "a/b", "c");
	expect_res(f, "a//b///c", false, "a/b", "c");
	expect_res(f, "./a/./b/../b/c", false, "a/b", "c");
	expect_res(f, "a/", false, ".", "a/");
	expect_res(f, "a/b//", false, "a", "b/");
	expect_res(f, ".", false, ".", ".");
	expect_res(f, "a/..", false, ".", ".");
	expect_res(f, "a/b/..", false, "a", ".");
	/* Symlinks: intermediate ones always followed, the last on request
	 * or when a trailing slash asks for a directory. */
	expect_res(f, "toab/c", false, "a/b", "c");
	expect_res(f, "toab", false, ".", "toab");
	expect_res(f, "toab", true, "a", "b");
	expect_res(f, "toab/", false, "a", "b/");
	expect_res(f, "toab/up2", true, ".", ".");
	expect_res(f, "toab/up2/a/file", false, "a", "file");
}

static void
test_resolve_escape(void **state)
{
	struct fx *f = *state;
	struct wasi_path_res r;

	assert_int_equal(resolve(f, "..", false, &r), WASI_EPERM);
	assert_int_equal(resolve(f, "../x", false, &r), WASI_EPERM);
	assert_int_equal(resolve(f, "a/../../x", false, &r), WASI_EPERM);
	assert_int_equal(resolve(f, "a/b/../../..", false, &r), WASI_EPERM);
	assert_int_equal(resolve(f, "/etc/passwd", false, &r), WASI_EPERM);
	assert_int_equal(resolve(f, "/", false, &r), WASI_EPERM);
	/* Symlinks to absolute paths and out through "..". */
	assert_int_equal(resolve(f, "etc/passwd", false, &r), WASI_EPERM);
	assert_int_equal(resolve(f, "etc", true, &r), WASI_EPERM);
	assert_int_equal(resolve(f, "etc/", false, &r), WASI_EPERM);
	assert_int_equal(resolve(f, "toab/up2/..", false, &r), WASI_EPERM);
	assert_int_equal(resolve(f, "a/b/up2/../x", false, &r), WASI_EPERM);
	/* Not following the final link is fine: it names the link. */
	expect_res(f, "etc", false, ".", "etc");
	assert_int_equal(r.dirfd, -1);
}

static void
test_resolve_bad(void **state)
{
	struct fx *f = *state;
	struct wasi_path_res r;
	char big[WASI_PATH_MAX + 2];
	char comp[WASI_NAME_MAX + 2];

	assert_int_equal(wasi_path_resolve(f->boxfd, "", 0, false, &r),
	    WASI_ENOENT);
	assert_int_equal(wasi_path_resolve(f->boxfd, "a\0b", 3, false, &r),
	    WASI_EINVAL);
	assert_int_equal(resolve(f, "\xc3\x28", false, &r), WASI_EILSEQ);
	assert_int_equal(resolve(f, "\xed\xa0\x80", false, &r), WASI_EILSEQ);
	assert_int_equal(resolve(f, "\xc0\xaf", false, &r), WASI_EILSEQ);
	expect_res(f, "caf\xc3\xa9", false, ".", "caf\xc3\xa9");
	memset(big, 'a', sizeof(big));
	assert_int_equal(wasi_path_resolve(f->boxfd, big, WASI_PATH_MAX + 1,
	    false, &r), WASI_ENAMETOOLONG);
	memset(comp, 'c', sizeof(comp));
	comp[WASI_NAME_MAX + 1] = '\0';
	assert_int_equal(resolve(f, comp, false, &r), WASI_ENAMETOOLONG);
	comp[WASI_NAME_MAX] = '\0';
	expect_res(f, comp, false, ".", comp);
	assert_int_equal(resolve(f, "self", true, &r), WASI_ELOOP);
	assert_int_equal(resolve(f, "self/x", false, &r), WASI_ELOOP);
	assert_int_equal(resolve(f, "missing/x", false, &r), WASI_ENOENT);
	assert_int_equal(resolve(f, "a/file/x", false, &r), WASI_ENOTDIR);
	/* A missing last component is fine: it may be created. */
	expect_res(f, "a/new", true, "a", "new");
}

static void
test_mem_bounds(void **state)
{
	struct fx *f = *state;

	assert_true(wasi_mem_ok(f->ctx, 0, MEM_SIZE));
	assert_true(wasi_mem_ok(f->ctx, MEM_SIZE, 0));
	assert_true(wasi_mem_ok(f->ctx, MEM_SIZE - 1, 1));
	assert_false(wasi_mem_ok(f->ctx, MEM_SIZE - 1, 2));
	assert_false(wasi_mem_ok(f->ctx, MEM_SIZE + 1, 0));
	assert_false(wasi_mem_ok(f->ctx, UINT32_MAX, 1));
	assert_false(wasi_mem_ok(f->ctx, 0, (uint64_t)UINT32_MAX + 1));
	assert_false(wasi_mem_ok(NULL, 0, 0));
	/* The memory may grow: the current size counts. */
	f->m.size = 100;
	assert_false(wasi_mem_ok(f->ctx, 100, 1));
	assert_int_equal(WASI_FN(fd_fdstat_get)(f->ctx, 3, 90), WASI_EFAULT);
	f->m.size = MEM_SIZE;
	assert_int_equal(WASI_FN(fd_fdstat_get)(f->ctx, 3, 90), 0);
	/* No memory at all. */
	wasi_ctx_set_memory(f->ctx, NULL);
	assert_int_equal(WASI_FN(args_sizes_get)(f->ctx, 0, 4), WASI_EFAULT);
	wasi_ctx_set_memory(f->ctx, &f->m);
}

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
test_args_layout(void **state)
{
	struct fx *f = *state;
	uint8_t *m = f->mem;

	assert_int_equal(WASI_FN(args_sizes_get)(f->ctx, 0, 4), 0);
	assert_int_equal(le32(m), 3);
	assert_int_equal(le32(m + 4), 5 + 3 + 1);
	assert_int_equal(WASI_FN(args_get)(f->ctx, 100, 200), 0);
	assert_int_equal(le32(m + 100), 200);
	assert_int_equal(le32(m + 104), 205);
	assert_int_equal(le32(m + 108), 208);
	assert_memory_equal(m + 200, "prog\0a1\0\0", 9);
	assert_int_equal(WASI_FN(environ_sizes_get)(f->ctx, 0, 4), 0);
	assert_int_equal(le32(m), 2);
	assert_int_equal(le32(m + 4), 4 + 3);
	assert_int_equal(WASI_FN(environ_get)(f->ctx, 300, 400), 0);
	assert_int_equal(le32(m + 300), 400);
	assert_int_equal(le32(m + 304), 404);
	assert_memory_equal(m + 400, "K=V\0X=\0", 7);
	/* The string area must fit too. */
	assert_int_equal(WASI_FN(args_get)(f->ctx, 0, MEM_SIZE - 8),
	    WASI_EFAULT);
}

static void
test_struct_layouts(void **state)
{
	struct fx *f = *state;
	uint8_t *m = f->mem;
	struct stat st;
	uint32_t fd;

	/* prestat: tag u8 at 0, name length u32 at 4. */
	memset(m, 0xaa, 16);
	assert_int_equal(WASI_FN(fd_prestat_get)(f->ctx, 3, 0), 0);
	assert_int_equal(m[0], 0);
	assert_int_equal(le32(m + 4), 4);
	assert_int_equal(WASI_FN(fd_prestat_dir_name)(f->ctx, 3, 8, 4), 0);
	assert_memory_equal(m + 8, "/box", 4);

	/* fdstat: filetype u8 at 0, flags u16 at 2, rights at 8 and 16. */
	memset(m, 0xaa, 32);
	assert_int_equal(WASI_FN(fd_fdstat_get)(f->ctx, 3, 0), 0);
	assert_int_equal(m[0], 3); /* directory */
	assert_int_equal(m[1], 0);
	assert_int_equal(m[2] | m[3] << 8, 0);
	assert_true(le64(m + 8) & ((uint64_t)1 << 13)); /* path_open */
	assert_true(le64(m + 16) & ((uint64_t)1 << 1)); /* fd_read */

	/* path_open + filestat: filetype at 16, size at 32. */
	memcpy(m + 100, "a/file", 6);
	assert_int_equal(WASI_FN(path_open)(f->ctx, 3, 0, 100, 6, 0,
	    (uint64_t)1 << 6, 0, 0, 200), 0);
	fd = le32(m + 200);
	assert_int_equal(fd, 4);
	memcpy(m + 300, "hello", 5);
	put32(m + 310, 300);
	put32(m + 314, 5);
	assert_int_equal(WASI_FN(fd_write)(f->ctx, fd, 310, 1, 320), 0);
	assert_int_equal(le32(m + 320), 5);
	memset(m + 400, 0xaa, 64);
	assert_int_equal(WASI_FN(fd_filestat_get)(f->ctx, fd, 400), 0);
	assert_int_equal(fstatat(f->boxfd, "a/file", &st, 0), 0);
	assert_int_equal(le64(m + 400), (uint64_t)st.st_dev);
	assert_int_equal(le64(m + 408), (uint64_t)st.st_ino);
	assert_int_equal(m[416], 4); /* regular file */
	assert_int_equal(le64(m + 424), 1);
	assert_int_equal(le64(m + 432), 5);
	assert_int_equal(le64(m + 448) / 1000000000u,
	    (uint64_t)st.st_mtim.tv_sec);
	/* Read-only rights: reading is refused on a write-only fd. */
	put32(m + 310, 500);
	assert_int_equal(WASI_FN(fd_read)(f->ctx, fd, 310, 1, 320),
	    WASI_EBADF);
	assert_int_equal(WASI_FN(fd_close)(f->ctx, fd), 0);
	assert_int_equal(WASI_FN(fd_close)(f->ctx, fd), WASI_EBADF);

	/* dirent: d_next u64, d_ino u64, d_namlen u32, d_type u8. */
	memcpy(m + 100, "a/b", 3);
	assert_int_equal(WASI_FN(path_open)(f->ctx, 3, 0, 100, 3, 2, 0, 0, 0,
	    200), 0);
	fd = le32(m + 200);
	memset(m + 1000, 0xaa, 200);
	assert_int_equal(WASI_FN(fd_readdir)(f->ctx, fd, 1000, 200, 0, 900),
	    0);
	{
		uint32_t used = le32(m + 900), off = 0;
		int n = 0, seen_up2 = 0;

		while (off + 24 <= used) {
			uint32_t nl = le32(m + 1000 + off + 16);

			n++;
			assert_int_equal(le64(m + 1000 + off), (uint64_t)n);
			assert_int_equal(m[1000 + off + 21], 0);
			if (nl == 3 && memcmp(m + 1000 + off + 24, "up2", 3) == 0) {
				seen_up2 = 1;
				assert_int_equal(m[1000 + off + 20], 7);
			}
			off += 24 + nl;
		}
		assert_int_equal(off, used);
		assert_int_equal(n, 3);
		assert_true(seen_up2);
	}
	assert_int_equal(WASI_FN(fd_close)(f->ctx, fd), 0);

	/* event: userdata at 0, error u16 at 8, type u8 at 10. */
	memset(m, 0, 48);
	m[0] = 0x5a;
	m[7] = 0xa5;
	m[8] = 0; /* clock */
	put32(m + 16, 1); /* monotonic */
	memset(m + 100, 0xaa, 32);
	assert_int_equal(WASI_FN(poll_oneoff)(f->ctx, 0, 100, 1, 200), 0);
	assert_int_equal(le32(m + 200), 1);
	assert_int_equal(m[100], 0x5a);
	assert_int_equal(m[107], 0xa5);
	assert_int_equal(m[108] | m[109] << 8, 0);
	assert_int_equal(m[110], 0);
}

static void
test_ctx_errors(void **state)
{
	struct fx *f = *state;
	const char *bad_env[] = { "NOEQUALS", NULL };
	struct wasi_preopen pre = { "/nonexistent/wasi/dir", "/x" };
	struct wasi_config cfg;
	struct wasi_ctx *ctx = (struct wasi_ctx *)f;
	struct core_errbuf eb;

	memset(&cfg, 0, sizeof(cfg));
	cfg.stdin_fd = cfg.stdout_fd = cfg.stderr_fd = -1;
	cfg.env = bad_env;
	core_errbuf_clear(&eb);
	assert_int_equal(wasi_ctx_new(&cfg, &ctx, &eb), CORE_ERR_INVALID);
	assert_null(ctx);
	assert_non_null(strstr(core_errbuf_msg(&eb), "'='"));
	cfg.env = NULL;
	cfg.preopens = &pre;
	cfg.npreopens = 1;
	core_errbuf_clear(&eb);
	assert_int_equal(wasi_ctx_new(&cfg, &ctx, &eb), CORE_ERR_NOT_FOUND);
	assert_non_null(strstr(core_errbuf_msg(&eb), "/nonexistent/wasi/dir"));
	assert_int_equal(wasi_ctx_new(NULL, &ctx, NULL), CORE_ERR_INVALID);
	cfg.npreopens = 0;
	cfg.stdout_fd = 987; /* not open */
	assert_int_equal(wasi_ctx_new(&cfg, &ctx, NULL), CORE_ERR_IO);
	wasi_ctx_free(NULL);
}

static void
test_import_table(void **state)
{
	static const char *const names[] = { "args_get", "args_sizes_get",
		"environ_get", "environ_sizes_get", "clock_res_get",
		"clock_time_get", "fd_advise", "fd_allocate", "fd_close",
		"fd_datasync", "fd_fdstat_get", "fd_fdstat_set_flags",
		"fd_fdstat_set_rights", "fd_filestat_get",
		"fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
		"fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite", "fd_read",
		"fd_readdir", "fd_renumber", "fd_seek", "fd_sync", "fd_tell",
		"fd_write", "path_create_directory", "path_filestat_get",
		"path_filestat_set_times", "path_link", "path_open",
		"path_readlink", "path_remove_directory", "path_rename",
		"path_symlink", "path_unlink_file", "poll_oneoff", "proc_exit",
		"proc_raise", "sched_yield", "random_get", "sock_accept",
		"sock_recv", "sock_send", "sock_shutdown" };
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < CORE_ARRAY_LEN(names); i++)
		assert_true(wasi_import_known(names[i]));
	while (wasi_imports[n].name != NULL) {
		assert_non_null(wasi_imports[n].fn);
		n++;
	}
	assert_int_equal(n, CORE_ARRAY_LEN(names));
	assert_true(wasi_imports[0].fn == (void *)WASI_FN(args_get));
	assert_false(wasi_import_known("fd_foo"));
	assert_false(wasi_import_known("sock_open"));
	assert_false(wasi_import_known(""));
	assert_false(wasi_import_known(NULL));
}

static void
test_errno_map(void **state)
{
	(void)state;
	assert_int_equal(wasi_errno_from_host(0), WASI_ESUCCESS);
	assert_int_equal(wasi_errno_from_host(ENOENT), WASI_ENOENT);
	assert_int_equal(wasi_errno_from_host(EXDEV), WASI_EPERM);
	assert_int_equal(wasi_errno_from_host(ENOTEMPTY), WASI_ENOTEMPTY);
	assert_int_equal(wasi_errno_from_host(EOPNOTSUPP), WASI_ENOTSUP);
	assert_int_equal(wasi_errno_from_host(12345), WASI_EIO);
}

/* path_open's opener gives the same answers with and without openat2. */
static void
test_path_openat_modes(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *path;
		bool follow;
		int flags;
		uint16_t want;
	} cases[] = {
		{ "a/file", false, O_RDONLY, WASI_ESUCCESS },
		{ "toab/up2/a/file", false, O_RDONLY, WASI_ESUCCESS },
		{ "toab", true, O_RDONLY | O_DIRECTORY, WASI_ESUCCESS },
		{ "toab/", false, O_RDONLY | O_DIRECTORY, WASI_ESUCCESS },
		{ "a/b/..", false, O_RDONLY | O_DIRECTORY, WASI_ESUCCESS },
		{ "../x", false, O_RDONLY, WASI_EPERM },
		{ "a/../..", false, O_RDONLY, WASI_EPERM },
		{ "/etc/passwd", false, O_RDONLY, WASI_EPERM },
		{ "etc/passwd", false, O_RDONLY, WASI_EPERM },
		{ "etc", true, O_RDONLY, WASI_EPERM },
		{ "toab/up2/..", false, O_RDONLY, WASI_EPERM },
		{ "etc", false, O_RDONLY, WASI_ELOOP },
		{ "self", true, O_RDONLY, WASI_ELOOP },
		{ "a/file/", false, O_RDONLY, WASI_ENOTDIR },
		{ "a/file", false, O_RDONLY | O_DIRECTORY, WASI_ENOTDIR },
		{ "a/missing", false, O_RDONLY, WASI_ENOENT },
		{ "a/new", false, O_RDWR | O_CREAT | O_EXCL, WASI_ESUCCESS },
		{ "a/new", false, O_RDWR | O_CREAT | O_EXCL, WASI_EEXIST },
		{ "a", false, O_RDWR, WASI_EISDIR },
	};

	for (int mode = 0; mode < 2; mode++) {
		wasi_path_use_openat2(mode == 0);
		unlinkat(f->boxfd, "a/new", 0);
		for (size_t i = 0; i < CORE_ARRAY_LEN(cases); i++) {
			int fd = -1;
			uint16_t e = wasi_path_openat(f->boxfd, cases[i].path,
			    strlen(cases[i].path), cases[i].follow,
			    cases[i].flags | O_CLOEXEC, 0600, &fd);

			if (e != cases[i].want)
				fprintf(stderr, "mode %d path %s: %u\n", mode,
				    cases[i].path, e);
			assert_int_equal(e, cases[i].want);
			assert_true((fd >= 0) == (e == WASI_ESUCCESS));
			if (fd >= 0)
				close(fd);
		}
	}
	wasi_path_use_openat2(true);
}

static void
test_openat_beneath(void **state)
{
	struct fx *f = *state;
	int fd;

	fd = wasi_openat_beneath(f->boxfd, "a", O_RDONLY | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	fd = wasi_openat_beneath(f->boxfd, "missing", O_RDONLY, 0);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resolve_ok, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_resolve_escape, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_resolve_bad, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mem_bounds, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_args_layout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_struct_layouts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ctx_errors, setup,
		    teardown),
		cmocka_unit_test(test_import_table),
		cmocka_unit_test(test_errno_map),
		cmocka_unit_test_setup_teardown(test_openat_beneath, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_path_openat_modes, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
