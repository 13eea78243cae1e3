/*
 * fetch_work.c -- the plain fetches of the fetch helper (proplet-fetch):
 * an http(s) URL, or a registry pull of a wasm-to-oci artifact
 * (digest-verified; an encrypted layer is refused). The module is written
 * into the memfd the daemon passed; the encrypted pipeline is encrypted.c.
 */
#include "proplet/fetch_helper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "oci/oci.h"
#include "ocicrypt/ocicrypt.h"
#include "proplet/internal.h"

#define HTTP_TIMEOUT_S 120L

struct http_sink {
	struct core_buf buf;
	bool too_big;
};

static size_t
http_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_sink *s = arg;
	size_t n = size * nmemb;

	if (core_buf_append(&s->buf, p, n) != CORE_OK) {
		s->too_big = true;
		return 0; /* aborts the transfer */
	}
	return n;
}

static enum core_err
http_get(const char *url, uint8_t **out, size_t *len,
    struct core_errbuf *eb)
{
	struct http_sink s;
	char curl_err[CURL_ERROR_SIZE] = "";
	enum core_err err = CORE_OK;
	const char *ct = NULL;
	long status = 0;
	CURLcode rc;
	CURL *h;

	*out = NULL;
	*len = 0;
	core_buf_init(&s.buf, PROPLET_MODULE_MAX);
	s.too_big = false;
	if ((h = curl_easy_init()) == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "http: curl init failed");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, HTTP_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
	rc = curl_easy_perform(h);
	if (s.too_big) {
		err = core_errf(eb, CORE_ERR_TOO_BIG,
		    "GET %s: module larger than %u bytes", url, PROPLET_MODULE_MAX);
		goto out;
	}
	if (rc != CURLE_OK) {
		err = core_errf(eb, CORE_ERR_NET, "GET %s: %s", url,
		    curl_err[0] != '\0' ? curl_err : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		err = core_errf(eb, CORE_ERR_NET, "GET %s: HTTP status %ld", url,
		    status);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
	if (ct != NULL && *ct != '\0' &&
	    strncasecmp(ct, "application/wasm", 16) != 0 &&
	    strncasecmp(ct, "application/octet-stream", 24) != 0) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "GET %s: unexpected Content-Type \"%s\"", url, ct);
		goto out;
	}
	*out = core_buf_steal(&s.buf, len);
	if (*out == NULL)
		err = CORE_ERR_NOMEM;
out:
	curl_easy_cleanup(h);
	core_buf_cleanup(&s.buf);
	return err;
}

static enum core_err
registry_pull(const struct proplet_fetch_req *r, const char *image_url,
    uint8_t **out, size_t *len, struct core_errbuf *eb)
{
	struct oci_opts o = {
		.username = r->registry_username,
		.password = r->registry_password,
		.authfile = r->registry_authfile,
		.tls_verify_off = r->registry_insecure,
	};
	/* No keys: an encrypted layer is refused, a plain one verified. */
	struct ocicrypt_keys none = { 0 };
	enum core_err err;
	char *spec;
	size_t n = strlen(image_url) + 10;

	*out = NULL;
	*len = 0;
	if ((spec = malloc(n)) == NULL)
		return CORE_ERR_NOMEM;
	snprintf(spec, n, "docker://%s", image_url);
	err = ocicrypt_pull_module(spec, &o, &none, PROPLET_MODULE_MAX, out, len,
	    eb);
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "pull %s", image_url);
	free(spec);
	return err;
}

enum core_err
proplet_fetch_work(const struct proplet_fetch_req *r, int memfd, size_t *len,
    struct core_errbuf *eb)
{
	uint8_t *module = NULL;
	enum core_err err;
	size_t n = 0;

	*len = 0;
	switch (r->op) {
	case PROPLET_FETCH_OP_HTTP:
		if (strncmp(r->url, "http://", 7) != 0 &&
		    strncmp(r->url, "https://", 8) != 0)
			return core_errf(eb, CORE_ERR_INVALID,
			    "not an http(s) URL: %s", r->url);
		err = http_get(r->url, &module, &n, eb);
		break;
	case PROPLET_FETCH_OP_PULL:
		err = registry_pull(r, r->url, &module, &n, eb);
		break;
	case PROPLET_FETCH_OP_ENCRYPTED:
		return proplet_fetch_work_encrypted(r, memfd, len, eb);
	default:
		return core_errf(eb, CORE_ERR_INVALID, "fetch: unknown op %d",
		    (int)r->op);
	}
	if (err != CORE_OK)
		goto out;
	if (core_write_all(memfd, module, n) != CORE_OK) {
		err = core_errf_errno(eb, CORE_ERR_IO, "memfd write");
		goto out;
	}
	*len = n;
out:
	free(module);
	return err;
}
