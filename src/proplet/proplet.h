/*
 * proplet.h -- the worker daemon: configuration, the task service (MQTT
 * control plane, fetching modules, running them through the engine,
 * publishing results), and the encrypted-task pipeline.
 *
 * Owns: the proplet's configuration, its MQTT client, the set of running
 * tasks and their child processes, the chunk reassembly store.
 *
 * Depends on: core, mqtt, wasm, tee (detection); the fetch helper
 * `proplet-fetch` (a separate program, fork+exec'd per fetch) carries oci,
 * ocicrypt, kbs and libcurl, so the daemon never loads them.
 * Never: writes a decrypted module or key to persistent storage, passes the
 * proplet's own environment to a task, or sets an MQTT last will on the
 * alive topic (an upstream manager would read it as a heartbeat).
 */
#ifndef PROPELLER_PROPLET_H
#define PROPELLER_PROPLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "mqtt/mqtt.h"

enum proplet_fetch_mode {
	PROPLET_FETCH_PROXY = 0, /* upstream: non-http image_url via the proxy */
	PROPLET_FETCH_DIRECT     /* pull from the registry ourselves */
};

enum proplet_tee_mode {
	PROPLET_TEE_AUTO = 0, /* detect from guest-only signals */
	PROPLET_TEE_OFF,      /* never a TEE runtime */
	PROPLET_TEE_FORCE     /* a TEE kind named explicitly */
};

/* Every field is validated once by proplet_config_load(). */
struct proplet_config {
	/* Identity (spec §2.1–2.2). */
	char *tenant_id;    /* owned */
	char *entity_id;    /* owned; the proplet id, a UUID */
	char *api_key;      /* owned; secret: the MQTT password */
	char *channel_id;   /* owned */

	struct mqtt_settings mqtt; /* owned: PROPLET_MQTT_* */

	/* Timing. */
	int64_t liveliness_interval_ms;
	int64_t metrics_interval_ms;
	bool enable_monitoring;
	int64_t chunk_wait_ms;      /* proxy chunk wait (60 s) */
	int64_t task_timeout_ms;    /* 0 = none */

	/* Execution. */
	char *external_runtime;     /* owned; resolved path or NULL */
	char *wasm_cache_dir;       /* owned; NULL = engine default */
	int wasm_tier;              /* enum wasm_tier */
	uint64_t max_memory_bytes;  /* per task linear memory; 0 = engine default */
	unsigned wasm_workers;      /* persistent workers per module; 0 = off */
	int64_t wasm_worker_idle_ms; /* an idle worker exits after this */
	char **dirs;                /* owned; PROPLET_DIRS preopens */
	size_t ndirs;

	/* Images and the TEE. */
	enum proplet_fetch_mode fetch_mode;
	char *registry_username, *registry_password, *registry_authfile; /* owned */
	bool registry_insecure;
	enum proplet_tee_mode tee_mode;
	int tee_kind;               /* enum tee_kind when FORCE */
	char *kbs_uri;              /* owned; required when a TEE is detected */
	bool require_kid_match;     /* kid must end with kbs_resource_path */

	/* Discovery metadata. */
	char *ns;                   /* owned; PROPLET_MANAGER_K8S_NAMESPACE */
	char *description, *location; /* owned */
	char **tags;                /* owned */
	size_t ntags;
	char *log_level;            /* owned */
};

/*
 * Reads the environment (and the config.toml fallback for missing identity
 * values) into c. Every bad or missing value is reported in errs as
 * "NAME: problem (got "value")"; the caller prints them all and exits.
 */
void proplet_config_load(struct proplet_config *c, struct core_cfg *errs);
void proplet_config_cleanup(struct proplet_config *c);

struct proplet;

/* Builds the service: detects the TEE, connects to the broker. */
enum core_err proplet_new(const struct proplet_config *c,
    struct proplet **out, struct core_errbuf *eb);
/* Publishes discovery, subscribes, and runs heartbeats until
 * proplet_stop() is called (from a signal handler: async-signal-safe). */
enum core_err proplet_run(struct proplet *p, struct core_errbuf *eb);
void proplet_stop(struct proplet *p);
/* Kills every running task and frees. */
void proplet_free(struct proplet *p);

#endif /* PROPELLER_PROPLET_H */
