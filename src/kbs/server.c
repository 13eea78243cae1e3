/*
 * server.c -- the KBS HTTP front end on libmicrohttpd: routing, body
 * limits, the kbs-session-id cookie, the RCAR handlers, resource retrieval
 * and the admin API, with Trustee's error bodies and status codes (spec §6):
 * 404 only for unknown plugins and paths, 401 for everything else, plus 413
 * for bodies beyond the limit.
 */
#include "kbs/kbs_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define COOKIE_NAME "kbs-session-id"
#define SWEEP_INTERVAL_S 60
/*
 * Attested sessions that keep their claims parsed (the rest parse their
 * claims text again on a cookie GET): 1024 x ~7.5 KB. A client normally
 * fetches its resources right after attesting, while its session is hot.
 */
#define SESSIONS_HOT 1024

struct kbs_server {
	struct MHD_Daemon *mhd;        /* owned */
	int listen_fd;                 /* owned until handed to MHD */
	uint16_t port;
	bool tls;
	void (*on_req)(void *, const char *, const char *, unsigned,
	    const char *);             /* from the config */
	void *on_req_arg;              /* borrowed */
	struct kbs_vault *vault;       /* owned */
	struct kbs_sessions *sessions; /* owned */
	struct kbs_admin *admin;       /* owned */
	struct crypto_key **trusted;   /* owned; other KBSes' token keys */
	size_t ntrusted;
	size_t max_body;
	int64_t token_lifetime_s;
	int64_t session_timeout_ms;
	bool allow_rsa1_5;
	char *tls_cert_pem;            /* owned */
	char *tls_key_pem;             /* owned; secret */
	size_t tls_key_len;
	int64_t last_sweep_s;          /* atomic */
	/* Counters for /metrics (atomic). */
	uint64_t n_auth, n_attest_ok, n_attest_fail, n_resource_ok,
	    n_resource_fail, n_admin_ok, n_admin_fail;
};

/* Per-request state: the body collected so far. */
struct request {
	struct core_buf body; /* owned */
	bool too_big;
};

/* An answer built by a handler. */
struct reply {
	unsigned status;
	char *body;        /* owned */
	size_t body_len;
	const char *ctype; /* static or NULL */
	char cookie[256];  /* Set-Cookie value or "" */
};

static void reply_error(struct reply *r, unsigned status, const char *variant,
    const char *fmt, ...) CORE_PRINTF(4, 5);
static void reply_json_str(struct reply *r, const char *name,
    const char *value, const char *tail);

static void
reply_error(struct reply *r, unsigned status, const char *variant,
    const char *fmt, ...)
{
	char detail[CORE_ERRBUF_LEN + 128];
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	r->status = status;
	r->ctype = "application/json";
	free(r->body);
	j = json_pack("{s:s+,s:s}", "type", KBS_ERR_PREFIX, variant, "detail",
	    detail);
	r->body = j ? core_json_dumps(j) : NULL;
	r->body_len = r->body ? strlen(r->body) : 0;
	json_decref(j);
}

static void
reply_json(struct reply *r, char *body)
{
	r->status = 200;
	r->ctype = "application/json";
	r->body = body;
	r->body_len = body ? strlen(body) : 0;
	if (body == NULL)
		reply_error(r, 500, "InternalError", "out of memory");
}

/*
 * A JSON answer {"<name>":"<value>"<tail>} built by copying, for a value
 * that needs no escaping (base64, a compact JWS); tail is a literal.
 */
static void
reply_json_str(struct reply *r, const char *name, const char *value,
    const char *tail)
{
	size_t nl = strlen(name), vl = strlen(value), tl = strlen(tail);
	char *body = malloc(nl + vl + tl + 8), *p = body;

	if (body != NULL) {
		*p++ = '{';
		*p++ = '"';
		memcpy(p, name, nl);
		p += nl;
		memcpy(p, "\":\"", 3);
		p += 3;
		memcpy(p, value, vl);
		p += vl;
		*p++ = '"';
		memcpy(p, tail, tl);
		p += tl;
		*p++ = '}';
		*p = '\0';
	}
	reply_json(r, body);
}

static void
set_cookie(const struct kbs_server *s, struct reply *r, const char *id,
    int64_t expires_s)
{
	char date[64];
	time_t t = (time_t)expires_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(r->cookie, sizeof(r->cookie),
	    COOKIE_NAME "=%s; Expires=%s; Path=/kbs/v0; HttpOnly%s", id, date,
	    s->tls ? "; Secure" : "");
}

static const char *
cookie_of(struct MHD_Connection *c)
{
	return MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE_NAME);
}

static void
maybe_sweep(struct kbs_server *s)
{
	int64_t now = (int64_t)time(NULL);
	int64_t last = __atomic_load_n(&s->last_sweep_s, __ATOMIC_RELAXED);

	if (now - last < SWEEP_INTERVAL_S)
		return;
	if (__atomic_compare_exchange_n(&s->last_sweep_s, &last, now, false,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		kbs_sessions_sweep(s->sessions, core_mono_ms());
}

/* ---- RCAR ------------------------------------------------------------- */

static void
handle_auth(struct kbs_server *s, const struct request *rq, struct reply *r)
{
	struct core_errbuf eb;
	char tee[32], id[KBS_SESSION_ID_LEN + 1], nonce[64];
	int64_t exp = (int64_t)time(NULL) + s->session_timeout_ms / 1000;

	core_errbuf_clear(&eb);
	__atomic_add_fetch(&s->n_auth, 1, __ATOMIC_RELAXED);
	maybe_sweep(s);
	if (kbs_parse_auth_request(rq->body.data, rq->body.len, tee, &eb) !=
	    CORE_OK ||
	    kbs_sessions_create(s->sessions, tee, core_mono_ms(), id, nonce,
	    &eb) != CORE_OK) {
		reply_error(r, 401, "AttestationError",
		    "Attestation error: RCAR handshake Auth failed: %s",
		    core_errbuf_msg(&eb));
		return;
	}
	/* The nonce is base64: nothing to escape. */
	reply_json_str(r, "nonce", nonce, ",\"extra-params\":\"\"");
	set_cookie(s, r, id, exp);
}

static void
handle_attest(struct kbs_server *s, struct MHD_Connection *c,
    const struct request *rq, struct reply *r)
{
	struct core_errbuf eb;
	const char *sid = cookie_of(c);
	char tee[32], nonce[64];
	json_t *req = NULL, *claims = NULL;
	char *claims_s = NULL, *token = NULL;
	int64_t now = (int64_t)time(NULL), now_ms = core_mono_ms();
	bool took = false;
	enum core_err err;

	core_errbuf_clear(&eb);
	if (sid == NULL) {
		err = core_errf(&eb, CORE_ERR_AUTH,
		    "no kbs-session-id cookie (call /auth first)");
		goto fail;
	}
	err = kbs_parse_attest_request(rq->body.data, rq->body.len, &req, &eb);
	if (err != CORE_OK)
		goto fail;
	err = kbs_sessions_take_nonce(s->sessions, sid, now_ms, tee, nonce,
	    &eb);
	if (err != CORE_OK)
		goto fail;
	took = true;
	err = kbs_evidence_verify(tee, req, nonce, now, s->token_lifetime_s,
	    &claims, &eb);
	if (err != CORE_OK)
		goto fail;
	claims_s = crypto_json_dumps(claims);
	if (claims_s == NULL) {
		err = CORE_ERR_NOMEM;
		goto fail;
	}
	err = kbs_vault_sign(s->vault, claims_s, &token, &eb);
	if (err != CORE_OK)
		goto fail;
	kbs_sessions_attested(s->sessions, sid, claims_s, claims,
	    now_ms + s->token_lifetime_s * 1000, now_ms);
	claims_s = NULL; /* taken over */
	/* A compact JWS is base64url and dots: nothing to escape. */
	reply_json_str(r, "token", token, "");
	set_cookie(s, r, sid, now + s->token_lifetime_s);
	__atomic_add_fetch(&s->n_attest_ok, 1, __ATOMIC_RELAXED);
	goto out;
fail:
	if (took)
		kbs_sessions_drop(s->sessions, sid);
	__atomic_add_fetch(&s->n_attest_fail, 1, __ATOMIC_RELAXED);
	reply_error(r, 401, "AttestationError",
	    "Attestation error: RCAR handshake Attest failed: %s",
	    core_errbuf_msg(&eb));
out:
	json_decref(req);
	json_decref(claims);
	free(claims_s);
	free(token);
}

/* Our own signing key first, then the pinned keys of trusted KBSes. */
static enum core_err
token_verify_any(struct kbs_server *s, const char *token, json_t **claims,
    struct core_errbuf *eb)
{
	int64_t now = (int64_t)time(NULL);
	enum core_err err;
	size_t i;

	err = kbs_token_verify(kbs_vault_token_pub(s->vault), token, now,
	    claims, eb);
	for (i = 0; err != CORE_OK && err != CORE_ERR_NOMEM &&
	    i < s->ntrusted; i++) {
		core_errbuf_clear(eb);
		err = kbs_token_verify(s->trusted[i], token, now, claims, eb);
	}
	return err;
}

static void
handle_get_resource(struct kbs_server *s, struct MHD_Connection *c,
    const char *path, struct reply *r)
{
	struct core_errbuf eb;
	char repo[KBS_SEGMENT_MAX + 1], type[KBS_SEGMENT_MAX + 1],
	    tag[KBS_SEGMENT_MAX + 1];
	const char *sid = cookie_of(c), *reason = NULL;
	const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	char *token = NULL, *jwe = NULL;
	json_t *claims = NULL;
	struct secret *res = NULL;
	bool allow = false;

	core_errbuf_clear(&eb);
	if (kbs_path_parse(path, repo, type, tag, &eb) != CORE_OK) {
		reply_error(r, 401, "PluginInternalError",
		    "Plugin internal error: %s", core_errbuf_msg(&eb));
		goto out;
	}
	/*
	 * An attested session holds the claims this KBS itself put into the
	 * token it issued (the session ends before the token expires), so
	 * they are used as they are; a Bearer token is verified here.
	 */
	if (sid == NULL || kbs_sessions_claims(s->sessions, sid, core_mono_ms(),
	    &claims, NULL) != CORE_OK) {
		if (authz != NULL && strncmp(authz, "Bearer ", 7) == 0)
			token = strdup(authz + 7);
		if (token == NULL) {
			reply_error(r, 401, "TokenNotFound",
			    "Attestation Token not found");
			goto out;
		}
		if (token_verify_any(s, token, &claims, &eb) != CORE_OK) {
			reply_error(r, 401, "TokenVerifierError",
			    "Token Verifier error: %s", core_errbuf_msg(&eb));
			goto out;
		}
	}
	kbs_vault_policy_eval(s->vault, claims, path, &allow, &reason);
	if (!allow) {
		reply_error(r, 401, "PolicyDeny",
		    "Access denied by policy (%s)", reason);
		goto out;
	}
	if (kbs_vault_get(s->vault, path, &res, &eb) != CORE_OK) {
		reply_error(r, 401, "PluginInternalError",
		    "Plugin internal error: %s", core_errbuf_msg(&eb));
		goto out;
	}
	if (kbs_jwe_encrypt(kbs_token_tee_pubkey(claims), res->ptr, res->len,
	    s->allow_rsa1_5, NULL, NULL, NULL, &jwe, &eb) != CORE_OK) {
		reply_error(r, 401, "JweError", "JWE failed: %s",
		    core_errbuf_msg(&eb));
		goto out;
	}
	reply_json(r, jwe);
	jwe = NULL;
out:
	__atomic_add_fetch(r->status == 200 ? &s->n_resource_ok :
	    &s->n_resource_fail, 1, __ATOMIC_RELAXED);
	secret_free(res);
	json_decref(claims);
	free(token);
	free(jwe);
}

/* ---- admin ------------------------------------------------------------ */

static bool
admin_ok(struct kbs_server *s, struct MHD_Connection *c, const char *url,
    struct reply *r)
{
	struct core_errbuf eb;
	const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);

	core_errbuf_clear(&eb);
	if (kbs_admin_check(s->admin, authz, url, (int64_t)time(NULL), &eb) ==
	    CORE_OK)
		return true;
	__atomic_add_fetch(&s->n_admin_fail, 1, __ATOMIC_RELAXED);
	reply_error(r, 401, "AdminAuth", "Admin auth error: %s",
	    core_errbuf_msg(&eb));
	return false;
}

static void
handle_admin_resource(struct kbs_server *s, const char *method,
    const char *path, const struct request *rq, struct reply *r)
{
	struct core_errbuf eb;
	enum core_err err;

	core_errbuf_clear(&eb);
	if (strcmp(method, "DELETE") == 0)
		err = kbs_vault_delete(s->vault, path, &eb);
	else
		err = kbs_vault_put(s->vault, path, rq->body.data, rq->body.len,
		    &eb);
	if (err != CORE_OK) {
		reply_error(r, 401, "PluginInternalError",
		    "Plugin internal error: %s", core_errbuf_msg(&eb));
		return;
	}
	__atomic_add_fetch(&s->n_admin_ok, 1, __ATOMIC_RELAXED);
	r->status = 200;
}

static void
handle_policy(struct kbs_server *s, const char *method,
    const struct request *rq, struct reply *r)
{
	struct core_errbuf eb;
	uint8_t *pol = NULL;
	size_t n = 0;

	core_errbuf_clear(&eb);
	if (strcmp(method, "GET") == 0) {
		reply_json(r, strdup("[\"resource-policy\"]"));
		return;
	}
	if (kbs_parse_policy_request(rq->body.data, rq->body.len, &pol, &n,
	    &eb) != CORE_OK ||
	    kbs_vault_set_policy(s->vault, pol, n, &eb) != CORE_OK) {
		reply_error(r, 401, "ParsePolicyError", "%s",
		    core_errbuf_msg(&eb));
	} else {
		__atomic_add_fetch(&s->n_admin_ok, 1, __ATOMIC_RELAXED);
		r->status = 200;
	}
	free(pol);
}

static void
handle_metrics(struct kbs_server *s, struct reply *r)
{
	struct kbs_sessions_stats st;
	struct core_buf b;

	kbs_sessions_stats(s->sessions, &st);
	core_buf_init(&b, 0);
	core_buf_printf(&b,
	    "# TYPE kbs_auth_total counter\nkbs_auth_total %" PRIu64 "\n"
	    "# TYPE kbs_attest_total counter\n"
	    "kbs_attest_total{result=\"ok\"} %" PRIu64 "\n"
	    "kbs_attest_total{result=\"fail\"} %" PRIu64 "\n"
	    "# TYPE kbs_resource_total counter\n"
	    "kbs_resource_total{result=\"ok\"} %" PRIu64 "\n"
	    "kbs_resource_total{result=\"fail\"} %" PRIu64 "\n"
	    "# TYPE kbs_admin_total counter\n"
	    "kbs_admin_total{result=\"ok\"} %" PRIu64 "\n"
	    "kbs_admin_total{result=\"fail\"} %" PRIu64 "\n"
	    "# TYPE kbs_sessions gauge\n"
	    "kbs_sessions{state=\"pending\"} %zu\n"
	    "kbs_sessions{state=\"attested\"} %zu\n"
	    "# TYPE kbs_sessions_removed_total counter\n"
	    "kbs_sessions_removed_total{reason=\"expired\"} %" PRIu64 "\n"
	    "kbs_sessions_removed_total{reason=\"evicted\"} %" PRIu64 "\n",
	    __atomic_load_n(&s->n_auth, __ATOMIC_RELAXED),
	    __atomic_load_n(&s->n_attest_ok, __ATOMIC_RELAXED),
	    __atomic_load_n(&s->n_attest_fail, __ATOMIC_RELAXED),
	    __atomic_load_n(&s->n_resource_ok, __ATOMIC_RELAXED),
	    __atomic_load_n(&s->n_resource_fail, __ATOMIC_RELAXED),
	    __atomic_load_n(&s->n_admin_ok, __ATOMIC_RELAXED),
	    __atomic_load_n(&s->n_admin_fail, __ATOMIC_RELAXED), st.pending,
	    st.attested, st.expired, st.evicted);
	r->status = 200;
	r->ctype = "text/plain; version=0.0.4";
	r->body_len = b.len;
	r->body = (char *)core_buf_steal(&b, NULL);
}

/* ---- routing ---------------------------------------------------------- */

static void
route(struct kbs_server *s, struct MHD_Connection *c, const char *url,
    const char *method, const struct request *rq, struct reply *r)
{
	const char *rest, *slash;
	char plugin[64];
	size_t n;
	bool get = strcmp(method, "GET") == 0, post = strcmp(method,
	    "POST") == 0, del = strcmp(method, "DELETE") == 0;

	if (strcmp(url, "/healthz") == 0 && get) {
		r->status = 200;
		return;
	}
	if (strcmp(url, "/metrics") == 0 && get) {
		handle_metrics(s, r);
		return;
	}
	if (strncmp(url, "/kbs/v0/", 8) != 0) {
		reply_error(r, 404, "InvalidRequestPath",
		    "Request path %.200s is invalid", url);
		return;
	}
	rest = url + 8;
	slash = strchr(rest, '/');
	n = slash ? (size_t)(slash - rest) : strlen(rest);
	if (n >= sizeof(plugin))
		n = sizeof(plugin) - 1;
	memcpy(plugin, rest, n);
	plugin[n] = '\0';
	if (strcmp(url, "/kbs/v0/auth") == 0 && post) {
		handle_auth(s, rq, r);
	} else if (strcmp(url, "/kbs/v0/attest") == 0 && post) {
		handle_attest(s, c, rq, r);
	} else if (strcmp(plugin, "resource") == 0 && slash != NULL &&
	    (get || post || del)) {
		if (get)
			handle_get_resource(s, c, slash + 1, r);
		else if (admin_ok(s, c, url, r))
			handle_admin_resource(s, method, slash + 1, rq, r);
	} else if (strcmp(url, "/kbs/v0/resource-policy") == 0 &&
	    (get || post)) {
		if (admin_ok(s, c, url, r))
			handle_policy(s, method, rq, r);
	} else if ((strcmp(plugin, "attestation-policy") == 0 ||
	    strcmp(plugin, "reference-value") == 0) && (get || post)) {
		if (admin_ok(s, c, url, r))
			reply_error(r, 401, "PolicyEngineError",
			    "%s is not supported by propeller-kbs (its "
			    "attestation policy is built in)", plugin);
	} else {
		reply_error(r, 404, "PluginNotFound", "Plugin %s not found",
		    plugin);
	}
}

/* Tells the daemon what happened (it logs; this module never does). */
static void
report(const struct kbs_server *s, const char *method, const char *url,
    const struct reply *r)
{
	json_t *j = NULL;
	const char *detail = "";

	if (s->on_req == NULL)
		return;
	if (r->status != 200 && r->body != NULL &&
	    (j = json_loadb(r->body, r->body_len, 0, NULL)) != NULL &&
	    json_is_string(json_object_get(j, "detail")))
		detail = json_string_value(json_object_get(j, "detail"));
	s->on_req(s->on_req_arg, method, url, r->status, detail);
	json_decref(j);
}

static enum MHD_Result
send_reply(struct MHD_Connection *c, struct reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(r->body_len,
	    r->body ? r->body : (char *)"", MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (r->ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    r->ctype);
	if (r->cookie[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE,
		    r->cookie);
	ret = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct kbs_server *s = cls;
	struct request *rq = *con_cls;
	struct reply r;
	enum MHD_Result ret;

	(void)version;
	if (rq == NULL) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		int64_t n = 0;

		/* Refuse a declared oversized body before reading any of it. */
		if (cl != NULL && (core_parse_int(cl, 0, INT64_MAX, &n) !=
		    CORE_OK || (uint64_t)n > s->max_body)) {
			memset(&r, 0, sizeof(r));
			reply_error(&r, 413, "PayloadTooLarge",
			    "request body larger than %zu bytes", s->max_body);
			report(s, method, url, &r);
			ret = send_reply(c, &r);
			free(r.body);
			return ret;
		}
		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			return MHD_NO;
		core_buf_init(&rq->body, s->max_body);
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (!rq->too_big && core_buf_append(&rq->body, upload_data,
		    *upload_data_size) != CORE_OK) {
			rq->too_big = true;
			core_buf_cleanup(&rq->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	memset(&r, 0, sizeof(r));
	if (rq->too_big)
		reply_error(&r, 413, "PayloadTooLarge",
		    "request body larger than %zu bytes", s->max_body);
	else
		route(s, c, url, method, rq, &r);
	report(s, method, url, &r);
	ret = send_reply(c, &r);
	free(r.body);
	return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq == NULL)
		return;
	core_buf_cleanup_secure(&rq->body);
	free(rq);
	*con_cls = NULL;
}

/* ---- lifecycle -------------------------------------------------------- */

static enum core_err
open_listener(const char *addr, uint16_t port, int *fd_out, uint16_t *bound,
    struct core_errbuf *eb)
{
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char portstr[8];
	int fd = -1, one = 1, rc;
	enum core_err err = CORE_OK;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	rc = getaddrinfo(addr, portstr, &hints, &ai);
	if (rc != 0)
		return core_errf(eb, CORE_ERR_INVALID, "listen address %s: %s",
		    addr, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(fd, 1024) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "listen on %s:%u", addr,
		    (unsigned)port);
		goto out;
	}
	*bound = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	*fd_out = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return err;
}

enum core_err
kbs_server_new(const struct kbs_config *c, struct kbs_server **out,
    struct core_errbuf *eb)
{
	struct kbs_server *s;
	/* TURBO: read and accept before asking epoll, and no shutdown()
	 * before close(): ~4 syscalls fewer per flow on a new connection. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_TURBO;
	uint8_t *p = NULL;
	size_t n = 0;
	enum core_err err;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return CORE_ERR_NOMEM;
	s->listen_fd = -1;
	s->max_body = c->max_body;
	s->token_lifetime_s = c->token_lifetime_ms / 1000;
	s->session_timeout_ms = c->session_timeout_ms;
	s->allow_rsa1_5 = c->allow_rsa1_5;
	s->on_req = c->on_request;
	s->on_req_arg = c->on_request_arg;
	s->last_sweep_s = (int64_t)time(NULL);
	err = kbs_vault_open(c->data_dir, c->threads, &s->vault, eb);
	if (err != CORE_OK)
		goto fail;
	err = kbs_admin_new(c, &s->admin, eb);
	if (err != CORE_OK)
		goto fail;
	s->trusted = calloc(c->ntrusted + 1, sizeof(*s->trusted));
	if (s->trusted == NULL) {
		err = CORE_ERR_NOMEM;
		goto fail;
	}
	for (; s->ntrusted < c->ntrusted; s->ntrusted++) {
		err = kbs_key_read(c->trusted_token_keys[s->ntrusted], false,
		    &s->trusted[s->ntrusted], eb);
		if (err != CORE_OK)
			goto fail;
	}
	s->sessions = kbs_sessions_new(c->max_sessions, SESSIONS_HOT,
	    c->session_timeout_ms);
	if (s->sessions == NULL) {
		err = CORE_ERR_NOMEM;
		goto fail;
	}
	if (c->tls_cert != NULL) {
		err = core_fs_read(c->tls_cert, 1024 * 1024, &p, &n, eb);
		if (err != CORE_OK)
			goto fail;
		s->tls_cert_pem = (char *)p;
		err = core_fs_read(c->tls_key, 1024 * 1024, &p, &n, eb);
		if (err != CORE_OK)
			goto fail;
		s->tls_key_pem = (char *)p;
		s->tls_key_len = n;
		s->tls = true;
		flags |= MHD_USE_TLS;
	}
	err = open_listener(c->listen_addr, c->listen_port, &s->listen_fd,
	    &s->port, eb);
	if (err != CORE_OK)
		goto fail;
	if (s->tls)
		s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
		    MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
		    MHD_OPTION_THREAD_POOL_SIZE, c->threads,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		    MHD_OPTION_CONNECTION_TIMEOUT, 30U,
		    MHD_OPTION_CONNECTION_LIMIT, 4000U,
		    MHD_OPTION_HTTPS_MEM_CERT, s->tls_cert_pem,
		    MHD_OPTION_HTTPS_MEM_KEY, s->tls_key_pem,
		    MHD_OPTION_END);
	else
		s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
		    MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
		    MHD_OPTION_THREAD_POOL_SIZE, c->threads,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		    MHD_OPTION_CONNECTION_TIMEOUT, 30U,
		    MHD_OPTION_CONNECTION_LIMIT, 4000U,
		    MHD_OPTION_END);
	if (s->mhd == NULL) {
		err = core_errf(eb, CORE_ERR_IO,
		    "could not start the HTTP server%s",
		    s->tls ? " (check the TLS certificate and key)" : "");
		goto fail;
	}
	*out = s;
	return CORE_OK;
fail:
	kbs_server_free(s);
	return err;
}

uint16_t
kbs_server_port(const struct kbs_server *s)
{
	return s->port;
}

void
kbs_server_free(struct kbs_server *s)
{
	if (s == NULL)
		return;
	if (s->mhd != NULL)
		MHD_stop_daemon(s->mhd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	kbs_sessions_free(s->sessions);
	kbs_admin_free(s->admin);
	kbs_vault_free(s->vault);
	for (size_t i = 0; i < s->ntrusted; i++)
		crypto_key_free(s->trusted[i]);
	free(s->trusted);
	free(s->tls_cert_pem);
	if (s->tls_key_pem != NULL)
		core_wipe(s->tls_key_pem, s->tls_key_len);
	free(s->tls_key_pem);
	free(s);
}
