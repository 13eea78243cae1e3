/*
 * service.c -- the proxy's work: requests from registry/proplet go into a
 * bounded queue (duplicates of a name already queued or in flight are
 * dropped), a few workers pull each module from its registry and publish
 * it in chunks on registry/server. GET /health answers on PROXY_HTTP_PORT.
 */
#define LOG_MODULE "proxy"
#include "proxy/proxy.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "mqtt/mqtt.h"
#include "oci/oci.h"
#include "ocicrypt/ocicrypt.h"

struct proxy {
	const struct proxy_config *cfg; /* borrowed */
	struct mqtt_client *mqtt;       /* owned */
	struct MHD_Daemon *http;        /* owned */
	char t_request[MQTT_TOPIC_MAX], t_chunk[MQTT_TOPIC_MAX];

	pthread_mutex_t lock;
	pthread_cond_t more;            /* queue gained an entry or stopping */
	char *queue[PROXY_QUEUE_MAX];   /* owned names; guarded by lock */
	size_t qhead, qlen;
	char **inflight;                /* owned names being fetched */
	size_t ninflight, inflight_cap;
	pthread_t *workers;             /* owned */
	int nworkers;
	bool quit;                      /* guarded by lock */

	struct core_waker wake;         /* proxy_stop() wakes proxy_run() */
	volatile sig_atomic_t stopping;
	unsigned long served, failed;   /* guarded by lock */
};

enum core_err
proxy_fetch(const struct proxy_config *c, const char *app_name, uint8_t **out,
    size_t *len, struct core_errbuf *eb)
{
	struct oci_opts o = { 0 };
	struct ocicrypt_keys none = { 0 };
	struct oci_ref *ref = NULL;
	enum core_err err;
	char *spec = NULL;
	size_t n;

	*out = NULL;
	*len = 0;
	if ((err = oci_ref_parse(app_name, &ref, eb)) != CORE_OK)
		return err;
	if (c->registry_host != NULL && strcmp(ref->domain, c->registry_host) == 0) {
		/* Credentials and plain http only for the configured registry. */
		o.tls_verify_off = c->registry_http;
		if (c->authenticate && c->registry_token != NULL) {
			o.username = "<token>";
			o.password = c->registry_token;
		} else if (c->authenticate) {
			o.username = c->registry_username;
			o.password = c->registry_password;
		}
	}
	n = strlen(app_name) + 10;
	if ((spec = malloc(n)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	snprintf(spec, n, "docker://%s", app_name);
	/* No keys: an encrypted layer is refused, never forwarded. */
	err = ocicrypt_pull_module(spec, &o, &none, PROXY_MODULE_MAX, out, len,
	    eb);
out:
	free(spec);
	oci_ref_free(ref);
	return err;
}

static enum core_err
publish_chunks(struct proxy *p, const char *app_name, const uint8_t *data,
    size_t len, struct core_errbuf *eb)
{
	size_t cs = p->cfg->chunk_size, total = (len + cs - 1) / cs, i;
	enum core_err err = CORE_OK;

	if (total == 0)
		total = 1;
	for (i = 0; i < total && err == CORE_OK; i++) {
		struct mqtt_chunk c = {
			.app_name = (char *)app_name,
			.chunk_idx = (int64_t)i,
			.total_chunks = (int64_t)total,
			.data = (uint8_t *)data + i * cs,
			.data_len = len - i * cs < cs ? len - i * cs : cs,
		};
		char *payload = NULL;

		if (len == 0)
			c.data_len = 0;
		if ((err = mqtt_chunk_encode(&c, &payload, eb)) == CORE_OK)
			err = mqtt_client_publish(p->mqtt, p->t_chunk, payload,
			    strlen(payload), eb);
		free(payload);
	}
	return err;
}

static void
inflight_remove(struct proxy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->ninflight; i++) {
		if (strcmp(p->inflight[i], name) == 0) {
			free(p->inflight[i]);
			p->inflight[i] = p->inflight[--p->ninflight];
			return;
		}
	}
}

static void *
worker_main(void *arg)
{
	struct proxy *p = arg;

	for (;;) {
		struct core_errbuf eb;
		uint8_t *data = NULL;
		size_t len = 0;
		char *name, f[300];
		enum core_err err;
		int64_t t0;

		pthread_mutex_lock(&p->lock);
		while (p->qlen == 0 && !p->quit)
			pthread_cond_wait(&p->more, &p->lock);
		if (p->quit) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		name = p->queue[p->qhead];
		p->qhead = (p->qhead + 1) % PROXY_QUEUE_MAX;
		p->qlen--;
		pthread_mutex_unlock(&p->lock);

		core_errbuf_clear(&eb);
		snprintf(f, sizeof(f), "app=%.256s", name);
		t0 = core_mono_ms();
		err = proxy_fetch(p->cfg, name, &data, &len, &eb);
		if (err == CORE_OK)
			err = publish_chunks(p, name, data, len, &eb);
		if (err == CORE_OK)
			log_kv(LOG_LEVEL_INFO, f, "served %zu bytes in %zu chunks "
			    "(%lld ms)", len, (len + p->cfg->chunk_size - 1) /
			    p->cfg->chunk_size, (long long)(core_mono_ms() - t0));
		else
			log_kv(LOG_LEVEL_WARN, f, "not served: %s", eb.msg);
		free(data);
		pthread_mutex_lock(&p->lock);
		if (err == CORE_OK)
			p->served++;
		else
			p->failed++;
		inflight_remove(p, name);
		pthread_mutex_unlock(&p->lock);
		free(name);
	}
}

static void
enqueue(struct proxy *p, const char *name)
{
	size_t i;
	char *copy = NULL, *track = NULL, **ni;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->ninflight; i++) {
		if (strcmp(p->inflight[i], name) == 0) {
			pthread_mutex_unlock(&p->lock);
			log_debug("request for %s already in flight", name);
			return;
		}
	}
	if (p->qlen >= PROXY_QUEUE_MAX) {
		pthread_mutex_unlock(&p->lock);
		log_warnx("queue full (%d): request for %s dropped",
		    PROXY_QUEUE_MAX, name);
		return;
	}
	if (p->ninflight == p->inflight_cap) {
		size_t ncap = p->inflight_cap ? p->inflight_cap * 2 : 16;

		if ((ni = realloc(p->inflight, ncap * sizeof(*ni))) == NULL)
			goto nomem;
		p->inflight = ni;
		p->inflight_cap = ncap;
	}
	if ((copy = strdup(name)) == NULL || (track = strdup(name)) == NULL)
		goto nomem;
	p->inflight[p->ninflight++] = track;
	p->queue[(p->qhead + p->qlen) % PROXY_QUEUE_MAX] = copy;
	p->qlen++;
	pthread_cond_signal(&p->more);
	pthread_mutex_unlock(&p->lock);
	return;
nomem:
	pthread_mutex_unlock(&p->lock);
	free(copy);
	free(track);
	log_warnx("out of memory: request for %s dropped", name);
}

static void
on_message(void *arg, const char *topic, const void *payload, size_t len)
{
	struct proxy *p = arg;
	struct mqtt_chunk_request r;
	struct core_errbuf eb;

	if (strcmp(topic, p->t_request) != 0 || p->stopping)
		return;
	memset(&r, 0, sizeof(r));
	core_errbuf_clear(&eb);
	if (mqtt_chunk_request_decode(payload, len, &r, &eb) != CORE_OK)
		log_warnx("malformed request ignored: %s", eb.msg);
	else
		enqueue(p, r.app_name);
	mqtt_chunk_request_cleanup(&r);
}

static enum MHD_Result
on_http(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	static const char ok[] = "{\"status\":\"ok\",\"service\":\"proxy\"}";
	static const char nf[] = "{\"error\":\"not found\"}";
	struct MHD_Response *resp;
	enum MHD_Result ret;
	bool health = strcmp(url, "/health") == 0 && strcmp(method, "GET") == 0;

	(void)cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	resp = MHD_create_response_from_buffer(health ? sizeof(ok) - 1 :
	    sizeof(nf) - 1, (void *)(health ? ok : nf), MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, health ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND,
	    resp);
	MHD_destroy_response(resp);
	return ret;
}

enum core_err
proxy_new(const struct proxy_config *c, struct proxy **out,
    struct core_errbuf *eb)
{
	struct mqtt_config mc;
	struct proxy *p;
	enum core_err err;

	*out = NULL;
	mqtt_settings_config(&c->mqtt, c->entity_id, c->api_key, &mc);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return CORE_ERR_NOMEM;
	p->cfg = c;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->more, NULL);
	if ((err = core_waker_init(&p->wake, eb)) != CORE_OK)
		goto fail;
	if ((err = mqtt_topic(p->t_request, c->tenant_id, c->channel_id,
	    MQTT_SUFFIX_CHUNK_REQUEST, eb)) != CORE_OK ||
	    (err = mqtt_topic(p->t_chunk, c->tenant_id, c->channel_id,
	    MQTT_SUFFIX_CHUNK, eb)) != CORE_OK)
		goto fail;
	if ((err = mqtt_client_new(&mc, on_message, NULL, p, &p->mqtt, eb)) !=
	    CORE_OK)
		goto fail;
	*out = p;
	return CORE_OK;
fail:
	proxy_free(p);
	return err;
}

enum core_err
proxy_run(struct proxy *p, struct core_errbuf *eb)
{
	enum core_err err;
	int i;

	if (p->cfg->http_port > 0) {
		p->http = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
		    MHD_USE_ERROR_LOG, (uint16_t)p->cfg->http_port, NULL, NULL,
		    on_http, p, MHD_OPTION_END);
		if (p->http == NULL)
			return core_errf(eb, CORE_ERR_IO,
			    "PROXY_HTTP_PORT: cannot listen on port %d",
			    p->cfg->http_port);
	}
	if ((p->workers = calloc((size_t)p->cfg->workers, sizeof(*p->workers))) ==
	    NULL)
		return CORE_ERR_NOMEM;
	for (i = 0; i < p->cfg->workers; i++) {
		if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0)
			return core_errf(eb, CORE_ERR_INTERNAL,
			    "cannot start worker threads");
		p->nworkers++;
	}
	if ((err = mqtt_client_subscribe(p->mqtt, p->t_request, eb)) != CORE_OK)
		return err;
	if ((err = mqtt_client_start(p->mqtt, eb)) != CORE_OK)
		return err;
	log_info("proxy %s serving registry %s (chunks of %zu bytes)",
	    p->cfg->entity_id, p->cfg->registry_url, p->cfg->chunk_size);
	while (!p->stopping)
		(void)core_waker_wait(&p->wake, 60000);
	log_info("stopping (served %lu, failed %lu)", p->served, p->failed);
	return CORE_OK;
}

void
proxy_stop(struct proxy *p)
{
	p->stopping = 1;
	core_waker_wake(&p->wake);
}

void
proxy_free(struct proxy *p)
{
	size_t i;
	int w;

	if (p == NULL)
		return;
	p->stopping = 1;
	/* Workers finish the module in hand (they publish with the MQTT
	 * client), then the client goes; on_message ignores requests now. */
	pthread_mutex_lock(&p->lock);
	p->quit = true;
	pthread_cond_broadcast(&p->more);
	pthread_mutex_unlock(&p->lock);
	for (w = 0; w < p->nworkers; w++)
		pthread_join(p->workers[w], NULL);
	free(p->workers);
	mqtt_client_free(p->mqtt);
	if (p->http != NULL)
		MHD_stop_daemon(p->http);
	for (i = 0; i < p->qlen; i++)
		free(p->queue[(p->qhead + i) % PROXY_QUEUE_MAX]);
	for (i = 0; i < p->ninflight; i++)
		free(p->inflight[i]);
	free(p->inflight);
	core_waker_cleanup(&p->wake);
	pthread_cond_destroy(&p->more);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
