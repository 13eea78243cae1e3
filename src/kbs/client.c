/*
 * client.c -- the KBS client (G: kbs_protocol equivalent): RCAR with any
 * attester and a fresh P-256 TEE key per session, resource retrieval with
 * JWE decryption, token reuse while it is valid, and the admin calls of
 * kbs-client's `config` subcommands. Plain http:// goes through http1.c,
 * https and proxied requests through libcurl.
 */
#include "kbs/kbs_int.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "tee/tee.h"

#define CLIENT_MAX_RESPONSE (64 * 1024 * 1024)
#define TOKEN_MARGIN_S 10
#define TOKEN_EXP_UNREAD (-1)

/*
 * The HTTP transport of a client or an admin call: http1.c for plain
 * http:// URLs, libcurl for https, for proxies (curl's http_proxy,
 * all_proxy, ALL_PROXY with NO_PROXY) and for URLs http1.c does not take.
 */
struct kbs_conn {
	struct kbs_http1 *h1; /* owned; NULL when curl is used */
	CURL *curl;           /* owned; NULL when h1 is used */
};

struct kbs_client {
	char *url;                         /* owned; no trailing slash */
	char *cert_file;                   /* owned or NULL */
	const struct kbs_attester *att;    /* borrowed */
	char *init_data;                   /* owned or NULL */
	int64_t timeout_ms;
	struct kbs_conn conn;              /* keeps the connection */
	char cookie[KBS_COOKIE_MAX];       /* the session cookie, "" if none */
	struct crypto_key *tee_key;        /* owned; secret: TEE private key */
	bool key_from_file;
	char *token;                       /* owned; cached EAR token */
	int64_t token_exp;                 /* wall seconds; TOKEN_EXP_UNREAD
	                                      until token_exp_read() */
	bool bearer_only;                  /* token given by the caller */
};

static bool token_shape_ok(const char *t);
STATIC size_t on_header(char *p, size_t sz, size_t n, void *ud);
STATIC enum core_err token_reply_fast(const struct core_buf *b, char **out);
STATIC struct kbs_http1 *client_http1(const struct kbs_client *c);
STATIC bool rcar_text_ok(const json_t *jwk, const char *nonce);
STATIC enum core_err rcar_digest_text(const json_t *jwk, const char *nonce,
    uint8_t digest[KBS_DIGEST_LEN], struct core_errbuf *eb);
STATIC char *rcar_body_text(const json_t *jwk, const char *nonce,
    const json_t *ev);
static void token_exp_read(struct kbs_client *c);

static enum core_err
sample_evidence(void *ctx, const uint8_t *rd, size_t len, json_t **out,
    struct core_errbuf *eb)
{
	char *b64 = core_b64_encode(rd, len);

	(void)ctx;
	(void)eb;
	*out = b64 ? json_pack("{s:s,s:s}", "svn", "1", "report_data", b64) :
	    NULL;
	free(b64);
	return *out ? CORE_OK : CORE_ERR_NOMEM;
}

const struct kbs_attester kbs_sample_attester = { "sample", sample_evidence,
	NULL };

static const enum tee_kind tee_kinds[TEE_KIND_COUNT] = { TEE_NONE,
	TEE_SAMPLE, TEE_TDX, TEE_SNP, TEE_SGX, TEE_AZ_SNP_VTPM,
	TEE_AZ_TDX_VTPM };

/* Evidence from the tee module's attester for the kind in ctx. */
static enum core_err
tee_evidence(void *ctx, const uint8_t *rd, size_t len, json_t **out,
    struct core_errbuf *eb)
{
	enum tee_kind kind = *(const enum tee_kind *)ctx;
	char *text = NULL;
	enum core_err err;

	*out = NULL;
	err = tee_attester_evidence(kind, rd, len, NULL, &text, eb);
	if (err == CORE_OK)
		err = core_json_parse_object(text, strlen(text), 0, out, eb);
	free(text);
	return err;
}

enum core_err
kbs_attester_detect(struct kbs_attester *out, bool *sample,
    struct core_errbuf *eb)
{
	struct tee_detection d;
	enum core_err err;

	*out = kbs_sample_attester;
	*sample = true;
	err = tee_detect("/", &d, eb);
	if (err != CORE_OK)
		return err;
	if (d.kind == TEE_NONE || d.kind == TEE_SAMPLE ||
	    d.kind >= TEE_KIND_COUNT)
		return CORE_OK;
	out->tee = tee_kind_name(d.kind);
	out->evidence = tee_evidence;
	out->ctx = (void *)&tee_kinds[d.kind];
	*sample = false;
	return CORE_OK;
}

static size_t
on_write(char *p, size_t sz, size_t n, void *ud)
{
	struct core_buf *b = ud;

	if (core_buf_append(b, p, sz * n) != CORE_OK)
		return 0;
	return sz * n;
}

/*
 * Keeps the kbs-session-id of a Set-Cookie header. The client handles this
 * one cookie itself: curl's cookie engine parses every cookie's date and
 * attributes, which cost more than the rest of the request. The KBS scopes
 * the cookie to /kbs/v0 and this handle only talks to /kbs/v0; the KBS
 * expires the session itself.
 */
STATIC size_t
on_header(char *p, size_t sz, size_t n, void *ud)
{
	static const char name[] = "set-cookie:";
	size_t len = sz * n, i = sizeof(name) - 1;

	if (len >= i && strncasecmp(p, name, i) == 0)
		kbs_http1_take_cookie(p + i, len - i, ud);
	return len;
}

/* A proxy variable curl would honour for an http:// URL. */
static bool
proxy_env_set(void)
{
	static const char *const vars[] = { "http_proxy", "all_proxy",
		"ALL_PROXY" };
	const char *v;

	for (size_t i = 0; i < CORE_ARRAY_LEN(vars); i++)
		if ((v = getenv(vars[i])) != NULL && v[0] != '\0')
			return true;
	return false;
}

static enum core_err
transport_open(struct kbs_conn *k, const char *base)
{
	enum core_err err = CORE_ERR_UNSUPPORTED;

	k->h1 = NULL;
	k->curl = NULL;
	if (!proxy_env_set())
		err = kbs_http1_new(base, &k->h1);
	if (err == CORE_ERR_UNSUPPORTED) {
		k->curl = curl_easy_init();
		err = k->curl ? CORE_OK : CORE_ERR_NOMEM;
	}
	return err;
}

static void
transport_close(struct kbs_conn *k)
{
	kbs_http1_free(k->h1);
	if (k->curl != NULL)
		curl_easy_cleanup(k->curl);
	k->h1 = NULL;
	k->curl = NULL;
}

/* The client's plain-HTTP connection, NULL with curl (for tests). */
STATIC struct kbs_http1 *
client_http1(const struct kbs_client *c)
{
	return c->conn.h1;
}

/*
 * One HTTP exchange. body may be NULL (GET/DELETE). authz is a full
 * header value or NULL. The response body lands in resp.
 */
static enum core_err
http_do_curl(CURL *h, const char *base, const char *cert_file, int64_t timeout_ms,
    const char *method, const char *path, const void *body, size_t len,
    const char *ctype, const char *authz, char *cookie, long *status,
    struct core_buf *resp, struct core_errbuf *eb)
{
	struct curl_slist *hdrs = NULL;
	char *url = NULL, hv[8192];
	CURLcode rc;
	enum core_err err = CORE_OK;

	core_buf_reset(resp);
	url = malloc(strlen(base) + strlen(path) + 1);
	if (url == NULL)
		return CORE_ERR_NOMEM;
	memcpy(url, base, strlen(base));
	memcpy(url + strlen(base), path, strlen(path) + 1);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_ms ? timeout_ms :
	    30000));
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cert_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, cert_file);
	if (ctype != NULL) {
		snprintf(hv, sizeof(hv), "Content-Type: %s", ctype);
		hdrs = curl_slist_append(hdrs, hv);
	}
	if (authz != NULL) {
		if (strlen(authz) + 16 >= sizeof(hv)) {
			err = core_errf(eb, CORE_ERR_TOO_BIG, "token too long");
			goto out;
		}
		snprintf(hv, sizeof(hv), "Authorization: %s", authz);
		hdrs = curl_slist_append(hdrs, hv);
	}
	if (cookie != NULL && cookie[0] != '\0') {
		snprintf(hv, sizeof(hv), "Cookie: %s", cookie);
		hdrs = curl_slist_append(hdrs, hv);
	}
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, cookie ? on_header : NULL);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, cookie);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		const char *what = "request failed";

		if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST
		    || rc == CURLE_OPERATION_TIMEDOUT)
			what = "unreachable";
		else if (rc == CURLE_PEER_FAILED_VERIFICATION ||
		    rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SSL_CACERT_BADFILE)
			what = "TLS failed";
		err = core_errf(eb, CORE_ERR_NET, "KBS %s %s: %s", base, what,
		    curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
out:
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	free(url);
	return err;
}

static enum core_err
http_do(struct kbs_conn *k, const char *base, const char *cert_file,
    int64_t timeout_ms, const char *method, const char *path, const void *body,
    size_t len, const char *ctype, const char *authz, char *cookie,
    long *status, struct core_buf *resp, struct core_errbuf *eb)
{
	struct kbs_http1_req rq = { method, path, body, len, ctype, authz,
		cookie };
	enum core_err err;

	if (k->h1 == NULL)
		return http_do_curl(k->curl, base, cert_file, timeout_ms, method,
		    path, body, len, ctype, authz, cookie, status, resp, eb);
	if (authz != NULL && strlen(authz) + 16 >= 8192)
		return core_errf(eb, CORE_ERR_TOO_BIG, "token too long");
	err = kbs_http1_do(k->h1, &rq, timeout_ms, status, resp, cookie, eb);
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "KBS %s", base);
	return err;
}

/* Turns a non-200 reply into an error naming the KBS's type and detail. */
static enum core_err
refusal(const char *what, long status, const struct core_buf *resp,
    struct core_errbuf *eb, char *type_out, size_t type_len)
{
	json_t *j = NULL;
	const char *type = NULL, *detail = NULL, *slash;
	enum core_err err;

	if (core_json_parse_object(resp->data, resp->len, 64 * 1024, &j,
	    NULL) == CORE_OK) {
		type = json_string_value(json_object_get(j, "type"));
		detail = json_string_value(json_object_get(j, "detail"));
	}
	if (type != NULL && (slash = strrchr(type, '/')) != NULL)
		type = slash + 1;
	if (type_out != NULL)
		snprintf(type_out, type_len, "%s", type ? type : "");
	if (type != NULL && strcmp(type, "PolicyDeny") == 0)
		err = CORE_ERR_PERM;
	else if (status == 404)
		err = CORE_ERR_NOT_FOUND;
	else
		err = CORE_ERR_AUTH;
	if (type != NULL)
		core_errf(eb, err, "%s refused by the KBS (HTTP %ld %s): %s",
		    what, status, type, detail ? detail : "");
	else
		core_errf(eb, err, "%s refused by the KBS (HTTP %ld): %.200s",
		    what, status, resp->len ? (const char *)resp->data : "");
	json_decref(j);
	return err;
}

static char *
trim_url(const char *u)
{
	size_t n = strlen(u);

	while (n > 0 && u[n - 1] == '/')
		n--;
	return strndup(u, n);
}

enum core_err
kbs_client_new(const struct kbs_client_opts *o, struct kbs_client **out,
    struct core_errbuf *eb)
{
	struct kbs_client *c;
	enum core_err err = CORE_OK;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return CORE_ERR_NOMEM;
	c->url = trim_url(o->url ? o->url : KBS_DEFAULT_URL);
	c->cert_file = o->cert_file ? strdup(o->cert_file) : NULL;
	c->init_data = o->init_data ? strdup(o->init_data) : NULL;
	c->att = o->attester ? o->attester : &kbs_sample_attester;
	c->timeout_ms = o->timeout_ms;
	if (c->url != NULL && (err = transport_open(&c->conn, c->url)) != CORE_OK)
		goto fail;
	if (c->url == NULL ||
	    (o->cert_file && !c->cert_file) || (o->init_data && !c->init_data)) {
		err = CORE_ERR_NOMEM;
		goto fail;
	}
	if (o->tee_key_file != NULL) {
		err = kbs_key_read(o->tee_key_file, true, &c->tee_key, eb);
		if (err != CORE_OK)
			goto fail;
		if (crypto_key_type(c->tee_key) != CRYPTO_KEY_EC_P256 &&
		    crypto_key_type(c->tee_key) != CRYPTO_KEY_EC_P521 &&
		    crypto_key_type(c->tee_key) != CRYPTO_KEY_RSA) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "%s: TEE key must be EC P-256/P-521 or RSA",
			    o->tee_key_file);
			goto fail;
		}
		c->key_from_file = true;
	}
	*out = c;
	return CORE_OK;
fail:
	kbs_client_free(c);
	return err;
}

void
kbs_client_free(struct kbs_client *c)
{
	if (c == NULL)
		return;
	transport_close(&c->conn);
	crypto_key_free(c->tee_key);
	free(c->url);
	free(c->cert_file);
	free(c->init_data);
	free(c->token);
	free(c);
}

void
kbs_client_forget(struct kbs_client *c)
{
	free(c->token);
	c->token = NULL;
	c->token_exp = 0;
	c->bearer_only = false;
	c->cookie[0] = '\0';
}

enum core_err
kbs_client_set_token(struct kbs_client *c, const char *token,
    struct core_errbuf *eb)
{
	if (!c->key_from_file)
		return core_errf(eb, CORE_ERR_INVALID,
		    "an attestation token needs the TEE key it was issued for "
		    "(--tee-key-file)");
	free(c->token);
	c->token = strdup(token);
	c->token_exp = INT64_MAX;
	c->bearer_only = true;
	return c->token ? CORE_OK : CORE_ERR_NOMEM;
}

static enum core_err
tee_jwk(const struct crypto_key *k, json_t **out, struct core_errbuf *eb)
{
	return kbs_pub_jwk(k, crypto_key_type(k) == CRYPTO_KEY_RSA ?
	    "RSA-OAEP-256" : "ECDH-ES+A256KW", out, eb);
}

/* A string JSON and JCS write as is: printable ASCII, no quote or
 * backslash. */
static bool
json_plain(const char *s)
{
	if (s == NULL)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ||
		    *s == '"' || *s == '\\')
			return false;
	return true;
}

static const char *
jwk_str(const json_t *jwk, const char *name)
{
	return json_string_value(json_object_get(jwk, name));
}

/*
 * Whether the attest request can be written as text (rcar_digest_text,
 * rcar_body_text) from jwk, the public JWK of an EC TEE key as
 * crypto_key_to_jwk gives it, and the KBS's nonce: every string plain.
 * Anything else (RSA keys, a nonce needing escapes) goes through jansson.
 */
STATIC bool
rcar_text_ok(const json_t *jwk, const char *nonce)
{
	const char *kty = jwk_str(jwk, "kty");

	return kty != NULL && strcmp(kty, "EC") == 0 &&
	    json_plain(jwk_str(jwk, "crv")) && json_plain(jwk_str(jwk, "x")) &&
	    json_plain(jwk_str(jwk, "y")) && json_plain(nonce);
}

/* The EC tee-pubkey with the alg the client asks for, in key order. */
static enum core_err
append_jwk(struct core_buf *b, const json_t *jwk, bool jcs)
{
	enum core_err err;

	if (jcs)
		err = core_buf_append_str(b, "{\"alg\":\"ECDH-ES+A256KW\","
		    "\"crv\":\"");
	else
		err = core_buf_append_str(b, "{\"kty\":\"EC\",\"crv\":\"");
	if (err == CORE_OK)
		err = core_buf_append_str(b, jwk_str(jwk, "crv"));
	if (err == CORE_OK)
		err = core_buf_append_str(b, jcs ? "\",\"kty\":\"EC\",\"x\":\"" :
		    "\",\"alg\":\"ECDH-ES+A256KW\",\"x\":\"");
	if (err == CORE_OK)
		err = core_buf_append_str(b, jwk_str(jwk, "x"));
	if (err == CORE_OK)
		err = core_buf_append_str(b, "\",\"y\":\"");
	if (err == CORE_OK)
		err = core_buf_append_str(b, jwk_str(jwk, "y"));
	if (err == CORE_OK)
		err = core_buf_append_str(b, "\"}");
	return err;
}

/*
 * The spec §3 runtime-data digest (SHA-384 of the RFC 8785 form of
 * {"additional-evidence":"","nonce":…,"tee-pubkey":…}) written directly:
 * the same bytes kbs_runtime_digest hashes, without building and sorting
 * a JSON tree. Only when rcar_text_ok.
 */
STATIC enum core_err
rcar_digest_text(const json_t *jwk, const char *nonce,
    uint8_t digest[KBS_DIGEST_LEN], struct core_errbuf *eb)
{
	struct core_buf b;
	enum core_err err;

	core_buf_init(&b, 0);
	err = core_buf_append_str(&b, "{\"additional-evidence\":\"\","
	    "\"nonce\":\"");
	if (err == CORE_OK)
		err = core_buf_append_str(&b, nonce);
	if (err == CORE_OK)
		err = core_buf_append_str(&b, "\",\"tee-pubkey\":");
	if (err == CORE_OK)
		err = append_jwk(&b, jwk, true);
	if (err == CORE_OK)
		err = core_buf_append_str(&b, "}");
	if (err == CORE_OK && crypto_sha384(b.data, b.len, digest) != CORE_OK)
		err = core_errf(eb, CORE_ERR_CRYPTO, "runtime-data digest failed");
	core_buf_cleanup(&b);
	return err;
}

/* The attest request body as text (only when rcar_text_ok); NULL if out
 * of memory. */
STATIC char *
rcar_body_text(const json_t *jwk, const char *nonce, const json_t *ev)
{
	struct core_buf b;
	char *evs = core_json_dumps(ev);
	enum core_err err = evs ? CORE_OK : CORE_ERR_NOMEM;

	core_buf_init(&b, 0);
	if (err == CORE_OK)
		err = core_buf_append_str(&b, "{\"runtime-data\":{\"nonce\":\"");
	if (err == CORE_OK)
		err = core_buf_append_str(&b, nonce);
	if (err == CORE_OK)
		err = core_buf_append_str(&b, "\",\"tee-pubkey\":");
	if (err == CORE_OK)
		err = append_jwk(&b, jwk, false);
	if (err == CORE_OK)
		err = core_buf_append_str(&b, "},\"tee-evidence\":"
		    "{\"primary_evidence\":");
	if (err == CORE_OK)
		err = core_buf_append_str(&b, evs);
	if (err == CORE_OK)
		err = core_buf_append_str(&b, ",\"additional_evidence\":\"\"}}");
	free(evs);
	if (err != CORE_OK) {
		core_buf_cleanup(&b);
		return NULL;
	}
	return (char *)core_buf_steal(&b, NULL);
}

/* One RCAR handshake; sets c->token and c->token_exp. */
static enum core_err
rcar(struct kbs_client *c, struct core_errbuf *eb)
{
	struct core_buf resp;
	json_t *req = NULL, *j = NULL, *jwk = NULL, *ev = NULL;
	char *body = NULL, *fast = NULL;
	const char *nonce = NULL, *token = NULL;
	uint8_t digest[KBS_DIGEST_LEN];
	long status = 0;
	bool text = false;
	enum core_err err;

	core_buf_init(&resp, CLIENT_MAX_RESPONSE);
	free(c->token);
	c->token = NULL;
	if (!c->key_from_file) {
		crypto_key_free(c->tee_key);
		c->tee_key = NULL;
		err = crypto_key_generate(CRYPTO_KEY_EC_P256, 0, &c->tee_key,
		    eb);
		if (err != CORE_OK)
			goto out;
	}
	c->cookie[0] = '\0';
	if (json_plain(c->att->tee)) {
		body = malloc(strlen(c->att->tee) + 64);
		if (body != NULL)
			snprintf(body, strlen(c->att->tee) + 64, "{\"version\":\""
			    KBS_PROTOCOL_VERSION "\",\"tee\":\"%s\","
			    "\"extra-params\":{}}", c->att->tee);
	} else {
		req = json_pack("{s:s,s:s,s:{}}", "version",
		    KBS_PROTOCOL_VERSION, "tee", c->att->tee, "extra-params");
		body = req ? core_json_dumps(req) : NULL;
	}
	if (body == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	err = http_do(&c->conn, c->url, c->cert_file, c->timeout_ms, "POST",
	    "/kbs/v0/auth", body, strlen(body), "application/json", NULL,
	    c->cookie, &status, &resp, eb);
	if (err != CORE_OK)
		goto out;
	if (status != 200) {
		err = refusal("auth", status, &resp, eb, NULL, 0);
		goto out;
	}
	err = core_json_parse_object(resp.data, resp.len, 0, &j, eb);
	if (err == CORE_OK)
		err = core_json_get_str(j, "nonce", true, &nonce, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "KBS challenge");
		goto out;
	}
	/* The usual request (an EC key, a plain nonce, no init-data) is
	 * written as text; jansson and JCS cost ~10 % of the client. */
	err = crypto_key_to_jwk(c->tee_key, false, &jwk, eb);
	text = err == CORE_OK && c->init_data == NULL &&
	    rcar_text_ok(jwk, nonce);
	if (err == CORE_OK && text) {
		err = rcar_digest_text(jwk, nonce, digest, eb);
	} else if (err == CORE_OK) {
		json_decref(jwk);
		jwk = NULL;
		err = tee_jwk(c->tee_key, &jwk, eb);
		if (err == CORE_OK)
			err = kbs_runtime_digest(jwk, nonce, "", digest, eb);
	}
	if (err == CORE_OK)
		err = c->att->evidence(c->att->ctx, digest, sizeof(digest), &ev,
		    eb);
	if (err != CORE_OK)
		goto out;
	json_decref(req);
	req = NULL;
	free(body);
	body = NULL;
	if (text) {
		body = rcar_body_text(jwk, nonce, ev);
	} else {
		req = json_pack("{s:{s:s,s:O},s:{s:O,s:s}}", "runtime-data",
		    "nonce", nonce, "tee-pubkey", jwk, "tee-evidence",
		    "primary_evidence", ev, "additional_evidence", "");
		if (req != NULL && c->init_data != NULL)
			json_object_set_new(req, "init-data", json_pack(
			    "{s:s,s:s}", "format", "toml", "body", c->init_data));
		body = req ? core_json_dumps(req) : NULL;
	}
	if (body == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	err = http_do(&c->conn, c->url, c->cert_file, c->timeout_ms, "POST",
	    "/kbs/v0/attest", body, strlen(body), "application/json", NULL,
	    c->cookie, &status, &resp, eb);
	if (err != CORE_OK)
		goto out;
	if (status != 200) {
		err = refusal("attestation", status, &resp, eb, NULL, 0);
		goto out;
	}
	json_decref(j);
	j = NULL;
	/* The usual reply is {"token":"<JWS>"}: take it without the general
	 * parser, which costs ~20 ns a byte on the 1-2 KB token. */
	if (token_reply_fast(&resp, &fast) == CORE_OK) {
		token = fast;
	} else {
		err = core_json_parse_object(resp.data, resp.len, 0, &j, eb);
		if (err == CORE_OK)
			err = core_json_get_str(j, "token", true, &token, eb);
	}
	if (err == CORE_OK && !token_shape_ok(token))
		err = core_errf(eb, CORE_ERR_INVALID,
		    "the token is not a compact JWS");
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "KBS attestation reply");
		goto out;
	}
	/* Its exp is read when the token is next considered for reuse. */
	c->token = strdup(token);
	c->token_exp = TOKEN_EXP_UNREAD;
	if (c->token == NULL)
		err = CORE_ERR_NOMEM;
out:
	json_decref(req);
	json_decref(j);
	json_decref(jwk);
	json_decref(ev);
	free(body);
	free(fast);
	core_buf_cleanup(&resp);
	return err;
}

/*
 * The token of an attest reply of exactly the form {"token":"<chars>"}
 * (whitespace allowed where JSON allows it) whose value needs no
 * unescaping; CORE_ERR_INVALID for anything else, which the caller then
 * gives to the JSON parser. *out is malloc'd.
 */
STATIC enum core_err
token_reply_fast(const struct core_buf *b, char **out)
{
	static const char key[] = "\"token\"";
	const char *p = (const char *)b->data, *end = p + b->len, *v;

	*out = NULL;
#define SKIP_WS() while (p < end && (*p == ' ' || *p == '\t' || \
	    *p == '\r' || *p == '\n')) p++
	SKIP_WS();
	if (p == end || *p++ != '{')
		return CORE_ERR_INVALID;
	SKIP_WS();
	if ((size_t)(end - p) < sizeof(key) - 1 ||
	    memcmp(p, key, sizeof(key) - 1) != 0)
		return CORE_ERR_INVALID;
	p += sizeof(key) - 1;
	SKIP_WS();
	if (p == end || *p++ != ':')
		return CORE_ERR_INVALID;
	SKIP_WS();
	if (p == end || *p++ != '"')
		return CORE_ERR_INVALID;
	v = p;
	while (p < end && *p != '"' && *p != '\\' &&
	    (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x80)
		p++;
	if (p == end || *p != '"')
		return CORE_ERR_INVALID;
	*out = strndup(v, (size_t)(p - v));
	p++;
	SKIP_WS();
	if (p == end || *p++ != '}')
		goto invalid;
	SKIP_WS();
	if (p != end || *out == NULL)
		goto invalid;
#undef SKIP_WS
	return CORE_OK;
invalid:
	free(*out);
	*out = NULL;
	return CORE_ERR_INVALID;
}

/* Three base64url parts separated by dots: what a compact JWS looks like. */
static bool
token_shape_ok(const char *t)
{
	size_t dots = 0, part = 0;

	for (; *t != '\0'; t++) {
		if (*t == '.') {
			if (part == 0 || ++dots > 2)
				return false;
			part = 0;
		} else if ((*t >= 'A' && *t <= 'Z') || (*t >= 'a' && *t <= 'z') ||
		    (*t >= '0' && *t <= '9') || *t == '-' || *t == '_') {
			part++;
		} else {
			return false;
		}
	}
	return dots == 2 && part > 0;
}

/*
 * The token's exp (no signature check: the client only needs to know when
 * to attest again; the KBS verifies the token). A token without a readable
 * exp counts as valid for a minute from now, as before.
 */
static void
token_exp_read(struct kbs_client *c)
{
	json_t *hdr = NULL, *pl = NULL;
	int64_t exp = 0;

	if (kbs_jws_parse(c->token, strlen(c->token), &hdr, &pl, NULL) ==
	    CORE_OK)
		(void)core_json_get_int(pl, "exp", false, &exp, NULL);
	c->token_exp = exp ? exp : (int64_t)time(NULL) + 60;
	json_decref(hdr);
	json_decref(pl);
}

enum core_err
kbs_client_attest(struct kbs_client *c, const char **token,
    struct core_errbuf *eb)
{
	enum core_err err = CORE_OK;

	if (c->token != NULL && c->token_exp == TOKEN_EXP_UNREAD)
		token_exp_read(c);
	if (c->token == NULL ||
	    (!c->bearer_only && (int64_t)time(NULL) + TOKEN_MARGIN_S >=
		c->token_exp))
		err = rcar(c, eb);
	*token = c->token;
	return err;
}

enum core_err
kbs_client_get_resource(struct kbs_client *c, const char *path,
    struct secret **out, struct core_errbuf *eb)
{
	char repo[KBS_SEGMENT_MAX + 1], type[KBS_SEGMENT_MAX + 1],
	    tag[KBS_SEGMENT_MAX + 1], rtype[64], *authz = NULL, *p = NULL;
	struct core_buf resp;
	const char *tok = NULL;
	long status = 0;
	enum core_err err;
	int attempt;

	*out = NULL;
	core_buf_init(&resp, CLIENT_MAX_RESPONSE);
	err = kbs_path_parse(path, repo, type, tag, eb);
	if (err != CORE_OK)
		goto out;
	p = malloc(strlen(path) + 32);
	if (p == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	memcpy(p, "/kbs/v0/resource/", 17);
	memcpy(p + 17, path, strlen(path) + 1);
	for (attempt = 0; attempt < 2; attempt++) {
		err = kbs_client_attest(c, &tok, eb);
		if (err != CORE_OK)
			goto out;
		free(authz);
		authz = malloc(strlen(tok) + 8);
		if (authz == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		memcpy(authz, "Bearer ", 7);
		memcpy(authz + 7, tok, strlen(tok) + 1);
		err = http_do(&c->conn, c->url, c->cert_file, c->timeout_ms,
		    "GET", p, NULL, 0, NULL, authz, c->cookie, &status, &resp,
		    eb);
		if (err != CORE_OK)
			goto out;
		if (status == 200)
			break;
		core_errbuf_clear(eb);
		err = refusal("resource request", status, &resp, eb, rtype,
		    sizeof(rtype));
		/* A stale token: attest again once, as the Rust client does. */
		if (attempt == 0 && !c->bearer_only &&
		    (strcmp(rtype, "TokenVerifierError") == 0 ||
			strcmp(rtype, "TokenNotFound") == 0)) {
			free(c->token);
			c->token = NULL;
			core_errbuf_clear(eb);
			continue;
		}
		goto out;
	}
	err = kbs_jwe_decrypt(resp.data, resp.len, c->tee_key, out, eb);
out:
	core_buf_cleanup_secure(&resp);
	free(authz);
	free(p);
	return err;
}

/* ---- admin ------------------------------------------------------------ */

enum core_err
kbs_admin_token_make(const char *priv_path, int64_t now_s, int64_t life_s,
    char **out, struct core_errbuf *eb)
{
	struct crypto_key *k = NULL;
	json_t *claims = NULL;
	enum core_err err;

	*out = NULL;
	err = kbs_key_read(priv_path, true, &k, eb);
	if (err != CORE_OK)
		goto out;
	if (crypto_key_type(k) != CRYPTO_KEY_ED25519) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "%s: the admin key must be Ed25519", priv_path);
		goto out;
	}
	/* {"typ":"JWT","alg":"EdDSA"}.{"exp":...,"iat":...} */
	claims = json_pack("{s:I,s:I}", "exp", (json_int_t)(now_s + life_s),
	    "iat", (json_int_t)now_s);
	if (claims == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	err = crypto_jwt_sign(k, "EdDSA", NULL, claims, out, eb);
out:
	json_decref(claims);
	crypto_key_free(k);
	return err;
}

static enum core_err
admin_call(const struct kbs_admin_opts *o, const char *method,
    const char *path, const void *body, size_t len, const char *ctype,
    struct core_errbuf *eb)
{
	struct kbs_conn k = { NULL, NULL };
	char *tok = NULL, *authz = NULL, *base = NULL;
	uint8_t *file = NULL;
	size_t flen = 0;
	struct core_buf resp;
	long status = 0;
	enum core_err err;

	core_buf_init(&resp, 1024 * 1024);
	if (o->admin_token_file != NULL) {
		err = core_fs_read(o->admin_token_file, 64 * 1024, &file, &flen,
		    eb);
		if (err != CORE_OK)
			goto out;
		while (flen > 0 && (file[flen - 1] == '\n' ||
		    file[flen - 1] == '\r' || file[flen - 1] == ' '))
			file[--flen] = '\0';
		tok = strdup((char *)file);
	} else if (o->auth_private_key != NULL) {
		err = kbs_admin_token_make(o->auth_private_key,
		    (int64_t)time(NULL), 7200, &tok, eb);
		if (err != CORE_OK)
			goto out;
	}
	if (tok != NULL) {
		authz = malloc(strlen(tok) + 8);
		if (authz == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		memcpy(authz, "Bearer ", 7);
		memcpy(authz + 7, tok, strlen(tok) + 1);
	}
	base = trim_url(o->url ? o->url : KBS_DEFAULT_URL);
	if (base == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	err = transport_open(&k, base);
	if (err != CORE_OK)
		goto out;
	err = http_do(&k, base, o->cert_file, o->timeout_ms, method, path, body,
	    len, ctype, authz, NULL, &status, &resp, eb);
	if (err == CORE_OK && status != 200)
		err = refusal("admin request", status, &resp, eb, NULL, 0);
out:
	transport_close(&k);
	free(tok);
	free(authz);
	free(base);
	free(file);
	core_buf_cleanup(&resp);
	return err;
}

static enum core_err
resource_url(const char *path, char **out, struct core_errbuf *eb)
{
	char repo[KBS_SEGMENT_MAX + 1], type[KBS_SEGMENT_MAX + 1],
	    tag[KBS_SEGMENT_MAX + 1];
	enum core_err err = kbs_path_parse(path, repo, type, tag, eb);

	*out = NULL;
	if (err != CORE_OK)
		return err;
	*out = malloc(strlen(path) + 18);
	if (*out == NULL)
		return CORE_ERR_NOMEM;
	memcpy(*out, "/kbs/v0/resource/", 17);
	memcpy(*out + 17, path, strlen(path) + 1);
	return CORE_OK;
}

enum core_err
kbs_admin_set_resource(const struct kbs_admin_opts *o, const char *path,
    const void *data, size_t len, struct core_errbuf *eb)
{
	char *u = NULL;
	enum core_err err = resource_url(path, &u, eb);

	if (err == CORE_OK)
		err = admin_call(o, "POST", u, data, len,
		    "application/octet-stream", eb);
	free(u);
	return err;
}

enum core_err
kbs_admin_delete_resource(const struct kbs_admin_opts *o, const char *path,
    struct core_errbuf *eb)
{
	char *u = NULL;
	enum core_err err = resource_url(path, &u, eb);

	if (err == CORE_OK)
		err = admin_call(o, "DELETE", u, NULL, 0, NULL, eb);
	free(u);
	return err;
}

enum core_err
kbs_admin_set_policy(const struct kbs_admin_opts *o, const void *policy,
    size_t len, struct core_errbuf *eb)
{
	char *b = core_b64url_encode(policy, len), *body = NULL;
	json_t *j = b ? json_pack("{s:s}", "policy", b) : NULL;
	enum core_err err;

	body = j ? core_json_dumps(j) : NULL;
	if (body == NULL)
		err = CORE_ERR_NOMEM;
	else
		err = admin_call(o, "POST", "/kbs/v0/resource-policy", body,
		    strlen(body), "application/json", eb);
	json_decref(j);
	free(b);
	free(body);
	return err;
}
