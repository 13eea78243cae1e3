/*
 * proxy.h -- propeller-proxy: answers proplets' requests for a module
 * (registry/proplet) by pulling it from its OCI registry and streaming it
 * to them in MQTT chunks (registry/server), spec propeller-wire.md §9.
 *
 * Unlike upstream, it honours the tag or digest of the reference (upstream
 * always resolves `latest`), verifies the blob's digest, and picks the wasm
 * layer by media type (upstream takes the largest layer of any type, which
 * forwards ciphertext as if it were a module); encrypted layers are refused.
 *
 * Depends on: core, mqtt, oci, ocicrypt, libmicrohttpd (GET /health).
 * Never: keeps a module after it was sent, or serves encrypted layers.
 */
#ifndef PROPELLER_PROXY_H
#define PROPELLER_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "mqtt/mqtt.h"

#define PROXY_QUEUE_MAX 100          /* pending requests (spec §9) */
#define PROXY_MODULE_MAX (100u * 1024 * 1024)

struct proxy_config {
	char *tenant_id, *entity_id, *api_key, *channel_id; /* owned */
	struct mqtt_settings mqtt; /* owned: PROXY_MQTT_* */
	int http_port;             /* /health; 0 = disabled */
	size_t chunk_size;         /* bytes of module per chunk */
	int workers;               /* concurrent fetches */
	char *registry_url;        /* owned; required */
	char *registry_host;       /* owned; host[:port] of registry_url */
	bool registry_http;        /* registry_url is http:// (no TLS) */
	bool authenticate;         /* send credentials to registry_host */
	char *registry_username, *registry_password; /* owned */
	char *registry_token;      /* owned; sent as the password (identity
	                            * token) with username "<token>" */
	char *log_level;           /* owned */
};

/* Reads PROXY_* variables (and [proxy] of config.toml for the identity);
 * every problem goes to errs. */
void proxy_config_load(struct proxy_config *c, struct core_cfg *errs);
void proxy_config_cleanup(struct proxy_config *c);

struct proxy;

enum core_err proxy_new(const struct proxy_config *c, struct proxy **out,
    struct core_errbuf *eb);
/* Connects and serves until proxy_stop() (async-signal-safe). */
enum core_err proxy_run(struct proxy *p, struct core_errbuf *eb);
void proxy_stop(struct proxy *p);
void proxy_free(struct proxy *p);

/*
 * Fetches the module app_name names (a registry reference) with the
 * proxy's credentials. Exposed for tests. *out is malloc'd.
 */
enum core_err proxy_fetch(const struct proxy_config *c, const char *app_name,
    uint8_t **out, size_t *len, struct core_errbuf *eb);

#endif /* PROPELLER_PROXY_H */
