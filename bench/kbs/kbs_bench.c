/*
 * kbs_bench.c -- full KBS flows (auth + attest + resource GET with JWE
 * decryption) from N concurrent clients against a running propeller-kbs,
 * each flow with a fresh client (fresh P-256 TEE key, new session, new
 * connection), using the sample attester. With --keepalive each thread
 * keeps one client and its HTTP connection, and forgets its token and
 * session before every flow (still a fresh key and a full RCAR). Prints flows/s and p50/p99 latency; exits 1 if any
 * flow failed or a resource differed from --expect-b64.
 *
 *   kbs_bench --url http://127.0.0.1:PORT --path default/key/k \
 *       --clients 32 --flows 200 [--expect-b64 B64]
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "kbs/kbs.h"

struct bench {
	const char *url;
	const char *path;
	const char *expect_b64;
	long flows;
	bool keepalive;      /* one client per thread, RCAR again per flow */
	int64_t *lat_us;     /* owned; clients * flows */
	long failures;       /* atomic */
	char first_error[CORE_ERRBUF_LEN];
	pthread_mutex_t lock;
};

struct worker {
	struct bench *b;
	long idx;
};

static void *
run(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->b;
	struct kbs_client_opts o;
	struct core_errbuf eb;
	long i;

	struct kbs_client *kc = NULL;

	memset(&o, 0, sizeof(o));
	o.url = b->url;
	if (b->keepalive && kbs_client_new(&o, &kc, NULL) != CORE_OK)
		return NULL;
	for (i = 0; i < b->flows; i++) {
		struct kbs_client *c = kc;
		struct secret *s = NULL;
		int64_t t0 = core_mono_ns();
		enum core_err err = CORE_OK;
		char *got = NULL;

		core_errbuf_clear(&eb);
		if (kc != NULL)
			kbs_client_forget(kc);
		else
			err = kbs_client_new(&o, &c, &eb);
		if (err == CORE_OK)
			err = kbs_client_get_resource(c, b->path, &s, &eb);
		if (err == CORE_OK && b->expect_b64 != NULL) {
			got = core_b64_encode(s->ptr, s->len);
			if (got == NULL || strcmp(got, b->expect_b64) != 0)
				err = core_errf(&eb, CORE_ERR_INTERNAL,
				    "resource differs: got %s", got ? got : "");
		}
		b->lat_us[w->idx * b->flows + i] = (core_mono_ns() - t0) / 1000;
		if (err != CORE_OK) {
			pthread_mutex_lock(&b->lock);
			if (b->failures++ == 0)
				snprintf(b->first_error, sizeof(b->first_error),
				    "%s", core_errbuf_msg(&eb));
			pthread_mutex_unlock(&b->lock);
		}
		free(got);
		secret_free(s);
		if (kc == NULL)
			kbs_client_free(c);
	}
	kbs_client_free(kc);
	return NULL;
}

/* User + system CPU of this process so far, in microseconds. */
static int64_t
cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", 1, NULL, 'u' }, { "path", 1, NULL, 'p' },
		{ "clients", 1, NULL, 'c' }, { "flows", 1, NULL, 'f' },
		{ "expect-b64", 1, NULL, 'e' }, { "keepalive", 0, NULL, 'k' },
		{ NULL, 0, NULL, 0 } };
	struct bench b;
	struct worker *ws;
	pthread_t *th;
	int64_t clients = 8, flows = 100, t0, el_ns, total, cpu0;
	int ch;
	long i;

	memset(&b, 0, sizeof(b));
	b.path = "default/key/bench";
	pthread_mutex_init(&b.lock, NULL);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': b.url = optarg; break;
		case 'p': b.path = optarg; break;
		case 'c':
			if (core_parse_int(optarg, 1, 2000, &clients) != CORE_OK)
				return 2;
			break;
		case 'f':
			if (core_parse_int(optarg, 1, 1000000, &flows) !=
			    CORE_OK)
				return 2;
			break;
		case 'e': b.expect_b64 = optarg; break;
		case 'k': b.keepalive = true; break;
		default:
			fprintf(stderr, "usage: kbs_bench --url URL [--path P] "
			    "[--clients N] [--flows M] [--expect-b64 B] [--keepalive]\n");
			return 2;
		}
	}
	if (b.url == NULL) {
		fprintf(stderr, "kbs_bench: --url is required\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	b.flows = (long)flows;
	total = clients * flows;
	b.lat_us = calloc((size_t)total, sizeof(*b.lat_us));
	ws = calloc((size_t)clients, sizeof(*ws));
	th = calloc((size_t)clients, sizeof(*th));
	if (b.lat_us == NULL || ws == NULL || th == NULL)
		return 1;
	t0 = core_mono_ns();
	cpu0 = cpu_us();
	for (i = 0; i < clients; i++) {
		ws[i].b = &b;
		ws[i].idx = i;
		if (pthread_create(&th[i], NULL, run, &ws[i]) != 0) {
			fprintf(stderr, "kbs_bench: pthread_create failed\n");
			return 1;
		}
	}
	for (i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	el_ns = core_mono_ns() - t0;
	cpu0 = cpu_us() - cpu0;
	qsort(b.lat_us, (size_t)total, sizeof(*b.lat_us), cmp64);
	printf("{\"keepalive\":%s,\"clients\":%lld,\"flows\":%lld,\"failures\":%ld,"
	    "\"seconds\":%.3f,\"flows_per_s\":%.1f,\"p50_ms\":%.2f,"
	    "\"p99_ms\":%.2f,\"client_cpu_ms_per_flow\":%.3f}\n", b.keepalive ? "true" : "false",
	    (long long)clients, (long long)total,
	    b.failures, (double)el_ns / 1e9,
	    (double)total / ((double)el_ns / 1e9),
	    (double)b.lat_us[total / 2] / 1000.0,
	    (double)b.lat_us[(total * 99) / 100 < total ? (total * 99) / 100 :
		total - 1] / 1000.0, (double)cpu0 / 1000.0 / (double)total);
	if (b.failures > 0)
		fprintf(stderr, "kbs_bench: %ld failed flows; first: %s\n",
		    b.failures, b.first_error);
	free(b.lat_us);
	free(ws);
	free(th);
	curl_global_cleanup();
	return b.failures > 0 ? 1 : 0;
}
