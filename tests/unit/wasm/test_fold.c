/* test_fold.c -- tier 1's expression-tree folding (src/wasm/codegen_fold.c):
 * the rewrite of small wasm2c snippets, trap order and values through a
 * .wat module in both tiers, and a C program whose output must be the same
 * folded, unfolded and in tier 2. */
#include "wasm/engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wt_common.h"

static char *cache_dir; /* one tier-2 build per module */

static void
run(const struct wasm_module *m, enum wasm_tier tier, const char *fn,
    const char **args, size_t nargs, struct wasm_result *r)
{
	struct wasm_run_opts o;
	struct core_errbuf eb;

	wt_opts_init(&o, tier, cache_dir);
	o.invoke = fn;
	o.args = args;
	o.nargs = nargs;
	core_errbuf_clear(&eb);
	if (wasm_run(m, &o, r, &eb) != CORE_OK)
		fail_msg("wasm_run: %s", core_errbuf_msg(&eb));
	if (r->outcome == WASM_OUT_FAILED)
		fail_msg("run failed: %s", r->errmsg);
	assert_int_equal(r->tier_used, tier);
}

static const char *
out_str(const struct wasm_result *r)
{
	return r->out.data ? (const char *)r->out.data : "";
}

static int
setup(void **state)
{
	(void)state;
	return core_fs_tmpdir("wt-fold", &cache_dir, NULL) == CORE_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	(void)core_fs_rmtree(cache_dir, NULL);
	free(cache_dir);
	return 0;
}

static void
test_fold_snippets(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		/* A chain becomes one expression. */
		{ "  w2c_i0 = w2c_l2;\n  w2c_i1 = 16u;\n  w2c_i0 += w2c_i1;\n"
		  "  w2c_l3 = w2c_i0;\n",
		  "  w2c_l3 = ((u32)(w2c_l2 + (16u)));\n"
		  /* (the slot may be a local.tee's: at the end it is written) */
		  "  w2c_i0 = w2c_l3;\n" },
		/* A load folds into its use. */
		{ "  w2c_d1 = f64_load(&instance->w2c_memory, (u64)(w2c_i0));\n"
		  "  w2c_d0 *= w2c_d1;\n  return w2c_d0;\n",
		  "  return ((f64)(w2c_d0 * (((f64)(f64_load(&instance->w2c_memory, "
		  "(u64)(w2c_i0)))))));\n" },
		/* local.tee: the slot becomes the local. */
		{ "  w2c_i0 = w2c_l1;\n  w2c_i1 = 1u;\n  w2c_i0 += w2c_i1;\n"
		  "  w2c_l1 = w2c_i0;\n  w2c_i1 = w2c_l2;\n  w2c_i0 *= w2c_i1;\n"
		  "  w2c_l2 = w2c_i0;\n",
		  "  w2c_l1 = ((u32)(w2c_l1 + (1u)));\n"
		  "  w2c_l2 = ((u32)(w2c_l1 * (w2c_l2)));\n  w2c_i0 = w2c_l2;\n" },
		/* Writing a local the pending value reads writes it out first. */
		{ "  w2c_i0 = w2c_l1;\n  w2c_l1 = 5u;\n  w2c_l2 = w2c_i0;\n",
		  "  w2c_i0 = w2c_l1;\n  w2c_l1 = 5u;\n  w2c_l2 = w2c_i0;\n" },
		/* A store keeps a pending load before it. */
		{ "  w2c_i1 = i32_load(&instance->w2c_memory, (u64)(w2c_l0));\n"
		  "  i32_store(&instance->w2c_memory, (u64)(w2c_l0), 3u);\n"
		  "  w2c_l4 = w2c_i1;\n",
		  "  w2c_i1 = ((u32)(i32_load(&instance->w2c_memory, "
		  "(u64)(w2c_l0))));\n"
		  "  i32_store(&instance->w2c_memory, (u64)(w2c_l0), 3u);\n"
		  "  w2c_l4 = w2c_i1;\n" },
		/* So does a call; a pure pending value may stay. */
		{ "  w2c_i0 = i32_load(&instance->w2c_memory, (u64)(w2c_l0));\n"
		  "  w2c_i1 = w2c_l0;\n  w2c_i2 = 2u;\n  w2c_i1 <<= (w2c_i2 & 31);\n"
		  "  w2c_i2 = w2c_f3(instance);\n  w2c_i1 += w2c_i2;\n"
		  "  w2c_i0 += w2c_i1;\n  w2c_l0 = w2c_i0;\n",
		  "  w2c_i0 = ((u32)(i32_load(&instance->w2c_memory, "
		  "(u64)(w2c_l0))));\n"
		  "  w2c_i2 = w2c_f3(instance);\n"
		  "  w2c_l0 = ((u32)(w2c_i0 + (((u32)(((u32)(w2c_l0 << ((2u & 31)))) "
		  "+ (w2c_i2))))));\n  w2c_i0 = w2c_l0;\n" },
		/* A dropped load is kept (it may trap); a pure value is not. */
		{ "  w2c_i0 = i32_load(&instance->w2c_memory, (u64)(w2c_l0));\n"
		  "  w2c_i0 = w2c_l1;\n  w2c_i1 = w2c_l1;\n  w2c_i1 = 7u;\n"
		  "  w2c_l2 = w2c_i0;\n",
		  "  w2c_i0 = ((u32)(i32_load(&instance->w2c_memory, "
		  "(u64)(w2c_l0))));\n  w2c_l2 = w2c_l1;\n  w2c_i1 = 7u;\n"
		  "  w2c_i0 = w2c_l2;\n" },
		/* Macros take only variables and constants. */
		{ "  w2c_i0 = w2c_l1;\n  w2c_i1 = 3u;\n  w2c_i0 += w2c_i1;\n"
		  "  w2c_i1 = 4u;\n  w2c_i0 = I32_DIV_S(w2c_i0, w2c_i1);\n"
		  "  w2c_l1 = w2c_i0;\n",
		  "  w2c_i0 = ((u32)(w2c_l1 + (3u)));\n"
		  "  w2c_i0 = I32_DIV_S(w2c_i0, 4u);\n  w2c_l1 = w2c_i0;\n" },
		/* A division before a pending load writes the load out. */
		{ "  w2c_i0 = i32_load(&instance->w2c_memory, (u64)(w2c_l0));\n"
		  "  w2c_i1 = DIV_U(w2c_l1, w2c_l2);\n  w2c_i0 += w2c_i1;\n"
		  "  w2c_l3 = w2c_i0;\n",
		  "  w2c_i0 = ((u32)(i32_load(&instance->w2c_memory, "
		  "(u64)(w2c_l0))));\n  w2c_i1 = DIV_U(w2c_l1, w2c_l2);\n"
		  "  w2c_l3 = ((u32)(w2c_i0 + (w2c_i1)));\n  w2c_i0 = w2c_l3;\n" },
		/* Control flow writes everything out; branch conditions fold. */
		{ "  w2c_i0 = w2c_l1;\n  w2c_i1 = w2c_l2;\n  w2c_i1 = w2c_i1 < 9u;\n"
		  "  if (w2c_i1) {goto w2c_B0;}\n  w2c_i0 = 0u;\n  w2c_B0:;\n"
		  "  return w2c_i0;\n",
		  "  w2c_i0 = w2c_l1;\n"
		  "  if (((u32)(w2c_l2 < 9u))) {goto w2c_B0;}\n"
		  "  w2c_i0 = 0u;\n  w2c_B0:;\n  return w2c_i0;\n" },
		/* Renamed slots ("w2c_d0_0") and globals. */
		{ "  w2c_d0_0 = w2c_l4;\n  w2c_d1 = 2.5;\n  w2c_d0_0 *= w2c_d1;\n"
		  "  instance->w2c_g0 = w2c_i3;\n  w2c_l4 = w2c_d0_0;\n",
		  "  instance->w2c_g0 = w2c_i3;\n"
		  "  w2c_l4 = ((f64)(w2c_l4 * (((f64)(2.5)))));\n"
		  "  w2c_d0_0 = w2c_l4;\n" },
		/* A pending global read is written out before the global. */
		{ "  w2c_i0 = instance->w2c_g0;\n  instance->w2c_g0 = 1u;\n"
		  "  w2c_l1 = w2c_i0;\n",
		  "  w2c_i0 = ((u32)(instance->w2c_g0));\n"
		  "  instance->w2c_g0 = 1u;\n  w2c_l1 = w2c_i0;\n" },
		/* A select takes a load only as a variable. */
		{ "  w2c_i1 = i32_load(&instance->w2c_memory, (u64)(w2c_l0));\n"
		  "  w2c_i2 = w2c_l1;\n  w2c_i0 = w2c_i2 ? w2c_i0 : w2c_i1;\n"
		  "  return w2c_i0;\n",
		  "  w2c_i1 = ((u32)(i32_load(&instance->w2c_memory, "
		  "(u64)(w2c_l0))));\n"
		  "  return ((u32)(w2c_l1 ? w2c_i0 : w2c_i1));\n" },
		/* A name too long to track writes everything out. */
		{ "  w2c_i0 = w2c_l1;\n  w2c_i1234567890123456789012 = w2c_i0;\n",
		  "  w2c_i0 = w2c_l1;\n  w2c_i1234567890123456789012 = w2c_i0;\n" },
		/* An unrecognised write (a global an export named "l1", a
		 * declaration) writes everything out first. */
		{ "  w2c_i0 = w2c_l1;\n  instance->w2c_l1 = 3u;\n"
		  "  w2c_l2 = w2c_i0;\n",
		  "  w2c_i0 = w2c_l1;\n  instance->w2c_l1 = 3u;\n"
		  "  w2c_l2 = w2c_i0;\n" },
		{ "  w2c_i0 = w2c_l1;\n  w2c_l1 = 0, w2c_l3 = 0;\n"
		  "  w2c_l2 = w2c_i0;\n",
		  "  w2c_i0 = w2c_l1;\n  w2c_l1 = 0, w2c_l3 = 0;\n"
		  "  w2c_l2 = w2c_i0;\n" },
		/* Lines outside functions pass through. */
		{ "static u32 w2c_f1(Z_m_instance_t*, u32);\n#define X 1\n",
		  "static u32 w2c_f1(Z_m_instance_t*, u32);\n#define X 1\n" },
	};
	size_t i;
	char *out;

	(void)state;
	for (i = 0; i < CORE_ARRAY_LEN(cases); i++) {
		out = wasm_tier1_fold(cases[i].in);
		assert_non_null(out);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got\n%s", i, out);
		free(out);
	}
}

static void
test_fold_traps_and_values(void **state)
{
	static const struct {
		const char *fn;
		const char *args[2];
		size_t nargs;
		enum wasm_trap trap; /* WASM_TRAP_NONE: want out */
		const char *out;
	} cases[] = {
		{ "drop_load", { NULL }, 0, WASM_TRAP_OOB, NULL },
		{ "load_then_div", { "0" }, 1, WASM_TRAP_OOB, NULL },
		{ "load_then_unreachable", { NULL }, 0, WASM_TRAP_OOB, NULL },
		{ "select_oob", { "1" }, 1, WASM_TRAP_OOB, NULL },
		{ "load_before_store", { NULL }, 0, WASM_TRAP_NONE, "47\n" },
		{ "load_before_call", { NULL }, 0, WASM_TRAP_NONE, "897\n" },
		{ "tee", { "5" }, 1, WASM_TRAP_NONE, "130\n" },
		{ "local_overwrite", { "5" }, 1, WASM_TRAP_NONE, "-994\n" },
		{ "select_f32", { "3", "2" }, 2, WASM_TRAP_NONE, "6\n" },
		{ "select_f32", { "1.5", "2" }, 2, WASM_TRAP_NONE, "3.5\n" },
		{ "rot", { "5", "3" }, 2, WASM_TRAP_NONE, "167772208\n" },
		{ "i1", { "5" }, 1, WASM_TRAP_NONE, "13\n" },
		{ "d0", { "1.5" }, 1, WASM_TRAP_NONE, "3\n" },
	};
	struct wasm_module *m = wt_load("wt_fold.wasm");
	struct wasm_result r;
	enum wasm_tier tier;
	size_t i;

	(void)state;
	for (tier = WASM_TIER_1; tier <= WASM_TIER_2; tier++) {
		for (i = 0; i < CORE_ARRAY_LEN(cases); i++) {
			run(m, tier, cases[i].fn, (const char **)cases[i].args,
			    cases[i].nargs, &r);
			if (cases[i].trap != WASM_TRAP_NONE) {
				if (r.outcome != WASM_OUT_TRAPPED ||
				    r.trap != cases[i].trap)
					fail_msg("tier %d %s: outcome %d trap %s",
					    tier, cases[i].fn, r.outcome,
					    wasm_trap_str(r.trap));
			} else if (r.outcome != WASM_OUT_RETURNED ||
			    r.results == NULL ||
			    strcmp(r.results, cases[i].out) != 0) {
				fail_msg("tier %d %s: outcome %d results \"%s\"",
				    tier, cases[i].fn, r.outcome,
				    r.results ? r.results : "");
			}
			wasm_result_cleanup(&r);
		}
	}
	wasm_module_free(m);
}

static void
test_fold_program_identical(void **state)
{
	struct wasm_module *m = wt_load("wt_foldops.wasm");
	struct wasm_result r[3];
	int k;

	(void)state;
	run(m, WASM_TIER_1, NULL, NULL, 0, &r[0]);
	run(m, WASM_TIER_2, NULL, NULL, 0, &r[1]);
	/* The unfolded tier 1 for reference (the knob is read by wasm_run's
	 * parent side). */
	setenv("PROPELLER_WASM_NOFOLD", "1", 1);
	wasm_tier1_read_env();
	run(m, WASM_TIER_1, NULL, NULL, 0, &r[2]);
	unsetenv("PROPELLER_WASM_NOFOLD");
	wasm_tier1_read_env();
	for (k = 0; k < 3; k++) {
		assert_int_equal(r[k].outcome, WASM_OUT_EXITED);
		assert_int_equal(r[k].exit_code, 0);
	}
	assert_non_null(strstr(out_str(&r[0]), "calls "));
	assert_string_equal(out_str(&r[0]), out_str(&r[1]));
	assert_string_equal(out_str(&r[0]), out_str(&r[2]));
	for (k = 0; k < 3; k++)
		wasm_result_cleanup(&r[k]);
	wasm_module_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold_snippets),
		cmocka_unit_test(test_fold_traps_and_values),
		cmocka_unit_test(test_fold_program_identical),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
