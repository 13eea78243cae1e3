/*
 * wasi_path.c -- guest path resolution that never leaves its directory.
 *
 * A guest path is walked one component at a time from the directory fd it
 * is relative to. Each intermediate directory is opened with
 * O_PATH | O_DIRECTORY | O_NOFOLLOW; a symlink met on the way is read and
 * its target spliced into the remaining path by hand, so the kernel never
 * follows a link for us. ".." pops the walk's own stack of directories and
 * fails with ERRNO_PERM when it would go above the start. Absolute paths and
 * symlinks to absolute paths fail with ERRNO_PERM as well (as wasmtime
 * does). The final open goes through openat2(RESOLVE_BENEATH) where the
 * kernel has it, as a second fence.
 */
#include "wasm/wasi.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WASI_MAX_SYMLINKS 40
#define WASI_MAX_DEPTH 256

static bool utf8_valid(const unsigned char *s, size_t n);
static uint16_t splice_link(char **work, size_t *wlen, size_t *pos,
    const char *target, size_t tlen, const char *rest, size_t rlen);

uint16_t
wasi_errno_from_host(int e)
{
	switch (e) {
	case 0: return WASI_ESUCCESS;
	case E2BIG: return WASI_E2BIG;
	case EACCES: return WASI_EACCES;
	case EADDRINUSE: return WASI_EADDRINUSE;
	case EADDRNOTAVAIL: return WASI_EADDRNOTAVAIL;
	case EAFNOSUPPORT: return WASI_EAFNOSUPPORT;
	case EAGAIN: return WASI_EAGAIN;
	case EALREADY: return WASI_EALREADY;
	case EBADF: return WASI_EBADF;
	case EBADMSG: return WASI_EBADMSG;
	case EBUSY: return WASI_EBUSY;
	case ECANCELED: return WASI_ECANCELED;
	case ECHILD: return WASI_ECHILD;
	case ECONNABORTED: return WASI_ECONNABORTED;
	case ECONNREFUSED: return WASI_ECONNREFUSED;
	case ECONNRESET: return WASI_ECONNRESET;
	case EDEADLK: return WASI_EDEADLK;
	case EDESTADDRREQ: return WASI_EDESTADDRREQ;
	case EDOM: return WASI_EDOM;
	case EDQUOT: return WASI_EDQUOT;
	case EEXIST: return WASI_EEXIST;
	case EFAULT: return WASI_EFAULT;
	case EFBIG: return WASI_EFBIG;
	case EHOSTUNREACH: return WASI_EHOSTUNREACH;
	case EIDRM: return WASI_EIDRM;
	case EILSEQ: return WASI_EILSEQ;
	case EINPROGRESS: return WASI_EINPROGRESS;
	case EINTR: return WASI_EINTR;
	case EINVAL: return WASI_EINVAL;
	case EIO: return WASI_EIO;
	case EISCONN: return WASI_EISCONN;
	case EISDIR: return WASI_EISDIR;
	case ELOOP: return WASI_ELOOP;
	case EMFILE: return WASI_EMFILE;
	case EMLINK: return WASI_EMLINK;
	case EMSGSIZE: return WASI_EMSGSIZE;
	case EMULTIHOP: return WASI_EMULTIHOP;
	case ENAMETOOLONG: return WASI_ENAMETOOLONG;
	case ENETDOWN: return WASI_ENETDOWN;
	case ENETRESET: return WASI_ENETRESET;
	case ENETUNREACH: return WASI_ENETUNREACH;
	case ENFILE: return WASI_ENFILE;
	case ENOBUFS: return WASI_ENOBUFS;
	case ENODEV: return WASI_ENODEV;
	case ENOENT: return WASI_ENOENT;
	case ENOEXEC: return WASI_ENOEXEC;
	case ENOLCK: return WASI_ENOLCK;
	case ENOLINK: return WASI_ENOLINK;
	case ENOMEM: return WASI_ENOMEM;
	case ENOMSG: return WASI_ENOMSG;
	case ENOPROTOOPT: return WASI_ENOPROTOOPT;
	case ENOSPC: return WASI_ENOSPC;
	case ENOSYS: return WASI_ENOSYS;
	case ENOTCONN: return WASI_ENOTCONN;
	case ENOTDIR: return WASI_ENOTDIR;
	case ENOTEMPTY: return WASI_ENOTEMPTY;
	case ENOTRECOVERABLE: return WASI_ENOTRECOVERABLE;
	case ENOTSOCK: return WASI_ENOTSOCK;
	case EOPNOTSUPP: return WASI_ENOTSUP;
	case ENOTTY: return WASI_ENOTTY;
	case ENXIO: return WASI_ENXIO;
	case EOVERFLOW: return WASI_EOVERFLOW;
	case EOWNERDEAD: return WASI_EOWNERDEAD;
	case EPERM: return WASI_EPERM;
	case EPIPE: return WASI_EPIPE;
	case EPROTO: return WASI_EPROTO;
	case EPROTONOSUPPORT: return WASI_EPROTONOSUPPORT;
	case EPROTOTYPE: return WASI_EPROTOTYPE;
	case ERANGE: return WASI_ERANGE;
	case EROFS: return WASI_EROFS;
	case ESPIPE: return WASI_ESPIPE;
	case ESRCH: return WASI_ESRCH;
	case ESTALE: return WASI_ESTALE;
	case ETIMEDOUT: return WASI_ETIMEDOUT;
	case ETXTBSY: return WASI_ETXTBSY;
	case EXDEV: return WASI_EPERM; /* RESOLVE_BENEATH refused an escape */
	default: return WASI_EIO;
	}
}

/* 0 = unknown, 1 = openat2 works, -1 = kernel lacks it. */
static atomic_int openat2_state;

int
wasi_openat_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how;
	long r;

	if (atomic_load(&openat2_state) >= 0) {
		memset(&how, 0, sizeof(how));
		how.flags = (uint64_t)(unsigned)flags;
		/* O_TMPFILE includes O_DIRECTORY: test all its bits. */
		if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
			how.mode = mode;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		r = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
		if (r >= 0) {
			atomic_store(&openat2_state, 1);
			return (int)r;
		}
		if (errno != ENOSYS)
			return -1;
		atomic_store(&openat2_state, -1);
	}
	return openat(dirfd, name, flags, mode);
}

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
static bool
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t need;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i - 1 < need)
			return false;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

/*
 * Replaces the work buffer with target + "/" + rest (just target when rest
 * is empty) and restarts the walk at its beginning.
 */
static uint16_t
splice_link(char **work, size_t *wlen, size_t *pos, const char *target,
    size_t tlen, const char *rest, size_t rlen)
{
	size_t sep = rlen > 0 ? 1 : 0;
	size_t nlen = tlen + sep + rlen;
	char *n;

	if (tlen == 0)
		return WASI_ENOENT;
	if (target[0] == '/')
		return WASI_EPERM;
	if (nlen > WASI_PATH_MAX * 2)
		return WASI_ENAMETOOLONG;
	n = malloc(nlen + 1);
	if (n == NULL)
		return WASI_ENOMEM;
	memcpy(n, target, tlen);
	if (sep)
		n[tlen] = '/';
	memcpy(n + tlen + sep, rest, rlen);
	n[nlen] = '\0';
	free(*work);
	*work = n;
	*wlen = nlen;
	*pos = 0;
	return WASI_ESUCCESS;
}

uint16_t
wasi_path_check(const char *path, size_t len)
{
	if (len == 0)
		return WASI_ENOENT;
	if (len > WASI_PATH_MAX)
		return WASI_ENAMETOOLONG;
	if (memchr(path, '\0', len) != NULL)
		return WASI_EINVAL;
	if (!utf8_valid((const unsigned char *)path, len))
		return WASI_EILSEQ;
	if (path[0] == '/')
		return WASI_EPERM;
	return WASI_ESUCCESS;
}

void
wasi_path_use_openat2(bool on)
{
	atomic_store(&openat2_state, on ? 0 : -1);
}

uint16_t
wasi_path_openat(int rootfd, const char *path, size_t len, bool follow,
    int flags, mode_t mode, int *out)
{
	struct wasi_path_res r;
	char buf[WASI_PATH_MAX + 1];
	struct open_how how;
	uint16_t err;
	long fd;

	*out = -1;
	if ((err = wasi_path_check(path, len)) != WASI_ESUCCESS)
		return err;
	if (atomic_load(&openat2_state) >= 0) {
		memcpy(buf, path, len);
		buf[len] = '\0';
		memset(&how, 0, sizeof(how));
		how.flags = (uint64_t)(unsigned)(flags |
		    (follow ? 0 : O_NOFOLLOW));
		if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
			how.mode = mode;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		fd = syscall(SYS_openat2, rootfd, buf, &how, sizeof(how));
		if (fd >= 0) {
			atomic_store(&openat2_state, 1);
			*out = (int)fd;
			return WASI_ESUCCESS;
		}
		if (errno == ENOSYS)
			atomic_store(&openat2_state, -1);
		else if (errno != EAGAIN)
			return wasi_errno_from_host(errno);
		/* EAGAIN: a concurrent rename; walk by hand instead. */
	}
	err = wasi_path_resolve(rootfd, path, len, follow, &r);
	if (err != WASI_ESUCCESS)
		return err;
	fd = wasi_openat_beneath(r.dirfd, r.base, flags | O_NOFOLLOW, mode);
	if (fd < 0)
		err = wasi_errno_from_host(errno);
	else
		*out = (int)fd;
	wasi_path_res_cleanup(&r);
	return err;
}

void
wasi_path_res_cleanup(struct wasi_path_res *res)
{
	if (res == NULL)
		return;
	if (res->dirfd_owned && res->dirfd >= 0)
		close(res->dirfd);
	res->dirfd = -1;
	res->dirfd_owned = false;
}

/* follow_link(): the name was not a symlink. */
#define WALK_NOT_LINK 0xffff

/* The path still to walk; symlink targets are spliced in front. */
struct walk {
	char *work;   /* owned, NUL-terminated */
	size_t wlen;
	size_t pos;
	int nlinks;
};

/*
 * If `name` in `cur` is a symlink, replaces the walk with its target
 * followed by (rest, rlen) and returns WASI_ESUCCESS; returns
 * WALK_NOT_LINK when it is not one, or an errno (ELOOP past 40 links,
 * PERM for an absolute target).
 */
static uint16_t
follow_link(int cur, const char *name, struct walk *w, const char *rest,
    size_t rlen)
{
	char target[WASI_PATH_MAX + 1];
	ssize_t tl = readlinkat(cur, name, target, sizeof(target) - 1);

	if (tl < 0)
		return WALK_NOT_LINK;
	if (++w->nlinks > WASI_MAX_SYMLINKS)
		return WASI_ELOOP;
	target[tl] = '\0';
	return splice_link(&w->work, &w->wlen, &w->pos, target, (size_t)tl,
	    rest, rlen);
}

uint16_t
wasi_path_resolve(int rootfd, const char *path, size_t len, bool follow,
    struct wasi_path_res *res)
{
	int stack[WASI_MAX_DEPTH];
	int depth = 0;
	struct walk w;
	char name[WASI_NAME_MAX + 1];
	uint16_t err = WASI_ESUCCESS;

	memset(res, 0, sizeof(*res));
	res->dirfd = -1;
	if ((err = wasi_path_check(path, len)) != WASI_ESUCCESS)
		return err;
	memset(&w, 0, sizeof(w));
	w.work = malloc(len + 1);
	if (w.work == NULL)
		return WASI_ENOMEM;
	memcpy(w.work, path, len);
	w.work[len] = '\0';
	w.wlen = len;

	for (;;) {
		int cur = depth > 0 ? stack[depth - 1] : rootfd;
		size_t start, end, next, clen;
		bool last, trailing;
		int fd;

		while (w.pos < w.wlen && w.work[w.pos] == '/')
			w.pos++;
		if (w.pos == w.wlen) {
			/* Only "." components (or slashes) were left. */
			memcpy(res->base, ".", 2);
			res->trailing_slash = true;
			break;
		}
		start = w.pos;
		end = start;
		while (end < w.wlen && w.work[end] != '/')
			end++;
		next = end;
		while (next < w.wlen && w.work[next] == '/')
			next++;
		clen = end - start;
		last = next == w.wlen;
		trailing = last && end < w.wlen;
		if (clen > WASI_NAME_MAX) {
			err = WASI_ENAMETOOLONG;
			goto out;
		}
		memcpy(name, w.work + start, clen);
		name[clen] = '\0';

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
			if (name[1] == '.') {
				if (depth == 0) {
					err = WASI_EPERM;
					goto out;
				}
				close(stack[--depth]);
			}
			if (last) {
				memcpy(res->base, ".", 2);
				res->trailing_slash = trailing;
				break;
			}
			w.pos = next;
			continue;
		}
		if (last) {
			/* A trailing slash asks for a directory: follow. */
			if (follow || trailing) {
				err = follow_link(cur, name, &w,
				    trailing ? "/" : "", trailing ? 1 : 0);
				if (err == WASI_ESUCCESS)
					continue;
				if (err != WALK_NOT_LINK)
					goto out;
				err = WASI_ESUCCESS;
			}
			memcpy(res->base, name, clen);
			if (trailing)
				res->base[clen++] = '/';
			res->base[clen] = '\0';
			res->trailing_slash = trailing;
			break;
		}
		fd = openat(cur, name,
		    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;

			/* O_NOFOLLOW met a symlink: expand it by hand. */
			if (e == ENOTDIR || e == ELOOP) {
				err = follow_link(cur, name, &w, w.work + next,
				    w.wlen - next);
				if (err == WASI_ESUCCESS)
					continue;
				if (err != WALK_NOT_LINK)
					goto out;
			}
			err = wasi_errno_from_host(e);
			goto out;
		}
		if (depth == WASI_MAX_DEPTH) {
			close(fd);
			err = WASI_ENAMETOOLONG;
			goto out;
		}
		stack[depth++] = fd;
		w.pos = next;
	}

	/* Keep the innermost directory, close the ones above it. */
	if (depth > 0) {
		res->dirfd = stack[depth - 1];
		res->dirfd_owned = true;
		depth--;
	} else {
		res->dirfd = rootfd;
		res->dirfd_owned = false;
	}
out:
	while (depth > 0)
		close(stack[--depth]);
	free(w.work);
	if (err != WASI_ESUCCESS)
		res->dirfd = -1;
	return err;
}
