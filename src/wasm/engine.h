/*
 * engine.h -- internal to src/wasm: turning a module into runnable code.
 *
 * codegen (wasm2c as a subprocess, output kept in memory, plus the glue
 * this engine appends), tier 1 (libtcc in memory) and tier 2 (cc -O2 into
 * the cache, stamped and validated before dlopen).
 */
#ifndef PROPELLER_WASM_ENGINE_H
#define PROPELLER_WASM_ENGINE_H

#include <stdint.h>

#include "wasm/wasm.h"

/* Bumped whenever generated code or the glue ABI changes: stale tier-2
 * objects carry the old stamp and are rebuilt. */
#define WASM_ENGINE_VERSION 6u

/* The glue every compiled module exports (see engine.c). */
struct wasm_entry {
	void *(*instantiate)(void *wasi_ctx);
	void *(*memory)(void); /* wasm_rt_memory_t *, NULL if none exported */
	/* Calls export number idx with raw 64-bit args; fills results.
	 * Returns 0, or -1 if the export is not callable through the glue. */
	int (*call)(uint32_t idx, const uint64_t *args, uint64_t *results);
};

/* Loaded code: owns the tcc state or the dlopen handle. */
struct wasm_code {
	struct wasm_entry entry;
	void *tcc;      /* owned: TCCState (tier 1) */
	void *dl;       /* owned: dlopen handle (tier 2) */
	int memfd;      /* owned: memfd backing the dlopen'ed object */
	enum wasm_tier tier;
};

/* Runs wasm2c on m and appends the glue; *c is malloc'd NUL-terminated C. */
enum core_err wasm_codegen(const struct wasm_module *m, char **c,
    size_t *clen, struct core_errbuf *eb);

/*
 * Tier 1's expression-tree folding of wasm2c's output (codegen_fold.c):
 * returns a malloc'd rewrite of c, or NULL if out of memory.
 */
char *wasm_tier1_fold(const char *c);

/* Tier 1: compile the C in memory with libtcc. */
enum core_err wasm_tier1_load(const char *c, struct wasm_code *code,
    struct core_errbuf *eb);

/* Tier 2: load m's validated object from cache_dir (CORE_ERR_NOT_FOUND if
 * absent or invalid). */
enum core_err wasm_tier2_load(const char *cache_dir,
    const struct wasm_module *m, struct wasm_code *code,
    struct core_errbuf *eb);

void wasm_code_cleanup(struct wasm_code *code);

/* Reads tier-1 knobs (PROPELLER_WASM_NOFOLD) from the environment. */
void wasm_tier1_read_env(void);

/* Whether the glue can call a function of this type. */
bool wasm_functype_callable(const struct wasm_functype *ft);

/* Absolute path of prog found in $PATH (or the usual dirs); malloc'd. */
char *wasm_find_program(const char *prog);

#endif /* PROPELLER_WASM_ENGINE_H */
