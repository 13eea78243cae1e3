/*
 * wt_common.c -- see wt_common.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "wt_common.h"

struct wasm_module *
wt_load(const char *name)
{
	char path[1024];
	uint8_t *p = NULL;
	size_t n = 0;
	struct wasm_module *m = NULL;
	struct core_errbuf eb;

	core_errbuf_clear(&eb);
	snprintf(path, sizeof(path), "%s/%s", WT_PROGS, name);
	assert_int_equal(core_fs_read(path, 0, &p, &n, &eb), CORE_OK);
	if (wasm_module_parse(p, n, &m, &eb) != CORE_OK)
		fail_msg("%s: %s", name, core_errbuf_msg(&eb));
	free(p);
	return m;
}

void
wt_opts_init(struct wasm_run_opts *o, enum wasm_tier tier,
    const char *cache_dir)
{
	memset(o, 0, sizeof(*o));
	o->stdin_fd = -1;
	o->tier = tier;
	o->cache_dir = cache_dir;
	o->no_background_build = true;
	o->timeout_ms = 60000;
}
