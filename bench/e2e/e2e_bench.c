/*
 * e2e_bench.c -- tasks per second through the whole system: each of C
 * client threads creates a task at the manager (HTTP), starts it, and waits
 * for its result, seen on the results topic (MQTT) as the manager sees it.
 * Reports throughput, start-to-result latency percentiles (start request
 * sent to result received), the median HTTP round trips of the create and
 * start requests and, for every
 * process named with --pid, the CPU time (user+sys) it and its descendants
 * spent per task during the run.
 *
 * usage: e2e_bench --manager URL --mqtt tcp://H:P --user ID --password K
 *            --tenant T --channel C --task-json FILE [--tasks N]
 *            [--concurrency C] [--wait-state] [--pid LABEL=PID ...]
 * --task-json holds the task body to POST (its inputs, module, flags).
 * With --wait-state the client polls GET /tasks/{id} until the state is
 * terminal instead of watching MQTT (the end-user view; slower).
 * Each client thread keeps one HTTP/1.1 connection open for all its
 * requests; the number of connections opened is reported.
 *
 * CPU of a process group: the change of the process's own utime+stime,
 * plus the change of its reaped children's (cutime+cstime), plus the CPU
 * of live descendants at the end minus that of live descendants at the
 * start. Children that run and are reaped within the run are counted
 * whole; long-lived workers are counted by their change. The part spent
 * in children (engine processes, workers, helpers) is also given alone.
 */
#include <ctype.h>
#include <dirent.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/core.h"
#include "mqtt/mqtt.h"

#define MAX_WAIT_MS 60000
#define NBUCKETS 4096
#define MAX_GROUPS 16
#define MAX_PROCS 4096

struct pending {
	char id[CORE_UUID_STR_LEN + 1];
	int64_t t_start_ns, t_done_ns;
	bool done, failed;
	pthread_cond_t cv;
	struct pending *next;
};

/* A labelled process and its descendants. */
struct group {
	char label[32];
	int pid;
	long long ticks0;  /* group CPU at the start, clock ticks */
	long long ticks1;
	long long self0, self1;  /* the process alone (its threads) */
};

/* One /proc/<pid>/stat snapshot. */
struct proc {
	int pid, ppid;
	long long self, children;  /* utime+stime, cutime+cstime */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *table[NBUCKETS];
static const char *manager_url;
static char *task_body;
static size_t task_body_len;
static int ntasks = 1000, conc = 16;
static bool wait_state;
static int next_task;
static int64_t *latencies_ns;
static int64_t *create_ns, *startreq_ns;  /* HTTP round trips */
static int nlat, nfailed, ncreate, nstartreq;
static long nconnects;
static struct group groups[MAX_GROUPS];
static int ngroups;

static unsigned
bucket(const char *id)
{
	unsigned h = 5381;

	while (*id)
		h = h * 33 + (unsigned char)*id++;
	return h % NBUCKETS;
}

static void
on_result(void *arg, const char *topic, const void *payload, size_t len)
{
	struct mqtt_result r;
	struct pending *p;
	int64_t now = core_mono_ns();

	(void)arg;
	(void)topic;
	memset(&r, 0, sizeof(r));
	if (mqtt_result_decode(payload, len, &r, NULL) == CORE_OK) {
		pthread_mutex_lock(&lock);
		for (p = table[bucket(r.task_id)]; p != NULL; p = p->next) {
			if (strcmp(p->id, r.task_id) == 0 && !p->done) {
				p->done = true;
				p->failed = r.error != NULL;
				p->t_done_ns = now;
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

/* One request on the thread's handle (its connection is reused). body NULL
 * is a GET. The response body is NUL-terminated in out. */
static long
http(CURL *h, const char *url, const char *body, size_t len,
    struct core_buf *out)
{
	long code = 0, n = 0;

	core_buf_reset(out);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	if (curl_easy_perform(h) == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &n);
	}
	core_buf_append(out, "", 1);
	out->len--;
	if (n > 0) {
		pthread_mutex_lock(&lock);
		nconnects += n;
		pthread_mutex_unlock(&lock);
	}
	return code;
}

static bool
state_terminal(CURL *h, const char *id, struct core_buf *b, bool *failed)
{
	char url[512];
	json_t *v = NULL;
	int64_t st = 0;

	snprintf(url, sizeof(url), "%s/tasks/%s", manager_url, id);
	if (http(h, url, NULL, 0, b) != 200 ||
	    core_json_parse_object(b->data, b->len, 0, &v, NULL) != CORE_OK)
		return false;
	(void)core_json_get_int(v, "state", false, &st, NULL);
	json_decref(v);
	*failed = st == 4 || st == 6;
	return st >= 3;
}

static void
count_failed(void)
{
	pthread_mutex_lock(&lock);
	nfailed++;
	pthread_mutex_unlock(&lock);
}

/* Runs one task: create, start, wait. */
static void
client_task(CURL *h, struct core_buf *b)
{
	struct pending *p;
	json_t *v = NULL;
	const char *id = NULL;
	char url[512];

	int64_t t0 = core_mono_ns(), t1;

	snprintf(url, sizeof(url), "%s/tasks", manager_url);
	if (http(h, url, task_body, task_body_len, b) != 201 ||
	    core_json_parse_object(b->data, b->len, 0, &v, NULL) != CORE_OK ||
	    core_json_get_str(v, "id", true, &id, NULL) != CORE_OK) {
		fprintf(stderr, "create failed: %s\n", (char *)b->data);
		json_decref(v);
		count_failed();
		return;
	}
	t1 = core_mono_ns();
	pthread_mutex_lock(&lock);
	create_ns[ncreate++] = t1 - t0;
	pthread_mutex_unlock(&lock);
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		abort();
	snprintf(p->id, sizeof(p->id), "%s", id);
	json_decref(v);
	pthread_cond_init(&p->cv, NULL);
	pthread_mutex_lock(&lock);
	p->next = table[bucket(p->id)];
	table[bucket(p->id)] = p;
	pthread_mutex_unlock(&lock);
	snprintf(url, sizeof(url), "%s/tasks/%s/start", manager_url, p->id);
	p->t_start_ns = core_mono_ns();
	if (http(h, url, "", 0, b) != 200) {
		fprintf(stderr, "start failed: %s\n", (char *)b->data);
		count_failed();
		return;
	}
	t1 = core_mono_ns();
	pthread_mutex_lock(&lock);
	startreq_ns[nstartreq++] = t1 - p->t_start_ns;
	pthread_mutex_unlock(&lock);
	if (wait_state) {
		bool failed = false;
		int64_t deadline = core_mono_ms() + MAX_WAIT_MS;

		while (!state_terminal(h, p->id, b, &failed) &&
		    core_mono_ms() < deadline)
			usleep(2000);
		pthread_mutex_lock(&lock);
		if (!p->done) {
			p->done = core_mono_ms() < deadline;
			p->failed = failed;
			p->t_done_ns = core_mono_ns();
		}
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

static void *
client(void *arg)
{
	struct curl_slist *hdr = NULL;
	CURL *h = curl_easy_init();
	struct core_buf b;
	int n;

	(void)arg;
	if (h == NULL)
		abort();
	core_buf_init(&b, 0);
	/* No "Expect: 100-continue" round trip for the task body. */
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	for (;;) {
		pthread_mutex_lock(&lock);
		n = next_task++;
		pthread_mutex_unlock(&lock);
		if (n >= ntasks)
			break;
		client_task(h, &b);
	}
	core_buf_cleanup(&b);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	return NULL;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Reads /proc/<pid>/stat; false when the process is gone. */
static bool
proc_read(int pid, struct proc *p)
{
	char path[64], buf[1024], *s;
	unsigned long long ut, st;
	long long cut, cst;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip to the
	 * last ')'. Then: state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime cutime cstime. */
	s = strrchr(buf, ')');
	if (s == NULL || sscanf(s + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u "
	    "%*u %*u %llu %llu %lld %lld", &p->ppid, &ut, &st, &cut, &cst) != 5)
		return false;
	p->pid = pid;
	p->self = (long long)(ut + st);
	p->children = cut + cst;
	return true;
}

/* Every process on the host (at most MAX_PROCS). */
static int
proc_all(struct proc *out)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < MAX_PROCS) {
		int64_t pid;

		if (!isdigit((unsigned char)de->d_name[0]) ||
		    core_parse_int(de->d_name, 1, INT32_MAX, &pid) != CORE_OK)
			continue;
		if (proc_read((int)pid, &out[n]))
			n++;
	}
	closedir(d);
	return n;
}

static bool
proc_descends(const struct proc *all, int n, int pid, int root)
{
	int depth, i;

	for (depth = 0; depth < 64 && pid > 1; depth++) {
		for (i = 0; i < n && all[i].pid != pid; i++)
			;
		if (i == n)
			return false;
		pid = all[i].ppid;
		if (pid == root)
			return true;
	}
	return false;
}

/* Group CPU as defined at the top, one snapshot: self + reaped children
 * (sign +1) and live descendants (added separately so that the difference
 * of two snapshots gives the formula). */
static void
groups_snapshot(bool end)
{
	static struct proc all[MAX_PROCS];
	int n = proc_all(all), g, i;

	for (g = 0; g < ngroups; g++) {
		long long t = 0, self = 0;

		for (i = 0; i < n; i++) {
			if (all[i].pid == groups[g].pid) {
				t += all[i].self + all[i].children;
				self = all[i].self;
			} else if (proc_descends(all, n, all[i].pid,
			    groups[g].pid)) {
				t += all[i].self;
			}
		}
		if (end) {
			groups[g].ticks1 = t;
			groups[g].self1 = self;
		} else {
			groups[g].ticks0 = t;
			groups[g].self0 = self;
		}
	}
}

static double
rusage_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void
loadavg(char out[64])
{
	FILE *f = fopen("/proc/loadavg", "r");

	out[0] = '\0';
	if (f != NULL) {
		if (fscanf(f, "%63s", out) != 1)
			out[0] = '\0';
		fclose(f);
	}
}

static void
report(double secs, double bench_ms, const char *load0, const char *load1)
{
	double tick_ms = 1000.0 / (double)sysconf(_SC_CLK_TCK), total = 0;
	double per = nlat > 0 ? (double)nlat : 1.0;
	int g;

	qsort(latencies_ns, (size_t)nlat, sizeof(*latencies_ns), cmp64);
	qsort(create_ns, (size_t)ncreate, sizeof(*create_ns), cmp64);
	qsort(startreq_ns, (size_t)nstartreq, sizeof(*startreq_ns), cmp64);
	printf("{\"tasks\":%d,\"completed\":%d,\"failed\":%d,\"concurrency\":%d,"
	    "\"connections\":%ld,\"seconds\":%.3f,\"tasks_per_s\":%.1f,"
	    "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"create_p50_ms\":%.2f,"
	    "\"start_request_p50_ms\":%.2f,\"load_1m\":[%s,%s],"
	    "\"cpu_ms_per_task\":{\"bench\":%.3f", ntasks, nlat, nfailed, conc,
	    nconnects, secs, nlat / secs,
	    nlat ? latencies_ns[nlat / 2] / 1e6 : 0.0,
	    nlat ? latencies_ns[(nlat * 99) / 100] / 1e6 : 0.0,
	    ncreate ? create_ns[ncreate / 2] / 1e6 : 0.0,
	    nstartreq ? startreq_ns[nstartreq / 2] / 1e6 : 0.0,
	    *load0 ? load0 : "0", *load1 ? load1 : "0", bench_ms / per);
	total = bench_ms / per;
	for (g = 0; g < ngroups; g++) {
		double ms = (double)(groups[g].ticks1 - groups[g].ticks0) *
		    tick_ms / per;

		printf(",\"%s\":%.3f", groups[g].label, ms);
		total += ms;
	}
	printf(",\"total\":%.3f},\"cpu_ms_per_task_children\":{", total);
	for (g = 0; g < ngroups; g++)
		printf("%s\"%s\":%.3f", g > 0 ? "," : "", groups[g].label,
		    (double)(groups[g].ticks1 - groups[g].ticks0 -
		    (groups[g].self1 - groups[g].self0)) * tick_ms / per);
	printf("},\"cpu_cores_busy\":%.2f}\n", total * per / 1e3 / secs);
}

static bool
group_add(const char *arg)
{
	const char *eq = strchr(arg, '=');
	int64_t v;

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(groups[0].label) ||
	    ngroups == MAX_GROUPS ||
	    core_parse_int(eq + 1, 1, INT32_MAX, &v) != CORE_OK)
		return false;
	memcpy(groups[ngroups].label, arg, (size_t)(eq - arg));
	groups[ngroups].pid = (int)v;
	ngroups++;
	return true;
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
		{ "pid", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mqtt_addr = NULL, *user = NULL, *pass = NULL;
	const char *tenant = NULL, *channel = NULL, *body_file = NULL;
	struct mqtt_client *mc = NULL;
	struct core_errbuf eb;
	struct pending *p, *next;
	char topic[MQTT_TOPIC_MAX], load0[64], load1[64];
	pthread_t *th;
	int64_t t0, t1;
	double cpu0, cpu1;
	int64_t v;
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
		case 'P':
			if (!group_add(optarg)) {
				fprintf(stderr, "e2e_bench: bad --pid %s\n",
				    optarg);
				return 2;
			}
			break;
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
	if (core_fs_read(body_file, 0, (uint8_t **)&task_body, &task_body_len,
	    &eb) != CORE_OK) {
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
	create_ns = calloc((size_t)ntasks, sizeof(*create_ns));
	startreq_ns = calloc((size_t)ntasks, sizeof(*startreq_ns));
	th = calloc((size_t)conc, sizeof(*th));
	if (latencies_ns == NULL || create_ns == NULL || startreq_ns == NULL ||
	    th == NULL)
		return 1;
	loadavg(load0);
	groups_snapshot(false);
	cpu0 = rusage_ms();
	t0 = core_mono_ns();
	for (i = 0; i < conc; i++)
		pthread_create(&th[i], NULL, client, NULL);
	for (i = 0; i < conc; i++)
		pthread_join(th[i], NULL);
	t1 = core_mono_ns();
	cpu1 = rusage_ms();
	groups_snapshot(true);
	loadavg(load1);
	report((double)(t1 - t0) / 1e9, cpu1 - cpu0, load0, load1);
	mqtt_client_free(mc);
	curl_global_cleanup();
	for (i = 0; i < NBUCKETS; i++) {
		for (p = table[i]; p != NULL; p = next) {
			next = p->next;
			pthread_cond_destroy(&p->cv);
			free(p);
		}
	}
	free(latencies_ns);
	free(create_ns);
	free(startreq_ns);
	free(th);
	free(task_body);
	return nfailed > 0 ? 1 : 0;
}
