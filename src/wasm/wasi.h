/*
 * wasi.h -- the WASI preview1 host of the engine (internal to src/wasm).
 *
 * Files to compile into propeller_wasm: src/wasm/wasi*.c (wasi.c holds the
 * context, the fd table and the calls; wasi_path.c the path resolver that
 * never leaves a preopen).
 *
 * Implements every wasi_snapshot_preview1 import with the exact C signature
 * wasm2c (wabt 1.0.32) gives it, so generated modules link against these
 * functions directly: tier 1 tcc_add_symbol()s each wasi_imports[] entry,
 * tier 2 resolves them by name. A context (struct wasi_ctx, which is the
 * wasm2c "instance" type of the wasi_snapshot_preview1 module) owns an fd
 * table (stdio + preopened directories + whatever the guest opens), copies
 * of args and environment, and borrows the module's linear memory.
 *
 * Every guest pointer+length is bounds-checked against the memory's current
 * size on each call (ERRNO_FAULT, never a host crash). Path resolution can
 * never escape a preopen: "..", absolute paths and symlinks (also absolute
 * ones, and chains) are resolved beneath the preopen with openat2
 * RESOLVE_BENEATH where the kernel has it and a component-by-component
 * O_NOFOLLOW walk otherwise.
 *
 * Where the spec is loose this follows wasmtime's observable behaviour:
 *  - Escapes (absolute paths, "..", symlinks out or to absolute targets)
 *    fail with ERRNO_PERM; path_symlink refuses absolute targets (PERM).
 *  - Rights: files report the file rights plus FD_READ/FD_WRITE as opened
 *    and no inheriting rights; directories the directory set (no
 *    PATH_FILESTAT_SET_SIZE); stdin FD_READ, stdout/stderr FD_WRITE.
 *    FD_READ/FD_WRITE are always enforced (ERRNO_BADF); other rights only
 *    once dropped by fd_fdstat_set_rights (ERRNO_NOTCAPABLE). Rights only
 *    shrink.
 *  - Directories refuse byte I/O, seek and tell with ERRNO_BADF.
 *  - stdio is a character device when a terminal, else "unknown"; its
 *    filestat is all zero but the type; fd_fdstat_set_flags on it is BADF.
 *  - fd_readdir includes "." and ".."; cookies index a snapshot taken when
 *    the guest reads from cookie 0; the last entry is cut at the buffer end.
 *  - poll_oneoff: a bad fd, clock id or tag fails the whole call; regular
 *    files and directories are always ready; clocks are REALTIME or
 *    MONOTONIC, relative or absolute.
 *  - proc_raise: ignore/stop signals do nothing, others end the instance
 *    through exit_hook with 128 + the host signal number.
 *  - sock_*: EBADF for a closed fd, ENOTSOCK for a non-socket; a socket
 *    given as stdio works both ways.
 *
 * The embedder should ignore SIGPIPE in the process running the guest so a
 * write to a closed pipe returns ERRNO_PIPE instead of killing it.
 *
 * Depends on: core (errors), wasm-rt.h. Never logs, never touches the
 * host outside the preopened directories and the given stdio fds.
 */
#ifndef PROPELLER_WASM_WASI_H
#define PROPELLER_WASM_WASI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <wasm-rt.h>

#include "core/core.h"

/* The WASI context is the wasm2c instance of "wasi_snapshot_preview1". */
#define wasi_ctx Z_wasi_snapshot_preview1_instance_t
struct wasi_ctx;

/* One preopened directory: the host directory and the name the guest sees. */
struct wasi_preopen {
	const char *host_path;  /* borrowed */
	const char *guest_path; /* borrowed; e.g. "/" or "." or "/data" */
};

struct wasi_config {
	const char *const *args;  /* borrowed; NULL-terminated; args[0] = name */
	const char *const *env;   /* borrowed; NULL-terminated "K=V" strings */
	const struct wasi_preopen *preopens; /* borrowed; npreopens entries */
	size_t npreopens;
	/* Host fds for guest fds 0, 1, 2 (dup'ed by wasi_ctx_new; -1 = closed). */
	int stdin_fd, stdout_fd, stderr_fd;
	/*
	 * Called by proc_exit (and by proc_raise for fatal signals, with
	 * 128 + signal). Should not return (e.g. longjmp or _exit); if it is
	 * NULL or returns, the process flushes its stdio and does
	 * _exit(code & 0xff).
	 */
	void (*exit_hook)(void *arg, int code);
	void *exit_arg; /* borrowed; passed to exit_hook */
};

/*
 * Builds a context from cfg: copies args/env, opens each preopen directory
 * (O_DIRECTORY; CORE_ERR_NOT_FOUND / CORE_ERR_IO naming the path on
 * failure), dups the stdio fds. The memory is set later with
 * wasi_ctx_set_memory. Returns CORE_ERR_INVALID for bad args/env (e.g. env
 * entry without '=').
 */
enum core_err wasi_ctx_new(const struct wasi_config *cfg,
    struct wasi_ctx **out, struct core_errbuf *eb);

/* Gives the context the module's linear memory (borrowed; may grow). */
void wasi_ctx_set_memory(struct wasi_ctx *ctx, wasm_rt_memory_t *mem);

/* Closes every fd the context holds and frees it. NULL is a no-op. */
void wasi_ctx_free(struct wasi_ctx *ctx);

/* Name -> implementation, NULL-terminated; names are bare ("fd_write"). */
struct wasi_import {
	const char *name;
	void *fn;
};
extern const struct wasi_import wasi_imports[];

/* True if name is a wasi_snapshot_preview1 function we implement. */
bool wasi_import_known(const char *name);

/* The implementations, with wasm2c's exact signatures (i32 -> u32,
 * i64 -> u64). All return a WASI errno except proc_exit. */
#define WASI_FN(name) Z_wasi_snapshot_preview1Z_##name
uint32_t WASI_FN(args_get)(struct wasi_ctx *, uint32_t, uint32_t);
uint32_t WASI_FN(args_sizes_get)(struct wasi_ctx *, uint32_t, uint32_t);
uint32_t WASI_FN(environ_get)(struct wasi_ctx *, uint32_t, uint32_t);
uint32_t WASI_FN(environ_sizes_get)(struct wasi_ctx *, uint32_t, uint32_t);
uint32_t WASI_FN(clock_res_get)(struct wasi_ctx *, uint32_t, uint32_t);
uint32_t WASI_FN(clock_time_get)(struct wasi_ctx *, uint32_t, uint64_t,
    uint32_t);
uint32_t WASI_FN(fd_advise)(struct wasi_ctx *, uint32_t, uint64_t, uint64_t,
    uint32_t);
uint32_t WASI_FN(fd_allocate)(struct wasi_ctx *, uint32_t, uint64_t,
    uint64_t);
uint32_t WASI_FN(fd_close)(struct wasi_ctx *, uint32_t);
uint32_t WASI_FN(fd_datasync)(struct wasi_ctx *, uint32_t);
uint32_t WASI_FN(fd_fdstat_get)(struct wasi_ctx *, uint32_t, uint32_t);
uint32_t WASI_FN(fd_fdstat_set_flags)(struct wasi_ctx *, uint32_t, uint32_t);
uint32_t WASI_FN(fd_fdstat_set_rights)(struct wasi_ctx *, uint32_t, uint64_t,
    uint64_t);
uint32_t WASI_FN(fd_filestat_get)(struct wasi_ctx *, uint32_t, uint32_t);
uint32_t WASI_FN(fd_filestat_set_size)(struct wasi_ctx *, uint32_t, uint64_t);
uint32_t WASI_FN(fd_filestat_set_times)(struct wasi_ctx *, uint32_t,
    uint64_t, uint64_t, uint32_t);
uint32_t WASI_FN(fd_pread)(struct wasi_ctx *, uint32_t, uint32_t, uint32_t,
    uint64_t, uint32_t);
uint32_t WASI_FN(fd_prestat_get)(struct wasi_ctx *, uint32_t, uint32_t);
uint32_t WASI_FN(fd_prestat_dir_name)(struct wasi_ctx *, uint32_t, uint32_t,
    uint32_t);
uint32_t WASI_FN(fd_pwrite)(struct wasi_ctx *, uint32_t, uint32_t, uint32_t,
    uint64_t, uint32_t);
uint32_t WASI_FN(fd_read)(struct wasi_ctx *, uint32_t, uint32_t, uint32_t,
    uint32_t);
uint32_t WASI_FN(fd_readdir)(struct wasi_ctx *, uint32_t, uint32_t, uint32_t,
    uint64_t, uint32_t);
uint32_t WASI_FN(fd_renumber)(struct wasi_ctx *, uint32_t, uint32_t);
uint32_t WASI_FN(fd_seek)(struct wasi_ctx *, uint32_t, uint64_t, uint32_t,
    uint32_t);
uint32_t WASI_FN(fd_sync)(struct wasi_ctx *, uint32_t);
uint32_t WASI_FN(fd_tell)(struct wasi_ctx *, uint32_t, uint32_t);
uint32_t WASI_FN(fd_write)(struct wasi_ctx *, uint32_t, uint32_t, uint32_t,
    uint32_t);
uint32_t WASI_FN(path_create_directory)(struct wasi_ctx *, uint32_t,
    uint32_t, uint32_t);
uint32_t WASI_FN(path_filestat_get)(struct wasi_ctx *, uint32_t, uint32_t,
    uint32_t, uint32_t, uint32_t);
uint32_t WASI_FN(path_filestat_set_times)(struct wasi_ctx *, uint32_t,
    uint32_t, uint32_t, uint32_t, uint64_t, uint64_t, uint32_t);
uint32_t WASI_FN(path_link)(struct wasi_ctx *, uint32_t, uint32_t, uint32_t,
    uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t WASI_FN(path_open)(struct wasi_ctx *, uint32_t, uint32_t, uint32_t,
    uint32_t, uint32_t, uint64_t, uint64_t, uint32_t, uint32_t);
uint32_t WASI_FN(path_readlink)(struct wasi_ctx *, uint32_t, uint32_t,
    uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t WASI_FN(path_remove_directory)(struct wasi_ctx *, uint32_t,
    uint32_t, uint32_t);
uint32_t WASI_FN(path_rename)(struct wasi_ctx *, uint32_t, uint32_t,
    uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t WASI_FN(path_symlink)(struct wasi_ctx *, uint32_t, uint32_t,
    uint32_t, uint32_t, uint32_t);
uint32_t WASI_FN(path_unlink_file)(struct wasi_ctx *, uint32_t, uint32_t,
    uint32_t);
uint32_t WASI_FN(poll_oneoff)(struct wasi_ctx *, uint32_t, uint32_t,
    uint32_t, uint32_t);
void WASI_FN(proc_exit)(struct wasi_ctx *, uint32_t);
uint32_t WASI_FN(proc_raise)(struct wasi_ctx *, uint32_t);
uint32_t WASI_FN(sched_yield)(struct wasi_ctx *);
uint32_t WASI_FN(random_get)(struct wasi_ctx *, uint32_t, uint32_t);
uint32_t WASI_FN(sock_accept)(struct wasi_ctx *, uint32_t, uint32_t,
    uint32_t);
uint32_t WASI_FN(sock_recv)(struct wasi_ctx *, uint32_t, uint32_t, uint32_t,
    uint32_t, uint32_t, uint32_t);
uint32_t WASI_FN(sock_send)(struct wasi_ctx *, uint32_t, uint32_t, uint32_t,
    uint32_t, uint32_t);
uint32_t WASI_FN(sock_shutdown)(struct wasi_ctx *, uint32_t, uint32_t);

/* ------------------------------------------------------------------ */
/* Internal to wasi*.c (exposed for the unit tests)                    */
/* ------------------------------------------------------------------ */

/* WASI errno values (preview1 numbering). */
enum wasi_errno {
	WASI_ESUCCESS = 0, WASI_E2BIG = 1, WASI_EACCES = 2, WASI_EADDRINUSE = 3,
	WASI_EADDRNOTAVAIL = 4, WASI_EAFNOSUPPORT = 5, WASI_EAGAIN = 6,
	WASI_EALREADY = 7, WASI_EBADF = 8, WASI_EBADMSG = 9, WASI_EBUSY = 10,
	WASI_ECANCELED = 11, WASI_ECHILD = 12, WASI_ECONNABORTED = 13,
	WASI_ECONNREFUSED = 14, WASI_ECONNRESET = 15, WASI_EDEADLK = 16,
	WASI_EDESTADDRREQ = 17, WASI_EDOM = 18, WASI_EDQUOT = 19,
	WASI_EEXIST = 20, WASI_EFAULT = 21, WASI_EFBIG = 22,
	WASI_EHOSTUNREACH = 23, WASI_EIDRM = 24, WASI_EILSEQ = 25,
	WASI_EINPROGRESS = 26, WASI_EINTR = 27, WASI_EINVAL = 28, WASI_EIO = 29,
	WASI_EISCONN = 30, WASI_EISDIR = 31, WASI_ELOOP = 32, WASI_EMFILE = 33,
	WASI_EMLINK = 34, WASI_EMSGSIZE = 35, WASI_EMULTIHOP = 36,
	WASI_ENAMETOOLONG = 37, WASI_ENETDOWN = 38, WASI_ENETRESET = 39,
	WASI_ENETUNREACH = 40, WASI_ENFILE = 41, WASI_ENOBUFS = 42,
	WASI_ENODEV = 43, WASI_ENOENT = 44, WASI_ENOEXEC = 45, WASI_ENOLCK = 46,
	WASI_ENOLINK = 47, WASI_ENOMEM = 48, WASI_ENOMSG = 49,
	WASI_ENOPROTOOPT = 50, WASI_ENOSPC = 51, WASI_ENOSYS = 52,
	WASI_ENOTCONN = 53, WASI_ENOTDIR = 54, WASI_ENOTEMPTY = 55,
	WASI_ENOTRECOVERABLE = 56, WASI_ENOTSOCK = 57, WASI_ENOTSUP = 58,
	WASI_ENOTTY = 59, WASI_ENXIO = 60, WASI_EOVERFLOW = 61,
	WASI_EOWNERDEAD = 62, WASI_EPERM = 63, WASI_EPIPE = 64,
	WASI_EPROTO = 65, WASI_EPROTONOSUPPORT = 66, WASI_EPROTOTYPE = 67,
	WASI_ERANGE = 68, WASI_EROFS = 69, WASI_ESPIPE = 70, WASI_ESRCH = 71,
	WASI_ESTALE = 72, WASI_ETIMEDOUT = 73, WASI_ETXTBSY = 74,
	WASI_EXDEV = 75, WASI_ENOTCAPABLE = 76
};

/* Longest guest path accepted (ERRNO_NAMETOOLONG beyond). */
#define WASI_PATH_MAX 4096
/* Longest single component. */
#define WASI_NAME_MAX 255

/*
 * The result of resolving a guest path beneath a directory fd: the
 * directory that holds the final component and that component's name.
 * Every intermediate component (and the final one when following) has been
 * walked one at a time with O_NOFOLLOW, symlinks expanded by hand, so the
 * parent is always beneath the starting directory.
 */
struct wasi_path_res {
	int dirfd;        /* parent dir; owned when dirfd_owned */
	bool dirfd_owned;
	bool trailing_slash; /* the guest path ended in '/' */
	char base[WASI_NAME_MAX + 2]; /* final component, "." for the dir
	                               * itself; '/' appended if trailing_slash */
};

/*
 * Resolves (path, len) (not NUL-terminated; guest bytes) beneath rootfd.
 * `follow` follows a symlink in the final component. Returns a WASI errno:
 * 0, PERM (absolute path or escape by ".." or symlink), NOENT (empty path),
 * INVAL (embedded NUL), ILSEQ (not UTF-8), NAMETOOLONG, LOOP (more than 40
 * symlinks), NOTDIR, or the mapped host errno. On success release res with
 * wasi_path_res_cleanup.
 */
uint16_t wasi_path_resolve(int rootfd, const char *path, size_t len,
    bool follow, struct wasi_path_res *res);
void wasi_path_res_cleanup(struct wasi_path_res *res);

/* The checks every guest path passes first (see wasi_path_resolve). */
uint16_t wasi_path_check(const char *path, size_t len);

/*
 * Opens guest path (path, len) beneath rootfd for path_open: one
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) where the kernel has it,
 * the wasi_path_resolve walk plus openat(O_NOFOLLOW) otherwise. `follow`
 * follows a final symlink. *out gets the fd; returns a WASI errno.
 */
uint16_t wasi_path_openat(int rootfd, const char *path, size_t len,
    bool follow, int flags, mode_t mode, int *out);

/* Tests only: turn the openat2 fast path on (default) or off. */
void wasi_path_use_openat2(bool on);

/* Maps a host errno value to a WASI errno. */
uint16_t wasi_errno_from_host(int e);

/*
 * openat() of a single name beneath dirfd: uses openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS when the kernel has it, plain
 * openat otherwise. Returns the fd or -1 with errno set.
 */
int wasi_openat_beneath(int dirfd, const char *name, int flags, mode_t mode);

/*
 * True if [ptr, ptr + len) lies inside the context's memory (false when
 * no memory is set). Every guest access goes through this.
 */
bool wasi_mem_ok(const struct wasi_ctx *ctx, uint32_t ptr, uint64_t len);

#endif /* PROPELLER_WASM_WASI_H */
