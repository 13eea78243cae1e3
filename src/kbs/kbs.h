/*
 * kbs.h -- the Key Broker Service: server, client and the shared protocol
 * pieces of Trustee's KBS protocol (spec/kbs-protocol.md, RCAR 0.4.0).
 *
 * Owns: the HTTP server (libmicrohttpd) with sessions, single-use nonces,
 * the report-data binding check, the sample evidence verifier, EAR token
 * issue and verification (ES256, a key kept in the data directory), the
 * resource store (repo/type/tag files, 0600, atomic replace), the JSON
 * resource-policy engine and the admin API (Ed25519-signed JWTs and the
 * role-claim variant); the client side (RCAR with any attester, a fresh
 * P-256 TEE key per session, JWE decryption, token reuse) and the admin
 * client used by `propeller kbs`.
 *
 * Depends on: core, tee (attesters), verifier (TDX/SNP/SGX evidence),
 * OpenSSL, jansson, libmicrohttpd, libcurl.
 * Never: logs (the daemon and the CLI log what these calls report), keeps
 * a resource or a key outside the data directory it is given.
 */
#ifndef PROPELLER_KBS_H
#define PROPELLER_KBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/core.h"

#define KBS_PROTOCOL_VERSION "0.4.0"
#define KBS_DEFAULT_LISTEN "0.0.0.0:8080"
#define KBS_DEFAULT_URL "http://127.0.0.1:8080"
#define KBS_MAX_BODY_DEFAULT (2 * 1024 * 1024)
#define KBS_NONCE_LEN 32 /* bytes before base64 */
#define KBS_SESSION_ID_LEN 32 /* hex characters */
#define KBS_DIGEST_LEN 48 /* SHA-384 */

/* ------------------------------------------------------------------ */
/* Protocol helpers                                                    */
/* ------------------------------------------------------------------ */

/*
 * The report-data digest of spec §3:
 * SHA-384(JCS({"tee-pubkey": jwk, "nonce": nonce, "additional-evidence": ae})),
 * with crypto_jcs (RFC 8785).
 */
enum core_err kbs_runtime_digest(const json_t *tee_pubkey, const char *nonce,
    const char *additional_evidence, uint8_t out[KBS_DIGEST_LEN],
    struct core_errbuf *eb);

/*
 * Checks one resource-path segment against ^[A-Za-z0-9_-]+[A-Za-z0-9_.-]*$
 * (spec §8). Returns true when valid.
 */
bool kbs_segment_valid(const char *seg, size_t len);

/*
 * Splits "repo/type/tag" into three valid segments written to the caller's
 * buffers (each KBS_SEGMENT_MAX + 1 bytes). CORE_ERR_INVALID names the
 * problem otherwise.
 */
#define KBS_SEGMENT_MAX 128
enum core_err kbs_path_parse(const char *path, char repo[KBS_SEGMENT_MAX + 1],
    char type[KBS_SEGMENT_MAX + 1], char tag[KBS_SEGMENT_MAX + 1],
    struct core_errbuf *eb);

/* True if tee is one of the tee names of spec §2.2. */
bool kbs_tee_valid(const char *tee);

/* ------------------------------------------------------------------ */
/* Resource policy                                                     */
/* ------------------------------------------------------------------ */

/*
 * A declarative JSON policy (docs/kbs.md):
 *   {"version":1,"default":"deny"|"allow","rules":[
 *     {"effect":"allow"|"deny","resources":["repo/type/<glob>",...],
 *      "tee":["tdx",...],"status":["affirming",...],
 *      "claims":{"debug":false,"platform_version/major":1,
 *                "launch_digest":{"one_of":["a","b"]}}}, ...]}
 * The first rule whose every condition holds decides; otherwise "default".
 */
struct kbs_policy;

enum kbs_policy_preset {
	KBS_POLICY_ALLOW_ALL,
	KBS_POLICY_DENY_ALL,
	KBS_POLICY_DEFAULT,   /* deny sample evidence, allow real TEEs */
	KBS_POLICY_AFFIRMING  /* allow when every submod is affirming */
};

/* The preset's JSON text (static storage). */
const char *kbs_policy_preset_text(enum kbs_policy_preset p);
/* Parses and validates a policy; the error names the bad member. */
enum core_err kbs_policy_parse(const void *text, size_t len,
    struct kbs_policy **out, struct core_errbuf *eb);
void kbs_policy_free(struct kbs_policy *p);
/*
 * Evaluates the policy for the verified token claims and the resource path
 * ("repo/type/tag"). *allow is the decision; *reason (static) says which
 * rule decided.
 */
void kbs_policy_eval(const struct kbs_policy *p, const json_t *claims,
    const char *path, bool *allow, const char **reason);

/* ------------------------------------------------------------------ */
/* Server                                                              */
/* ------------------------------------------------------------------ */

struct kbs_admin_acl {
	char *role;              /* owned */
	char *allowed_endpoints; /* owned; POSIX extended regex, full match */
};

/* Everything propeller-kbs is configured with; filled by kbs_config_load. */
struct kbs_config {
	char *listen_addr;        /* owned; IPv4/IPv6 literal or hostname */
	uint16_t listen_port;     /* 0 = pick a free port (tests) */
	char *data_dir;           /* owned */
	char *admin_public_key;   /* owned; path to an SPKI PEM (Ed25519/EC) */
	char *tls_cert;           /* owned; PEM path or NULL */
	char *tls_key;            /* owned; PEM path or NULL */
	int64_t session_timeout_ms;  /* default 5 min */
	int64_t token_lifetime_ms;   /* default 5 min */
	int64_t admin_leeway_s;      /* clock skew for admin JWTs, default 60 */
	int64_t admin_max_lifetime_s; /* refuse admin JWTs living longer; 0 = no cap */
	size_t max_body;          /* default 2 MiB */
	size_t max_sessions;      /* default 20000 */
	unsigned threads;         /* HTTP worker threads, default 4 */
	/*
	 * Called after every request with its method, path, status and, for
	 * failures, the error detail sent to the client (the library never
	 * logs; the daemon logs these). NULL = not called. From HTTP threads.
	 */
	void (*on_request)(void *arg, const char *method, const char *path,
	    unsigned status, const char *detail);
	void *on_request_arg;     /* borrowed */
	bool allow_rsa1_5;        /* default false */
	char *admin_issuer;       /* owned; role-claim JWTs: required iss or NULL */
	char *admin_audience;     /* owned; role-claim JWTs: required aud or NULL */
	struct kbs_admin_acl *acls; /* owned; role-claim ACL */
	size_t nacls;
	char **trusted_token_keys; /* owned; EC P-256 SPKI PEM paths of other
	                            * KBSes whose EAR tokens are accepted */
	size_t ntrusted;
};

/* Sets the defaults (no allocation besides the default strings). */
enum core_err kbs_config_init(struct kbs_config *c);
void kbs_config_cleanup(struct kbs_config *c);

/*
 * Fills c from, in order of precedence, the command line (argv, options
 * --listen --data-dir --admin-public-key --tls-cert --tls-key --config
 * --session-timeout --token-lifetime --allow-rsa1-5 --threads), the
 * environment (KBS_LISTEN, KBS_DATA_DIR, KBS_ADMIN_PUBLIC_KEY, KBS_TLS_CERT,
 * KBS_TLS_KEY, KBS_CONFIG, KBS_SESSION_TIMEOUT, KBS_TOKEN_LIFETIME,
 * KBS_ALLOW_RSA1_5, KBS_THREADS) and the JSON config file. Every problem is
 * recorded in errs (one line each); the caller fails if errs->nerrors > 0.
 * *want_help is set for --help.
 */
void kbs_config_load(struct kbs_config *c, int argc, char **argv,
    struct core_cfg *errs, bool *want_help);

struct kbs_server;

/*
 * Opens the data directory (creating the token key on first start and the
 * default policy when none is stored), and starts listening. *out owns the
 * running server.
 */
enum core_err kbs_server_new(const struct kbs_config *c,
    struct kbs_server **out, struct core_errbuf *eb);
/* The port actually bound (useful with listen_port 0). */
uint16_t kbs_server_port(const struct kbs_server *s);
/* Stops the HTTP threads and frees everything. NULL is a no-op. */
void kbs_server_free(struct kbs_server *s);

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

/*
 * An attester: given the report data (the 48-byte digest), produces the
 * `primary_evidence` JSON for its tee. The sample attester is built in.
 */
struct kbs_attester {
	const char *tee; /* borrowed; e.g. "sample", "tdx" */
	enum core_err (*evidence)(void *ctx, const uint8_t *report_data,
	    size_t len, json_t **out, struct core_errbuf *eb);
	void *ctx;       /* borrowed */
};

/* The sample attester: {"svn":"1","report_data":b64(digest)}. */
extern const struct kbs_attester kbs_sample_attester;

/*
 * Detects the TEE this process runs in (tee module) and fills *out with its
 * attester; with no TEE, the sample attester and *sample = true.
 */
enum core_err kbs_attester_detect(struct kbs_attester *out, bool *sample,
    struct core_errbuf *eb);

struct kbs_client_opts {
	const char *url;          /* borrowed; e.g. http://127.0.0.1:8080 */
	const char *cert_file;    /* borrowed; extra CA for https, or NULL */
	const struct kbs_attester *attester; /* borrowed; NULL = sample */
	const char *tee_key_file; /* borrowed; PEM TEE key, NULL = fresh P-256 */
	const char *init_data;    /* borrowed; TOML text or NULL */
	int64_t timeout_ms;       /* per request; 0 = 30 s */
};

struct kbs_client;

/* Creates a client; nothing is sent until the first call. */
enum core_err kbs_client_new(const struct kbs_client_opts *o,
    struct kbs_client **out, struct core_errbuf *eb);
void kbs_client_free(struct kbs_client *c);

/*
 * Runs RCAR (auth + attest) unless a token that is still valid is cached,
 * and returns the token (borrowed from the client, valid until the next
 * call). Errors: CORE_ERR_NET (unreachable), CORE_ERR_AUTH (refused; the
 * message carries the KBS's type and detail).
 */
enum core_err kbs_client_attest(struct kbs_client *c, const char **token,
    struct core_errbuf *eb);

/*
 * Fetches repo/type/tag, attesting first when needed, and decrypts the JWE.
 * A token set with kbs_client_set_token is used as Bearer instead of RCAR.
 * *out is the plaintext (caller frees with secret_free). CORE_ERR_PERM for a
 * policy denial, CORE_ERR_NOT_FOUND never (Trustee answers 401 for a missing
 * resource: CORE_ERR_AUTH), CORE_ERR_CRYPTO for a bad JWE.
 */
enum core_err kbs_client_get_resource(struct kbs_client *c, const char *path,
    struct secret **out, struct core_errbuf *eb);

/*
 * Forgets the cached token and session cookie (the connection stays open):
 * the next call runs a full RCAR again, with a fresh TEE key unless one was
 * given as tee_key_file.
 */
void kbs_client_forget(struct kbs_client *c);

/* Uses token (copied) as Bearer token; requires tee_key_file. */
enum core_err kbs_client_set_token(struct kbs_client *c, const char *token,
    struct core_errbuf *eb);

/*
 * Decrypts a KBS resource JWE (flattened JSON, ECDH-ES+A256KW or
 * RSA-OAEP-256, A256GCM) with the TEE private key. The GCM AAD is the
 * received "protected" string. Any failure but CORE_ERR_NOMEM is
 * CORE_ERR_CRYPTO ("bad JWE: ...").
 */
struct crypto_key;
enum core_err kbs_jwe_decrypt(const void *jwe, size_t len,
    const struct crypto_key *key, struct secret **out,
    struct core_errbuf *eb);

/* Admin side (kbs-client `config ...`). */
struct kbs_admin_opts {
	const char *url;              /* borrowed */
	const char *cert_file;        /* borrowed or NULL */
	const char *auth_private_key; /* borrowed; Ed25519 PKCS#8 PEM path */
	const char *admin_token_file; /* borrowed; pre-made token, or NULL */
	int64_t timeout_ms;           /* 0 = 30 s */
};

enum core_err kbs_admin_set_resource(const struct kbs_admin_opts *o,
    const char *path, const void *data, size_t len, struct core_errbuf *eb);
enum core_err kbs_admin_delete_resource(const struct kbs_admin_opts *o,
    const char *path, struct core_errbuf *eb);
enum core_err kbs_admin_set_policy(const struct kbs_admin_opts *o,
    const void *policy, size_t len, struct core_errbuf *eb);

/*
 * Makes the Ed25519 admin JWT kbs-client v0.18-v0.20 sends:
 * {"typ":"JWT","alg":"EdDSA"}.{"exp":now+lifetime,"iat":now}. *out malloc'd.
 */
enum core_err kbs_admin_token_make(const char *private_key_pem_path,
    int64_t now_s, int64_t lifetime_s, char **out, struct core_errbuf *eb);

#endif /* PROPELLER_KBS_H */
