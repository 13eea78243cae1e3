/*
 * kbs_int.h -- internals of the kbs module, shared by its .c files and its
 * unit tests only. Other modules include kbs/kbs.h.
 *
 * The JOSE work is the crypto module's (crypto/crypto.h); jose.c keeps the
 * KBS-specific adapters on top of it.
 */
#ifndef PROPELLER_KBS_INT_H
#define PROPELLER_KBS_INT_H

#include <assert.h>
#include <pthread.h>
#include <sys/types.h>

#include "crypto/crypto.h"
#include "kbs/kbs.h"

#define KBS_ERR_PREFIX "https://github.com/confidential-containers/kbs/errors/"

/* ---- jose.c --------------------------------------------------------- */

/*
 * Public JWK of k with the members in the order the KBS emits them:
 * {"kty","crv","alg","x","y"} (EC) or {"kty","alg","n","e"} (RSA); alg is
 * left out when NULL.
 */
enum core_err kbs_pub_jwk(const struct crypto_key *k, const char *alg,
    json_t **out, struct core_errbuf *eb);
/*
 * Public key from a tee-pubkey JWK (spec §4.4 forms: EC P-256/P-521, RSA
 * up to 8192 bits); a private JWK is refused.
 */
enum core_err kbs_tee_key_from_jwk(const json_t *jwk, struct crypto_key **out,
    struct core_errbuf *eb);
/* Re-serializes a tee-pubkey JWK with exactly the §4.4 members. */
enum core_err kbs_jwk_normalize(const json_t *jwk, json_t **out,
    struct core_errbuf *eb);
/*
 * Loads a key file (PEM, DER or JWK) that must be private (private_part)
 * or public.
 */
enum core_err kbs_key_read(const char *path, bool private_part,
    struct crypto_key **out, struct core_errbuf *eb);
/*
 * Builds the flattened JWE of spec §4 for tee_pubkey. eph/cek (32 bytes)/iv
 * (12 bytes) may be given for the test vectors (NULL = random). RSA1_5
 * only with allow_rsa1_5.
 */
enum core_err kbs_jwe_encrypt(const json_t *tee_pubkey, const void *pt,
    size_t pt_len, bool allow_rsa1_5, const struct crypto_key *eph,
    const uint8_t *cek, const uint8_t *iv, char **out,
    struct core_errbuf *eb);
/*
 * Parses a compact JWS (at most 64 KiB) and verifies it with k: ES256 for
 * EC P-256 keys, EdDSA for Ed25519. Returns the header and the payload
 * object. CORE_ERR_INVALID for a malformed token, CORE_ERR_AUTH for a
 * wrong alg or signature.
 */
enum core_err kbs_jws_verify(const struct crypto_key *k, const char *jws,
    size_t len, json_t **header, json_t **payload, struct core_errbuf *eb);
/* Only parses (no signature check). */
enum core_err kbs_jws_parse(const char *jws, size_t len, json_t **header,
    json_t **payload, struct core_errbuf *eb);

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
 * The HTTP process has several channels (socketpairs) to the one child,
 * one per worker thread, each with at most one request in flight.
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
#define KBS_VAULT_MAX_CHANNELS 64

/*
 * Sends one message (header, then p1 and p2) with a single sendmsg when the
 * socket takes it whole.
 */
enum core_err kbs_ipc_send(int fd, const struct kbs_msg_hdr *h,
    const void *p1, size_t n1, const void *p2, size_t n2);
/*
 * Reads one message: the header and, in the same read when it is small,
 * the payload, which must be at most max bytes and exactly h->len long
 * (bytes beyond it, i.e. a second message sent before the reply to the
 * first, are a protocol violation). *p is malloc'd with a NUL after the
 * payload; wipe it if it held a secret. CORE_ERR_IO on EOF or a violation.
 */
enum core_err kbs_ipc_recv(int fd, struct kbs_msg_hdr *h, uint8_t **p,
    size_t max);

/*
 * Forks the vault child for data_dir with nfd channels (1 ..
 * KBS_VAULT_MAX_CHANNELS); fds[0..nfd) receive the parent's socket ends.
 */
enum core_err kbs_vault_spawn(const char *data_dir, size_t nfd, int *fds,
    pid_t *pid, struct core_errbuf *eb);

/* ---- store.c -------------------------------------------------------- */

/*
 * The server's handle on its secrets: the vault child (signing key,
 * resources) and the resource policy (kept in this process: it is not
 * secret). Every call is thread-safe: up to `channels` calls (one per HTTP
 * worker thread) are in flight at once, each on its own socketpair; more
 * wait for a free channel.
 */
struct kbs_vault;

enum core_err kbs_vault_open(const char *data_dir, size_t channels,
    struct kbs_vault **out, struct core_errbuf *eb);
void kbs_vault_free(struct kbs_vault *v);
/* Signs claims (JSON text) as an EAR token. */
enum core_err kbs_vault_sign(struct kbs_vault *v, const char *claims_json,
    char **token, struct core_errbuf *eb);
/* The public token key (borrowed; lives as long as the vault). */
const struct crypto_key *kbs_vault_token_pub(struct kbs_vault *v);
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

/*
 * The session table (at most max sessions; the eviction order is in
 * session.c). Times are core_mono_ms() values passed in by the caller.
 */
struct kbs_sessions;

struct kbs_sessions_stats {
	size_t pending;    /* sessions waiting for /attest */
	size_t attested;   /* sessions holding the claims of their token */
	size_t hot;        /* attested ones also holding the parsed claims */
	uint64_t evicted;  /* live sessions dropped to make room, so far */
	uint64_t expired;  /* expired sessions removed, so far */
};

/*
 * At most max sessions, of which the max_hot most recently attested keep
 * their claims parsed as well as in text. NULL if max is 0 or memory runs
 * out.
 */
struct kbs_sessions *kbs_sessions_new(size_t max, size_t max_hot,
    int64_t timeout_ms);
void kbs_sessions_free(struct kbs_sessions *s);
/*
 * Creates an Authed session living timeout_ms; writes its id and nonce.
 * Never refused for lack of room: a full table drops a session first.
 */
enum core_err kbs_sessions_create(struct kbs_sessions *s, const char *tee,
    int64_t now_ms, char id[KBS_SESSION_ID_LEN + 1], char nonce[64],
    struct core_errbuf *eb);
/*
 * Takes the nonce of an Authed session for attestation: the nonce is
 * consumed whatever the outcome (single use). Copies the tee and nonce.
 * CORE_ERR_NOT_FOUND: no such session (expired or evicted);
 * CORE_ERR_STATE: already used.
 */
enum core_err kbs_sessions_take_nonce(struct kbs_sessions *s, const char *id,
    int64_t now_ms, char tee[32], char nonce[64], struct core_errbuf *eb);
/*
 * Marks the session attested, keeping the claims of the token issued for
 * it: claims is their JSON text (malloc'd; taken over whatever happens),
 * tree the same claims parsed (a reference is taken; may be NULL). The
 * token itself is not kept: the cookie path only needs its claims. The
 * session expiry becomes min(expiry, token_exp_ms). If the session went
 * away meanwhile (evicted), the claims are freed.
 */
void kbs_sessions_attested(struct kbs_sessions *s, const char *id,
    char *claims, json_t *tree, int64_t token_exp_ms, int64_t now_ms);
/* Removes a session (failed attestation). */
void kbs_sessions_drop(struct kbs_sessions *s, const char *id);
/*
 * The claims of an attested live session's token (a new reference; the
 * token was issued and verified by this KBS), parsed again from the text
 * if the session is no longer hot; the session becomes the most recently
 * used. CORE_ERR_NOT_FOUND if there is no such attested session.
 */
enum core_err kbs_sessions_claims(struct kbs_sessions *s, const char *id,
    int64_t now_ms, json_t **claims, struct core_errbuf *eb);
/* Removes expired sessions; returns how many remain. */
size_t kbs_sessions_sweep(struct kbs_sessions *s, int64_t now_ms);
/* Counts, for /metrics and tests. */
void kbs_sessions_stats(struct kbs_sessions *s, struct kbs_sessions_stats *st);

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
enum core_err kbs_token_verify(const struct crypto_key *pub,
    const char *token, int64_t now_s, json_t **claims, struct core_errbuf *eb);
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

/* ---- http1.c: the client's plain-HTTP/1.1 transport -------------------- */

/* "kbs-session-id=<value>": Trustee's ids are 32 hex digits or a UUID. */
#define KBS_COOKIE_NAME "kbs-session-id="
#define KBS_COOKIE_MAX 256
#define KBS_HTTP1_LINE_MAX (8 * 1024)  /* one header or chunk-size line */
#define KBS_HTTP1_HEAD_MAX (32 * 1024) /* status line + headers + trailers */

/*
 * An incremental HTTP/1.x response parser: status line, headers (bounded
 * per line and in total), then a body delimited by Content-Length, chunked
 * transfer coding (extensions and trailers ignored) or the end of the
 * connection; none for 204, 304 and HEAD. Interim 1xx responses are
 * skipped. The body goes to a core_buf whose max_len is the body limit.
 */
struct kbs_http1_parser {
	/* Set by kbs_http1_parser_init */
	bool no_body;          /* the request was HEAD */
	struct core_buf *body; /* borrowed: receives the body */
	char *cookie;          /* borrowed, KBS_COOKIE_MAX bytes, or NULL:
	                          receives a kbs-session-id Set-Cookie */
	/* Results */
	int status;            /* the final status code */
	bool keep_alive;       /* the connection may carry another request */
	/* State */
	int state;
	int minor;             /* HTTP/1.<minor> */
	bool chunked, has_len, conn_close, conn_keep;
	uint64_t content_len;
	uint64_t left;         /* bytes of the body or chunk still to come */
	size_t head_bytes;     /* bytes of status, header and trailer lines */
	size_t line_len;
	char line[KBS_HTTP1_LINE_MAX];
};

void kbs_http1_parser_init(struct kbs_http1_parser *p, bool no_body,
    struct core_buf *body, char *cookie);
/*
 * Feeds n bytes of the response; *used is how many belong to it (fewer
 * than n only once it is complete). CORE_ERR_NET for a malformed
 * response, CORE_ERR_TOO_BIG for headers or a body over their limits.
 */
enum core_err kbs_http1_parse(struct kbs_http1_parser *p, const char *d,
    size_t n, size_t *used, struct core_errbuf *eb);
/* The connection ended: completes a read-to-close body, else says what
 * was cut short (CORE_ERR_NET). */
enum core_err kbs_http1_parse_eof(struct kbs_http1_parser *p,
    struct core_errbuf *eb);
bool kbs_http1_parser_done(const struct kbs_http1_parser *p);
/*
 * Copies "kbs-session-id=<value>" from a Set-Cookie value (attributes
 * dropped) into cookie (KBS_COOKIE_MAX bytes); other cookies and values
 * too long for the buffer leave it unchanged.
 */
void kbs_http1_take_cookie(const char *v, size_t len, char *cookie);

/* One keep-alive connection to the origin of a base URL. */
struct kbs_http1;

struct kbs_http1_req {
	const char *method;  /* "GET", "POST", "DELETE", ... */
	const char *target;  /* path after the base URL's own path */
	const void *body;    /* NULL for none */
	size_t body_len;
	const char *ctype;   /* Content-Type or NULL */
	const char *authz;   /* Authorization value or NULL */
	const char *cookie;  /* Cookie value, NULL or "" for none */
};

/*
 * Takes "http://host[:port][/path]" (host a name, an IPv4 or a bracketed
 * IPv6 literal). CORE_ERR_UNSUPPORTED for anything else (https, user info,
 * zone ids, escapes), which the caller sends through libcurl. No I/O.
 */
enum core_err kbs_http1_new(const char *base_url, struct kbs_http1 **out);
void kbs_http1_free(struct kbs_http1 *h);
/*
 * One request/response within timeout_ms (0 = 30 s), on the kept
 * connection or a new one; a kept connection the server had closed is
 * replaced once when nothing of the response was read. The body lands in
 * body (bounded by its max_len), the session cookie in cookie (or NULL).
 * CORE_ERR_NET for connection failures, timeouts and malformed responses
 * (messages about the connection start with "unreachable"), CORE_ERR_TOO_BIG
 * for responses over the limits.
 */
enum core_err kbs_http1_do(struct kbs_http1 *h, const struct kbs_http1_req *rq,
    int64_t timeout_ms, long *status, struct core_buf *body, char *cookie,
    struct core_errbuf *eb);
/* Connections opened so far (for tests and benchmarks). */
uint64_t kbs_http1_connects(const struct kbs_http1 *h);

/* ---- request parsers (server.c), exposed for fuzzing and tests ---------- */

enum core_err kbs_parse_auth_request(const void *body, size_t n, char tee[32],
    struct core_errbuf *eb);
enum core_err kbs_parse_attest_request(const void *body, size_t n,
    json_t **out, struct core_errbuf *eb);
enum core_err kbs_parse_policy_request(const void *body, size_t n,
    uint8_t **policy, size_t *policy_len, struct core_errbuf *eb);

#endif /* PROPELLER_KBS_INT_H */
