/*
 * http1.c -- the KBS client's transport for plain http:// URLs: one
 * HTTP/1.1 connection per client, kept while the server keeps it, a
 * request written with one sendmsg and a bounded, incremental response
 * parser (Content-Length, chunked, read-to-close). https, proxies and URLs
 * this file does not take stay with libcurl (client.c decides).
 *
 * Never logs; every failure is described in the caller's core_errbuf.
 */
#include "kbs/kbs_int.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define HTTP1_READ_BUF (16 * 1024)
#define HTTP1_REQ_HEAD_MAX (16 * 1024)
#define HTTP1_HOST_MAX 256
#define HTTP1_DEFAULT_TIMEOUT_MS 30000

enum http1_state {
	H1_STATUS,     /* waiting for the status line */
	H1_HEADER,     /* header lines */
	H1_BODY_LEN,   /* Content-Length body */
	H1_BODY_EOF,   /* body delimited by the end of the connection */
	H1_CHUNK_SIZE, /* chunk-size [; ext] line */
	H1_CHUNK_DATA, /* chunk bytes */
	H1_CHUNK_END,  /* the CRLF after chunk bytes */
	H1_TRAILER,    /* trailer lines after the last chunk */
	H1_DONE
};

struct kbs_http1 {
	char host[HTTP1_HOST_MAX];      /* without the IPv6 brackets */
	char port[8];
	char authority[HTTP1_HOST_MAX + 8]; /* the Host header, as in the URL */
	char *prefix;                   /* owned; path of the base URL or "" */
	int fd;                         /* -1 when not connected */
	uint64_t connects;              /* connections opened so far */
	struct kbs_http1_parser parser;
	char rbuf[HTTP1_READ_BUF];
	char whead[HTTP1_REQ_HEAD_MAX];
};

static enum core_err parse_line(struct kbs_http1_parser *p, char *s,
    size_t n, struct core_errbuf *eb);
static enum core_err head_done(struct kbs_http1_parser *p,
    struct core_errbuf *eb);

/* ---- the response parser ----------------------------------------------- */

/* Copies up to 60 bytes of outside text for an error message, printable. */
static const char *
shown(const char *s, size_t n, char out[64])
{
	size_t i;

	if (n > 60)
		n = 60;
	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
	return out;
}

void
kbs_http1_parser_init(struct kbs_http1_parser *p, bool no_body,
    struct core_buf *body, char *cookie)
{
	p->no_body = no_body;
	p->body = body;
	p->cookie = cookie;
	p->status = 0;
	p->keep_alive = false;
	p->state = H1_STATUS;
	p->line_len = 0;
	p->head_bytes = 0;
	p->minor = 0;
	p->chunked = false;
	p->has_len = false;
	p->conn_close = false;
	p->conn_keep = false;
	p->content_len = 0;
	p->left = 0;
}

bool
kbs_http1_parser_done(const struct kbs_http1_parser *p)
{
	return p->state == H1_DONE;
}

void
kbs_http1_take_cookie(const char *p, size_t len, char *cookie)
{
	size_t i = 0, v;

	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (len - i < sizeof(KBS_COOKIE_NAME) - 1 ||
	    memcmp(p + i, KBS_COOKIE_NAME, sizeof(KBS_COOKIE_NAME) - 1) != 0)
		return;
	for (v = i; v < len && p[v] != ';' && p[v] != '\r' && p[v] != '\n' &&
	    p[v] != ' '; v++)
		;
	if (v - i < KBS_COOKIE_MAX) {
		memcpy(cookie, p + i, v - i);
		cookie[v - i] = '\0';
	}
}

/* "HTTP/1.x NNN[ reason]" */
static enum core_err
status_line(struct kbs_http1_parser *p, const char *s, size_t n,
    struct core_errbuf *eb)
{
	char buf[64];

	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 ||
	    (s[7] != '0' && s[7] != '1') || s[8] != ' ' ||
	    s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' ||
	    s[11] < '0' || s[11] > '9' || (n > 12 && s[12] != ' '))
		return core_errf(eb, CORE_ERR_NET,
		    "malformed status line \"%s\"", shown(s, n, buf));
	p->minor = s[7] - '0';
	p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return CORE_OK;
}

/* Calls fn for each comma-separated token of a header value. */
static bool
each_token(const char *v, size_t n, bool (*fn)(struct kbs_http1_parser *,
    const char *, size_t), struct kbs_http1_parser *p)
{
	size_t i = 0, b, e;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		b = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > b && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > b && !fn(p, v + b, e - b))
			return false;
	}
	return true;
}

static bool
te_token(struct kbs_http1_parser *p, const char *t, size_t n)
{
	/* Only chunked, once: gzip and friends are never asked for. */
	if (n != 7 || strncasecmp(t, "chunked", 7) != 0 || p->chunked)
		return false;
	p->chunked = true;
	return true;
}

static bool
conn_token(struct kbs_http1_parser *p, const char *t, size_t n)
{
	if (n == 5 && strncasecmp(t, "close", 5) == 0)
		p->conn_close = true;
	else if (n == 10 && strncasecmp(t, "keep-alive", 10) == 0)
		p->conn_keep = true;
	return true;
}

static bool
is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

static enum core_err
header_line(struct kbs_http1_parser *p, const char *s, size_t n,
    struct core_errbuf *eb)
{
	char buf[64];
	const char *v;
	size_t k = 0, vn;
	uint64_t len = 0;

	while (k < n && is_tchar(s[k]))
		k++;
	if (k == 0 || k == n || s[k] != ':')
		return core_errf(eb, CORE_ERR_NET, "malformed header line \"%s\"",
		    shown(s, n, buf));
	v = s + k + 1;
	vn = n - k - 1;
	while (vn > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vn--;
	}
	while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	if (k == 14 && strncasecmp(s, "content-length", 14) == 0) {
		if (vn == 0 || vn > 18)
			return core_errf(eb, CORE_ERR_NET,
			    "bad Content-Length \"%s\"", shown(v, vn, buf));
		for (size_t i = 0; i < vn; i++) {
			if (v[i] < '0' || v[i] > '9')
				return core_errf(eb, CORE_ERR_NET,
				    "bad Content-Length \"%s\"",
				    shown(v, vn, buf));
			len = len * 10 + (uint64_t)(v[i] - '0');
		}
		if (p->has_len && len != p->content_len)
			return core_errf(eb, CORE_ERR_NET,
			    "two different Content-Length headers");
		p->has_len = true;
		p->content_len = len;
	} else if (k == 17 && strncasecmp(s, "transfer-encoding", 17) == 0) {
		if (!each_token(v, vn, te_token, p))
			return core_errf(eb, CORE_ERR_NET,
			    "unsupported Transfer-Encoding \"%s\"",
			    shown(v, vn, buf));
	} else if (k == 10 && strncasecmp(s, "connection", 10) == 0) {
		(void)each_token(v, vn, conn_token, p);
	} else if (k == 10 && strncasecmp(s, "set-cookie", 10) == 0 &&
	    p->cookie != NULL) {
		kbs_http1_take_cookie(v, vn, p->cookie);
	}
	return CORE_OK;
}

/* The end of the head: decides how the body is delimited. */
static enum core_err
head_done(struct kbs_http1_parser *p, struct core_errbuf *eb)
{
	size_t max = p->body->max_len ? p->body->max_len : SIZE_MAX;

	if (p->status == 101)
		return core_errf(eb, CORE_ERR_NET,
		    "unexpected 101 Switching Protocols");
	if (p->status < 200) {
		/* An interim response (100 Continue, 103): the real one
		 * follows. */
		p->state = H1_STATUS;
		p->chunked = p->has_len = p->conn_close = p->conn_keep = false;
		return CORE_OK;
	}
	p->keep_alive = !p->conn_close && (p->minor == 1 || p->conn_keep);
	if (p->no_body || p->status == 204 || p->status == 304) {
		p->state = H1_DONE;
	} else if (p->chunked) {
		/* With a Content-Length too the message is suspect (RFC 9112
		 * 6.3): read it chunked, then close. */
		if (p->has_len)
			p->keep_alive = false;
		p->state = H1_CHUNK_SIZE;
	} else if (p->has_len) {
		if (p->content_len > max - p->body->len)
			return core_errf(eb, CORE_ERR_TOO_BIG,
			    "response body over the limit (Content-Length %llu, "
			    "limit %zu bytes)", (unsigned long long)p->content_len,
			    max);
		p->left = p->content_len;
		p->state = p->left ? H1_BODY_LEN : H1_DONE;
	} else {
		p->keep_alive = false;
		p->state = H1_BODY_EOF;
	}
	return CORE_OK;
}

/* "<hex>[ ; ext...]": the extensions are ignored. */
static enum core_err
chunk_size_line(struct kbs_http1_parser *p, const char *s, size_t n,
    struct core_errbuf *eb)
{
	size_t max = p->body->max_len ? p->body->max_len : SIZE_MAX, i;
	uint64_t size = 0;
	char buf[64];
	int d;

	for (i = 0; i < n && i < 16; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		size = size * 16 + (uint64_t)d;
	}
	if (i == 0 || (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t'))
		return core_errf(eb, CORE_ERR_NET, "malformed chunk size \"%s\"",
		    shown(s, n, buf));
	if (size > max - p->body->len)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "response body over the limit of %zu bytes (chunked)", max);
	p->left = size;
	p->state = size ? H1_CHUNK_DATA : H1_TRAILER;
	return CORE_OK;
}

/* One complete line (without its LF, with a CR left to strip). */
static enum core_err
parse_line(struct kbs_http1_parser *p, char *s, size_t n,
    struct core_errbuf *eb)
{
	if (n > 0 && s[n - 1] == '\r')
		n--;
	switch (p->state) {
	case H1_STATUS:
		p->state = H1_HEADER;
		return status_line(p, s, n, eb);
	case H1_HEADER:
		if (n == 0)
			return head_done(p, eb);
		if (s[0] == ' ' || s[0] == '\t')
			return core_errf(eb, CORE_ERR_NET,
			    "folded header line (obsolete line folding)");
		return header_line(p, s, n, eb);
	case H1_CHUNK_SIZE:
		return chunk_size_line(p, s, n, eb);
	case H1_CHUNK_END:
		if (n != 0)
			return core_errf(eb, CORE_ERR_NET,
			    "chunk longer than its chunk size");
		p->state = H1_CHUNK_SIZE;
		return CORE_OK;
	case H1_TRAILER:
		if (n == 0)
			p->state = H1_DONE;
		return CORE_OK;
	default:
		return core_errf(eb, CORE_ERR_INTERNAL, "http1: line in state %d",
		    p->state);
	}
}

/* Takes line bytes up to and including an LF; *used is what was taken. */
static enum core_err
feed_line(struct kbs_http1_parser *p, const char *d, size_t n, size_t *used,
    struct core_errbuf *eb)
{
	const char *lf = memchr(d, '\n', n);
	size_t take = lf ? (size_t)(lf - d) + 1 : n;
	bool head = p->state == H1_STATUS || p->state == H1_HEADER ||
	    p->state == H1_TRAILER;

	*used = take;
	if (p->line_len + take > KBS_HTTP1_LINE_MAX)
		return core_errf(eb, CORE_ERR_TOO_BIG, "%s over %d bytes",
		    head ? "response header line" : "chunk size line",
		    KBS_HTTP1_LINE_MAX);
	if (head) {
		p->head_bytes += take;
		if (p->head_bytes > KBS_HTTP1_HEAD_MAX)
			return core_errf(eb, CORE_ERR_TOO_BIG,
			    "response headers over %d bytes", KBS_HTTP1_HEAD_MAX);
	}
	memcpy(p->line + p->line_len, d, take);
	p->line_len += take;
	if (lf == NULL)
		return CORE_OK;
	take = p->line_len - 1;
	p->line_len = 0;
	return parse_line(p, p->line, take, eb);
}

enum core_err
kbs_http1_parse(struct kbs_http1_parser *p, const char *d, size_t n,
    size_t *used, struct core_errbuf *eb)
{
	enum core_err err = CORE_OK;
	size_t off = 0, k;

	while (off < n && p->state != H1_DONE && err == CORE_OK) {
		switch (p->state) {
		case H1_BODY_LEN:
		case H1_CHUNK_DATA:
			k = n - off < p->left ? n - off : (size_t)p->left;
			err = core_buf_append(p->body, d + off, k);
			p->left -= k;
			off += k;
			if (p->left == 0)
				p->state = p->state == H1_BODY_LEN ? H1_DONE :
				    H1_CHUNK_END;
			break;
		case H1_BODY_EOF:
			err = core_buf_append(p->body, d + off, n - off);
			if (err == CORE_ERR_TOO_BIG)
				err = core_errf(eb, err, "response body over the "
				    "limit of %zu bytes", p->body->max_len);
			off = n;
			break;
		default:
			err = feed_line(p, d + off, n - off, &k, eb);
			off += k;
			break;
		}
	}
	*used = off;
	return err;
}

enum core_err
kbs_http1_parse_eof(struct kbs_http1_parser *p, struct core_errbuf *eb)
{
	switch (p->state) {
	case H1_DONE:
		return CORE_OK;
	case H1_BODY_EOF:
		p->state = H1_DONE;
		return CORE_OK;
	case H1_STATUS:
		return core_errf(eb, CORE_ERR_NET, p->line_len == 0 &&
		    p->head_bytes == 0 ? "connection closed without a response" :
		    "connection closed in the status line");
	case H1_HEADER:
		return core_errf(eb, CORE_ERR_NET,
		    "connection closed in the response headers");
	case H1_BODY_LEN:
		return core_errf(eb, CORE_ERR_NET, "truncated body: connection "
		    "closed after %llu of %llu Content-Length bytes",
		    (unsigned long long)(p->content_len - p->left),
		    (unsigned long long)p->content_len);
	default:
		return core_errf(eb, CORE_ERR_NET, "truncated chunked body: "
		    "connection closed before the last chunk");
	}
}

/* ---- the connection ---------------------------------------------------- */

/*
 * Splits "http://host[:port][/prefix]". Only what this transport handles
 * plainly is taken: user info, IPv6 zone ids, query strings and unusual
 * characters give CORE_ERR_UNSUPPORTED, and client.c hands such URLs to
 * libcurl.
 */
static enum core_err
url_split(struct kbs_http1 *h, const char *url)
{
	const char *a, *end, *hb, *he, *pc = NULL;
	size_t hn;

	if (strncasecmp(url, "http://", 7) != 0)
		return CORE_ERR_UNSUPPORTED;
	a = url + 7;
	end = a + strcspn(a, "/");
	if (end == a || end - a >= (ptrdiff_t)sizeof(h->authority))
		return CORE_ERR_UNSUPPORTED;
	if (*a == '[') {
		hb = a + 1;
		he = memchr(hb, ']', (size_t)(end - hb));
		if (he == NULL || (he + 1 != end && he[1] != ':'))
			return CORE_ERR_UNSUPPORTED;
		if (he + 1 != end)
			pc = he + 1;
		for (const char *c = hb; c < he; c++)
			if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')
			    || (*c >= 'A' && *c <= 'F') || *c == ':' || *c == '.'))
				return CORE_ERR_UNSUPPORTED;
	} else {
		hb = a;
		pc = memchr(a, ':', (size_t)(end - a));
		he = pc ? pc : end;
		for (const char *c = hb; c < he; c++)
			if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z')
			    || (*c >= 'A' && *c <= 'Z') || *c == '.' || *c == '-' ||
			    *c == '_'))
				return CORE_ERR_UNSUPPORTED;
	}
	hn = (size_t)(he - hb);
	if (hn == 0 || hn >= sizeof(h->host))
		return CORE_ERR_UNSUPPORTED;
	memcpy(h->host, hb, hn);
	h->host[hn] = '\0';
	if (pc != NULL) {
		size_t pn = (size_t)(end - pc - 1);
		unsigned long port = 0;

		if (pn == 0 || pn > 5)
			return CORE_ERR_UNSUPPORTED;
		for (size_t i = 0; i < pn; i++) {
			if (pc[1 + i] < '0' || pc[1 + i] > '9')
				return CORE_ERR_UNSUPPORTED;
			port = port * 10 + (unsigned long)(pc[1 + i] - '0');
		}
		if (port == 0 || port > 65535)
			return CORE_ERR_UNSUPPORTED;
		snprintf(h->port, sizeof(h->port), "%lu", port);
	} else {
		snprintf(h->port, sizeof(h->port), "80");
	}
	memcpy(h->authority, a, (size_t)(end - a));
	h->authority[end - a] = '\0';
	for (const char *c = end; *c != '\0'; c++)
		if (*c <= 0x20 || *c >= 0x7f || *c == '?' || *c == '#' ||
		    *c == '%')
			return CORE_ERR_UNSUPPORTED;
	h->prefix = strdup(end);
	return h->prefix ? CORE_OK : CORE_ERR_NOMEM;
}

enum core_err
kbs_http1_new(const char *base_url, struct kbs_http1 **out)
{
	struct kbs_http1 *h;
	enum core_err err;

	*out = NULL;
	/* Not calloc: the ~40 KB of buffers need no zeroing. */
	h = malloc(sizeof(*h));
	if (h == NULL)
		return CORE_ERR_NOMEM;
	h->prefix = NULL;
	h->fd = -1;
	h->connects = 0;
	err = url_split(h, base_url);
	if (err != CORE_OK) {
		kbs_http1_free(h);
		return err;
	}
	*out = h;
	return CORE_OK;
}

static void
conn_close(struct kbs_http1 *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

void
kbs_http1_free(struct kbs_http1 *h)
{
	if (h == NULL)
		return;
	conn_close(h);
	free(h->prefix);
	free(h);
}

uint64_t
kbs_http1_connects(const struct kbs_http1 *h)
{
	return h->connects;
}

/* Milliseconds left until deadline (ns), at least 1 while any remain. */
static int
ms_left(int64_t deadline)
{
	int64_t ns = deadline - core_mono_ns();

	if (ns <= 0)
		return 0;
	return ns / 1000000 >= INT32_MAX ? INT32_MAX : (int)(ns / 1000000) + 1;
}

/* Waits for ev on fd; CORE_ERR_TIMEOUT when the deadline passes. */
static enum core_err
wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd pfd = { fd, ev, 0 };
	int ms, r;

	for (;;) {
		ms = ms_left(deadline);
		if (ms == 0)
			return CORE_ERR_TIMEOUT;
		r = poll(&pfd, 1, ms);
		if (r > 0)
			return CORE_OK;
		if (r < 0 && errno != EINTR)
			return CORE_ERR_IO;
	}
}

/* One non-blocking connect to ai; *fd on success, errno-style *why else. */
static int
connect_one(const struct addrinfo *ai, int64_t deadline, int *fd)
{
	int s, one = 1, so = 0;
	socklen_t sl = sizeof(so);

	*fd = -1;
	s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (s < 0)
		return errno;
	(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS) {
			so = errno;
			goto fail;
		}
		if (wait_fd(s, POLLOUT, deadline) != CORE_OK) {
			so = ETIMEDOUT;
			goto fail;
		}
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &so, &sl) != 0)
			so = errno;
		if (so != 0)
			goto fail;
	}
	*fd = s;
	return 0;
fail:
	close(s);
	return so;
}

static enum core_err
conn_open(struct kbs_http1 *h, int64_t timeout_ms, int64_t deadline,
    struct core_errbuf *eb)
{
	struct addrinfo hints, *res = NULL, *ai;
	int rc, why = ECONNREFUSED;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(h->host, h->port, &hints, &res);
	if (rc != 0)
		return core_errf(eb, CORE_ERR_NET,
		    "unreachable: cannot resolve host \"%s\": %s", h->host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	for (ai = res; ai != NULL && h->fd < 0; ai = ai->ai_next)
		why = connect_one(ai, deadline, &h->fd);
	freeaddrinfo(res);
	if (h->fd >= 0) {
		h->connects++;
		return CORE_OK;
	}
	if (why == ETIMEDOUT)
		return core_errf(eb, CORE_ERR_NET, "unreachable: connecting to %s "
		    "timed out (request timeout %lld ms)", h->authority,
		    (long long)timeout_ms);
	return core_errf(eb, CORE_ERR_NET, "unreachable: cannot connect to %s: "
	    "%s", h->authority, strerror(why));
}

/* Appends s to the request head; false when it does not fit. */
static bool
put(struct kbs_http1 *h, size_t *n, const char *s, size_t len)
{
	if (len > sizeof(h->whead) - *n)
		return false;
	memcpy(h->whead + *n, s, len);
	*n += len;
	return true;
}

#define PUT(s) put(h, &n, (s), strlen(s))

/* A header value or target with no control characters (no injection). */
static bool
clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static enum core_err
build_head(struct kbs_http1 *h, const struct kbs_http1_req *rq, size_t *len,
    struct core_errbuf *eb)
{
	char num[32];
	size_t n = 0;
	bool ok;

	if (!clean(rq->target) || strchr(rq->target, ' ') != NULL ||
	    (rq->ctype && !clean(rq->ctype)) || (rq->authz && !clean(rq->authz))
	    || (rq->cookie && !clean(rq->cookie)))
		return core_errf(eb, CORE_ERR_INVALID,
		    "control characters in the request line or a header");
	ok = PUT(rq->method) && PUT(" ") && PUT(h->prefix) && PUT(rq->target) &&
	    PUT(" HTTP/1.1\r\nHost: ") && PUT(h->authority) && PUT("\r\n");
	if (ok && rq->ctype != NULL)
		ok = PUT("Content-Type: ") && PUT(rq->ctype) && PUT("\r\n");
	if (ok && rq->authz != NULL)
		ok = PUT("Authorization: ") && PUT(rq->authz) && PUT("\r\n");
	if (ok && rq->cookie != NULL && rq->cookie[0] != '\0')
		ok = PUT("Cookie: ") && PUT(rq->cookie) && PUT("\r\n");
	if (ok && (rq->body != NULL || strcmp(rq->method, "POST") == 0 ||
	    strcmp(rq->method, "PUT") == 0)) {
		snprintf(num, sizeof(num), "%zu", rq->body_len);
		ok = PUT("Content-Length: ") && PUT(num) && PUT("\r\n");
	}
	ok = ok && PUT("\r\n");
	if (!ok)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "request headers over %d bytes", HTTP1_REQ_HEAD_MAX);
	*len = n;
	return CORE_OK;
}

#undef PUT

/*
 * Writes the request. *stale is set when the connection turned out to be
 * closed by the server (EPIPE, ECONNRESET) before anything was answered.
 */
static enum core_err
send_req(struct kbs_http1 *h, struct iovec *iov, int64_t timeout_ms,
    int64_t deadline, bool *stale, struct core_errbuf *eb)
{
	struct msghdr m;
	ssize_t w;
	int iovcnt = iov[1].iov_len ? 2 : 1, first = 0;

	memset(&m, 0, sizeof(m));
	for (;;) {
		m.msg_iov = iov + first;
		m.msg_iovlen = (size_t)(iovcnt - first);
		w = sendmsg(h->fd, &m, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (wait_fd(h->fd, POLLOUT, deadline) != CORE_OK)
					return core_errf(eb, CORE_ERR_NET,
					    "unreachable: sending the request to "
					    "%s timed out (request timeout %lld "
					    "ms)", h->authority,
					    (long long)timeout_ms);
				continue;
			}
			*stale = errno == EPIPE || errno == ECONNRESET;
			return core_errf_errno(eb, CORE_ERR_NET,
			    "sending the request to %s", h->authority);
		}
		while (first < iovcnt && (size_t)w >= iov[first].iov_len) {
			w -= (ssize_t)iov[first].iov_len;
			first++;
		}
		if (first == iovcnt)
			return CORE_OK;
		iov[first].iov_base = (char *)iov[first].iov_base + w;
		iov[first].iov_len -= (size_t)w;
	}
}

/*
 * Reads and parses the response. *stale as for send_req: the server closed
 * the connection before sending any byte of it. *reuse says whether the
 * connection may carry the next request.
 */
static enum core_err
recv_resp(struct kbs_http1 *h, int64_t timeout_ms, int64_t deadline,
    bool *stale, bool *reuse, struct core_errbuf *eb)
{
	struct kbs_http1_parser *p = &h->parser;
	bool got = false;
	enum core_err err;
	ssize_t r;
	size_t used;

	*reuse = false;
	for (;;) {
		if (wait_fd(h->fd, POLLIN, deadline) != CORE_OK)
			return core_errf(eb, CORE_ERR_NET, "unreachable: no "
			    "complete response from %s within the request timeout "
			    "of %lld ms", h->authority, (long long)timeout_ms);
		r = recv(h->fd, h->rbuf, sizeof(h->rbuf), 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (r < 0 && errno != ECONNRESET)
			return core_errf_errno(eb, CORE_ERR_NET,
			    "reading the response from %s", h->authority);
		if (r <= 0) {
			*stale = !got;
			err = kbs_http1_parse_eof(p, eb);
			if (err != CORE_OK)
				core_errbuf_prefix(eb, "%s", h->authority);
			return err;
		}
		got = true;
		err = kbs_http1_parse(p, h->rbuf, (size_t)r, &used, eb);
		if (err != CORE_OK) {
			core_errbuf_prefix(eb, "response from %s", h->authority);
			return err;
		}
		if (kbs_http1_parser_done(p)) {
			/* Bytes after the response: the server is out of step,
			 * so the connection is not used again. */
			*reuse = p->keep_alive && used == (size_t)r;
			return CORE_OK;
		}
	}
}

enum core_err
kbs_http1_do(struct kbs_http1 *h, const struct kbs_http1_req *rq,
    int64_t timeout_ms, long *status, struct core_buf *body, char *cookie,
    struct core_errbuf *eb)
{
	struct core_errbuf local;
	struct iovec iov[2];
	int64_t deadline;
	size_t hlen = 0;
	bool reused, stale, reuse = false;
	enum core_err err;
	int attempt;

	*status = 0;
	if (timeout_ms <= 0)
		timeout_ms = HTTP1_DEFAULT_TIMEOUT_MS;
	deadline = core_mono_ns() + timeout_ms * 1000000;
	err = build_head(h, rq, &hlen, eb);
	if (err != CORE_OK)
		return err;
	for (attempt = 0; attempt < 2; attempt++) {
		core_errbuf_clear(&local);
		core_buf_reset(body);
		reused = h->fd >= 0;
		stale = false;
		if (!reused) {
			err = conn_open(h, timeout_ms, deadline, &local);
			if (err != CORE_OK)
				break;
		}
		iov[0].iov_base = h->whead;
		iov[0].iov_len = hlen;
		iov[1].iov_base = (void *)rq->body;
		iov[1].iov_len = rq->body ? rq->body_len : 0;
		kbs_http1_parser_init(&h->parser, strcmp(rq->method, "HEAD") == 0,
		    body, cookie);
		err = send_req(h, iov, timeout_ms, deadline, &stale, &local);
		if (err == CORE_OK)
			err = recv_resp(h, timeout_ms, deadline, &stale, &reuse,
			    &local);
		if (err == CORE_OK || !reused || !stale)
			break;
		/* The server closed the idle connection: once more on a new
		 * one (nothing of the response was read). */
		conn_close(h);
	}
	if (err != CORE_OK || !reuse)
		conn_close(h);
	if (err != CORE_OK)
		return core_errf(eb, err, "%s", core_errbuf_msg(&local));
	*status = h->parser.status;
	return CORE_OK;
}
