/*
 * fuzz_wasi_path.c -- the WASI path resolver never leaves its directory.
 *
 * Input: one flag byte (bit 0: follow the final symlink) and a guest path.
 * The path is resolved beneath a fixed tree whose symlinks point outside it
 * (absolute, through "..", chains, loops). Whenever resolution succeeds, the
 * parent directory it returns must still be inside the tree: checked through
 * /proc/self/fd, so an escape aborts the run.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "wasm/wasi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *fz_top;     /* owned: the temp dir holding root/ and outside/ */
static char fz_real[4096]; /* realpath of root/ */
static int fz_rootfd = -1;

static void
fz_cleanup(void)
{
	if (fz_rootfd >= 0)
		close(fz_rootfd);
	if (fz_top != NULL)
		core_fs_rmtree(fz_top, NULL);
	free(fz_top);
}

static int
fz_setup(void)
{
	char tmpl[] = "/tmp/wasi_fuzz.XXXXXX";
	char *root, *outside;

	if (mkdtemp(tmpl) == NULL)
		return -1;
	fz_top = strdup(tmpl);
	atexit(fz_cleanup);
	root = core_path_join(tmpl, "root");
	outside = core_path_join(tmpl, "outside");
	if (root == NULL || outside == NULL || mkdir(root, 0700) != 0 ||
	    mkdir(outside, 0700) != 0 || realpath(root, fz_real) == NULL)
		return -1;
	fz_rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fz_rootfd < 0 || mkdirat(fz_rootfd, "a", 0700) != 0 ||
	    mkdirat(fz_rootfd, "a/b", 0700) != 0 ||
	    symlinkat(outside, fz_rootfd, "link_abs") != 0 ||
	    symlinkat("../outside", fz_rootfd, "link_rel") != 0 ||
	    symlinkat("../..", fz_rootfd, "a/up") != 0 ||
	    symlinkat("..", fz_rootfd, "a/b/back") != 0 ||
	    symlinkat("loop", fz_rootfd, "loop") != 0 ||
	    symlinkat("a/b", fz_rootfd, "ab") != 0)
		return -1;
	close(openat(fz_rootfd, "file", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	free(root);
	free(outside);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wasi_path_res r;
	char link[64], where[4096];
	size_t rl = strlen(fz_real);
	ssize_t n;

	if (fz_rootfd < 0 && fz_setup() != 0)
		abort();
	if (size < 1)
		return 0;
	if (wasi_path_resolve(fz_rootfd, (const char *)data + 1, size - 1,
	    data[0] & 1, &r) != WASI_ESUCCESS)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", r.dirfd);
	n = readlink(link, where, sizeof(where) - 1);
	if (n < 0)
		abort();
	where[n] = '\0';
	/* The parent must be root itself or below it. */
	if (strncmp(where, fz_real, rl) != 0 ||
	    (where[rl] != '\0' && where[rl] != '/'))
		abort();
	/* The final name never climbs or contains a separator before a
	 * trailing slash. */
	if (strcmp(r.base, "..") == 0 || strncmp(r.base, "../", 3) == 0)
		abort();
	if (strchr(r.base, '/') != NULL && strchr(r.base, '/')[1] != '\0')
		abort();
	wasi_path_res_cleanup(&r);
	return 0;
}
