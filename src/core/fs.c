/*
 * fs.c -- safe file I/O: bounded reads, atomic replacement, private
 * directories on memory-backed storage, and a recursive remove that never
 * follows symlinks.
 */
#include "core/core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define FS_READ_MAX_DEFAULT (64u * 1024 * 1024)
#define FS_TMPFS_MAGIC 0x01021994
#define FS_RAMFS_MAGIC 0x858458f6
#define FS_RMTREE_DEPTH_MAX 256

enum core_err
core_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return CORE_ERR_IO;
		}
		b += w;
		n -= (size_t)w;
	}
	return CORE_OK;
}

enum core_err
core_read_exact(int fd, void *p, size_t n)
{
	uint8_t *b = p;

	while (n > 0) {
		ssize_t r = read(fd, b, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return CORE_ERR_IO;
		}
		if (r == 0) {
			errno = EPIPE;
			return CORE_ERR_IO;
		}
		b += r;
		n -= (size_t)r;
	}
	return CORE_OK;
}

enum core_err
core_fs_read_fd(int fd, size_t max_len, uint8_t **out, size_t *out_len,
    struct core_errbuf *eb)
{
	struct core_buf b;
	uint8_t chunk[65536];
	enum core_err err = CORE_OK;

	*out = NULL;
	*out_len = 0;
	if (max_len == 0)
		max_len = FS_READ_MAX_DEFAULT;
	core_buf_init(&b, max_len);
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = core_errf_errno(eb, CORE_ERR_IO, "read");
			goto out;
		}
		if (r == 0)
			break;
		if ((err = core_buf_append(&b, chunk, (size_t)r)) != CORE_OK) {
			if (err == CORE_ERR_TOO_BIG)
				core_errf(eb, err, "input exceeds %zu bytes",
				    max_len);
			goto out;
		}
	}
	*out = core_buf_steal(&b, out_len);
	if (*out == NULL)
		err = CORE_ERR_NOMEM;
out:
	core_buf_cleanup(&b);
	return err;
}

enum core_err
core_fs_read(const char *path, size_t max_len, uint8_t **out,
    size_t *out_len, struct core_errbuf *eb)
{
	struct stat st;
	enum core_err err;
	int fd;

	*out = NULL;
	*out_len = 0;
	if (max_len == 0)
		max_len = FS_READ_MAX_DEFAULT;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return core_errf_errno(eb,
		    errno == ENOENT ? CORE_ERR_NOT_FOUND : CORE_ERR_IO,
		    "%s", path);
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return core_errf(eb, CORE_ERR_INVALID, "%s: is a directory",
		    path);
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size > max_len) {
		close(fd);
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "%s: %lld bytes exceeds the limit of %zu", path,
		    (long long)st.st_size, max_len);
	}
	err = core_fs_read_fd(fd, max_len, out, out_len, eb);
	close(fd);
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "%s", path);
	return err;
}

enum core_err
core_fs_write_atomic(const char *path, const void *p, size_t n, mode_t mode,
    struct core_errbuf *eb)
{
	char *dircopy = NULL, *tmp = NULL;
	const char *dir;
	enum core_err err = CORE_OK;
	int fd = -1, dfd = -1;
	size_t tlen;

	if ((dircopy = strdup(path)) == NULL)
		return CORE_ERR_NOMEM;
	dir = dirname(dircopy);
	tlen = strlen(path) + 16;
	if ((tmp = malloc(tlen)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	snprintf(tmp, tlen, "%s.tmpXXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "%s: create temp file",
		    path);
		goto out_notmp;
	}
	if (fchmod(fd, mode) != 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "%s: chmod", tmp);
		goto out;
	}
	if (core_write_all(fd, p, n) != CORE_OK) {
		err = core_errf_errno(eb, CORE_ERR_IO, "%s: write", tmp);
		goto out;
	}
	if (fsync(fd) != 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "%s: fsync", tmp);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		err = core_errf_errno(eb, CORE_ERR_IO, "%s: close", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "%s: rename", path);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* Make the rename itself durable. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL && err != CORE_OK)
		(void)unlink(tmp);
out_notmp:
	free(tmp);
	free(dircopy);
	return err;
}

enum core_err
core_fs_mkdirs(const char *path, mode_t mode, struct core_errbuf *eb)
{
	char *p, *s;
	struct stat st;
	enum core_err err = CORE_OK;

	if (path == NULL || *path == '\0')
		return core_errf(eb, CORE_ERR_INVALID, "mkdir: empty path");
	if ((p = strdup(path)) == NULL)
		return CORE_ERR_NOMEM;
	for (s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		{
			char saved = *s;

			*s = '\0';
			if (mkdir(p, mode) != 0 && errno != EEXIST) {
				err = core_errf_errno(eb, CORE_ERR_IO,
				    "mkdir %s", p);
				goto out;
			}
			*s = saved;
		}
		if (*s == '\0')
			break;
	}
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		err = core_errf(eb, CORE_ERR_IO, "mkdir %s: not a directory",
		    path);
out:
	free(p);
	return err;
}

/* Removes everything inside the directory dfd (which it closes). */
static enum core_err
rmtree_at(int dfd, int depth, struct core_errbuf *eb)
{
	DIR *d;
	struct dirent *de;
	enum core_err err = CORE_OK;

	if (depth > FS_RMTREE_DEPTH_MAX) {
		close(dfd);
		return core_errf(eb, CORE_ERR_TOO_BIG, "rmtree: too deep");
	}
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return core_errf_errno(eb, CORE_ERR_IO, "rmtree: opendir");
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0) {
				err = core_errf_errno(eb, CORE_ERR_IO,
				    "rmtree: open %s", de->d_name);
				continue;
			}
			if (rmtree_at(sub, depth + 1, eb) != CORE_OK)
				err = CORE_ERR_IO;
			if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) != 0)
				err = core_errf_errno(eb, CORE_ERR_IO,
				    "rmtree: rmdir %s", de->d_name);
		} else if (unlinkat(dirfd(d), de->d_name, 0) != 0) {
			err = core_errf_errno(eb, CORE_ERR_IO,
			    "rmtree: unlink %s", de->d_name);
		}
	}
	closedir(d);
	return err;
}

enum core_err
core_fs_rmtree(const char *path, struct core_errbuf *eb)
{
	struct stat st;
	enum core_err err;
	int dfd;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? CORE_OK :
		    core_errf_errno(eb, CORE_ERR_IO, "rmtree %s", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) != 0)
			return core_errf_errno(eb, CORE_ERR_IO, "unlink %s",
			    path);
		return CORE_OK;
	}
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return core_errf_errno(eb, CORE_ERR_IO, "rmtree %s", path);
	err = rmtree_at(dfd, 0, eb);
	if (rmdir(path) != 0 && err == CORE_OK)
		err = core_errf_errno(eb, CORE_ERR_IO, "rmdir %s", path);
	return err;
}

bool
core_fs_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

bool
core_fs_is_memory_backed(const char *path)
{
	struct statfs sf;

	if (statfs(path, &sf) != 0)
		return false;
	return (unsigned long)sf.f_type == FS_TMPFS_MAGIC ||
	    (unsigned long)sf.f_type == FS_RAMFS_MAGIC;
}

static enum core_err
make_tmpdir_in(const char *base, const char *prefix, char **out)
{
	char *path;
	size_t n = strlen(base) + strlen(prefix) + 16;

	if ((path = malloc(n)) == NULL)
		return CORE_ERR_NOMEM;
	snprintf(path, n, "%s/%s.XXXXXX", base, prefix);
	if (mkdtemp(path) == NULL) {
		free(path);
		return CORE_ERR_IO;
	}
	/* mkdtemp creates 0700 already; be explicit about the intent. */
	(void)chmod(path, 0700);
	*out = path;
	return CORE_OK;
}

enum core_err
core_fs_private_tmpdir(const char *prefix, char **out, struct core_errbuf *eb)
{
	const char *cands[3];
	size_t i, n = 0;
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	*out = NULL;
	if (xdg != NULL && *xdg == '/')
		cands[n++] = xdg;
	cands[n++] = "/dev/shm";
	cands[n++] = "/run";
	for (i = 0; i < n; i++) {
		if (!core_fs_is_memory_backed(cands[i]))
			continue;
		if (make_tmpdir_in(cands[i], prefix, out) == CORE_OK) {
			if (core_fs_is_memory_backed(*out))
				return CORE_OK;
			(void)rmdir(*out);
			free(*out);
			*out = NULL;
		}
	}
	return core_errf(eb, CORE_ERR_UNSUPPORTED,
	    "no writable memory-backed filesystem (tried $XDG_RUNTIME_DIR, "
	    "/dev/shm, /run)");
}

enum core_err
core_fs_tmpdir(const char *prefix, char **out, struct core_errbuf *eb)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base != '/')
		base = "/tmp";
	if (make_tmpdir_in(base, prefix, out) != CORE_OK)
		return core_errf_errno(eb, CORE_ERR_IO, "mkdtemp in %s", base);
	return CORE_OK;
}

char *
core_path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p;

	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/') {
		b++;
		lb--;
	}
	if ((p = malloc(la + lb + 2)) == NULL)
		return NULL;
	memcpy(p, a, la);
	if (la == 0 || a[la - 1] != '/')
		p[la++] = '/';
	memcpy(p + la, b, lb);
	p[la + lb] = '\0';
	return p;
}
