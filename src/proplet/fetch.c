/*
 * fetch.c -- obtaining a plain module: an http(s) URL, or a registry pull
 * of a wasm-to-oci artifact (digest-verified; an encrypted layer is
 * refused); and reading a task's cli_args.
 */
#include "proplet/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "oci/oci.h"
#include "ocicrypt/ocicrypt.h"

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

enum core_err
proplet_http_get(const char *url, uint8_t **out, size_t *len,
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

enum core_err
proplet_registry_pull(const struct proplet_config *cfg, const char *image_url,
    uint8_t **out, size_t *len, struct core_errbuf *eb)
{
	struct oci_opts o = {
		.username = cfg->registry_username,
		.password = cfg->registry_password,
		.authfile = cfg->registry_authfile,
		.tls_verify_off = cfg->registry_insecure,
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

static enum core_err
push_env(struct proplet_invocation *inv, const char *kv, struct core_errbuf *eb)
{
	char **nv;

	if (strchr(kv, '=') == NULL || kv[0] == '=')
		return core_errf(eb, CORE_ERR_INVALID,
		    "cli_args: --env expects K=V (got \"%s\")", kv);
	if ((nv = realloc(inv->env, (inv->nenv + 1) * sizeof(*nv))) == NULL)
		return CORE_ERR_NOMEM;
	inv->env = nv;
	if ((inv->env[inv->nenv] = strdup(kv)) == NULL)
		return CORE_ERR_NOMEM;
	inv->nenv++;
	return CORE_OK;
}

enum core_err
proplet_invocation_parse(const struct mqtt_strv *cli_args,
    struct proplet_invocation *inv, struct core_errbuf *eb)
{
	enum core_err err;
	size_t i;

	memset(inv, 0, sizeof(*inv));
	for (i = 0; cli_args != NULL && i < cli_args->n; i++) {
		const char *a = cli_args->v[i];
		const char *val = NULL;

		inv->cli_style = true;
		if (strcmp(a, "--invoke") == 0 || strcmp(a, "--env") == 0) {
			if (i + 1 >= cli_args->n)
				return core_errf(eb, CORE_ERR_INVALID,
				    "cli_args: %s needs a value", a);
			val = cli_args->v[++i];
		} else if (strncmp(a, "--invoke=", 9) == 0 ||
		    strncmp(a, "--env=", 6) == 0) {
			val = strchr(a, '=') + 1;
		} else {
			return core_errf(eb, CORE_ERR_INVALID,
			    "cli_args: unsupported argument \"%s\" (only --invoke "
			    "and --env are accepted; --dir would expose host paths)",
			    a);
		}
		if (strncmp(a, "--invoke", 8) == 0) {
			if (*val == '\0' || strchr(val, '(') != NULL)
				return core_errf(eb, CORE_ERR_INVALID,
				    "cli_args: bad --invoke value \"%s\"", val);
			free(inv->invoke);
			if ((inv->invoke = strdup(val)) == NULL)
				return CORE_ERR_NOMEM;
		} else if ((err = push_env(inv, val, eb)) != CORE_OK) {
			return err;
		}
	}
	return CORE_OK;
}

void
proplet_invocation_cleanup(struct proplet_invocation *inv)
{
	size_t i;

	if (inv == NULL)
		return;
	free(inv->invoke);
	for (i = 0; i < inv->nenv; i++)
		free(inv->env[i]);
	free(inv->env);
	memset(inv, 0, sizeof(*inv));
}
