/*
 * client.c -- libmosquitto wrapper: connect, reconnect with backoff,
 * re-subscribe, thread-safe publish; and the topic builders.
 */
#include "mqtt/mqtt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

#define MQTT_MAX_SUBS 32

struct mqtt_client {
	struct mosquitto *mosq;      /* owned */
	char *host;                  /* owned */
	int port;
	int qos;
	int keepalive_s;
	int64_t connect_timeout_ms;
	mqtt_message_fn on_message;
	mqtt_connect_fn on_connect;
	void *arg;                   /* borrowed from the caller */

	pthread_mutex_t mu;          /* guards everything below */
	pthread_cond_t cv;
	char *subs[MQTT_MAX_SUBS];   /* owned patterns */
	size_t nsubs;
	bool connected;
	bool started;
	int last_connack;            /* -1 until the first CONNACK */
	unsigned connections;
	pthread_mutex_t log_mu;      /* guards last_error only: libmosquitto
	                              * logs while we hold mu */
	char last_error[256];        /* libmosquitto's last error/warning */
};

static int lib_refs;
static pthread_mutex_t lib_mu = PTHREAD_MUTEX_INITIALIZER;

static void client_on_connect(struct mosquitto *m, void *obj, int rc);
static void client_on_disconnect(struct mosquitto *m, void *obj, int rc);
static void client_on_message(struct mosquitto *m, void *obj,
    const struct mosquitto_message *msg);
static void client_on_log(struct mosquitto *m, void *obj, int level,
    const char *str);

enum core_err
mqtt_address_parse(const char *address, char **host_out, int *port_out,
    bool *tls_out, struct core_errbuf *eb)
{
	static const struct { const char *p; bool tls; } schemes[] = {
		{ "tcp://", false }, { "mqtt://", false }, { "ssl://", true },
		{ "tls://", true }, { "mqtts://", true },
	};
	const char *rest = address, *colon;
	int64_t port;
	size_t i, hlen;
	bool tls = false;

	*host_out = NULL;
	if (address == NULL || *address == '\0')
		return core_errf(eb, CORE_ERR_INVALID, "empty broker address");
	for (i = 0; i < CORE_ARRAY_LEN(schemes); i++) {
		if (strncmp(address, schemes[i].p, strlen(schemes[i].p)) == 0) {
			rest = address + strlen(schemes[i].p);
			tls = schemes[i].tls;
			break;
		}
	}
	if (rest == address && strstr(address, "://") != NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "unknown broker address scheme in \"%s\"", address);
	colon = strrchr(rest, ':');
	if (colon != NULL && strchr(rest, ']') != NULL &&
	    colon < strchr(rest, ']'))
		colon = NULL;
	hlen = colon != NULL ? (size_t)(colon - rest) : strlen(rest);
	if (hlen == 0 || hlen > 255 || strchr(rest, '/') != NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "bad broker host in \"%s\"", address);
	port = tls ? MQTT_DEFAULT_TLS_PORT : MQTT_DEFAULT_PORT;
	if (colon != NULL &&
	    core_parse_int(colon + 1, 1, 65535, &port) != CORE_OK)
		return core_errf(eb, CORE_ERR_INVALID,
		    "bad broker port in \"%s\"", address);
	if (rest[0] == '[' && hlen >= 2 && rest[hlen - 1] == ']') {
		rest++;
		hlen -= 2;
	}
	*host_out = strndup(rest, hlen);
	if (*host_out == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	*port_out = (int)port;
	*tls_out = tls;
	return CORE_OK;
}

enum core_err
mqtt_client_new(const struct mqtt_config *cfg, mqtt_message_fn on_message,
    mqtt_connect_fn on_connect, void *arg, struct mqtt_client **out,
    struct core_errbuf *eb)
{
	struct mqtt_client *c = NULL;
	enum core_err err;
	bool tls = false;
	int rc;

	*out = NULL;
	if (cfg->qos < 0 || cfg->qos > 2)
		return core_errf(eb, CORE_ERR_INVALID,
		    "MQTT QoS must be 0, 1 or 2 (got %d)", cfg->qos);
	if (cfg->client_id == NULL || *cfg->client_id == '\0')
		return core_errf(eb, CORE_ERR_INVALID, "MQTT client id is empty");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->log_mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->last_connack = -1;
	err = mqtt_address_parse(cfg->address, &c->host, &c->port, &tls, eb);
	if (err != CORE_OK)
		goto fail;
	c->qos = cfg->qos;
	c->keepalive_s = cfg->keepalive_s > 0 ? cfg->keepalive_s : 30;
	c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ?
	    cfg->connect_timeout_ms : 30000;
	c->on_message = on_message;
	c->on_connect = on_connect;
	c->arg = arg;

	pthread_mutex_lock(&lib_mu);
	if (lib_refs++ == 0)
		mosquitto_lib_init();
	pthread_mutex_unlock(&lib_mu);

	c->mosq = mosquitto_new(cfg->client_id, true, c);
	if (c->mosq == NULL) {
		err = core_errf_errno(eb, CORE_ERR_NOMEM, "mosquitto_new");
		goto fail;
	}
	rc = mosquitto_username_pw_set(c->mosq, cfg->client_id, cfg->password);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_reconnect_delay_set(c->mosq, 1, 60, true);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_max_inflight_messages_set(c->mosq,
		    cfg->max_inflight > 0 ? (unsigned)cfg->max_inflight : 20);
	if (rc == MOSQ_ERR_SUCCESS && cfg->will_topic != NULL)
		rc = mosquitto_will_set(c->mosq, cfg->will_topic,
		    cfg->will_payload != NULL ? (int)strlen(cfg->will_payload) : 0,
		    cfg->will_payload, 0, false);
	if (rc == MOSQ_ERR_SUCCESS && (tls || cfg->tls_ca_cert != NULL)) {
		rc = mosquitto_tls_set(c->mosq, cfg->tls_ca_cert, NULL,
		    cfg->tls_client_cert, cfg->tls_client_key, NULL);
		if (rc == MOSQ_ERR_SUCCESS && cfg->tls_ca_cert == NULL)
			rc = mosquitto_int_option(c->mosq,
			    MOSQ_OPT_TLS_USE_OS_CERTS, 1);
		if (rc == MOSQ_ERR_SUCCESS && cfg->tls_insecure)
			rc = mosquitto_tls_insecure_set(c->mosq, true);
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		err = core_errf(eb, CORE_ERR_INVALID, "MQTT setup: %s",
		    mosquitto_strerror(rc));
		goto fail;
	}
	mosquitto_connect_callback_set(c->mosq, client_on_connect);
	mosquitto_disconnect_callback_set(c->mosq, client_on_disconnect);
	mosquitto_message_callback_set(c->mosq, client_on_message);
	mosquitto_log_callback_set(c->mosq, client_on_log);
	*out = c;
	return CORE_OK;
fail:
	mqtt_client_free(c);
	return err;
}

enum core_err
mqtt_client_subscribe(struct mqtt_client *c, const char *pattern,
    struct core_errbuf *eb)
{
	enum core_err err = CORE_OK;
	char *p;
	int rc;

	if (pattern == NULL || *pattern == '\0' ||
	    strlen(pattern) >= MQTT_TOPIC_MAX)
		return core_errf(eb, CORE_ERR_INVALID, "bad subscription pattern");
	p = strdup(pattern);
	if (p == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	pthread_mutex_lock(&c->mu);
	if (c->nsubs >= MQTT_MAX_SUBS) {
		free(p);
		err = core_errf(eb, CORE_ERR_TOO_BIG, "too many subscriptions");
		goto out;
	}
	c->subs[c->nsubs++] = p;
	if (c->connected) {
		rc = mosquitto_subscribe(c->mosq, NULL, pattern, c->qos);
		if (rc != MOSQ_ERR_SUCCESS)
			err = core_errf(eb, CORE_ERR_NET, "subscribe %s: %s",
			    pattern, mosquitto_strerror(rc));
	}
out:
	pthread_mutex_unlock(&c->mu);
	return err;
}

static void
client_on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct mqtt_client *c = obj;
	size_t i;

	pthread_mutex_lock(&c->mu);
	c->last_connack = rc;
	if (rc == 0) {
		c->connected = true;
		c->connections++;
		for (i = 0; i < c->nsubs; i++)
			mosquitto_subscribe(m, NULL, c->subs[i], c->qos);
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (rc == 0 && c->on_connect != NULL)
		c->on_connect(c->arg);
}

static void
client_on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	struct mqtt_client *c = obj;

	(void)m;
	(void)rc;
	pthread_mutex_lock(&c->mu);
	c->connected = false;
	pthread_mutex_unlock(&c->mu);
}

/* Keeps libmosquitto's last error text (e.g. a TLS verification failure)
 * for the connection error message; nothing is printed. */
static void
client_on_log(struct mosquitto *m, void *obj, int level, const char *str)
{
	struct mqtt_client *c = obj;

	(void)m;
	if ((level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) == 0 || str == NULL)
		return;
	pthread_mutex_lock(&c->log_mu);
	snprintf(c->last_error, sizeof(c->last_error), "%s", str);
	pthread_mutex_unlock(&c->log_mu);
}

static void
client_on_message(struct mosquitto *m, void *obj,
    const struct mosquitto_message *msg)
{
	struct mqtt_client *c = obj;

	(void)m;
	if (c->on_message != NULL && msg->topic != NULL)
		c->on_message(c->arg, msg->topic, msg->payload,
		    msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0);
}

enum core_err
mqtt_client_start(struct mqtt_client *c, struct core_errbuf *eb)
{
	struct timespec deadline;
	enum core_err err = CORE_OK;
	char lasterr[256];
	int rc;

	rc = mosquitto_connect_async(c->mosq, c->host, c->port, c->keepalive_s);
	if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_ERRNO) {
		pthread_mutex_lock(&c->log_mu);
		snprintf(lasterr, sizeof(lasterr), "%s", c->last_error);
		pthread_mutex_unlock(&c->log_mu);
		return core_errf(eb, CORE_ERR_NET, "MQTT connect to %s:%d: %s%s%s%s",
		    c->host, c->port, mosquitto_strerror(rc),
		    lasterr[0] != '\0' ? " (" : "", lasterr,
		    lasterr[0] != '\0' ? ")" : "");
	}
	rc = mosquitto_loop_start(c->mosq);
	if (rc != MOSQ_ERR_SUCCESS)
		return core_errf(eb, CORE_ERR_INTERNAL, "MQTT loop: %s",
		    mosquitto_strerror(rc));
	pthread_mutex_lock(&c->mu);
	c->started = true;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += c->connect_timeout_ms / 1000;
	deadline.tv_nsec += (c->connect_timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	while (!c->connected && c->last_connack <= 0) {
		if (pthread_cond_timedwait(&c->cv, &c->mu, &deadline) ==
		    ETIMEDOUT)
			break;
	}
	if (!c->connected) {
		pthread_mutex_lock(&c->log_mu);
		snprintf(lasterr, sizeof(lasterr), "%s", c->last_error);
		pthread_mutex_unlock(&c->log_mu);
		if (c->last_connack > 0)
			err = core_errf(eb, CORE_ERR_AUTH,
			    "MQTT broker %s:%d refused the connection: %s",
			    c->host, c->port,
			    mosquitto_connack_string(c->last_connack));
		else
			err = core_errf(eb, CORE_ERR_TIMEOUT,
			    "MQTT broker %s:%d: no connection within %lld ms%s%s%s",
			    c->host, c->port, (long long)c->connect_timeout_ms,
			    lasterr[0] != '\0' ? " (" : "", lasterr,
			    lasterr[0] != '\0' ? ")" : "");
	}
	pthread_mutex_unlock(&c->mu);
	return err;
}

enum core_err
mqtt_client_publish(struct mqtt_client *c, const char *topic,
    const void *payload, size_t len, struct core_errbuf *eb)
{
	int rc;

	if (len > (size_t)256 * 1024 * 1024)
		return core_errf(eb, CORE_ERR_TOO_BIG, "MQTT payload too large");
	/* libmosquitto serializes publishes internally once loop_start ran;
	 * the lock only orders them with (re)subscription. */
	pthread_mutex_lock(&c->mu);
	if (!c->connected) {
		pthread_mutex_unlock(&c->mu);
		return core_errf(eb, CORE_ERR_NET,
		    "MQTT publish to %s: not connected to the broker", topic);
	}
	rc = mosquitto_publish(c->mosq, NULL, topic, (int)len, payload, c->qos,
	    false);
	pthread_mutex_unlock(&c->mu);
	if (rc != MOSQ_ERR_SUCCESS)
		return core_errf(eb, CORE_ERR_NET, "MQTT publish to %s: %s",
		    topic, mosquitto_strerror(rc));
	return CORE_OK;
}

bool
mqtt_client_connected(struct mqtt_client *c)
{
	bool v;

	pthread_mutex_lock(&c->mu);
	v = c->connected;
	pthread_mutex_unlock(&c->mu);
	return v;
}

unsigned
mqtt_client_connections(struct mqtt_client *c)
{
	unsigned v;

	pthread_mutex_lock(&c->mu);
	v = c->connections;
	pthread_mutex_unlock(&c->mu);
	return v;
}

void
mqtt_client_free(struct mqtt_client *c)
{
	size_t i;

	if (c == NULL)
		return;
	if (c->mosq != NULL) {
		if (c->started) {
			mosquitto_disconnect(c->mosq);
			mosquitto_loop_stop(c->mosq, false);
		}
		mosquitto_destroy(c->mosq);
		pthread_mutex_lock(&lib_mu);
		if (--lib_refs == 0)
			mosquitto_lib_cleanup();
		pthread_mutex_unlock(&lib_mu);
	}
	for (i = 0; i < c->nsubs; i++)
		free(c->subs[i]);
	free(c->host);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->log_mu);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* ------------------------------------------------------------------ */
/* Topics                                                              */
/* ------------------------------------------------------------------ */

bool
mqtt_topic_part_valid(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n == 0 || n > 128)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '/' || ch == '+' || ch == '#' || ch < 0x20 ||
		    ch == 0x7f)
			return false;
	}
	return true;
}

enum core_err
mqtt_topic(char out[MQTT_TOPIC_MAX], const char *tenant, const char *channel,
    const char *suffix, struct core_errbuf *eb)
{
	int n;

	out[0] = '\0';
	if (!mqtt_topic_part_valid(tenant))
		return core_errf(eb, CORE_ERR_INVALID, "bad tenant id for topic");
	if (!mqtt_topic_part_valid(channel))
		return core_errf(eb, CORE_ERR_INVALID,
		    "bad channel id for topic");
	if (suffix == NULL || *suffix == '\0')
		return core_errf(eb, CORE_ERR_INVALID, "empty topic suffix");
	n = snprintf(out, MQTT_TOPIC_MAX, "m/%s/c/%s/%s", tenant, channel,
	    suffix);
	if (n < 0 || n >= MQTT_TOPIC_MAX) {
		out[0] = '\0';
		return core_errf(eb, CORE_ERR_TOO_BIG, "topic too long");
	}
	return CORE_OK;
}

const char *
mqtt_topic_suffix(const char *topic, const char *tenant, const char *channel)
{
	size_t tl = strlen(tenant), cl = strlen(channel);

	if (strncmp(topic, "m/", 2) != 0)
		return NULL;
	topic += 2;
	if (strncmp(topic, tenant, tl) != 0 || strncmp(topic + tl, "/c/", 3) != 0)
		return NULL;
	topic += tl + 3;
	if (strncmp(topic, channel, cl) != 0 || topic[cl] != '/')
		return NULL;
	return topic + cl + 1;
}
