/*
 * wt_common.h -- helpers shared by the engine tests (test_run.c,
 * test_worker.c, test_fold.c): loading a test program and the run options
 * they all start from.
 */
#ifndef WT_COMMON_H
#define WT_COMMON_H

#include "wasm/wasm.h"

/* Parses WT_PROGS/name; fails the test with the parser's reason. */
struct wasm_module *wt_load(const char *name);

/* Run options for tier in cache_dir: no stdin, no background tier-2 build,
 * a 60 s timeout. */
void wt_opts_init(struct wasm_run_opts *o, enum wasm_tier tier,
    const char *cache_dir);

#endif
