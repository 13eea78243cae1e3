/*
 * manager.h -- the Propeller manager: configuration, task store, service
 * (scheduling, liveness, results, recovery) and the HTTP API of
 * spec/propeller-wire.md §3-4.
 *
 * Owns: the task and proplet records (in SQLite, SQLite :memory: for the
 * `memory` storage type, or PostgreSQL), the round-robin cursor, the
 * Prometheus counters and the HTTP listener. Tasks and proplets are kept as
 * JSON documents in the canonical shape of spec §4 plus internal keys that
 * start with '_' and never leave the manager.
 *
 * Depends on: core, mqtt (payload codecs and topics), sqlite3, libpq,
 * libmicrohttpd. The MQTT connection itself is wired by the daemon (main.c)
 * through a publish callback, so the service can be tested without a broker.
 * Never: logs (only main.c, the daemon, does), calls getenv after
 * manager_config_load, or sends task metadata to proplets.
 */
#ifndef PROPELLER_MANAGER_H
#define PROPELLER_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "mqtt/mqtt.h"

/* ------------------------------------------------------------------ */
/* Configuration (spec §2.1, §2.3)                                     */
/* ------------------------------------------------------------------ */

#define MANAGER_BODY_MAX (100u * 1024 * 1024) /* HTTP request body limit */
#define MANAGER_METADATA_MAX (1024u * 1024)   /* task metadata, serialized */
#define MANAGER_LIVENESS_DEFAULT_MS 10000
#define MANAGER_ALIVE_HISTORY 10

enum manager_storage { MANAGER_STORAGE_MEMORY, MANAGER_STORAGE_SQLITE,
	MANAGER_STORAGE_POSTGRES };

/* Every string is owned (freed by manager_config_cleanup). */
struct manager_config {
	/* Logging */
	enum log_level log_level;
	/* MQTT: the MANAGER_MQTT_* settings (mqtt_settings_load) */
	struct mqtt_settings mqtt;
	/* Identity (newer names, older fallbacks, then config.toml) */
	char *tenant_id, *entity_id, *api_key, *channel_id;
	/* HTTP */
	char *http_host;
	int http_port;
	char *http_cert, *http_key;        /* PEM files; HTTPS when both set */
	int64_t http_read_timeout_ms, http_write_timeout_ms;
	int64_t http_read_header_timeout_ms, http_idle_timeout_ms;
	int64_t http_max_header_bytes;
	char *api_token;                   /* MANAGER_API_TOKEN; NULL = no auth */
	/* Storage */
	enum manager_storage storage;
	char *sqlite_path;
	char *pg_host, *pg_port, *pg_user, *pg_pass, *pg_db, *pg_sslmode;
	/* Scheduling */
	int64_t liveness_timeout_ms;       /* MANAGER_LIVENESS_TIMEOUT, 10 s */
	char *instance_id;                 /* random UUID per process */
};

/*
 * Reads the MANAGER_* environment (and, when any identity value is missing,
 * the [manager] section of MANAGER_CONFIG_FILE, default ./config.toml) into
 * cfg. Every problem is recorded in cc as `NAME: problem (got "value")`;
 * returns CORE_ERR_INVALID if there was any.
 */
enum core_err manager_config_load(struct manager_config *cfg,
    struct core_cfg *cc);
void manager_config_cleanup(struct manager_config *cfg);

/*
 * Reads key = "value" lines of [section] from a TOML file (only the flat
 * string subset provision writes). The value is malloc'd in *out, NULL when
 * absent.
 */
enum core_err manager_toml_get(const char *path, const char *section,
    const char *key, char **out, struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* Store                                                               */
/* ------------------------------------------------------------------ */

enum manager_kind { MANAGER_KIND_TASK = 0, MANAGER_KIND_PROPLET = 1 };

#define MANAGER_SCHEMA_VERSION 4

struct manager_store;

/* Opens (creating and migrating) a SQLite store; path ":memory:" is the
 * memory store. WAL mode for files. */
enum core_err manager_store_open_sqlite(const char *path,
    struct manager_store **out, struct core_errbuf *eb);
/* Opens (creating and migrating) a PostgreSQL store from a libpq
 * connection string. */
enum core_err manager_store_open_pg(const char *conninfo,
    struct manager_store **out, struct core_errbuf *eb);
/* Opens the store the configuration names. */
enum core_err manager_store_open(const struct manager_config *cfg,
    struct manager_store **out, struct core_errbuf *eb);
void manager_store_free(struct manager_store *st);

/* The schema version recorded in the database. */
int manager_store_schema_version(struct manager_store *st);

/* Inserts or replaces a document; created_ns orders listings, an integer
 * "state" member is indexed. */
enum core_err manager_store_put(struct manager_store *st,
    enum manager_kind kind, const char *id, int64_t created_ns,
    const json_t *doc, struct core_errbuf *eb);
/* CORE_ERR_NOT_FOUND when absent. *doc is a new reference. */
enum core_err manager_store_get(struct manager_store *st,
    enum manager_kind kind, const char *id, json_t **doc,
    struct core_errbuf *eb);
enum core_err manager_store_delete(struct manager_store *st,
    enum manager_kind kind, const char *id, struct core_errbuf *eb);
/* All documents of a kind, oldest first (new array reference). */
enum core_err manager_store_list(struct manager_store *st,
    enum manager_kind kind, json_t **docs, struct core_errbuf *eb);
/*
 * Documents whose "state" equals state (-1: any), oldest first, after
 * skipping offset, at most limit (-1: all). *total (may be NULL) is the
 * number of matching documents.
 */
enum core_err manager_store_query(struct manager_store *st,
    enum manager_kind kind, int state, int64_t offset, int64_t limit,
    json_t **docs, int64_t *total, struct core_errbuf *eb);
/* Groups the following writes into one transaction (not nestable); end
 * it with manager_store_end(st, commit). A failed commit is rolled back. */
enum core_err manager_store_begin(struct manager_store *st,
    struct core_errbuf *eb);
enum core_err manager_store_end(struct manager_store *st, bool commit,
    struct core_errbuf *eb);
/*
 * A task's module (its base64 `file`) is stored apart from its document, so
 * the writes of a task's lifecycle never copy or re-encode it. put_file
 * replaces it (file NULL removes it); get_file returns it malloc'd in *file,
 * CORE_ERR_NOT_FOUND when there is none. manager_store_delete of a task
 * removes its module too.
 */
enum core_err manager_store_put_file(struct manager_store *st,
    const char *id, const char *file, struct core_errbuf *eb);
enum core_err manager_store_get_file(struct manager_store *st,
    const char *id, char **file, struct core_errbuf *eb);
/* Number of documents with the given state (-1: any). */
enum core_err manager_store_count(struct manager_store *st,
    enum manager_kind kind, int state, int64_t *n, struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* Tasks (spec §4.1)                                                   */
/* ------------------------------------------------------------------ */

enum manager_task_state { MANAGER_TASK_PENDING = 0, MANAGER_TASK_SCHEDULED,
	MANAGER_TASK_RUNNING, MANAGER_TASK_COMPLETED, MANAGER_TASK_FAILED,
	MANAGER_TASK_SKIPPED, MANAGER_TASK_INTERRUPTED };

/*
 * Parses and validates a task request body (POST/PUT /tasks). The result is
 * a new object holding only the known fields in canonical form (inputs as
 * strings, priority 0 -> 50, ...). Errors name the field.
 */
enum core_err manager_task_parse(const void *body, size_t len, json_t **out,
    struct core_errbuf *eb);
/* The API view of a stored task: internal keys dropped, file redacted,
 * empty optional fields omitted (new reference). */
json_t *manager_task_view(const json_t *doc);
/* "abcdefghij<REDACTED>klmnopqrst" for long strings (malloc'd). */
char *manager_redact(const char *s);
/* True if s[0..n) holds only base64 characters, which a JSON string
 * carries as they are (no escapes). */
bool manager_base64_plain(const char *s, size_t n);

/* ------------------------------------------------------------------ */
/* Service                                                             */
/* ------------------------------------------------------------------ */

/* Publishes payload on m/{tenant}/c/{channel}/{suffix}. */
typedef enum core_err (*manager_publish_fn)(void *arg, const char *topic,
    const void *payload, size_t len, struct core_errbuf *eb);

struct manager_service;

/* Creates the service over st (taken over: freed by manager_service_free). */
enum core_err manager_service_new(const struct manager_config *cfg,
    struct manager_store *st, manager_publish_fn publish, void *publish_arg,
    struct manager_service **out, struct core_errbuf *eb);
void manager_service_free(struct manager_service *svc);

/* Marks tasks left Running by a previous process as Interrupted (error
 * "manager restarted while the task was running") and returns their
 * {"id","name","proplet_id"} in *recovered (new array) for the daemon to
 * report. A later result for such a task still lands and sets its state. */
enum core_err manager_service_recover(struct manager_service *svc,
    json_t **recovered, struct core_errbuf *eb);

/* Marks Running tasks whose proplet stopped sending heartbeats (not alive
 * for the liveness timeout, or deleted) as Interrupted with the error
 * "proplet <id> is not alive" and returns them as {"id","name",
 * "proplet_id"} in *lost (new array). The daemon calls it every second; a
 * later result for such a task still lands. Broadcast tasks are skipped. */
enum core_err manager_service_sweep(struct manager_service *svc,
    json_t **lost, struct core_errbuf *eb);

/* Handles one MQTT message (any topic; unknown ones are ignored). Returns
 * CORE_ERR_INVALID with the reason for a malformed payload. */
enum core_err manager_service_handle(struct manager_service *svc,
    const char *topic, const void *payload, size_t len,
    struct core_errbuf *eb);

/*
 * Operations behind the HTTP API. Error codes map to statuses:
 * INVALID 400, NOT_FOUND 404, EXISTS/STATE 409, anything else 500.
 * Returned JSON values are new references.
 */
enum core_err manager_task_create(struct manager_service *svc,
    const json_t *req, json_t **view, struct core_errbuf *eb);
enum core_err manager_task_get(struct manager_service *svc, const char *id,
    json_t **view, struct core_errbuf *eb);
enum core_err manager_task_list(struct manager_service *svc, int64_t offset,
    int64_t limit, const json_t *metadata_filter, json_t **page,
    struct core_errbuf *eb);
enum core_err manager_task_update(struct manager_service *svc,
    const char *id, const json_t *req, json_t **view,
    struct core_errbuf *eb);
enum core_err manager_task_delete(struct manager_service *svc,
    const char *id, struct core_errbuf *eb);
enum core_err manager_task_start(struct manager_service *svc,
    const char *id, struct core_errbuf *eb);
enum core_err manager_task_stop(struct manager_service *svc,
    const char *id, struct core_errbuf *eb);
/* *results is NULL when the task has no results yet. */
enum core_err manager_task_results(struct manager_service *svc,
    const char *id, json_t **results, struct core_errbuf *eb);
/* status: NULL, "active" or "inactive". */
enum core_err manager_proplet_list(struct manager_service *svc,
    int64_t offset, int64_t limit, const char *status, json_t **page,
    struct core_errbuf *eb);
enum core_err manager_proplet_get(struct manager_service *svc,
    const char *id, json_t **view, struct core_errbuf *eb);
enum core_err manager_proplet_delete(struct manager_service *svc,
    const char *id, struct core_errbuf *eb);
enum core_err manager_proplet_alive_history(struct manager_service *svc,
    const char *id, int64_t offset, int64_t limit, json_t **page,
    struct core_errbuf *eb);

/* Prometheus text exposition of the service counters and gauges. */
enum core_err manager_service_metrics(struct manager_service *svc,
    struct core_buf *out);

/* ------------------------------------------------------------------ */
/* HTTP API                                                            */
/* ------------------------------------------------------------------ */

/* One request, independent of the HTTP library (borrowed strings). */
struct manager_api_req {
	const char *method;
	const char *path;          /* without the query string */
	const char *query;         /* raw query string after '?', may be NULL */
	const char *content_type;  /* may be NULL */
	const char *authorization; /* may be NULL */
	const void *body;
	size_t body_len;
};

struct manager_api_resp {
	int status;
	char *body;          /* owned; NULL for an empty body */
	size_t body_len;
	const char *content_type;  /* static string */
	char location[128];  /* Location header when non-empty */
};

/* Routes and answers one request; never fails (errors become statuses). */
void manager_api_handle(struct manager_service *svc,
    const struct manager_config *cfg, const struct manager_api_req *req,
    struct manager_api_resp *resp);
void manager_api_resp_cleanup(struct manager_api_resp *resp);

struct manager_http;

/* Starts the libmicrohttpd listener on cfg->http_host:http_port. */
enum core_err manager_http_start(const struct manager_config *cfg,
    struct manager_service *svc, struct manager_http **out,
    struct core_errbuf *eb);
/* The bound port (useful when http_port was 0). */
int manager_http_port(struct manager_http *h);
void manager_http_stop(struct manager_http *h);

/* ------------------------------------------------------------------ */
/* Client (used by the propeller CLI)                                  */
/* ------------------------------------------------------------------ */

#define MANAGER_CLIENT_MAX_RESPONSE (64u * 1024 * 1024)

struct manager_client_resp {
	long status;   /* HTTP status */
	char *body;    /* owned, NUL-terminated; "" when empty */
	size_t len;
};

/*
 * One HTTP request to the manager API at base_url (e.g.
 * http://localhost:7070) with an optional JSON body and bearer token.
 * Any HTTP status is CORE_OK; transport failures are CORE_ERR_NET naming
 * the URL. insecure skips TLS verification.
 */
enum core_err manager_client_call(const char *base_url, const char *token,
    bool insecure, const char *method, const char *path, const char *body,
    struct manager_client_resp *resp, struct core_errbuf *eb);
void manager_client_resp_cleanup(struct manager_client_resp *resp);

/*
 * Like manager_client_call, for the JSON API: a 2xx status returns CORE_OK
 * with the parsed body in *out (NULL for an empty body); any other status
 * is an error whose message is "HTTP <status>: <the body's error text>",
 * with the code mapped back (400 INVALID, 401 AUTH, 404 NOT_FOUND,
 * 409 STATE, else NET).
 */
enum core_err manager_client_json(const char *base_url, const char *token,
    bool insecure, const char *method, const char *path, const char *body,
    json_t **out, struct core_errbuf *eb);

#endif /* PROPELLER_MANAGER_H */
