/*
 * kbs_int.h -- internals of the kbs module, shared by its .c files and its
 * unit tests only. Other modules include kbs/kbs.h.
 *
 * The JOSE helpers here are the small subset the KBS needs (ES256, EdDSA
 * verification, ECDH-ES+A256KW and RSA-OAEP-256 JWE), written on OpenSSL 3
 * EVP so the module builds on its own.
 */
#ifndef PROPELLER_KBS_INT_H
#define PROPELLER_KBS_INT_H

#include <assert.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/types.h>

#include "kbs/kbs.h"

#define KBS_ERR_PREFIX "https://github.com/confidential-containers/kbs/errors/"

/* ---- jose.c --------------------------------------------------------- */

enum core_err kbs_sha384(const void *p, size_t n, uint8_t out[48]);
/* A fresh EC key on "P-256" or "P-521". */
enum core_err kbs_ec_generate(const char *crv, EVP_PKEY **out,
    struct core_errbuf *eb);
/* Public JWK of an EC key: {"kty","crv","alg"?,"x","y"} (alg if non-NULL). */
enum core_err kbs_ec_pub_jwk(EVP_PKEY *k, const char *alg, json_t **out,
    struct core_errbuf *eb);
/* Public JWK of an RSA key: {"kty":"RSA","alg","n","e"}. */
enum core_err kbs_rsa_pub_jwk(EVP_PKEY *k, const char *alg, json_t **out,
    struct core_errbuf *eb);
/* Public key from a tee-pubkey JWK (spec §4.4 forms). */
enum core_err kbs_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out,
    struct core_errbuf *eb);
/* Re-serializes a tee-pubkey JWK with exactly the §4.4 members. */
enum core_err kbs_jwk_normalize(const json_t *jwk, json_t **out,
    struct core_errbuf *eb);
/*
 * Builds the flattened JWE for tee_pubkey. eph/cek/iv may be given for the
 * test vectors (NULL = random). RSA1_5 only with allow_rsa1_5.
 */
enum core_err kbs_jwe_encrypt(const json_t *tee_pubkey, const void *pt,
    size_t pt_len, bool allow_rsa1_5, EVP_PKEY *eph, const uint8_t *cek,
    const uint8_t *iv, char **out, struct core_errbuf *eb);
/* ES256 compact JWS over header_json.payload_json; *out malloc'd. */
enum core_err kbs_jws_sign_es256(EVP_PKEY *k, const char *header_json,
    const char *payload_json, char **out, struct core_errbuf *eb);
/*
 * Splits a compact JWS and verifies its signature with k (ES256 for EC
 * P-256 keys, EdDSA for Ed25519). Returns the parsed header and payload.
 */
enum core_err kbs_jws_verify(EVP_PKEY *k, const char *jws, size_t len,
    json_t **header, json_t **payload, struct core_errbuf *eb);
/* Only parses (no signature check). */
enum core_err kbs_jws_parse(const char *jws, size_t len, json_t **header,
    json_t **payload, struct core_errbuf *eb);
/* PEM helpers. */
enum core_err kbs_pem_read_private(const char *path, EVP_PKEY **out,
    struct core_errbuf *eb);
enum core_err kbs_pem_read_public(const char *path, EVP_PKEY **out,
    struct core_errbuf *eb);
enum core_err kbs_pem_private_bytes(EVP_PKEY *k, struct secret **out,
    struct core_errbuf *eb);
enum core_err kbs_pem_parse_private(const void *p, size_t n, EVP_PKEY **out,
    struct core_errbuf *eb);
/* Concat KDF for ECDH-ES+A256KW (spec §4.3): KEK from Z. */
enum core_err kbs_concat_kdf_a256kw(const uint8_t *z, size_t zlen,
    uint8_t kek[32]);

/* ---- vault.c: the child holding the signing key and the resources ---- */

/*
 * IPC between the HTTP process and the vault child (socketpair, stream):
 * a fixed header, then exactly `len` payload bytes. Requests:
 *   PUBKEY  ""                          -> OK: token JWS header JSON
 *   SIGN    claims JSON                  -> OK: compact JWS
 *   GET     path                         -> OK: resource bytes
 *   PUT     u32 path length, path, data  -> OK: ""
 *   DELETE  path                         -> OK: ""
 * Failures answer ERR: u32 enum core_err, then the message text. Replies
 * echo the request id. The child exits on a malformed or unknown message.
 */
enum kbs_msg_type {
	KBS_MSG_OK = 1,
	KBS_MSG_ERR = 2,
	KBS_MSG_PUBKEY = 3,
	KBS_MSG_SIGN = 4,
	KBS_MSG_GET = 5,
	KBS_MSG_PUT = 6,
	KBS_MSG_DELETE = 7
};

struct kbs_msg_hdr {
	uint32_t type; /* enum kbs_msg_type */
	uint32_t len;  /* payload bytes that follow */
	uint64_t id;   /* request id, echoed in the reply */
};
static_assert(sizeof(struct kbs_msg_hdr) == 16, "kbs_msg_hdr is 16 bytes");

#define KBS_VAULT_MAX_RESOURCE (64 * 1024 * 1024)
#define KBS_VAULT_MAX_CLAIMS (1024 * 1024)
#define KBS_VAULT_MAX_MSG (KBS_VAULT_MAX_RESOURCE + 4096)

/* Forks the vault child for data_dir; *fd is the parent's socket end. */
enum core_err kbs_vault_spawn(const char *data_dir, int *fd, pid_t *pid,
    struct core_errbuf *eb);

/* ---- store.c -------------------------------------------------------- */

/*
 * The server's handle on its secrets: the vault child (signing key,
 * resources) and the resource policy (kept in this process: it is not
 * secret). Every call is thread-safe.
 */
struct kbs_vault;

enum core_err kbs_vault_open(const char *data_dir, struct kbs_vault **out,
    struct core_errbuf *eb);
void kbs_vault_free(struct kbs_vault *v);
/* Signs claims (JSON text) as an EAR token. */
enum core_err kbs_vault_sign(struct kbs_vault *v, const char *claims_json,
    char **token, struct core_errbuf *eb);
/* The public token key (borrowed; lives as long as the vault). */
EVP_PKEY *kbs_vault_token_pub(struct kbs_vault *v);
enum core_err kbs_vault_get(struct kbs_vault *v, const char *path,
    struct secret **out, struct core_errbuf *eb);
enum core_err kbs_vault_put(struct kbs_vault *v, const char *path,
    const void *p, size_t n, struct core_errbuf *eb);
enum core_err kbs_vault_delete(struct kbs_vault *v, const char *path,
    struct core_errbuf *eb);
/* Validates, stores and activates a policy. */
enum core_err kbs_vault_set_policy(struct kbs_vault *v, const void *text,
    size_t n, struct core_errbuf *eb);
/* Evaluates the active policy. */
void kbs_vault_policy_eval(struct kbs_vault *v, const json_t *claims,
    const char *path, bool *allow, const char **reason);

/* ---- session.c ------------------------------------------------------ */

struct kbs_sessions;

struct kbs_sessions *kbs_sessions_new(size_t max, int64_t timeout_ms);
void kbs_sessions_free(struct kbs_sessions *s);
/* Creates an Authed session; writes its id and nonce. */
enum core_err kbs_sessions_create(struct kbs_sessions *s, const char *tee,
    char id[KBS_SESSION_ID_LEN + 1], char nonce[64], int64_t *expires_wall_s,
    struct core_errbuf *eb);
/*
 * Takes the nonce of an Authed session for attestation: the nonce is
 * consumed whatever the outcome (single use). Copies the tee and nonce.
 * CORE_ERR_NOT_FOUND: no such session or expired; CORE_ERR_STATE: already
 * used.
 */
enum core_err kbs_sessions_take_nonce(struct kbs_sessions *s, const char *id,
    char tee[32], char nonce[64], struct core_errbuf *eb);
/*
 * Stores the token and its claims (a reference is taken); the session
 * expiry becomes min(expiry, token_exp).
 */
void kbs_sessions_attested(struct kbs_sessions *s, const char *id,
    const char *token, json_t *claims, int64_t token_exp_wall_s);
/* Drops a session (failed attestation). */
void kbs_sessions_drop(struct kbs_sessions *s, const char *id);
/*
 * The claims of an attested live session's token (a new reference; the
 * token was issued and verified by this KBS); CORE_ERR_NOT_FOUND else.
 */
enum core_err kbs_sessions_claims(struct kbs_sessions *s, const char *id,
    json_t **claims);
/* Removes expired sessions; returns how many remain. */
size_t kbs_sessions_sweep(struct kbs_sessions *s);

/* ---- token.c -------------------------------------------------------- */

/*
 * Verifies /attest evidence for tee against the expected digest and builds
 * the EAR claims (spec §5.1). Only the verifiers compiled in are available;
 * others give CORE_ERR_UNSUPPORTED.
 */
enum core_err kbs_evidence_verify(const char *tee, const json_t *attest_req,
    const char *nonce, int64_t now_s, int64_t lifetime_s, json_t **claims,
    struct core_errbuf *eb);
/* The init-data digest: H_alg(TOML) for its `algorithm` (spec §3). */
enum core_err kbs_init_data_digest(const char *toml, uint8_t out[64],
    size_t *len, struct core_errbuf *eb);
/*
 * Verifies an EAR token signed by pub, requiring exp (60 s leeway), and
 * returns its claims.
 */
enum core_err kbs_token_verify(EVP_PKEY *pub, const char *token, int64_t now_s,
    json_t **claims, struct core_errbuf *eb);
/* The tee-pubkey of verified claims by the spec §5.2 pointers (borrowed). */
const json_t *kbs_token_tee_pubkey(const json_t *claims);

/* ---- admin.c -------------------------------------------------------- */

struct kbs_admin;

enum core_err kbs_admin_new(const struct kbs_config *c, struct kbs_admin **out,
    struct core_errbuf *eb);
void kbs_admin_free(struct kbs_admin *a);
/*
 * Checks the Authorization header value for the request URI. CORE_OK when
 * allowed; CORE_ERR_AUTH with the reason otherwise.
 */
enum core_err kbs_admin_check(const struct kbs_admin *a, const char *authz,
    const char *uri, int64_t now_s, struct core_errbuf *eb);

/* ---- request parsers (server.c), exposed for fuzzing and tests ---------- */

enum core_err kbs_parse_auth_request(const void *body, size_t n, char tee[32],
    struct core_errbuf *eb);
enum core_err kbs_parse_attest_request(const void *body, size_t n,
    json_t **out, struct core_errbuf *eb);
enum core_err kbs_parse_policy_request(const void *body, size_t n,
    uint8_t **policy, size_t *policy_len, struct core_errbuf *eb);

#endif /* PROPELLER_KBS_INT_H */
