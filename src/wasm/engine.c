/*
 * engine.c -- module -> C (wasm2c) -> runnable code, in two tiers.
 *
 * wasm2c runs as a subprocess reading the module on stdin and writing the
 * header and source to stdout, captured in memory: no file holds the module
 * or the C. This engine appends glue (propeller_instantiate/_memory/_call)
 * so the host never has to know a module's C symbol names or signatures.
 *
 * Tier 1 feeds the C to libtcc in memory. libtcc cannot use the system
 * headers (no tcc include dir is installed, and it does not inline), so the
 * includes are dropped and a self-contained prelude supplies what wasm2c's
 * code needs; wasm2c's memcpy-based load/store helper functions are replaced
 * by macros that dereference linear memory directly, and codegen_fold.c
 * folds wasm2c's one-statement-per-stack-op C into expression trees (tcc
 * keeps every temporary in memory). Bounds checks are not
 * needed: memories are 8 GiB guard-page reservations (wasm-rt-impl with
 * WASM_RT_MEMCHECK_SIGNAL_HANDLER) and an out-of-range access faults into
 * the runtime's SIGSEGV handler, which raises the OOB trap.
 *
 * Tier 2 compiles the same C (unmodified, with the real headers) with
 * cc -O2 into a shared object read from stdin and written into the cache
 * directory, then appends a stamp (magic, engine version, module sha256,
 * object sha256). A load reads the whole file, checks the stamp and hash,
 * copies it into a memfd and dlopens that, so what runs is what was checked.
 */
#include "wasm/engine.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libtcc.h>
#include <openssl/evp.h>
#include <wasm-rt.h>

#include "wasm/wasi.h"

#define CODEGEN_MAX_BYTES (512u * 1024 * 1024)
#define STAMP_MAGIC "PROPWASM"
#define STAMP_LEN (8 + 8 + 32 + 32 + 8)
#define TIER2_MAX_OBJECT (512u * 1024 * 1024)

static enum core_err glue_append(const struct wasm_module *m,
    const char *gen, struct core_buf *b);
static char *mangle(const char *name);
static const char *ctype(uint8_t t);
static void tcc_err_cb(void *opaque, const char *msg);
static enum core_err tier1_source(const char *c, struct core_buf *out);
static enum core_err tier2_source(const char *c, struct core_buf *out);
static int tier1_add_symbols(TCCState *s);
static bool stamp_ok(const uint8_t *p, size_t n, const struct wasm_module *m,
    size_t *obj_len);
static enum core_err sha256(const void *p, size_t n, uint8_t out[32]);
static int64_t children_cpu_us(void);

/* Helpers tcc-generated code may call instead of libtcc1's. */
static uint64_t tcc_fixunssfdi(float f);
static uint64_t tcc_fixunsdfdi(double d);
static float tcc_floatundisf(uint64_t u);
static double tcc_floatundidf(uint64_t u);

char *
wasm_find_program(const char *prog)
{
	const char *path = getenv("PATH");
	const char *p, *colon;
	char dir[4096];
	char *full;
	size_t len;

	if (strchr(prog, '/') != NULL)
		return strdup(prog);
	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p != '\0'; p = colon + 1) {
		colon = strchr(p, ':');
		if (colon == NULL)
			colon = p + strlen(p);
		len = (size_t)(colon - p);
		if (len > 0 && len < sizeof(dir)) {
			memcpy(dir, p, len);
			dir[len] = '\0';
			full = core_path_join(dir, prog);
			if (full != NULL && access(full, X_OK) == 0)
				return full;
			free(full);
		}
		if (*colon == '\0')
			break;
	}
	return NULL;
}

/* CPU (user+sys) of this process's waited-for children, microseconds. */
static int64_t
children_cpu_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
		return 0;
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static enum core_err
sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 0;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return CORE_ERR_CRYPTO;
	return CORE_OK;
}

/* ------------------------------------------------------------------ */
/* Codegen                                                             */
/* ------------------------------------------------------------------ */

/* wasm2c 1.0.32's MangleName: [A-Za-z0-9_] kept except 'Z'; else Z%02X. */
static char *
mangle(const char *name)
{
	struct core_buf b;
	const unsigned char *s;

	core_buf_init(&b, 0);
	if (core_buf_append_str(&b, "Z_mZ_") != CORE_OK)
		goto fail;
	for (s = (const unsigned char *)name; *s != '\0'; s++) {
		if ((((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9')) && *s != 'Z') || *s == '_') {
			if (core_buf_append(&b, s, 1) != CORE_OK)
				goto fail;
		} else if (core_buf_printf(&b, "Z%02X", *s) != CORE_OK)
			goto fail;
	}
	return (char *)core_buf_steal(&b, NULL);
fail:
	core_buf_cleanup(&b);
	return NULL;
}

static const char *
ctype(uint8_t t)
{
	switch (t) {
	case WASM_VAL_I32: return "u32";
	case WASM_VAL_I64: return "u64";
	case WASM_VAL_F32: return "f32";
	case WASM_VAL_F64: return "f64";
	default: return NULL;
	}
}

bool
wasm_functype_callable(const struct wasm_functype *ft)
{
	uint32_t i;

	if (ft->nresults > 1 || ft->nparams > 64)
		return false;
	for (i = 0; i < ft->nparams; i++)
		if (ctype(ft->params[i]) == NULL)
			return false;
	for (i = 0; i < ft->nresults; i++)
		if (ctype(ft->results[i]) == NULL)
			return false;
	return true;
}

static enum core_err
glue_append(const struct wasm_module *m, const char *gen, struct core_buf *b)
{
	const struct wasm_functype *ft;
	const struct wasm_export *ex;
	enum core_err err = CORE_OK;
	char *sym = NULL, *decl = NULL;
	uint32_t i, j;
	bool has_mem = false;

#define AP(...) do { err = core_buf_printf(b, __VA_ARGS__); \
	if (err != CORE_OK) goto out; } while (0)
	/* Tier 1 keeps the memory base in a global (see tier1_source). */
	if (strstr(gen, "  wasm_rt_memory_t w2c_memory;\n") != NULL)
		AP("\n#ifdef PROP_MEMBASE\n#define PROPELLER_SET_MEMBASE "
		    "propeller_membase = propeller_inst.w2c_memory.data;\n"
		    "#endif\n");
	AP("\n#ifndef PROPELLER_SET_MEMBASE\n#define PROPELLER_SET_MEMBASE\n"
	    "#endif\n");
	AP("\n/* ---- propeller glue (engine v%u) ---- */\n"
	    "static Z_m_instance_t propeller_inst;\n"
	    "static f32 propeller_tof32(u64 b) { union { u32 u; f32 f; } x; "
	    "x.u = (u32)b; return x.f; }\n"
	    "static f64 propeller_tof64(u64 b) { union { u64 u; f64 f; } x; "
	    "x.u = b; return x.f; }\n"
	    "static u64 propeller_fromf32(f32 f) { union { u32 u; f32 f; } x; "
	    "x.f = f; return x.u; }\n"
	    "static u64 propeller_fromf64(f64 f) { union { u64 u; f64 f; } x; "
	    "x.f = f; return x.u; }\n"
	    "void *propeller_instantiate(void *w) {\n"
	    "  (void)w;\n"
	    "  Z_m_init_module();\n", WASM_ENGINE_VERSION);
	/* Modules that import nothing take no WASI instance. */
	if (strstr(gen, "void Z_m_instantiate(Z_m_instance_t*, struct "
	    "Z_wasi_snapshot_preview1_instance_t*);") != NULL)
		AP("  Z_m_instantiate(&propeller_inst, "
		    "(struct Z_wasi_snapshot_preview1_instance_t *)w);\n");
	else
		AP("  Z_m_instantiate(&propeller_inst);\n");
	AP("  PROPELLER_SET_MEMBASE\n"
	    "  return &propeller_inst;\n}\n");
	ex = wasm_module_export(m, "memory");
	if (ex != NULL && ex->kind == WASM_EXTERN_MEMORY &&
	    strstr(gen, "wasm_rt_memory_t* Z_mZ_memory(") != NULL)
		has_mem = true;
	AP("void *propeller_memory(void) { return %s; }\n",
	    has_mem ? "Z_mZ_memory(&propeller_inst)" : "(void *)0");
	AP("int propeller_call(u32 idx, const u64 *a, u64 *r) {\n"
	    "  (void)a; (void)r;\n  switch (idx) {\n");
	for (i = 0; i < m->nexports; i++) {
		ex = &m->exports[i];
		if (ex->kind != WASM_EXTERN_FUNC)
			continue;
		ft = wasm_module_export_functype(m, ex->name);
		if (ft == NULL || !wasm_functype_callable(ft))
			continue;
		free(sym);
		sym = mangle(ex->name);
		free(decl);
		decl = NULL;
		if (sym == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		/* Only call what wasm2c really emitted under that name. */
		if (asprintf(&decl, "%s(Z_m_instance_t*", sym) < 0) {
			decl = NULL;
			err = CORE_ERR_NOMEM;
			goto out;
		}
		if (strstr(gen, decl) == NULL)
			continue;
		AP("  case %u: ", i);
		if (ft->nresults == 1) {
			if (ft->results[0] == WASM_VAL_F32)
				AP("r[0] = propeller_fromf32(");
			else if (ft->results[0] == WASM_VAL_F64)
				AP("r[0] = propeller_fromf64(");
			else
				AP("r[0] = (u64)(");
		} else
			AP("(");
		AP("%s(&propeller_inst", sym);
		for (j = 0; j < ft->nparams; j++) {
			switch (ft->params[j]) {
			case WASM_VAL_F32: AP(", propeller_tof32(a[%u])", j); break;
			case WASM_VAL_F64: AP(", propeller_tof64(a[%u])", j); break;
			case WASM_VAL_I32: AP(", (u32)a[%u]", j); break;
			default: AP(", a[%u]", j); break;
			}
		}
		AP(")); return 0;\n");
	}
	AP("  default: return -1;\n  }\n}\n");
#undef AP
out:
	free(sym);
	free(decl);
	return err;
}

enum core_err
wasm_codegen(const struct wasm_module *m, char **c, size_t *clen,
    struct core_errbuf *eb)
{
	struct core_proc_opts po;
	struct core_proc_result pr;
	const char *argv[6];
	char *wasm2c = NULL;
	enum core_err err;
	bool have_pr = false;

	*c = NULL;
	wasm2c = wasm_find_program("wasm2c");
	if (wasm2c == NULL) {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "wasm: wasm2c not found in PATH (install wabt)");
		goto out;
	}
	argv[0] = wasm2c;
	argv[1] = "-";
	argv[2] = "-n";
	argv[3] = "m";
	argv[4] = "--no-debug-names";
	argv[5] = NULL;
	memset(&po, 0, sizeof(po));
	po.argv = argv;
	po.stdin_data = m->bytes;
	po.stdin_len = m->len;
	po.stdout_max = CODEGEN_MAX_BYTES;
	po.timeout_ms = 120000;
	err = core_proc_run(&po, &pr, eb);
	if (err != CORE_OK)
		goto out;
	have_pr = true;
	if (pr.signaled || pr.exit_code != 0 || pr.timed_out) {
		/* wasm2c's own message says what is wrong with the module. */
		size_t l = pr.err.len;
		while (l > 0 && (pr.err.data[l - 1] == '\n'))
			l--;
		err = core_errf(eb, CORE_ERR_INVALID,
		    "wasm: wasm2c rejected the module: %.*s", (int)(l > 300 ?
		    300 : l), pr.err.data ? (const char *)pr.err.data : "");
		goto out;
	}
	if (pr.out_truncated) {
		err = core_errf(eb, CORE_ERR_TOO_BIG,
		    "wasm: generated C exceeds %u bytes", CODEGEN_MAX_BYTES);
		goto out;
	}
	/* Header and source come as one stream: the source's include of the
	 * header (named after the input, "wasm.h") must go. */
	{
		char *inc = strstr((char *)pr.out.data, "\n#include \"wasm.h\"\n");

		if (inc != NULL)
			memset(inc + 1, ' ', strlen("#include \"wasm.h\""));
	}
	err = glue_append(m, (const char *)pr.out.data, &pr.out);
	if (err != CORE_OK) {
		core_errf(eb, err, "wasm: building the glue failed");
		goto out;
	}
	*c = (char *)core_buf_steal(&pr.out, clen);
out:
	if (have_pr)
		core_proc_result_cleanup(&pr);
	free(wasm2c);
	return err;
}

/* ------------------------------------------------------------------ */
/* Tier 1: libtcc                                                      */
/* ------------------------------------------------------------------ */

/*
 * Everything wasm2c's output needs from wasm-rt.h, stdint.h, string.h and
 * math.h, in a form tcc compiles without any system header. The enums must
 * match wasm-rt.h 1.0.32 exactly (the runtime is compiled against it).
 */
static const char tier1_prelude[] =
"typedef unsigned char uint8_t; typedef signed char int8_t;\n"
"typedef unsigned short uint16_t; typedef short int16_t;\n"
"typedef unsigned int uint32_t; typedef int int32_t;\n"
"typedef unsigned long uint64_t; typedef long int64_t;\n"
"typedef unsigned long size_t; typedef unsigned long uintptr_t;\n"
"typedef _Bool bool;\n#define true 1\n#define false 0\n"
"#define NULL ((void *)0)\n"
"#define INT32_MIN (-2147483647 - 1)\n#define INT32_MAX 2147483647\n"
"#define INT64_MIN (-9223372036854775807L - 1)\n"
"#define INT64_MAX 9223372036854775807L\n#define UINT32_MAX 4294967295U\n"
"#define UINT64_MAX 18446744073709551615UL\n"
"#define assert(x) ((void)0)\n"
"void *memcpy(void *, const void *, size_t);\n"
"void *memmove(void *, const void *, size_t);\n"
"void *memset(void *, int, size_t);\n"
"int memcmp(const void *, const void *, size_t);\n"
"void abort(void);\n"
"double floor(double); float floorf(float); double ceil(double);\n"
"float ceilf(float); double trunc(double); float truncf(float);\n"
"double nearbyint(double); float nearbyintf(float);\n"
"double fabs(double); float fabsf(float); double sqrt(double);\n"
"float sqrtf(float); double copysign(double, double);\n"
"float copysignf(float, float);\n"
"static float propeller_nanf(void) { union { unsigned u; float f; } x; "
"x.u = 0x7fc00000u; return x.f; }\n"
"static float propeller_inff(void) { union { unsigned u; float f; } x; "
"x.u = 0x7f800000u; return x.f; }\n"
"static int propeller_sbf(float f) { union { unsigned u; float f; } x; "
"x.f = f; return x.u >> 31; }\n"
"static int propeller_sbd(double d) { union { unsigned long u; double f; } "
"x; x.f = d; return (int)(x.u >> 63); }\n"
"#define NAN propeller_nanf()\n#define INFINITY propeller_inff()\n"
"#define isnan(x) ((x) != (x))\n"
"#define signbit(x) (sizeof(x) == sizeof(float) ? propeller_sbf(x) : "
"propeller_sbd(x))\n"
"static int propeller_clz32(unsigned x) { int n = 0; if (!x) return 32; "
"while (!(x & 0x80000000u)) { x <<= 1; n++; } return n; }\n"
"static int propeller_clz64(unsigned long x) { int n = 0; if (!x) return 64; "
"while (!(x & 0x8000000000000000ul)) { x <<= 1; n++; } return n; }\n"
"static int propeller_ctz32(unsigned x) { int n = 0; if (!x) return 32; "
"while (!(x & 1u)) { x >>= 1; n++; } return n; }\n"
"static int propeller_ctz64(unsigned long x) { int n = 0; if (!x) return 64; "
"while (!(x & 1ul)) { x >>= 1; n++; } return n; }\n"
"static int propeller_pop32(unsigned x) { int n = 0; while (x) { x &= x - 1; "
"n++; } return n; }\n"
"static int propeller_pop64(unsigned long x) { int n = 0; while (x) { "
"x &= x - 1; n++; } return n; }\n"
"#define __builtin_clz(x) propeller_clz32(x)\n"
"#define __builtin_clzll(x) propeller_clz64(x)\n"
"#define __builtin_ctz(x) propeller_ctz32(x)\n"
"#define __builtin_ctzll(x) propeller_ctz64(x)\n"
"#define __builtin_popcount(x) propeller_pop32(x)\n"
"#define __builtin_popcountll(x) propeller_pop64(x)\n"
/* wasm-rt.h */
"#define WASM_RT_MEMCHECK_SIGNAL_HANDLER 1\n"
"#define WASM_RT_USE_STACK_DEPTH_COUNT 0\n"
"#define WASM_RT_MERGED_OOB_AND_EXHAUSTION_TRAPS 0\n"
"#define WABT_BIG_ENDIAN 0\n"
"#define LIKELY(x) (x)\n#define UNLIKELY(x) (x)\n"
"#define wasm_rt_memcpy memcpy\n#define wasm_rt_unreachable abort\n"
"#define WASM_RT_NO_RETURN\n"
"typedef enum { WASM_RT_TRAP_NONE, WASM_RT_TRAP_OOB, "
"WASM_RT_TRAP_INT_OVERFLOW, WASM_RT_TRAP_DIV_BY_ZERO, "
"WASM_RT_TRAP_INVALID_CONVERSION, WASM_RT_TRAP_UNREACHABLE, "
"WASM_RT_TRAP_CALL_INDIRECT, WASM_RT_TRAP_UNCAUGHT_EXCEPTION, "
"WASM_RT_TRAP_EXHAUSTION } wasm_rt_trap_t;\n"
"typedef enum { WASM_RT_I32, WASM_RT_I64, WASM_RT_F32, WASM_RT_F64, "
"WASM_RT_FUNCREF, WASM_RT_EXTERNREF } wasm_rt_type_t;\n"
"typedef void (*wasm_rt_function_ptr_t)(void);\n"
"typedef struct { uint32_t func_type; wasm_rt_function_ptr_t func; "
"void *module_instance; } wasm_rt_funcref_t;\n"
"static const wasm_rt_funcref_t wasm_rt_funcref_null_value = {0, NULL, "
"NULL};\n"
"typedef void *wasm_rt_externref_t;\n"
"static const wasm_rt_externref_t wasm_rt_externref_null_value = NULL;\n"
"typedef struct { uint8_t *data; uint32_t pages, max_pages; uint32_t size; "
"} wasm_rt_memory_t;\n"
"typedef struct { wasm_rt_funcref_t *data; uint32_t max_size; "
"uint32_t size; } wasm_rt_funcref_table_t;\n"
"typedef struct { wasm_rt_externref_t *data; uint32_t max_size; "
"uint32_t size; } wasm_rt_externref_table_t;\n"
"void wasm_rt_init(void); bool wasm_rt_is_initialized(void);\n"
"void wasm_rt_trap(wasm_rt_trap_t);\n"
"uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, "
"...);\n"
"uint32_t wasm_rt_register_tag(uint32_t size);\n"
"void wasm_rt_load_exception(uint32_t tag, uint32_t size, "
"const void *values);\n"
"void wasm_rt_throw(void);\n"
"uint32_t wasm_rt_exception_tag(void);\n"
"uint32_t wasm_rt_exception_size(void);\nvoid *wasm_rt_exception(void);\n"
"void wasm_rt_allocate_memory(wasm_rt_memory_t *, uint32_t, uint32_t);\n"
"uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *, uint32_t);\n"
"void wasm_rt_free_memory(wasm_rt_memory_t *);\n"
"void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t *, uint32_t, "
"uint32_t);\n"
"void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t *);\n"
"void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t *, "
"uint32_t, uint32_t);\n"
"void wasm_rt_free_externref_table(wasm_rt_externref_table_t *);\n"
"uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t *, uint32_t, "
"wasm_rt_funcref_t);\n"
"uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t *, "
"uint32_t, wasm_rt_externref_t);\n"
/* Direct loads and stores: the whole point of tier 1's speed. */
"#ifdef PROP_MEMBASE\n"
"static uint8_t *propeller_membase;\n"
"#define PROP_LD(t, mem, addr) (*(t *)(propeller_membase + (addr)))\n"
"#else\n"
"#define PROP_LD(t, mem, addr) (*(t *)((mem)->data + (addr)))\n"
"#endif\n"
"#define i32_load(m, a) PROP_LD(u32, m, a)\n"
"#define i64_load(m, a) PROP_LD(u64, m, a)\n"
"#define f32_load(m, a) PROP_LD(f32, m, a)\n"
"#define f64_load(m, a) PROP_LD(f64, m, a)\n"
"#define i32_load8_s(m, a) ((u32)(s32)PROP_LD(s8, m, a))\n"
"#define i64_load8_s(m, a) ((u64)(s64)PROP_LD(s8, m, a))\n"
"#define i32_load8_u(m, a) ((u32)PROP_LD(u8, m, a))\n"
"#define i64_load8_u(m, a) ((u64)PROP_LD(u8, m, a))\n"
"#define i32_load16_s(m, a) ((u32)(s32)PROP_LD(s16, m, a))\n"
"#define i64_load16_s(m, a) ((u64)(s64)PROP_LD(s16, m, a))\n"
"#define i32_load16_u(m, a) ((u32)PROP_LD(u16, m, a))\n"
"#define i64_load16_u(m, a) ((u64)PROP_LD(u16, m, a))\n"
"#define i64_load32_s(m, a) ((u64)(s64)PROP_LD(s32, m, a))\n"
"#define i64_load32_u(m, a) ((u64)PROP_LD(u32, m, a))\n"
"#define i32_store(m, a, v) (PROP_LD(u32, m, a) = (u32)(v))\n"
"#define i64_store(m, a, v) (PROP_LD(u64, m, a) = (u64)(v))\n"
"#define f32_store(m, a, v) (PROP_LD(f32, m, a) = (v))\n"
"#define f64_store(m, a, v) (PROP_LD(f64, m, a) = (v))\n"
"#define i32_store8(m, a, v) (PROP_LD(u8, m, a) = (u8)(v))\n"
"#define i32_store16(m, a, v) (PROP_LD(u16, m, a) = (u16)(v))\n"
"#define i64_store8(m, a, v) (PROP_LD(u8, m, a) = (u8)(v))\n"
"#define i64_store16(m, a, v) (PROP_LD(u16, m, a) = (u16)(v))\n"
"#define i64_store32(m, a, v) (PROP_LD(u32, m, a) = (u32)(v))\n"
"#line 1 \"module.c\"\n";

/*
 * Tier 2's loads and stores: memcpy (a plain mov under cc -O2) from a base
 * pointer held in a file-local global whose address never escapes, so the
 * compiler knows stores into linear memory cannot change it and keeps it in
 * a register across loops (wasm2c's helpers reload instance->memory.data
 * after every store, which blocks hoisting and vectorization).
 */
static const char tier2_memops[] =
"static u8 *propeller_membase;\n"
"#define PROP_T2_LOAD(name, t1, t2, t3) static inline t3 name##_t2(u64 a) "
"{ t1 r; memcpy(&r, propeller_membase + a, sizeof(t1)); "
"return (t3)(t2)r; }\n"
"#define PROP_T2_STORE(name, t1, t2) static inline void name##_t2(u64 a, "
"t2 v) { t1 w = (t1)v; memcpy(propeller_membase + a, &w, sizeof(t1)); }\n"
"PROP_T2_LOAD(i32_load, u32, u32, u32)\nPROP_T2_LOAD(i64_load, u64, u64, u64)\n"
"PROP_T2_LOAD(f32_load, f32, f32, f32)\nPROP_T2_LOAD(f64_load, f64, f64, f64)\n"
"PROP_T2_LOAD(i32_load8_s, s8, s32, u32)\n"
"PROP_T2_LOAD(i64_load8_s, s8, s64, u64)\n"
"PROP_T2_LOAD(i32_load8_u, u8, u32, u32)\n"
"PROP_T2_LOAD(i64_load8_u, u8, u64, u64)\n"
"PROP_T2_LOAD(i32_load16_s, s16, s32, u32)\n"
"PROP_T2_LOAD(i64_load16_s, s16, s64, u64)\n"
"PROP_T2_LOAD(i32_load16_u, u16, u32, u32)\n"
"PROP_T2_LOAD(i64_load16_u, u16, u64, u64)\n"
"PROP_T2_LOAD(i64_load32_s, s32, s64, u64)\n"
"PROP_T2_LOAD(i64_load32_u, u32, u64, u64)\n"
"PROP_T2_STORE(i32_store, u32, u32)\nPROP_T2_STORE(i64_store, u64, u64)\n"
"PROP_T2_STORE(f32_store, f32, f32)\nPROP_T2_STORE(f64_store, f64, f64)\n"
"PROP_T2_STORE(i32_store8, u8, u32)\nPROP_T2_STORE(i32_store16, u16, u32)\n"
"PROP_T2_STORE(i64_store8, u8, u64)\nPROP_T2_STORE(i64_store16, u16, u64)\n"
"PROP_T2_STORE(i64_store32, u32, u64)\n"
"#define i32_load(m, a) i32_load_t2(a)\n#define i64_load(m, a) i64_load_t2(a)\n"
"#define f32_load(m, a) f32_load_t2(a)\n#define f64_load(m, a) f64_load_t2(a)\n"
"#define i32_load8_s(m, a) i32_load8_s_t2(a)\n"
"#define i64_load8_s(m, a) i64_load8_s_t2(a)\n"
"#define i32_load8_u(m, a) i32_load8_u_t2(a)\n"
"#define i64_load8_u(m, a) i64_load8_u_t2(a)\n"
"#define i32_load16_s(m, a) i32_load16_s_t2(a)\n"
"#define i64_load16_s(m, a) i64_load16_s_t2(a)\n"
"#define i32_load16_u(m, a) i32_load16_u_t2(a)\n"
"#define i64_load16_u(m, a) i64_load16_u_t2(a)\n"
"#define i64_load32_s(m, a) i64_load32_s_t2(a)\n"
"#define i64_load32_u(m, a) i64_load32_u_t2(a)\n"
"#define i32_store(m, a, v) i32_store_t2(a, v)\n"
"#define i64_store(m, a, v) i64_store_t2(a, v)\n"
"#define f32_store(m, a, v) f32_store_t2(a, v)\n"
"#define f64_store(m, a, v) f64_store_t2(a, v)\n"
"#define i32_store8(m, a, v) i32_store8_t2(a, v)\n"
"#define i32_store16(m, a, v) i32_store16_t2(a, v)\n"
"#define i64_store8(m, a, v) i64_store8_t2(a, v)\n"
"#define i64_store16(m, a, v) i64_store16_t2(a, v)\n"
"#define i64_store32(m, a, v) i64_store32_t2(a, v)\n";

/*
 * The tier-2 form of the generated C: unchanged unless the module has its
 * own memory, in which case the load/store helpers are replaced by
 * tier2_memops (at the place of the first helper, where the types exist).
 */
static enum core_err
tier2_source(const char *c, struct core_buf *out)
{
	const char *line = c, *nl;
	enum core_err err = CORE_OK;
	size_t len;
	bool membase = strstr(c, "  wasm_rt_memory_t w2c_memory;\n") != NULL &&
	    strstr(c, "PROPELLER_SET_MEMBASE") != NULL;
	bool inserted = false;

	if (!membase)
		return core_buf_append_str(out, c);
	err = core_buf_append_str(out, "#define PROP_MEMBASE 1\n");
	while (err == CORE_OK && *line != '\0') {
		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) + 1 : strlen(line);
		if (strncmp(line, "DEFINE_LOAD(", 12) == 0 ||
		    strncmp(line, "DEFINE_STORE(", 13) == 0) {
			if (!inserted)
				err = core_buf_append_str(out, tier2_memops);
			inserted = true;
			if (err == CORE_OK)
				err = core_buf_append(out, "\n", 1);
		} else {
			err = core_buf_append(out, line, len);
		}
		line += len;
	}
	return err;
}

/* Benchmark knob: PROPELLER_WASM_NOFOLD=1 in the caller's environment
 * turns the fold pass off (read before the child clears its environment). */
static bool tier1_nofold;

void
wasm_tier1_read_env(void)
{
	tier1_nofold = getenv("PROPELLER_WASM_NOFOLD") != NULL;
}

/* Drops #include lines and the DEFINE_LOAD/DEFINE_STORE instantiations. */
static enum core_err
tier1_source(const char *c, struct core_buf *out)
{
	const char *line = c, *nl;
	enum core_err err;
	size_t len;

	/*
	 * Linear memory never moves (an 8 GiB reservation that only grows in
	 * place), so loads and stores can use a base pointer held in a global
	 * instead of reloading instance->memory.data each time. The glue sets
	 * it after instantiation.
	 */
	err = CORE_OK;
	if (strstr(c, "  wasm_rt_memory_t w2c_memory;\n") != NULL &&
	    strstr(c, "PROPELLER_SET_MEMBASE") != NULL)
		err = core_buf_append_str(out, "#define PROP_MEMBASE 1\n");
	if (err == CORE_OK)
		err = core_buf_append_str(out, tier1_prelude);
	while (err == CORE_OK && *line != '\0') {
		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) + 1 : strlen(line);
		if (strncmp(line, "#include", 8) == 0 ||
		    strncmp(line, "DEFINE_LOAD(", 12) == 0 ||
		    strncmp(line, "DEFINE_STORE(", 13) == 0)
			err = core_buf_append(out, "\n", 1);
		else
			err = core_buf_append(out, line, len);
		line += len;
	}
	return err;
}

static void
tcc_err_cb(void *opaque, const char *msg)
{
	struct core_errbuf *eb = opaque;

	core_errf(eb, CORE_ERR_INVALID, "wasm: tier 1 (libtcc): %s", msg);
}

static uint64_t
tcc_fixunssfdi(float f)
{
	return (uint64_t)f;
}

static uint64_t
tcc_fixunsdfdi(double d)
{
	return (uint64_t)d;
}

static float
tcc_floatundisf(uint64_t u)
{
	return (float)u;
}

static double
tcc_floatundidf(uint64_t u)
{
	return (double)u;
}

static int
tier1_add_symbols(TCCState *s)
{
	static const struct { const char *name; void *fn; } syms[] = {
#define S(f) { #f, (void *)(f) }
		S(memcpy), S(memmove), S(memset), S(memcmp), S(abort),
		S(floor), S(floorf), S(ceil), S(ceilf), S(trunc), S(truncf),
		S(nearbyint), S(nearbyintf), S(fabs), S(fabsf), S(sqrt),
		S(sqrtf), S(copysign), S(copysignf),
		S(wasm_rt_init), S(wasm_rt_is_initialized), S(wasm_rt_trap),
		S(wasm_rt_register_func_type), S(wasm_rt_register_tag),
		S(wasm_rt_load_exception), S(wasm_rt_throw),
		S(wasm_rt_exception_tag), S(wasm_rt_exception_size),
		S(wasm_rt_exception),
		S(wasm_rt_allocate_memory), S(wasm_rt_grow_memory),
		S(wasm_rt_free_memory), S(wasm_rt_allocate_funcref_table),
		S(wasm_rt_free_funcref_table),
		S(wasm_rt_allocate_externref_table),
		S(wasm_rt_free_externref_table), S(wasm_rt_grow_funcref_table),
		S(wasm_rt_grow_externref_table),
#undef S
		{ "__fixunssfdi", (void *)tcc_fixunssfdi },
		{ "__fixunsdfdi", (void *)tcc_fixunsdfdi },
		{ "__floatundisf", (void *)tcc_floatundisf },
		{ "__floatundidf", (void *)tcc_floatundidf },
	};
	size_t i;
	char name[128];

	for (i = 0; i < CORE_ARRAY_LEN(syms); i++)
		if (tcc_add_symbol(s, syms[i].name, syms[i].fn) < 0)
			return -1;
	for (i = 0; wasi_imports[i].name != NULL; i++) {
		snprintf(name, sizeof(name), "Z_wasi_snapshot_preview1Z_%s",
		    wasi_imports[i].name);
		if (tcc_add_symbol(s, name, wasi_imports[i].fn) < 0)
			return -1;
	}
	return 0;
}

enum core_err
wasm_tier1_load(const char *c, struct wasm_code *code,
    struct core_errbuf *eb)
{
	struct core_buf src;
	TCCState *s = NULL;
	enum core_err err;
	char *folded = NULL;

	memset(code, 0, sizeof(*code));
	code->memfd = -1;
	core_buf_init(&src, 0);
	if (!tier1_nofold)
		folded = wasm_tier1_fold(c);
	err = tier1_source(folded != NULL ? folded : c, &src);
	free(folded);
	if (err != CORE_OK) {
		core_errf(eb, err, "wasm: tier 1: out of memory");
		goto out;
	}
	s = tcc_new();
	if (s == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "wasm: tcc_new failed");
		goto out;
	}
	tcc_set_error_func(s, eb, tcc_err_cb);
	tcc_set_options(s, "-nostdlib -nostdinc");
	if (tcc_set_output_type(s, TCC_OUTPUT_MEMORY) < 0 ||
	    tcc_compile_string(s, (const char *)src.data) < 0 ||
	    tier1_add_symbols(s) < 0 ||
	    tcc_relocate(s, TCC_RELOCATE_AUTO) < 0) {
		err = core_errf(eb, CORE_ERR_INTERNAL,
		    "wasm: tier 1 compilation failed");
		goto out;
	}
	code->entry.instantiate = (void *(*)(void *))tcc_get_symbol(s,
	    "propeller_instantiate");
	code->entry.memory = (void *(*)(void))tcc_get_symbol(s,
	    "propeller_memory");
	code->entry.call = (int (*)(uint32_t, const uint64_t *, uint64_t *))
	    tcc_get_symbol(s, "propeller_call");
	if (code->entry.instantiate == NULL || code->entry.memory == NULL ||
	    code->entry.call == NULL) {
		err = core_errf(eb, CORE_ERR_INTERNAL,
		    "wasm: tier 1: glue symbols missing");
		goto out;
	}
	code->tcc = s;
	code->tier = WASM_TIER_1;
	s = NULL;
out:
	if (s != NULL)
		tcc_delete(s);
	core_buf_cleanup(&src);
	return err;
}

/* ------------------------------------------------------------------ */
/* Tier 2: cc -O2 shared objects in the cache                          */
/* ------------------------------------------------------------------ */

enum core_err
wasm_cache_dir(const char *dir, bool confidential, char **out,
    struct core_errbuf *eb)
{
	const char *env, *home;
	enum core_err err;

	*out = NULL;
	if (dir == NULL || *dir == '\0') {
		env = getenv("PROPELLER_WASM_CACHE");
		if (env != NULL && *env != '\0')
			dir = env;
	}
	if (confidential && (dir == NULL || !core_fs_is_memory_backed(dir))) {
		/*
		 * One private memory-backed directory per process, made on
		 * first use and shared by later runs (the proplet is one
		 * long-lived process), so cached objects are reused and runs
		 * do not each leave a directory on tmpfs.
		 */
		static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
		static char *private_dir; /* owned for the process lifetime */

		err = CORE_OK;
		pthread_mutex_lock(&lock);
		if (private_dir == NULL)
			err = core_fs_private_tmpdir("propeller-wasm-cache",
			    &private_dir, eb);
		if (err == CORE_OK) {
			*out = strdup(private_dir);
			if (*out == NULL)
				err = core_errf(eb, CORE_ERR_NOMEM,
				    "wasm: out of memory");
		}
		pthread_mutex_unlock(&lock);
		return err;
	}
	if (dir != NULL && *dir != '\0') {
		*out = strdup(dir);
	} else if ((env = getenv("XDG_CACHE_HOME")) != NULL && *env == '/') {
		*out = core_path_join(env, "propeller/wasm");
	} else if ((home = getenv("HOME")) != NULL && *home == '/') {
		*out = core_path_join(home, ".cache/propeller/wasm");
	} else {
		*out = strdup("/tmp/propeller-wasm-cache");
	}
	if (*out == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "wasm: out of memory");
	err = core_fs_mkdirs(*out, 0700, eb);
	if (err != CORE_OK) {
		free(*out);
		*out = NULL;
	}
	return err;
}

char *
wasm_cache_path(const char *cache_dir, const struct wasm_module *m)
{
	char name[96];

	snprintf(name, sizeof(name), "%s.v%u.so", m->sha256_hex,
	    WASM_ENGINE_VERSION);
	return core_path_join(cache_dir, name);
}

static bool
stamp_ok(const uint8_t *p, size_t n, const struct wasm_module *m,
    size_t *obj_len)
{
	const uint8_t *st;
	uint64_t ver, len;
	uint8_t h[32];

	if (n < STAMP_LEN + 64)
		return false;
	st = p + n - STAMP_LEN;
	if (memcmp(st, STAMP_MAGIC, 8) != 0)
		return false;
	memcpy(&ver, st + 8, 8);
	memcpy(&len, st + 80, 8);
	if (ver != WASM_ENGINE_VERSION || len != n - STAMP_LEN)
		return false;
	if (memcmp(st + 16, m->sha256, 32) != 0)
		return false;
	if (sha256(p, (size_t)len, h) != CORE_OK ||
	    memcmp(st + 48, h, 32) != 0)
		return false;
	*obj_len = (size_t)len;
	return true;
}

bool
wasm_cache_valid(const char *cache_dir, const struct wasm_module *m)
{
	char *path = wasm_cache_path(cache_dir, m);
	uint8_t *data = NULL;
	size_t n = 0, objlen;
	bool ok = false;

	if (path != NULL && core_fs_read(path, TIER2_MAX_OBJECT, &data, &n,
	    NULL) == CORE_OK)
		ok = stamp_ok(data, n, m, &objlen);
	free(data);
	free(path);
	return ok;
}

enum core_err
wasm_cache_build(const char *cache_dir, const struct wasm_module *m,
    int64_t *compile_ms, struct core_errbuf *eb)
{
	struct core_proc_opts po;
	struct core_proc_result pr;
	const char *argv[16];
	const char *envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin", NULL };
	char *c = NULL, *cc = NULL, *tmp = NULL, *path = NULL;
	uint8_t *obj = NULL;
	size_t clen = 0, objlen = 0;
	uint8_t stamp[STAMP_LEN];
	uint64_t v;
	int64_t t0 = children_cpu_us();
	enum core_err err;
	bool have_pr = false;
	char suffix[64];
	struct core_buf full, src2;

	core_buf_init(&full, 0);
	core_buf_init(&src2, 0);
	err = core_fs_mkdirs(cache_dir, 0700, eb);
	if (err != CORE_OK)
		goto out;
	err = wasm_codegen(m, &c, &clen, eb);
	if (err != CORE_OK)
		goto out;
	err = tier2_source(c, &src2);
	if (err != CORE_OK) {
		core_errf(eb, err, "wasm: tier 2: out of memory");
		goto out;
	}
	cc = wasm_find_program("cc");
	if (cc == NULL) {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "wasm: tier 2: cc not found in PATH");
		goto out;
	}
	path = wasm_cache_path(cache_dir, m);
	snprintf(suffix, sizeof(suffix), ".tmp%ld", (long)getpid());
	if (path == NULL || asprintf(&tmp, "%s%s", path, suffix) < 0) {
		tmp = NULL;
		err = core_errf(eb, CORE_ERR_NOMEM, "wasm: out of memory");
		goto out;
	}
	argv[0] = cc;
	argv[1] = "-O2";
	argv[2] = "-fPIC";
	argv[3] = "-shared";
	argv[4] = "-w";
	argv[5] = "-fno-strict-aliasing";
	argv[6] = "-x";
	argv[7] = "c";
	argv[8] = "-";
	argv[9] = "-o";
	argv[10] = tmp;
	argv[11] = "-lm";
	argv[12] = NULL;
	memset(&po, 0, sizeof(po));
	po.argv = argv;
	po.envp = envp;
	po.stdin_data = src2.data;
	po.stdin_len = src2.len;
	po.timeout_ms = 600000;
	err = core_proc_run(&po, &pr, eb);
	if (err != CORE_OK)
		goto out;
	have_pr = true;
	if (pr.signaled || pr.timed_out || pr.exit_code != 0) {
		err = core_errf(eb, CORE_ERR_INTERNAL,
		    "wasm: tier 2: cc failed: %.300s",
		    pr.err.data ? (const char *)pr.err.data : "");
		goto out;
	}
	err = core_fs_read(tmp, TIER2_MAX_OBJECT - STAMP_LEN, &obj, &objlen,
	    eb);
	if (err != CORE_OK)
		goto out;
	memcpy(stamp, STAMP_MAGIC, 8);
	v = WASM_ENGINE_VERSION;
	memcpy(stamp + 8, &v, 8);
	memcpy(stamp + 16, m->sha256, 32);
	if (sha256(obj, objlen, stamp + 48) != CORE_OK) {
		err = core_errf(eb, CORE_ERR_CRYPTO, "wasm: sha256 failed");
		goto out;
	}
	v = objlen;
	memcpy(stamp + 80, &v, 8);
	if ((err = core_buf_append(&full, obj, objlen)) != CORE_OK ||
	    (err = core_buf_append(&full, stamp, sizeof(stamp))) != CORE_OK) {
		core_errf(eb, err, "wasm: out of memory");
		goto out;
	}
	err = core_fs_write_atomic(path, full.data, full.len, 0600, eb);
	if (err != CORE_OK)
		goto out;
	if (compile_ms != NULL)
		*compile_ms = (children_cpu_us() - t0) / 1000;
out:
	if (tmp != NULL)
		unlink(tmp);
	if (have_pr)
		core_proc_result_cleanup(&pr);
	core_buf_cleanup(&full);
	if (src2.data != NULL)
		core_wipe(src2.data, src2.len);
	core_buf_cleanup(&src2);
	free(obj);
	free(path);
	free(tmp);
	free(cc);
	if (c != NULL)
		core_wipe(c, clen);
	free(c);
	return err;
}

enum core_err
wasm_tier2_load(const char *cache_dir, const struct wasm_module *m,
    struct wasm_code *code, struct core_errbuf *eb)
{
	char *path = NULL;
	uint8_t *data = NULL;
	size_t n = 0, objlen = 0;
	char fdpath[64];
	enum core_err err;
	int fd = -1;
	void *dl = NULL;

	memset(code, 0, sizeof(*code));
	code->memfd = -1;
	path = wasm_cache_path(cache_dir, m);
	if (path == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "wasm: out of memory");
		goto out;
	}
	if (core_fs_read(path, TIER2_MAX_OBJECT, &data, &n, NULL) != CORE_OK ||
	    !stamp_ok(data, n, m, &objlen)) {
		err = core_errf(eb, CORE_ERR_NOT_FOUND,
		    "wasm: tier 2: no valid cached object for %.16s",
		    m->sha256_hex);
		goto out;
	}
	fd = memfd_create("propeller-wasm-t2", MFD_CLOEXEC);
	if (fd < 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "wasm: memfd_create");
		goto out;
	}
	err = core_write_all(fd, data, objlen);
	if (err != CORE_OK) {
		core_errf(eb, err, "wasm: tier 2: writing the memfd failed");
		goto out;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	dl = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		err = core_errf(eb, CORE_ERR_INVALID, "wasm: tier 2: dlopen: %s",
		    dlerror());
		goto out;
	}
	*(void **)&code->entry.instantiate = dlsym(dl, "propeller_instantiate");
	*(void **)&code->entry.memory = dlsym(dl, "propeller_memory");
	*(void **)&code->entry.call = dlsym(dl, "propeller_call");
	if (code->entry.instantiate == NULL || code->entry.memory == NULL ||
	    code->entry.call == NULL) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "wasm: tier 2: glue symbols missing in the cached object");
		goto out;
	}
	code->dl = dl;
	code->memfd = fd;
	code->tier = WASM_TIER_2;
	dl = NULL;
	fd = -1;
out:
	if (dl != NULL)
		dlclose(dl);
	if (fd >= 0)
		close(fd);
	free(data);
	free(path);
	return err;
}

void
wasm_code_cleanup(struct wasm_code *code)
{
	if (code->tcc != NULL)
		tcc_delete(code->tcc);
	if (code->dl != NULL)
		dlclose(code->dl);
	if (code->memfd >= 0)
		close(code->memfd);
	memset(code, 0, sizeof(*code));
	code->memfd = -1;
}
