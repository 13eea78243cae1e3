/*
 * wasi.c -- the wasi_snapshot_preview1 host: context, fd table and every
 * preview1 call with wasm2c's calling convention.
 *
 * Guest memory is reached only through wasi_mem_ok()-checked offsets, so a
 * bad pointer or length is ERRNO_FAULT, never a host fault. Paths go through
 * wasi_path_resolve() (wasi_path.c) and so stay beneath their directory fd.
 *
 * Rights follow wasmtime's observable behaviour: files report the file
 * rights (plus FD_READ / FD_WRITE as opened), directories the directory
 * rights, stdin FD_READ and stdout/stderr FD_WRITE. FD_READ and FD_WRITE are
 * always enforced (ERRNO_BADF, as POSIX); any other right is enforced once
 * the guest has dropped it with fd_fdstat_set_rights (ERRNO_NOTCAPABLE).
 */
#include "wasm/wasi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Constants from wasi_snapshot_preview1.witx                          */
/* ------------------------------------------------------------------ */

#define R(n) ((uint64_t)1 << (n))
#define RIGHT_FD_DATASYNC R(0)
#define RIGHT_FD_READ R(1)
#define RIGHT_FD_SEEK R(2)
#define RIGHT_FD_FDSTAT_SET_FLAGS R(3)
#define RIGHT_FD_SYNC R(4)
#define RIGHT_FD_TELL R(5)
#define RIGHT_FD_WRITE R(6)
#define RIGHT_FD_ADVISE R(7)
#define RIGHT_FD_ALLOCATE R(8)
#define RIGHT_PATH_CREATE_DIRECTORY R(9)
#define RIGHT_PATH_CREATE_FILE R(10)
#define RIGHT_PATH_LINK_SOURCE R(11)
#define RIGHT_PATH_LINK_TARGET R(12)
#define RIGHT_PATH_OPEN R(13)
#define RIGHT_FD_READDIR R(14)
#define RIGHT_PATH_READLINK R(15)
#define RIGHT_PATH_RENAME_SOURCE R(16)
#define RIGHT_PATH_RENAME_TARGET R(17)
#define RIGHT_PATH_FILESTAT_GET R(18)
#define RIGHT_PATH_FILESTAT_SET_SIZE R(19)
#define RIGHT_PATH_FILESTAT_SET_TIMES R(20)
#define RIGHT_FD_FILESTAT_GET R(21)
#define RIGHT_FD_FILESTAT_SET_SIZE R(22)
#define RIGHT_FD_FILESTAT_SET_TIMES R(23)
#define RIGHT_PATH_SYMLINK R(24)
#define RIGHT_PATH_REMOVE_DIRECTORY R(25)
#define RIGHT_PATH_UNLINK_FILE R(26)
#define RIGHT_POLL_FD_READWRITE R(27)
#define RIGHT_SOCK_SHUTDOWN R(28)
#define RIGHT_SOCK_ACCEPT R(29)

#define RIGHTS_DIR_BASE (RIGHT_PATH_CREATE_DIRECTORY | \
	RIGHT_PATH_CREATE_FILE | RIGHT_PATH_LINK_SOURCE | \
	RIGHT_PATH_LINK_TARGET | RIGHT_PATH_OPEN | RIGHT_FD_READDIR | \
	RIGHT_PATH_READLINK | RIGHT_PATH_RENAME_SOURCE | \
	RIGHT_PATH_RENAME_TARGET | RIGHT_PATH_SYMLINK | \
	RIGHT_PATH_REMOVE_DIRECTORY | RIGHT_PATH_UNLINK_FILE | \
	RIGHT_PATH_FILESTAT_GET | RIGHT_PATH_FILESTAT_SET_TIMES | \
	RIGHT_FD_FILESTAT_GET | RIGHT_FD_FILESTAT_SET_TIMES)
#define RIGHTS_FILE_BASE (RIGHT_FD_DATASYNC | RIGHT_FD_SEEK | \
	RIGHT_FD_FDSTAT_SET_FLAGS | RIGHT_FD_SYNC | RIGHT_FD_TELL | \
	RIGHT_FD_ADVISE | RIGHT_FD_ALLOCATE | RIGHT_FD_FILESTAT_GET | \
	RIGHT_FD_FILESTAT_SET_SIZE | RIGHT_FD_FILESTAT_SET_TIMES | \
	RIGHT_POLL_FD_READWRITE)
#define RIGHTS_RW (RIGHT_FD_READ | RIGHT_FD_WRITE)
#define RIGHTS_DIR_INHERITING (RIGHTS_DIR_BASE | RIGHTS_FILE_BASE | RIGHTS_RW)
#define RIGHTS_SOCK (RIGHTS_RW | RIGHT_POLL_FD_READWRITE | \
	RIGHT_FD_FDSTAT_SET_FLAGS | RIGHT_FD_FILESTAT_GET | \
	RIGHT_SOCK_SHUTDOWN | RIGHT_SOCK_ACCEPT)

enum {
	FILETYPE_UNKNOWN = 0, FILETYPE_BLOCK_DEVICE = 1,
	FILETYPE_CHARACTER_DEVICE = 2, FILETYPE_DIRECTORY = 3,
	FILETYPE_REGULAR_FILE = 4, FILETYPE_SOCKET_DGRAM = 5,
	FILETYPE_SOCKET_STREAM = 6, FILETYPE_SYMBOLIC_LINK = 7
};

#define FDFLAG_APPEND 0x1
#define FDFLAG_DSYNC 0x2
#define FDFLAG_NONBLOCK 0x4
#define FDFLAG_RSYNC 0x8
#define FDFLAG_SYNC 0x10
#define FDFLAG_ALL 0x1f

#define OFLAG_CREAT 0x1
#define OFLAG_DIRECTORY 0x2
#define OFLAG_EXCL 0x4
#define OFLAG_TRUNC 0x8

#define LOOKUP_SYMLINK_FOLLOW 0x1

#define FST_ATIM 0x1
#define FST_ATIM_NOW 0x2
#define FST_MTIM 0x4
#define FST_MTIM_NOW 0x8

enum { CLOCK_ID_REALTIME = 0, CLOCK_ID_MONOTONIC = 1,
	CLOCK_ID_PROCESS = 2, CLOCK_ID_THREAD = 3 };
enum { EVENT_CLOCK = 0, EVENT_FD_READ = 1, EVENT_FD_WRITE = 2 };
#define SUBCLOCK_ABSTIME 0x1
#define EVENTRW_HANGUP 0x1

#define RIFLAG_PEEK 0x1
#define RIFLAG_WAITALL 0x2
#define ROFLAG_TRUNCATED 0x1
#define SDFLAG_RD 0x1
#define SDFLAG_WR 0x2

#define SUBSCRIPTION_SIZE 48
#define EVENT_SIZE 32
#define FDSTAT_SIZE 24
#define FILESTAT_SIZE 64
#define DIRENT_SIZE 24
#define PRESTAT_SIZE 8
#define IOVEC_SIZE 8

/* Bounds on what a guest can make the host hold. */
#define WASI_MAX_FDS 4096
#define WASI_MAX_IOVS 1024
#define WASI_MAX_SUBS 4096
#define WASI_MAX_DIR_ENTRIES (1u << 20)

/* ------------------------------------------------------------------ */
/* Context                                                             */
/* ------------------------------------------------------------------ */

enum wasi_kind { KIND_FILE, KIND_DIR, KIND_STDIO, KIND_SOCKET };

struct wasi_dirent {
	uint64_t ino;
	uint8_t type;
	uint32_t namlen;
	char *name; /* owned */
};

struct wasi_fd {
	int host;                /* owned; -1 = slot free */
	enum wasi_kind kind;
	uint8_t filetype;        /* as reported to the guest */
	char *preopen;           /* owned; guest name when preopened */
	uint64_t rights_base;
	uint64_t rights_inh;
	uint64_t applicable;     /* rights that mean something for this fd */
	struct wasi_dirent *ents; /* owned: fd_readdir snapshot */
	size_t nents;
};

struct Z_wasi_snapshot_preview1_instance_t {
	wasm_rt_memory_t *mem;   /* borrowed from the module instance */
	char **args;             /* owned, nargs entries */
	size_t nargs;
	size_t args_bytes;       /* sum of strlen + 1 */
	char **env;              /* owned, nenv entries */
	size_t nenv;
	size_t env_bytes;
	struct wasi_fd *fds;     /* owned, nfds slots */
	uint32_t nfds;
	void (*exit_hook)(void *arg, int code);
	void *exit_arg;          /* borrowed */
};

static void fd_slot_clear(struct wasi_fd *f);

/* ------------------------------------------------------------------ */
/* Guest memory                                                        */
/* ------------------------------------------------------------------ */

bool
wasi_mem_ok(const struct wasi_ctx *ctx, uint32_t ptr, uint64_t len)
{
	if (ctx == NULL || ctx->mem == NULL || ctx->mem->data == NULL)
		return false;
	return (uint64_t)ptr + len <= (uint64_t)ctx->mem->size;
}

#define MEM(p) (ctx->mem->data + (p))
#define CHECK_MEM(p, n) do { \
	if (!wasi_mem_ok(ctx, (p), (n))) \
		return WASI_EFAULT; \
} while (0)

static void
put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t
get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
get_u32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Turns a guest iovec array into host iovecs, checking every buffer.
 * At most WASI_MAX_IOVS are used (a short transfer is allowed by POSIX).
 */
static uint16_t
iovs_load(struct wasi_ctx *ctx, uint32_t iovs, uint32_t n,
    struct iovec *out, int *nout)
{
	uint32_t use = n > WASI_MAX_IOVS ? WASI_MAX_IOVS : n;

	CHECK_MEM(iovs, (uint64_t)n * IOVEC_SIZE);
	for (uint32_t i = 0; i < use; i++) {
		uint32_t buf = get_u32(MEM(iovs + i * IOVEC_SIZE));
		uint32_t len = get_u32(MEM(iovs + i * IOVEC_SIZE + 4));

		CHECK_MEM(buf, len);
		out[i].iov_base = MEM(buf);
		out[i].iov_len = len;
	}
	*nout = (int)use;
	return WASI_ESUCCESS;
}

/* Copies a guest path out, checking bounds. */
static uint16_t
path_get(struct wasi_ctx *ctx, uint32_t ptr, uint32_t len, const char **out)
{
	CHECK_MEM(ptr, len);
	*out = (const char *)MEM(ptr);
	return WASI_ESUCCESS;
}

/* ------------------------------------------------------------------ */
/* The fd table                                                        */
/* ------------------------------------------------------------------ */

static uint16_t
fd_get(struct wasi_ctx *ctx, uint32_t fd, struct wasi_fd **out)
{
	if (fd >= ctx->nfds || ctx->fds[fd].host < 0)
		return WASI_EBADF;
	*out = &ctx->fds[fd];
	return WASI_ESUCCESS;
}

/*
 * Checks that f holds `need`. FD_READ and FD_WRITE are always enforced
 * (EBADF); the others only when applicable to the fd and dropped.
 */
static uint16_t
fd_need(const struct wasi_fd *f, uint64_t need)
{
	uint64_t missing = need & ~f->rights_base;

	if (missing == 0)
		return WASI_ESUCCESS;
	if (missing & RIGHTS_RW)
		return WASI_EBADF;
	if (missing & f->applicable)
		return WASI_ENOTCAPABLE;
	return WASI_ESUCCESS;
}

static void
fd_slot_clear(struct wasi_fd *f)
{
	for (size_t i = 0; i < f->nents; i++)
		free(f->ents[i].name);
	free(f->ents);
	free(f->preopen);
	memset(f, 0, sizeof(*f));
	f->host = -1;
}

/* Finds a free slot >= 3, growing the table; returns its number. */
static uint16_t
fd_alloc(struct wasi_ctx *ctx, uint32_t *out)
{
	uint32_t i;
	struct wasi_fd *n;
	uint32_t ncap;

	for (i = 3; i < ctx->nfds; i++) {
		if (ctx->fds[i].host < 0) {
			*out = i;
			return WASI_ESUCCESS;
		}
	}
	if (ctx->nfds >= WASI_MAX_FDS)
		return WASI_EMFILE;
	ncap = ctx->nfds < 8 ? 16 : ctx->nfds * 2;
	if (ncap > WASI_MAX_FDS)
		ncap = WASI_MAX_FDS;
	n = realloc(ctx->fds, ncap * sizeof(*n));
	if (n == NULL)
		return WASI_ENOMEM;
	for (i = ctx->nfds; i < ncap; i++) {
		memset(&n[i], 0, sizeof(n[i]));
		n[i].host = -1;
	}
	ctx->fds = n;
	i = ctx->nfds < 3 ? 3 : ctx->nfds;
	ctx->nfds = ncap;
	*out = i;
	return WASI_ESUCCESS;
}

static uint8_t
filetype_from_mode(mode_t m)
{
	if (S_ISREG(m))
		return FILETYPE_REGULAR_FILE;
	if (S_ISDIR(m))
		return FILETYPE_DIRECTORY;
	if (S_ISCHR(m))
		return FILETYPE_CHARACTER_DEVICE;
	if (S_ISBLK(m))
		return FILETYPE_BLOCK_DEVICE;
	if (S_ISLNK(m))
		return FILETYPE_SYMBOLIC_LINK;
	return FILETYPE_UNKNOWN;
}

static uint8_t
socket_filetype(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	    type == SOCK_DGRAM)
		return FILETYPE_SOCKET_DGRAM;
	return FILETYPE_SOCKET_STREAM;
}

/* Fills slot f for an open host fd according to what it is. */
static void
fd_describe(struct wasi_fd *f, int host, const struct stat *st,
    uint64_t base, uint64_t inh)
{
	f->host = host;
	if (S_ISDIR(st->st_mode)) {
		f->kind = KIND_DIR;
		f->filetype = FILETYPE_DIRECTORY;
		f->applicable = RIGHTS_DIR_BASE;
	} else if (S_ISSOCK(st->st_mode)) {
		f->kind = KIND_SOCKET;
		f->filetype = socket_filetype(host);
		f->applicable = RIGHTS_SOCK;
	} else {
		f->kind = KIND_FILE;
		f->filetype = filetype_from_mode(st->st_mode);
		f->applicable = RIGHTS_FILE_BASE | RIGHTS_RW;
	}
	f->rights_base = base & f->applicable;
	f->rights_inh = inh;
}

/* Installs one of the three stdio fds (dup'ed). */
static enum core_err
ctx_add_stdio(struct wasi_ctx *ctx, uint32_t slot, int hostfd,
    struct core_errbuf *eb)
{
	struct wasi_fd *f = &ctx->fds[slot];
	struct stat st;
	int d;

	if (hostfd < 0)
		return CORE_OK;
	d = fcntl(hostfd, F_DUPFD_CLOEXEC, 3);
	if (d < 0)
		return core_errf_errno(eb, CORE_ERR_IO, "wasi: dup stdio fd %d",
		    hostfd);
	if (fstat(d, &st) != 0) {
		close(d);
		return core_errf_errno(eb, CORE_ERR_IO, "wasi: fstat fd %d",
		    hostfd);
	}
	f->host = d;
	if (S_ISSOCK(st.st_mode)) {
		f->kind = KIND_SOCKET;
		f->filetype = socket_filetype(d);
	} else {
		f->kind = KIND_STDIO;
		/* As wasmtime: a terminal is a character device, anything
		 * else is reported as unknown. */
		f->filetype = isatty(d) ? FILETYPE_CHARACTER_DEVICE :
		    FILETYPE_UNKNOWN;
	}
	f->rights_base = slot == 0 ? RIGHT_FD_READ : RIGHT_FD_WRITE;
	f->rights_base |= RIGHT_POLL_FD_READWRITE;
	f->rights_inh = 0;
	f->applicable = RIGHTS_RW;
	if (f->kind == KIND_SOCKET) {
		/* A socket given as stdio is used both ways. */
		f->rights_base = RIGHTS_SOCK;
		f->applicable = RIGHTS_SOCK;
	}
	return CORE_OK;
}

static enum core_err
strv_copy(const char *const *in, bool need_eq, char ***out, size_t *n,
    size_t *bytes, struct core_errbuf *eb)
{
	size_t cnt = 0, total = 0;
	char **v;

	*out = NULL;
	*n = 0;
	*bytes = 0;
	if (in == NULL)
		return CORE_OK;
	while (in[cnt] != NULL)
		cnt++;
	if (cnt > UINT32_MAX / 8)
		return core_errf(eb, CORE_ERR_TOO_BIG, "wasi: too many strings");
	v = calloc(cnt + 1, sizeof(*v));
	if (v == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "wasi: out of memory");
	*out = v;
	for (size_t i = 0; i < cnt; i++) {
		if (need_eq && strchr(in[i], '=') == NULL)
			return core_errf(eb, CORE_ERR_INVALID,
			    "wasi: environment entry without '=' (entry %zu)",
			    i);
		v[i] = strdup(in[i]);
		if (v[i] == NULL)
			return core_errf(eb, CORE_ERR_NOMEM,
			    "wasi: out of memory");
		*n = i + 1;
		total += strlen(in[i]) + 1;
		if (total > UINT32_MAX / 2)
			return core_errf(eb, CORE_ERR_TOO_BIG,
			    "wasi: arguments/environment too large");
	}
	*bytes = total;
	return CORE_OK;
}

static void
strv_free(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

enum core_err
wasi_ctx_new(const struct wasi_config *cfg, struct wasi_ctx **out,
    struct core_errbuf *eb)
{
	struct wasi_ctx *ctx = NULL;
	enum core_err err;
	uint32_t ncap;

	*out = NULL;
	if (cfg == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "wasi: no config");
	if (cfg->npreopens > WASI_MAX_FDS - 3)
		return core_errf(eb, CORE_ERR_TOO_BIG, "wasi: too many preopens");
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "wasi: out of memory");
	ctx->exit_hook = cfg->exit_hook;
	ctx->exit_arg = cfg->exit_arg;
	err = strv_copy(cfg->args, false, &ctx->args, &ctx->nargs,
	    &ctx->args_bytes, eb);
	if (err != CORE_OK)
		goto fail;
	err = strv_copy(cfg->env, true, &ctx->env, &ctx->nenv,
	    &ctx->env_bytes, eb);
	if (err != CORE_OK)
		goto fail;

	ncap = (uint32_t)cfg->npreopens + 3;
	if (ncap < 16)
		ncap = 16;
	ctx->fds = calloc(ncap, sizeof(*ctx->fds));
	if (ctx->fds == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "wasi: out of memory");
		goto fail;
	}
	ctx->nfds = ncap;
	for (uint32_t i = 0; i < ncap; i++)
		ctx->fds[i].host = -1;
	if ((err = ctx_add_stdio(ctx, 0, cfg->stdin_fd, eb)) != CORE_OK ||
	    (err = ctx_add_stdio(ctx, 1, cfg->stdout_fd, eb)) != CORE_OK ||
	    (err = ctx_add_stdio(ctx, 2, cfg->stderr_fd, eb)) != CORE_OK)
		goto fail;

	for (size_t i = 0; i < cfg->npreopens; i++) {
		const struct wasi_preopen *p = &cfg->preopens[i];
		struct wasi_fd *f = &ctx->fds[3 + i];
		struct stat st;
		int d;

		if (p->host_path == NULL || p->guest_path == NULL ||
		    p->guest_path[0] == '\0') {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "wasi: preopen %zu: empty path", i);
			goto fail;
		}
		d = open(p->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d < 0) {
			err = core_errf_errno(eb, errno == ENOENT ?
			    CORE_ERR_NOT_FOUND : CORE_ERR_IO,
			    "wasi: preopen %s", p->host_path);
			goto fail;
		}
		if (fstat(d, &st) != 0) {
			err = core_errf_errno(eb, CORE_ERR_IO,
			    "wasi: preopen %s", p->host_path);
			close(d);
			goto fail;
		}
		fd_describe(f, d, &st, RIGHTS_DIR_BASE, RIGHTS_DIR_INHERITING);
		f->preopen = strdup(p->guest_path);
		if (f->preopen == NULL) {
			err = core_errf(eb, CORE_ERR_NOMEM, "wasi: out of memory");
			goto fail;
		}
	}
	*out = ctx;
	return CORE_OK;
fail:
	wasi_ctx_free(ctx);
	return err;
}

void
wasi_ctx_set_memory(struct wasi_ctx *ctx, wasm_rt_memory_t *mem)
{
	if (ctx != NULL)
		ctx->mem = mem;
}

void
wasi_ctx_free(struct wasi_ctx *ctx)
{
	if (ctx == NULL)
		return;
	for (uint32_t i = 0; i < ctx->nfds; i++) {
		if (ctx->fds[i].host >= 0)
			close(ctx->fds[i].host);
		fd_slot_clear(&ctx->fds[i]);
	}
	free(ctx->fds);
	strv_free(ctx->args, ctx->nargs);
	strv_free(ctx->env, ctx->nenv);
	free(ctx);
}

/* ------------------------------------------------------------------ */
/* args, environ                                                       */
/* ------------------------------------------------------------------ */

static uint32_t
strv_get(struct wasi_ctx *ctx, char **v, size_t n, size_t bytes,
    uint32_t ptrs, uint32_t buf)
{
	uint32_t off = 0;

	CHECK_MEM(ptrs, (uint64_t)n * 4);
	CHECK_MEM(buf, bytes);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(v[i]) + 1;

		put_u32(MEM(ptrs + i * 4), buf + off);
		memcpy(MEM(buf + off), v[i], l);
		off += (uint32_t)l;
	}
	return WASI_ESUCCESS;
}

static uint32_t
sizes_get(struct wasi_ctx *ctx, size_t n, size_t bytes, uint32_t pn,
    uint32_t pb)
{
	CHECK_MEM(pn, 4);
	CHECK_MEM(pb, 4);
	put_u32(MEM(pn), (uint32_t)n);
	put_u32(MEM(pb), (uint32_t)bytes);
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(args_get)(struct wasi_ctx *ctx, uint32_t argv, uint32_t buf)
{
	return strv_get(ctx, ctx->args, ctx->nargs, ctx->args_bytes, argv,
	    buf);
}

uint32_t
WASI_FN(args_sizes_get)(struct wasi_ctx *ctx, uint32_t pn, uint32_t pb)
{
	return sizes_get(ctx, ctx->nargs, ctx->args_bytes, pn, pb);
}

uint32_t
WASI_FN(environ_get)(struct wasi_ctx *ctx, uint32_t env, uint32_t buf)
{
	return strv_get(ctx, ctx->env, ctx->nenv, ctx->env_bytes, env, buf);
}

uint32_t
WASI_FN(environ_sizes_get)(struct wasi_ctx *ctx, uint32_t pn, uint32_t pb)
{
	return sizes_get(ctx, ctx->nenv, ctx->env_bytes, pn, pb);
}

/* ------------------------------------------------------------------ */
/* Clocks, random, scheduling, process                                 */
/* ------------------------------------------------------------------ */

static bool
host_clock(uint32_t id, clockid_t *out)
{
	switch (id) {
	case CLOCK_ID_REALTIME: *out = CLOCK_REALTIME; return true;
	case CLOCK_ID_MONOTONIC: *out = CLOCK_MONOTONIC; return true;
	case CLOCK_ID_PROCESS: *out = CLOCK_PROCESS_CPUTIME_ID; return true;
	case CLOCK_ID_THREAD: *out = CLOCK_THREAD_CPUTIME_ID; return true;
	default: return false;
	}
}

static uint64_t
ts_ns(const struct timespec *ts)
{
	if (ts->tv_sec < 0)
		return 0;
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

uint32_t
WASI_FN(clock_res_get)(struct wasi_ctx *ctx, uint32_t id, uint32_t out)
{
	clockid_t c;
	struct timespec ts;

	if (!host_clock(id, &c))
		return WASI_EINVAL;
	CHECK_MEM(out, 8);
	if (clock_getres(c, &ts) != 0)
		return wasi_errno_from_host(errno);
	put_u64(MEM(out), ts_ns(&ts));
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(clock_time_get)(struct wasi_ctx *ctx, uint32_t id,
    uint64_t precision, uint32_t out)
{
	clockid_t c;
	struct timespec ts;

	(void)precision;
	if (!host_clock(id, &c))
		return WASI_EINVAL;
	CHECK_MEM(out, 8);
	if (clock_gettime(c, &ts) != 0)
		return wasi_errno_from_host(errno);
	put_u64(MEM(out), ts_ns(&ts));
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(random_get)(struct wasi_ctx *ctx, uint32_t buf, uint32_t len)
{
	size_t done = 0;

	CHECK_MEM(buf, len);
	while (done < len) {
		ssize_t r = getrandom(MEM(buf) + done, len - done, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return wasi_errno_from_host(errno);
		}
		done += (size_t)r;
	}
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(sched_yield)(struct wasi_ctx *ctx)
{
	(void)ctx;
	sched_yield();
	return WASI_ESUCCESS;
}

void
WASI_FN(proc_exit)(struct wasi_ctx *ctx, uint32_t code)
{
	if (ctx != NULL && ctx->exit_hook != NULL)
		ctx->exit_hook(ctx->exit_arg, (int)code);
	/* The guest's own output went straight to the fds; this flushes
	 * whatever the host buffered. */
	fflush(NULL);
	_exit((int)(code & 0xff));
}

/*
 * WASI signal numbers 1..30. Signals whose default action is to ignore
 * (CHLD, CONT, URG, WINCH) or to stop the process (STOP, TSTP, TTIN, TTOU)
 * do nothing; every other one ends the instance as if killed by it, with
 * exit code 128 + the host signal number.
 */
uint32_t
WASI_FN(proc_raise)(struct wasi_ctx *ctx, uint32_t sig)
{
	static const int host[31] = {
		0, SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS,
		SIGFPE, SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM,
		SIGTERM, SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU,
		SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGPOLL,
		SIGPWR, SIGSYS
	};
	int s;

	if (sig > 30)
		return WASI_EINVAL;
	s = host[sig];
	if (s == 0 || s == SIGCHLD || s == SIGCONT || s == SIGURG ||
	    s == SIGWINCH || s == SIGSTOP || s == SIGTSTP || s == SIGTTIN ||
	    s == SIGTTOU)
		return WASI_ESUCCESS;
	if (ctx != NULL && ctx->exit_hook != NULL)
		ctx->exit_hook(ctx->exit_arg, 128 + s);
	fflush(NULL);
	_exit(128 + s);
}

/* ------------------------------------------------------------------ */
/* fd_* calls                                                          */
/* ------------------------------------------------------------------ */

/* Directories refuse byte I/O with EBADF (as wasmtime does). */
#define NOT_DIR(f) do { if ((f)->kind == KIND_DIR) return WASI_EBADF; } while (0)

uint32_t
WASI_FN(fd_advise)(struct wasi_ctx *ctx, uint32_t fd, uint64_t off,
    uint64_t len, uint32_t advice)
{
	static const int host[6] = { POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL,
		POSIX_FADV_RANDOM, POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,
		POSIX_FADV_NOREUSE };
	struct wasi_fd *f;
	uint16_t e;
	int r;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	NOT_DIR(f);
	if ((e = fd_need(f, RIGHT_FD_ADVISE)) != 0)
		return e;
	if (advice > 5)
		return WASI_EINVAL;
	if (off > INT64_MAX || len > INT64_MAX)
		return WASI_EINVAL;
	r = posix_fadvise(f->host, (off_t)off, (off_t)len, host[advice]);
	return wasi_errno_from_host(r);
}

uint32_t
WASI_FN(fd_allocate)(struct wasi_ctx *ctx, uint32_t fd, uint64_t off,
    uint64_t len)
{
	struct wasi_fd *f;
	uint16_t e;
	int r;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	NOT_DIR(f);
	if ((e = fd_need(f, RIGHT_FD_ALLOCATE)) != 0)
		return e;
	if (off > INT64_MAX || len > INT64_MAX || off + len > INT64_MAX)
		return WASI_EFBIG;
	if (len == 0)
		return WASI_EINVAL;
	r = posix_fallocate(f->host, (off_t)off, (off_t)len);
	return wasi_errno_from_host(r);
}

uint32_t
WASI_FN(fd_close)(struct wasi_ctx *ctx, uint32_t fd)
{
	struct wasi_fd *f;
	uint16_t e;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	close(f->host);
	fd_slot_clear(f);
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(fd_datasync)(struct wasi_ctx *ctx, uint32_t fd)
{
	struct wasi_fd *f;
	uint16_t e;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	if ((e = fd_need(f, RIGHT_FD_DATASYNC)) != 0)
		return e;
	if (fdatasync(f->host) != 0)
		return wasi_errno_from_host(errno);
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(fd_sync)(struct wasi_ctx *ctx, uint32_t fd)
{
	struct wasi_fd *f;
	uint16_t e;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	if ((e = fd_need(f, RIGHT_FD_SYNC)) != 0)
		return e;
	if (fsync(f->host) != 0)
		return wasi_errno_from_host(errno);
	return WASI_ESUCCESS;
}

static uint16_t
host_fdflags(int host)
{
	int fl = fcntl(host, F_GETFL);
	uint16_t out = 0;

	if (fl < 0)
		return 0;
	if (fl & O_APPEND)
		out |= FDFLAG_APPEND;
	if (fl & O_NONBLOCK)
		out |= FDFLAG_NONBLOCK;
	if ((fl & O_SYNC) == O_SYNC)
		out |= FDFLAG_SYNC | FDFLAG_RSYNC;
	else if (fl & O_DSYNC)
		out |= FDFLAG_DSYNC;
	return out;
}

uint32_t
WASI_FN(fd_fdstat_get)(struct wasi_ctx *ctx, uint32_t fd, uint32_t out)
{
	struct wasi_fd *f;
	uint16_t e;
	uint8_t *p;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	CHECK_MEM(out, FDSTAT_SIZE);
	p = MEM(out);
	memset(p, 0, FDSTAT_SIZE);
	p[0] = f->filetype;
	/* Directories and stdio report no flags (as wasmtime). */
	put_u16(p + 2, f->kind == KIND_DIR || f->kind == KIND_STDIO ? 0 :
	    host_fdflags(f->host));
	put_u64(p + 8, f->rights_base);
	put_u64(p + 16, f->rights_inh);
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(fd_fdstat_set_flags)(struct wasi_ctx *ctx, uint32_t fd,
    uint32_t flags)
{
	struct wasi_fd *f;
	uint16_t e, cur;
	int fl;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	NOT_DIR(f);
	/* As wasmtime: only files and sockets; stdio (often a terminal
	 * shared with the host) is left alone. */
	if (f->kind == KIND_STDIO)
		return WASI_EBADF;
	if ((e = fd_need(f, RIGHT_FD_FDSTAT_SET_FLAGS)) != 0)
		return e;
	if (flags & ~(uint32_t)FDFLAG_ALL)
		return WASI_EINVAL;
	cur = host_fdflags(f->host);
	/* The sync flags cannot be changed after open on Linux. */
	if ((flags ^ cur) & (FDFLAG_DSYNC | FDFLAG_RSYNC | FDFLAG_SYNC))
		return WASI_ENOTSUP;
	fl = fcntl(f->host, F_GETFL);
	if (fl < 0)
		return wasi_errno_from_host(errno);
	fl &= ~(O_APPEND | O_NONBLOCK);
	if (flags & FDFLAG_APPEND)
		fl |= O_APPEND;
	if (flags & FDFLAG_NONBLOCK)
		fl |= O_NONBLOCK;
	if (fcntl(f->host, F_SETFL, fl) != 0)
		return wasi_errno_from_host(errno);
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(fd_fdstat_set_rights)(struct wasi_ctx *ctx, uint32_t fd,
    uint64_t base, uint64_t inh)
{
	struct wasi_fd *f;
	uint16_t e;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	/* Rights can only be dropped. */
	if ((base & ~f->rights_base) != 0 || (inh & ~f->rights_inh) != 0)
		return WASI_ENOTCAPABLE;
	f->rights_base = base;
	f->rights_inh = inh;
	return WASI_ESUCCESS;
}

static void
filestat_put(uint8_t *p, const struct stat *st, const struct wasi_fd *f)
{
	memset(p, 0, FILESTAT_SIZE);
	put_u64(p + 0, (uint64_t)st->st_dev);
	put_u64(p + 8, (uint64_t)st->st_ino);
	p[16] = f != NULL ? f->filetype : filetype_from_mode(st->st_mode);
	put_u64(p + 24, (uint64_t)st->st_nlink);
	put_u64(p + 32, (uint64_t)st->st_size);
	put_u64(p + 40, ts_ns(&st->st_atim));
	put_u64(p + 48, ts_ns(&st->st_mtim));
	put_u64(p + 56, ts_ns(&st->st_ctim));
}

uint32_t
WASI_FN(fd_filestat_get)(struct wasi_ctx *ctx, uint32_t fd, uint32_t out)
{
	struct wasi_fd *f;
	struct stat st;
	uint16_t e;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	if ((e = fd_need(f, RIGHT_FD_FILESTAT_GET)) != 0)
		return e;
	CHECK_MEM(out, FILESTAT_SIZE);
	if (f->kind == KIND_STDIO) {
		/* As wasmtime: stdio reports only its type, all else 0. */
		memset(MEM(out), 0, FILESTAT_SIZE);
		MEM(out)[16] = f->filetype;
		return WASI_ESUCCESS;
	}
	if (fstat(f->host, &st) != 0)
		return wasi_errno_from_host(errno);
	filestat_put(MEM(out), &st, f);
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(fd_filestat_set_size)(struct wasi_ctx *ctx, uint32_t fd,
    uint64_t size)
{
	struct wasi_fd *f;
	uint16_t e;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	NOT_DIR(f);
	if ((e = fd_need(f, RIGHT_FD_FILESTAT_SET_SIZE)) != 0)
		return e;
	if (size > INT64_MAX)
		return WASI_EINVAL;
	if (ftruncate(f->host, (off_t)size) != 0)
		return wasi_errno_from_host(errno);
	return WASI_ESUCCESS;
}

/* Builds utimensat times from WASI fstflags; EINVAL on a bad combination. */
static uint16_t
times_build(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2])
{
	if (fst & ~(uint32_t)(FST_ATIM | FST_ATIM_NOW | FST_MTIM | FST_MTIM_NOW))
		return WASI_EINVAL;
	if ((fst & FST_ATIM) && (fst & FST_ATIM_NOW))
		return WASI_EINVAL;
	if ((fst & FST_MTIM) && (fst & FST_MTIM_NOW))
		return WASI_EINVAL;
	ts[0].tv_sec = 0;
	ts[1].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_OMIT;
	if (fst & FST_ATIM) {
		ts[0].tv_sec = (time_t)(atim / 1000000000u);
		ts[0].tv_nsec = (long)(atim % 1000000000u);
	} else if (fst & FST_ATIM_NOW) {
		ts[0].tv_nsec = UTIME_NOW;
	}
	if (fst & FST_MTIM) {
		ts[1].tv_sec = (time_t)(mtim / 1000000000u);
		ts[1].tv_nsec = (long)(mtim % 1000000000u);
	} else if (fst & FST_MTIM_NOW) {
		ts[1].tv_nsec = UTIME_NOW;
	}
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(fd_filestat_set_times)(struct wasi_ctx *ctx, uint32_t fd,
    uint64_t atim, uint64_t mtim, uint32_t fst)
{
	struct wasi_fd *f;
	struct timespec ts[2];
	uint16_t e;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	if ((e = fd_need(f, RIGHT_FD_FILESTAT_SET_TIMES)) != 0)
		return e;
	if ((e = times_build(atim, mtim, fst, ts)) != 0)
		return e;
	if (futimens(f->host, ts) != 0)
		return wasi_errno_from_host(errno);
	return WASI_ESUCCESS;
}

static uint32_t
do_io(struct wasi_ctx *ctx, uint32_t fd, uint32_t iovs, uint32_t niovs,
    bool write, bool positional, uint64_t off, uint32_t out)
{
	struct iovec iov[WASI_MAX_IOVS];
	struct wasi_fd *f;
	int n = 0;
	ssize_t r;
	uint16_t e;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	NOT_DIR(f);
	if ((e = fd_need(f, write ? RIGHT_FD_WRITE : RIGHT_FD_READ)) != 0)
		return e;
	if (positional && off > INT64_MAX)
		return WASI_EINVAL;
	CHECK_MEM(out, 4);
	if ((e = iovs_load(ctx, iovs, niovs, iov, &n)) != 0)
		return e;
	do {
		if (positional)
			r = write ? pwritev(f->host, iov, n, (off_t)off) :
			    preadv(f->host, iov, n, (off_t)off);
		else
			r = write ? writev(f->host, iov, n) :
			    readv(f->host, iov, n);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return wasi_errno_from_host(errno);
	put_u32(MEM(out), (uint32_t)r);
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(fd_read)(struct wasi_ctx *ctx, uint32_t fd, uint32_t iovs,
    uint32_t n, uint32_t out)
{
	return do_io(ctx, fd, iovs, n, false, false, 0, out);
}

uint32_t
WASI_FN(fd_write)(struct wasi_ctx *ctx, uint32_t fd, uint32_t iovs,
    uint32_t n, uint32_t out)
{
	return do_io(ctx, fd, iovs, n, true, false, 0, out);
}

uint32_t
WASI_FN(fd_pread)(struct wasi_ctx *ctx, uint32_t fd, uint32_t iovs,
    uint32_t n, uint64_t off, uint32_t out)
{
	return do_io(ctx, fd, iovs, n, false, true, off, out);
}

uint32_t
WASI_FN(fd_pwrite)(struct wasi_ctx *ctx, uint32_t fd, uint32_t iovs,
    uint32_t n, uint64_t off, uint32_t out)
{
	return do_io(ctx, fd, iovs, n, true, true, off, out);
}

uint32_t
WASI_FN(fd_prestat_get)(struct wasi_ctx *ctx, uint32_t fd, uint32_t out)
{
	struct wasi_fd *f;
	uint16_t e;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	if (f->preopen == NULL)
		return WASI_EBADF;
	CHECK_MEM(out, PRESTAT_SIZE);
	memset(MEM(out), 0, PRESTAT_SIZE);
	MEM(out)[0] = 0; /* preopentype::dir */
	put_u32(MEM(out) + 4, (uint32_t)strlen(f->preopen));
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(fd_prestat_dir_name)(struct wasi_ctx *ctx, uint32_t fd,
    uint32_t buf, uint32_t len)
{
	struct wasi_fd *f;
	size_t nl;
	uint16_t e;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	if (f->preopen == NULL)
		return WASI_EBADF;
	nl = strlen(f->preopen);
	if (len < nl)
		return WASI_ENAMETOOLONG;
	CHECK_MEM(buf, nl);
	memcpy(MEM(buf), f->preopen, nl);
	return WASI_ESUCCESS;
}

/* Reads the whole directory into f->ents (the readdir snapshot). */
static uint16_t
readdir_snapshot(struct wasi_fd *f)
{
	struct wasi_dirent *ents = NULL;
	size_t n = 0, cap = 0;
	uint16_t err = WASI_ESUCCESS;
	struct dirent *de;
	struct stat est;
	DIR *d = NULL;
	int fd;

	fd = openat(f->host, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return wasi_errno_from_host(errno);
	d = fdopendir(fd);
	if (d == NULL) {
		err = wasi_errno_from_host(errno);
		close(fd);
		return err;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0)
				err = wasi_errno_from_host(errno);
			break;
		}
		if (n == WASI_MAX_DIR_ENTRIES) {
			err = WASI_ENOMEM;
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct wasi_dirent *ne = realloc(ents,
			    ncap * sizeof(*ne));

			if (ne == NULL) {
				err = WASI_ENOMEM;
				break;
			}
			ents = ne;
			cap = ncap;
		}
		ents[n].name = strdup(de->d_name);
		if (ents[n].name == NULL) {
			err = WASI_ENOMEM;
			break;
		}
		ents[n].namlen = (uint32_t)strlen(de->d_name);
		ents[n].ino = de->d_ino;
		/* d_ino can differ from st_ino (overlayfs): use the one
		 * fd_filestat_get / path_filestat_get report. */
		if (fstatat(dirfd(d), de->d_name, &est, AT_SYMLINK_NOFOLLOW) == 0) {
			ents[n].ino = est.st_ino;
			ents[n].type = filetype_from_mode(est.st_mode);
			if (S_ISSOCK(est.st_mode))
				ents[n].type = FILETYPE_SOCKET_STREAM;
			n++;
			continue;
		}
		switch (de->d_type) {
		case DT_REG: ents[n].type = FILETYPE_REGULAR_FILE; break;
		case DT_DIR: ents[n].type = FILETYPE_DIRECTORY; break;
		case DT_LNK: ents[n].type = FILETYPE_SYMBOLIC_LINK; break;
		case DT_CHR: ents[n].type = FILETYPE_CHARACTER_DEVICE; break;
		case DT_BLK: ents[n].type = FILETYPE_BLOCK_DEVICE; break;
		case DT_SOCK: ents[n].type = FILETYPE_SOCKET_STREAM; break;
		default: ents[n].type = FILETYPE_UNKNOWN; break;
		}
		n++;
	}
	closedir(d);
	if (err != WASI_ESUCCESS) {
		for (size_t i = 0; i < n; i++)
			free(ents[i].name);
		free(ents);
		return err;
	}
	for (size_t i = 0; i < f->nents; i++)
		free(f->ents[i].name);
	free(f->ents);
	f->ents = ents;
	f->nents = n;
	return WASI_ESUCCESS;
}

/*
 * Cookies are positions in a snapshot of the directory taken when the
 * guest starts over (cookie 0). d_next of entry i is i + 1. The last entry
 * is cut short when the buffer is full, as the spec allows.
 */
uint32_t
WASI_FN(fd_readdir)(struct wasi_ctx *ctx, uint32_t fd, uint32_t buf,
    uint32_t len, uint64_t cookie, uint32_t out)
{
	struct wasi_fd *f;
	uint32_t used = 0;
	uint16_t e;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	if (f->kind != KIND_DIR)
		return WASI_ENOTDIR;
	if ((e = fd_need(f, RIGHT_FD_READDIR)) != 0)
		return e;
	CHECK_MEM(buf, len);
	CHECK_MEM(out, 4);
	if (cookie == 0 || f->ents == NULL) {
		if ((e = readdir_snapshot(f)) != 0)
			return e;
	}
	for (uint64_t i = cookie; i < f->nents && used < len; i++) {
		const struct wasi_dirent *d = &f->ents[i];
		uint8_t hdr[DIRENT_SIZE];
		uint32_t room = len - used, take;

		memset(hdr, 0, sizeof(hdr));
		put_u64(hdr, i + 1);
		put_u64(hdr + 8, d->ino);
		put_u32(hdr + 16, d->namlen);
		hdr[20] = d->type;
		take = room < DIRENT_SIZE ? room : DIRENT_SIZE;
		memcpy(MEM(buf + used), hdr, take);
		used += take;
		room -= take;
		take = room < d->namlen ? room : d->namlen;
		memcpy(MEM(buf + used), d->name, take);
		used += take;
	}
	put_u32(MEM(out), used);
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(fd_renumber)(struct wasi_ctx *ctx, uint32_t from, uint32_t to)
{
	struct wasi_fd *f, *t;
	uint16_t e;

	if ((e = fd_get(ctx, from, &f)) != 0)
		return e;
	if ((e = fd_get(ctx, to, &t)) != 0)
		return e;
	if (from == to)
		return WASI_ESUCCESS;
	close(t->host);
	fd_slot_clear(t);
	*t = *f;
	memset(f, 0, sizeof(*f));
	f->host = -1;
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(fd_seek)(struct wasi_ctx *ctx, uint32_t fd, uint64_t off,
    uint32_t whence, uint32_t out)
{
	struct wasi_fd *f;
	uint16_t e;
	off_t r;
	int w;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	NOT_DIR(f);
	if ((e = fd_need(f, whence == 1 && off == 0 ? RIGHT_FD_TELL :
	    RIGHT_FD_SEEK)) != 0)
		return e;
	switch (whence) {
	case 0: w = SEEK_SET; break;
	case 1: w = SEEK_CUR; break;
	case 2: w = SEEK_END; break;
	default: return WASI_EINVAL;
	}
	CHECK_MEM(out, 8);
	r = lseek(f->host, (off_t)(int64_t)off, w);
	if (r < 0)
		return wasi_errno_from_host(errno);
	put_u64(MEM(out), (uint64_t)r);
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(fd_tell)(struct wasi_ctx *ctx, uint32_t fd, uint32_t out)
{
	struct wasi_fd *f;
	uint16_t e;
	off_t r;

	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	NOT_DIR(f);
	if ((e = fd_need(f, RIGHT_FD_TELL)) != 0)
		return e;
	CHECK_MEM(out, 8);
	r = lseek(f->host, 0, SEEK_CUR);
	if (r < 0)
		return wasi_errno_from_host(errno);
	put_u64(MEM(out), (uint64_t)r);
	return WASI_ESUCCESS;
}

/* ------------------------------------------------------------------ */
/* path_* calls                                                        */
/* ------------------------------------------------------------------ */

/*
 * Looks up directory fd `fd` (NOTDIR if it is not one), checks `need`,
 * reads the guest path and resolves it.
 */
static uint16_t
path_begin(struct wasi_ctx *ctx, uint32_t fd, uint64_t need, uint32_t path,
    uint32_t len, bool follow, struct wasi_fd **fout,
    struct wasi_path_res *res)
{
	struct wasi_fd *f;
	const char *p;
	uint16_t e;

	res->dirfd = -1;
	res->dirfd_owned = false;
	if ((e = fd_get(ctx, fd, &f)) != 0)
		return e;
	if (f->kind != KIND_DIR)
		return WASI_ENOTDIR;
	if ((e = fd_need(f, need)) != 0)
		return e;
	if ((e = path_get(ctx, path, len, &p)) != 0)
		return e;
	if (fout != NULL)
		*fout = f;
	return wasi_path_resolve(f->host, p, len, follow, res);
}

uint32_t
WASI_FN(path_create_directory)(struct wasi_ctx *ctx, uint32_t fd,
    uint32_t path, uint32_t len)
{
	struct wasi_path_res r;
	uint16_t e;

	e = path_begin(ctx, fd, RIGHT_PATH_CREATE_DIRECTORY, path, len, false,
	    NULL, &r);
	if (e == 0 && mkdirat(r.dirfd, r.base, 0777) != 0)
		e = wasi_errno_from_host(errno);
	wasi_path_res_cleanup(&r);
	return e;
}

uint32_t
WASI_FN(path_filestat_get)(struct wasi_ctx *ctx, uint32_t fd,
    uint32_t flags, uint32_t path, uint32_t len, uint32_t out)
{
	struct wasi_path_res r;
	struct stat st;
	uint16_t e;

	if (flags & ~(uint32_t)LOOKUP_SYMLINK_FOLLOW)
		return WASI_EINVAL;
	CHECK_MEM(out, FILESTAT_SIZE);
	e = path_begin(ctx, fd, RIGHT_PATH_FILESTAT_GET, path, len,
	    flags & LOOKUP_SYMLINK_FOLLOW, NULL, &r);
	if (e == 0) {
		if (fstatat(r.dirfd, r.base, &st, AT_SYMLINK_NOFOLLOW) != 0)
			e = wasi_errno_from_host(errno);
		else
			filestat_put(MEM(out), &st, NULL);
	}
	wasi_path_res_cleanup(&r);
	return e;
}

uint32_t
WASI_FN(path_filestat_set_times)(struct wasi_ctx *ctx, uint32_t fd,
    uint32_t flags, uint32_t path, uint32_t len, uint64_t atim,
    uint64_t mtim, uint32_t fst)
{
	struct wasi_path_res r;
	struct timespec ts[2];
	uint16_t e;

	if (flags & ~(uint32_t)LOOKUP_SYMLINK_FOLLOW)
		return WASI_EINVAL;
	if ((e = times_build(atim, mtim, fst, ts)) != 0)
		return e;
	e = path_begin(ctx, fd, RIGHT_PATH_FILESTAT_SET_TIMES, path, len,
	    flags & LOOKUP_SYMLINK_FOLLOW, NULL, &r);
	if (e == 0 && utimensat(r.dirfd, r.base, ts, AT_SYMLINK_NOFOLLOW) != 0)
		e = wasi_errno_from_host(errno);
	wasi_path_res_cleanup(&r);
	return e;
}

uint32_t
WASI_FN(path_link)(struct wasi_ctx *ctx, uint32_t ofd, uint32_t oflags,
    uint32_t opath, uint32_t olen, uint32_t nfd, uint32_t npath,
    uint32_t nlen)
{
	struct wasi_path_res o, n;
	uint16_t e;

	n.dirfd = -1;
	n.dirfd_owned = false;
	if (oflags & ~(uint32_t)LOOKUP_SYMLINK_FOLLOW)
		return WASI_EINVAL;
	e = path_begin(ctx, ofd, RIGHT_PATH_LINK_SOURCE, opath, olen,
	    oflags & LOOKUP_SYMLINK_FOLLOW, NULL, &o);
	if (e == 0)
		e = path_begin(ctx, nfd, RIGHT_PATH_LINK_TARGET, npath, nlen,
		    false, NULL, &n);
	if (e == 0 && linkat(o.dirfd, o.base, n.dirfd, n.base, 0) != 0)
		e = wasi_errno_from_host(errno);
	wasi_path_res_cleanup(&o);
	wasi_path_res_cleanup(&n);
	return e;
}

/*
 * Host open(2) flags for path_open. The access mode follows the requested
 * FD_READ / FD_WRITE (APPEND implies writing), limited by what the
 * directory lets its children inherit; directories always open read-only.
 */
static int
open_flags(const struct wasi_fd *dir, uint32_t oflags, uint64_t base,
    uint32_t fdflags, bool *want_read, bool *want_write)
{
	int flags = O_CLOEXEC | O_NOCTTY;

	*want_write = ((base & RIGHT_FD_WRITE) != 0 ||
	    (fdflags & FDFLAG_APPEND) != 0) &&
	    (dir->rights_inh & RIGHT_FD_WRITE) != 0;
	*want_read = (base & RIGHT_FD_READ) != 0 &&
	    (dir->rights_inh & RIGHT_FD_READ) != 0;
	if (oflags & OFLAG_DIRECTORY)
		flags |= O_DIRECTORY | O_RDONLY;
	else if (*want_write)
		flags |= *want_read ? O_RDWR : O_WRONLY;
	else
		flags |= O_RDONLY;
	if (oflags & OFLAG_CREAT)
		flags |= O_CREAT;
	if (oflags & OFLAG_EXCL)
		flags |= O_EXCL;
	if (oflags & OFLAG_TRUNC)
		flags |= O_TRUNC;
	if (fdflags & FDFLAG_APPEND)
		flags |= O_APPEND;
	if (fdflags & FDFLAG_DSYNC)
		flags |= O_DSYNC;
	if (fdflags & (FDFLAG_SYNC | FDFLAG_RSYNC))
		flags |= O_SYNC;
	if (fdflags & FDFLAG_NONBLOCK)
		flags |= O_NONBLOCK;
	return flags;
}

uint32_t
WASI_FN(path_open)(struct wasi_ctx *ctx, uint32_t fd, uint32_t dirflags,
    uint32_t path, uint32_t len, uint32_t oflags, uint64_t base,
    uint64_t inh, uint32_t fdflags, uint32_t out)
{
	struct wasi_fd *dir, *nf;
	struct stat st;
	const char *p;
	uint64_t need = RIGHT_PATH_OPEN;
	uint32_t slot;
	bool want_write, want_read;
	int flags, h = -1;
	uint16_t e;

	if (dirflags & ~(uint32_t)LOOKUP_SYMLINK_FOLLOW)
		return WASI_EINVAL;
	if (oflags & ~(uint32_t)(OFLAG_CREAT | OFLAG_DIRECTORY | OFLAG_EXCL |
	    OFLAG_TRUNC))
		return WASI_EINVAL;
	if (fdflags & ~(uint32_t)FDFLAG_ALL)
		return WASI_EINVAL;
	if ((oflags & OFLAG_DIRECTORY) && (oflags & (OFLAG_CREAT |
	    OFLAG_TRUNC)))
		return WASI_EINVAL;
	CHECK_MEM(out, 4);
	if (oflags & OFLAG_CREAT)
		need |= RIGHT_PATH_CREATE_FILE;
	if ((e = fd_get(ctx, fd, &dir)) != 0)
		return e;
	if (dir->kind != KIND_DIR)
		return WASI_ENOTDIR;
	/* Truncating needs PATH_FILESTAT_SET_SIZE once it was dropped. */
	if ((oflags & OFLAG_TRUNC) &&
	    (dir->applicable & RIGHT_PATH_FILESTAT_SET_SIZE) &&
	    !(dir->rights_base & RIGHT_PATH_FILESTAT_SET_SIZE))
		return WASI_EPERM;
	if ((e = fd_need(dir, need)) != 0)
		return e;
	flags = open_flags(dir, oflags, base, fdflags, &want_read,
	    &want_write);
	if ((e = path_get(ctx, path, len, &p)) != 0)
		return e;
	e = wasi_path_openat(dir->host, p, len,
	    dirflags & LOOKUP_SYMLINK_FOLLOW, flags, 0666, &h);
	if (e != 0)
		goto out;
	if (fstat(h, &st) != 0) {
		e = wasi_errno_from_host(errno);
		goto out;
	}
	if (S_ISDIR(st.st_mode) && want_write) {
		e = WASI_EISDIR;
		goto out;
	}
	if ((e = fd_alloc(ctx, &slot)) != 0)
		goto out;
	/* fd_alloc may have moved the table. */
	dir = &ctx->fds[fd];
	nf = &ctx->fds[slot];
	if (S_ISDIR(st.st_mode)) {
		fd_describe(nf, h, &st, RIGHTS_DIR_BASE & dir->rights_inh,
		    RIGHTS_DIR_INHERITING & dir->rights_inh);
	} else {
		uint64_t b = RIGHTS_FILE_BASE;

		if (want_read)
			b |= RIGHT_FD_READ;
		if (want_write)
			b |= RIGHT_FD_WRITE;
		/* Files never carry inheriting rights (as wasmtime). */
		(void)inh;
		fd_describe(nf, h, &st, b & dir->rights_inh, 0);
	}
	h = -1;
	put_u32(MEM(out), slot);
out:
	if (h >= 0)
		close(h);
	return e;
}

uint32_t
WASI_FN(path_readlink)(struct wasi_ctx *ctx, uint32_t fd, uint32_t path,
    uint32_t len, uint32_t buf, uint32_t blen, uint32_t out)
{
	struct wasi_path_res r;
	char tmp[WASI_PATH_MAX + 1];
	ssize_t n;
	uint16_t e;

	CHECK_MEM(buf, blen);
	CHECK_MEM(out, 4);
	e = path_begin(ctx, fd, RIGHT_PATH_READLINK, path, len, false, NULL,
	    &r);
	if (e == 0) {
		n = readlinkat(r.dirfd, r.base, tmp, sizeof(tmp));
		if (n < 0) {
			e = wasi_errno_from_host(errno);
		} else {
			size_t take = (size_t)n < blen ? (size_t)n : blen;

			memcpy(MEM(buf), tmp, take);
			put_u32(MEM(out), (uint32_t)take);
		}
	}
	wasi_path_res_cleanup(&r);
	return e;
}

uint32_t
WASI_FN(path_remove_directory)(struct wasi_ctx *ctx, uint32_t fd,
    uint32_t path, uint32_t len)
{
	struct wasi_path_res r;
	uint16_t e;

	e = path_begin(ctx, fd, RIGHT_PATH_REMOVE_DIRECTORY, path, len, false,
	    NULL, &r);
	if (e == 0 && unlinkat(r.dirfd, r.base, AT_REMOVEDIR) != 0)
		e = wasi_errno_from_host(errno);
	wasi_path_res_cleanup(&r);
	return e;
}

uint32_t
WASI_FN(path_rename)(struct wasi_ctx *ctx, uint32_t ofd, uint32_t opath,
    uint32_t olen, uint32_t nfd, uint32_t npath, uint32_t nlen)
{
	struct wasi_path_res o, n;
	uint16_t e;

	n.dirfd = -1;
	n.dirfd_owned = false;
	e = path_begin(ctx, ofd, RIGHT_PATH_RENAME_SOURCE, opath, olen, false,
	    NULL, &o);
	if (e == 0)
		e = path_begin(ctx, nfd, RIGHT_PATH_RENAME_TARGET, npath, nlen,
		    false, NULL, &n);
	if (e == 0 && renameat(o.dirfd, o.base, n.dirfd, n.base) != 0)
		e = wasi_errno_from_host(errno);
	wasi_path_res_cleanup(&o);
	wasi_path_res_cleanup(&n);
	return e;
}

uint32_t
WASI_FN(path_symlink)(struct wasi_ctx *ctx, uint32_t opath, uint32_t olen,
    uint32_t fd, uint32_t npath, uint32_t nlen)
{
	struct wasi_path_res r;
	char target[WASI_PATH_MAX + 1];
	const char *p;
	uint16_t e;

	if ((e = path_get(ctx, opath, olen, &p)) != 0)
		return e;
	if (olen > WASI_PATH_MAX)
		return WASI_ENAMETOOLONG;
	if (olen == 0)
		return WASI_ENOENT;
	if (memchr(p, '\0', olen) != NULL)
		return WASI_EINVAL;
	/* A link to an absolute path could never be followed. */
	if (p[0] == '/')
		return WASI_EPERM;
	memcpy(target, p, olen);
	target[olen] = '\0';
	e = path_begin(ctx, fd, RIGHT_PATH_SYMLINK, npath, nlen, false, NULL,
	    &r);
	if (e == 0 && symlinkat(target, r.dirfd, r.base) != 0)
		e = wasi_errno_from_host(errno);
	wasi_path_res_cleanup(&r);
	return e;
}

uint32_t
WASI_FN(path_unlink_file)(struct wasi_ctx *ctx, uint32_t fd, uint32_t path,
    uint32_t len)
{
	struct wasi_path_res r;
	uint16_t e;

	e = path_begin(ctx, fd, RIGHT_PATH_UNLINK_FILE, path, len, false, NULL,
	    &r);
	if (e == 0 && unlinkat(r.dirfd, r.base, 0) != 0)
		e = wasi_errno_from_host(errno);
	wasi_path_res_cleanup(&r);
	return e;
}

/* ------------------------------------------------------------------ */
/* poll_oneoff                                                         */
/* ------------------------------------------------------------------ */

struct poll_sub {
	uint64_t userdata;
	uint8_t type;
	bool ready;            /* regular files/dirs are always ready */
	uint64_t nbytes;
	uint64_t deadline_ns;  /* clocks: CLOCK_MONOTONIC deadline */
	int pfd;               /* index into pollfds or -1 */
};

static uint64_t
mono_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts_ns(&ts);
}

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* Parses one clock subscription into an absolute monotonic deadline. */
static uint16_t
poll_clock(const uint8_t *p, uint64_t now, uint64_t *deadline)
{
	uint32_t id = get_u32(p + 16);
	uint64_t timeout = get_u64(p + 24);
	uint16_t flags = get_u16(p + 40);
	struct timespec ts;

	if (id != CLOCK_ID_REALTIME && id != CLOCK_ID_MONOTONIC)
		return WASI_EINVAL;
	if (!(flags & SUBCLOCK_ABSTIME)) {
		*deadline = sat_add(now, timeout);
		return WASI_ESUCCESS;
	}
	if (id == CLOCK_ID_MONOTONIC) {
		*deadline = timeout;
		return WASI_ESUCCESS;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	if (timeout <= ts_ns(&ts))
		*deadline = now;
	else
		*deadline = sat_add(now, timeout - ts_ns(&ts));
	return WASI_ESUCCESS;
}

static void
event_put(uint8_t *p, const struct poll_sub *s, uint16_t err,
    uint64_t nbytes, uint16_t flags)
{
	memset(p, 0, EVENT_SIZE);
	put_u64(p, s->userdata);
	put_u16(p + 8, err);
	p[10] = s->type;
	if (s->type != EVENT_CLOCK) {
		put_u64(p + 16, nbytes);
		put_u16(p + 24, flags);
	}
}

/* Bytes readable right now on a regular file: size - position. */
static uint64_t
file_readable(int fd)
{
	struct stat st;
	off_t pos = lseek(fd, 0, SEEK_CUR);

	if (pos < 0 || fstat(fd, &st) != 0 || st.st_size < pos)
		return 0;
	return (uint64_t)(st.st_size - pos);
}

/* The subscriptions of one poll_oneoff call, parsed. */
struct poll_set {
	struct poll_sub *subs;  /* owned, n entries */
	struct pollfd *pfds;    /* owned, npfds used */
	uint32_t n;
	nfds_t npfds;
	uint64_t min_deadline;  /* earliest clock, UINT64_MAX if none */
	bool immediate;         /* something is ready already */
};

/*
 * Reads the subscriptions. A bad clock id, tag or fd fails the whole call,
 * as in wasmtime. Regular files and directories are ready at once.
 */
static uint16_t
poll_parse(struct wasi_ctx *ctx, uint32_t in, struct poll_set *ps)
{
	uint64_t now = mono_now_ns();
	uint16_t e;

	for (uint32_t i = 0; i < ps->n; i++) {
		const uint8_t *p = MEM(in + i * SUBSCRIPTION_SIZE);
		struct poll_sub *s = &ps->subs[i];
		struct wasi_fd *f;

		s->userdata = get_u64(p);
		s->type = p[8];
		s->pfd = -1;
		if (s->type == EVENT_CLOCK) {
			if ((e = poll_clock(p, now, &s->deadline_ns)) != 0)
				return e;
			if (s->deadline_ns < ps->min_deadline)
				ps->min_deadline = s->deadline_ns;
			continue;
		}
		if (s->type != EVENT_FD_READ && s->type != EVENT_FD_WRITE)
			return WASI_EINVAL;
		if ((e = fd_get(ctx, get_u32(p + 16), &f)) != 0 ||
		    (e = fd_need(f, RIGHT_POLL_FD_READWRITE)) != 0)
			return e;
		if (f->kind == KIND_DIR || f->filetype == FILETYPE_REGULAR_FILE) {
			s->ready = true;
			if (s->type == EVENT_FD_READ && f->kind != KIND_DIR)
				s->nbytes = file_readable(f->host);
			ps->immediate = true;
			continue;
		}
		s->pfd = (int)ps->npfds;
		ps->pfds[ps->npfds].fd = f->host;
		ps->pfds[ps->npfds].events = s->type == EVENT_FD_READ ?
		    POLLIN : POLLOUT;
		ps->npfds++;
	}
	return WASI_ESUCCESS;
}

/* Waits until an fd is ready or the earliest clock is due. */
static uint16_t
poll_wait(struct poll_set *ps)
{
	for (;;) {
		struct timespec ts, *tsp = NULL;
		int r;

		if (ps->immediate) {
			ts.tv_sec = 0;
			ts.tv_nsec = 0;
			tsp = &ts;
		} else if (ps->min_deadline != UINT64_MAX) {
			uint64_t t = mono_now_ns();
			uint64_t left = ps->min_deadline > t ?
			    ps->min_deadline - t : 0;

			ts.tv_sec = (time_t)(left / 1000000000u);
			ts.tv_nsec = (long)(left % 1000000000u);
			tsp = &ts;
		}
		r = ppoll(ps->pfds, ps->npfds, tsp, NULL);
		if (r >= 0)
			return WASI_ESUCCESS;
		if (errno != EINTR)
			return wasi_errno_from_host(errno);
	}
}

/* Writes one event per ready subscription; returns how many. */
static uint32_t
poll_emit(struct wasi_ctx *ctx, const struct poll_set *ps, uint32_t outp)
{
	uint64_t now = mono_now_ns();
	uint32_t nevents = 0;

	for (uint32_t i = 0; i < ps->n; i++) {
		const struct poll_sub *s = &ps->subs[i];
		uint8_t *ev = MEM(outp + nevents * EVENT_SIZE);
		short re;
		int avail = 0;

		if (s->type == EVENT_CLOCK) {
			if (s->deadline_ns > now)
				continue;
			event_put(ev, s, 0, 0, 0);
		} else if (s->ready) {
			event_put(ev, s, 0, s->nbytes, 0);
		} else if (s->pfd >= 0 && ps->pfds[s->pfd].revents != 0) {
			re = ps->pfds[s->pfd].revents;
			if (re & POLLNVAL) {
				event_put(ev, s, WASI_EBADF, 0, 0);
			} else {
				if (s->type == EVENT_FD_READ &&
				    ioctl(ps->pfds[s->pfd].fd, FIONREAD,
				    &avail) != 0)
					avail = 0;
				event_put(ev, s, 0, avail > 0 ?
				    (uint64_t)avail : 0,
				    (re & POLLHUP) ? EVENTRW_HANGUP : 0);
			}
		} else {
			continue;
		}
		nevents++;
	}
	return nevents;
}

uint32_t
WASI_FN(poll_oneoff)(struct wasi_ctx *ctx, uint32_t in, uint32_t outp,
    uint32_t nsubs, uint32_t neventsp)
{
	struct poll_set ps;
	uint16_t e;

	if (nsubs == 0)
		return WASI_EINVAL;
	if (nsubs > WASI_MAX_SUBS)
		return WASI_E2BIG;
	CHECK_MEM(in, (uint64_t)nsubs * SUBSCRIPTION_SIZE);
	CHECK_MEM(outp, (uint64_t)nsubs * EVENT_SIZE);
	CHECK_MEM(neventsp, 4);
	memset(&ps, 0, sizeof(ps));
	ps.n = nsubs;
	ps.min_deadline = UINT64_MAX;
	ps.subs = calloc(nsubs, sizeof(*ps.subs));
	ps.pfds = calloc(nsubs, sizeof(*ps.pfds));
	if (ps.subs == NULL || ps.pfds == NULL) {
		e = WASI_ENOMEM;
		goto out;
	}
	if ((e = poll_parse(ctx, in, &ps)) != 0 || (e = poll_wait(&ps)) != 0)
		goto out;
	put_u32(MEM(neventsp), poll_emit(ctx, &ps, outp));
out:
	free(ps.subs);
	free(ps.pfds);
	return e;
}

/* ------------------------------------------------------------------ */
/* sock_*                                                              */
/* ------------------------------------------------------------------ */

static uint16_t
sock_get(struct wasi_ctx *ctx, uint32_t fd, struct wasi_fd **f)
{
	uint16_t e = fd_get(ctx, fd, f);

	if (e != 0)
		return e;
	if ((*f)->kind != KIND_SOCKET)
		return WASI_ENOTSOCK;
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(sock_accept)(struct wasi_ctx *ctx, uint32_t fd, uint32_t flags,
    uint32_t out)
{
	struct wasi_fd *f;
	struct stat st;
	uint32_t slot;
	uint16_t e;
	int h;

	if ((e = sock_get(ctx, fd, &f)) != 0)
		return e;
	if ((e = fd_need(f, RIGHT_SOCK_ACCEPT)) != 0)
		return e;
	if (flags & ~(uint32_t)FDFLAG_NONBLOCK)
		return WASI_EINVAL;
	CHECK_MEM(out, 4);
	h = accept4(f->host, NULL, NULL, SOCK_CLOEXEC |
	    ((flags & FDFLAG_NONBLOCK) ? SOCK_NONBLOCK : 0));
	if (h < 0)
		return wasi_errno_from_host(errno);
	if (fstat(h, &st) != 0 || (e = fd_alloc(ctx, &slot)) != 0) {
		if (e == 0)
			e = wasi_errno_from_host(errno);
		close(h);
		return e;
	}
	fd_describe(&ctx->fds[slot], h, &st, RIGHTS_SOCK, 0);
	put_u32(MEM(out), slot);
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(sock_recv)(struct wasi_ctx *ctx, uint32_t fd, uint32_t iovs,
    uint32_t niovs, uint32_t riflags, uint32_t outlen, uint32_t outflags)
{
	struct iovec iov[WASI_MAX_IOVS];
	struct msghdr mh;
	struct wasi_fd *f;
	int n = 0, fl = 0;
	ssize_t r;
	uint16_t e;

	if ((e = sock_get(ctx, fd, &f)) != 0)
		return e;
	if ((e = fd_need(f, RIGHT_FD_READ)) != 0)
		return e;
	if (riflags & ~(uint32_t)(RIFLAG_PEEK | RIFLAG_WAITALL))
		return WASI_EINVAL;
	CHECK_MEM(outlen, 4);
	CHECK_MEM(outflags, 2);
	if ((e = iovs_load(ctx, iovs, niovs, iov, &n)) != 0)
		return e;
	if (riflags & RIFLAG_PEEK)
		fl |= MSG_PEEK;
	if (riflags & RIFLAG_WAITALL)
		fl |= MSG_WAITALL;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)n;
	do {
		r = recvmsg(f->host, &mh, fl);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return wasi_errno_from_host(errno);
	put_u32(MEM(outlen), (uint32_t)r);
	put_u16(MEM(outflags), (mh.msg_flags & MSG_TRUNC) ?
	    ROFLAG_TRUNCATED : 0);
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(sock_send)(struct wasi_ctx *ctx, uint32_t fd, uint32_t iovs,
    uint32_t niovs, uint32_t siflags, uint32_t outlen)
{
	struct iovec iov[WASI_MAX_IOVS];
	struct msghdr mh;
	struct wasi_fd *f;
	int n = 0;
	ssize_t r;
	uint16_t e;

	if ((e = sock_get(ctx, fd, &f)) != 0)
		return e;
	if ((e = fd_need(f, RIGHT_FD_WRITE)) != 0)
		return e;
	if (siflags != 0)
		return WASI_EINVAL;
	CHECK_MEM(outlen, 4);
	if ((e = iovs_load(ctx, iovs, niovs, iov, &n)) != 0)
		return e;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)n;
	do {
		r = sendmsg(f->host, &mh, MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return wasi_errno_from_host(errno);
	put_u32(MEM(outlen), (uint32_t)r);
	return WASI_ESUCCESS;
}

uint32_t
WASI_FN(sock_shutdown)(struct wasi_ctx *ctx, uint32_t fd, uint32_t how)
{
	struct wasi_fd *f;
	uint16_t e;
	int h;

	if ((e = sock_get(ctx, fd, &f)) != 0)
		return e;
	if ((e = fd_need(f, RIGHT_SOCK_SHUTDOWN)) != 0)
		return e;
	switch (how) {
	case SDFLAG_RD: h = SHUT_RD; break;
	case SDFLAG_WR: h = SHUT_WR; break;
	case SDFLAG_RD | SDFLAG_WR: h = SHUT_RDWR; break;
	default: return WASI_EINVAL;
	}
	if (shutdown(f->host, h) != 0)
		return wasi_errno_from_host(errno);
	return WASI_ESUCCESS;
}

/* ------------------------------------------------------------------ */
/* The import table                                                    */
/* ------------------------------------------------------------------ */

#define IMP(n) { #n, (void *)WASI_FN(n) }
const struct wasi_import wasi_imports[] = {
	IMP(args_get), IMP(args_sizes_get), IMP(environ_get),
	IMP(environ_sizes_get), IMP(clock_res_get), IMP(clock_time_get),
	IMP(fd_advise), IMP(fd_allocate), IMP(fd_close), IMP(fd_datasync),
	IMP(fd_fdstat_get), IMP(fd_fdstat_set_flags),
	IMP(fd_fdstat_set_rights), IMP(fd_filestat_get),
	IMP(fd_filestat_set_size), IMP(fd_filestat_set_times), IMP(fd_pread),
	IMP(fd_prestat_get), IMP(fd_prestat_dir_name), IMP(fd_pwrite),
	IMP(fd_read), IMP(fd_readdir), IMP(fd_renumber), IMP(fd_seek),
	IMP(fd_sync), IMP(fd_tell), IMP(fd_write), IMP(path_create_directory),
	IMP(path_filestat_get), IMP(path_filestat_set_times), IMP(path_link),
	IMP(path_open), IMP(path_readlink), IMP(path_remove_directory),
	IMP(path_rename), IMP(path_symlink), IMP(path_unlink_file),
	IMP(poll_oneoff), IMP(proc_exit), IMP(proc_raise), IMP(sched_yield),
	IMP(random_get), IMP(sock_accept), IMP(sock_recv), IMP(sock_send),
	IMP(sock_shutdown),
	{ NULL, NULL }
};

bool
wasi_import_known(const char *name)
{
	if (name == NULL)
		return false;
	for (size_t i = 0; wasi_imports[i].name != NULL; i++) {
		if (strcmp(wasi_imports[i].name, name) == 0)
			return true;
	}
	return false;
}
