#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

static char *tmp;

static int
setup(void **state)
{
	(void)state;
	return core_fs_tmpdir("core-fs-test", &tmp, NULL) == CORE_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	core_fs_rmtree(tmp, NULL);
	free(tmp);
	return 0;
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_atomic_write_and_read(void **state)
{
	char *p = core_path_join(tmp, "a.txt");
	struct stat st;
	uint8_t *d;
	size_t n;

	(void)state;
	assert_int_equal(core_fs_write_atomic(p, "one", 3, 0600, NULL), CORE_OK);
	assert_int_equal(core_fs_write_atomic(p, "second", 6, 0600, NULL), CORE_OK);
	assert_int_equal(core_fs_read(p, 0, &d, &n, NULL), CORE_OK);
	assert_int_equal(n, 6);
	assert_string_equal((char *)d, "second");
	free(d);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(count_entries(tmp), 1); /* no temp file left */
	core_fs_rmtree(p, NULL);
	free(p);
}

static void
test_atomic_write_failure_leaves_nothing(void **state)
{
	char *p = core_path_join(tmp, "missing-dir/x");
	struct core_errbuf eb;

	(void)state;
	core_errbuf_clear(&eb);
	assert_int_equal(core_fs_write_atomic(p, "x", 1, 0600, &eb), CORE_ERR_IO);
	assert_non_null(strstr(eb.msg, "missing-dir"));
	assert_int_equal(count_entries(tmp), 0);
	free(p);
}

static void
test_read_bounds(void **state)
{
	char *p = core_path_join(tmp, "big");
	struct core_errbuf eb;
	uint8_t *d;
	size_t n;

	(void)state;
	assert_int_equal(core_fs_write_atomic(p, "0123456789", 10, 0644, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(core_fs_read(p, 5, &d, &n, &eb), CORE_ERR_TOO_BIG);
	assert_null(d);
	assert_non_null(strstr(eb.msg, "limit"));
	core_errbuf_clear(&eb);
	assert_int_equal(core_fs_read("/nonexistent/zz", 0, &d, &n, &eb), CORE_ERR_NOT_FOUND);
	assert_non_null(strstr(eb.msg, "/nonexistent/zz"));
	assert_int_equal(core_fs_read(tmp, 0, &d, &n, NULL), CORE_ERR_INVALID);
	core_fs_rmtree(p, NULL);
	free(p);
}

static void
test_mkdirs_rmtree_no_follow(void **state)
{
	char *deep = core_path_join(tmp, "a/b/c");
	char *outside, *victim, *link, *top;

	(void)state;
	assert_int_equal(core_fs_mkdirs(deep, 0700, NULL), CORE_OK);
	assert_int_equal(core_fs_mkdirs(deep, 0700, NULL), CORE_OK);
	/* A symlink inside the tree pointing outside must not be followed. */
	assert_int_equal(core_fs_tmpdir("core-fs-outside", &outside, NULL), CORE_OK);
	victim = core_path_join(outside, "keep");
	assert_int_equal(core_fs_write_atomic(victim, "k", 1, 0600, NULL), CORE_OK);
	link = core_path_join(deep, "escape");
	assert_int_equal(symlink(outside, link), 0);
	top = core_path_join(tmp, "a");
	assert_int_equal(core_fs_rmtree(top, NULL), CORE_OK);
	assert_false(core_fs_exists(top));
	assert_true(core_fs_exists(victim));
	assert_int_equal(core_fs_rmtree(top, NULL), CORE_OK); /* absent is fine */
	core_fs_rmtree(outside, NULL);
	free(outside);
	free(victim);
	free(link);
	free(top);
	free(deep);
}

static void
test_private_tmpdir(void **state)
{
	char *d = NULL;
	struct stat st;
	enum core_err err;

	(void)state;
	err = core_fs_private_tmpdir("core-fs-priv", &d, NULL);
	if (!core_fs_is_memory_backed("/dev/shm") && !core_fs_is_memory_backed("/run")) {
		assert_int_equal(err, CORE_ERR_UNSUPPORTED);
		return;
	}
	assert_int_equal(err, CORE_OK);
	assert_true(core_fs_is_memory_backed(d));
	assert_int_equal(stat(d, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	core_fs_rmtree(d, NULL);
	free(d);
}

static void
test_path_join(void **state)
{
	char *p;

	(void)state;
	p = core_path_join("/a/", "/b");
	assert_string_equal(p, "/a/b");
	free(p);
	p = core_path_join("/", "x");
	assert_string_equal(p, "/x");
	free(p);
	p = core_path_join("rel", "x/y");
	assert_string_equal(p, "rel/x/y");
	free(p);
}

static void
test_read_fd_bounded(void **state)
{
	int fds[2];
	uint8_t *d;
	size_t n;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(core_write_all(fds[1], "abcdef", 6), CORE_OK);
	close(fds[1]);
	assert_int_equal(core_fs_read_fd(fds[0], 4, &d, &n, NULL), CORE_ERR_TOO_BIG);
	close(fds[0]);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(core_write_all(fds[1], "abc", 3), CORE_OK);
	close(fds[1]);
	assert_int_equal(core_read_exact(fds[0], d = malloc(4), 4), CORE_ERR_IO);
	free(d);
	close(fds[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic_write_and_read),
		cmocka_unit_test(test_atomic_write_failure_leaves_nothing),
		cmocka_unit_test(test_read_bounds),
		cmocka_unit_test(test_mkdirs_rmtree_no_follow),
		cmocka_unit_test(test_private_tmpdir),
		cmocka_unit_test(test_path_join),
		cmocka_unit_test(test_read_fd_bounded),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
