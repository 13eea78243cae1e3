/*
 * Fuzzes the KBS client's HTTP/1.1 response parser (http1.c). The first
 * byte picks the request kind (HEAD or not) and how the rest is cut into
 * reads, so the same response is also parsed split at every size; a small
 * body limit reaches the over-limit paths.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kbs_http1_parser p;
	char cookie[KBS_COOKIE_MAX] = "";
	struct core_buf body;
	size_t off = 1, step, used = 0;
	enum core_err err = CORE_OK;

	if (size < 1)
		return 0;
	step = (data[0] & 0x3f) ? (data[0] & 0x3f) : size;
	core_buf_init(&body, 4096);
	kbs_http1_parser_init(&p, (data[0] & 0x40) != 0, &body, cookie);
	while (off < size && err == CORE_OK && !kbs_http1_parser_done(&p)) {
		size_t n = size - off < step ? size - off : step;

		err = kbs_http1_parse(&p, (const char *)data + off, n, &used,
		    NULL);
		if (used > n)
			abort();
		off += used;
	}
	if (err == CORE_OK && !kbs_http1_parser_done(&p) && (data[0] & 0x80))
		err = kbs_http1_parse_eof(&p, NULL);
	if (err == CORE_OK && kbs_http1_parser_done(&p) &&
	    (p.status < 200 || p.status > 599))
		abort();
	if (strnlen(cookie, sizeof(cookie)) >= sizeof(cookie))
		abort();
	core_buf_cleanup(&body);
	return 0;
}
