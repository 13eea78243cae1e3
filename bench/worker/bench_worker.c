/*
 * bench_worker.c -- requests/s and CPU per request of `add 10 20` on the
 * tiny module (bench/e2e/tiny.c, tier 2 cached) three ways, in one run:
 *   one-shot   wasm_run: a child per request (the old path)
 *   worker     wasm_pool_run from one thread: one persistent worker
 *   pool xT    wasm_pool_run from T threads sharing a pool (N per module)
 * CPU is user+sys of this process plus its reaped children: one-shot
 * children, and the workers, which the pool reaps when it is freed at the
 * end of each mode (so their start and code loading are included).
 *
 * Usage: bench_worker [seconds-per-mode (2)] [threads (4)] [N per module]
 */
#include "wasm/wasm.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct ctx {
	struct wasm_pool *pool;     /* NULL: one-shot */
	const struct wasm_module *m;
	const char *cache_dir;
	int64_t until_ms;
	uint64_t n, bad, on_worker;
	int64_t worker_cpu_us;
	int64_t *lat_us;            /* owned */
	size_t nlat, cap;
};

static int64_t
cpu_us(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static void *
loop(void *arg)
{
	struct ctx *c = arg;
	const char *args[] = { "10", "20" };
	struct wasm_run_opts o;
	struct wasm_result r;
	int64_t t0;
	enum core_err err;

	while (core_mono_ms() < c->until_ms) {
		memset(&o, 0, sizeof(o));
		o.stdin_fd = -1;
		o.tier = WASM_TIER_AUTO;
		o.cache_dir = c->cache_dir;
		o.invoke = "add";
		o.args = args;
		o.nargs = 2;
		o.timeout_ms = 10000;
		t0 = core_mono_ns();
		err = c->pool != NULL ? wasm_pool_run(c->pool, c->m, &o, &r,
		    NULL) : wasm_run(c->m, &o, &r, NULL);
		if (c->nlat < c->cap)
			c->lat_us[c->nlat++] = (core_mono_ns() - t0) / 1000;
		if (err != CORE_OK || r.outcome != WASM_OUT_RETURNED ||
		    r.results == NULL || strcmp(r.results, "30\n") != 0)
			c->bad++;
		c->on_worker += r.on_worker;
		c->worker_cpu_us += r.worker_cpu_us;
		c->n++;
		wasm_result_cleanup(&r);
	}
	return NULL;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
mode(const char *name, unsigned per_module, const struct wasm_module *m,
    const char *cache_dir, int threads, double secs)
{
	struct wasm_pool_opts po;
	struct wasm_pool *pool = NULL;
	struct ctx *c = calloc((size_t)threads, sizeof(*c));
	pthread_t *th = calloc((size_t)threads, sizeof(*th));
	int64_t t0, s0, k0, wall_ms, cpu, *all;
	uint64_t n = 0, bad = 0, onw = 0;
	int64_t wcpu = 0;
	size_t nl = 0, i;
	int k;

	s0 = cpu_us(RUSAGE_SELF);
	k0 = cpu_us(RUSAGE_CHILDREN);
	if (per_module > 0) {
		memset(&po, 0, sizeof(po));
		po.max_per_module = per_module;
		if (wasm_pool_new(&po, &pool, NULL) != CORE_OK)
			exit(1);
	}
	t0 = core_mono_ms();
	for (k = 0; k < threads; k++) {
		c[k].pool = pool;
		c[k].m = m;
		c[k].cache_dir = cache_dir;
		c[k].until_ms = t0 + (int64_t)(secs * 1000);
		c[k].cap = 2000000;
		c[k].lat_us = calloc(c[k].cap, sizeof(int64_t));
		pthread_create(&th[k], NULL, loop, &c[k]);
	}
	for (k = 0; k < threads; k++)
		pthread_join(th[k], NULL);
	wall_ms = core_mono_ms() - t0;
	wasm_pool_free(pool); /* reaps the workers: their CPU is counted */
	cpu = cpu_us(RUSAGE_SELF) - s0 + cpu_us(RUSAGE_CHILDREN) - k0;
	all = calloc(2000000 * (size_t)threads, sizeof(int64_t));
	for (k = 0; k < threads; k++) {
		n += c[k].n;
		bad += c[k].bad;
		onw += c[k].on_worker;
		wcpu += c[k].worker_cpu_us;
		memcpy(all + nl, c[k].lat_us, c[k].nlat * sizeof(int64_t));
		nl += c[k].nlat;
		free(c[k].lat_us);
	}
	qsort(all, nl, sizeof(*all), cmp64);
	printf("%-10s %2d thr  %7.0f req/s  p50 %6lld us  p99 %6lld us  "
	    "CPU/req %7.1f us (worker-reported %5.1f)  on worker %llu/%llu"
	    "%s\n", name, threads, (double)n * 1000.0 / (double)wall_ms,
	    (long long)(nl ? all[nl / 2] : 0),
	    (long long)(nl ? all[nl * 99 / 100] : 0),
	    n ? (double)cpu / (double)n : 0.0,
	    n ? (double)wcpu / (double)n : 0.0,
	    (unsigned long long)onw, (unsigned long long)n,
	    bad ? " ERRORS" : "");
	free(all);
	free(c);
	free(th);
	(void)i;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	int threads = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 4;
	unsigned per = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 0;
	struct wasm_module *m = NULL;
	struct core_errbuf eb;
	uint8_t *bytes = NULL;
	size_t len = 0;
	char *dir = NULL;
	double la[3] = { 0, 0, 0 };

	core_errbuf_clear(&eb);
	if (core_fs_read(BENCH_TINY, 0, &bytes, &len, &eb) != CORE_OK ||
	    wasm_module_parse(bytes, len, &m, &eb) != CORE_OK ||
	    core_fs_tmpdir("bench-worker", &dir, &eb) != CORE_OK ||
	    wasm_cache_build(dir, m, NULL, &eb) != CORE_OK) {
		fprintf(stderr, "bench_worker: %s\n", core_errbuf_msg(&eb));
		return 1;
	}
	getloadavg(la, 3);
	printf("tiny.wasm (%zu bytes), add 10 20, tier 2 cached; %.1f s per "
	    "mode; load average %.2f %.2f %.2f\n", len, secs, la[0], la[1],
	    la[2]);
	if (per == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		per = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	mode("one-shot", 0, m, dir, 1, secs);
	mode("worker", 1, m, dir, 1, secs);
	mode("one-shot", 0, m, dir, threads, secs);
	mode("pool", per, m, dir, threads, secs);
	(void)core_fs_rmtree(dir, NULL);
	free(dir);
	free(bytes);
	wasm_module_free(m);
	return 0;
}
