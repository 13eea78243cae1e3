/*
 * wasm.h -- the WebAssembly engine: module reader, tiered execution
 * (wasm2c -> libtcc in memory, wasm2c -> cc -O2 shared object cached by
 * sha256), an isolated child process per run, and an external-runtime mode.
 *
 * Owns: parsing module headers and the type/import/function/memory/export
 * sections, turning a module into C, compiling and running it, the tier-2
 * cache directory it is given, the child processes it starts.
 *
 * Depends on: core, libtcc, the wasm2c runtime (wabt), `wasm2c` and `cc`
 * found in PATH, the WASI preview1 host (wasi.h, internal).
 *
 * Never: logs, writes the module's code or its generated C to any file
 * (tier 1 is in memory; tier 2 writes only the compiled shared object into
 * the cache directory it is given), lets a module run inside the caller's
 * process, or passes the caller's environment to a module.
 */
#ifndef PROPELLER_WASM_H
#define PROPELLER_WASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/core.h"

/* ------------------------------------------------------------------ */
/* Module reader                                                       */
/* ------------------------------------------------------------------ */

/* Ceiling on modules accepted from outside. */
#define WASM_MODULE_MAX_BYTES (256u * 1024 * 1024)
/* Ceilings on counts inside one module. */
#define WASM_MAX_TYPES 100000u
#define WASM_MAX_PARAMS 1000u
#define WASM_MAX_IMPORTS 100000u
#define WASM_MAX_EXPORTS 100000u
#define WASM_MAX_FUNCS 1000000u
#define WASM_MAX_NAME_BYTES 100000u

enum wasm_valtype {
	WASM_VAL_I32 = 0x7f,
	WASM_VAL_I64 = 0x7e,
	WASM_VAL_F32 = 0x7d,
	WASM_VAL_F64 = 0x7c,
	WASM_VAL_V128 = 0x7b,
	WASM_VAL_FUNCREF = 0x70,
	WASM_VAL_EXTERNREF = 0x6f
};

enum wasm_extern_kind {
	WASM_EXTERN_FUNC = 0,
	WASM_EXTERN_TABLE = 1,
	WASM_EXTERN_MEMORY = 2,
	WASM_EXTERN_GLOBAL = 3
};

struct wasm_functype {
	uint32_t nparams;
	uint32_t nresults;
	uint8_t *params;  /* owned; enum wasm_valtype values */
	uint8_t *results; /* owned */
};

struct wasm_import {
	char *module;      /* owned, NUL-terminated (validated UTF-8 not checked) */
	char *field;       /* owned */
	uint8_t kind;      /* enum wasm_extern_kind */
	uint32_t type_idx; /* for functions: index into types */
};

struct wasm_export {
	char *name;     /* owned */
	uint8_t kind;   /* enum wasm_extern_kind */
	uint32_t index; /* function/table/memory/global index */
};

/* A parsed module. Fields are read-only for callers. */
struct wasm_module {
	uint8_t *bytes;          /* owned: a copy of the module */
	size_t len;
	uint8_t sha256[32];      /* of bytes */
	char sha256_hex[65];

	struct wasm_functype *types; /* owned; ntypes entries */
	uint32_t ntypes;
	struct wasm_import *imports; /* owned */
	uint32_t nimports;
	uint32_t nfunc_imports;
	uint32_t *func_types;        /* owned; type index of each defined function */
	uint32_t nfuncs;             /* defined functions (not imports) */
	struct wasm_export *exports; /* owned */
	uint32_t nexports;
	bool has_memory;             /* defines or imports a memory */
	uint32_t mem_initial_pages;
	uint32_t mem_max_pages;      /* UINT32_MAX when absent */
	bool has_start;              /* a start section */
};

/*
 * Validates the header and reads the sections above from (p, n), copying
 * the bytes. A malformed module fails with CORE_ERR_INVALID (CORE_ERR_TOO_BIG
 * beyond the ceilings) and a message naming the section and byte offset,
 * e.g. "wasm: export section at offset 0x2f: name runs past the section end".
 */
enum core_err wasm_module_parse(const uint8_t *p, size_t n,
    struct wasm_module **out, struct core_errbuf *eb);
void wasm_module_free(struct wasm_module *m);

/* The export called name (any kind), or NULL. */
const struct wasm_export *wasm_module_export(const struct wasm_module *m,
    const char *name);
/* The signature of function export name, or NULL if absent/not a function. */
const struct wasm_functype *wasm_module_export_functype(
    const struct wasm_module *m, const char *name);
/* "i32", "i64", "f32", "f64", ... */
const char *wasm_valtype_name(uint8_t t);

/*
 * Checks that every import is a function of wasi_snapshot_preview1 the host
 * implements; otherwise CORE_ERR_UNSUPPORTED naming module and field.
 */
enum core_err wasm_module_check_imports(const struct wasm_module *m,
    struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* Running                                                             */
/* ------------------------------------------------------------------ */

enum wasm_tier {
	WASM_TIER_AUTO = 0, /* see docs/wasm.md: cached tier 2 wins, else tier 1
	                     * now + background tier-2 build */
	WASM_TIER_1,        /* libtcc in memory */
	WASM_TIER_2,        /* cc -O2 shared object (built now if not cached) */
	WASM_TIER_EXTERNAL  /* an external wasmtime-compatible CLI binary */
};

enum wasm_trap {
	WASM_TRAP_NONE = 0,
	WASM_TRAP_UNREACHABLE,
	WASM_TRAP_OOB,            /* out-of-bounds memory access */
	WASM_TRAP_STACK,          /* call stack exhausted */
	WASM_TRAP_DIV_ZERO,       /* integer divide by zero */
	WASM_TRAP_INT_OVERFLOW,   /* integer overflow (division or truncation) */
	WASM_TRAP_INVALID_CONVERSION, /* NaN to integer */
	WASM_TRAP_INDIRECT_CALL,  /* null or type-mismatched call_indirect */
	WASM_TRAP_OOM,            /* memory beyond the limit */
	WASM_TRAP_OTHER
};

/* "unreachable", "out of bounds memory access", ... */
const char *wasm_trap_str(enum wasm_trap t);

enum wasm_outcome {
	WASM_OUT_EXITED = 0, /* exit_code valid (0 when _start returned) */
	WASM_OUT_RETURNED,   /* an --invoke export returned; results valid */
	WASM_OUT_TRAPPED,    /* trap valid */
	WASM_OUT_TIMEOUT,    /* killed at the deadline */
	WASM_OUT_KILLED,     /* killed on request (wasm_task_kill) */
	WASM_OUT_CRASHED,    /* the child died otherwise (signal in term_signal) */
	WASM_OUT_FAILED      /* could not load/compile/instantiate: see err */
};

struct wasm_preopen {
	const char *host_path;  /* borrowed */
	const char *guest_path; /* borrowed */
};

struct wasm_run_opts {
	const char *invoke;           /* borrowed; NULL = _start */
	const char *const *args;      /* borrowed; nargs entries: argv[1..] for
	                               * _start, typed inputs for invoke */
	size_t nargs;
	const char *argv0;            /* borrowed; program name; NULL = "main" */
	const char *const *env;       /* borrowed; nenv "K=V" entries */
	size_t nenv;
	const struct wasm_preopen *preopens; /* borrowed */
	size_t npreopens;
	const void *stdin_data;       /* borrowed; NULL = empty stdin */
	size_t stdin_len;
	int stdin_fd;                 /* >= 0: pass this fd as stdin instead */
	bool inherit_stdout;          /* stream to our fd 1 instead of capturing */
	bool inherit_stderr;
	size_t stdout_max;            /* capture ceilings; 0 = 16 MiB / 1 MiB */
	size_t stderr_max;
	enum wasm_tier tier;
	uint64_t max_memory_bytes;    /* linear memory ceiling; 0 = 1 GiB */
	int64_t timeout_ms;           /* wall clock; 0 = none */
	const char *cache_dir;        /* borrowed; tier-2 cache; NULL = default */
	bool confidential;            /* cache only on memory-backed storage */
	bool no_background_build;     /* auto: never start a tier-2 build */
	const char *external_runtime; /* borrowed; path for WASM_TIER_EXTERNAL */
	const char *module_path;      /* borrowed; external mode: the module file
	                               * (NULL = written to a private tmp dir) */
};

struct wasm_result {
	enum wasm_outcome outcome;
	int exit_code;            /* EXITED */
	enum wasm_trap trap;      /* TRAPPED */
	int term_signal;          /* CRASHED */
	enum wasm_tier tier_used; /* the tier that produced the result */
	char *results;            /* owned; RETURNED: one value per line */
	struct core_buf out;      /* owned: captured stdout */
	struct core_buf err;      /* owned: captured stderr */
	char errmsg[CORE_ERRBUF_LEN]; /* FAILED: why */
	int64_t compile_ms;       /* wall time spent making code runnable */
	int64_t run_ms;           /* wall time of the whole run */
	int64_t cpu_ms;           /* CPU (user+sys) of the child and its helpers */
	int64_t run_cpu_ms;       /* CPU after the code was ready (the run) */
	bool on_worker;           /* served by a persistent worker */
	int64_t worker_cpu_us;    /* on_worker: the worker's CPU for this run
	                           * (plus loading the code if it was new) */
};

void wasm_result_init(struct wasm_result *r);
void wasm_result_cleanup(struct wasm_result *r);

/* An asynchronous run (a child process). */
struct wasm_task;

/*
 * Starts a run of m in a child process and returns at once. The module is
 * borrowed until wasm_task_wait returns. Fails only if the child cannot be
 * started or the options are invalid; load/compile/trap problems are
 * reported in the result.
 */
enum core_err wasm_task_start(const struct wasm_module *m,
    const struct wasm_run_opts *o, struct wasm_task **out,
    struct core_errbuf *eb);
/* The child's pid (its own process group). */
pid_t wasm_task_pid(const struct wasm_task *t);
/* Asks the task to stop (SIGKILL to its process group); safe to repeat. */
void wasm_task_kill(struct wasm_task *t);
/* Waits for the end, fills r (init'ed by the call) and frees the task. */
enum core_err wasm_task_wait(struct wasm_task *t, struct wasm_result *r,
    struct core_errbuf *eb);
/*
 * wasm_task_wait without the free: t stays valid, and wasm_task_kill on it
 * is a harmless no-op from the moment the run has ended, so another thread
 * may keep a pointer to t until wasm_task_free.
 */
enum core_err wasm_task_finish(struct wasm_task *t, struct wasm_result *r,
    struct core_errbuf *eb);
/* Frees a task after wasm_task_finish (NULL is a no-op). */
void wasm_task_free(struct wasm_task *t);

/* wasm_task_start + wasm_task_wait. */
enum core_err wasm_run(const struct wasm_module *m,
    const struct wasm_run_opts *o, struct wasm_result *r,
    struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* Persistent workers                                                  */
/* ------------------------------------------------------------------ */

/*
 * A pool of persistent workers: child processes that each load one
 * module's compiled code (tier 1 or 2) once and then serve runs, each on a
 * fresh instance (memory, globals, tables, WASI args/env/stdio), with the
 * same isolation as a one-shot child: own process, clean environment, CPU
 * and memory rlimits, SIGKILL on timeout or kill (the worker is replaced).
 * docs/wasm.md says which runs may use a worker. Thread-safe.
 */
struct wasm_pool;

struct wasm_pool_opts {
	unsigned max_per_module;  /* workers per (module, tier); 0 = CPUs */
	unsigned max_total;       /* all workers; 0 = 4 x max_per_module */
	int64_t idle_timeout_ms;  /* idle workers exit after this; 0 = 30 s */
	int64_t wait_ms;          /* how long a run waits for a busy module's
	                           * worker before going one-shot; 0 = 100 ms,
	                           * negative = never wait */
};

struct wasm_pool_stats {
	unsigned workers, idle;   /* now */
	uint64_t spawned;         /* workers started */
	uint64_t served;          /* runs that ended on a worker kept alive */
	uint64_t fallbacks;       /* runs sent to a one-shot child */
	uint64_t expired;         /* idle workers ended by the timeout */
	uint64_t evicted;         /* idle workers ended to make room */
};

/* o may be NULL (defaults). */
enum core_err wasm_pool_new(const struct wasm_pool_opts *o,
    struct wasm_pool **out, struct core_errbuf *eb);
/* Ends every worker. No run of the pool may still be in progress. */
void wasm_pool_free(struct wasm_pool *p);
void wasm_pool_get_stats(struct wasm_pool *p, struct wasm_pool_stats *s);

/*
 * wasm_task_start through the pool: a run a worker can serve goes to an
 * idle worker of the module (spawned if needed); any other run, or one
 * that finds the pool full, starts a one-shot child as wasm_task_start
 * does. Results are the same either way (r->on_worker tells). p NULL =
 * wasm_task_start.
 */
enum core_err wasm_pool_task_start(struct wasm_pool *p,
    const struct wasm_module *m, const struct wasm_run_opts *o,
    struct wasm_task **out, struct core_errbuf *eb);
/* wasm_pool_task_start + wasm_task_wait. */
enum core_err wasm_pool_run(struct wasm_pool *p, const struct wasm_module *m,
    const struct wasm_run_opts *o, struct wasm_result *r,
    struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* Tier-2 cache                                                        */
/* ------------------------------------------------------------------ */

/*
 * The cache directory to use: dir if given, else $PROPELLER_WASM_CACHE, else
 * $XDG_CACHE_HOME/propeller/wasm or ~/.cache/propeller/wasm; a confidential
 * module always gets a private memory-backed directory (core_fs_private_tmpdir)
 * unless dir is itself memory-backed. Malloc'd.
 */
enum core_err wasm_cache_dir(const char *dir, bool confidential, char **out,
    struct core_errbuf *eb);
/* Path of m's shared object in cache_dir (malloc'd). */
char *wasm_cache_path(const char *cache_dir, const struct wasm_module *m);
/* True if the cache holds a valid (stamp-checked) object for m. */
bool wasm_cache_valid(const char *cache_dir, const struct wasm_module *m);
/* Builds m's tier-2 object now (cc -O2), replacing any broken entry;
 * *compile_ms (optional) gets the CPU time of wasm2c + cc. */
enum core_err wasm_cache_build(const char *cache_dir,
    const struct wasm_module *m, int64_t *compile_ms,
    struct core_errbuf *eb);

/*
 * Compiles m in tier 1 in this process without running it and reports the
 * CPU time of wasm2c (a subprocess) and of libtcc, in microseconds (for the
 * benchmark; CPU rather than wall time because the machines are shared).
 */
enum core_err wasm_tier1_compile_time(const struct wasm_module *m,
    int64_t *wasm2c_us, int64_t *tcc_us, struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* CLI helpers                                                         */
/* ------------------------------------------------------------------ */

/* Parses s as a value of type t into the 64 raw bits of *bits. */
enum core_err wasm_value_parse(uint8_t t, const char *s, uint64_t *bits,
    struct core_errbuf *eb);
/* Formats a value like wasmtime does (integers signed decimal, floats %g
 * shortest round-trip). out >= 64 bytes. */
void wasm_value_format(uint8_t t, uint64_t bits, char *out, size_t outlen);

#endif /* PROPELLER_WASM_H */
