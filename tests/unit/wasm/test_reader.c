/* test_reader.c -- the module reader and value parsing/formatting. */
#include "wasm/wasm.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static uint8_t *
load(const char *name, size_t *n)
{
	char path[1024];
	uint8_t *p = NULL;

	snprintf(path, sizeof(path), "%s/%s", WT_PROGS, name);
	assert_int_equal(core_fs_read(path, 0, &p, n, NULL), CORE_OK);
	return p;
}

static void
test_valid(void **state)
{
	struct core_errbuf eb;
	struct wasm_module *m = NULL;
	const struct wasm_functype *ft;
	size_t n;
	uint8_t *p = load("wt_traps.wasm", &n);

	(void)state;
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(p, n, &m, &eb), CORE_OK);
	assert_non_null(wasm_module_export(m, "memory"));
	assert_int_equal(wasm_module_export(m, "memory")->kind,
	    WASM_EXTERN_MEMORY);
	ft = wasm_module_export_functype(m, "t_div0");
	assert_non_null(ft);
	assert_int_equal(ft->nparams, 1);
	assert_int_equal(ft->params[0], WASM_VAL_I32);
	assert_int_equal(ft->nresults, 1);
	assert_int_equal(ft->results[0], WASM_VAL_I32);
	ft = wasm_module_export_functype(m, "_start");
	assert_non_null(ft);
	assert_int_equal(ft->nparams, 0);
	assert_int_equal(ft->nresults, 0);
	assert_null(wasm_module_export_functype(m, "memory"));
	assert_null(wasm_module_export_functype(m, "nope"));
	assert_true(m->has_memory);
	assert_true(m->nimports > 0);
	assert_string_equal(m->imports[0].module, "wasi_snapshot_preview1");
	assert_int_equal(wasm_module_check_imports(m, &eb), CORE_OK);
	assert_int_equal(strlen(m->sha256_hex), 64);
	wasm_module_free(m);

	/* A module with mixed signatures. */
	free(p);
	p = load("wt_compute.wasm", &n);
	assert_int_equal(wasm_module_parse(p, n, &m, &eb), CORE_OK);
	ft = wasm_module_export_functype(m, "mix");
	assert_non_null(ft);
	assert_int_equal(ft->nparams, 3);
	assert_int_equal(ft->params[0], WASM_VAL_I64);
	assert_int_equal(ft->params[1], WASM_VAL_F64);
	assert_int_equal(ft->params[2], WASM_VAL_F32);
	assert_int_equal(ft->results[0], WASM_VAL_I64);
	wasm_module_free(m);
	free(p);
}

static void
test_truncated(void **state)
{
	struct core_errbuf eb;
	struct wasm_module *m = NULL;
	size_t n, cut;
	uint8_t *p = load("wt_traps.wasm", &n);
	int fails = 0;

	(void)state;
	/* Every prefix shorter than the module either fails with a message
	 * or (at a section boundary) parses: never crashes. */
	for (cut = 0; cut < n; cut += (cut < 256 ? 1 : 97)) {
		core_errbuf_clear(&eb);
		if (wasm_module_parse(p, cut, &m, &eb) != CORE_OK) {
			assert_null(m);
			assert_true(strlen(core_errbuf_msg(&eb)) > 0);
			fails++;
		} else {
			wasm_module_free(m);
		}
	}
	assert_true(fails > 100);
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(p, 5, &m, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "8-byte header"));
	/* Cut inside the type section's body. */
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(p, 14, &m, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "type section"));
	assert_non_null(strstr(core_errbuf_msg(&eb), "offset 0x"));
	free(p);
}

static void
test_bad_magic(void **state)
{
	static const uint8_t bad[] = { 0x7f, 'E', 'L', 'F', 1, 0, 0, 0 };
	static const uint8_t comp[] = { 0, 'a', 's', 'm', 0x0d, 0, 1, 0 };
	struct core_errbuf eb;
	struct wasm_module *m = NULL;

	(void)state;
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(bad, sizeof(bad), &m, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "bad magic"));
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(comp, sizeof(comp), &m, &eb),
	    CORE_ERR_UNSUPPORTED);
	assert_non_null(strstr(core_errbuf_msg(&eb), "version"));
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(NULL, 0, &m, &eb),
	    CORE_ERR_INVALID);
}

static void
test_oversized_and_overflow(void **state)
{
	/* type section claiming 0x7fffffff bytes. */
	static const uint8_t big[] = { 0, 'a', 's', 'm', 1, 0, 0, 0,
	    0x01, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00 };
	/* section length LEB with 6 bytes. */
	static const uint8_t leb[] = { 0, 'a', 's', 'm', 1, 0, 0, 0,
	    0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	/* LEB whose 5th byte sets bits beyond 32. */
	static const uint8_t leb2[] = { 0, 'a', 's', 'm', 1, 0, 0, 0,
	    0x01, 0xff, 0xff, 0xff, 0xff, 0x7f };
	/* type section of 2 bytes claiming 1000000 types. */
	static const uint8_t cnt[] = { 0, 'a', 's', 'm', 1, 0, 0, 0,
	    0x01, 0x04, 0xc0, 0x84, 0x3d, 0x60 };
	/* export section: name length 200 in a 4-byte section. */
	static const uint8_t name[] = { 0, 'a', 's', 'm', 1, 0, 0, 0,
	    0x07, 0x04, 0x01, 0xc8, 0x01, 0x61 };
	/* unknown section id 0x20. */
	static const uint8_t sid[] = { 0, 'a', 's', 'm', 1, 0, 0, 0,
	    0x20, 0x00 };
	/* type section with trailing junk. */
	static const uint8_t trail[] = { 0, 'a', 's', 'm', 1, 0, 0, 0,
	    0x01, 0x05, 0x01, 0x60, 0x00, 0x00, 0xaa };
	struct core_errbuf eb;
	struct wasm_module *m = NULL;

	(void)state;
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(big, sizeof(big), &m, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "runs past the end"));
	assert_non_null(strstr(core_errbuf_msg(&eb), "type section"));
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(leb, sizeof(leb), &m, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "LEB128"));
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(leb2, sizeof(leb2), &m, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "overflows"));
	core_errbuf_clear(&eb);
	assert_int_not_equal(wasm_module_parse(cnt, sizeof(cnt), &m, &eb),
	    CORE_OK);
	assert_non_null(strstr(core_errbuf_msg(&eb), "count"));
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(name, sizeof(name), &m, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "export section"));
	assert_non_null(strstr(core_errbuf_msg(&eb), "name runs past"));
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(sid, sizeof(sid), &m, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "unknown section id"));
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(trail, sizeof(trail), &m, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "trailing"));
	assert_null(m);
}

static void
test_random_bytes(void **state)
{
	struct wasm_module *m = NULL;
	uint8_t buf[512];
	uint32_t seed = 12345;
	size_t n, i;
	int iter;
	size_t len;
	uint8_t *p = load("wt_traps.wasm", &len);

	(void)state;
	for (iter = 0; iter < 3000; iter++) {
		n = (size_t)(iter % (int)sizeof(buf));
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (uint8_t)(seed >> 16);
		}
		if (iter % 2 == 0 && n >= 8)
			memcpy(buf, "\0asm\1\0\0\0", 8);
		if (wasm_module_parse(buf, n, &m, NULL) == CORE_OK)
			wasm_module_free(m);
	}
	/* Random byte flips in a real module. */
	for (iter = 0; iter < 2000; iter++) {
		uint8_t *q = malloc(len);
		memcpy(q, p, len);
		for (i = 0; i < 4; i++) {
			seed = seed * 1103515245u + 12345u;
			q[8 + (seed >> 8) % (len - 8)] ^= (uint8_t)seed;
		}
		if (wasm_module_parse(q, len, &m, NULL) == CORE_OK)
			wasm_module_free(m);
		free(q);
	}
	free(p);
}

static void
test_non_wasi_import(void **state)
{
	/* (module (import "env" "launch" (func))) */
	static const uint8_t mod[] = { 0, 'a', 's', 'm', 1, 0, 0, 0,
	    0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
	    0x02, 0x0e, 0x01, 0x03, 'e', 'n', 'v', 0x06, 'l', 'a', 'u', 'n',
	    'c', 'h', 0x00, 0x00 };
	/* (import "wasi_snapshot_preview1" "fd_launch_missiles" (func)) */
	static const uint8_t mod2[] = { 0, 'a', 's', 'm', 1, 0, 0, 0,
	    0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
	    0x02, 0x2d, 0x01, 0x16, 'w', 'a', 's', 'i', '_', 's', 'n', 'a',
	    'p', 's', 'h', 'o', 't', '_', 'p', 'r', 'e', 'v', 'i', 'e', 'w',
	    '1', 0x12, 'f', 'd', '_', 'l', 'a', 'u', 'n', 'c', 'h', '_', 'm',
	    'i', 's', 's', 'i', 'l', 'e', 's', 0x00, 0x00 };
	/* (import "wasi_snapshot_preview1" "fd_write" (func)) */
	static const uint8_t mod3[] = { 0, 'a', 's', 'm', 1, 0, 0, 0,
	    0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
	    0x02, 0x23, 0x01, 0x16, 'w', 'a', 's', 'i', '_', 's', 'n', 'a',
	    'p', 's', 'h', 'o', 't', '_', 'p', 'r', 'e', 'v', 'i', 'e', 'w',
	    '1', 0x08, 'f', 'd', '_', 'w', 'r', 'i', 't', 'e', 0x00, 0x00 };
	struct core_errbuf eb;
	struct wasm_module *m = NULL;

	(void)state;
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(mod, sizeof(mod), &m, &eb), CORE_OK);
	assert_int_equal(wasm_module_check_imports(m, &eb),
	    CORE_ERR_UNSUPPORTED);
	assert_non_null(strstr(core_errbuf_msg(&eb), "\"env\""));
	assert_non_null(strstr(core_errbuf_msg(&eb), "\"launch\""));
	wasm_module_free(m);
	/* A real WASI name with the wrong type. */
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(mod3, sizeof(mod3), &m, &eb),
	    CORE_OK);
	assert_int_equal(wasm_module_check_imports(m, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "\"fd_write\""));
	assert_non_null(strstr(core_errbuf_msg(&eb), "() -> ()"));
	wasm_module_free(m);
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_module_parse(mod2, sizeof(mod2), &m, &eb),
	    CORE_OK);
	assert_int_equal(wasm_module_check_imports(m, &eb),
	    CORE_ERR_UNSUPPORTED);
	assert_non_null(strstr(core_errbuf_msg(&eb), "fd_launch_missiles"));
	wasm_module_free(m);
}

static void
test_values(void **state)
{
	uint64_t b;
	char out[64];
	struct core_errbuf eb;

	(void)state;
	assert_int_equal(wasm_value_parse(WASM_VAL_I32, "10", &b, NULL), 0);
	assert_int_equal(b, 10);
	assert_int_equal(wasm_value_parse(WASM_VAL_I32, "-1", &b, NULL), 0);
	assert_int_equal(b, 0xffffffffu);
	wasm_value_format(WASM_VAL_I32, b, out, sizeof(out));
	assert_string_equal(out, "-1");
	assert_int_equal(wasm_value_parse(WASM_VAL_I32, "4294967295", &b,
	    NULL), 0);
	core_errbuf_clear(&eb);
	assert_int_equal(wasm_value_parse(WASM_VAL_I32, "4294967296", &b,
	    &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "i32"));
	assert_int_equal(wasm_value_parse(WASM_VAL_I32, "12x", &b, NULL),
	    CORE_ERR_INVALID);
	assert_int_equal(wasm_value_parse(WASM_VAL_I32, "", &b, NULL),
	    CORE_ERR_INVALID);
	assert_int_equal(wasm_value_parse(WASM_VAL_I64,
	    "-9223372036854775808", &b, NULL), 0);
	wasm_value_format(WASM_VAL_I64, b, out, sizeof(out));
	assert_string_equal(out, "-9223372036854775808");
	assert_int_equal(wasm_value_parse(WASM_VAL_F64, "2.5", &b, NULL), 0);
	wasm_value_format(WASM_VAL_F64, b, out, sizeof(out));
	assert_string_equal(out, "2.5");
	assert_int_equal(wasm_value_parse(WASM_VAL_F32, "0.1", &b, NULL), 0);
	wasm_value_format(WASM_VAL_F32, b, out, sizeof(out));
	assert_string_equal(out, "0.1");
	assert_int_equal(wasm_value_parse(WASM_VAL_F64, "abc", &b, NULL),
	    CORE_ERR_INVALID);
	assert_int_equal(wasm_value_parse(WASM_VAL_V128, "1", &b, NULL),
	    CORE_ERR_UNSUPPORTED);
	assert_string_equal(wasm_trap_str(WASM_TRAP_DIV_ZERO),
	    "integer divide by zero");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_oversized_and_overflow),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_non_wasi_import),
		cmocka_unit_test(test_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
