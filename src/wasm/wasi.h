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
 * Depends on: core (errors), wasm-rt.h. Never logs, never touches the
 * host outside the preopened directories and the given stdio fds.
 */
#ifndef PROPELLER_WASM_WASI_H
#define PROPELLER_WASM_WASI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	 * NULL or returns, the process does _exit(code).
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

#endif /* PROPELLER_WASM_WASI_H */
