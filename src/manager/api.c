/*
 * api.c -- routing of the manager HTTP API (spec §3), independent of the
 * HTTP library: one request in, one status + JSON body out.
 */
#include "manager/manager.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_QUERY_MAX 8192
#define API_ID_LEN CORE_UUID_STR_LEN

static void resp_json(struct manager_api_resp *r, int status, json_t *v);
static void resp_error(struct manager_api_resp *r, int status,
    const char *msg);
STATIC int api_status(enum core_err err);
STATIC enum core_err api_query_get(const char *query, const char *key,
    char **out, struct core_errbuf *eb);
STATIC enum core_err api_paging(const char *query, int64_t max_limit,
    int64_t *offset, int64_t *limit, struct core_errbuf *eb);

void
manager_api_resp_cleanup(struct manager_api_resp *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

static void
resp_json(struct manager_api_resp *r, int status, json_t *v)
{
	r->status = status;
	r->content_type = "application/json";
	free(r->body);
	r->body = v != NULL ? core_json_dumps(v) : NULL;
	r->body_len = r->body != NULL ? strlen(r->body) : 0;
	json_decref(v);
	if (v != NULL && r->body == NULL) {
		r->status = 500;
		r->body = strdup("{\"error\":\"out of memory\"}");
		r->body_len = r->body != NULL ? strlen(r->body) : 0;
	}
}

static void
resp_error(struct manager_api_resp *r, int status, const char *msg)
{
	resp_json(r, status, json_pack("{ss}", "error",
	    msg != NULL && *msg != '\0' ? msg : "internal error"));
}

STATIC int
api_status(enum core_err err)
{
	switch (err) {
	case CORE_OK: return 200;
	case CORE_ERR_INVALID: return 400;
	case CORE_ERR_TOO_BIG: return 413;
	case CORE_ERR_NOT_FOUND: return 404;
	case CORE_ERR_EXISTS: case CORE_ERR_STATE: return 409;
	default: return 500;
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Finds key in an application/x-www-form-urlencoded query and decodes its
 * value into *out (malloc'd; NULL when absent). */
STATIC enum core_err
api_query_get(const char *query, const char *key, char **out,
    struct core_errbuf *eb)
{
	const char *p, *amp, *eq;
	size_t klen = strlen(key), i, vlen;
	char *v, *w;
	int hi, lo;

	*out = NULL;
	if (query == NULL)
		return CORE_OK;
	if (strlen(query) > API_QUERY_MAX)
		return core_errf(eb, CORE_ERR_INVALID, "query string too long");
	for (p = query; *p != '\0'; p = *amp != '\0' ? amp + 1 : amp) {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		if ((size_t)((eq != NULL ? eq : amp) - p) != klen ||
		    strncmp(p, key, klen) != 0)
			continue;
		if (eq == NULL)
			eq = amp - 1; /* key without '=': empty value */
		vlen = (size_t)(amp - eq - 1);
		v = malloc(vlen + 1);
		if (v == NULL)
			return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
		for (i = 0, w = v; i < vlen; i++) {
			char c = eq[1 + i];

			if (c == '+') {
				*w++ = ' ';
			} else if (c == '%') {
				if (i + 2 >= vlen ||
				    (hi = hexval((unsigned char)eq[2 + i])) < 0 ||
				    (lo = hexval((unsigned char)eq[3 + i])) < 0 ||
				    (hi == 0 && lo == 0)) {
					free(v);
					return core_errf(eb, CORE_ERR_INVALID,
					    "bad percent-encoding in query "
					    "parameter %s", key);
				}
				*w++ = (char)(hi * 16 + lo);
				i += 2;
			} else {
				*w++ = c;
			}
		}
		*w = '\0';
		*out = v;
		return CORE_OK;
	}
	return CORE_OK;
}

STATIC enum core_err
api_paging(const char *query, int64_t max_limit, int64_t *offset,
    int64_t *limit, struct core_errbuf *eb)
{
	char *s = NULL;
	enum core_err err;

	*offset = 0;
	*limit = 100;
	err = api_query_get(query, "offset", &s, eb);
	if (err == CORE_OK && s != NULL &&
	    core_parse_int(s, 0, INT32_MAX, offset) != CORE_OK)
		err = core_errf(eb, CORE_ERR_INVALID,
		    "offset must be a non-negative integer (got \"%.32s\")", s);
	free(s);
	s = NULL;
	if (err == CORE_OK)
		err = api_query_get(query, "limit", &s, eb);
	if (err == CORE_OK && s != NULL &&
	    core_parse_int(s, 1, max_limit, limit) != CORE_OK)
		err = core_errf(eb, CORE_ERR_INVALID,
		    "limit must be an integer from 1 to %lld (got \"%.32s\")",
		    (long long)max_limit, s);
	free(s);
	return err;
}

/* Splits "/a/b/c" into at most 4 segments (borrowed copies in buf). */
static size_t
api_split(const char *path, char *buf, size_t buflen, char *seg[4])
{
	size_t n = 0;
	char *p, *save = NULL;

	if (strlen(path) >= buflen)
		return 0;
	memcpy(buf, path, strlen(path) + 1);
	for (p = strtok_r(buf, "/", &save); p != NULL;
	    p = strtok_r(NULL, "/", &save)) {
		if (n == 4)
			return 5;
		seg[n++] = p;
	}
	return n;
}

static bool
api_json_ct(const char *ct)
{
	return ct != NULL && strstr(ct, "application/json") != NULL;
}

static bool
api_authorized(const struct manager_config *cfg, const char *auth)
{
	size_t n;

	if (cfg->api_token == NULL)
		return true;
	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0)
		return false;
	auth += 7;
	n = strlen(cfg->api_token);
	return strlen(auth) == n && core_ct_equal(auth, cfg->api_token, n);
}

static void
api_health(const struct manager_config *cfg, struct manager_api_resp *r)
{
	resp_json(r, 200, json_pack("{ss,ss,ss,ss,ss,ss}", "status", "pass",
	    "version", PROPELLER_VERSION, "commit", "unknown",
	    "description", "manager service", "build_time", __DATE__,
	    "instance_id", cfg->instance_id != NULL ? cfg->instance_id : ""));
}

static void
api_metrics(struct manager_service *svc, struct manager_api_resp *r)
{
	struct core_buf b;

	core_buf_init(&b, 4 * 1024 * 1024);
	if (manager_service_metrics(svc, &b) != CORE_OK) {
		core_buf_cleanup(&b);
		resp_error(r, 500, "metrics unavailable");
		return;
	}
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4";
	r->body = (char *)core_buf_steal(&b, &r->body_len);
}

/* Parses a JSON task body after the Content-Type check. */
static bool
api_task_body(const struct manager_api_req *req, struct manager_api_resp *r,
    json_t **task)
{
	struct core_errbuf eb;
	enum core_err err;

	core_errbuf_clear(&eb);
	if (!api_json_ct(req->content_type)) {
		resp_error(r, 400, "unsupported content type: expected "
		    "application/json");
		return false;
	}
	err = manager_task_parse(req->body, req->body_len, task, &eb);
	if (err != CORE_OK) {
		resp_error(r, api_status(err), core_errbuf_msg(&eb));
		return false;
	}
	return true;
}

static void
api_tasks(struct manager_service *svc, const struct manager_api_req *req,
    struct manager_api_resp *r, char **seg, size_t nseg)
{
	struct core_errbuf eb;
	const char *m = req->method, *id = nseg > 1 ? seg[1] : NULL;
	json_t *body = NULL, *out = NULL, *filter = NULL;
	char *mdq = NULL;
	int64_t off, lim;
	enum core_err err;

	core_errbuf_clear(&eb);
	if (id != NULL && !core_uuid_valid(id)) {
		resp_error(r, 400, "invalid task id: must be a UUID");
		return;
	}
	if (nseg == 1 && strcmp(m, "POST") == 0) {
		if (!api_task_body(req, r, &body))
			return;
		err = manager_task_create(svc, body, &out, &eb);
		json_decref(body);
		if (err == CORE_OK) {
			snprintf(r->location, sizeof(r->location), "/tasks/%s",
			    json_string_value(json_object_get(out, "id")));
			resp_json(r, 201, out);
			return;
		}
	} else if (nseg == 1 && strcmp(m, "GET") == 0) {
		err = api_paging(req->query, 100, &off, &lim, &eb);
		if (err == CORE_OK)
			err = api_query_get(req->query, "metadata", &mdq, &eb);
		if (err == CORE_OK && mdq != NULL && *mdq != '\0' &&
		    core_json_parse_object(mdq, strlen(mdq), 0, &filter, &eb) !=
		    CORE_OK) {
			core_errbuf_prefix(&eb, "metadata filter must be a JSON "
			    "object");
			err = CORE_ERR_INVALID;
		}
		free(mdq);
		if (err == CORE_OK)
			err = manager_task_list(svc, off, lim, filter, &out, &eb);
		json_decref(filter);
	} else if (nseg == 2 && strcmp(m, "GET") == 0) {
		err = manager_task_get(svc, id, &out, &eb);
	} else if (nseg == 2 && strcmp(m, "PUT") == 0) {
		if (!api_task_body(req, r, &body))
			return;
		err = manager_task_update(svc, id, body, &out, &eb);
		json_decref(body);
	} else if (nseg == 2 && strcmp(m, "DELETE") == 0) {
		err = manager_task_delete(svc, id, &eb);
		if (err == CORE_OK) {
			resp_json(r, 204, NULL);
			return;
		}
	} else if (nseg == 3 && strcmp(seg[2], "start") == 0 &&
	    strcmp(m, "POST") == 0) {
		err = manager_task_start(svc, id, &eb);
		if (err == CORE_OK)
			out = json_pack("{sb}", "started", 1);
	} else if (nseg == 3 && strcmp(seg[2], "stop") == 0 &&
	    strcmp(m, "POST") == 0) {
		err = manager_task_stop(svc, id, &eb);
		if (err == CORE_OK)
			out = json_pack("{sb}", "stopped", 1);
	} else if (nseg == 3 && strcmp(seg[2], "results") == 0 &&
	    strcmp(m, "GET") == 0) {
		err = manager_task_results(svc, id, &out, &eb);
		if (err == CORE_OK && out == NULL) {
			resp_json(r, 200, NULL);  /* empty body for null */
			return;
		}
		if (err == CORE_OK)
			out = json_pack("{so}", "results", out);
	} else if (nseg == 3 && (strcmp(seg[2], "invoke") == 0 ||
	    strcmp(seg[2], "upload") == 0 || strcmp(seg[2], "metrics") == 0)) {
		resp_error(r, 501, "not implemented by this manager");
		return;
	} else {
		resp_error(r, nseg <= 3 ? 405 : 404, nseg <= 3 ?
		    "method not allowed" : "not found");
		return;
	}
	if (err != CORE_OK)
		resp_error(r, api_status(err), core_errbuf_msg(&eb));
	else
		resp_json(r, 200, out);
}

static void
api_proplets(struct manager_service *svc, const struct manager_api_req *req,
    struct manager_api_resp *r, char **seg, size_t nseg)
{
	struct core_errbuf eb;
	const char *m = req->method, *id = nseg > 1 ? seg[1] : NULL;
	json_t *out = NULL;
	char *status = NULL;
	int64_t off, lim;
	enum core_err err;

	core_errbuf_clear(&eb);
	if (id != NULL && !core_uuid_valid(id)) {
		resp_error(r, 400, "invalid proplet id: must be a UUID");
		return;
	}
	if (nseg == 1 && strcmp(m, "GET") == 0) {
		err = api_paging(req->query, 1000, &off, &lim, &eb);
		if (err == CORE_OK)
			err = api_query_get(req->query, "status", &status, &eb);
		if (err == CORE_OK)
			err = manager_proplet_list(svc, off, lim,
			    status != NULL && *status != '\0' ? status : NULL,
			    &out, &eb);
		free(status);
	} else if (nseg == 2 && strcmp(m, "GET") == 0) {
		err = manager_proplet_get(svc, id, &out, &eb);
	} else if (nseg == 2 && strcmp(m, "DELETE") == 0) {
		err = manager_proplet_delete(svc, id, &eb);
		if (err == CORE_OK) {
			resp_json(r, 204, NULL);
			return;
		}
	} else if (nseg == 3 && strcmp(seg[2], "alive-history") == 0 &&
	    strcmp(m, "GET") == 0) {
		err = api_paging(req->query, 1000, &off, &lim, &eb);
		if (err == CORE_OK)
			err = manager_proplet_alive_history(svc, id, off, lim,
			    &out, &eb);
	} else if (nseg == 3 && (strcmp(seg[2], "sdf") == 0 ||
	    strcmp(seg[2], "metrics") == 0)) {
		resp_error(r, 501, "not implemented by this manager");
		return;
	} else {
		resp_error(r, nseg <= 3 ? 405 : 404, nseg <= 3 ?
		    "method not allowed" : "not found");
		return;
	}
	if (err != CORE_OK)
		resp_error(r, api_status(err), core_errbuf_msg(&eb));
	else
		resp_json(r, 200, out);
}

void
manager_api_handle(struct manager_service *svc,
    const struct manager_config *cfg, const struct manager_api_req *req,
    struct manager_api_resp *resp)
{
	char buf[512], *seg[4];
	size_t nseg;

	memset(resp, 0, sizeof(*resp));
	if (req->method == NULL || req->path == NULL) {
		resp_error(resp, 400, "bad request");
		return;
	}
	if (strcmp(req->path, "/health") == 0) {
		if (strcmp(req->method, "GET") != 0)
			resp_error(resp, 405, "method not allowed");
		else
			api_health(cfg, resp);
		return;
	}
	if (strcmp(req->path, "/metrics") == 0) {
		if (strcmp(req->method, "GET") != 0)
			resp_error(resp, 405, "method not allowed");
		else
			api_metrics(svc, resp);
		return;
	}
	if (!api_authorized(cfg, req->authorization)) {
		resp_error(resp, 401, "missing or invalid bearer token");
		return;
	}
	nseg = api_split(req->path, buf, sizeof(buf), seg);
	if (nseg == 0 || nseg > 4) {
		resp_error(resp, 404, "not found");
		return;
	}
	if (strcmp(seg[0], "tasks") == 0)
		api_tasks(svc, req, resp, seg, nseg);
	else if (strcmp(seg[0], "proplets") == 0)
		api_proplets(svc, req, resp, seg, nseg);
	else if (strcmp(seg[0], "jobs") == 0 ||
	    strcmp(seg[0], "workflows") == 0 || strcmp(seg[0], "fl") == 0)
		resp_error(resp, 501, "not implemented by this manager");
	else
		resp_error(resp, 404, "not found");
}
