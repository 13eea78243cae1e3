/*
 * fetch_helper.h -- the proplet's fetch helper, `proplet-fetch`: a separate
 * program the daemon fork+execs for every module it has to fetch (an
 * http(s) URL, a registry pull, an encrypted image). It keeps libcurl,
 * libarchive, ocicrypt, the KBS client and the attesters out of the
 * daemon, whose idle memory is then only MQTT, JSON, the engine and the
 * WASI host; and for encrypted tasks it is the one process that ever holds
 * a key (STYLE.md rule 11), started from a fresh image instead of a copy
 * of the multithreaded daemon.
 *
 * The protocol, on a socketpair the daemon passes as fd 3 (the output
 * memfd is fd 4, stdin and stdout are /dev/null, stderr is the daemon's):
 *   daemon -> helper  header { FETCH_MSG_REQUEST, len, req_id } + len bytes
 *                     of JSON (struct proplet_fetch_req, at most
 *                     PROPLET_FETCH_REQ_MAX bytes);
 *   helper -> daemon  header { FETCH_MSG_OK, module length, req_id, 0 },
 *                     the module written at offset 0 of the memfd; or
 *                     header { FETCH_MSG_ERR, text length, req_id, core_err }
 *                     + the reason (< CORE_ERRBUF_LEN bytes).
 * Either side treats anything else as a broken peer. The helper wipes what
 * it held and exits after its one report.
 *
 * Never: writes a module or a key anywhere but the memfd, or passes a key
 * back to the daemon.
 */
#ifndef PROPELLER_PROPLET_FETCH_HELPER_H
#define PROPELLER_PROPLET_FETCH_HELPER_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* The helper's file name, installed next to the proplet. */
#define PROPLET_FETCH_HELPER_NAME "proplet-fetch"
/* Fixed descriptors in the helper. */
#define PROPLET_FETCH_FD_SOCK 3
#define PROPLET_FETCH_FD_OUT 4
/* Bound on a request body. */
#define PROPLET_FETCH_REQ_MAX (64u * 1024)
/* The helper gives up (and the daemon stops waiting) after this long. */
#define PROPLET_FETCH_TIMEOUT_MS (5 * 60 * 1000)

enum proplet_fetch_msg_type {
	PROPLET_FETCH_MSG_REQUEST = 1,
	PROPLET_FETCH_MSG_OK = 2,
	PROPLET_FETCH_MSG_ERR = 3
};

/* Every message in either direction starts with this header. */
struct proplet_fetch_msg {
	uint32_t type;    /* enum proplet_fetch_msg_type */
	uint32_t len;     /* body length; OK: the module's length */
	uint64_t req_id;  /* the daemon's random id, echoed by the helper */
	int32_t code;     /* ERR: the enum core_err of the failure; else 0 */
	uint32_t zero;    /* must be 0 */
};
static_assert(sizeof(struct proplet_fetch_msg) == 24,
    "proplet_fetch_msg is a wire format");

enum proplet_fetch_op {
	PROPLET_FETCH_OP_HTTP = 1,  /* GET an http(s) URL */
	PROPLET_FETCH_OP_PULL,      /* pull a plain wasm image */
	PROPLET_FETCH_OP_ENCRYPTED  /* pull, attest, get the key, decrypt */
};

/* One fetch, as the daemon asks for it. */
struct proplet_fetch_req {
	enum proplet_fetch_op op;
	char *url;                /* owned; URL or image reference */
	char *kbs_resource_path;  /* owned; may be NULL */
	char *kbs_uri;            /* owned; may be NULL */
	int tee_kind;             /* enum tee_kind of the attester */
	bool require_kid_match;
	char *registry_username;  /* owned; may be NULL */
	char *registry_password;  /* owned; secret: wiped by _cleanup */
	char *registry_authfile;  /* owned; may be NULL */
	bool registry_insecure;
};

/* Encodes r as the request body (malloc'd text; wipe it after use). */
enum core_err proplet_fetch_req_encode(const struct proplet_fetch_req *r,
    char **out, size_t *len, struct core_errbuf *eb);
/* Parses a request body (bounded, checked like network input) into r. */
enum core_err proplet_fetch_req_decode(const void *p, size_t n,
    struct proplet_fetch_req *r, struct core_errbuf *eb);
/* Frees the fields of r, wiping the password. */
void proplet_fetch_req_cleanup(struct proplet_fetch_req *r);

/*
 * Daemon side. proplet_fetch_helper_init() resolves the helper (path, or
 * NULL for PROPLET_FETCH_HELPER_NAME next to /proc/self/exe) and takes the
 * environment the helper inherits (proxy, CA and temp-dir variables, HOME,
 * PATH) from the current one; call it once at startup. It fails only on
 * memory; a helper that is missing is reported by each fetch.
 */
enum core_err proplet_fetch_helper_init(const char *path,
    struct core_errbuf *eb);
void proplet_fetch_helper_cleanup(void);
/* The resolved helper path (NULL before init). */
const char *proplet_fetch_helper_path(void);

/*
 * Runs the helper for r and copies the module it hands back into *out
 * (malloc'd; for an encrypted fetch the caller wipes it after use). The
 * helper's reason and error kind come back unchanged; a helper that cannot
 * be started, dies or breaks the protocol is a CORE_ERR_INTERNAL naming
 * what happened.
 */
enum core_err proplet_fetch_helper_run(const struct proplet_fetch_req *r,
    uint8_t **out, size_t *len, struct core_errbuf *eb);

/*
 * Helper side (proplet-fetch): the work of one request, writing the module
 * into memfd and its length into *len. fetch_work.c does the plain
 * fetches, encrypted.c the encrypted pipeline.
 */
enum core_err proplet_fetch_work(const struct proplet_fetch_req *r, int memfd,
    size_t *len, struct core_errbuf *eb);
enum core_err proplet_fetch_work_encrypted(const struct proplet_fetch_req *r,
    int memfd, size_t *len, struct core_errbuf *eb);

#endif /* PROPELLER_PROPLET_FETCH_HELPER_H */
