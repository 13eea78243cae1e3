/*
 * client.c -- a small libcurl client for the manager API (the CLI's side).
 */
#include "manager/manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

static size_t
client_write(char *p, size_t size, size_t n, void *arg)
{
	struct core_buf *b = arg;

	if (core_buf_append(b, p, size * n) != CORE_OK)
		return 0;  /* aborts the transfer: too big */
	return size * n;
}

enum core_err
manager_client_call(const char *base_url, const char *token, bool insecure,
    const char *method, const char *path, const char *body,
    struct manager_client_resp *resp, struct core_errbuf *eb)
{
	struct curl_slist *hdrs = NULL;
	struct core_buf b, url, auth;
	enum core_err err = CORE_OK;
	CURLcode rc;
	CURL *c;
	size_t blen;

	memset(resp, 0, sizeof(*resp));
	core_buf_init(&b, MANAGER_CLIENT_MAX_RESPONSE);
	core_buf_init(&url, 8192);
	core_buf_init(&auth, 8192);
	blen = strlen(base_url);
	while (blen > 0 && base_url[blen - 1] == '/')
		blen--;
	if (strncmp(base_url, "http://", 7) != 0 &&
	    strncmp(base_url, "https://", 8) != 0)
		return core_errf(eb, CORE_ERR_INVALID, "manager URL must start "
		    "with http:// or https:// (got \"%s\")", base_url);
	if (core_buf_append(&url, base_url, blen) != CORE_OK ||
	    core_buf_append_str(&url, path) != CORE_OK) {
		err = core_errf(eb, CORE_ERR_TOO_BIG, "URL too long");
		goto out;
	}
	c = curl_easy_init();
	if (c == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "curl_easy_init failed");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, (const char *)url.data);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, client_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (body != NULL) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body));
	}
	if (token != NULL && *token != '\0') {
		core_buf_printf(&auth, "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, (const char *)auth.data);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		err = core_errf(eb, rc == CURLE_WRITE_ERROR ? CORE_ERR_TOO_BIG :
		    CORE_ERR_NET, "%s %s: %s", method, (const char *)url.data,
		    curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
		if (b.data == NULL)
			core_buf_append(&b, "", 0);
		resp->body = (char *)core_buf_steal(&b, &resp->len);
		if (resp->body == NULL)
			resp->body = strdup("");
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
out:
	core_buf_cleanup(&b);
	core_buf_cleanup(&url);
	core_buf_cleanup_secure(&auth);
	return err;
}

void
manager_client_resp_cleanup(struct manager_client_resp *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

enum core_err
manager_client_json(const char *base_url, const char *token, bool insecure,
    const char *method, const char *path, const char *body, json_t **out,
    struct core_errbuf *eb)
{
	struct manager_client_resp r;
	struct core_errbuf peb;
	enum core_err err;
	json_t *j = NULL;
	const char *msg;

	*out = NULL;
	err = manager_client_call(base_url, token, insecure, method, path, body,
	    &r, eb);
	if (err != CORE_OK)
		return err;
	if (r.len > 0 && core_json_parse(r.body, r.len,
	    MANAGER_CLIENT_MAX_RESPONSE, &j, &peb) != CORE_OK)
		j = NULL;
	if (r.status < 200 || r.status > 299) {
		msg = json_string_value(json_object_get(j, "error"));
		err = r.status == 400 ? CORE_ERR_INVALID :
		    r.status == 401 ? CORE_ERR_AUTH :
		    r.status == 404 ? CORE_ERR_NOT_FOUND :
		    r.status == 409 ? CORE_ERR_STATE : CORE_ERR_NET;
		core_errf(eb, err, "HTTP %ld: %.400s", r.status, msg != NULL ?
		    msg : (r.len > 0 ? r.body : "(no body)"));
		json_decref(j);
	} else if (r.len > 0 && j == NULL) {
		err = core_errf(eb, CORE_ERR_NET,
		    "manager answered HTTP %ld with a body that is not JSON",
		    r.status);
	} else {
		*out = j;
	}
	manager_client_resp_cleanup(&r);
	return err;
}
