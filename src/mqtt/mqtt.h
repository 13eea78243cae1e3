/*
 * mqtt.h -- the Propeller control plane over MQTT: a libmosquitto client
 * wrapper, topic builders and the codecs of every payload of
 * spec/propeller-wire.md §5 and §9.
 *
 * Owns: one broker connection per struct mqtt_client (client-id = username =
 * entity id, password = API key, clean session, configurable QoS, optional
 * TLS), automatic reconnection with a 1-60 s exponential backoff and
 * re-subscription of every remembered pattern, and a publish that any thread
 * may call. The codecs turn payload bytes into plain C structs and back with
 * strict, bounded validation: a payload that is too large, not a JSON object,
 * misses a required key or carries a key of the wrong type is refused with a
 * message naming the key. Unknown keys and JSON nulls for optional keys are
 * tolerated (spec §12.1).
 *
 * Depends on: core, libmosquitto, jansson.
 * Never: logs, retains messages, or keeps a message after its callback returns.
 */
#ifndef PROPELLER_MQTT_H
#define PROPELLER_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

#define MQTT_DEFAULT_PORT 1883
#define MQTT_DEFAULT_TLS_PORT 8883

/* Configuration of a client; every string is borrowed for the call only. */
struct mqtt_config {
	const char *address;         /* tcp://h:p, mqtt://, ssl://, tls://, mqtts:// */
	const char *client_id;       /* entity id; also the username */
	const char *password;        /* API key; may be NULL */
	int qos;                     /* 0, 1 or 2 */
	int keepalive_s;             /* 0 = 30 */
	int64_t connect_timeout_ms;  /* wait for the first CONNACK; 0 = 30 s */
	/* TLS: used when the scheme asks for it or a CA is given. */
	const char *tls_ca_cert;     /* PEM file */
	const char *tls_client_cert; /* PEM file */
	const char *tls_client_key;  /* PEM file */
	bool tls_insecure;           /* skip hostname verification */
	int max_inflight;            /* QoS 1/2 messages in flight; 0 = 20 */
	/* Last will (optional; QoS 0, not retained). Proplets must not set one
	 * on the alive topic (spec §5.6). */
	const char *will_topic;
	const char *will_payload;
};

/*
 * Called on the client's network thread for each message received. The
 * topic and payload are valid only during the call. Must not block long.
 */
typedef void (*mqtt_message_fn)(void *arg, const char *topic,
    const void *payload, size_t len);
/* Called on the network thread after each successful (re)connection, after
 * the remembered subscriptions were re-sent. */
typedef void (*mqtt_connect_fn)(void *arg);

/*
 * The connection settings a daemon reads from <PREFIX>_MQTT_ADDRESS, _QOS,
 * _TIMEOUT, _KEEP_ALIVE, _TLS_CA_CERT, _TLS_CLIENT_CERT, _TLS_CLIENT_KEY and
 * _TLS_INSECURE_SKIP_VERIFY (spec §2.3–2.5), validated once.
 */
struct mqtt_settings {
	char *address;                /* owned */
	int qos;
	int keepalive_s;
	int64_t timeout_ms;
	char *tls_ca_cert;            /* owned */
	char *tls_client_cert;        /* owned */
	char *tls_client_key;         /* owned */
	bool tls_insecure;
};

/* Loads s from the environment; every bad value is recorded in errs. */
void mqtt_settings_load(struct mqtt_settings *s, const char *prefix,
    struct core_cfg *errs);
void mqtt_settings_cleanup(struct mqtt_settings *s);
/* Fills cfg from s for the given identity (all borrowed by cfg). */
void mqtt_settings_config(const struct mqtt_settings *s,
    const char *client_id, const char *password, struct mqtt_config *cfg);

struct mqtt_client;

/* Parses a broker address into host and port; *host_out is malloc'd. */
enum core_err mqtt_address_parse(const char *address, char **host_out,
    int *port_out, bool *tls_out, struct core_errbuf *eb);

/*
 * Creates a client; nothing is sent until mqtt_client_start(). on_connect may
 * be NULL. Fails on a bad address, QoS or TLS file.
 */
enum core_err mqtt_client_new(const struct mqtt_config *cfg,
    mqtt_message_fn on_message, mqtt_connect_fn on_connect, void *arg,
    struct mqtt_client **out, struct core_errbuf *eb);

/* Remembers a subscription pattern (sent now if connected and again after
 * every reconnect). */
enum core_err mqtt_client_subscribe(struct mqtt_client *c, const char *pattern,
    struct core_errbuf *eb);

/*
 * Connects and starts the network thread. Waits up to connect_timeout_ms for
 * the broker's CONNACK: a refused connection (bad credentials, ...) or the
 * timeout is an error. Later disconnections are retried forever with backoff.
 */
enum core_err mqtt_client_start(struct mqtt_client *c, struct core_errbuf *eb);

/* Publishes at the configured QoS, never retained. Safe from any thread.
 * Fails with CORE_ERR_NET when not connected. */
enum core_err mqtt_client_publish(struct mqtt_client *c, const char *topic,
    const void *payload, size_t len, struct core_errbuf *eb);

bool mqtt_client_connected(struct mqtt_client *c);
/* Number of successful connections so far (1 after start, +1 per reconnect). */
unsigned mqtt_client_connections(struct mqtt_client *c);

/* Disconnects, stops the thread and frees. NULL is a no-op. */
void mqtt_client_free(struct mqtt_client *c);

/* ------------------------------------------------------------------ */
/* Topics                                                              */
/* ------------------------------------------------------------------ */

#define MQTT_TOPIC_MAX 512

/* Topic suffixes relative to m/{tenant}/c/{channel}/ (spec §5.2). */
#define MQTT_SUFFIX_DISCOVERY "control/proplet/create"
#define MQTT_SUFFIX_ALIVE "control/proplet/alive"
#define MQTT_SUFFIX_START "control/manager/start"
#define MQTT_SUFFIX_STOP "control/manager/stop"
#define MQTT_SUFFIX_INVOKE "control/manager/invoke"
#define MQTT_SUFFIX_RESULTS "control/proplet/results"
#define MQTT_SUFFIX_INVOKE_RESULTS "control/proplet/invoke_results"
#define MQTT_SUFFIX_TASK_METRICS "control/proplet/task_metrics"
#define MQTT_SUFFIX_METRICS "control/proplet/metrics"
#define MQTT_SUFFIX_CHUNK_REQUEST "registry/proplet"
#define MQTT_SUFFIX_CHUNK "registry/server"
#define MQTT_SUFFIX_ALL "#"

/* True if s is usable as a tenant or channel id inside a topic: non-empty,
 * at most 128 bytes, no '/', '+', '#' or control characters. */
bool mqtt_topic_part_valid(const char *s);

/* Writes m/{tenant}/c/{channel}/{suffix} into out (MQTT_TOPIC_MAX bytes). */
enum core_err mqtt_topic(char out[MQTT_TOPIC_MAX], const char *tenant,
    const char *channel, const char *suffix, struct core_errbuf *eb);

/* If topic is m/{tenant}/c/{channel}/X, returns X, else NULL. */
const char *mqtt_topic_suffix(const char *topic, const char *tenant,
    const char *channel);

/* ------------------------------------------------------------------ */
/* Payload codecs                                                      */
/* ------------------------------------------------------------------ */

/* Size ceilings of received payloads. */
#define MQTT_MAX_START (140u * 1024 * 1024)  /* 100 MiB file as base64 */
#define MQTT_MAX_RESULT (16u * 1024 * 1024)
#define MQTT_MAX_CHUNK (8u * 1024 * 1024)
#define MQTT_MAX_CONTROL (1024u * 1024)     /* every other payload */
#define MQTT_MAX_STRING (64u * 1024)        /* names, paths, metadata values */
#define MQTT_MAX_LIST 4096                  /* inputs, cli_args, env, tags */

/* A list of strings. `null` tells a JSON null apart from an empty array. */
struct mqtt_strv {
	char **v;  /* owned, each owned */
	size_t n;
	bool null;
};

/* String-to-string map (task env). */
struct mqtt_env {
	char **keys;   /* owned */
	char **values; /* owned */
	size_t n;
};

/* §5.5. `present` is false when the key was absent or null. */
struct mqtt_monitoring {
	bool present;
	bool enabled;
	int64_t interval;  /* as sent: ns (manager) or s (upstream proplet) */
	bool collect_cpu, collect_memory, collect_disk_io, collect_threads;
	bool collect_file_descriptors, export_to_mqtt, retain_history;
	int64_t history_size;
};

/* Interval in seconds: values >= 1,000,000 are taken as nanoseconds. */
int64_t mqtt_monitoring_interval_s(const struct mqtt_monitoring *m);

/* control/manager/start (§5.4). Optional strings are NULL when absent. */
struct mqtt_start {
	char *id;                 /* owned; UUID */
	char *name;               /* owned; non-empty */
	int64_t state;
	char *image_url;          /* owned */
	char *file;               /* owned; standard base64 text */
	struct mqtt_strv inputs;  /* numbers are converted to strings */
	struct mqtt_strv cli_args;
	struct mqtt_env env;
	bool broadcast, daemon, latent, encrypted;
	char *kbs_resource_path;  /* owned */
	struct mqtt_monitoring monitoring_profile;
	char *proplet_id;         /* owned */
	char *hal_storage_path;   /* owned */
	char *mode;               /* owned */
	json_t *parent_results;   /* owned reference; object or NULL */
};

/* control/manager/stop. has_broadcast=false omits the key (recovery form). */
struct mqtt_stop {
	char *id;          /* owned */
	bool has_broadcast;
	bool broadcast;
	char *proplet_id;  /* owned; NULL when absent */
};

/* control/manager/invoke. */
struct mqtt_invoke {
	char *id;             /* owned */
	bool broadcast;
	char *proplet_id;     /* owned; may be NULL */
	char *invocation_id;  /* owned; UUID */
	struct mqtt_strv inputs;
	struct mqtt_env env;
};

/* §4.3 metadata keys of a discovery message; NULL/0 when absent. */
struct mqtt_proplet_meta {
	char *description, *location, *ip, *environment, *os, *hostname;
	char *cpu_arch, *proplet_version, *wasm_runtime; /* owned */
	struct mqtt_strv tags;
	int64_t total_memory_bytes;
};

/* control/proplet/create. */
struct mqtt_discovery {
	char *proplet_id;  /* owned; UUID */
	char *namespace_;  /* owned; may be NULL */
	struct mqtt_proplet_meta metadata;
};

/* control/proplet/alive. `offline` is true for an LWT offline notice. */
struct mqtt_heartbeat {
	char *proplet_id;  /* owned; UUID */
	char *status;      /* owned; may be NULL */
	char *namespace_;  /* owned; may be NULL */
	bool offline;
};

/* control/proplet/results. results is any JSON value (normally a string). */
struct mqtt_result {
	char *task_id;     /* owned; UUID */
	char *proplet_id;  /* owned; may be NULL */
	json_t *results;   /* owned reference; NULL when absent or null */
	char *error;       /* owned; NULL when absent, null or "" */
};

/* control/proplet/invoke_results. */
struct mqtt_invoke_result {
	char *task_id, *invocation_id; /* owned; UUIDs */
	char *proplet_id;              /* owned; may be NULL */
	char *results;                 /* owned; "" when absent */
	char *error;                   /* owned; NULL when absent, null or "" */
};

struct mqtt_task_usage {
	double cpu_percent, memory_percent;
	int64_t memory_bytes, disk_read_bytes, disk_write_bytes;
	int64_t uptime_seconds, thread_count, file_descriptor_count;
};

struct mqtt_task_aggregate {
	bool present;
	double avg_cpu_usage, max_cpu_usage;
	int64_t avg_memory_usage, max_memory_usage;
	int64_t total_disk_read, total_disk_write, sample_count;
};

/* control/proplet/task_metrics. timestamp_ns is 0 when absent. */
struct mqtt_task_metrics {
	char *task_id, *proplet_id; /* owned */
	struct mqtt_task_usage metrics;
	struct mqtt_task_aggregate aggregated;
	int64_t timestamp_ns;
};

/* control/proplet/metrics. */
struct mqtt_proplet_metrics {
	char *proplet_id;  /* owned */
	char *namespace_;  /* owned; may be NULL */
	int64_t timestamp_ns;
	double cpu_user_seconds, cpu_system_seconds, cpu_percent;
	int64_t rss_bytes, heap_alloc_bytes, heap_sys_bytes, heap_inuse_bytes;
	int64_t container_usage_bytes, container_limit_bytes; /* -1 = absent */
};

/* registry/server (§9). data is the decoded bytes. */
struct mqtt_chunk {
	char *app_name;    /* owned */
	int64_t chunk_idx, total_chunks;
	uint8_t *data;     /* owned */
	size_t data_len;
};

/* registry/proplet. */
struct mqtt_chunk_request {
	char *app_name;    /* owned */
};

/*
 * Decoders parse (p, n) into a zeroed struct that the caller later releases
 * with the matching _cleanup (also after a failed decode). Encoders return a
 * malloc'd compact JSON text in *out (caller frees) and validate the same
 * rules, so a message we send always decodes.
 */
enum core_err mqtt_start_decode(const void *p, size_t n, struct mqtt_start *m,
    struct core_errbuf *eb);
enum core_err mqtt_start_encode(const struct mqtt_start *m, char **out,
    struct core_errbuf *eb);
void mqtt_start_cleanup(struct mqtt_start *m);

enum core_err mqtt_stop_decode(const void *p, size_t n, struct mqtt_stop *m,
    struct core_errbuf *eb);
enum core_err mqtt_stop_encode(const struct mqtt_stop *m, char **out,
    struct core_errbuf *eb);
void mqtt_stop_cleanup(struct mqtt_stop *m);

enum core_err mqtt_invoke_decode(const void *p, size_t n,
    struct mqtt_invoke *m, struct core_errbuf *eb);
enum core_err mqtt_invoke_encode(const struct mqtt_invoke *m, char **out,
    struct core_errbuf *eb);
void mqtt_invoke_cleanup(struct mqtt_invoke *m);

enum core_err mqtt_discovery_decode(const void *p, size_t n,
    struct mqtt_discovery *m, struct core_errbuf *eb);
enum core_err mqtt_discovery_encode(const struct mqtt_discovery *m, char **out,
    struct core_errbuf *eb);
void mqtt_discovery_cleanup(struct mqtt_discovery *m);
/* The metadata as a JSON object with only the known keys (new reference). */
json_t *mqtt_proplet_meta_to_json(const struct mqtt_proplet_meta *md);

enum core_err mqtt_heartbeat_decode(const void *p, size_t n,
    struct mqtt_heartbeat *m, struct core_errbuf *eb);
enum core_err mqtt_heartbeat_encode(const struct mqtt_heartbeat *m,
    char **out, struct core_errbuf *eb);
void mqtt_heartbeat_cleanup(struct mqtt_heartbeat *m);

enum core_err mqtt_result_decode(const void *p, size_t n,
    struct mqtt_result *m, struct core_errbuf *eb);
enum core_err mqtt_result_encode(const struct mqtt_result *m, char **out,
    struct core_errbuf *eb);
void mqtt_result_cleanup(struct mqtt_result *m);

enum core_err mqtt_invoke_result_decode(const void *p, size_t n,
    struct mqtt_invoke_result *m, struct core_errbuf *eb);
enum core_err mqtt_invoke_result_encode(const struct mqtt_invoke_result *m,
    char **out, struct core_errbuf *eb);
void mqtt_invoke_result_cleanup(struct mqtt_invoke_result *m);

enum core_err mqtt_task_metrics_decode(const void *p, size_t n,
    struct mqtt_task_metrics *m, struct core_errbuf *eb);
enum core_err mqtt_task_metrics_encode(const struct mqtt_task_metrics *m,
    char **out, struct core_errbuf *eb);
void mqtt_task_metrics_cleanup(struct mqtt_task_metrics *m);

enum core_err mqtt_proplet_metrics_decode(const void *p, size_t n,
    struct mqtt_proplet_metrics *m, struct core_errbuf *eb);
enum core_err mqtt_proplet_metrics_encode(const struct mqtt_proplet_metrics *m,
    char **out, struct core_errbuf *eb);
void mqtt_proplet_metrics_cleanup(struct mqtt_proplet_metrics *m);

enum core_err mqtt_chunk_decode(const void *p, size_t n, struct mqtt_chunk *m,
    struct core_errbuf *eb);
enum core_err mqtt_chunk_encode(const struct mqtt_chunk *m, char **out,
    struct core_errbuf *eb);
void mqtt_chunk_cleanup(struct mqtt_chunk *m);

enum core_err mqtt_chunk_request_decode(const void *p, size_t n,
    struct mqtt_chunk_request *m, struct core_errbuf *eb);
enum core_err mqtt_chunk_request_encode(const struct mqtt_chunk_request *m,
    char **out, struct core_errbuf *eb);
void mqtt_chunk_request_cleanup(struct mqtt_chunk_request *m);

/* Helpers shared with the manager's API codec. */

/* Reads key as a list of strings; numbers become their decimal text (as the
 * manager does for `inputs`) when numbers_ok. Absent/null keeps sv->null. */
enum core_err mqtt_json_strv(const json_t *obj, const char *key,
    bool numbers_ok, struct mqtt_strv *sv, struct core_errbuf *eb);
enum core_err mqtt_json_env(const json_t *obj, const char *key,
    struct mqtt_env *env, struct core_errbuf *eb);
enum core_err mqtt_json_monitoring(const json_t *obj, const char *key,
    struct mqtt_monitoring *m, struct core_errbuf *eb);
json_t *mqtt_strv_to_json(const struct mqtt_strv *sv);  /* null when sv->null */
json_t *mqtt_env_to_json(const struct mqtt_env *env);
json_t *mqtt_monitoring_to_json(const struct mqtt_monitoring *m);
void mqtt_strv_cleanup(struct mqtt_strv *sv);
void mqtt_env_cleanup(struct mqtt_env *env);
enum core_err mqtt_strv_push(struct mqtt_strv *sv, const char *s);
enum core_err mqtt_env_set(struct mqtt_env *env, const char *key,
    const char *value);

#endif /* PROPELLER_MQTT_H */
