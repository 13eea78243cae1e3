/*
 * main.c -- the propeller-manager daemon: configuration, store, recovery,
 * MQTT wiring, HTTP listener, clean stop on SIGTERM/SIGINT.
 */
#define LOG_MODULE "manager"
#include "core/core.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "manager/manager.h"
#include "mqtt/mqtt.h"

/*
 * Every topic the service handles is under control/proplet/ (discovery,
 * heartbeats, results, metrics). The spec's manager takes {base}/# and
 * ignores the rest; that rest is its own start and stop messages, each
 * carrying a task's module back to it, and the proxy's chunk traffic.
 */
#define MANAGER_SUBSCRIBE "control/proplet/#"

struct daemon {
	struct manager_service *svc;  /* owned */
	struct mqtt_client *mc;       /* owned */
};

static enum core_err
daemon_publish(void *arg, const char *topic, const void *p, size_t n,
    struct core_errbuf *eb)
{
	struct daemon *d = arg;

	if (d->mc == NULL)
		return core_errf(eb, CORE_ERR_NET, "MQTT client not started");
	return mqtt_client_publish(d->mc, topic, p, n, eb);
}

static void
daemon_on_message(void *arg, const char *topic, const void *p, size_t n)
{
	struct daemon *d = arg;
	struct core_errbuf eb;
	char fields[MQTT_TOPIC_MAX + 16];

	core_errbuf_clear(&eb);
	if (manager_service_handle(d->svc, topic, p, n, &eb) != CORE_OK) {
		snprintf(fields, sizeof(fields), "topic=%s len=%zu", topic, n);
		log_kv(LOG_LEVEL_WARN, fields, "message refused: %s",
		    core_errbuf_msg(&eb));
	}
}

static void
daemon_on_connect(void *arg)
{
	(void)arg;
	log_info("connected to the MQTT broker");
}

int
main(int argc, char **argv)
{
	struct manager_config cfg;
	struct core_cfg cc;
	struct core_errbuf eb;
	struct manager_store *st = NULL;
	struct manager_http *http = NULL;
	struct mqtt_config mcfg;
	struct daemon d;
	char topic[MQTT_TOPIC_MAX], fields[160];
	json_t *recovered = NULL, *t;
	sigset_t sigs;
	size_t i;
	enum core_err err;
	int sig, rc = 1;

	(void)argv;
	log_set_proc("manager");
	if (argc > 1) {
		fprintf(stderr, "usage: propeller-manager (configured by "
		    "MANAGER_* environment variables; see docs/api.md)\n");
		return 2;
	}
	memset(&d, 0, sizeof(d));
	core_errbuf_clear(&eb);
	core_cfg_init(&cc);
	if (manager_config_load(&cfg, &cc) != CORE_OK) {
		fprintf(stderr, "propeller-manager: bad configuration:\n%s\n",
		    cc.errors.data != NULL ? (const char *)cc.errors.data : "");
		core_cfg_cleanup(&cc);
		manager_config_cleanup(&cfg);
		return 1;
	}
	core_cfg_cleanup(&cc);
	log_set_level(cfg.log_level);

	/* Signals are taken synchronously below; block them in every thread. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (manager_store_open(&cfg, &st, &eb) != CORE_OK) {
		log_errorx("store: %s", core_errbuf_msg(&eb));
		goto out;
	}
	log_info("store open: %s, schema version %d",
	    cfg.storage == MANAGER_STORAGE_MEMORY ? "memory" :
	    cfg.storage == MANAGER_STORAGE_SQLITE ? "sqlite" : "postgres",
	    manager_store_schema_version(st));
	err = manager_service_new(&cfg, st, daemon_publish, &d, &d.svc, &eb);
	st = NULL;  /* taken over, even on failure */
	if (err != CORE_OK) {
		log_errorx("service: %s", core_errbuf_msg(&eb));
		goto out;
	}
	if (manager_service_recover(d.svc, &recovered, &eb) != CORE_OK) {
		log_errorx("recovery: %s", core_errbuf_msg(&eb));
		goto out;
	}
	json_array_foreach(recovered, i, t) {
		snprintf(fields, sizeof(fields), "task=%s proplet=%s",
		    json_string_value(json_object_get(t, "id")),
		    json_string_value(json_object_get(t, "proplet_id")));
		log_kv(LOG_LEVEL_WARN, fields, "task \"%s\" was running when the "
		    "manager stopped; marked interrupted",
		    json_string_value(json_object_get(t, "name")));
	}
	if (json_array_size(recovered) > 0)
		log_warnx("%zu running task(s) marked interrupted",
		    json_array_size(recovered));

	mqtt_settings_config(&cfg.mqtt, cfg.entity_id, cfg.api_key, &mcfg);
	if (mqtt_client_new(&mcfg, daemon_on_message, daemon_on_connect, &d,
	        &d.mc, &eb) != CORE_OK ||
	    mqtt_topic(topic, cfg.tenant_id, cfg.channel_id, MANAGER_SUBSCRIBE,
	        &eb) != CORE_OK ||
	    mqtt_client_subscribe(d.mc, topic, &eb) != CORE_OK ||
	    mqtt_client_start(d.mc, &eb) != CORE_OK) {
		log_errorx("mqtt: %s", core_errbuf_msg(&eb));
		goto out;
	}
	if (manager_http_start(&cfg, d.svc, &http, &eb) != CORE_OK) {
		log_errorx("http: %s", core_errbuf_msg(&eb));
		goto out;
	}
	log_info("listening on %s:%d (%s), channel %s, auth %s",
	    cfg.http_host, manager_http_port(http),
	    cfg.http_cert != NULL ? "https" : "http", topic,
	    cfg.api_token != NULL ? "bearer token" : "none");
	/* Wait for a signal; sweep for tasks of dead proplets every second. */
	for (;;) {
		struct timespec ts = { 1, 0 };
		json_t *lost = NULL;

		sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("signal %d: stopping", sig);
			break;
		}
		core_errbuf_clear(&eb);
		if (manager_service_sweep(d.svc, &lost, &eb) != CORE_OK) {
			log_warnx("liveness sweep: %s", core_errbuf_msg(&eb));
			continue;
		}
		json_array_foreach(lost, i, t) {
			snprintf(fields, sizeof(fields), "task=%s proplet=%s",
			    json_string_value(json_object_get(t, "id")),
			    json_string_value(json_object_get(t, "proplet_id")));
			log_kv(LOG_LEVEL_WARN, fields, "task \"%s\" interrupted: "
			    "its proplet is not alive",
			    json_string_value(json_object_get(t, "name")));
		}
		json_decref(lost);
	}
	rc = 0;
out:
	manager_http_stop(http);
	mqtt_client_free(d.mc);
	d.mc = NULL;
	if (d.svc != NULL)
		manager_service_free(d.svc);
	else
		manager_store_free(st);
	json_decref(recovered);
	manager_config_cleanup(&cfg);
	return rc;
}
