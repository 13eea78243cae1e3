/*
 * registry.c -- the OCI distribution API over libcurl: ping, auth
 * (anonymous, Basic, Bearer tokens from WWW-Authenticate), manifests and
 * blobs, monolithic and chunked uploads.
 */
#include "oci/oci.h"
#include "oci/oci_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#define REG_ERRBODY_MAX (64 * 1024)
#define REG_TOKEN_MAX (256 * 1024)
#define REG_HDR_MAX 8192
#define REG_AUTHFILE_MAX (1024 * 1024)
#define REG_ACCEPT                                                             \
	"Accept: " OCI_MT_MANIFEST ", " OCI_MT_INDEX                           \
	", " OCI_MT_DOCKER_MANIFEST ", " OCI_MT_DOCKER_LIST

struct oci_registry {
	CURL *curl;                  /* owned */
	const struct oci_ref *ref;   /* borrowed from the store */
	const struct oci_opts *opts; /* borrowed from the store */
	char *base; /* owned: "https://host[:port]", after ping */
	char *user; /* owned: credentials, or NULL */
	char *pass; /* owned; secret-ish: wiped on free */
	char *auth; /* owned: Authorization value, or NULL */
	bool pinged;
};

struct http_req {
	const char *method;              /* GET HEAD POST PUT PATCH DELETE */
	const char *url;                 /* absolute */
	const char *const *headers;      /* extra headers, NULL-terminated */
	const struct oci_blob_src *body; /* NULL = no body */
	size_t body_off;
	size_t body_len;
	oci_sink_fn sink; /* 2xx body goes here, else to resp.body */
	void *sink_ctx;
	size_t body_max; /* bound for resp.body of 2xx when no sink */
};

struct http_resp {
	long status;
	struct core_buf body;
	char *location;
	char *www_auth;
	char *content_type;
	char *dcd;       /* Docker-Content-Digest */
	char *range;     /* Range (upload progress) */
	char *chunk_min; /* OCI-Chunk-Min-Length */
	enum core_err sink_err;
	struct core_errbuf *eb;
	const struct http_req *req;
	CURL *curl;
	size_t read_pos; /* upload position within the body */
};

static void
resp_init(struct http_resp *r, struct core_errbuf *eb, size_t max)
{
	memset(r, 0, sizeof(*r));
	core_buf_init(&r->body, max);
	r->eb = eb;
}

static void
resp_cleanup(struct http_resp *r)
{
	core_buf_cleanup(&r->body);
	free(r->location);
	free(r->www_auth);
	free(r->content_type);
	free(r->dcd);
	free(r->range);
	free(r->chunk_min);
	memset(r, 0, sizeof(*r));
}

void
oci_reg_free(struct oci_registry *r)
{
	if (r == NULL)
		return;
	if (r->curl != NULL)
		curl_easy_cleanup(r->curl);
	free(r->base);
	free(r->user);
	if (r->pass != NULL)
		core_wipe(r->pass, strlen(r->pass));
	free(r->pass);
	if (r->auth != NULL)
		core_wipe(r->auth, strlen(r->auth));
	free(r->auth);
	free(r);
}

enum core_err
oci_reg_new(const struct oci_ref *ref, const struct oci_opts *o,
    struct oci_registry **out, struct core_errbuf *eb)
{
	struct oci_registry *r;
	enum core_err err = CORE_OK;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return CORE_ERR_NOMEM;
	r->ref = ref;
	r->opts = o;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (r->curl = curl_easy_init()) == NULL) {
		err = core_errf(eb, CORE_ERR_INTERNAL, "curl init failed");
		goto out;
	}
	if (o->username != NULL) {
		r->user = strdup(o->username);
		r->pass = strdup(o->password != NULL ? o->password : "");
		if (r->user == NULL || r->pass == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
	} else if (o->authfile != NULL) {
		err = oci_auth_lookup(
		    o->authfile, ref->domain, &r->user, &r->pass, eb);
		if (err == CORE_ERR_NOT_FOUND) {
			core_errbuf_clear(eb);
			err = CORE_OK;
		}
		if (err != CORE_OK)
			goto out;
	}
	*out = r;
	r = NULL;
out:
	oci_reg_free(r);
	return err;
}

/* ---------------- auth file and challenges ---------------- */

enum core_err
oci_auth_lookup(const char *authfile, const char *host, char **user_out,
    char **pass_out, struct core_errbuf *eb)
{
	uint8_t *raw = NULL, *dec = NULL;
	size_t len = 0, declen = 0;
	json_t *root = NULL, *auths, *ent = NULL;
	const char *a = NULL, *k;
	char *colon;
	enum core_err err;
	const char *alts[4];
	size_t i;
	char hb[300];

	*user_out = NULL;
	*pass_out = NULL;
	if ((err = core_fs_read(authfile, REG_AUTHFILE_MAX, &raw, &len, eb)) !=
	    CORE_OK)
		return err;
	if ((err = core_json_parse_object(
	         raw, len, REG_AUTHFILE_MAX, &root, eb)) != CORE_OK) {
		core_errbuf_prefix(eb, "auth file %s", authfile);
		goto out;
	}
	auths = json_object_get(root, "auths");
	snprintf(hb, sizeof(hb), "https://%s", host);
	alts[0] = host;
	alts[1] = hb;
	alts[2] = strcmp(host, "docker.io") == 0 ? "https://index.docker.io/v1/"
	                                         : NULL;
	alts[3] = strcmp(host, "docker.io") == 0 ? "index.docker.io" : NULL;
	for (i = 0; i < 4 && ent == NULL; i++) {
		if (alts[i] != NULL)
			ent = json_object_get(auths, alts[i]);
	}
	if (!json_is_object(ent)) {
		err = CORE_ERR_NOT_FOUND;
		goto out;
	}
	k = "auth";
	if ((err = core_json_get_str(ent, k, true, &a, eb)) != CORE_OK)
		goto out;
	if ((err = core_b64_decode(a, strlen(a), &dec, &declen, eb)) !=
	    CORE_OK) {
		core_errbuf_prefix(eb, "auth file %s: %s", authfile, host);
		goto out;
	}
	if ((colon = memchr(dec, ':', declen)) == NULL) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "auth file %s: entry for %s is not user:password", authfile,
		    host);
		goto out;
	}
	*colon = '\0';
	*user_out = strdup((char *)dec);
	*pass_out = strdup(colon + 1);
	if (*user_out == NULL || *pass_out == NULL) {
		free(*user_out);
		free(*pass_out);
		*user_out = *pass_out = NULL;
		err = CORE_ERR_NOMEM;
	}
out:
	if (dec != NULL)
		core_wipe(dec, declen);
	free(dec);
	free(raw);
	json_decref(root);
	return err;
}

void
oci_challenge_cleanup(struct oci_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

/*
 * scheme SP param=("quoted"|token) *("," param). Quoted values may hold
 * commas and backslash escapes.
 */
enum core_err
oci_challenge_parse(
    const char *hdr, struct oci_challenge *c, struct core_errbuf *eb)
{
	const char *p = hdr;
	size_t n;

	memset(c, 0, sizeof(*c));
	if (hdr == NULL || strlen(hdr) > REG_HDR_MAX)
		return core_errf(eb, CORE_ERR_INVALID,
		    "WWW-Authenticate: missing or too long");
	while (*p == ' ')
		p++;
	n = strcspn(p, " ");
	if (n == 0)
		return core_errf(
		    eb, CORE_ERR_INVALID, "WWW-Authenticate: no scheme");
	if ((c->scheme = strndup(p, n)) == NULL)
		return CORE_ERR_NOMEM;
	p += n;
	for (;;) {
		const char *key;
		size_t klen;
		struct core_buf val;
		char **slot = NULL;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		key = p;
		klen = strcspn(p, "= ,");
		p += klen;
		if (*p != '=') {
			/* token68 or junk: skip to the next comma */
			p += strcspn(p, ",");
			continue;
		}
		p++;
		core_buf_init(&val, REG_HDR_MAX);
		if (*p == '"') {
			p++;
			while (*p != '\0' && *p != '"') {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (core_buf_append(&val, p, 1) != CORE_OK)
					break;
				p++;
			}
			if (*p != '"') {
				core_buf_cleanup(&val);
				oci_challenge_cleanup(c);
				return core_errf(eb, CORE_ERR_INVALID,
				    "WWW-Authenticate: unterminated quote");
			}
			p++;
		} else {
			size_t vl = strcspn(p, ", ");

			core_buf_append(&val, p, vl);
			p += vl;
		}
		if (klen == 5 && strncasecmp(key, "realm", 5) == 0)
			slot = &c->realm;
		else if (klen == 7 && strncasecmp(key, "service", 7) == 0)
			slot = &c->service;
		else if (klen == 5 && strncasecmp(key, "scope", 5) == 0)
			slot = &c->scope;
		if (slot != NULL) {
			free(*slot);
			*slot = val.data != NULL
			    ? (char *)core_buf_steal(&val, NULL)
			    : strdup("");
			if (*slot == NULL) {
				oci_challenge_cleanup(c);
				return CORE_ERR_NOMEM;
			}
		}
		core_buf_cleanup(&val);
	}
	return CORE_OK;
}

/* ---------------- HTTP plumbing ---------------- */

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_resp *r = ud;
	size_t n = size * nmemb;
	long code = 0;

	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300 && r->req->sink != NULL) {
		r->status = code;
		r->sink_err = r->req->sink(r->req->sink_ctx, ptr, n);
		return r->sink_err == CORE_OK ? n : 0;
	}
	if (code >= 300 && code < 400)
		return n; /* redirect bodies are dropped */
	if (core_buf_append(&r->body, ptr, n) != CORE_OK) {
		if (code >= 200 && code < 300) {
			r->sink_err = core_errf(r->eb, CORE_ERR_TOO_BIG,
			    "response body exceeds %zu bytes", r->body.max_len);
			return 0;
		}
		return n; /* error bodies: keep the first part */
	}
	return n;
}

static void
hdr_take(char **slot, const char *v, size_t n)
{
	while (
	    n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	free(*slot);
	*slot = strndup(v, n);
}

static size_t
header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	struct http_resp *r = ud;
	size_t n = size * nitems;
	static const struct {
		const char *name;
		size_t off;
	} want[] = {
	    {"location:", offsetof(struct http_resp, location)},
	    {"www-authenticate:", offsetof(struct http_resp, www_auth)},
	    {"content-type:", offsetof(struct http_resp, content_type)},
	    {"docker-content-digest:", offsetof(struct http_resp, dcd)},
	    {"range:", offsetof(struct http_resp, range)},
	    {"oci-chunk-min-length:", offsetof(struct http_resp, chunk_min)},
	};
	size_t i;

	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* a new response (redirect or 100): forget old headers */
		free(r->www_auth);
		free(r->content_type);
		free(r->dcd);
		free(r->range);
		free(r->chunk_min);
		r->www_auth = r->content_type = r->dcd = NULL;
		r->range = r->chunk_min = NULL;
		return n;
	}
	for (i = 0; i < CORE_ARRAY_LEN(want); i++) {
		size_t kl = strlen(want[i].name);

		if (n > kl && strncasecmp(buf, want[i].name, kl) == 0) {
			const char *v = buf + kl;
			size_t vl = n - kl;

			while (vl > 0 && (*v == ' ' || *v == '\t')) {
				v++;
				vl--;
			}
			hdr_take((char **)((char *)r + want[i].off), v, vl);
		}
	}
	return n;
}

static size_t
read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	struct http_resp *r = ud;
	const struct http_req *q = r->req;
	size_t room = size * nitems, left = q->body_len - r->read_pos;
	size_t n = room < left ? room : left;

	if (n == 0)
		return 0;
	if (q->body->fd >= 0) {
		ssize_t got;

		do {
			got = pread(q->body->fd, buf, n,
			    (off_t)(q->body_off + r->read_pos));
		} while (got < 0 && errno == EINTR);
		if (got <= 0)
			return CURL_READFUNC_ABORT;
		n = (size_t)got;
	} else {
		memcpy(buf, q->body->mem + q->body_off + r->read_pos, n);
	}
	r->read_pos += n;
	return n;
}

/* Lets curl rewind the body (redirected or re-sent uploads). */
static int
seek_cb(void *ud, curl_off_t offset, int origin)
{
	struct http_resp *r = ud;

	if (origin != SEEK_SET || offset < 0 ||
	    (size_t)offset > r->req->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	r->read_pos = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

/* Performs one request with the current Authorization. */
static enum core_err
http_do(struct oci_registry *g, const struct http_req *q,
    struct http_resp *resp, struct core_errbuf *eb)
{
	CURL *c = g->curl;
	struct curl_slist *hl = NULL, *t;
	CURLcode cc;
	enum core_err err = CORE_OK;
	struct core_buf ab;
	size_t i;
	long tmo =
	    g->opts->timeout_ms > 0 ? (long)g->opts->timeout_ms : 300000L;

	resp->req = q;
	resp->curl = c;
	resp->read_pos = 0;
	resp->status = 0;
	core_buf_reset(&resp->body);
	core_buf_init(&ab, 0);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, tmo);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "propeller/" PROPELLER_VERSION);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	if (g->opts->tls_verify_off) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (g->opts->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, g->opts->ca_file);
	for (i = 0; q->headers != NULL && q->headers[i] != NULL; i++) {
		if ((t = curl_slist_append(hl, q->headers[i])) == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		hl = t;
	}
	if (g->auth != NULL) {
		if (core_buf_printf(&ab, "Authorization: %s", g->auth) !=
		        CORE_OK ||
		    (t = curl_slist_append(hl, (char *)ab.data)) == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		hl = t;
	}
	if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "PUT") == 0 ||
	    strcmp(q->method, "PATCH") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)(q->body != NULL ? q->body_len : 0));
		if ((t = curl_slist_append(hl, "Expect:")) == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		hl = t;
	} else if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(q->body != NULL ? q->body_len : 0));
		if (q->body == NULL)
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	} else if (strcmp(q->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	}
	if (q->body != NULL) {
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, resp);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, resp);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (resp->sink_err != CORE_OK) {
		err = resp->sink_err;
		goto out;
	}
	if (cc != CURLE_OK) {
		err = core_errf(eb,
		    cc == CURLE_OPERATION_TIMEDOUT ? CORE_ERR_TIMEOUT
		                                   : CORE_ERR_NET,
		    "%s %s: %s", q->method, q->url, curl_easy_strerror(cc));
		goto out;
	}
out:
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	if (ab.data != NULL)
		core_wipe(ab.data, ab.len);
	core_buf_cleanup(&ab);
	return err;
}

/* Builds "CODE: message" from an OCI error body, if any. */
static void
errbody_summary(const struct http_resp *r, char *out, size_t outlen)
{
	json_t *root = NULL, *e0;
	const char *code = NULL, *msg = NULL;

	out[0] = '\0';
	if (r->body.len == 0 ||
	    core_json_parse_object(r->body.data, r->body.len, REG_ERRBODY_MAX,
	        &root, NULL) != CORE_OK)
		return;
	e0 = json_array_get(json_object_get(root, "errors"), 0);
	if (json_is_string(json_object_get(e0, "code")))
		code = json_string_value(json_object_get(e0, "code"));
	if (json_is_string(json_object_get(e0, "message")))
		msg = json_string_value(json_object_get(e0, "message"));
	if (code != NULL || msg != NULL)
		snprintf(out, outlen, ": %s%s%s", code != NULL ? code : "",
		    code != NULL && msg != NULL ? ": " : "",
		    msg != NULL ? msg : "");
	json_decref(root);
}

static enum core_err
status_err(
    const struct http_req *q, const struct http_resp *r, struct core_errbuf *eb)
{
	char sum[256];
	enum core_err kind;

	errbody_summary(r, sum, sizeof(sum));
	switch (r->status) {
	case 401:
	case 403:
		kind = CORE_ERR_AUTH;
		break;
	case 404:
		kind = CORE_ERR_NOT_FOUND;
		break;
	case 416:
		kind = CORE_ERR_STATE;
		break;
	default:
		kind = CORE_ERR_NET;
	}
	return core_errf(eb, kind, "%s %s: HTTP %ld%s%s", q->method, q->url,
	    r->status,
	    r->status == 401       ? " unauthorized"
	        : r->status == 404 ? " not found"
	        : r->status >= 500 ? " server error"
	                           : "",
	    sum);
}

static enum core_err
token_fetch(struct oci_registry *g, const struct oci_challenge *ch,
    const char *scope, struct core_errbuf *eb)
{
	struct core_buf url;
	char *esc = NULL;
	struct http_resp resp;
	struct http_req q;
	json_t *root = NULL;
	const char *tok = NULL;
	enum core_err err = CORE_OK;

	core_buf_init(&url, 0);
	resp_init(&resp, eb, REG_TOKEN_MAX);
	memset(&q, 0, sizeof(q));
	if (ch->realm == NULL ||
	    (strncmp(ch->realm, "https://", 8) != 0 &&
	        strncmp(ch->realm, "http://", 7) != 0)) {
		err = core_errf(eb, CORE_ERR_NET,
		    "registry %s: bearer challenge without an http(s) realm",
		    g->ref->endpoint);
		goto out;
	}
	if (core_buf_append_str(&url, ch->realm) != CORE_OK) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	if (ch->service != NULL) {
		esc = curl_easy_escape(g->curl, ch->service, 0);
		if (esc == NULL ||
		    core_buf_printf(&url, "%sservice=%s",
		        strchr(ch->realm, '?') ? "&" : "?", esc) != CORE_OK) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		curl_free(esc);
		esc = NULL;
	}
	if (scope != NULL) {
		esc = curl_easy_escape(g->curl, scope, 0);
		if (esc == NULL ||
		    core_buf_printf(&url, "%sscope=%s",
		        memchr(url.data, '?', url.len) ? "&" : "?",
		        esc) != CORE_OK) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
	}
	q.method = "GET";
	q.url = (const char *)url.data;
	q.body_max = REG_TOKEN_MAX;
	free(g->auth);
	g->auth = NULL;
	if (g->user != NULL) {
		struct core_buf up;
		char *b64;

		core_buf_init(&up, 0);
		if (core_buf_printf(&up, "%s:%s", g->user, g->pass) !=
		    CORE_OK) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		b64 = core_b64_encode(up.data, up.len);
		core_buf_cleanup_secure(&up);
		if (b64 == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		g->auth = malloc(strlen(b64) + 7);
		if (g->auth != NULL)
			snprintf(g->auth, strlen(b64) + 7, "Basic %s", b64);
		core_wipe(b64, strlen(b64));
		free(b64);
	}
	if ((err = http_do(g, &q, &resp, eb)) != CORE_OK)
		goto out;
	if (resp.status != 200) {
		err = status_err(&q, &resp, eb);
		core_errbuf_prefix(eb, "token");
		goto out;
	}
	if ((err = core_json_parse_object(resp.body.data, resp.body.len,
	         REG_TOKEN_MAX, &root, eb)) != CORE_OK) {
		core_errbuf_prefix(eb, "token response");
		goto out;
	}
	if (json_is_string(json_object_get(root, "token")))
		tok = json_string_value(json_object_get(root, "token"));
	else if (json_is_string(json_object_get(root, "access_token")))
		tok = json_string_value(json_object_get(root, "access_token"));
	if (tok == NULL || *tok == '\0') {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "token response from %s has no token", ch->realm);
		goto out;
	}
	free(g->auth);
	if ((g->auth = malloc(strlen(tok) + 8)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	snprintf(g->auth, strlen(tok) + 8, "Bearer %s", tok);
out:
	if (err != CORE_OK && g->auth != NULL) {
		core_wipe(g->auth, strlen(g->auth));
		free(g->auth);
		g->auth = NULL;
	}
	curl_free(esc);
	json_decref(root);
	core_buf_cleanup(&url);
	resp_cleanup(&resp);
	return err;
}

/* Answers a 401 challenge: sets g->auth for the retry. */
static enum core_err
authenticate(struct oci_registry *g, const char *challenge, bool push,
    struct core_errbuf *eb)
{
	struct oci_challenge ch;
	enum core_err err;
	char scope[600];

	if (challenge == NULL)
		return core_errf(eb, CORE_ERR_AUTH,
		    "registry %s: 401 without a WWW-Authenticate challenge",
		    g->ref->endpoint);
	if ((err = oci_challenge_parse(challenge, &ch, eb)) != CORE_OK)
		return err;
	if (strcasecmp(ch.scheme, "Basic") == 0) {
		struct core_buf up;
		char *b64;

		if (g->user == NULL) {
			err = core_errf(eb, CORE_ERR_AUTH,
			    "registry %s requires credentials (Basic realm); "
			    "give --creds or an auth file",
			    g->ref->endpoint);
			goto out;
		}
		core_buf_init(&up, 0);
		if (core_buf_printf(&up, "%s:%s", g->user, g->pass) !=
		    CORE_OK) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		b64 = core_b64_encode(up.data, up.len);
		core_buf_cleanup_secure(&up);
		free(g->auth);
		g->auth = NULL;
		if (b64 == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		if ((g->auth = malloc(strlen(b64) + 7)) != NULL)
			snprintf(g->auth, strlen(b64) + 7, "Basic %s", b64);
		core_wipe(b64, strlen(b64));
		free(b64);
		err = g->auth != NULL ? CORE_OK : CORE_ERR_NOMEM;
	} else if (strcasecmp(ch.scheme, "Bearer") == 0) {
		snprintf(scope, sizeof(scope), "repository:%s:%s", g->ref->repo,
		    push ? "pull,push" : "pull");
		err = token_fetch(
		    g, &ch, ch.scope != NULL ? ch.scope : scope, eb);
	} else {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "registry %s: unsupported auth scheme \"%s\"",
		    g->ref->endpoint, ch.scheme);
	}
out:
	oci_challenge_cleanup(&ch);
	return err;
}

/* Pings /v2/ once to pick the scheme (https, or http when TLS
 * verification is explicitly off and TLS fails). */
static enum core_err
ping(struct oci_registry *g, struct core_errbuf *eb)
{
	struct http_req q;
	struct http_resp resp;
	char url[600];
	enum core_err err;
	struct core_errbuf tmp;
	int attempt;

	if (g->pinged)
		return CORE_OK;
	memset(&q, 0, sizeof(q));
	resp_init(&resp, eb, REG_ERRBODY_MAX);
	q.method = "GET";
	q.url = url;
	for (attempt = 0; attempt < 2; attempt++) {
		const char *scheme = attempt == 0 ? "https" : "http";

		snprintf(
		    url, sizeof(url), "%s://%s/v2/", scheme, g->ref->endpoint);
		core_errbuf_clear(&tmp);
		err = http_do(g, &q, &resp, &tmp);
		if (err == CORE_OK || attempt == 1 || !g->opts->tls_verify_off)
			break;
	}
	if (err != CORE_OK) {
		core_errf(eb, err, "registry %s: %s", g->ref->endpoint,
		    core_errbuf_msg(&tmp));
		goto out;
	}
	if (resp.status != 200 && resp.status != 401) {
		err = status_err(&q, &resp, eb);
		goto out;
	}
	url[strlen(url) - 4] = '\0';
	if ((g->base = strdup(url)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	g->pinged = true;
out:
	resp_cleanup(&resp);
	return err;
}

/*
 * Runs a request, answering one 401 challenge and retrying. 2xx and 3xx
 * are returned to the caller; others become an error (except statuses the
 * caller lists in ok_extra, e.g. 404 for HEAD).
 */
static enum core_err
request(struct oci_registry *g, const struct http_req *q,
    struct http_resp *resp, bool push, long ok_extra, struct core_errbuf *eb)
{
	enum core_err err;

	if ((err = ping(g, eb)) != CORE_OK)
		return err;
	if ((err = http_do(g, q, resp, eb)) != CORE_OK)
		return err;
	if (resp->status == 401) {
		if ((err = authenticate(g, resp->www_auth, push, eb)) !=
		    CORE_OK)
			return err;
		if ((err = http_do(g, q, resp, eb)) != CORE_OK)
			return err;
	}
	if (resp->status >= 200 && resp->status < 300)
		return CORE_OK;
	if (ok_extra != 0 && resp->status == ok_extra)
		return CORE_OK;
	return status_err(q, resp, eb);
}

static char *
reg_url(struct oci_registry *g, const char *kind, const char *what)
{
	size_t n = strlen(g->base) + strlen(g->ref->repo) + strlen(kind) +
	    strlen(what) + 16;
	char *u = malloc(n);

	if (u != NULL)
		snprintf(
		    u, n, "%s/v2/%s/%s/%s", g->base, g->ref->repo, kind, what);
	return u;
}

enum core_err
oci_reg_get_manifest(struct oci_registry *g, const char *ref, uint8_t **out,
    size_t *len_out, char **ct_out, struct core_errbuf *eb)
{
	static const char *const hdrs[] = {REG_ACCEPT, NULL};
	struct http_req q;
	struct http_resp resp;
	char *url = NULL;
	char got[OCI_DIGEST_LEN + 1];
	enum core_err err;

	*out = NULL;
	*len_out = 0;
	if (ct_out != NULL)
		*ct_out = NULL;
	memset(&q, 0, sizeof(q));
	resp_init(&resp, eb, OCI_MANIFEST_MAX);
	if ((err = ping(g, eb)) != CORE_OK)
		goto out;
	if ((url = reg_url(g, "manifests", ref)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	q.method = "GET";
	q.url = url;
	q.headers = hdrs;
	q.body_max = OCI_MANIFEST_MAX;
	if ((err = request(g, &q, &resp, false, 0, eb)) != CORE_OK) {
		if (err == CORE_ERR_TOO_BIG)
			core_errbuf_prefix(eb, "manifest %s", ref);
		goto out;
	}
	oci_digest_of(resp.body.data != NULL ? (void *)resp.body.data : "",
	    resp.body.len, got);
	if (oci_digest_valid(ref) && strcmp(got, ref) != 0) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "manifest %s: content hashes to %s", ref, got);
		goto out;
	}
	if (resp.dcd != NULL && oci_digest_valid(resp.dcd) &&
	    strcmp(resp.dcd, got) != 0) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "manifest %s: Docker-Content-Digest %s but content hashes "
		    "to %s",
		    ref, resp.dcd, got);
		goto out;
	}
	if (ct_out != NULL && resp.content_type != NULL) {
		*ct_out = resp.content_type;
		resp.content_type = NULL;
	}
	*out = core_buf_steal(&resp.body, len_out);
	if (*out == NULL && (*out = calloc(1, 1)) == NULL)
		err = CORE_ERR_NOMEM;
out:
	free(url);
	resp_cleanup(&resp);
	return err;
}

/*
 * Resumable blob download: counts what reached the sink; a retry asks for
 * "Range: bytes=<got>-" and, if the server ignores it (200), drops the
 * bytes the sink already has.
 */
#define REG_BLOB_ATTEMPTS 3

struct resume {
	oci_sink_fn sink;
	void *ctx;
	uint64_t got;  /* bytes delivered to sink */
	uint64_t skip; /* bytes to drop from a 200 after a retry */
	const struct http_resp *resp;
};

static enum core_err
resume_sink(void *ctx, const void *p, size_t n)
{
	struct resume *r = ctx;
	const uint8_t *b = p;
	enum core_err err;

	if (r->resp->status == 200 && r->skip > 0) {
		size_t k = r->skip < n ? (size_t)r->skip : n;

		r->skip -= k;
		b += k;
		n -= k;
	}
	if (n == 0)
		return CORE_OK;
	if ((err = r->sink(r->ctx, b, n)) == CORE_OK)
		r->got += n;
	return err;
}

enum core_err
oci_reg_get_blob(struct oci_registry *g, const char *digest, oci_sink_fn sink,
    void *ctx, struct core_errbuf *eb)
{
	struct http_req q;
	struct http_resp resp;
	struct resume rs = {sink, ctx, 0, 0, NULL};
	struct core_errbuf tmp;
	char *url = NULL, range[64];
	const char *hdrs[2] = {range, NULL};
	enum core_err err;
	int attempt;

	memset(&q, 0, sizeof(q));
	resp_init(&resp, eb, REG_ERRBODY_MAX);
	rs.resp = &resp;
	if ((err = ping(g, eb)) != CORE_OK)
		goto out;
	if ((url = reg_url(g, "blobs", digest)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	q.method = "GET";
	q.url = url;
	q.sink = resume_sink;
	q.sink_ctx = &rs;
	for (attempt = 0; attempt < REG_BLOB_ATTEMPTS; attempt++) {
		uint64_t before = rs.got;

		q.headers = NULL;
		if (rs.got > 0) {
			snprintf(range, sizeof(range), "Range: bytes=%llu-",
			    (unsigned long long)rs.got);
			q.headers = hdrs;
			rs.skip = rs.got;
		}
		core_errbuf_clear(&tmp);
		resp.eb = &tmp;
		err = request(g, &q, &resp, false, 0, &tmp);
		if (err == CORE_OK && rs.got > 0 && resp.status == 200 &&
		    rs.skip > 0)
			err = core_errf(&tmp, CORE_ERR_NET,
			    "GET %s: resumed response shorter than what was "
			    "already received",
			    url);
		/* Retry only transfer failures that made progress. */
		if (err == CORE_OK || resp.sink_err != CORE_OK ||
		    (err != CORE_ERR_NET && err != CORE_ERR_TIMEOUT) ||
		    rs.got == before)
			break;
	}
	if (err != CORE_OK)
		core_errf(eb, err, "%s", core_errbuf_msg(&tmp));
out:
	free(url);
	resp_cleanup(&resp);
	return err;
}

enum core_err
oci_reg_blob_exists(struct oci_registry *g, const char *digest, bool *exists,
    struct core_errbuf *eb)
{
	struct http_req q;
	struct http_resp resp;
	char *url;
	enum core_err err;

	*exists = false;
	memset(&q, 0, sizeof(q));
	resp_init(&resp, eb, REG_ERRBODY_MAX);
	if ((err = ping(g, eb)) != CORE_OK)
		goto out;
	if ((url = reg_url(g, "blobs", digest)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	q.method = "HEAD";
	q.url = url;
	err = request(g, &q, &resp, true, 404, eb);
	free(url);
	if (err == CORE_OK)
		*exists = resp.status == 200;
out:
	resp_cleanup(&resp);
	return err;
}

/* Makes an absolute URL from a Location header. */
static char *
abs_location(struct oci_registry *g, const char *loc)
{
	size_t n;
	char *u;

	if (loc == NULL)
		return NULL;
	if (strncmp(loc, "http://", 7) == 0 || strncmp(loc, "https://", 8) == 0)
		return strdup(loc);
	n = strlen(g->base) + strlen(loc) + 2;
	if ((u = malloc(n)) != NULL)
		snprintf(
		    u, n, "%s%s%s", g->base, loc[0] == '/' ? "" : "/", loc);
	return u;
}

static char *
with_digest(const char *loc, const char *digest)
{
	size_t n = strlen(loc) + strlen(digest) + 16;
	char *u = malloc(n);

	if (u != NULL)
		snprintf(u, n, "%s%sdigest=%s", loc,
		    strchr(loc, '?') != NULL ? "&" : "?", digest);
	return u;
}

/* "0-<end>" => *next = end + 1 (left alone if unparsable). */
static void
range_end(const char *r, size_t *next)
{
	const char *dash = strchr(r, '-');
	int64_t end;
	char buf[32];
	size_t n;

	if (strncmp(r, "bytes=", 6) == 0)
		r += 6;
	if (dash == NULL || strncmp(r, "0-", 2) != 0)
		return;
	n = strcspn(dash + 1, " \r\n");
	if (n == 0 || n >= sizeof(buf))
		return;
	memcpy(buf, dash + 1, n);
	buf[n] = '\0';
	if (core_parse_int(buf, 0, INT64_MAX - 1, &end) == CORE_OK)
		*next = (size_t)end + 1;
}

/* GET <Location> of an upload session: 204 with Range and Location. */
static enum core_err
upload_status(
    struct oci_registry *g, char **loc, size_t *off, struct core_errbuf *eb)
{
	struct http_req q;
	struct http_resp resp;
	enum core_err err;

	memset(&q, 0, sizeof(q));
	resp_init(&resp, eb, REG_ERRBODY_MAX);
	q.method = "GET";
	q.url = *loc;
	if ((err = request(g, &q, &resp, true, 0, eb)) != CORE_OK)
		goto out;
	*off = 0;
	if (resp.range != NULL)
		range_end(resp.range, off);
	if (resp.location != NULL) {
		char *nl = abs_location(g, resp.location);

		if (nl == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		free(*loc);
		*loc = nl;
	}
out:
	resp_cleanup(&resp);
	return err;
}

enum core_err
oci_reg_put_blob(struct oci_registry *g, const char *digest, int64_t size,
    const struct oci_blob_src *src, size_t chunk_bytes, struct core_errbuf *eb)
{
	static const char *const octet[] = {
	    "Content-Type: application/octet-stream", NULL};
	struct http_req q;
	struct http_resp resp;
	char *url = NULL, *loc = NULL, *put = NULL;
	enum core_err err;
	size_t off = 0;

	memset(&q, 0, sizeof(q));
	resp_init(&resp, eb, REG_ERRBODY_MAX);
	if ((err = ping(g, eb)) != CORE_OK)
		goto out;
	if ((url = reg_url(g, "blobs", "uploads/")) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	q.method = "POST";
	q.url = url;
	if ((err = request(g, &q, &resp, true, 0, eb)) != CORE_OK)
		goto out;
	if (resp.status != 202 ||
	    (loc = abs_location(g, resp.location)) == NULL) {
		err = core_errf(eb, CORE_ERR_NET,
		    "POST %s: expected 202 with Location, got %ld", url,
		    resp.status);
		goto out;
	}
	if (chunk_bytes > 0 && resp.chunk_min != NULL) {
		int64_t mn;

		if (core_parse_int(resp.chunk_min, 1, 1 << 30, &mn) ==
		        CORE_OK &&
		    (size_t)mn > chunk_bytes)
			chunk_bytes = (size_t)mn;
	}
	if (chunk_bytes > 0) {
		int resyncs = 0;

		while (off < (size_t)size) {
			size_t n = (size_t)size - off;
			char range[80];
			const char *hdrs[3];

			if (n > chunk_bytes)
				n = chunk_bytes;
			snprintf(range, sizeof(range), "Content-Range: %zu-%zu",
			    off, off + n - 1);
			hdrs[0] = octet[0];
			hdrs[1] = range;
			hdrs[2] = NULL;
			memset(&q, 0, sizeof(q));
			q.method = "PATCH";
			q.url = loc;
			q.headers = hdrs;
			q.body = src;
			q.body_off = off;
			q.body_len = n;
			if ((err = request(g, &q, &resp, true, 416, eb)) !=
			    CORE_OK)
				goto out;
			if (resp.status == 416) {
				/* Out of order: ask where the session is. */
				if (++resyncs > 3) {
					err = core_errf(eb, CORE_ERR_NET,
					    "PATCH %s: repeated 416", loc);
					goto out;
				}
				if ((err = upload_status(g, &loc, &off, eb)) !=
				    CORE_OK)
					goto out;
				continue;
			}
			if (resp.status != 202 || resp.location == NULL) {
				err = core_errf(eb, CORE_ERR_NET,
				    "PATCH chunk at %zu: expected 202 with "
				    "Location, got %ld",
				    off, resp.status);
				goto out;
			}
			free(loc);
			if ((loc = abs_location(g, resp.location)) == NULL) {
				err = CORE_ERR_NOMEM;
				goto out;
			}
			off += n;
			if (resp.range != NULL)
				range_end(resp.range, &off);
		}
	}
	if ((put = with_digest(loc, digest)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	memset(&q, 0, sizeof(q));
	q.method = "PUT";
	q.url = put;
	q.headers = octet;
	if (off < (size_t)size) {
		q.body = src;
		q.body_off = off;
		q.body_len = (size_t)size - off;
	}
	if ((err = request(g, &q, &resp, true, 0, eb)) != CORE_OK)
		goto out;
	if (resp.status != 201) {
		err = core_errf(eb, CORE_ERR_NET,
		    "PUT blob %s: expected 201, got %ld", digest, resp.status);
		goto out;
	}
out:
	if (err != CORE_OK && loc != NULL) {
		/* Best effort: cancel the upload session. */
		struct http_resp dr;

		memset(&q, 0, sizeof(q));
		q.method = "DELETE";
		q.url = loc;
		resp_init(&dr, NULL, REG_ERRBODY_MAX);
		(void)http_do(g, &q, &dr, NULL);
		resp_cleanup(&dr);
	}
	free(url);
	free(loc);
	free(put);
	resp_cleanup(&resp);
	return err;
}

enum core_err
oci_reg_put_manifest(struct oci_registry *g, const char *ref, const void *p,
    size_t n, const char *mt, struct core_errbuf *eb)
{
	struct http_req q;
	struct http_resp resp;
	struct oci_blob_src src = {-1, p, n};
	char ct[200];
	const char *hdrs[2];
	char *url = NULL;
	char dg[OCI_DIGEST_LEN + 1];
	enum core_err err;

	memset(&q, 0, sizeof(q));
	resp_init(&resp, eb, REG_ERRBODY_MAX);
	if ((err = ping(g, eb)) != CORE_OK)
		goto out;
	if ((url = reg_url(g, "manifests", ref)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	snprintf(ct, sizeof(ct), "Content-Type: %s",
	    mt != NULL ? mt : OCI_MT_MANIFEST);
	hdrs[0] = ct;
	hdrs[1] = NULL;
	q.method = "PUT";
	q.url = url;
	q.headers = hdrs;
	q.body = &src;
	q.body_len = n;
	if ((err = request(g, &q, &resp, true, 0, eb)) != CORE_OK)
		goto out;
	oci_digest_of(p, n, dg);
	if (resp.dcd != NULL && oci_digest_valid(resp.dcd) &&
	    strcmp(resp.dcd, dg) != 0) {
		err = core_errf(eb, CORE_ERR_NET,
		    "PUT manifest %s: registry stored %s, we sent %s", ref,
		    resp.dcd, dg);
		goto out;
	}
out:
	free(url);
	resp_cleanup(&resp);
	return err;
}
