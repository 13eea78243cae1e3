/*
 * test_http1.c -- the KBS client's plain-HTTP/1.1 transport (http1.c):
 * the whole RCAR flow against a real propeller-kbs (in process, keep-alive
 * reuse, the server going away between requests), and against a small
 * scripted socket server in this file for what propeller-kbs never sends
 * (chunked bodies with extensions and trailers, byte-by-byte responses,
 * truncation, oversized headers, malformed status lines, no response),
 * plus the response parser fed one byte at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>

#include "kbs/kbs_int.h"

struct kbs_http1 *client_http1(const struct kbs_client *c);

/* ---- a scripted HTTP server ------------------------------------------- */

enum after { KEEP, CLOSE };

/* One request and what is done about it; resp NULL = never answer. */
struct step {
	const char *resp;
	bool bytewise; /* one send() per byte */
	enum after after;
};

struct tsrv {
	int lfd;
	uint16_t port;
	pthread_t th;
	const struct step *steps;
	size_t nsteps;
	int accepts;
	char last_req[4096]; /* the head of the last request read */
	size_t body_total;   /* body bytes of all requests */
};

/* Reads one request: its head into last_req, its body counted. */
static bool
read_request(struct tsrv *s, int fd)
{
	char sink[16384], *end, *cl;
	size_t n = 0, body = 0, want = 0;
	ssize_t r;

	while (n < sizeof(s->last_req) - 1) {
		r = recv(fd, s->last_req + n, sizeof(s->last_req) - 1 - n, 0);
		if (r <= 0)
			return false;
		n += (size_t)r;
		s->last_req[n] = '\0';
		if ((end = strstr(s->last_req, "\r\n\r\n")) != NULL)
			break;
	}
	if (end == NULL)
		return false;
	body = n - (size_t)(end + 4 - s->last_req);
	*end = '\0';
	if ((cl = strcasestr(s->last_req, "\r\nContent-Length: ")) != NULL)
		want = strtoul(cl + 18, NULL, 10);
	while (body < want) {
		r = recv(fd, sink, sizeof(sink), 0);
		if (r <= 0)
			return false;
		body += (size_t)r;
	}
	s->body_total += body;
	return true;
}

static void *
srv_main(void *arg)
{
	struct tsrv *s = arg;
	int fd = -1, one = 1;
	char sink[256];

	for (size_t i = 0; i < s->nsteps; i++) {
		const struct step *st = &s->steps[i];
		bool kept = fd >= 0;

		if (fd < 0) {
			fd = accept(s->lfd, NULL, NULL);
			if (fd < 0)
				break;
			s->accepts++;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));

		}
		if (!read_request(s, fd)) {
			close(fd);
			fd = -1;
			/* The client left a kept connection: this request
			 * comes on a new one. */
			if (kept) {
				i--;
				continue;
			}
			break;
		}
		if (st->resp == NULL) {
			/* No answer: wait for the client to give up. */
			while (recv(fd, sink, sizeof(sink), 0) > 0)
				;
		} else if (st->bytewise) {
			for (size_t k = 0; st->resp[k] != '\0'; k++)
				(void)send(fd, st->resp + k, 1, MSG_NOSIGNAL);
		} else {
			(void)send(fd, st->resp, strlen(st->resp),
			    MSG_NOSIGNAL);
		}
		if (st->resp == NULL || st->after == CLOSE) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int
listen_on(int family, uint16_t *port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a4);
	} else {
		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_loopback;
		sl = sizeof(*a6);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? a4->sin_port : a6->sin6_port);
	return fd;
}

static void
srv_start(struct tsrv *s, int family, const struct step *steps, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->steps = steps;
	s->nsteps = n;
	s->lfd = listen_on(family, &s->port);
	assert_true(s->lfd >= 0);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void
srv_stop(struct tsrv *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->lfd);
}

/* A GET of /x on h; the body lands in body (limit max). */
static enum core_err
get(struct kbs_http1 *h, int64_t timeout_ms, long *status,
    struct core_buf *body, char *cookie, struct core_errbuf *eb)
{
	struct kbs_http1_req rq = { "GET", "/x", NULL, 0, NULL, NULL, NULL };

	core_errbuf_clear(eb);
	return kbs_http1_do(h, &rq, timeout_ms, status, body, cookie, eb);
}

static struct kbs_http1 *
h1_for(const struct tsrv *s)
{
	struct kbs_http1 *h = NULL;
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)s->port);
	assert_int_equal(kbs_http1_new(url, &h), CORE_OK);
	return h;
}

/* Runs the steps with one GET each; all must succeed with these bodies. */
static void
expect_bodies(const struct step *steps, size_t n, const char *const *bodies,
    int accepts)
{
	struct tsrv s;
	struct kbs_http1 *h;
	struct core_buf b;
	struct core_errbuf eb;
	long status;

	core_buf_init(&b, 1024);
	srv_start(&s, AF_INET, steps, n);
	h = h1_for(&s);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(get(h, 10000, &status, &b, NULL, &eb), CORE_OK);
		assert_int_equal(status, 200);
		assert_int_equal(b.len, strlen(bodies[i]));
		assert_memory_equal(b.data, bodies[i], b.len);
	}
	kbs_http1_free(h);
	srv_stop(&s);
	assert_int_equal(s.accepts, accepts);
	core_buf_cleanup(&b);
}

/* One GET against one step; returns the error, message in eb. */
static enum core_err
expect_fail(const struct step *st, size_t body_max, int64_t timeout_ms,
    struct core_errbuf *eb)
{
	struct tsrv s;
	struct kbs_http1 *h;
	struct core_buf b;
	long status;
	enum core_err err;

	core_buf_init(&b, body_max);
	srv_start(&s, AF_INET, st, 1);
	h = h1_for(&s);
	err = get(h, timeout_ms, &status, &b, NULL, eb);
	kbs_http1_free(h);
	srv_stop(&s);
	core_buf_cleanup(&b);
	assert_int_not_equal(err, CORE_OK);
	return err;
}

static const char chunked[] =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;name=val;q=\"x\"\r\nhello\r\n6 ; ext\r\n world\r\n"
    "A\r\n, chunked!\r\n0;last\r\nX-Trailer: 1\r\nX-Other: two\r\n\r\n";
static const char plain[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain";

/* Chunked bodies (extensions, trailers) keep the connection. */
static void
test_chunked(void **state)
{
	static const struct step steps[] = {
		{ chunked, false, KEEP }, { plain, false, KEEP },
		{ chunked, false, KEEP },
	};
	static const char *const bodies[] = { "hello world, chunked!",
		"plain", "hello world, chunked!" };

	(void)state;
	expect_bodies(steps, 3, bodies, 1);
}

/* The same responses written one byte per send(). */
static void
test_bytewise(void **state)
{
	static const struct step steps[] = {
		{ chunked, true, KEEP }, { plain, true, KEEP },
	};
	static const char *const bodies[] = { "hello world, chunked!",
		"plain" };

	(void)state;
	expect_bodies(steps, 2, bodies, 1);
}

/* The parser given one byte at a time ends where the response ends. */
static void
test_parser_bytewise(void **state)
{
	static const char two[] = "HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nSet-Cookie: kbs-session-id=ab12; Path=/\r\n"
	    "Content-Length: 3\r\n\r\nabcNEXT";
	static struct kbs_http1_parser p;
	const char *const in[] = { chunked, plain, two };
	const char *const want[] = { "hello world, chunked!", "plain", "abc" };
	char cookie[KBS_COOKIE_MAX] = "";
	struct core_buf b;
	size_t used;

	(void)state;
	core_buf_init(&b, 1024);
	for (size_t i = 0; i < 3; i++) {
		size_t off = 0, n = strlen(in[i]);

		core_buf_reset(&b);
		kbs_http1_parser_init(&p, false, &b, cookie);
		while (off < n && !kbs_http1_parser_done(&p)) {
			assert_int_equal(kbs_http1_parse(&p, in[i] + off, 1, &used,
			    NULL), CORE_OK);
			assert_int_equal(used, 1);
			off++;
		}
		assert_true(kbs_http1_parser_done(&p));
		assert_int_equal(p.status, 200);
		assert_true(p.keep_alive);
		assert_int_equal(b.len, strlen(want[i]));
		assert_memory_equal(b.data, want[i], b.len);
		/* Bytes after the response are not taken. */
		assert_int_equal(kbs_http1_parse(&p, "X", 1, &used, NULL),
		    CORE_OK);
		assert_int_equal(used, 0);
		if (i == 2)
			assert_string_equal(in[i] + off, "NEXT");
	}
	assert_string_equal(cookie, "kbs-session-id=ab12");
	core_buf_cleanup(&b);
}

/* 1xx, 204, HTTP/1.0 and read-to-close bodies; the cookie is taken. */
static void
test_shapes(void **state)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
		  "Content-Length: 2\r\nset-cookie: kbs-session-id=c0ffee; "
		  "HttpOnly\r\n\r\nok", false, KEEP },
		{ "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n",
		  false, KEEP },
		{ "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
		  "Content-Length: 3\r\n\r\n1.0", false, KEEP },
		{ "HTTP/1.1 200 OK\r\n\r\nuntil the end", false, CLOSE },
		{ "HTTP/1.1 200\nContent-Length: 4\n\nbare", false, KEEP },
	};
	static const char *const bodies[] = { "ok", "", "1.0", "until the end",
		"bare" };
	struct tsrv s;
	struct kbs_http1 *h;
	struct core_buf b;
	struct core_errbuf eb;
	char cookie[KBS_COOKIE_MAX] = "";
	long status;

	(void)state;
	core_buf_init(&b, 1024);
	srv_start(&s, AF_INET, steps, 5);
	h = h1_for(&s);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(get(h, 10000, &status, &b, cookie, &eb),
		    CORE_OK);
		assert_int_equal(status, i == 1 ? 204 : 200);
		assert_int_equal(b.len, strlen(bodies[i]));
		assert_memory_equal(b.data, bodies[i], b.len);
	}
	assert_string_equal(cookie, "kbs-session-id=c0ffee");
	assert_int_equal(kbs_http1_connects(h), 2);
	kbs_http1_free(h);
	srv_stop(&s);
	assert_int_equal(s.accepts, 2);
	core_buf_cleanup(&b);
}

/*
 * A POST body larger than the socket buffers (16 MiB; loopback takes
 * ~4 MiB): sendmsg writes part of it, waits for the socket and goes on;
 * the server gets all of it.
 */
static void
test_large_post(void **state)
{
	static const struct step steps[] = { { plain, false, KEEP },
		{ plain, false, KEEP } };
	const size_t n = 16 * 1024 * 1024;
	struct kbs_http1_req rq = { "POST", "/up", NULL, 0,
		"application/octet-stream", NULL, NULL };
	char *big = malloc(n);
	struct tsrv s;
	struct kbs_http1 *h;
	struct core_buf b;
	struct core_errbuf eb = { "" };
	long status;

	(void)state;
	assert_non_null(big);
	memset(big, 'z', n);
	rq.body = big;
	rq.body_len = n;
	core_buf_init(&b, 1024);
	srv_start(&s, AF_INET, steps, 2);
	h = h1_for(&s);
	if (kbs_http1_do(h, &rq, 30000, &status, &b, NULL, &eb) != CORE_OK)
		fail_msg("%s", core_errbuf_msg(&eb));
	assert_int_equal(b.len, 5);
	assert_int_equal(get(h, 10000, &status, &b, NULL, NULL), CORE_OK);
	kbs_http1_free(h);
	srv_stop(&s);
	assert_int_equal(s.accepts, 1);
	assert_int_equal(s.body_total, n);
	free(big);
	core_buf_cleanup(&b);
}

/* A HEAD response has no body whatever its Content-Length says. */
static void
test_head(void **state)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", false, KEEP },
		{ plain, false, KEEP },
	};
	struct kbs_http1_req rq = { "HEAD", "/x", NULL, 0, NULL, NULL, NULL };
	struct tsrv s;
	struct kbs_http1 *h;
	struct core_buf b;
	long status;

	(void)state;
	core_buf_init(&b, 1024);
	srv_start(&s, AF_INET, steps, 2);
	h = h1_for(&s);
	assert_int_equal(kbs_http1_do(h, &rq, 10000, &status, &b, NULL, NULL),
	    CORE_OK);
	assert_int_equal(b.len, 0);
	assert_int_equal(get(h, 10000, &status, &b, NULL, NULL), CORE_OK);
	assert_int_equal(b.len, 5);
	assert_int_equal(kbs_http1_connects(h), 1);
	assert_non_null(strstr(s.last_req, "GET /x HTTP/1.1\r\nHost: 127.0.0.1:"));
	kbs_http1_free(h);
	srv_stop(&s);
	core_buf_cleanup(&b);
}

/*
 * The server closes the connection: after a keep-alive response (the next
 * request goes to a new connection once the stale one fails), after
 * Connection: close, after bytes beyond the Content-Length, and after an
 * HTTP/1.0 response without keep-alive.
 */
static void
test_server_closes(void **state)
{
	static const struct step steps[] = {
		{ plain, false, CLOSE },
		{ "HTTP/1.1 200 OK\r\nConnection: close\r\n"
		  "Content-Length: 5\r\n\r\nclose", false, KEEP },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef", false,
		  KEEP },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n1.0", false,
		  KEEP },
		{ plain, false, KEEP },
	};
	static const char *const bodies[] = { "plain", "close", "abc", "1.0",
		"plain" };

	(void)state;
	expect_bodies(steps, 5, bodies, 5);
}

static void
test_truncated(void **state)
{
	static const struct step cl = { "HTTP/1.1 200 OK\r\nContent-Length: 10"
	    "\r\n\r\nhello", false, CLOSE };
	static const struct step ch = { "HTTP/1.1 200 OK\r\nTransfer-Encoding:"
	    " chunked\r\n\r\n5\r\nhello\r\n", false, CLOSE };
	static const struct step hd = { "HTTP/1.1 200 OK\r\nContent-", false,
	    CLOSE };
	static const struct step none = { "", false, CLOSE };
	static const struct step longer = { "HTTP/1.1 200 OK\r\nTransfer-"
	    "Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", false, CLOSE };
	struct core_errbuf eb;

	(void)state;
	assert_int_equal(expect_fail(&cl, 1024, 10000, &eb), CORE_ERR_NET);
	assert_non_null(strstr(core_errbuf_msg(&eb),
	    "truncated body: connection closed after 5 of 10"));
	assert_int_equal(expect_fail(&ch, 1024, 10000, &eb), CORE_ERR_NET);
	assert_non_null(strstr(core_errbuf_msg(&eb), "truncated chunked body"));
	assert_int_equal(expect_fail(&hd, 1024, 10000, &eb), CORE_ERR_NET);
	assert_non_null(strstr(core_errbuf_msg(&eb), "in the response headers"));
	assert_int_equal(expect_fail(&none, 1024, 10000, &eb), CORE_ERR_NET);
	assert_non_null(strstr(core_errbuf_msg(&eb), "without a response"));
	assert_int_equal(expect_fail(&longer, 1024, 10000, &eb), CORE_ERR_NET);
	assert_non_null(strstr(core_errbuf_msg(&eb),
	    "chunk longer than its chunk size"));
}

static void
test_limits(void **state)
{
	static struct step st = { NULL, false, CLOSE };
	char *big = malloc(KBS_HTTP1_HEAD_MAX + 4096);
	size_t n;
	struct core_errbuf eb;

	(void)state;
	assert_non_null(big);
	/* One header line over the line limit. */
	n = (size_t)snprintf(big, 64, "HTTP/1.1 200 OK\r\nX-Big: ");
	memset(big + n, 'a', KBS_HTTP1_LINE_MAX);
	memcpy(big + n + KBS_HTTP1_LINE_MAX, "\r\n\r\n", 5);
	st.resp = big;
	assert_int_equal(expect_fail(&st, 1024, 10000, &eb), CORE_ERR_TOO_BIG);
	assert_non_null(strstr(core_errbuf_msg(&eb), "header line over"));
	/* Many short headers over the total. */
	n = (size_t)snprintf(big, 64, "HTTP/1.1 200 OK\r\n");
	while (n < KBS_HTTP1_HEAD_MAX + 100) {
		memcpy(big + n, "X-Header: some value\r\n", 22);
		n += 22;
	}
	memcpy(big + n, "\r\n", 3);
	assert_int_equal(expect_fail(&st, 1024, 10000, &eb), CORE_ERR_TOO_BIG);
	assert_non_null(strstr(core_errbuf_msg(&eb), "response headers over"));
	/* Bodies over the limit, announced and chunked. */
	st.resp = "HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n"
	    "0123456789abcdefg";
	assert_int_equal(expect_fail(&st, 16, 10000, &eb), CORE_ERR_TOO_BIG);
	assert_non_null(strstr(core_errbuf_msg(&eb), "body over the limit"));
	st.resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "8\r\n01234567\r\n9\r\n89abcdefg\r\n0\r\n\r\n";
	assert_int_equal(expect_fail(&st, 16, 10000, &eb), CORE_ERR_TOO_BIG);
	assert_non_null(strstr(core_errbuf_msg(&eb), "body over the limit"));
	st.resp = "HTTP/1.1 200 OK\r\n\r\n0123456789abcdefg";
	assert_int_equal(expect_fail(&st, 16, 10000, &eb), CORE_ERR_TOO_BIG);
	assert_non_null(strstr(core_errbuf_msg(&eb), "body over the limit"));
	free(big);
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *resp;
		const char *msg;
	} cases[] = {
		{ "HTTP/1.1 2OO OK\r\n\r\n", "malformed status line \"HTTP/1.1 "
		  "2OO OK\"" },
		{ "SSH-2.0-OpenSSH_9.2\r\n\r\n", "malformed status line" },
		{ "HTTP/2 200\r\n\r\n", "malformed status line" },
		{ "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
		  "malformed header line" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
		  "bad Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2"
		  "\r\n\r\n", "two different Content-Length" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		  "unsupported Transfer-Encoding" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		  "malformed chunk size" },
		{ "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", "folded" },
		{ "HTTP/1.1 101 Switching Protocols\r\n\r\n", "101" },
	};
	struct step st = { NULL, false, CLOSE };
	struct core_errbuf eb;

	(void)state;
	for (size_t i = 0; i < CORE_ARRAY_LEN(cases); i++) {
		st.resp = cases[i].resp;
		assert_int_equal(expect_fail(&st, 1024, 10000, &eb),
		    CORE_ERR_NET);
		if (strstr(core_errbuf_msg(&eb), cases[i].msg) == NULL)
			fail_msg("case %zu: %s", i, core_errbuf_msg(&eb));
	}
}

/* No answer: the request timeout ends the wait with an error naming it. */
static void
test_timeout(void **state)
{
	static const struct step st = { NULL, false, CLOSE };
	struct core_errbuf eb;

	(void)state;
	assert_int_equal(expect_fail(&st, 1024, 300, &eb), CORE_ERR_NET);
	assert_non_null(strstr(core_errbuf_msg(&eb), "unreachable"));
	assert_non_null(strstr(core_errbuf_msg(&eb), "request timeout of 300 ms"));
}

/* A bound socket without listen(): connections to it are refused. */
static void
test_refused(void **state)
{
	struct sockaddr_in a = { 0 };
	socklen_t sl = sizeof(a);
	struct kbs_http1 *h = NULL;
	struct core_errbuf eb;
	struct core_buf b;
	char url[64], want[64];
	long status;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", ntohs(a.sin_port));
	snprintf(want, sizeof(want), "cannot connect to 127.0.0.1:%u",
	    ntohs(a.sin_port));
	core_buf_init(&b, 1024);
	assert_int_equal(kbs_http1_new(url, &h), CORE_OK);
	assert_int_equal(get(h, 10000, &status, &b, NULL, &eb), CORE_ERR_NET);
	assert_non_null(strstr(core_errbuf_msg(&eb), want));
	assert_non_null(strstr(core_errbuf_msg(&eb), "refused"));
	assert_non_null(strstr(core_errbuf_msg(&eb), "unreachable"));
	kbs_http1_free(h);
	core_buf_cleanup(&b);
	close(fd);
}

/* Host names, IPv6 literals and a path prefix in the base URL. */
static void
test_addresses(void **state)
{
	static const struct step steps[] = { { plain, false, KEEP } };
	struct tsrv s;
	struct kbs_http1 *h = NULL;
	struct core_buf b;
	char url[64];
	long status;

	(void)state;
	core_buf_init(&b, 1024);
	srv_start(&s, AF_INET, steps, 1);
	snprintf(url, sizeof(url), "http://localhost:%u/pre", (unsigned)s.port);
	assert_int_equal(kbs_http1_new(url, &h), CORE_OK);
	assert_int_equal(get(h, 10000, &status, &b, NULL, NULL), CORE_OK);
	assert_int_equal(b.len, 5);
	kbs_http1_free(h);
	srv_stop(&s);
	assert_non_null(strstr(s.last_req, "GET /pre/x HTTP/1.1\r\n"));
	assert_non_null(strstr(s.last_req, "\r\nHost: localhost:"));
	/* URLs left to libcurl. */
	assert_int_equal(kbs_http1_new("https://127.0.0.1:1", &h),
	    CORE_ERR_UNSUPPORTED);
	assert_int_equal(kbs_http1_new("http://u:p@127.0.0.1:1", &h),
	    CORE_ERR_UNSUPPORTED);
	assert_int_equal(kbs_http1_new("http://[fe80::1%25eth0]:1", &h),
	    CORE_ERR_UNSUPPORTED);
	assert_int_equal(kbs_http1_new("http://127.0.0.1:99999", &h),
	    CORE_ERR_UNSUPPORTED);
	assert_int_equal(kbs_http1_new("http://127.0.0.1:1/a%20b", &h),
	    CORE_ERR_UNSUPPORTED);
	assert_null(h);
	/* IPv6 loopback, where the machine has one. */
	{
		int v6 = listen_on(AF_INET6, &s.port);

		if (v6 < 0) {
			core_buf_cleanup(&b);
			skip();
		}
		close(v6);
	}
	srv_start(&s, AF_INET6, steps, 1);
	snprintf(url, sizeof(url), "http://[::1]:%u", (unsigned)s.port);
	assert_int_equal(kbs_http1_new(url, &h), CORE_OK);
	assert_int_equal(get(h, 10000, &status, &b, NULL, NULL), CORE_OK);
	assert_int_equal(b.len, 5);
	kbs_http1_free(h);
	srv_stop(&s);
	assert_non_null(strstr(s.last_req, "\r\nHost: [::1]:"));
	core_buf_cleanup(&b);
}

/* ---- against propeller-kbs -------------------------------------------- */

struct kfx {
	char dir[64], data[96], admin_priv[96], admin_pub[96];
	struct kbs_config cfg;
	struct kbs_server *srv;
	char url[64];
};

static void
write_pem(const char *path, EVP_PKEY *k, bool pub)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	if (pub)
		assert_int_equal(PEM_write_PUBKEY(f, k), 1);
	else
		assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL,
		    NULL), 1);
	fclose(f);
}

static void
kbs_start(struct kfx *fx)
{
	assert_int_equal(kbs_server_new(&fx->cfg, &fx->srv, NULL), CORE_OK);
	snprintf(fx->url, sizeof(fx->url), "http://127.0.0.1:%u",
	    (unsigned)kbs_server_port(fx->srv));
}

static void
kbs_setup(struct kfx *fx)
{
	EVP_PKEY *admin = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "%s", "/tmp/kbs-h1-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->data, sizeof(fx->data), "%s/data", fx->dir);
	snprintf(fx->admin_priv, sizeof(fx->admin_priv), "%s/a.key", fx->dir);
	snprintf(fx->admin_pub, sizeof(fx->admin_pub), "%s/a.pub", fx->dir);
	write_pem(fx->admin_priv, admin, false);
	write_pem(fx->admin_pub, admin, true);
	EVP_PKEY_free(admin);
	kbs_config_init(&fx->cfg);
	free(fx->cfg.listen_addr);
	fx->cfg.listen_addr = strdup("127.0.0.1");
	fx->cfg.data_dir = strdup(fx->data);
	fx->cfg.admin_public_key = strdup(fx->admin_pub);
	kbs_start(fx);
}

static void
kbs_policy(const struct kfx *fx, enum kbs_policy_preset p)
{
	struct kbs_admin_opts o = { fx->url, NULL, fx->admin_priv, NULL, 0 };
	const char *t = kbs_policy_preset_text(p);

	assert_int_equal(kbs_admin_set_policy(&o, t, strlen(t), NULL), CORE_OK);
}

static void
fetch(struct kbs_client *c, const char *want)
{
	struct secret *s = NULL;
	struct core_errbuf eb;

	core_errbuf_clear(&eb);
	if (kbs_client_get_resource(c, "default/key/h1", &s, &eb) != CORE_OK)
		fail_msg("%s", core_errbuf_msg(&eb));
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->ptr, want, s->len);
	secret_free(s);
}

/*
 * The whole flow over http1.c: admin calls, RCAR and the resource on one
 * kept connection; a refusal keeps its KBS detail; the server restarting
 * (closing the kept connection) costs one reconnect and no failure.
 */
static void
test_kbs_flow(void **state)
{
	struct kfx fx;
	struct kbs_admin_opts o;
	struct kbs_client_opts co = { 0 };
	struct kbs_client *c = NULL;
	struct secret *s = NULL;
	struct core_errbuf eb;

	(void)state;
	kbs_setup(&fx);
	o = (struct kbs_admin_opts){ fx.url, NULL, fx.admin_priv, NULL, 0 };
	assert_int_equal(kbs_admin_set_resource(&o, "default/key/h1", "sekrit",
	    6, NULL), CORE_OK);
	co.url = fx.url;
	assert_int_equal(kbs_client_new(&co, &c, NULL), CORE_OK);
	assert_non_null(client_http1(c));
	/* The default policy refuses the sample attester, with the detail. */
	core_errbuf_clear(&eb);
	assert_int_equal(kbs_client_get_resource(c, "default/key/h1", &s, &eb),
	    CORE_ERR_PERM);
	assert_non_null(strstr(core_errbuf_msg(&eb), "PolicyDeny"));
	kbs_policy(&fx, KBS_POLICY_ALLOW_ALL);
	fetch(c, "sekrit");
	kbs_client_forget(c);
	fetch(c, "sekrit");
	/* auth, attest, resource three times (one refused): one connection. */
	assert_int_equal(kbs_http1_connects(client_http1(c)), 1);
	/* Restart on the same port: the kept connection is closed by the
	 * server; the token (same key, kept) is still good. */
	fx.cfg.listen_port = kbs_server_port(fx.srv);
	kbs_server_free(fx.srv);
	kbs_start(&fx);
	fetch(c, "sekrit");
	kbs_client_forget(c);
	fetch(c, "sekrit");
	assert_int_equal(kbs_http1_connects(client_http1(c)), 2);
	kbs_client_free(c);
	/* The server gone: unreachable, as before. */
	kbs_server_free(fx.srv);
	fx.srv = NULL;
	co.url = fx.url;
	assert_int_equal(kbs_client_new(&co, &c, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(kbs_client_get_resource(c, "default/key/h1", &s, &eb),
	    CORE_ERR_NET);
	assert_non_null(strstr(core_errbuf_msg(&eb), "unreachable"));
	kbs_client_free(c);
	kbs_config_cleanup(&fx.cfg);
	core_fs_rmtree(fx.dir, NULL);
}

/* With a proxy variable set, the client leaves the request to libcurl. */
static void
test_proxy_env_uses_curl(void **state)
{
	struct kbs_client_opts co = { 0 };
	struct kbs_client *c = NULL;

	(void)state;
	co.url = "http://127.0.0.1:1";
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	assert_int_equal(kbs_client_new(&co, &c, NULL), CORE_OK);
	assert_null(client_http1(c));
	kbs_client_free(c);
	unsetenv("http_proxy");
	assert_int_equal(kbs_client_new(&co, &c, NULL), CORE_OK);
	assert_non_null(client_http1(c));
	kbs_client_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_bytewise),
		cmocka_unit_test(test_parser_bytewise),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_large_post),
		cmocka_unit_test(test_server_closes),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_kbs_flow),
		cmocka_unit_test(test_proxy_env_uses_curl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
