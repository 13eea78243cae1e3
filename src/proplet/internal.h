/*
 * internal.h -- pieces of the proplet shared between its files only.
 */
#ifndef PROPELLER_PROPLET_INTERNAL_H
#define PROPELLER_PROPLET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "mqtt/mqtt.h"
#include "proplet/proplet.h"

/* Ceiling on a module from any source (spec §6.2: 100 MiB). */
#define PROPLET_MODULE_MAX (100u * 1024 * 1024)
/* Incomplete chunk assemblies expire after this long (spec §9). */
#define PROPLET_CHUNK_EXPIRY_MS (5 * 60 * 1000)
/* At most this many assemblies in flight, to bound memory. */
#define PROPLET_CHUNK_MAX_ASSEMBLIES 64

/* Reassembles proxy chunks by app_name (spec §9). Thread-safe. */
struct proplet_chunks;

struct proplet_chunks *proplet_chunks_new(void);
void proplet_chunks_free(struct proplet_chunks *cs);
/*
 * Adds one chunk (the chunk's data is copied). Duplicates are ignored; a
 * total_chunks that differs from earlier chunks of the same app, an index
 * out of range, or an assembly that would exceed PROPLET_MODULE_MAX is an
 * error and drops the assembly.
 */
enum core_err proplet_chunks_add(struct proplet_chunks *cs,
    const struct mqtt_chunk *c, struct core_errbuf *eb);
/*
 * Waits up to timeout_ms for app_name to be complete, then hands the bytes
 * over (malloc'd) and forgets the assembly. CORE_ERR_TIMEOUT otherwise.
 */
enum core_err proplet_chunks_wait(struct proplet_chunks *cs,
    const char *app_name, int64_t timeout_ms, uint8_t **out, size_t *len,
    struct core_errbuf *eb);
/* Drops assemblies idle for longer than PROPLET_CHUNK_EXPIRY_MS. */
void proplet_chunks_sweep(struct proplet_chunks *cs);

/* GETs an http(s) URL holding a module (spec §6.2 step 4), bounded. This,
 * proplet_registry_pull and proplet_encrypted_fetch run the fetch helper. */
enum core_err proplet_http_get(const char *url, uint8_t **out, size_t *len,
    struct core_errbuf *eb);

/* Pulls a plain (unencrypted) wasm image from its registry. */
enum core_err proplet_registry_pull(const struct proplet_config *cfg,
    const char *image_url, uint8_t **out, size_t *len,
    struct core_errbuf *eb);

/*
 * How a task asks to be run, from its name, cli_args and inputs.
 * cli_style is true when the result must be raw stdout (spec §6.4).
 */
struct proplet_invocation {
	char *invoke;         /* owned; export to call, NULL = _start */
	char **env;           /* owned; "K=V" from --env in cli_args */
	size_t nenv;
	bool cli_style;
};

/*
 * Interprets cli_args (--invoke NAME, --invoke=NAME, --env K=V; anything
 * else is refused, notably --dir, which would expose host paths).
 */
enum core_err proplet_invocation_parse(const struct mqtt_strv *cli_args,
    struct proplet_invocation *inv, struct core_errbuf *eb);
void proplet_invocation_cleanup(struct proplet_invocation *inv);



/*
 * The encrypted-task pipeline (encrypted.c, run by the fetch helper
 * proplet-fetch, see fetch_helper.h): in that short-lived process, pull
 * image_url, find the key id of its encrypted layer, attest
 * to the KBS with the given attester, fetch the key, unwrap the layer key,
 * verify the HMAC over the whole layer and decrypt; the plaintext module
 * comes back over a memfd and is copied into *out (malloc'd; the caller
 * wipes it after use). No key or plaintext touches persistent storage.
 */
struct proplet_encrypted_req {
	const struct proplet_config *cfg; /* borrowed */
	const char *image_url;            /* borrowed */
	const char *kbs_resource_path;    /* borrowed; may be NULL */
	int tee_kind;                     /* enum tee_kind of the attester */
};
enum core_err proplet_encrypted_fetch(const struct proplet_encrypted_req *r,
    uint8_t **out, size_t *len, struct core_errbuf *eb);

#endif /* PROPELLER_PROPLET_INTERNAL_H */
