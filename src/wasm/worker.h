/*
 * worker.h -- internal to src/wasm: persistent per-module workers.
 *
 * A worker is a long-lived child process (the caller's own executable
 * re-executed as "propeller-wasm-worker", see worker.c) that loads one
 * module's compiled code once and then serves runs over a SOCK_SEQPACKET
 * socketpair, each on a fresh instance. run.c turns a pooled run into a
 * struct wasm_task through the wasm_wrun_* calls below; the pool itself
 * (struct wasm_pool, public in wasm.h) lives in worker.c.
 *
 * Wire format (both directions): struct wk_hdr, then exactly hdr.len bytes
 * of payload; file descriptors travel as SCM_RIGHTS with the message.
 *   parent -> worker  WK_INIT  wk_init + cache dir      fds: module memfd
 *   worker -> parent  WK_READY wk_ready | WK_FAILED text
 *   parent -> worker  WK_RUN   wk_run + args/strings    fds: [stdin] out err
 *   worker -> parent  WK_DONE  wk_done + results + text
 * Ids must match the request; any malformed message ends the worker (on
 * the worker's side) or gets the worker killed (on the parent's side).
 */
#ifndef PROPELLER_WASM_WORKER_H
#define PROPELLER_WASM_WORKER_H

#include <assert.h>
#include <stdint.h>

#include <wasm-rt.h>

#include "wasm/wasm.h"

/* The engine's trap kind for a wasm2c runtime trap (run.c; shared by the
 * one-shot child and the worker). */
enum wasm_trap wasm_trap_from_rt(wasm_rt_trap_t t);

/* Ceiling on one message (a run request with its args and env). */
#define WK_MSG_MAX (256u * 1024)

enum wk_type {
	WK_INIT = 1,
	WK_READY = 2,
	WK_FAILED = 3,
	WK_RUN = 4,
	WK_DONE = 5
};

struct wk_hdr {
	uint32_t type;   /* enum wk_type */
	uint32_t len;    /* payload bytes after the header */
	uint64_t id;     /* request id, echoed in the reply */
};
static_assert(sizeof(struct wk_hdr) == 16, "wk_hdr layout");

struct wk_init {
	uint8_t sha256[32];  /* of the module in the memfd */
	uint64_t module_len;
	uint32_t tier;       /* WASM_TIER_1 or WASM_TIER_2 */
	uint32_t nofold;     /* tier-1 knob PROPELLER_WASM_NOFOLD */
	uint32_t cache_dir_len; /* bytes following (no NUL) */
	uint32_t pad;
};
static_assert(sizeof(struct wk_init) == 56, "wk_init layout");

struct wk_ready {
	int64_t compile_us;     /* wall time to load/compile */
	int64_t compile_cpu_us; /* CPU of that (worker + wasm2c) */
};
static_assert(sizeof(struct wk_ready) == 16, "wk_ready layout");

#define WK_RUN_INVOKE 0x1u    /* call export_idx with args, else _start */
#define WK_RUN_STDIN 0x2u     /* the first fd is stdin (else empty) */

struct wk_run {
	uint32_t flags;
	uint32_t export_idx;
	uint32_t nargs;      /* invoke: u64 values; _start: strings */
	uint32_t nenv;       /* strings */
	uint64_t max_memory_bytes;
	int64_t timeout_ms;  /* CPU limit for this request (wall: parent) */
	/* Then: invoke: nargs x uint64_t; then NUL-terminated strings:
	 * argv0, the _start args (nargs), the env entries (nenv). */
};
static_assert(sizeof(struct wk_run) == 32, "wk_run layout");

struct wk_done {
	uint32_t outcome;     /* WASM_OUT_EXITED/RETURNED/TRAPPED/FAILED */
	int32_t exit_code;
	uint32_t trap;        /* enum wasm_trap */
	uint32_t retire;      /* the worker exits after this reply */
	int64_t run_us;       /* wall time of the request in the worker */
	int64_t cpu_us;       /* CPU of the worker for the request */
	uint32_t results_len; /* bytes of results ("v\n" per value) */
	uint32_t errmsg_len;  /* bytes of the FAILED message */
};
static_assert(sizeof(struct wk_done) == 40, "wk_done layout");

/* A run on a pooled worker (parent side). */
struct wasm_wrun;

/*
 * Starts m with o on a worker of pool p: reuses an idle worker of the same
 * module and tier or spawns one, sends the request and returns at once.
 * *fallback is set (and CORE_OK returned, *out NULL) when this run should
 * use a one-shot child instead: the run is not eligible (see docs/wasm.md),
 * AUTO has no cached tier-2 object yet, the pool is full, or the worker
 * could not be started. args are the parsed invoke inputs (nargs values).
 */
enum core_err wasm_wrun_start(struct wasm_pool *p, const struct wasm_module *m,
    const struct wasm_run_opts *o, uint32_t export_idx, const uint64_t *args,
    struct wasm_wrun **out, bool *fallback, struct core_errbuf *eb);
/* The worker's pid (its own process group). */
pid_t wasm_wrun_pid(struct wasm_wrun *w);
/* SIGKILLs the worker while the run is in progress; a no-op afterwards. */
void wasm_wrun_kill(struct wasm_wrun *w);
/* Waits for the end of the run and fills r (init'ed by the caller). */
enum core_err wasm_wrun_wait(struct wasm_wrun *w, struct wasm_result *r);
/* Hands the worker back to the pool (or reaps it) and frees w. */
void wasm_wrun_free(struct wasm_wrun *w);

/* Enables reuse of linear-memory reservations in this process (workers
 * only; see worker_rt.c). */
void wasm_rt_mem_reuse(bool on);

#endif /* PROPELLER_WASM_WORKER_H */
