/*
 * http.c -- the libmicrohttpd listener in front of manager_api_handle():
 * collects the raw URI, headers and a bounded body, then answers.
 *
 * A fixed pool of threads, each with its own epoll set, serves every
 * connection (keep-alive included); a request's handler runs on its
 * connection's thread, so handlers never wait on the network.
 */
#include "manager/manager.h"

#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#define HTTP_URI_MAX 8192
#define HTTP_MAX_CONNECTIONS 1024
#define HTTP_MIN_THREADS 4  /* pool threads, at least; else 2 per CPU */

struct manager_http {
	struct MHD_Daemon *d;                /* owned */
	const struct manager_config *cfg;    /* borrowed from the daemon */
	struct manager_service *svc;         /* borrowed from the daemon */
	uint8_t *tls_key, *tls_cert;         /* owned; key wiped on stop */
	size_t tls_key_len, tls_cert_len;
	int port;
};

struct http_conn {
	char *uri;             /* owned raw request URI */
	struct core_buf body;  /* bounded by MANAGER_BODY_MAX */
	bool too_big;
	bool headers_seen;     /* the first handler call has happened */
};

static void *
http_uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct http_conn *hc;

	(void)cls;
	(void)c;
	hc = calloc(1, sizeof(*hc));
	if (hc == NULL)
		return NULL;
	hc->uri = strndup(uri != NULL ? uri : "/", HTTP_URI_MAX);
	core_buf_init(&hc->body, MANAGER_BODY_MAX);
	return hc;
}

static void
http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_conn *hc = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (hc == NULL)
		return;
	free(hc->uri);
	core_buf_cleanup(&hc->body);
	free(hc);
	*con_cls = NULL;
}

static enum MHD_Result
http_send(struct MHD_Connection *c, const struct manager_api_resp *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(r->body_len,
	    r->body != NULL ? r->body : (void *)"", MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (r->body != NULL && r->content_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    r->content_type);
	if (r->location[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
		    r->location);
	ret = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
http_error(struct MHD_Connection *c, int status, const char *json)
{
	struct manager_api_resp r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.body = (char *)json;
	r.body_len = strlen(json);
	r.content_type = "application/json";
	return http_send(c, &r);
}

static enum MHD_Result
http_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct manager_http *h = cls;
	struct http_conn *hc = *con_cls;
	struct manager_api_req req;
	struct manager_api_resp resp;
	const char *cl, *q;
	char *path;
	int64_t n;
	enum MHD_Result ret;

	(void)version;
	if (hc == NULL || hc->uri == NULL)
		return MHD_NO;
	if (*upload_data_size > 0) {
		if (!hc->too_big && core_buf_append(&hc->body, upload_data,
		    *upload_data_size) != CORE_OK)
			hc->too_big = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!hc->headers_seen) {
		/* First call: headers only. Refuse an announced oversize body
		 * before reading it. */
		hc->headers_seen = true;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && (core_parse_int(cl, 0, INT64_MAX, &n) !=
		    CORE_OK || n > (int64_t)MANAGER_BODY_MAX))
			return http_error(c, 413, "{\"error\":\"request body "
			    "exceeds 104857600 bytes\"}");
		return MHD_YES;
	}
	if (hc->too_big)
		return http_error(c, 413, "{\"error\":\"request body exceeds "
		    "104857600 bytes\"}");
	/* Last call of a request with a body, or the only call without one. */
	q = strchr(hc->uri, '?');
	path = q != NULL ? strndup(hc->uri, (size_t)(q - hc->uri)) :
	    strdup(url);
	if (path == NULL)
		return MHD_NO;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.query = q != NULL ? q + 1 : NULL;
	req.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	req.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	req.body = hc->body.data;
	req.body_len = hc->body.len;
	manager_api_handle(h->svc, h->cfg, &req, &resp);
	ret = http_send(c, &resp);
	manager_api_resp_cleanup(&resp);
	free(path);
	return ret;
}

enum core_err
manager_http_start(const struct manager_config *cfg,
    struct manager_service *svc, struct manager_http **out,
    struct core_errbuf *eb)
{
	struct addrinfo hints, *res = NULL, *ai, *pick = NULL;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct manager_http *h;
	enum core_err err = CORE_OK;
	unsigned flags;
	size_t pool;
	long ncpu;
	unsigned threads;
	int rc;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	h->cfg = cfg;
	h->svc = svc;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(cfg->http_host != NULL && *cfg->http_host != '\0' ?
	    cfg->http_host : NULL, "0", &hints, &res);
	if (rc != 0) {
		err = core_errf(eb, CORE_ERR_NET, "resolve %s: %s",
		    cfg->http_host, gai_strerror(rc));
		goto fail;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			pick = ai;
			break;
		}
		if (pick == NULL && ai->ai_family == AF_INET6)
			pick = ai;
	}
	if (pick == NULL || pick->ai_addrlen > sizeof(ss)) {
		err = core_errf(eb, CORE_ERR_NET, "no address for %s",
		    cfg->http_host);
		goto fail;
	}
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, pick->ai_addr, pick->ai_addrlen);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port =
		    htons((uint16_t)cfg->http_port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port =
		    htons((uint16_t)cfg->http_port);
	/* MHD zeroes a connection's whole memory pool after each request
	 * (a 128 KiB pool cost ~5% of the manager's CPU at load), so the pool,
	 * which must hold the request headers, is kept between 16 and 32 KiB;
	 * bodies stream through it. */
	pool = (size_t)cfg->http_max_header_bytes;
	if (pool < 16 * 1024)
		pool = 16 * 1024;
	if (pool > 32 * 1024)
		pool = 32 * 1024;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	threads = ncpu * 2 > HTTP_MIN_THREADS ? (unsigned)ncpu * 2 :
	    HTTP_MIN_THREADS;
	flags = MHD_USE_EPOLL_INTERNAL_THREAD;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cfg->http_cert != NULL && cfg->http_key != NULL) {
		if ((err = core_fs_read(cfg->http_cert, 1 << 20, &h->tls_cert,
		        &h->tls_cert_len, eb)) ||
		    (err = core_fs_read(cfg->http_key, 1 << 20, &h->tls_key,
		        &h->tls_key_len, eb)))
			goto fail;
		flags |= MHD_USE_TLS;
	}
	if (h->tls_cert != NULL)
		h->d = MHD_start_daemon(flags, 0, NULL, NULL, http_request, h,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		    MHD_OPTION_URI_LOG_CALLBACK, http_uri_log, h,
		    MHD_OPTION_NOTIFY_COMPLETED, http_completed, h,
		    MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned)(cfg->http_idle_timeout_ms / 1000),
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
		    MHD_OPTION_THREAD_POOL_SIZE, threads,
		    MHD_OPTION_HTTPS_MEM_KEY, (const char *)h->tls_key,
		    MHD_OPTION_HTTPS_MEM_CERT, (const char *)h->tls_cert,
		    MHD_OPTION_END);
	else
		h->d = MHD_start_daemon(flags, 0, NULL, NULL, http_request, h,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		    MHD_OPTION_URI_LOG_CALLBACK, http_uri_log, h,
		    MHD_OPTION_NOTIFY_COMPLETED, http_completed, h,
		    MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned)(cfg->http_idle_timeout_ms / 1000),
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
		    MHD_OPTION_THREAD_POOL_SIZE, threads,
		    MHD_OPTION_END);
	if (h->d == NULL) {
		err = core_errf(eb, CORE_ERR_NET, "cannot listen on %s:%d "
		    "(port in use, bad address or TLS files?)", cfg->http_host,
		    cfg->http_port);
		goto fail;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info != NULL ? info->port : cfg->http_port;
	freeaddrinfo(res);
	*out = h;
	return CORE_OK;
fail:
	if (res != NULL)
		freeaddrinfo(res);
	manager_http_stop(h);
	return err;
}

int
manager_http_port(struct manager_http *h)
{
	return h->port;
}

void
manager_http_stop(struct manager_http *h)
{
	if (h == NULL)
		return;
	if (h->d != NULL)
		MHD_stop_daemon(h->d);
	if (h->tls_key != NULL)
		core_wipe(h->tls_key, h->tls_key_len);
	free(h->tls_key);
	free(h->tls_cert);
	free(h);
}
