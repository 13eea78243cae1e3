/*
 * bench_wasm.c -- the engine benchmark: for each program, native time,
 * tier-1 and tier-2 compile and run times, Node + node:wasi, geometric
 * means, and a measurement of the auto policy, all in one run.
 *
 *   build/bench/wasm/bench_wasm [RUNS]        (default 3; medians)
 *
 * Prints a Markdown table (the one in bench/README.md). Each round runs
 * native, tier 1, tier 2 and Node once; a ratio is the median over rounds
 * of that round's ratio to native, so the load of the shared machine
 * weighs on both sides of it.
 */
#include "wasm/wasm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

struct prog {
	const char *name;
	const char *arg;
};

static const struct prog progs[] = {
	{ "matmul", "600" },
	{ "sha256", "48" },
	{ "nbody", "1500000" },
	{ "fannkuch", "10" },
	{ "sort", "2" },
	{ "parser", "10" },
};

#define MAXRUNS 9

static int runs = 3;

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double
children_cpu_ms(void)
{
	struct rusage ru;

	(void)getrusage(RUSAGE_CHILDREN, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* Runs argv, output captured; CPU ms. Stores stdout/stderr if asked. */
static double
spawn_ms(const char *const *argv, char **out, char **err)
{
	struct core_proc_opts o;
	struct core_proc_result r;
	double t0 = children_cpu_ms();
	const char *envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin", NULL };

	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.envp = envp;
	if (core_proc_run(&o, &r, NULL) != CORE_OK) {
		fprintf(stderr, "bench: cannot run %s\n", argv[0]);
		exit(1);
	}
	if (r.signaled || r.exit_code != 0) {
		fprintf(stderr, "bench: %s failed: %s\n", argv[0],
		    r.err.data ? (char *)r.err.data : "");
		exit(1);
	}
	if (out != NULL)
		*out = strdup(r.out.data ? (char *)r.out.data : "");
	if (err != NULL)
		*err = strdup(r.err.data ? (char *)r.err.data : "");
	core_proc_result_cleanup(&r);
	return children_cpu_ms() - t0;
}

static struct wasm_module *
load(const char *path)
{
	uint8_t *p = NULL;
	size_t n = 0;
	struct wasm_module *m = NULL;
	struct core_errbuf eb;

	core_errbuf_clear(&eb);
	if (core_fs_read(path, 0, &p, &n, &eb) != CORE_OK ||
	    wasm_module_parse(p, n, &m, &eb) != CORE_OK) {
		fprintf(stderr, "bench: %s: %s\n", path, core_errbuf_msg(&eb));
		exit(1);
	}
	free(p);
	return m;
}

/* One engine run; returns the run's CPU ms (after compile/load); *wall
 * (optional) gets the wall time of the whole run. */
static double
engine_ms(const struct wasm_module *m, const char *arg, enum wasm_tier tier,
    const char *cache, char **out, double *wall, bool bg)
{
	struct wasm_run_opts o;
	struct wasm_result r;
	struct core_errbuf eb;
	const char *args[] = { arg };
	double ms;

	memset(&o, 0, sizeof(o));
	o.stdin_fd = -1;
	o.args = args;
	o.nargs = 1;
	o.tier = tier;
	o.cache_dir = cache;
	o.no_background_build = !bg;
	o.max_memory_bytes = 1ull << 30;
	core_errbuf_clear(&eb);
	if (wasm_run(m, &o, &r, &eb) != CORE_OK ||
	    r.outcome != WASM_OUT_EXITED || r.exit_code != 0) {
		fprintf(stderr, "bench: engine run failed: %s %s\n",
		    core_errbuf_msg(&eb), r.errmsg);
		exit(1);
	}
	ms = (double)r.run_cpu_ms;
	if (wall != NULL)
		*wall = (double)r.run_ms;
	if (out != NULL)
		*out = strdup(r.out.data ? (char *)r.out.data : "");
	/* For auto runs the caller wants the tier that finished. */
	if (tier == WASM_TIER_AUTO)
		ms = r.tier_used;
	wasm_result_cleanup(&r);
	return ms;
}

int
main(int argc, char **argv)
{
	double nat[MAXRUNS], t1[MAXRUNS], t2[MAXRUNS], nd[MAXRUNS];
	double c1a[MAXRUNS], c1b[MAXRUNS];
	double r1[MAXRUNS], r2[MAXRUNS], rn[MAXRUNS], x_t1, x_t2, x_nd;
	double g_nat = 0, g_t1 = 0, g_t2 = 0, g_nd = 0, g_c1 = 0;
	double m_nat, m_t1, m_t2, m_nd, m_c1a, m_c1b, c2;
	char path[1024], npath[1024], *o_nat, *o_t1, *o_t2, *o_nd, *nerr;
	char *cache = NULL;
	size_t i;
	int k, np = (int)CORE_ARRAY_LEN(progs);
	struct wasm_module *m;
	int64_t w2c_us, tcc_us, c2ms;
	const char *node = getenv("BENCH_NODE") ? getenv("BENCH_NODE") :
	    "node";

	if (argc > 1) {
		long v = strtol(argv[1], NULL, 10);

		runs = v < 1 ? 1 : v > MAXRUNS ? MAXRUNS : (int)v;
	}
	if (core_fs_tmpdir("bench-wasm-cache", &cache, NULL) != CORE_OK)
		return 1;
	printf("CPU time (user+sys), median of %d runs\n\n", runs);
	printf("| program | module KB | native ms | tier 1 ms (x) | "
	    "tier 2 ms (x) | node ms (x) | tier-1 compile ms (wasm2c+tcc) "
	    "| tier-2 compile ms |\n");
	printf("|---|---|---|---|---|---|---|---|\n");
	for (i = 0; i < (size_t)np; i++) {
		const char *nargv[3], *jargv[6];

		snprintf(npath, sizeof(npath), "%s/native/%s", BENCH_DIR,
		    progs[i].name);
		nargv[0] = npath;
		nargv[1] = progs[i].arg;
		nargv[2] = NULL;
		snprintf(path, sizeof(path), "%s/wasm/bench_%s.wasm",
		    BENCH_DIR, progs[i].name);
		m = load(path);
		for (k = 0; k < runs; k++) {
			if (wasm_tier1_compile_time(m, &w2c_us, &tcc_us,
			    NULL) != CORE_OK)
				return 1;
			c1a[k] = (double)w2c_us / 1000;
			c1b[k] = (double)tcc_us / 1000;
		}
		m_c1a = median(c1a, runs);
		m_c1b = median(c1b, runs);
		if (wasm_cache_build(cache, m, &c2ms, NULL) != CORE_OK)
			return 1;
		c2 = (double)c2ms;
		jargv[0] = node;
		jargv[1] = "--no-warnings";
		jargv[2] = BENCH_NODE_SCRIPT;
		jargv[3] = path;
		jargv[4] = progs[i].arg;
		jargv[5] = NULL;
		o_nd = NULL;
		/*
		 * One round runs every variant once, so each ratio compares
		 * runs made under about the same load (the machine is shared).
		 */
		for (k = 0; k < runs; k++) {
			nat[k] = spawn_ms(nargv, k == 0 ? &o_nat : NULL, NULL);
			t1[k] = engine_ms(m, progs[i].arg, WASM_TIER_1, cache,
			    k == 0 ? &o_t1 : NULL, NULL, false);
			t2[k] = engine_ms(m, progs[i].arg, WASM_TIER_2, cache,
			    k == 0 ? &o_t2 : NULL, NULL, false);
			if (node != NULL) {
				double c = 0, r = 0, w = 0;
				char *s;

				(void)spawn_ms(jargv, k == 0 ? &o_nd : NULL,
				    &nerr);
				s = strstr(nerr, "propeller-bench compile_ms=");
				if (s == NULL || sscanf(s, "propeller-bench "
				    "compile_ms=%lf run_ms=%lf cpu_ms=%lf", &c,
				    &w, &r) != 3)
					return 1;
				nd[k] = r;
				free(nerr);
			}
		}
		/* Ratios: the median of each round's ratio. */
		for (k = 0; k < runs; k++) {
			r1[k] = t1[k] / nat[k];
			r2[k] = t2[k] / nat[k];
			rn[k] = node != NULL ? nd[k] / nat[k] : NAN;
		}
		x_t1 = median(r1, runs);
		x_t2 = median(r2, runs);
		x_nd = node != NULL ? median(rn, runs) : NAN;
		m_nat = median(nat, runs);
		m_t1 = median(t1, runs);
		m_t2 = median(t2, runs);
		m_nd = node != NULL ? median(nd, runs) : NAN;
		if (strcmp(o_nat, o_t1) != 0 || strcmp(o_nat, o_t2) != 0 ||
		    (o_nd != NULL && strcmp(o_nat, o_nd) != 0))
			fprintf(stderr, "bench: %s: outputs differ\n",
			    progs[i].name);
		printf("| %s %s | %zu | %.0f | %.0f (%.2fx) | %.0f (%.2fx) | "
		    "%.0f (%.2fx) | %.0f (%.0f+%.0f) | %.0f |\n",
		    progs[i].name, progs[i].arg, m->len / 1024, m_nat, m_t1,
		    x_t1, m_t2, x_t2, m_nd, x_nd,
		    m_c1a + m_c1b, m_c1a, m_c1b, c2);
		fflush(stdout);
		g_nat += log(m_nat);
		g_t1 += log(x_t1);
		g_t2 += log(x_t2);
		g_nd += log(x_nd);
		g_c1 += log(m_c1a + m_c1b);
		free(o_nat);
		free(o_t1);
		free(o_t2);
		free(o_nd);
		wasm_module_free(m);
	}
	printf("| **geomean** | | %.0f | %.2fx | %.2fx | %.2fx | %.0f | |\n",
	    exp(g_nat / np), exp(g_t1 / np), exp(g_t2 / np), exp(g_nd / np),
	    exp(g_c1 / np));

	/* The auto policy on a long run (nbody x4), cold cache each time:
	 * tier 1 only vs auto (tier 1 + background build + switch) vs a
	 * warm tier-2 cache. */
	{
		const char *arg = "6000000";
		char *dir = NULL;
		double w_t1, w_auto, w_t2;
		double tier;

		snprintf(path, sizeof(path), "%s/wasm/bench_nbody.wasm",
		    BENCH_DIR);
		m = load(path);
		(void)engine_ms(m, arg, WASM_TIER_1, cache, NULL, &w_t1, false);
		if (core_fs_tmpdir("bench-wasm-auto", &dir, NULL) != CORE_OK)
			return 1;
		tier = engine_ms(m, arg, WASM_TIER_AUTO, dir, NULL, &w_auto,
		    true);
		(void)engine_ms(m, arg, WASM_TIER_AUTO, dir, NULL, &w_t2,
		    false);
		printf("\nauto policy, nbody %s, wall ms: tier 1 only %.0f | "
		    "auto cold cache %.0f (finished in tier %.0f) | auto warm "
		    "cache %.0f\n", arg, w_t1, w_auto, tier, w_t2);
		(void)core_fs_rmtree(dir, NULL);
		free(dir);
		wasm_module_free(m);
	}
	(void)core_fs_rmtree(cache, NULL);
	free(cache);
	return 0;
}
