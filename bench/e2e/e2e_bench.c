/*
 * e2e_bench.c -- tasks per second through the whole system: each of C
 * client threads creates a task at the manager (HTTP), starts it, and waits
 * for its result, seen on the results topic (MQTT) as the manager sees it.
 * Reports throughput and start-to-result latency percentiles.
 *
 * usage: e2e_bench --manager URL --mqtt tcp://H:P --user ID --password K
 *            --tenant T --channel C --task-json FILE [--tasks N]
 *            [--concurrency C] [--wait-state]
 * --task-json holds the task body to POST (its inputs, module, flags).
 * With --wait-state the client polls GET /tasks/{id} until the state is
 * terminal instead of watching MQTT (the end-user view; slower).
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/core.h"
#include "mqtt/mqtt.h"

#define MAX_WAIT_MS 60000

struct pending {
	char id[CORE_UUID_STR_LEN + 1];
	int64_t t_start_ns, t_done_ns;
	bool done, failed;
	pthread_cond_t cv;
	struct pending *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *table[4096];
static const char *manager_url;
static char *task_body;
static int ntasks = 1000, conc = 16;
static bool wait_state;
static int next_task;
static int64_t *latencies_ns;
static int nlat, nfailed;

static unsigned
bucket(const char *id)
{
	unsigned h = 5381;

	while (*id)
		h = h * 33 + (unsigned char)*id++;
	return h % 4096;
}

static void
on_result(void *arg, const char *topic, const void *payload, size_t len)
{
	struct mqtt_result r;
	struct pending *p;

	(void)arg;
	(void)topic;
	memset(&r, 0, sizeof(r));
	if (mqtt_result_decode(payload, len, &r, NULL) == CORE_OK) {
		pthread_mutex_lock(&lock);
		for (p = table[bucket(r.task_id)]; p != NULL; p = p->next) {
			if (strcmp(p->id, r.task_id) == 0 && !p->done) {
				p->done = true;
				p->failed = r.error != NULL;
				p->t_done_ns = core_mono_ns();
				pthread_cond_signal(&p->cv);
			}
		}
		pthread_mutex_unlock(&lock);
	}
	mqtt_result_cleanup(&r);
}

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct core_buf *b = arg;

	core_buf_append(b, ptr, size * nmemb);
	return size * nmemb;
}

static long
http(CURL *h, const char *method, const char *url, const char *body,
    struct core_buf *out)
{
	struct curl_slist *hdr = NULL;
	long code = 0;

	core_buf_reset(out);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (body != NULL) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdr);
	return code;
}

static bool
state_terminal(CURL *h, const char *id, struct core_buf *b, bool *failed)
{
	char url[512];
	json_t *v = NULL;
	int64_t st = 0;

	snprintf(url, sizeof(url), "%s/tasks/%s", manager_url, id);
	if (http(h, "GET", url, NULL, b) != 200 ||
	    core_json_parse_object(b->data, b->len, 0, &v, NULL) != CORE_OK)
		return false;
	(void)core_json_get_int(v, "state", false, &st, NULL);
	json_decref(v);
	*failed = st == 4 || st == 6;
	return st >= 3;
}

static void *
client(void *arg)
{
	CURL *h = curl_easy_init();
	struct core_buf b;

	(void)arg;
	core_buf_init(&b, 0);
	for (;;) {
		struct pending *p;
		json_t *v = NULL;
		const char *id = NULL;
		char url[512];
		int n;

		pthread_mutex_lock(&lock);
		n = next_task++;
		pthread_mutex_unlock(&lock);
		if (n >= ntasks)
			break;
		snprintf(url, sizeof(url), "%s/tasks", manager_url);
		if (http(h, "POST", url, task_body, &b) != 201 ||
		    core_json_parse_object(b.data, b.len, 0, &v, NULL) != CORE_OK ||
		    core_json_get_str(v, "id", true, &id, NULL) != CORE_OK) {
			fprintf(stderr, "create failed: %s\n", b.data ? (char *)b.data : "");
			json_decref(v);
			pthread_mutex_lock(&lock);
			nfailed++;
			pthread_mutex_unlock(&lock);
			continue;
		}
		p = calloc(1, sizeof(*p));
		snprintf(p->id, sizeof(p->id), "%s", id);
		json_decref(v);
		pthread_cond_init(&p->cv, NULL);
		pthread_mutex_lock(&lock);
		p->next = table[bucket(p->id)];
		table[bucket(p->id)] = p;
		pthread_mutex_unlock(&lock);
		snprintf(url, sizeof(url), "%s/tasks/%s/start", manager_url, p->id);
		p->t_start_ns = core_mono_ns();
		if (http(h, "POST", url, "", &b) != 200) {
			fprintf(stderr, "start failed: %s\n", b.data ? (char *)b.data : "");
			pthread_mutex_lock(&lock);
			nfailed++;
			pthread_mutex_unlock(&lock);
			continue;
		}
		if (wait_state) {
			bool failed = false;
			int64_t deadline = core_mono_ms() + MAX_WAIT_MS;

			while (!state_terminal(h, p->id, &b, &failed) &&
			    core_mono_ms() < deadline)
				usleep(2000);
			pthread_mutex_lock(&lock);
			p->done = true;
			p->failed = failed;
			p->t_done_ns = core_mono_ns();
		} else {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += MAX_WAIT_MS / 1000;
			pthread_mutex_lock(&lock);
			while (!p->done &&
			    pthread_cond_timedwait(&p->cv, &lock, &ts) == 0)
				;
		}
		if (p->done && !p->failed)
			latencies_ns[nlat++] = p->t_done_ns - p->t_start_ns;
		else
			nfailed++;
		pthread_mutex_unlock(&lock);
	}
	core_buf_cleanup(&b);
	curl_easy_cleanup(h);
	return NULL;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "manager", required_argument, NULL, 'm' },
		{ "mqtt", required_argument, NULL, 'q' },
		{ "user", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "tenant", required_argument, NULL, 't' },
		{ "channel", required_argument, NULL, 'c' },
		{ "task-json", required_argument, NULL, 'j' },
		{ "tasks", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'C' },
		{ "wait-state", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mqtt_addr = NULL, *user = NULL, *pass = NULL;
	const char *tenant = NULL, *channel = NULL, *body_file = NULL;
	struct mqtt_client *mc = NULL;
	struct core_errbuf eb;
	char topic[MQTT_TOPIC_MAX];
	pthread_t *th;
	int64_t t0, t1;
	int64_t v;
	size_t blen;
	int c, i;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': manager_url = optarg; break;
		case 'q': mqtt_addr = optarg; break;
		case 'u': user = optarg; break;
		case 'p': pass = optarg; break;
		case 't': tenant = optarg; break;
		case 'c': channel = optarg; break;
		case 'j': body_file = optarg; break;
		case 'n':
			if (core_parse_int(optarg, 1, 10000000, &v) != CORE_OK)
				return 2;
			ntasks = (int)v;
			break;
		case 'C':
			if (core_parse_int(optarg, 1, 1024, &v) != CORE_OK)
				return 2;
			conc = (int)v;
			break;
		case 'w': wait_state = true; break;
		default: return 2;
		}
	}
	if (manager_url == NULL || body_file == NULL ||
	    (!wait_state && (mqtt_addr == NULL || user == NULL ||
	    tenant == NULL || channel == NULL))) {
		fprintf(stderr, "e2e_bench: missing options (see the source)\n");
		return 2;
	}
	core_errbuf_clear(&eb);
	if (core_fs_read(body_file, 0, (uint8_t **)&task_body, &blen, &eb) !=
	    CORE_OK) {
		fprintf(stderr, "e2e_bench: %s\n", eb.msg);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!wait_state) {
		struct mqtt_config cfg = { .address = mqtt_addr, .client_id = user,
			.password = pass, .qos = 1 };

		if (mqtt_topic(topic, tenant, channel, MQTT_SUFFIX_RESULTS, &eb) !=
		    CORE_OK ||
		    mqtt_client_new(&cfg, on_result, NULL, NULL, &mc, &eb) != CORE_OK ||
		    mqtt_client_subscribe(mc, topic, &eb) != CORE_OK ||
		    mqtt_client_start(mc, &eb) != CORE_OK) {
			fprintf(stderr, "e2e_bench: mqtt: %s\n", eb.msg);
			return 1;
		}
		usleep(200000); /* let the subscription settle */
	}
	latencies_ns = calloc((size_t)ntasks, sizeof(*latencies_ns));
	th = calloc((size_t)conc, sizeof(*th));
	t0 = core_mono_ns();
	for (i = 0; i < conc; i++)
		pthread_create(&th[i], NULL, client, NULL);
	for (i = 0; i < conc; i++)
		pthread_join(th[i], NULL);
	t1 = core_mono_ns();
	qsort(latencies_ns, (size_t)nlat, sizeof(*latencies_ns), cmp64);
	printf("{\"tasks\":%d,\"completed\":%d,\"failed\":%d,\"concurrency\":%d,"
	    "\"seconds\":%.3f,\"tasks_per_s\":%.1f,\"p50_ms\":%.2f,"
	    "\"p99_ms\":%.2f}\n", ntasks, nlat, nfailed, conc,
	    (double)(t1 - t0) / 1e9, nlat / ((double)(t1 - t0) / 1e9),
	    nlat ? latencies_ns[nlat / 2] / 1e6 : 0.0,
	    nlat ? latencies_ns[(nlat * 99) / 100 < nlat ? (nlat * 99) / 100 : nlat - 1] / 1e6 : 0.0);
	mqtt_client_free(mc);
	curl_global_cleanup();
	return nfailed > 0 ? 1 : 0;
}
