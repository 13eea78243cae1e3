/*
 * fetch_main.c -- proplet-fetch, the proplet's fetch helper (protocol in
 * fetch_helper.h): reads one request from fd 3, does it (an http(s) GET, a
 * registry pull, or the encrypted pipeline with its keys), writes the
 * module into the memfd on fd 4, reports on fd 3 and exits. Started only
 * by the proplet; run by hand it says so and exits.
 */
#define LOG_MODULE "fetch"
#include "proplet/fetch_helper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "proplet/internal.h"

STATIC enum core_err read_request(int sock, struct proplet_fetch_req *r,
    uint64_t *req_id, struct core_errbuf *eb);
STATIC void report(int sock, uint64_t req_id, enum core_err err,
    size_t len, const struct core_errbuf *eb);

/* The one request; anything but exactly one well-formed one is refused. */
STATIC enum core_err
read_request(int sock, struct proplet_fetch_req *r, uint64_t *req_id,
    struct core_errbuf *eb)
{
	struct proplet_fetch_msg msg;
	enum core_err err;
	char *body = NULL;

	if (core_read_exact(sock, &msg, sizeof(msg)) != CORE_OK)
		return core_errf_errno(eb, CORE_ERR_IO, "fetch request: read");
	*req_id = msg.req_id;
	if (msg.type != PROPLET_FETCH_MSG_REQUEST || msg.code != 0 ||
	    msg.zero != 0 || msg.len == 0 || msg.len > PROPLET_FETCH_REQ_MAX)
		return core_errf(eb, CORE_ERR_INVALID,
		    "fetch request: malformed header (type %u, length %u)",
		    msg.type, msg.len);
	if ((body = malloc(msg.len)) == NULL)
		return CORE_ERR_NOMEM;
	if (core_read_exact(sock, body, msg.len) != CORE_OK) {
		err = core_errf(eb, CORE_ERR_IO, "fetch request: truncated");
		goto out;
	}
	err = proplet_fetch_req_decode(body, msg.len, r, eb);
out:
	core_wipe(body, msg.len);
	free(body);
	return err;
}

STATIC void
report(int sock, uint64_t req_id, enum core_err err, size_t len,
    const struct core_errbuf *eb)
{
	struct proplet_fetch_msg msg = { .req_id = req_id };
	const char *text = eb->msg[0] != '\0' ? eb->msg : core_err_str(err);

	if (err == CORE_OK && len > PROPLET_MODULE_MAX) {
		err = CORE_ERR_TOO_BIG;
		text = "module too large";
	}
	if (err == CORE_OK) {
		msg.type = PROPLET_FETCH_MSG_OK;
		msg.len = (uint32_t)len;
		(void)core_write_all(sock, &msg, sizeof(msg));
		return;
	}
	msg.type = PROPLET_FETCH_MSG_ERR;
	msg.code = (int32_t)err;
	msg.len = (uint32_t)strnlen(text, CORE_ERRBUF_LEN - 1);
	(void)core_write_all(sock, &msg, sizeof(msg));
	(void)core_write_all(sock, text, msg.len);
}

int
main(int argc, char **argv)
{
	struct proplet_fetch_req r;
	struct core_errbuf eb;
	struct stat st;
	uint64_t req_id = 0;
	enum core_err err;
	size_t len = 0;

	(void)argv;
	log_set_proc("proplet-fetch");
	if (argc > 1 || fstat(PROPLET_FETCH_FD_SOCK, &st) != 0 ||
	    !S_ISSOCK(st.st_mode) || fstat(PROPLET_FETCH_FD_OUT, &st) != 0 ||
	    !S_ISREG(st.st_mode)) {
		fprintf(stderr, "proplet-fetch: the proplet's fetch helper; it "
		    "is started by the proplet, not by hand\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	alarm(PROPLET_FETCH_TIMEOUT_MS / 1000);
	memset(&r, 0, sizeof(r));
	core_errbuf_clear(&eb);
	err = read_request(PROPLET_FETCH_FD_SOCK, &r, &req_id, &eb);
	if (err == CORE_OK) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		err = proplet_fetch_work(&r, PROPLET_FETCH_FD_OUT, &len, &eb);
	}
	report(PROPLET_FETCH_FD_SOCK, req_id, err, len, &eb);
	proplet_fetch_req_cleanup(&r);
	core_wipe(&eb, sizeof(eb));
	/* Nothing left worth an orderly library teardown. */
	_exit(err == CORE_OK ? 0 : 1);
}
